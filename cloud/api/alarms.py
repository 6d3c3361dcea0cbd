"""Alarms: list, detail with deliveries and audit trail, acknowledge, resolve; silences; the
alerting rules (read and replace, validated like the edge config); closing-the-loop statistics."""

from __future__ import annotations

import time
from datetime import datetime

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Request, UploadFile
from pydantic import BaseModel, Field
from sqlalchemy import select

from cloud.alerting.engine import AlarmError, AlertEngine, rules_revision, save_rules
from cloud.alerting.rules import Severity
from cloud.api.deps import require, service, user
from cloud.api.visibility import visible
from cloud.audit import audit
from cloud.auth import Principal, Role
from cloud.db import Alarm, AuditEntry, Delivery, EventRow, Silence, from_epoch, to_epoch
from cloud.service import CloudService
from contract import EventType
from edge.yaml_source import ConfigError

router = APIRouter(tags=["alarms"])
HANDLERS = (Role.admin, Role.operator, Role.grid_worker)


class AlarmOut(BaseModel):
    id: int
    type: str
    severity: str
    state: str = Field(description="triggered, notified, acknowledged or resolved.")
    site: str
    node: str
    camera: str | None
    building: str | None
    grid: str | None
    floor: int | None
    unit: str | None
    event_id: str = Field(description="The event that opened it.")
    event_count: int = Field(description="Detections folded into it (repeats within the rule's window).")
    confidence: float
    started_at: datetime
    opened_at: datetime
    level: int = Field(description="Escalation level reached (index into the rule's levels).")
    acked_by: str | None
    acked_at: datetime | None
    resolved_by: str | None
    resolved_at: datetime | None
    outcome: str | None
    note: str | None
    photo_url: str | None
    muted: str | None = Field(description="`inhibited by alarm N` or `silenced by silence N`; no messages are sent.")
    assigned_to: str | None = Field(description="The person (rules key) sent to handle it.")
    next_action_at: datetime | None


class DeliveryOut(BaseModel):
    id: int
    kind: str
    channel: str
    recipients: list[str]
    status: str
    attempts: int
    created_at: datetime
    sent_at: datetime | None
    error: str | None


class AuditOut(BaseModel):
    at: datetime
    actor: str
    action: str
    detail: dict | None


class AlarmDetail(AlarmOut):
    event_ids: list[str]
    deliveries: list[DeliveryOut]
    audit: list[AuditOut]


class SilenceIn(BaseModel):
    site: str | None = None
    building: str | None = None
    camera: str | None = None
    type: EventType | None = Field(None, description="An event type; null for any.")
    ends_at: datetime = Field(description="When the silence ends (ISO 8601).")
    comment: str = Field(min_length=1, max_length=500, description="Why, e.g. `facade cleaning 7栋`.")


class SilenceOut(SilenceIn):
    id: int
    starts_at: datetime
    created_by: str


class Assignment(BaseModel):
    person: str = Field(description="A key of `people` in the alerting rules.")


class PersonOut(BaseModel):
    key: str
    name: str
    user: str | None


class RulesOut(BaseModel):
    revision: int = Field(description="0: the built-in defaults are in force.")
    text: str | None


def alarm_out(a: Alarm) -> AlarmOut:
    muted = f"inhibited by alarm {a.inhibited_by}" if a.inhibited_by else (
        f"silenced by silence {a.silenced_by}" if a.silenced_by else None)  # fmt: skip
    return AlarmOut(
        id=a.id, type=a.type, severity=Severity(a.severity).name, state=a.state, site=a.site, node=a.node,
        camera=a.camera, building=a.building, grid=a.grid, floor=a.floor, unit=a.unit, event_id=a.first_event_id,
        event_count=a.event_count, confidence=a.confidence, started_at=from_epoch(a.started_at),
        opened_at=from_epoch(a.opened_at), level=a.level, acked_by=a.acked_by, acked_at=from_epoch(a.acked_at),
        resolved_by=a.resolved_by, resolved_at=from_epoch(a.resolved_at), outcome=a.outcome, note=a.note,
        photo_url=f"/api/media/{a.photo_media_id}" if a.photo_media_id else None, muted=muted,
        next_action_at=from_epoch(a.next_action_at), assigned_to=a.assigned_to,
    )  # fmt: skip


def _engine(svc: CloudService) -> AlertEngine:
    return svc.alerts


def _visible_alarm(svc: CloudService, p: Principal, alarm_id: int) -> Alarm:
    with svc.db.session() as s:
        a = s.get(Alarm, alarm_id)
    if a is None or not p.may_see(a.site, a.building):
        raise HTTPException(404, f"no alarm {alarm_id} that you may see")
    return a


