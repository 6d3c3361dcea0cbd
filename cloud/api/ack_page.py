"""The page a chat message's link opens on a grid worker's phone: what and where, the snapshot,
one button to acknowledge, then a form to resolve with a note and a photo. No login: the link
is signed, expires and works once (cloud/alerting/links.py); each step hands out a fresh link
for the next. Server-rendered HTML with no scripts, so it opens on any phone browser and on an
intranet with no internet.
"""

from __future__ import annotations

import html

from fastapi import APIRouter, Depends, File, Form, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from cloud.alerting.engine import AlarmError, AlertEngine
from cloud.alerting.links import Link, LinkError, make_token, read_token, was_spent
from cloud.alerting.messages import TEXT
from cloud.api.deps import service
from cloud.db import Alarm
from cloud.service import CloudService

router = APIRouter(tags=["acknowledgement links"], include_in_schema=True)

WORDS = {
    "zh": {"ack": "确认接警", "resolve": "处理完毕", "note": "处理说明",
           "photo": "现场照片（可选）", "state": "状态", "acked": "已由 {} 确认", "done": "已处理完毕，谢谢！",
           "states": {"triggered": "待确认", "notified": "已通知，待确认", "acknowledged": "已确认，处理中", "resolved": "已结束"},
           "console": "在控制台查看"},
    "en": {"ack": "Acknowledge", "resolve": "Resolve", "note": "Note",
           "photo": "Photo from the scene (optional)", "state": "State", "acked": "Acknowledged by {}",
           "done": "Resolved. Thank you!", "states": {"triggered": "waiting", "notified": "notified, waiting",
           "acknowledged": "acknowledged, in hand", "resolved": "closed"}, "console": "Open in the console"},
}  # fmt: skip

STYLE = """body{font-family:system-ui,-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;margin:0;padding:16px;
background:#f4f5f7;color:#111;font-size:18px}main{max-width:560px;margin:auto;background:#fff;border-radius:12px;
padding:16px}h1{font-size:22px;margin:0 0 8px}.sev3{color:#c00}.sev2{color:#d46b08}p{margin:6px 0}
img{width:100%;border-radius:8px;margin:8px 0}button{width:100%;font-size:20px;padding:14px;border:0;border-radius:8px;
background:#1677ff;color:#fff;margin-top:12px}textarea{width:100%;box-sizing:border-box;font-size:18px;min-height:90px}
label{display:block;margin:8px 0}.msg{padding:10px;border-radius:8px;background:#fff7e6}"""


def _engine(svc: CloudService) -> AlertEngine:
    return svc.alerts


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    doc = (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" '
           f'content="width=device-width,initial-scale=1"><title>{html.escape(title)}</title><style>{STYLE}</style>'
           f"</head><body><main>{body}</main></body></html>")  # fmt: skip
    return HTMLResponse(doc, status)


def _problem(message: str, status: int) -> HTMLResponse:
    return _page("gridwatch", f'<p class="msg">{html.escape(message)}</p>', status)


def _alarm_html(engine: AlertEngine, alarm: Alarm, token: str, w: dict) -> str:
    r = engine.renderer
    e = html.escape
    parts = [
        f'<h1 class="sev{alarm.severity}">{e(r.title(alarm))}</h1>',
        f"<p>{e(r.where(alarm))}</p>",
        f"<p>{e(r.local(alarm.started_at))}</p>",
        f"<p>{w['state']}: {e(w['states'].get(alarm.state, alarm.state))}</p>",
    ]
    if engine.snapshot_media(alarm) is not None:
        parts.append(f'<img src="/a/{e(token)}/snapshot" alt="snapshot">')
    if alarm.acked_by and alarm.state == "acknowledged":
        parts.append(f'<p class="msg">{e(w["acked"].format(engine.display_name(alarm.acked_by)))}</p>')
    return "".join(parts)


