"""The cloud service of one process: database, time series, media store, ingest workers and
(in `serve`) the HTTP API, started and stopped together."""

from __future__ import annotations

from cloud.alerting.engine import AlertEngine
from cloud.config import CloudConfig
from cloud.db import Database
from cloud.ingest import Ingestor, IngestWorker
from cloud.media import MediaStore, open_media_store
from cloud.metrics import Metrics
from cloud.retention import sweep
from cloud.timeseries import TimeSeries, open_timeseries
from contract import Command, Topics


class CloudService:
    def __init__(self, cfg: CloudConfig) -> None:
        self.cfg = cfg
        self.db = Database(cfg.database_url or "")
        self.db.migrate()
        self.metrics = Metrics()
        self.ts: TimeSeries = open_timeseries(cfg.timeseries)
        self.media: MediaStore = open_media_store(cfg.media, cfg.data_dir)
        self.ingestor = Ingestor(cfg, self.db, self.ts, self.metrics)
        self.workers: list[IngestWorker] = []
        self.alerts = AlertEngine(cfg, self.db, self.media, self.ts)

    def start_alerting(self) -> None:
        if self.cfg.alerting.enabled:
            self.alerts.start()

    def start_ingest(self) -> None:
        for i in range(self.cfg.ingest.workers):
            worker = IngestWorker(self.cfg, self.ingestor, i, on_stored=self.alerts.wake)
            worker.start()
            self.workers.append(worker)

    def send_command(self, site: str, node: str, name: str, cmd: Command) -> None:
        """Publish a command on the node's cmd topic through a connected ingest client (the
        cloud's MQTT user may write every node's cmd topics); ConnectionError when none is."""
        worker = next((w for w in self.workers if w.connected.is_set()), None)
        if worker is None:
            raise ConnectionError("the cloud is not connected to the broker; try again in a moment")
        topic = Topics(site, node, self.cfg.broker.topic_prefix).cmd(name)
        worker.client.publish(topic, cmd.model_dump_json(exclude_none=True), qos=1)

    def sweep_media(self) -> int:
        """Run the retention sweep once and count what it deleted in the metrics."""
        deleted = sweep(self.db, self.media, self.cfg.media)
        self.metrics.media_deleted.inc(deleted)
        return deleted

    def stop(self) -> None:
        for w in self.workers:
            w.stop()
        self.workers.clear()
        self.alerts.stop()
        self.ts.close()
        self.db.dispose()
