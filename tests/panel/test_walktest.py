"""Walk test in the core: one lockout for every code, a time limit, panic still an alarm."""

from __future__ import annotations

from datetime import timedelta

from agent.panel import WalkTestEnded, next_deadline
from protocol.mqtt import EventType
from tests.panel.harness import (
    INSTALLER,
    RESIDENT,
    WRONG,
    Panel,
    example_site,
    kinds,
    notices,
    reports,
    tuned,
)


def walking(**panel: object) -> Panel:
    p = Panel(tuned(example_site(), **panel)) if panel else Panel()
    assert kinds(p.command("WALK_TEST_START", INSTALLER)) == ["walk_test"]
    assert p.state.walktest is not None
    return p


def test_wrong_installer_codes_count_toward_the_one_lockout() -> None:
    panel = Panel(tuned(example_site(), wrong_code_limit=3))
    panel.command("WALK_TEST_START", WRONG)
    panel.command("WALK_TEST_END", WRONG)
    actions = panel.command("WALK_TEST_START", WRONG)
    assert kinds(actions) == ["user_code_tamper"]
    assert notices(actions, "lockout")
    assert panel.state.walktest is None


def test_the_installer_code_is_refused_while_codes_are_locked_out() -> None:
    panel = Panel(tuned(example_site(), wrong_code_limit=2))
    panel.arm(code=WRONG)
    panel.disarm(WRONG)
    actions = panel.command("WALK_TEST_START", INSTALLER)
    assert notices(actions, "code_refused") and reports(actions) == []
    assert panel.state.walktest is None
    panel.to_deadline()  # the lockout ends
    assert kinds(panel.command("WALK_TEST_START", INSTALLER)) == ["walk_test"]


def test_a_walk_test_needs_an_admin_code_and_a_disarmed_panel() -> None:
    panel = Panel()
    actions = panel.command("WALK_TEST_START", RESIDENT)
    assert notices(actions, "command_not_allowed")[0].detail["needs"] == "admin"
    panel.armed()
    actions = panel.command("WALK_TEST_START", INSTALLER)
    assert notices(actions, "command_refused")[0].detail["reason"] == "disarm first"
    assert panel.state.walktest is None


def test_devices_are_ticked_off_and_raise_no_alarm() -> None:
    panel = walking()
    actions = panel.open("door-front", after=1)
    assert kinds(actions) == ["point_tested"]
    assert kinds(panel.close("door-front", after=1)) == []
    assert kinds(panel.open("door-front", after=1)) == []  # tested once
    assert kinds(panel.fact("door-front", EventType.TAMPER)) == []
    test = panel.state.walktest
    assert test is not None and test.tested() == 1 and test.points["door-front"].tamper is not None


def test_panic_and_hold_up_raise_their_alarm_during_a_walk_test() -> None:
    panel = walking()
    actions = panel.fact("panic-hall", EventType.PRESS, after=1)
    assert kinds(actions) == ["panic", "point_tested"]
    assert reports(actions, "panic")[0].urgent
    actions = panel.fact("panic-bedroom", EventType.PRESS, after=1)
    assert kinds(actions) == ["holdup", "point_tested"]
    panel.disarm(RESIDENT)  # silences the panic's sounder, walk test or not
    assert panel.state.walktest is not None


def test_arming_waits_for_the_end_of_the_walk_test() -> None:
    panel = walking()
    actions = panel.arm(skip_delay=True)
    assert "walk test running" in str(notices(actions, "command_refused")[0].detail["reason"])
    assert panel.mode == "disarmed"


def test_a_forgotten_walk_test_ends_by_itself() -> None:
    panel = walking(walk_test_limit=timedelta(minutes=10))
    started = panel.now
    assert next_deadline(panel.state) == started + timedelta(minutes=10)
    assert reports(panel.tick(after=599)) == [] and panel.state.walktest is not None
    actions = panel.to_deadline()
    assert kinds(actions) == ["walk_test:restore"]
    [ended] = [a for a in actions if isinstance(a, WalkTestEnded)]
    assert ended.reason == "time limit" and panel.state.walktest is None
    panel.arm(skip_delay=True)
    assert panel.mode == "armed_away"


def test_the_installer_ends_the_walk_test() -> None:
    panel = walking()
    panel.open("window-living", after=1)
    actions = panel.command("WALK_TEST_END", INSTALLER)
    [report] = reports(actions, "walk_test")
    assert report.restore and "1/" in report.text
    assert [a.reason for a in actions if isinstance(a, WalkTestEnded)] == ["ended by installer"]
    assert notices(panel.command("WALK_TEST_END", INSTALLER), "command_refused")
