"""``/admin/mobile``: admins enrol a phone for a person (a one-time link and its QR code, shown
once), see every device and when it was last heard, and revoke one. The gate requires the admin
role for ``/admin``; every change is audited by the registry."""

from __future__ import annotations

import segno
from aiohttp import web

from receiver.console.render import csrf_field, esc, local, page
from receiver.gate import PRINCIPAL
from receiver.mobile.context import service
from receiver.mobile.devices import EnrolmentError

__all__ = ["enrolment_link", "routes"]

routes = web.RouteTableDef()


def enrolment_link(base: str, secret: str) -> str:
    """The secret rides in the fragment: browsers never send it, so no log ever holds it."""
    return f"{base}/mobile/enrol#{secret}"


def _base(request: web.Request) -> str:
    return service(request).config.public_url or f"{request.scheme}://{request.host}"


async def _body(request: web.Request, message: str = "") -> str:
    svc, csrf = service(request), csrf_field(request)
    people = {p.id: p for p in svc.config.people}
    rows = "".join(
        f"<tr data-device='{d.id}'><td>{d.id}</td>"
        f"<td>{esc(people[d.person].name if d.person in people else d.person)}</td>"
        f"<td>{esc(d.site)}</td><td>{esc(d.label)}</td><td>{'silent' if d.silent else 'normal'}</td>"
        f"<td class='state'>{esc(d.state)}</td><td>{local(d.last_seen_at)}</td><td>"
        + ("" if d.revoked_at else
           f'<form method="post" action="/admin/mobile/revoke" class="inline">{csrf}'
           f'<input type="hidden" name="device" value="{d.id}"><button>Revoke</button></form>')
        + "</td></tr>"
        for d in await svc.registry.all()
    )
    options = "".join(f'<option value="{esc(p.id)}">{esc(p.name)} ({esc(p.site)})</option>'
                      for p in svc.config.people)
    form = (
        f'<h2>Enrol a phone</h2><form method="post" action="/admin/mobile/enrol">{csrf}'
        f'<label>Person <select name="person" required>{options}</select></label>'
        '<label>Phone <input name="label" maxlength="64" placeholder="e.g. iPhone werk"></label>'
        '<label><input type="checkbox" name="silent" value="1"> silent (shows nothing once sent)</label>'
        "<button>Make a one-time link</button></form>"
        if options else "<p>No people under <code>mobile.people</code> in the receiver config.</p>"
    )
    return (
        f"{message}<table id='mobile-devices'><thead><tr><th>#</th><th>Person</th><th>Site</th>"
        "<th>Phone</th><th>Mode</th><th>State</th><th>Last heard</th><th></th></tr></thead>"
        f"<tbody>{rows}</tbody></table>{form}"
    )


@routes.get("/admin/mobile")
async def devices_page(request: web.Request) -> web.Response:
    return page(request, "Mobile panic buttons", await _body(request))


@routes.post("/admin/mobile/enrol")
async def enrol(request: web.Request) -> web.Response:
    form = await request.post()
    svc = service(request)
    person = svc.person(str(form.get("person", "")))
    if person is None:
        msg = '<p class="error">Choose a person from the list.</p>'
        return page(request, "Mobile panic buttons", await _body(request, msg), status=400)
    enrolment = await svc.registry.enrol(person.id, person.site, by=request[PRINCIPAL].name,
                                         label=str(form.get("label", "")), silent=form.get("silent") == "1")
    link = enrolment_link(_base(request), enrolment.secret)
    qr = segno.make(link, error="m").svg_data_uri(scale=5, border=2)
    shown = (
        f'<section class="ok enrolment"><h2>One-time link for {esc(person.name)} (shown once)</h2>'
        f'<p>Scan with the phone, or send the link over a trusted channel. It works once, within'
        f" {esc(svc.config.enrol_valid)}.</p>"
        f'<p><img id="enrol-qr" src="{esc(qr)}" alt="QR code of the enrolment link" width="240"></p>'
        f'<p><code id="enrol-link">{esc(link)}</code></p></section>'
    )
    return page(request, "Mobile panic buttons", await _body(request, shown))


@routes.post("/admin/mobile/revoke")
async def revoke(request: web.Request) -> web.Response:
    form = await request.post()
    raw = str(form.get("device", ""))
    try:
        device = await service(request).registry.revoke(int(raw) if raw.isdigit() else 0,
                                                         by=request[PRINCIPAL].name)
    except EnrolmentError as exc:
        return page(request, "Mobile panic buttons",
                    await _body(request, f'<p class="error">{esc(exc)}</p>'), status=400)
    msg = f'<p class="ok">Device {device.id} revoked: it can raise no alarm from now on.</p>'
    return page(request, "Mobile panic buttons", await _body(request, msg))