@router.get("/api/alarms", response_model=list[AlarmOut])
def list_alarms(
    state: str | None = Query(None, description="`open` (not resolved), or one state."),
    site: str | None = None,
    building: str | None = None,
    type: str | None = None,
    limit: int = Query(100, ge=1, le=1000),
    p: Principal = Depends(user),
    svc: CloudService = Depends(service),
) -> list[AlarmOut]:
    q = select(Alarm).where(visible(p, Alarm.site, Alarm.building))
    if state == "open":
        q = q.where(Alarm.state != "resolved")
    elif state:
        q = q.where(Alarm.state == state)
    for col, value in ((Alarm.site, site), (Alarm.building, building), (Alarm.type, type)):
        if value is not None:
            q = q.where(col == value)
    with svc.db.session() as s:
        return [alarm_out(a) for a in s.scalars(q.order_by(Alarm.severity.desc(), Alarm.opened_at.desc()).limit(limit))]


@router.get("/api/alarms/stats")
def alarm_stats(
    since: datetime | None = Query(None, description="Alarms opened at or after; default 30 days ago."),
    until: datetime | None = None,
    site: str | None = None,
    p: Principal = Depends(require(Role.admin, Role.operator, Role.installer)),
    svc: CloudService = Depends(service),
) -> dict:
    """Time to acknowledge and resolve per grid and per worker, false-alarm ratio per camera."""
    now = time.time()
    return _engine(svc).stats(to_epoch(since) or now - 30 * 86400, to_epoch(until) or now + 1, site)


@router.get("/api/alarms/{alarm_id}", response_model=AlarmDetail)
def get_alarm(alarm_id: int, p: Principal = Depends(user), svc: CloudService = Depends(service)) -> AlarmDetail:
    a = _visible_alarm(svc, p, alarm_id)
    with svc.db.session() as s:
        events = list(
            s.scalars(select(EventRow.event_id).where(EventRow.alarm_id == a.id).order_by(EventRow.started_at))
        )
        deliveries = s.scalars(select(Delivery).where(Delivery.alarm_id == a.id).order_by(Delivery.id))
        trail = s.scalars(select(AuditEntry).where(AuditEntry.target == f"alarm:{a.id}").order_by(AuditEntry.id))
        return AlarmDetail(
            **alarm_out(a).model_dump(),
            event_ids=events,
            deliveries=[
                DeliveryOut(
                    id=d.id,
                    kind=d.kind,
                    channel=d.channel,
                    recipients=d.recipients,
                    status=d.status,
                    attempts=d.attempts,
                    created_at=from_epoch(d.created_at),
                    sent_at=from_epoch(d.sent_at),
                    error=d.error,
                )
                for d in deliveries
            ],  # fmt: skip
            audit=[AuditOut(at=from_epoch(e.at), actor=e.actor, action=e.action, detail=e.detail) for e in trail],
        )


def _lifecycle(fn):
    try:
        return alarm_out(fn())
    except AlarmError as exc:
        raise HTTPException(exc.status, str(exc)) from None


@router.post("/api/alarms/{alarm_id}/ack", response_model=AlarmOut)
def ack_alarm(
    alarm_id: int, p: Principal = Depends(require(*HANDLERS)), svc: CloudService = Depends(service)
) -> AlarmOut:
    """Acknowledge: stops the escalation; a reminder follows if it is not resolved in time."""
    _visible_alarm(svc, p, alarm_id)
    engine = _engine(svc)
    return _lifecycle(lambda: engine.acknowledge(alarm_id, p.name, engine.rules.person_of_user(p.name)))


@router.post("/api/alarms/{alarm_id}/resolve", response_model=AlarmOut)
async def resolve_alarm(
    alarm_id: int,
    outcome: str = Form(description="`handled` or `false_alarm`."),
    note: str = Form(max_length=2000, description="What was found or done."),
    photo: UploadFile | None = File(None, description="Optional JPEG or PNG from the scene (<= 10 MB)."),
    p: Principal = Depends(require(*HANDLERS)),
    svc: CloudService = Depends(service),
) -> AlarmOut:
    _visible_alarm(svc, p, alarm_id)
    data = await photo.read(10 * 1024 * 1024 + 1) if photo is not None and photo.filename else None
    engine = _engine(svc)
    person = engine.rules.person_of_user(p.name)
    return _lifecycle(lambda: engine.resolve(alarm_id, p.name, outcome, note, person, data))


