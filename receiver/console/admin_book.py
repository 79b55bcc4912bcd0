"""Admin screens for the site book: each site's details, zones, contacts and own action plans,
and the centre's plans per response (site ``*``). Every save is validated as a whole (a bad
row names its row and field and changes nothing), stored in the database and audited; the
book exports as the receiver config's YAML."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from config.receiver import RESPONSES, Contact, PlanStep, ResponseName, Zone
from receiver.action_plan import ROLES
from receiver.alarms import Response
from receiver.console.context import CENTRE
from receiver.console.render import csrf_field, esc, local, page
from receiver.gate import PRINCIPAL
from receiver.sitebook import CENTRE_SITE, SiteEntry

__all__ = ["routes"]

routes = web.RouteTableDef()
BLANK_ROWS = 3  # empty rows offered for adding
MAX_ROWS = 200
Form = Mapping[str, Any]


def _site(request: web.Request) -> str:
    site = request.match_info["site"]
    if site != CENTRE_SITE and site not in request.app[CENTRE].sites:
        raise web.HTTPNotFound(text="no such site in the receiver config")
    return site


def _input(name: str, value: object, width: str = "", **attrs: str) -> str:
    extra = "".join(f' {k.replace("_", "-")}="{esc(v)}"' for k, v in attrs.items())
    style = f' size="{width}"' if width else ""
    return f'<input name="{name}" value="{esc("" if value is None else value)}"{style}{extra}>'


def _check(name: str, on: bool) -> str:
    return f'<input type="checkbox" name="{name}"{" checked" if on else ""}>'


def _select(name: str, options: tuple[str, ...], chosen: str) -> str:
    opts = "".join(f"<option{' selected' if o == chosen else ''}>{esc(o)}</option>" for o in options)
    return f'<select name="{name}">{opts}</select>'


def _form(request: web.Request, action: str, title: str, inner: str) -> str:
    return (
        f'<form method="post" action="{action}" class="admin-form">{csrf_field(request)}'
        f"<h2>{esc(title)}</h2>{inner}<button>Save {esc(title.lower())}</button></form>"
    )


def _details(request: web.Request, site: str, e: SiteEntry) -> str:
    rows = "".join(
        f"<tr><th><label for='{key}'>{label}</label></th><td>{_input(key, getattr(e, key), id=key)}</td></tr>"
        for key, label in (
            ("name", "Name"),
            ("address", "Address (for police and fire brigade)"),
            ("code_word", "Code word"),
            ("duress_word", "Duress word"),
            ("schedule", "Schedule (when armed, in words)"),
            ("instructions", "Standing instructions"),
        )
    )
    return _form(request, f"/admin/sites/{site}/details", "Details", f"<table>{rows}</table>")


def _zones(request: web.Request, site: str, e: SiteEntry) -> str:
    zones = sorted(e.zones, key=lambda z: z.zone) + [None] * BLANK_ROWS
    rows = "".join(
        f"<tr><td>{_input(f'zone-{i}-zone', z.zone if z else '', '4')}</td>"
        f"<td>{_input(f'zone-{i}-name', z.name if z else '')}</td>"
        f"<td>{_input(f'zone-{i}-location', z.location if z else '')}</td>"
        f"<td>{_input(f'zone-{i}-device', z.device if z else '', '14')}</td></tr>"
        for i, z in enumerate(zones)
    )
    head = "<tr><th>Zone</th><th>Name</th><th>Where</th><th>Device id (evidence)</th></tr>"
    note = "<p class='hint'>A row without a name is removed.</p>"
    inner = f"{note}<table id='zones-form'><thead>{head}</thead><tbody>{rows}</tbody></table>"
    return _form(request, f"/admin/sites/{site}/zones", "Zones", inner)


def _contacts(request: web.Request, site: str, e: SiteEntry) -> str:
    contacts = list(e.contacts) + [None] * BLANK_ROWS
    rows = "".join(
        f"<tr><td>{i + 1}</td><td>{_input(f'contact-{i}-name', c.name if c else '')}</td>"
        f"<td>{_select(f'contact-{i}-role', ROLES, c.role if c else 'keyholder')}</td>"
        f"<td>{_input(f'contact-{i}-phone', c.phone if c else '', '16')}</td>"
        f"<td>{_input(f'contact-{i}-alt_phone', c.alt_phone if c else '', '16')}</td></tr>"
        for i, c in enumerate(contacts)
    )
    head = "<tr><th>#</th><th>Name</th><th>Role</th><th>Phone</th><th>Other phone</th></tr>"
    note = "<p class='hint'>Called in this order. A row without a name is removed.</p>"
    inner = f"{note}<table id='contacts-form'><thead>{head}</thead><tbody>{rows}</tbody></table>"
    return _form(request, f"/admin/sites/{site}/contacts", "Contacts", inner)


DISPATCHES = ("", "police", "fire_brigade", "ambulance", "guard")


def _plan_row(i: int, s: PlanStep | None) -> str:
    within = int(s.answer_within.total_seconds()) if s and s.answer_within else ""
    call = ", ".join(s.call) if s else ""
    return (
        f"<tr><td>{i + 1}</td><td>{_input(f'step-{i}-text', s.text if s else '', '40')}</td>"
        f"<td>{_input(f'step-{i}-call', call, '18', placeholder='person, official')}</td>"
        f"<td>{_check(f'step-{i}-verifies', bool(s and s.verifies))}</td>"
        f"<td>{_input(f'step-{i}-answer_within', within, '4')}</td>"
        f"<td>{_select(f'step-{i}-dispatch', DISPATCHES, s.dispatch if s else '')}</td>"
        f"<td>{_check(f'step-{i}-skip_when_cleared', bool(s and s.skip_when_cleared))}</td>"
        f"<td>{_check(f'step-{i}-required', s.required if s else True)}</td></tr>"
    )


def _plan(
    request: web.Request,
    site: str,
    response: ResponseName,
    steps: list[PlanStep] | None,
    fallback: list[PlanStep],
) -> str:
    own = steps is not None
    shown = list(steps if steps is not None else fallback) + [None] * 2
    rows = "".join(_plan_row(i, s) for i, s in enumerate(shown))
    head = (
        "<tr><th>#</th><th>Step</th><th>Call (roles, names, person)</th><th>Decides</th><th>Answer within"
        " (s)</th><th>Pass to</th><th>Not needed when cleared</th><th>Required</th></tr>"
    )
    whose = (
        "the centre's plan"
        if site == CENTRE_SITE
        else "this site's own plan"
        if own
        else "the centre's plan; saving makes it this site's own"
    )
    use_centre = (
        f"<p><label>{_check('use_centre', False)} drop this site's own plan (use the centre's)</label></p>"
        if own and site != CENTRE_SITE
        else ""
    )
    inner = (
        f"<p class='hint'>Now: {whose}. A row without a step text is removed.</p>{use_centre}"
        f"<table class='plan-form' data-response='{response}'><thead>{head}</thead>"
        f"<tbody>{rows}</tbody></table>"
    )
    return _form(request, f"/admin/sites/{site}/plans/{response}", f"Plan: {Response(response).label}", inner)


async def _site_page(request: web.Request, site: str, message: str = "", status: int = 200) -> web.Response:
    book = request.app[CENTRE].book
    entry = await book.get(site)
    centre = (await book.get(CENTRE_SITE)).plans
    plans = "".join(
        _plan(request, site, r, entry.plans.get(r), centre.get(r) or list(book.defaults.get(r, ())))
        for r in RESPONSES
    )
    updated = await book.updated(site)
    when = f"<p class='hint'>Last changed {local(updated[0])} by {esc(updated[1])}.</p>" if updated else ""
    parts = (
        []
        if site == CENTRE_SITE
        else [_details(request, site, entry), _zones(request, site, entry), _contacts(request, site, entry)]
    )
    title = "The centre's action plans" if site == CENTRE_SITE else f"Site book: {site}"
    body = f"{message}{when}{''.join(parts)}{plans}"
    return page(request, title, body, status=status)


@routes.get("/admin/sites")
async def sites_page(request: web.Request) -> web.Response:
    centre = request.app[CENTRE]
    entries = await centre.book.entries()
    rows = "".join(
        f"<tr><td><a href='/admin/sites/{esc(site)}'>{esc(site)}</a></td><td>{esc(e.name)}</td>"
        f"<td>{esc(e.address)}</td><td>{len(e.zones)}</td><td>{len(e.contacts)}</td>"
        f"<td>{esc(', '.join(Response(r).label for r in e.plans)) or '–'}</td></tr>"
        for site, e in ((s, entries.get(s, SiteEntry())) for s in sorted(centre.sites))
    )
    body = (
        "<p><a href='/admin/sites/*'>The centre's action plans</a> (for every site without its own) ·"
        " <a href='/admin/sites/export.yaml' download>Export the book as receiver config (YAML)</a></p>"
        "<table id='book'><thead><tr><th>Site</th><th>Name</th><th>Address</th><th>Zones</th>"
        "<th>Contacts</th>"
        f"<th>Own plans</th></tr></thead><tbody>{rows}</tbody></table>"
    )
    return page(request, "Site book", body)


@routes.get("/admin/sites/export.yaml")
async def export(request: web.Request) -> web.Response:
    centre = request.app[CENTRE]
    text = await centre.book.export_yaml(list(centre.sites.values()))
    return web.Response(
        text=text,
        content_type="text/yaml",
        headers={"Content-Disposition": 'attachment; filename="site-book.yaml"'},
    )


@routes.get("/admin/sites/{site}")
async def site_page(request: web.Request) -> web.Response:
    return await _site_page(request, _site(request))


def _rows(
    form: Form, prefix: str, fields: tuple[str, ...], keep: Callable[[dict[str, str]], bool]
) -> list[tuple[int, dict[str, str]]]:
    """The form's numbered rows (``zone-3-name``...) that ``keep`` keeps, with their index."""
    rows = []
    for i in range(MAX_ROWS):
        if not any(f"{prefix}-{i}-{f}" in form for f in fields):
            break
        row = {f: str(form.get(f"{prefix}-{i}-{f}", "")).strip() for f in fields}
        if keep(row):
            rows.append((i, row))
    return rows


