"""Prometheus metrics of this process, served at /metrics. One registry per process so tests
that run several services side by side do not share counters."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.messages = Counter(
            "gridwatch_ingest_messages", "MQTT messages handled, by kind and outcome", ["kind", "outcome"], registry=r
        )
        self.dead_letters = Counter(
            "gridwatch_ingest_dead_letters", "Messages refused into the dead-letter table", ["reason"], registry=r
        )
        self.batch_seconds = Histogram(
            "gridwatch_ingest_batch_seconds",
            "Time to validate and commit one batch",
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=r,
        )
        self.ingest_connected = Gauge(
            "gridwatch_ingest_connected", "1 while the ingest worker is connected", ["worker"], registry=r
        )
        self.uploads = Counter("gridwatch_uploads", "Media uploads by outcome", ["outcome"], registry=r)
        self.upload_bytes = Counter("gridwatch_upload_bytes", "Bytes of media stored", registry=r)
        self.http_requests = Counter(
            "gridwatch_http_requests", "API requests by method and status class", ["method", "status"], registry=r
        )
        self.media_deleted = Counter("gridwatch_media_deleted", "Media removed by the retention sweep", registry=r)
