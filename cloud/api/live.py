"""A live stream of new and changed events and alarms as Server-Sent Events
(`text/event-stream`): the console's alarm channel.

The stream reads the database (rows whose `updated_at` advanced), not an in-process queue, so
it shows what any ingest worker or alerting engine of any replica stored.
"""

from __future__ import annotations

import asyncio
import time

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import select

from cloud.api.alarms import alarm_out
from cloud.api.deps import service, user
from cloud.api.events import EventSummary, summary
from cloud.api.visibility import visible
from cloud.auth import Principal
from cloud.db import Alarm, EventRow
from cloud.service import CloudService

router = APIRouter(tags=["events"])
POLL_S = 0.25
KEEPALIVE_S = 15.0


def _changed(svc: CloudService, p: Principal, since: float, alarms_since: float) -> tuple[list[EventRow], list[Alarm]]:
    events = (
        select(EventRow)
        .where(EventRow.updated_at > since, visible(p, EventRow.site, EventRow.building))
        .order_by(EventRow.updated_at)
        .limit(200)
    )
    alarms = (
        select(Alarm)
        .where(Alarm.updated_at > alarms_since, visible(p, Alarm.site, Alarm.building))
        .order_by(Alarm.updated_at)
        .limit(200)
    )
    with svc.db.session() as s:
        return list(s.scalars(events)), list(s.scalars(alarms))


@router.get("/api/events-stream", response_class=StreamingResponse)
async def event_stream(request: Request, p: Principal = Depends(user), svc: CloudService = Depends(service)):
    """`event: event` messages carry an EventSummary, `event: alarm` messages an AlarmOut
    (opened, notified, acknowledged, resolved: the console plays a sound for a new critical
    one); `: keepalive` comments every 15 s keep proxies from closing the connection."""

    async def gen():
        since = alarms_since = time.time()
        last_send = time.monotonic()
        yield "retry: 2000\n\n"
        while not await request.is_disconnected():
            rows, alarms = await asyncio.to_thread(_changed, svc, p, since, alarms_since)
            for row in rows:
                since = max(since, row.updated_at)
                data = EventSummary(**summary(row, [])).model_dump_json()
                yield f"event: event\nid: {row.event_id}.{row.revision}\ndata: {data}\n\n"
                last_send = time.monotonic()
            for alarm in alarms:
                alarms_since = max(alarms_since, alarm.updated_at)
                yield f"event: alarm\nid: alarm-{alarm.id}.{alarm.version}\ndata: {alarm_out(alarm).model_dump_json()}\n\n"
                last_send = time.monotonic()
            if time.monotonic() - last_send > KEEPALIVE_S:
                yield ": keepalive\n\n"
                last_send = time.monotonic()
            await asyncio.sleep(POLL_S)

    return StreamingResponse(gen(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
