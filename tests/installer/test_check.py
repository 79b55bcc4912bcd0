"""`wachter check`: one test per class of config error, each asserting the exact file:line: field."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.check import check, guess_kind
from config.loader import ConfigError, ConfigProblem, load_site
from tests.installer.conftest import RECEIVER_TEXT, SITE_TEXT, Writer, edit, line_of
from wachter.cli import main


def only(problems: list[ConfigProblem]) -> ConfigProblem:
    assert len(problems) == 1, "\n".join(map(str, problems))
    return problems[0]


def assert_at(problem: ConfigProblem, path: Path, line: int, field: str, *words: str) -> None:
    assert str(problem).startswith(f"{path}:{line}: {field}: "), str(problem)
    for word in words:
        assert word in problem.message, problem.message


def test_examples_are_clean() -> None:
    examples = Path(__file__).resolve().parents[2] / "config" / "examples"
    assert check(examples / "site.yaml") == []
    assert check(examples / "receiver.yaml") == []
    assert guess_kind(examples / "receiver.yaml") == "receiver"
    assert guess_kind(examples / "site.yaml") == "site"


def test_unknown_device_type(write: Writer) -> None:
    text = edit(SITE_TEXT, ("type: smoke", "type: smoke_detector"))
    path = write(text)
    assert_at(only(check(path)), path, line_of(text, "type: smoke_detector"), "devices[7].type",
              "'smoke_detector' is not allowed", "'smoke'")


def test_pin_used_twice_names_both_lines(write: Writer) -> None:
    text = edit(SITE_TEXT, ("gpio: {pin: 13}", "gpio: {pin: 17}"))
    path = write(text)
    first, second = line_of(text, "gpio: {pin: 17}", 1), line_of(text, "gpio: {pin: 17}", 2)
    assert_at(only(check(path)), path, second, "devices[4].gpio.pin",
              f"GPIO pin 17 is also used at line {first} (devices[0].gpio.pin)", "its own pin")


def test_led_pin_on_a_used_input(write: Writer) -> None:
    text = edit(SITE_TEXT, ("gpio: {pin: 22}", "gpio: {pin: 22, led_pin: 5}"))
    path = write(text)
    assert_at(only(check(path)), path, line_of(text, "led_pin: 5"), "devices[3].gpio.led_pin",
              f"also used at line {line_of(text, 'pin: 5, tamper_pin: 6')} (devices[2].gpio.pin)")


def test_pin_out_of_range(write: Writer) -> None:
    text = edit(SITE_TEXT, ("gpio: {pin: 26}", "gpio: {pin: 40}"))
    path = write(text)
    assert_at(only(check(path)), path, line_of(text, "pin: 40"), "devices[6].gpio.pin", "BCM")


def test_entry_delay_above_45s(write: Writer) -> None:
    text = edit(SITE_TEXT, ("armed_night: {exit_delay: 0s, entry_delay: 15s",
                            "armed_night: {exit_delay: 0s, entry_delay: 50s"))
    path = write(text)
    assert_at(only(check(path)), path, line_of(text, "entry_delay: 50s"),
              "panel.modes.armed_night.entry_delay", "45s")


def test_key_of_the_wrong_length(write: Writer) -> None:
    text = edit(SITE_TEXT, ("poll_interval: 180s", "poll_interval: 180s  # backup"))
    text = text.replace("key: hex:C73EC203BC231D91C3EEBBC4751A55E9\n      poll_interval: 180s",
                        "key: hex:C73EC203BC231D91C3EEBBC4751A\n      poll_interval: 180s")
    path = write(text)
    problem = only(check(path))
    assert_at(problem, path, line_of(text, "hex:C73EC203BC231D91C3EEBBC4751A", 2),
              "alarm_centre.paths[1].key", "32, 48 or 64 digits", "wachter keys dc09")
    assert "C73EC203" not in str(problem)  # a key never appears in an error message


def test_receiver_address_format(write: Writer) -> None:
    text = edit(SITE_TEXT, ("url: udp://127.0.0.1:9000", "url: arc.example.nl"))
    path = write(text)
    assert_at(only(check(path)), path, line_of(text, "url: arc.example.nl"), "alarm_centre.paths[1].url",
              "tcp://arc.example.nl:9000")


def test_receiver_address_without_port(write: Writer) -> None:
    text = edit(SITE_TEXT, ("url: tcp://127.0.0.1:9000", "url: tcp://arc.example.nl"))
    path = write(text)
    assert_at(only(check(path)), path, line_of(text, "url: tcp://arc.example.nl"),
              "alarm_centre.paths[0].url", "host and port")


def test_mqtt_url_format(write: Writer) -> None:
    text = edit(SITE_TEXT, ("url: mqtt://127.0.0.1:1883", "url: 127.0.0.1:1883"))
    path = write(text)
    assert_at(only(check(path)), path, line_of(text, "url: 127.0.0.1:1883"), "mqtt.url", "mqtts://")


def test_mqtt_protocol_is_5_or_3_1_1(write: Writer) -> None:
    for written, meant in (("5", "5"), ('"3.1.1"', "3.1.1"), ("3.1.1", "3.1.1")):
        text = edit(SITE_TEXT, ("# protocol: 5 ", f"protocol: {written} "))
        assert load_site(write(text)).mqtt.protocol == meant
    text = edit(SITE_TEXT, ("# protocol: 5 ", "protocol: 4 "))
    path = write(text)
    assert_at(only(check(path)), path, line_of(text, "protocol: 4"), "mqtt.protocol", "3.1.1")


def test_duplicate_device_id(write: Writer) -> None:
    text = edit(SITE_TEXT, ("id: window-study", "id: window-bedroom"))
    path = write(text)
    first, second = line_of(text, "id: window-bedroom", 1), line_of(text, "id: window-bedroom", 2)
    assert_at(only(check(path)), path, second, "devices[6].id",
              f"device id window-bedroom is also used at line {first} (devices[5].id)")


def test_duplicate_zone(write: Writer) -> None:
    text = edit(SITE_TEXT, ("zone: 14", "zone: 13"))
    path = write(text)
    first, second = line_of(text, "zone: 13", 1), line_of(text, "zone: 13", 2)
    assert_at(only(check(path)), path, second, "devices[6].zone",
              f"zone 13 is also used at line {first} (devices[5].zone)")


def test_unknown_field_suggests_the_spelling(write: Writer) -> None:
    text = edit(SITE_TEXT, ("swinger_limit: 3", "swinger_limt: 3"))
    path = write(text)
    assert_at(only(check(path)), path, line_of(text, "swinger_limt"), "panel.swinger_limt",
              "did you mean 'swinger_limit'?")


def test_unknown_field_inside_a_mode(write: Writer) -> None:
    text = edit(SITE_TEXT, ("armed_home: {exit_delay: 0s,", "armed_home: {exit_dealy: 0s,"))
    path = write(text)
    assert_at(only(check(path)), path, line_of(text, "exit_dealy"), "panel.modes.armed_home.exit_dealy",
              "did you mean 'exit_delay'?")


def test_missing_field(write: Writer) -> None:
    text = edit(SITE_TEXT, ("    name: Keypad hall\n", ""))
    path = write(text)
    assert_at(only(check(path)), path, line_of(text, "id: keypad-hall"), "devices[8].name",
              "required field is missing")


def test_polling_interval_outside_10s_to_25h(write: Writer) -> None:
    text = edit(SITE_TEXT, ("poll_interval: 90s", "poll_interval: 5s"))
    path = write(text)
    assert_at(only(check(path)), path, line_of(text, "poll_interval: 5s"),
              "alarm_centre.paths[0].poll_interval", "between 10s and 25h")
    text = edit(SITE_TEXT, ("poll_interval: 180s", "poll_interval: 26h"))
    path = write(text)
    assert_at(only(check(path)), path, line_of(text, "poll_interval: 26h"),
              "alarm_centre.paths[1].poll_interval", "between 10s and 25h")


def test_pin_in_clear_instead_of_a_hash(write: Writer) -> None:
    text = SITE_TEXT.replace(
        SITE_TEXT.splitlines()[line_of(SITE_TEXT, "pin_hash:", 3) - 1], '      pin_hash: "2468"'
    )
    path = write(text)
    assert_at(only(check(path)), path, line_of(text, 'pin_hash: "2468"'), "panel.users[1].pin_hash",
              "wachter hash-pin")


def test_duplicate_user_number(write: Writer) -> None:
    text = edit(SITE_TEXT, ("number: 2", "number: 1"))
    path = write(text)
    first, second = line_of(text, "number: 1", 1), line_of(text, "number: 1", 2)
    assert_at(only(check(path)), path, second, "panel.users[1].number", f"also used at line {first}")


def test_unknown_profile(write: Writer) -> None:
    text = edit(SITE_TEXT, ("profile: verhoogd", "profile: extreem"))
    path = write(text)
    assert_at(only(check(path)), path, line_of(text, "profile: extreem"), "profile",
              "'basis', 'verhoogd' or 'hoog'")


def test_wired_and_zigbee_at_once(write: Writer) -> None:
    text = edit(SITE_TEXT, ("gpio: {pin: 19}", "gpio: {pin: 19}\n    zigbee: {friendly_name: bedroom}"))
    path = write(text)
    assert_at(only(check(path)), path, line_of(text, "zigbee:"), "devices[5].zigbee", "keep one")


def test_key_written_twice_in_yaml(write: Writer) -> None:
    text = edit(SITE_TEXT, ("  abort_window: 2m\n", "  abort_window: 2m\n  abort_window: 3m\n"))
    path = write(text)
    assert_at(only(check(path)), path, line_of(text, "abort_window: 3m"), "abort_window",
              f"first at line {line_of(text, 'abort_window: 2m')}")


def test_syntax_error(write: Writer) -> None:
    text = edit(SITE_TEXT, ("  swinger_limit: 3\n", "  swinger_limit: [3\n"))
    path = write(text)
    problem = only(check(path))
    assert problem.field == "(syntax)" and problem.line >= line_of(text, "swinger_limit: [3")


def test_every_problem_at_once_sorted_by_line(write: Writer) -> None:
    """Field errors and cross-field clashes together: pydantic alone would stop at the first kind."""
    text = edit(
        SITE_TEXT,
        ("type: smoke", "type: smok"),
        ("gpio: {pin: 13}", "gpio: {pin: 17}"),
        ("zone: 14", "zone: 13"),
        ("armed_night: {exit_delay: 0s, entry_delay: 15s", "armed_night: {exit_delay: 0s, entry_delay: 46s"),
        ("poll_interval: 90s", "poll_interval: 1s"),
        ("swinger_limit: 3", "swinger_limt: 3"),
        ("    name: Keypad hall\n", ""),
    )
    path = write(text)
    problems = check(path)
    assert [p.field for p in problems] == [
        "alarm_centre.paths[0].poll_interval",
        "panel.modes.armed_night.entry_delay",
        "panel.swinger_limt",
        "devices[4].gpio.pin",
        "devices[6].zone",
        "devices[7].type",
        "devices[8].name",
    ]
    assert [p.line for p in problems] == sorted(p.line for p in problems)


def test_receiver_duplicate_account_and_bad_key(write: Writer) -> None:
    text = edit(
        RECEIVER_TEXT,
        ("key: hex:C73EC203BC231D91C3EEBBC4751A55E9", "key: hex:C73EC2"),
        ("accounts:\n", 'accounts:\n  - {account: "0471", site: other-home}\n'),
    )
    path = write(text, "receiver.yaml")
    problems = check(path)
    assert len(problems) == 2, problems
    first = line_of(text, '{account: "0471"')
    assert_at(problems[0], path, line_of(text, 'account: "0471"', 2), "accounts[1].account",
              f"account 0471 is also used at line {first} (accounts[0].account)")
    assert_at(problems[1], path, line_of(text, "key: hex:C73EC2"), "accounts[1].key", "32, 48 or 64")


def test_receiver_listen_address(write: Writer) -> None:
    text = edit(RECEIVER_TEXT, ("  - udp://127.0.0.1:9000\n", "  - 127.0.0.1:9000\n"))
    path = write(text, "receiver.yaml")
    assert_at(only(check(path)), path, line_of(text, "- 127.0.0.1:9000"), "listen[1]", "tcp://0.0.0.0:9000")


def test_cli_check_prints_every_problem(write: Writer, capsys: pytest.CaptureFixture[str]) -> None:
    text = edit(SITE_TEXT, ("type: smoke", "type: smok"), ("zone: 14", "zone: 13"))
    path = write(text)
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert "2 problem(s)" in err
    assert f"{path}:{line_of(text, 'type: smok')}: devices[7].type:" in err
    assert f"{path}:{line_of(text, 'zone: 13', 2)}: devices[6].zone:" in err
    good = write(SITE_TEXT, "good.yaml")
    assert main(["check", str(good), "--explain", "--demo"]) == 0
    out = capsys.readouterr().out
    assert "ok" in out and "devices[0].supervision (panic-bedroom) = 120s  (from profile)" in out


def test_agent_refuses_an_invalid_config_with_the_same_messages(
    write: Writer, capsys: pytest.CaptureFixture[str]
) -> None:
    text = edit(SITE_TEXT, ("gpio: {pin: 13}", "gpio: {pin: 17}"))
    path = write(text)
    with pytest.raises(ConfigError) as caught:
        load_site(path)
    assert main(["agent", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    for problem in caught.value.problems:
        assert str(problem) in err
    assert f"{path}:{line_of(text, 'gpio: {pin: 17}', 2)}: devices[4].gpio.pin:" in err


def test_the_public_demo_key_and_pins_are_refused_outside_the_demo(
    write: Writer, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(SITE_TEXT)
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    key_line = line_of(SITE_TEXT, "key: hex:C73EC203BC231D91C3EEBBC4751A55E9")
    assert f"{path}:{key_line}: alarm_centre.paths[0].key: the public demo DC-09 key" in err
    assert "alarm_centre.paths[1].key" in err and "`wachter keys dc09`" in err
    assert f"{path}:{line_of(SITE_TEXT, 'pin_hash:')}: panel.users[0].pin_hash:" in err
    assert "panel.users[0].duress_pin_hash" in err and "`wachter hash-pin`" in err
    assert "C73EC203" not in err  # the key itself is never printed
    assert main(["agent", "--config", str(path)]) == 2  # the agent refuses them too
    assert "panel.users[2].pin_hash" in capsys.readouterr().err
    assert main(["check", str(path), "--demo"]) == 0


def test_own_key_and_pins_pass(write: Writer) -> None:
    from config.pins import hash_pin
    from wachter.keys import dc09_key

    text = SITE_TEXT.replace("hex:C73EC203BC231D91C3EEBBC4751A55E9", dc09_key())
    for line in [ln for ln in text.splitlines() if "pin_hash:" in ln]:
        field, _, _ = line.partition(":")
        text = text.replace(line, f'{field}: "{hash_pin("8642")}"')
    assert main(["check", str(write(text))]) == 0


@pytest.mark.parametrize("url", ["http://arc.example.nl", "http://192.168.1.20:8080"])
def test_evidence_over_plain_http_is_refused_off_this_machine(write: Writer, url: str) -> None:
    text = SITE_TEXT.replace('  prefix: "0"\n', f'  prefix: "0"\n  evidence_url: {url}\n')
    path = write(text)
    assert_at(only(check(path)), path, line_of(text, "evidence_url:"), "alarm_centre.evidence_url",
              "in clear", "https://")


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080", "http://localhost:8080", "https://arc.example.nl"])
def test_evidence_over_https_or_to_this_machine_is_accepted(write: Writer, url: str) -> None:
    text = SITE_TEXT.replace('  prefix: "0"\n', f'  prefix: "0"\n  evidence_url: {url}\n')
    assert check(write(text)) == []


def test_device_ids_home_assistant_would_take_for_one(write: Writer) -> None:
    text = edit(SITE_TEXT, ("id: window-study", "id: window_bedroom"))
    path = write(text)
    first, second = line_of(text, "id: window-bedroom", 1), line_of(text, "id: window_bedroom", 1)
    assert_at(only(check(path)), path, second, "devices[6].id",
              f"device id window_bedroom is also used at line {first} (devices[5].id)",
              "Home Assistant reads - as _")