@router.post("/api/alarms/{alarm_id}/assign", response_model=AlarmOut)
def assign_alarm(
    alarm_id: int,
    body: Assignment,
    p: Principal = Depends(require(Role.admin, Role.operator)),
    svc: CloudService = Depends(service),
) -> AlarmOut:
    """The control room sends a person: they are told on their own channels, with their own link."""
    _visible_alarm(svc, p, alarm_id)
    return _lifecycle(lambda: _engine(svc).assign(alarm_id, p.name, body.person))


@router.get("/api/alerting/people", response_model=list[PersonOut])
def list_people(p: Principal = Depends(require(*HANDLERS)), svc: CloudService = Depends(service)) -> list[PersonOut]:
    """The people an alarm can be assigned to, from the alerting rules in force."""
    people = _engine(svc).rules.people
    return [PersonOut(key=k, name=v.name, user=v.user) for k, v in sorted(people.items())]


@router.get("/api/silences", response_model=list[SilenceOut])
def list_silences(
    active: bool = True,
    p: Principal = Depends(require(Role.admin, Role.operator)),
    svc: CloudService = Depends(service),
) -> list[SilenceOut]:
    q = select(Silence).order_by(Silence.ends_at.desc())
    if active:
        q = q.where(Silence.ends_at > time.time())
    with svc.db.session() as s:
        return [_silence_out(x) for x in s.scalars(q.limit(500))]


def _silence_out(x: Silence) -> SilenceOut:
    return SilenceOut(id=x.id, site=x.site, building=x.building, camera=x.camera, type=x.type,
                      ends_at=from_epoch(x.ends_at), comment=x.comment, starts_at=from_epoch(x.starts_at),
                      created_by=x.created_by)  # fmt: skip


@router.post("/api/silences", response_model=SilenceOut, status_code=201)
def add_silence(body: SilenceIn, p: Principal = Depends(require(Role.admin, Role.operator)),
                svc: CloudService = Depends(service)) -> SilenceOut:  # fmt: skip
    """Mute matching new alarms until `ends_at` (maintenance, facade cleaning)."""
    now = time.time()
    ends = to_epoch(body.ends_at) or now
    if ends <= now:
        raise HTTPException(422, "ends_at is in the past")
    with svc.db.session.begin() as s:
        x = Silence(site=body.site, building=body.building, camera=body.camera, type=body.type, starts_at=now,
                    ends_at=ends, comment=body.comment, created_by=p.name)  # fmt: skip
        s.add(x)
        s.flush()
        audit(s, p.name, "silence.create", f"silence:{x.id}", **body.model_dump(mode="json"))
        return _silence_out(x)


@router.delete("/api/silences/{silence_id}", status_code=204)
def end_silence(silence_id: int, p: Principal = Depends(require(Role.admin, Role.operator)),
                svc: CloudService = Depends(service)) -> None:  # fmt: skip
    with svc.db.session.begin() as s:
        x = s.get(Silence, silence_id)
        if x is None:
            raise HTTPException(404, f"no silence {silence_id}")
        x.ends_at = min(x.ends_at, time.time())
        audit(s, p.name, "silence.end", f"silence:{x.id}")


@router.get("/api/alerting/rules", response_model=RulesOut)
def get_rules(
    p: Principal = Depends(require(Role.admin, Role.operator)), svc: CloudService = Depends(service)
) -> RulesOut:
    revision, text = rules_revision(svc.db)
    return RulesOut(revision=revision, text=text)


@router.put(
    "/api/alerting/rules",
    response_model=RulesOut,
    openapi_extra={"requestBody": {"content": {"application/yaml": {"schema": {"type": "string"}}}, "required": True}},
)
async def put_rules(request: Request, p: Principal = Depends(require(Role.admin)),
                    svc: CloudService = Depends(service)) -> RulesOut:  # fmt: skip
    """Replace the rules with the YAML body. A problem answers 422 with `problems`, each
    `rules:LINE key.path: message`; the rules in force do not change."""
    raw = await request.body()
    if len(raw) > 1024 * 1024:
        raise HTTPException(413, "rules larger than 1 MB")
    try:
        text = raw.decode()
    except UnicodeDecodeError as exc:
        raise HTTPException(422, {"problems": [f"rules: not UTF-8 text ({exc.reason} at byte {exc.start})"]}) from None
    try:
        revision = save_rules(svc.db, text, p.name)
    except ConfigError as exc:
        raise HTTPException(422, {"problems": exc.problems}) from None
    _engine(svc).reload()
    return RulesOut(revision=revision, text=text)
