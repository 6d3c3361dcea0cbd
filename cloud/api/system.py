"""Health (the one unauthenticated endpoint), Prometheus metrics, audit log, dead letters."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Query, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from sqlalchemy import select, text

from cloud.api.deps import require, service
from cloud.auth import Principal, Role
from cloud.db import AuditEntry, DeadLetter
from cloud.service import CloudService

router = APIRouter(tags=["system"])


class Health(BaseModel):
    ok: bool
    database: bool
    ingest_workers: int
    ingest_connected: int


class AuditOut(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    target: str
    detail: dict | None


class DeadLetterOut(BaseModel):
    id: int
    received_at: datetime
    topic: str
    reason: str
    size: int
    payload_preview: str


@router.get("/api/health", response_model=Health)
def health(response: Response, svc: CloudService = Depends(service)) -> Health:
    try:
        with svc.db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        db_ok = True
    except Exception:
        db_ok = False
    connected = sum(w.connected.is_set() for w in svc.workers)
    ok = db_ok and connected == len(svc.workers)
    if not ok:
        response.status_code = 503
    return Health(ok=ok, database=db_ok, ingest_workers=len(svc.workers), ingest_connected=connected)


@router.get("/metrics", response_class=Response)
def metrics(p: Principal = Depends(require(Role.admin)), svc: CloudService = Depends(service)) -> Response:
    """Prometheus text format; scrape with an admin's token as a Bearer credential."""
    return Response(generate_latest(svc.metrics.registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/api/audit", response_model=list[AuditOut])
def audit_log(
    limit: int = Query(100, ge=1, le=1000),
    before_id: int | None = Query(None, ge=1, le=2**53),
    p: Principal = Depends(require(Role.admin)),
    svc: CloudService = Depends(service),
) -> list[AuditOut]:
    q = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if before_id:
        q = q.where(AuditEntry.id < before_id)
    with svc.db.session() as s:
        return [
            AuditOut(
                id=a.id,
                at=datetime.fromtimestamp(a.at, UTC),
                actor=a.actor,
                action=a.action,
                target=a.target,
                detail=a.detail,
            )  # fmt: skip
            for a in s.scalars(q)
        ]


@router.get("/api/dead-letters", response_model=list[DeadLetterOut])
def dead_letters(
    limit: int = Query(100, ge=1, le=1000),
    p: Principal = Depends(require(Role.admin)),
    svc: CloudService = Depends(service),
) -> list[DeadLetterOut]:
    with svc.db.session() as s:
        rows = list(s.scalars(select(DeadLetter).order_by(DeadLetter.id.desc()).limit(limit)))
    return [
        DeadLetterOut(
            id=d.id,
            received_at=datetime.fromtimestamp(d.received_at, UTC),
            topic=d.topic,
            reason=d.reason,
            size=d.size,
            payload_preview=d.payload[:200].decode("utf-8", "replace"),
        )  # fmt: skip
        for d in rows
    ]
