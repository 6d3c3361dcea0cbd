"""Telemetry series and event statistics (counts per building, floor, unit, day, type)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel
from sqlalchemy import Integer, String, cast, func, select

from cloud.api.deps import service, user
from cloud.api.visibility import visible
from cloud.auth import Principal
from cloud.db import Camera, EventRow
from cloud.service import CloudService
from cloud.timeseries import MEASUREMENTS
from contract import EventType

router = APIRouter(tags=["statistics"])


class SeriesPoint(BaseModel):
    t: datetime
    value: float


class Series(BaseModel):
    measurement: str
    field: str
    every_s: int
    agg: str
    points: list[SeriesPoint]


class GroupBy(StrEnum):
    building = "building"
    floor = "floor"
    unit = "unit"
    day = "day"
    type = "type"
    camera = "camera"
    floor_unit = "floor_unit"


class Count(BaseModel):
    key: str | None
    count: int


class Stats(BaseModel):
    group_by: GroupBy
    timezone: str
    counts: list[Count]


@router.get("/api/telemetry", response_model=Series)
def telemetry(
    measurement: Literal["node_health", "camera_health", "events", "alarms"],
    field: str = Query(pattern=r"^[a-z_]{1,40}$", description="e.g. cpu_percent, processed_fps, count"),
    node: str | None = None,
    camera: str | None = None,
    site: str | None = None,
    start: datetime | None = Query(None, description="Default: 24 h ago."),
    stop: datetime | None = Query(None, description="Default: now."),
    every_s: int = Query(300, ge=1, le=86400 * 31),
    agg: Literal["mean", "sum", "max", "last"] = "mean",
    p: Principal = Depends(user),
    svc: CloudService = Depends(service),
) -> Series:
    assert measurement in MEASUREMENTS
    t1 = stop.timestamp() if stop else time.time()
    t0 = start.timestamp() if start else t1 - 86400
    if t1 <= t0 or (t1 - t0) / every_s > 10_000:
        raise HTTPException(422, "choose start < stop and at most 10000 buckets (raise every_s)")
    tags = {k: v for k, v in (("node", node), ("camera", camera), ("site", site)) if v is not None}
    if not p.sees_all():
        _check_grid_access(svc, p, node, camera)
    points = svc.ts.query(measurement, field, t0, t1, every_s, agg, tags)
    return Series(measurement=measurement, field=field, every_s=every_s, agg=agg,
                  points=[SeriesPoint(t=datetime.fromtimestamp(t, UTC), value=v) for t, v in points])  # fmt: skip


def _check_grid_access(svc: CloudService, p: Principal, node: str | None, camera: str | None) -> None:
    """A grid worker sees the health of the cameras on their buildings only."""
    if node is None or camera is None:
        raise HTTPException(403, "grid workers query one camera at a time (node and camera)")
    with svc.db.session() as s:
        cam = s.get(Camera, (node, camera))
    if cam is None or not p.may_see(cam.site, cam.building):
        raise HTTPException(404, f"no camera {node}/{camera} that you may see")


@router.get("/api/stats", response_model=Stats)
def stats(
    group_by: GroupBy = GroupBy.building,
    site: str | None = None,
    building: str | None = None,
    type: EventType | None = None,
    since: datetime | None = Query(None, description="Default: 30 days ago."),
    until: datetime | None = None,
    p: Principal = Depends(user),
    svc: CloudService = Depends(service),
) -> Stats:
    """Event counts grouped by one column; `day` is the calendar day in the service's time zone;
    `floor_unit` keys are `floor/unit` (the console's heatmap of thrown-object origins)."""
    tz = ZoneInfo(svc.cfg.timezone)
    t1 = until.timestamp() if until else time.time()
    t0 = since.timestamp() if since else t1 - 30 * 86400
    offset = datetime.now(tz).utcoffset() or timedelta(0)
    if group_by is GroupBy.day:
        day = (EventRow.started_at + offset.total_seconds()) / 86400
        key = func.floor(day) if svc.db.engine.dialect.name == "postgresql" else cast(day, Integer)
    elif group_by is GroupBy.floor_unit:
        key = cast(EventRow.floor, String).concat("/").concat(func.coalesce(EventRow.unit, ""))
    else:
        key = getattr(EventRow, group_by.value)
    q = select(key, func.count()).where(
        visible(p, EventRow.site, EventRow.building), EventRow.started_at >= t0, EventRow.started_at < t1
    )
    for col, value in ((EventRow.site, site), (EventRow.building, building)):
        if value is not None:
            q = q.where(col == value)
    if type is not None:
        q = q.where(EventRow.type == type.value)
    with svc.db.session() as s:
        rows = s.execute(q.group_by(key).order_by(key)).all()
    counts = []
    for k, n in rows:
        if group_by is GroupBy.day and k is not None:
            k = (datetime(1970, 1, 1) + timedelta(days=int(k))).date().isoformat()
        counts.append(Count(key=None if k is None else str(k), count=n))
    return Stats(group_by=group_by, timezone=svc.cfg.timezone, counts=counts)
