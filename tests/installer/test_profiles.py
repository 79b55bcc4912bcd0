"""Security profiles: defaults per risk class, explicit settings in the file always win."""

from __future__ import annotations

from datetime import timedelta

import pytest

from config.loader import load_raw_site, load_site
from config.profiles import PROFILES, ProfileName, effective
from config.site import DeviceType, Evidence, ReceiverPathConfig, Site
from tests.installer.conftest import SITE_TEXT, Writer, edit

# the example without the settings a profile governs, so the profile shows through
BARE = edit(
    SITE_TEXT,
    ("      poll_interval: 90s\n", ""),
    ("      poll_interval: 180s\n", ""),
    ("  confirmation_window: 30m\n", ""),
)


def with_profile(write: Writer, profile: str, text: str = BARE) -> tuple[Site, Site]:
    path = write(text.replace("profile: verhoogd", f"profile: {profile}"))
    return load_raw_site(path), load_site(path)


@pytest.mark.parametrize("name", ["basis", "verhoogd", "hoog"])
def test_profile_fills_every_unset_field(write: Writer, name: ProfileName) -> None:
    _, site = with_profile(write, name)
    p = PROFILES[name]
    assert site.profile == name
    primary, backup = site.alarm_centre.paths
    assert (primary.poll_interval, backup.poll_interval) == (p.poll_primary, p.poll_backup)
    assert site.panel.confirmation_window == p.confirmation_window
    assert site.evidence == p.evidence
    assert site.alarm_centre.also_send == p.also_send
    for device in site.devices:
        assert device.supervision == p.supervision[device.type]


def test_explicit_settings_override_the_profile(write: Writer) -> None:
    text = edit(
        BARE,
        ("      retries: 2\n    - name: backup",
         "      retries: 2\n      poll_interval: 45s\n    - name: backup"),
        ("  abort_window: 2m\n", "  abort_window: 2m\n  confirmation_window: 10m\n"),
        ("    zone: 20\n", "    zone: 20\n    supervision: 7m\n"),
        ("devices:\n", "evidence:\n  frames: 2\ndevices:\n"),
    )
    raw, site = with_profile(write, "hoog", text)
    assert site.alarm_centre.paths[0].poll_interval == timedelta(seconds=45)
    assert site.alarm_centre.paths[1].poll_interval == PROFILES["hoog"].poll_backup
    assert site.panel.confirmation_window == timedelta(minutes=10)
    smoke, door = site.device("smoke-hall"), site.device("door-front")
    assert smoke is not None and door is not None
    assert smoke.supervision == timedelta(minutes=7)
    assert door.supervision == timedelta(minutes=2)
    # a partly written section keeps what it says and takes the rest from the profile
    assert site.evidence.frames == 2
    assert site.evidence.snapshot_on == PROFILES["hoog"].evidence.snapshot_on
    default = ReceiverPathConfig.model_fields["poll_interval"].default
    assert raw.alarm_centre.paths[1].poll_interval == default


def test_effective_is_idempotent_and_the_raw_site_is_untouched(write: Writer) -> None:
    raw, site = with_profile(write, "basis")
    assert effective(site) == site
    assert raw.devices[0].supervision is None
    assert "supervision" not in raw.devices[0].model_fields_set


def test_profiles_tighten_with_the_risk() -> None:
    basis, verhoogd, hoog = PROFILES["basis"], PROFILES["verhoogd"], PROFILES["hoog"]
    assert basis.poll_primary > verhoogd.poll_primary > hoog.poll_primary
    assert basis.poll_backup > verhoogd.poll_backup > hoog.poll_backup
    for kind in DeviceType:
        assert basis.supervision[kind] >= verhoogd.supervision[kind] >= hoog.supervision[kind]
    assert set(basis.evidence.snapshot_on) < set(verhoogd.evidence.snapshot_on) < set(
        hoog.evidence.snapshot_on
    )
    assert set(basis.also_send) < set(verhoogd.also_send) < set(hoog.also_send)


def test_profiles_meet_the_standards_they_claim() -> None:
    """standards.md A5 (ATS reporting times), A2 (grade 2 wireless supervision <= 2 h)."""
    assert PROFILES["basis"].reporting_time <= timedelta(minutes=30)  # SP3
    assert PROFILES["verhoogd"].reporting_time <= timedelta(seconds=180)  # SP4 / grade 3 Ajax
    assert PROFILES["hoog"].reporting_time <= timedelta(seconds=90)  # SP5, DP4 primary
    for profile in PROFILES.values():
        assert all(t <= timedelta(hours=2) for t in profile.supervision.values())
        # every profile value passes the schema's own range checks
        ReceiverPathConfig(url="tcp://arc.example.nl:9000", poll_interval=profile.poll_primary)
        ReceiverPathConfig(url="tcp://arc.example.nl:9000", poll_interval=profile.poll_backup)
        Evidence.model_validate(profile.evidence.model_dump())


def test_verhoogd_keeps_todays_behaviour_of_the_example() -> None:
    """The example site runs ``verhoogd``: the agent's built-in grace times are its values."""
    from agent.panel.trouble import GRACE

    assert PROFILES["verhoogd"].supervision == GRACE