def _resolve_form(token: str, w: dict) -> str:
    e = html.escape
    return (f'<form method="post" action="/a/{e(token)}/resolve" enctype="multipart/form-data">'
            f'<label><input type="radio" name="outcome" value="handled" checked> {w["handled"]}</label>'
            f'<label><input type="radio" name="outcome" value="false_alarm"> {w["false_alarm"]}</label>'
            f'<label>{w["note"]}<textarea name="note" required maxlength="2000"></textarea></label>'
            f'<label>{w["photo"]}<input type="file" name="photo" accept="image/jpeg,image/png" capture="environment"></label>'
            f'<button type="submit">{w["resolve"]}</button></form>')  # fmt: skip


def _open(svc: CloudService, token: str) -> tuple[Link, Alarm]:
    engine = _engine(svc)
    link = read_token(engine.secret, token)
    with svc.db.session() as s:
        alarm = s.get(Alarm, link.alarm_id)
    if alarm is None:
        raise LinkError("this alarm no longer exists")
    return link, alarm


@router.get("/a/{token}", response_class=HTMLResponse)
def link_page(token: str, svc: CloudService = Depends(service)) -> HTMLResponse:
    """The alarm, and the one action this link allows next."""
    engine = _engine(svc)
    w = WORDS[engine.rules.language] | TEXT[engine.rules.language]["resolved"]
    try:
        link, alarm = _open(svc, token)
    except LinkError as exc:
        return _problem(str(exc), 410)
    body = _alarm_html(engine, alarm, token, w)
    if alarm.state == "resolved":
        body += f'<p class="msg">{w["done"]}</p>'
    elif was_spent(svc.db, link):
        body += f'<p class="msg">{html.escape(str(LinkError("this link was already used")))}</p>'
    elif alarm.state in ("triggered", "notified"):
        body += (
            f'<form method="post" action="/a/{html.escape(token)}/ack"><button type="submit">{w["ack"]}</button></form>'
        )
    else:
        body += _resolve_form(token, w)
    body += f'<p><a href="{html.escape(engine.renderer.event_url(alarm))}">{w["console"]}</a></p>'
    return _page(engine.renderer.title(alarm), body)


@router.post("/a/{token}/ack")
def link_ack(token: str, svc: CloudService = Depends(service)) -> Response:
    engine = _engine(svc)
    try:
        link, _ = _open(svc, token)
        engine.acknowledge(link.alarm_id, f"link:{link.person}", link.person or None, link)
    except (LinkError, AlarmError) as exc:
        return _problem(str(exc), 409 if isinstance(exc, AlarmError) else 410)
    # The next step gets a fresh one-time link (the one just used is spent).
    fresh = make_token(engine.secret, link.alarm_id, link.person, engine.rules.link_hours * 3600)
    return RedirectResponse(f"/a/{fresh}", status_code=303)


@router.post("/a/{token}/resolve")
async def link_resolve(
    token: str,
    outcome: str = Form(...),
    note: str = Form(..., max_length=2000),
    photo: UploadFile | None = File(None),
    svc: CloudService = Depends(service),
) -> Response:
    engine = _engine(svc)
    data = await photo.read(10 * 1024 * 1024 + 1) if photo is not None and photo.filename else None
    try:
        link, _ = _open(svc, token)
        alarm = engine.resolve(link.alarm_id, f"link:{link.person}", outcome, note, link.person or None, data, link)
    except (LinkError, AlarmError) as exc:
        return _problem(str(exc), exc.status if isinstance(exc, AlarmError) else 410)
    w = WORDS[engine.rules.language] | TEXT[engine.rules.language]["resolved"]
    return _page(engine.renderer.title(alarm), _alarm_html(engine, alarm, token, w) + f'<p class="msg">{w["done"]}</p>')


@router.get("/a/{token}/snapshot")
def link_snapshot(token: str, svc: CloudService = Depends(service)) -> Response:
    """The alarm's snapshot, while the link has not expired (viewing does not use it up)."""
    try:
        _, alarm = _open(svc, token)
    except LinkError as exc:
        return Response(str(exc), 410)
    snapshot = _engine(svc).snapshot(alarm)
    if snapshot is None:
        return Response(status_code=404)
    return Response(snapshot[0], media_type=snapshot[1], headers={"Cache-Control": "private, max-age=300"})
