"""Keep every event revision and media upload on disk until the cloud has it.

Store-and-forward: an event revision is committed here (SQLite, WAL, synchronous=FULL)
before it is published, and deleted only when the cloud's ack for it arrives. A SIGKILL
at any moment loses nothing committed; unacked revisions are published again, in order,
after a timeout and on every reconnect. Uploads of clips and snapshots are queued in the
same database with their retry state.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL,
    revision INTEGER NOT NULL,
    payload TEXT NOT NULL,
    created_at REAL NOT NULL,
    sent_at REAL,
    attempts INTEGER NOT NULL DEFAULT 0,
    UNIQUE (event_id, revision)
);
CREATE TABLE IF NOT EXISTS uploads (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    url_path TEXT NOT NULL UNIQUE,
    file TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    content_type TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_try_at REAL NOT NULL DEFAULT 0,
    last_error TEXT
);
"""


@dataclass(frozen=True)
class OutboxItem:
    seq: int
    event_id: str
    revision: int
    payload: str
    attempts: int


@dataclass(frozen=True)
class UploadItem:
    id: int
    url_path: str
    file: Path
    sha256: str
    content_type: str
    attempts: int


class Outbox:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # events -----------------------------------------------------------------
    def put(self, event_id: str, revision: int, payload: str) -> None:
        """Commit one event revision; raises sqlite3.OperationalError when the disk is full."""
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO outbox (event_id, revision, payload, created_at) VALUES (?, ?, ?, ?)",
                (event_id, revision, payload, time.time()),
            )

    def due(self, resend_after_s: float, limit: int = 100) -> list[OutboxItem]:
        """Revisions never sent, or sent more than resend_after_s ago without an ack, oldest first."""
        cutoff = time.time() - resend_after_s
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, event_id, revision, payload, attempts FROM outbox "
                "WHERE sent_at IS NULL OR sent_at < ? ORDER BY seq LIMIT ?",
                (cutoff, limit),
            ).fetchall()
        return [OutboxItem(*r) for r in rows]

    def mark_sent(self, seq: int) -> None:
        with self._lock:
            self._db.execute("UPDATE outbox SET sent_at = ?, attempts = attempts + 1 WHERE seq = ?", (time.time(), seq))

    def unsend_all(self) -> None:
        """After a reconnect: everything unacked goes out again, in order."""
        with self._lock:
            self._db.execute("UPDATE outbox SET sent_at = NULL")

    def ack(self, acked: list[tuple[str, int]]) -> int:
        """Forget the (event_id, revision) pairs the cloud stored, and older revisions of them."""
        with self._lock:
            self._db.execute("BEGIN")  # one fsync for the batch, not one per row
            try:
                cur = self._db.executemany("DELETE FROM outbox WHERE event_id = ? AND revision <= ?", acked)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return cur.rowcount

    def pending(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]

    # uploads ----------------------------------------------------------------
    def add_upload(self, url_path: str, file: Path, sha256: str, content_type: str) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO uploads (url_path, file, sha256, content_type) VALUES (?, ?, ?, ?)",
                (url_path, str(file), sha256, content_type),
            )

    def uploads_due(self, limit: int = 10) -> list[UploadItem]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, url_path, file, sha256, content_type, attempts FROM uploads "
                "WHERE next_try_at <= ? ORDER BY id LIMIT ?",
                (time.time(), limit),
            ).fetchall()
        return [UploadItem(r[0], r[1], Path(r[2]), r[3], r[4], r[5]) for r in rows]

    def upload_done(self, upload_id: int) -> None:
        with self._lock:
            self._db.execute("DELETE FROM uploads WHERE id = ?", (upload_id,))

    def upload_failed(self, upload_id: int, error: str, retry_in_s: float) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE uploads SET attempts = attempts + 1, next_try_at = ?, last_error = ? WHERE id = ?",
                (time.time() + retry_in_s, error[:500], upload_id),
            )

    def uploads_pending(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM uploads").fetchone()[0]