def _step(row: dict[str, str], form: Form, i: int) -> dict[str, Any]:
    step: dict[str, Any] = {
        "text": row["text"],
        "call": [t.strip() for t in row["call"].split(",") if t.strip()],
        "verifies": f"step-{i}-verifies" in form,
        "dispatch": row["dispatch"],
        "skip_when_cleared": f"step-{i}-skip_when_cleared" in form,
        "required": f"step-{i}-required" in form,
    }
    if row["answer_within"]:
        step["answer_within"] = (
            f"{row['answer_within']}s" if row["answer_within"].isdigit() else row["answer_within"]
        )
    return step


def _each(
    model: Callable[[dict[str, Any]], Any], rows: list[tuple[int, dict[str, Any]]], what: str
) -> list[Any]:
    """Each row validated; the first bad one raises ValueError naming its row and field."""
    out = []
    for i, row in rows:
        try:
            out.append(model(row))
        except ValidationError as exc:
            raise ValueError(_problem(exc, f"{what} row {i + 1}")) from None
    return out


def _problem(exc: ValidationError, what: str) -> str:
    lines = []
    for err in exc.errors():
        where = [str(p) for p in err["loc"]]
        field = where[-1] if where and not where[-1].isdigit() else ""
        lines.append(f"{what}{f', {field}' if field else ''}: {err['msg']}")
    return "; ".join(lines)


