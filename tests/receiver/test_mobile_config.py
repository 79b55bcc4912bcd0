"""The receiver config's `mobile:` section: errors that name the file, line and field; flags that
keep the people's code words; durations that survive a round trip."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from config.loader import ConfigError, load_receiver
from receiver.flags import config_from_flags
from tests.e2e.stack import EXAMPLES
from tests.receiver.test_flags import _args


def test_mobile_example_config_loads() -> None:
    cfg = load_receiver(EXAMPLES / "receiver.yaml")
    [person] = cfg.mobile.people
    assert person.site == "demo-home" and person.code_word is not None


def test_mobile_person_of_an_unknown_site_is_refused_by_line(tmp_path: Path) -> None:
    text = (EXAMPLES / "receiver.yaml").read_text().replace("      site: demo-home\n      phones",
                                                               "      site: elsewhere\n      phones")
    path = tmp_path / "receiver.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match="mobile person burgemeester has site 'elsewhere'"):
        load_receiver(path)


def test_mobile_bad_phone_and_tiles_are_refused(tmp_path: Path) -> None:
    text = (EXAMPLES / "receiver.yaml").read_text().replace('"+31 70 123 4567"]', '"call me"]')
    path = tmp_path / "receiver.yaml"
    path.write_text(text + "  tiles: ftp://tiles.example/x\n")
    with pytest.raises(ConfigError) as refused:
        load_receiver(path)
    assert re.search(r"receiver\.yaml:\d+: mobile\.people\[0\]\.phones: phone 'call me'", str(refused.value))
    assert re.search(r"receiver\.yaml:\d+: mobile\.tiles: ", str(refused.value))


def test_mobile_flags_keep_the_people_and_their_code_words(tmp_path: Path) -> None:
    base = load_receiver(EXAMPLES / "receiver.yaml")
    cfg = config_from_flags(_args("--store", f"sqlite://{tmp_path}/r.db", "--http-port", "0"), base)
    [person] = cfg.mobile.people
    assert person.code_word is not None and person.code_word.get_secret_value() == "ascii-tulp"
    assert cfg.mobile.recording_retention == base.mobile.recording_retention


def test_mobile_timer_and_police_number_of_a_person_point_to_the_plan(tmp_path: Path) -> None:
    """They moved to the site's hold-up plan (one call-back workflow for every alarm)."""
    text = (EXAMPLES / "receiver.yaml").read_text().replace('      duress_word: "regenboog"\n',
                                                           '      duress_word: "regenboog"\n'
                                                           "      answer_within: 60s\n", 1)
    path = tmp_path / "receiver.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=r"answer_within is no longer set per person: it is in the hold-up"):
        load_receiver(path)
