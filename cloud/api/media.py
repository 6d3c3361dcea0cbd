"""Uploads from nodes (PUT with the node's token, size-limited, SHA-256 checked against the
event) and streaming to users (HTTP Range, so `<video>` can seek)."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from cloud.api.deps import node, service, user
from cloud.audit import audit
from cloud.auth import Principal
from cloud.db import EventRow, Media
from cloud.media import BadRange, MediaStore, Received, StoreUnavailable, TooLarge
from cloud.service import CloudService
from contract import Event

router = APIRouter(tags=["media"])


class Stored(BaseModel):
    media_id: int
    key: str
    sha256: str
    size: int
    detail: str


def _limit(svc: CloudService, content_length: int | None) -> int:
    limit = int(svc.cfg.media.max_upload_mb * 1024 * 1024)
    if content_length is not None and content_length > limit:
        svc.metrics.uploads.labels("too_large").inc()
        raise HTTPException(413, f"upload of {content_length} bytes exceeds the limit of {limit}")
    return limit


async def _receive(request: Request, svc: CloudService, limit: int) -> Received:
    try:
        return await svc.media.receive(request.stream(), limit)
    except TooLarge as exc:
        svc.metrics.uploads.labels("too_large").inc()
        raise HTTPException(413, str(exc)) from None


def _refuse(svc: CloudService, who: Principal, received: Received, target: str, why: str, code: int = 422):
    svc.media.discard(received)
    svc.metrics.uploads.labels("refused").inc()
    with svc.db.session.begin() as s:
        audit(s, who.name, "upload.refused", target, reason=why, sha256=received.sha256, size=received.size)
    raise HTTPException(code, why)


def _lookup(svc: CloudService, key: str, event_id: str | None) -> tuple[EventRow | None, Media | None]:
    """The event an upload belongs to and any media already stored under its key. Database
    calls are blocking, so the async handlers run this (and _store, _refuse) in the threadpool."""
    with svc.db.session() as s:
        row = s.get(EventRow, event_id) if event_id else None
        return row, s.scalar(select(Media).where(Media.key == key))


def _store(svc: CloudService, who: Principal, received: Received, row: Media) -> Stored:
    try:
        svc.media.commit(received, row.key, row.content_type)
        with svc.db.session.begin() as s:
            s.add(row)
            s.flush()
            audit(s, who.name, "media.store", row.key, sha256=row.sha256, size=row.size)
    except StoreUnavailable as exc:
        svc.media.discard(received)
        svc.metrics.uploads.labels("store_unavailable").inc()
        # The node keeps the file and retries; nothing is recorded that the store does not hold.
        raise HTTPException(503, f"media store unavailable: {exc}", headers={"Retry-After": "30"}) from None
    except Exception:
        svc.media.discard(received)
        raise
    svc.metrics.uploads.labels("stored").inc()
    svc.metrics.upload_bytes.inc(row.size)
    return Stored(media_id=row.id, key=row.key, sha256=row.sha256, size=row.size, detail="stored")


@router.put("/api/uploads/{event_id}/{filename}", response_model=Stored, tags=["uploads"])
async def upload_event_media(
    event_id: str,
    filename: str,
    request: Request,
    content_length: int | None = Header(None),
    who: Principal = Depends(node),
    svc: CloudService = Depends(service),
) -> Stored:
    """A node uploads the clip or snapshot an event revision announced. The body must match
    the SHA-256 and size in the event; otherwise it is refused and the refusal audited."""
    try:
        key = MediaStore.key(who.node_site or "", who.node or "", event_id, filename)
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None
    limit = _limit(svc, content_length)
    row, existing = await run_in_threadpool(_lookup, svc, key, event_id)
    if row is None or row.node != who.node:
        # The node publishes the event before uploading; MQTT may simply be slower than HTTP.
        raise HTTPException(409, f"event {event_id} of node {who.node} is not stored yet; retry later")
    if existing is not None:
        return Stored(media_id=existing.id, key=key, sha256=existing.sha256, size=existing.size,
                      detail="already stored")  # fmt: skip
    event = Event.model_validate(json.loads(row.payload))
    ref = next((m for m in (event.clip, event.snapshot) if m is not None and m.filename == filename), None)
    received = await _receive(request, svc, limit)
    if ref is None:
        await run_in_threadpool(
            _refuse, svc, who, received, key, f"event {event_id} announces no file named {filename!r}", 404
        )
    if (received.sha256, received.size) != (ref.sha256, ref.size):
        await run_in_threadpool(_refuse, svc, who, received, key,
                f"body (sha256 {received.sha256}, {received.size} bytes) does not match the event "
                f"(sha256 {ref.sha256}, {ref.size} bytes)")  # fmt: skip
    media = Media(event_id=event_id, node=who.node, kind=ref.kind, filename=filename, key=key,
                  content_type=ref.content_type, sha256=ref.sha256, size=ref.size)  # fmt: skip
    return await run_in_threadpool(_store, svc, who, received, media)


@router.put("/api/uploads/snapshots/{camera}/{filename}", response_model=Stored, tags=["uploads"])
async def upload_snapshot(
    camera: str,
    filename: str,
    request: Request,
    content_length: int | None = Header(None),
    x_content_sha256: str = Header(description="SHA-256 of the body, lower-case hex."),
    who: Principal = Depends(node),
    svc: CloudService = Depends(service),
) -> Stored:
    """A snapshot taken on command (no event); checked against the X-Content-SHA256 header."""
    try:
        key = MediaStore.key(who.node_site or "", who.node or "", "snapshots", camera, filename)
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None
    received = await _receive(request, svc, _limit(svc, content_length))
    if received.sha256 != x_content_sha256.lower():
        await run_in_threadpool(
            _refuse, svc, who, received, key, f"body sha256 {received.sha256} does not match X-Content-SHA256"
        )
    _, existing = await run_in_threadpool(_lookup, svc, key, None)
    if existing is not None:
        svc.media.discard(received)
        return Stored(media_id=existing.id, key=key, sha256=existing.sha256, size=existing.size,
                      detail="already stored")  # fmt: skip
    media = Media(event_id=None, node=who.node, kind="snapshot", filename=f"{camera}-{filename}", key=key,
                  content_type="image/jpeg", sha256=received.sha256, size=received.size)  # fmt: skip
    return await run_in_threadpool(_store, svc, who, received, media)


@router.get("/api/media/{media_id}", response_class=Response, tags=["media"])
def get_media(
    media_id: Annotated[int, Path(ge=1, le=2**53)],
    range_: Annotated[str | None, Header(alias="Range", description="One byte range, e.g. `bytes=0-1023`.")] = None,
    p: Principal = Depends(user),
    svc: CloudService = Depends(service),
) -> Response:
    """The file, with Range support (206 Partial Content) so browsers can seek in clips."""
    with svc.db.session() as s:
        m = s.get(Media, media_id)
        event = s.get(EventRow, m.event_id) if m is not None and m.event_id else None
    site = m.key.split("/", 1)[0] if m is not None else ""
    if m is None or m.deleted_at is not None or not p.may_see(site, event.building if event else None):
        raise HTTPException(404, f"no media {media_id} that you may see")
    if event is None and not p.sees_all():
        raise HTTPException(404, f"no media {media_id} that you may see")
    try:
        return svc.media.response(m.key, m.content_type, m.filename, range_)
    except FileNotFoundError:
        raise HTTPException(410, f"media {media_id} was recorded but its file is missing from the store") from None
    except BadRange as exc:
        raise HTTPException(400, str(exc)) from None
    except StoreUnavailable as exc:
        raise HTTPException(503, f"media store unavailable: {exc}", headers={"Retry-After": "30"}) from None