@routes.post("/admin/sites/{site}/{part}")
async def save_part(request: web.Request) -> web.Response:
    site, part = _site(request), request.match_info["part"]
    return await _save(request, site, part, None)


@routes.post("/admin/sites/{site}/plans/{response}")
async def save_plan(request: web.Request) -> web.Response:
    response = next((r for r in RESPONSES if r == request.match_info["response"]), None)
    if response is None:
        raise web.HTTPNotFound(text="no such response")
    return await _save(request, _site(request), "plans", response)


async def _save(request: web.Request, site: str, part: str, response: ResponseName | None) -> web.Response:
    book, who = request.app[CENTRE].book, request[PRINCIPAL].name
    form = await request.post()
    entry = await book.get(site)
    try:
        entry, what = _edited(entry, site, part, response, form)
    except ValidationError as exc:
        message = f'<p class="error" role="alert">Not saved: {esc(_problem(exc, part))}</p>'
        return await _site_page(request, site, message, status=400)
    except ValueError as exc:
        return await _site_page(
            request, site, f'<p class="error" role="alert">Not saved: {esc(exc)}</p>', 400
        )
    await book.save(site, entry, who, what)
    return await _site_page(request, site, f'<p class="ok" role="status">Saved: {esc(what)}.</p>')


def _edited(
    entry: SiteEntry, site: str, part: str, response: ResponseName | None, form: Form
) -> tuple[SiteEntry, str]:
    """The entry with one part replaced from the form, validated as a whole."""
    if part == "details" and site != CENTRE_SITE:
        fields = ("name", "address", "code_word", "duress_word", "schedule", "instructions")
        data = {f: str(form.get(f, "")).strip() for f in fields}
        return SiteEntry.model_validate({**entry.model_dump(), **data}), "details"
    if part == "zones" and site != CENTRE_SITE:
        rows = _rows(form, "zone", ("zone", "name", "location", "device"), lambda r: bool(r["name"]))
        for i, row in rows:
            if not row["zone"].isdigit():
                raise ValueError(f"zones row {i + 1} ({row['name']}): the zone number must be a whole number")
        zones = _each(Zone.model_validate, [(i, {**r, "zone": int(r["zone"])}) for i, r in rows], "zones")
        updated = SiteEntry.model_validate({**entry.model_dump(), "zones": [z.model_dump() for z in zones]})
        return updated, f"zones ({len(zones)})"
    if part == "contacts" and site != CENTRE_SITE:
        rows = _rows(form, "contact", ("name", "role", "phone", "alt_phone"), lambda r: bool(r["name"]))
        contacts = _each(Contact.model_validate, rows, "contacts")
        updated = SiteEntry.model_validate(
            {**entry.model_dump(), "contacts": [c.model_dump() for c in contacts]}
        )
        return updated, f"contacts ({len(contacts)}, in order)"
    if part == "plans" and response is not None:
        plans = {k: [s.model_dump() for s in v] for k, v in entry.plans.items()}
        if "use_centre" in form:
            plans.pop(response, None)
            return SiteEntry.model_validate(
                {**entry.model_dump(), "plans": plans}
            ), f"{response}: the centre's plan"
        rows = _rows(form, "step", ("text", "call", "answer_within", "dispatch"), lambda r: bool(r["text"]))
        steps = _each(PlanStep.model_validate, [(i, _step(r, form, i)) for i, r in rows], f"{response} plan")
        if not steps:
            raise ValueError("a plan needs at least one step (or tick: use the centre's plan)")
        plans[response] = [s.model_dump() for s in steps]
        return SiteEntry.model_validate(
            {**entry.model_dump(), "plans": plans}
        ), f"{response} plan ({len(steps)} steps)"
    raise web.HTTPNotFound()
