"""Codes: permissions, wrong-code counter and lockout, and a duress code nobody can see."""

from __future__ import annotations

from agent.panel import Action, Report
from config.site import Site
from tests.panel.harness import (
    DURESS,
    PARTNER,
    RESIDENT,
    WRONG,
    Panel,
    example_site,
    kinds,
    notices,
    published,
    reports,
    tuned,
)


def strict() -> Site:
    return tuned(example_site(), wrong_code_limit=3)


def test_wrong_code_is_counted_and_changes_nothing_else() -> None:
    panel = Panel().armed()
    actions = panel.disarm(WRONG)
    assert notices(actions, "bad_code")[0].detail["attempts"] == 1
    assert panel.mode == "armed_away"
    assert published(actions) == []
    assert reports(actions) == []


def test_lockout_after_limit_refuses_even_good_codes_then_ends() -> None:
    panel = Panel(strict()).armed()
    panel.disarm(WRONG)
    panel.disarm(WRONG)
    actions = panel.disarm(WRONG)
    assert kinds(actions) == ["user_code_tamper"]
    assert notices(actions, "lockout")
    actions = panel.disarm(RESIDENT, after=60)
    assert notices(actions, "code_refused")
    assert panel.mode == "armed_away"
    assert notices(panel.to_deadline(), "lockout_ended")
    panel.disarm(RESIDENT)
    assert panel.mode == "disarmed"


def test_good_code_resets_the_counter() -> None:
    panel = Panel(strict())
    panel.arm(code=WRONG)
    panel.arm(code=WRONG)
    panel.arm(code=RESIDENT, skip_delay=True)
    panel.disarm(WRONG)
    panel.disarm(WRONG)
    assert panel.state.lockout_until is None
    assert panel.state.wrong_codes == 2


def test_user_without_permission_is_refused() -> None:
    site = example_site()
    users = [u.model_copy(update={"permissions": ["arm"]}) if u.number == 2 else u
             for u in site.panel.users]
    panel = Panel(tuned(site, users=users)).armed()
    actions = panel.disarm(PARTNER)
    assert notices(actions, "command_not_allowed")
    assert panel.mode == "armed_away"
    assert panel.state.wrong_codes == 0


def without_duress(actions: list[Action]) -> list[Action]:
    return [a for a in actions if not (isinstance(a, Report) and a.kind == "duress")]


def twins(setup: str) -> tuple[Panel, Panel]:
    panels = (Panel(), Panel())
    for panel in panels:
        panel.armed()
        if setup == "entry":
            panel.open("door-front", after=1)
    return panels


def test_duress_disarm_is_locally_identical_and_reported_silently() -> None:
    normal, duress = twins("entry")
    plain = normal.disarm(RESIDENT, after=5)
    forced = duress.disarm(DURESS, after=5)
    assert without_duress(forced) == plain
    assert duress.state == normal.state
    [report] = reports(forced, "duress")
    assert (report.number, report.user, report.urgent) == (1, 1, True)
    assert forced[0] == report  # urgent: first of the step


def test_duress_never_cancels_the_alarm_at_the_arc() -> None:
    normal, duress = twins("armed")
    normal.open("window-living", after=1)
    duress.open("window-living", after=1)
    assert "burglary_cancel" in kinds(normal.disarm(RESIDENT, after=30))
    forced = kinds(duress.disarm(DURESS, after=30))
    assert "burglary_cancel" not in forced
    assert "duress" in forced
    assert duress.mode == normal.mode == "disarmed"


def test_duress_arm_arms_and_reports() -> None:
    panel = Panel()
    actions = panel.arm(code=DURESS, skip_delay=True)
    assert kinds(actions) == ["duress", "remote_arm"]
    assert panel.mode == "armed_away"


def test_duress_during_lockout_is_refused_locally_but_reported() -> None:
    panel = Panel(strict()).armed()
    for _ in range(3):
        panel.disarm(WRONG)
    actions = panel.disarm(DURESS, after=10)
    assert kinds(actions) == ["duress"]
    assert notices(actions, "code_refused")
    assert panel.mode == "armed_away"
