"""The monthly site report: alarms by class, false-alarm share, supervision faults and
response times, with a per-day chart: the input for the security talk with the official."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

from aiohttp import web

from receiver.alarms import AlarmClass
from receiver.console.context import CENTRE
from receiver.console.render import esc, page
from receiver.desk import Alarm

__all__ = ["MonthReport", "month_report", "routes"]

routes = web.RouteTableDef()


@dataclass(frozen=True)
class MonthReport:
    alarms: int
    closed: int
    false_alarms: int
    by_class: dict[str, int]
    outcomes: dict[str, int]
    false_share: float | None  # of the closed alarms
    supervision_faults: int
    median_response_s: float | None
    per_day: list[int]


def _month(raw: str, now: datetime) -> tuple[datetime, datetime]:
    try:
        start = (
            datetime.strptime(raw, "%Y-%m").replace(tzinfo=UTC)
            if raw
            else now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        )
    except ValueError:
        raise web.HTTPBadRequest(text="month must look like 2026-11") from None
    end = (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )
    return start, end


def month_report(alarms: list[Alarm], start: datetime, end: datetime) -> MonthReport:
    """Pure summary of one site's alarms in [start, end)."""
    closed = [a for a in alarms if a.outcome]
    outcomes = Counter(a.outcome for a in closed if a.outcome)
    responses = [(a.taken_at - a.opened_at).total_seconds() for a in alarms if a.taken_at]
    per_day = [0] * (end - start).days
    for a in alarms:
        per_day[(a.opened_at - start).days] += 1
    return MonthReport(
        alarms=len(alarms),
        closed=len(closed),
        false_alarms=outcomes["false"],
        by_class=dict(Counter(a.priority.label for a in alarms)),
        outcomes=dict(outcomes),
        false_share=outcomes["false"] / len(closed) if closed else None,
        supervision_faults=sum(a.priority in (AlarmClass.ATS_FAILURE, AlarmClass.TECHNICAL) for a in alarms),
        median_response_s=statistics.median(responses) if responses else None,
        per_day=per_day,
    )


def bar_chart(values: list[int], title: str) -> str:
    """Inline SVG bars, one per day; no script, no library."""
    width, height, top = 20 * len(values) + 40, 160, max([*values, 1])
    bars = "".join(
        f'<rect x="{30 + 20 * i}" y="{130 - 120 * v / top:.1f}" width="14" height="{120 * v / top:.1f}"'
        ' class="bar">'
        f"<title>day {i + 1}: {v}</title></rect>"
        + (f'<text x="{30 + 20 * i}" y="148" class="tick">{i + 1}</text>' if i % 5 == 0 else "")
        for i, v in enumerate(values)
    )
    return (
        f'<svg role="img" aria-label="{esc(title)}" viewBox="0 0 {width} {height}" width="{width}"'
        f' height="{height}">'
        f'<text x="0" y="12" class="tick">{top}</text><line x1="28" y1="130" x2="{width}" y2="130"'
        ' class="axis"/>'
        f"{bars}</svg>"
    )


@routes.get("/sites/{site}/report")
async def report_page(request: web.Request) -> web.Response:
    centre = request.app[CENTRE]
    site = request.match_info["site"]
    if site not in centre.sites:
        raise web.HTTPNotFound(text="no such site")
    start, end = _month(request.query.get("month", ""), centre.clock())
    report = month_report(await centre.desk.alarms_between(site, start, end), start, end)
    share = (
        f"{report.false_alarms} of {report.closed} closed alarms ({report.false_share:.0%})"
        if report.false_share is not None
        else "none closed yet"
    )
    still_open = report.alarms - report.closed
    response = f"{report.median_response_s:.0f} s" if report.median_response_s is not None else "–"
    classes = "".join(f"<li>{esc(k)}: {v}</li>" for k, v in sorted(report.by_class.items()))
    outcomes = "".join(f"<li>{esc(k)}: {v}</li>" for k, v in sorted(report.outcomes.items()))
    body = (
        '<form method="get"><input type="month" name="month"'
        f' value="{start:%Y-%m}"><button>Show</button></form>'
        f'<dl class="figures"><dt>Alarms opened</dt><dd id="alarm-count">{report.alarms}</dd>'
        f"<dt>Still open</dt><dd>{still_open}</dd>"
        f'<dt>False alarms</dt><dd id="false-share">{share}</dd>'
        f"<dt>Transmission and technical alarms</dt><dd>{report.supervision_faults}</dd>"
        f"<dt>Median time from opening to taken</dt><dd>{response}</dd></dl>"
        f"<h2>Alarms per day</h2>{bar_chart(report.per_day, 'alarms per day')}"
        f"<h2>Alarms by class</h2><ul id=\"by-class\">{classes or '<li>none</li>'}</ul>"
        f"<h2>Outcomes</h2><ul>{outcomes or '<li>none</li>'}</ul>"
    )
    return page(request, f"Report {site} {start:%B %Y}", body)
