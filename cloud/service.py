"""The cloud service of one process: database, time series, media store, ingest workers and
(in `serve`) the HTTP API, started and stopped together."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from cloud.config import CloudConfig
from cloud.db import Database
from cloud.ingest import BatchResult, Ingestor, IngestWorker
from cloud.media import MediaStore
from cloud.metrics import Metrics
from cloud.timeseries import TimeSeries, open_timeseries

log = logging.getLogger(__name__)


class CloudService:
    def __init__(self, cfg: CloudConfig) -> None:
        self.cfg = cfg
        self.db = Database(cfg.database_url or "")
        self.db.migrate()
        self.metrics = Metrics()
        self.ts: TimeSeries = open_timeseries(cfg.timeseries)
        self.media = MediaStore(cfg.media.local_dir or cfg.data_dir / "media")
        self.ingestor = Ingestor(cfg, self.db, self.ts, self.metrics)
        self.workers: list[IngestWorker] = []
        self._listeners: list[Callable[[BatchResult], None]] = []
        self._lock = threading.Lock()

    def add_listener(self, fn: Callable[[BatchResult], None]) -> None:
        """Called after each committed batch (in the ingest thread): keep it quick."""
        with self._lock:
            self._listeners.append(fn)

    def _stored(self, result: BatchResult) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for fn in listeners:
            try:
                fn(result)
            except Exception:
                log.exception("listener failed")

    def start_ingest(self) -> None:
        for i in range(self.cfg.ingest.workers):
            worker = IngestWorker(self.cfg, self.ingestor, i, on_stored=self._stored)
            worker.start()
            self.workers.append(worker)

    def stop(self) -> None:
        for w in self.workers:
            w.stop()
        self.workers.clear()
        self.ts.close()
        self.db.dispose()
