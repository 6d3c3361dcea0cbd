"""Where a node's events go: committed to the outbox, then published; media queued for upload.

A full disk must not lose an event silently: a revision that cannot be committed is kept
in memory, retried, and reported loudly in the node status and the log until it lands.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

from contract import Event, MediaRef
from edge.outbox import Outbox

log = logging.getLogger(__name__)


class EventStore:
    def __init__(self, outbox: Outbox, media_dir: Path, wake: Callable[[], None] = lambda: None) -> None:
        self.outbox = outbox
        self.media_dir = media_dir
        self.wake = wake
        self._unstored: list[Event] = []
        self._lock = threading.Lock()

    @property
    def disk_full(self) -> bool:
        return bool(self._unstored)

    def publish(self, event: Event) -> None:
        with self._lock:
            self._unstored.append(event)
            self._flush_locked()
        self.wake()

    def retry(self) -> None:
        """Called periodically: store what a full disk held back."""
        with self._lock:
            self._flush_locked()
        self.wake()

    def _flush_locked(self) -> None:
        while self._unstored:
            event = self._unstored[0]
            try:
                self.outbox.put(event.event_id, event.revision, event.model_dump_json())
            except sqlite3.OperationalError as exc:
                log.critical(
                    "CANNOT STORE EVENT %s r%d (%s): %d event revision(s) held in memory; free disk space on %s",
                    event.event_id,
                    event.revision,
                    exc,
                    len(self._unstored),
                    self.outbox.path.parent,
                )
                return
            self._unstored.pop(0)

    def upload(self, event_id: str, ref: MediaRef, path: Path) -> None:
        self.outbox.add_upload(f"api/uploads/{event_id}/{ref.filename}", path, ref.sha256, ref.content_type)
