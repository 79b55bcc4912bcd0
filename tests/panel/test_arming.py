"""Arming: exit delay, skip-delay, open zones refuse unless forced, who armed, disarm while arming."""

from __future__ import annotations

from datetime import timedelta

import pytest

from agent.panel import Report
from tests.panel.harness import (
    PARTNER,
    T0,
    Panel,
    changed_device,
    example_site,
    kinds,
    notices,
    published,
    reports,
    tuned,
)


def test_exit_delay_then_armed_with_user_report() -> None:
    panel = Panel()
    actions = panel.arm("ARM_AWAY", source="keypad")
    assert panel.mode == "arming"
    assert reports(actions) == []  # the closing report comes when the exit delay is over
    [state] = published(actions)
    assert (state.state, state.changed_by, state.deadline) == (
        "arming", "resident", T0 + timedelta(seconds=30)
    )
    assert panel.tick(after=29) == []
    actions = panel.tick(after=1)
    assert panel.mode == "armed_away"
    assert reports(actions) == [Report("arm", 1, user=1, text="armed_away")]  # type: ignore[arg-type]
    assert published(actions)[0].changed_by == "resident"


@pytest.mark.parametrize(
    ("action", "source", "kind"),
    [
        ("ARM_AWAY", "keypad", "arm"),
        ("ARM_AWAY", "remote", "remote_arm"),
        ("ARM_HOME", "keypad", "stay_arm"),
        ("ARM_NIGHT", "remote", "stay_arm"),
    ],
)
def test_arm_report_kind(action: str, source: str, kind: str) -> None:
    panel = Panel()
    actions = panel.arm(action, skip_delay=True, source=source)
    assert kinds(actions) == [kind]
    assert panel.mode == "armed_" + action.removeprefix("ARM_").lower()


def test_home_and_night_arm_at_once_without_exit_delay() -> None:
    panel = Panel()
    panel.arm("ARM_HOME")
    assert panel.mode == "armed_home"


def test_partner_arms_and_is_named() -> None:
    panel = Panel()
    actions = panel.arm(code=PARTNER, skip_delay=True)
    assert reports(actions)[0].user == 2
    assert published(actions)[0].changed_by == "partner"


def test_open_perimeter_refuses_arming_with_zone_list() -> None:
    panel = Panel()
    panel.open("window-living")
    panel.open("window-study")
    actions = panel.arm()
    assert panel.mode == "disarmed"
    [notice] = notices(actions, "failed_to_arm")
    assert notice.detail["zones"] == ["window-living", "window-study"]
    assert reports(actions) == []


def test_open_entry_door_is_fine_during_exit_delay_and_starts_entry_if_still_open() -> None:
    panel = Panel()
    panel.open("door-front")
    panel.arm()
    assert panel.mode == "arming"
    panel.close("door-front", after=5)
    panel.open("door-front", after=5)
    actions = panel.to_deadline()
    assert kinds(actions) == ["remote_arm"]
    assert panel.mode == "pending"


def test_open_entry_door_refuses_arming_without_exit_delay() -> None:
    panel = Panel()
    panel.open("door-front")
    actions = panel.arm("ARM_HOME")
    assert notices(actions, "failed_to_arm")[0].detail["zones"] == ["door-front"]


def test_forced_arm_bypasses_and_reports_each_zone() -> None:
    panel = Panel()
    panel.open("window-living")
    panel.open("window-study")
    actions = panel.arm(force=True, skip_delay=True)
    assert kinds(actions) == ["bypass", "bypass", "forced_arm", "remote_arm"]
    assert [r.number for r in reports(actions)] == [12, 14, 1, 1]
    assert published(actions)[-1].bypassed == ["window-living", "window-study"]
    panel.close("window-living")
    assert kinds(panel.open("window-living")) == []
    assert panel.mode == "armed_away"
    actions = panel.disarm()
    assert kinds(actions) == ["bypass:restore", "bypass:restore", "remote_disarm"]
    assert panel.state.bypassed == []


def test_force_needs_the_bypass_permission() -> None:
    panel = Panel()
    panel.open("window-living")
    actions = panel.arm(code=PARTNER, force=True)
    assert panel.mode == "disarmed"
    assert notices(actions, "command_not_allowed")
    assert reports(actions) == []


def test_perimeter_opening_during_exit_delay_alarms() -> None:
    panel = Panel()
    panel.arm()
    actions = panel.open("door-back", after=10)
    assert panel.mode == "triggered"
    assert kinds(actions) == ["remote_arm", "burglary_perimeter"]


def test_disarm_during_exit_delay_sends_nothing_to_the_arc() -> None:
    panel = Panel()
    panel.arm()
    actions = panel.disarm(after=5)
    assert panel.mode == "disarmed"
    assert reports(actions) == []
    assert panel.tick(after=60) == []


def test_arming_again_while_armed_is_not_allowed() -> None:
    panel = Panel().armed()
    actions = panel.arm("ARM_HOME")
    assert notices(actions, "command_not_allowed")
    assert panel.mode == "armed_away"


def test_mode_missing_from_the_site_is_not_allowed() -> None:
    site = example_site()
    modes = {k: v for k, v in site.panel.modes.items() if k != "armed_night"}
    panel = Panel(tuned(site, modes=modes))
    assert notices(panel.arm("ARM_NIGHT"), "command_not_allowed")


def test_no_code_is_refused() -> None:
    panel = Panel()
    actions = panel.command("ARM_AWAY", None)
    assert notices(actions, "no_code")
    assert panel.mode == "disarmed"
    assert panel.state.wrong_codes == 0


def test_unknown_zone_type_none_never_blocks_arming() -> None:
    panel = Panel(changed_device(example_site(), "window-study", zone_type="none"))
    panel.open("window-study")
    panel.arm(skip_delay=True)
    assert panel.mode == "armed_away"
