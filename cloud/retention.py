"""The retention sweep: delete media past its site's retention, except media of events that
are still open or flagged as evidence. Rows stay (with `deleted_at`), so the audit trail
still shows what existed and its hash."""

from __future__ import annotations

import logging
import time

from sqlalchemy import select

from cloud.audit import audit
from cloud.config import MediaConfig
from cloud.db import Database, EventRow, Media
from cloud.media import MediaStore

log = logging.getLogger(__name__)


def sweep(db: Database, store: MediaStore, cfg: MediaConfig, now: float | None = None) -> int:
    now = time.time() if now is None else now
    deleted = 0
    with db.session.begin() as s:
        rows = s.execute(
            select(Media, EventRow)
            .outerjoin(EventRow, EventRow.event_id == Media.event_id)
            .where(Media.deleted_at.is_(None))
        ).all()
        for media, event in rows:
            site = event.site if event is not None else media.key.split("/", 1)[0]
            days = cfg.site_retention_days.get(site, cfg.retention_days)
            if event is not None and (event.evidence or event.phase != "end"):
                continue
            reference = event.started_at if event is not None else media.stored_at
            if now - reference < days * 86400:
                continue
            store.delete(media.key)
            media.deleted_at = now
            deleted += 1
            audit(s, "retention", "media.expire", media.key, sha256=media.sha256, days=days)
    if deleted:
        log.info("retention: deleted %d media files", deleted)
    return deleted
