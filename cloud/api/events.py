"""Events: list with filters and keyset paging, detail with media links, evidence flag."""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field
from sqlalchemy import and_, or_, select

from cloud.api.deps import require, service, user
from cloud.api.visibility import visible
from cloud.audit import audit
from cloud.auth import Principal, Role
from cloud.db import EventRow, Media, from_epoch, to_epoch
from cloud.service import CloudService
from contract import Event, EventType

router = APIRouter(prefix="/api/events", tags=["events"])


class Lifecycle(StrEnum):
    open = "open"
    ended = "ended"


class MediaInfo(BaseModel):
    id: int
    kind: str
    filename: str
    content_type: str
    size: int
    sha256: str
    url: str = Field(description="Streams the file; answers HTTP Range requests.")
    stored_at: datetime


class EventSummary(BaseModel):
    event_id: str
    revision: int
    phase: str
    type: str
    site: str
    node: str
    camera: str | None
    building: str | None
    floor: int | None
    unit: str | None
    started_at: datetime
    ended_at: datetime | None
    confidence: float
    evidence: bool
    received_at: datetime
    alarm_id: int | None = Field(None, description="The alarm this event opened or joined, once alerting handled it.")
    snapshot_url: str | None = None
    clip_url: str | None = None


class EventPage(BaseModel):
    items: list[EventSummary]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next (older) page.")


class EventDetail(EventSummary):
    event: Event = Field(description="The newest revision exactly as the node sent it.")
    media: list[MediaInfo]


class EvidenceFlag(BaseModel):
    evidence: bool = Field(description="True keeps the event's media past retention.")
    reason: str = Field("", max_length=500)


def media_info(m: Media) -> MediaInfo:
    return MediaInfo(id=m.id, kind=m.kind, filename=m.filename, content_type=m.content_type, size=m.size,
                     sha256=m.sha256, url=f"/api/media/{m.id}", stored_at=from_epoch(m.stored_at))  # fmt: skip


def summary(row: EventRow, media: list[Media]) -> dict:
    urls = {m.kind: f"/api/media/{m.id}" for m in media if m.deleted_at is None}
    return dict(
        event_id=row.event_id, revision=row.revision, phase=row.phase, type=row.type, site=row.site,
        node=row.node, camera=row.camera, building=row.building, floor=row.floor, unit=row.unit,
        started_at=from_epoch(row.started_at), ended_at=from_epoch(row.ended_at), confidence=row.confidence,
        evidence=row.evidence, received_at=from_epoch(row.received_at), alarm_id=row.alarm_id,
        snapshot_url=urls.get("snapshot"), clip_url=urls.get("clip"),
    )  # fmt: skip


def _cursor(raw: str) -> tuple[float, str]:
    try:
        t, event_id = raw.split("_", 1)
        return float(t), event_id
    except ValueError:
        raise HTTPException(400, f"cursor {raw[:40]!r} is not one this API made (use next_cursor)") from None


@router.get("", response_model=EventPage)
def list_events(
    site: str | None = None,
    building: str | None = None,
    camera: str | None = None,
    node: str | None = None,
    type: EventType | None = None,
    status: Lifecycle | None = Query(None, description="`open`: not ended yet; `ended`."),
    floor: int | None = Query(None, ge=-20, le=500),
    unit: str | None = None,
    since: datetime | None = Query(None, description="Started at or after (ISO 8601)."),
    until: datetime | None = Query(None, description="Started before (ISO 8601)."),
    limit: int = Query(50, ge=1, le=500),
    cursor: str | None = Query(None, max_length=100),
    p: Principal = Depends(user),
    svc: CloudService = Depends(service),
) -> EventPage:
    q = select(EventRow).where(visible(p, EventRow.site, EventRow.building))
    for col, value in ((EventRow.site, site), (EventRow.building, building), (EventRow.camera, camera),
                       (EventRow.node, node), (EventRow.floor, floor), (EventRow.unit, unit)):  # fmt: skip
        if value is not None:
            q = q.where(col == value)
    if type is not None:
        q = q.where(EventRow.type == type.value)
    if status is not None:
        q = q.where(EventRow.phase == "end") if status is Lifecycle.ended else q.where(EventRow.phase != "end")
    if since is not None:
        q = q.where(EventRow.started_at >= to_epoch(since))
    if until is not None:
        q = q.where(EventRow.started_at < to_epoch(until))
    if cursor:
        t, event_id = _cursor(cursor)
        q = q.where(or_(EventRow.started_at < t, and_(EventRow.started_at == t, EventRow.event_id < event_id)))
    q = q.order_by(EventRow.started_at.desc(), EventRow.event_id.desc()).limit(limit + 1)
    with svc.db.session() as s:
        rows = list(s.scalars(q))
        more = len(rows) > limit
        rows = rows[:limit]
        media = _media_of(s, [r.event_id for r in rows])
    items = [EventSummary(**summary(r, media.get(r.event_id, []))) for r in rows]
    next_cursor = f"{rows[-1].started_at!r}_{rows[-1].event_id}" if more else None
    return EventPage(items=items, next_cursor=next_cursor)


def _media_of(s, event_ids: list[str]) -> dict[str, list[Media]]:
    out: dict[str, list[Media]] = {}
    if event_ids:
        for m in s.scalars(select(Media).where(Media.event_id.in_(event_ids), Media.deleted_at.is_(None))):
            out.setdefault(m.event_id, []).append(m)
    return out


def visible_event(s, p: Principal, event_id: str) -> EventRow:
    row = s.get(EventRow, event_id)
    if row is None or not p.may_see(row.site, row.building):
        raise HTTPException(404, f"no event {event_id[:40]!r} that you may see")
    return row


@router.get("/{event_id}", response_model=EventDetail)
def get_event(event_id: str, p: Principal = Depends(user), svc: CloudService = Depends(service)) -> EventDetail:
    with svc.db.session() as s:
        row = visible_event(s, p, event_id)
        media = _media_of(s, [event_id]).get(event_id, [])
        return EventDetail(
            **summary(row, media),
            event=Event.model_validate(json.loads(row.payload)),
            media=[media_info(m) for m in media],
        )


@router.put("/{event_id}/evidence", response_model=EventSummary)
def set_evidence(
    event_id: str,
    body: EvidenceFlag,
    p: Principal = Depends(require(Role.admin, Role.operator)),
    svc: CloudService = Depends(service),
) -> EventSummary:
    """Flag an event as evidence: its clip and snapshot are then never swept by retention."""
    with svc.db.session.begin() as s:
        row = visible_event(s, p, event_id)
        if row.evidence != body.evidence:
            row.evidence = body.evidence
            audit(s, p.name, "event.evidence", event_id, evidence=body.evidence, reason=body.reason)
        media = _media_of(s, [event_id]).get(event_id, [])
        return EventSummary(**summary(row, media))
