"""Telemetry and event counts as time series, behind one small interface with two backends.

Schema (FIELD_NOTES §6): measurements `node_health`, `camera_health` and `events`; tags are
the low-cardinality identity (site, node, camera, building, type); values and high-cardinality
ids (event_id) are fields.

- `EmbeddedTimeSeries`: a SQLite file of its own (telemetry must never contend with event
  commits), raw points kept `raw_retention_days`, then folded into `rollup_s` buckets.
- `InfluxTimeSeries`: InfluxDB 2.x through influxdb-client's batching WriteApi, read with Flux.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal, Protocol

from cloud.config import EmbeddedTimeseriesConfig, InfluxConfig, TimeseriesConfig

log = logging.getLogger(__name__)

TAGS = ("site", "node", "camera", "building", "type")
MEASUREMENTS = ("node_health", "camera_health", "events", "alarms")
Agg = Literal["mean", "sum", "max", "last"]
FieldValue = float | int | bool | str


@dataclass
class Point:
    measurement: str
    at: float
    tags: dict[str, str] = field(default_factory=dict)
    fields: dict[str, FieldValue] = field(default_factory=dict)


class TimeSeries(Protocol):
    def write(self, points: list[Point]) -> None: ...

    def query(
        self,
        measurement: str,
        field_name: str,
        start: float,
        stop: float,
        every_s: int,
        agg: Agg = "mean",
        tags: dict[str, str] | None = None,
    ) -> list[tuple[float, float]]:
        """[(bucket start epoch s, value)] for buckets that have data, oldest first."""
        ...

    def maintain(self, now: float | None = None) -> None: ...

    def close(self) -> None: ...


_SCHEMA = """
CREATE TABLE IF NOT EXISTS points (
    measurement TEXT NOT NULL,
    at REAL NOT NULL,
    res INTEGER NOT NULL DEFAULT 0,          -- 0 raw, else the rollup bucket width in s
    site TEXT, node TEXT, camera TEXT, building TEXT, type TEXT,
    fields TEXT NOT NULL                     -- JSON object
);
CREATE INDEX IF NOT EXISTS ix_points_m_at ON points (measurement, at);
CREATE INDEX IF NOT EXISTS ix_points_res_at ON points (res, at);
"""

_SQL_AGG = {"mean": "AVG", "sum": "SUM", "max": "MAX", "last": "MAX"}


class EmbeddedTimeSeries:
    """SQLite time series; thread-safe through one connection and a lock (writes are batched)."""

    def __init__(self, cfg: EmbeddedTimeseriesConfig) -> None:
        assert cfg.path is not None, "resolve the config first"
        self.cfg = cfg
        cfg.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(cfg.path), check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        self._db.execute("PRAGMA journal_mode=WAL")
        # Telemetry is sampled data: losing the last second to a power cut is acceptable.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def write(self, points: list[Point]) -> None:
        if not points:
            return
        rows = [
            (p.measurement, p.at, *(p.tags.get(t) for t in TAGS), json.dumps(p.fields, separators=(",", ":")))
            for p in points
        ]
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT INTO points (measurement, at, site, node, camera, building, type, fields)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            self._db.execute("COMMIT")

    def query(
        self,
        measurement: str,
        field_name: str,
        start: float,
        stop: float,
        every_s: int,
        agg: Agg = "mean",
        tags: dict[str, str] | None = None,
    ) -> list[tuple[float, float]]:
        where = ["measurement = ?", "at >= ?", "at < ?"]
        args: list[object] = [measurement, start, stop]
        for key, value in (tags or {}).items():
            if key not in TAGS:
                raise ValueError(f"unknown tag {key!r}; tags are {', '.join(TAGS)}")
            where.append(f"{key} = ?")
            args.append(value)
        path = "$." + field_name.replace('"', "")
        # Rollups of counts hold sums, of gauges means: both aggregate correctly with `agg`.
        sql = (
            f"SELECT CAST(at / ? AS INTEGER) * ? AS b, {_SQL_AGG[agg]}(json_extract(fields, ?)) FROM points"
            f" WHERE {' AND '.join(where)} GROUP BY b HAVING COUNT(json_extract(fields, ?)) > 0 ORDER BY b"
        )
        with self._lock:
            rows = self._db.execute(sql, [every_s, every_s, path, *args, path]).fetchall()
        return [(float(b), float(v)) for b, v in rows if v is not None]

    def maintain(self, now: float | None = None) -> None:
        """Fold raw points older than the raw retention into rollups; drop expired rollups."""
        now = time.time() if now is None else now
        cut = now - self.cfg.raw_retention_days * 86400
        width = self.cfg.rollup_s
        cut = cut - cut % width  # only whole buckets, so a bucket is never rolled up twice
        with self._lock:
            rows = self._db.execute(
                "SELECT measurement, at, site, node, camera, building, type, fields FROM points"
                " WHERE res = 0 AND at < ?",
                (cut,),
            ).fetchall()
            groups: dict[tuple, list[dict]] = defaultdict(list)
            for m, at, *tags, fields in rows:
                groups[(m, int(at // width) * width, *tags)].append(json.loads(fields))
            out = []
            for (m, bucket, *tags), items in groups.items():
                out.append((m, float(bucket), width, *tags, json.dumps(_fold(m, items), separators=(",", ":"))))
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT INTO points (measurement, at, res, site, node, camera, building, type, fields)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                out,
            )
            self._db.execute("DELETE FROM points WHERE res = 0 AND at < ?", (cut,))
            self._db.execute(
                "DELETE FROM points WHERE res > 0 AND at < ?", (now - self.cfg.rollup_retention_days * 86400,)
            )
            self._db.execute("COMMIT")
        if rows:
            log.info("time series: folded %d raw points into %d rollups", len(rows), len(out))

    def count(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM points").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _fold(measurement: str, items: list[dict]) -> dict[str, FieldValue]:
    """One rollup: counts are summed, numbers averaged, the rest (ids, text) dropped."""
    numeric: dict[str, list[float]] = defaultdict(list)
    for item in items:
        for key, value in item.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                numeric[key].append(float(value))
            elif isinstance(value, bool):
                numeric[key].append(1.0 if value else 0.0)
    return {k: (sum(v) if k == "count" else sum(v) / len(v)) for k, v in numeric.items()}


class InfluxTimeSeries:
    """InfluxDB 2.x (or 1.8's v2 API). Writes go through the batching WriteApi; its retries
    cover short outages, and what it cannot write after `max_retries` is logged and dropped:
    telemetry is sampled data, events themselves live in the relational store."""

    def __init__(self, cfg: InfluxConfig) -> None:
        from influxdb_client import InfluxDBClient, WriteOptions

        self.cfg = cfg
        self.client = InfluxDBClient(url=cfg.url, token=cfg.token.get_secret_value(), org=cfg.org, timeout=10_000)
        self.writer = self.client.write_api(
            write_options=WriteOptions(batch_size=cfg.batch_size, flush_interval=cfg.flush_interval_ms)
        )

    def write(self, points: list[Point]) -> None:
        if points:
            self.writer.write(bucket=self.cfg.bucket, record=[line_protocol(p) for p in points])

    def query(
        self,
        measurement: str,
        field_name: str,
        start: float,
        stop: float,
        every_s: int,
        agg: Agg = "mean",
        tags: dict[str, str] | None = None,
    ) -> list[tuple[float, float]]:
        filters = [f'r._measurement == "{_flux_str(measurement)}"', f'r._field == "{_flux_str(field_name)}"']
        for key, value in (tags or {}).items():
            if key not in TAGS:
                raise ValueError(f"unknown tag {key!r}; tags are {', '.join(TAGS)}")
            filters.append(f'r.{key} == "{_flux_str(value)}"')
        flux = (
            f'from(bucket: "{_flux_str(self.cfg.bucket)}")'
            f" |> range(start: {_rfc3339(start)}, stop: {_rfc3339(stop)})"
            f" |> filter(fn: (r) => {' and '.join(filters)})"
            f" |> group()"
            f' |> aggregateWindow(every: {every_s}s, fn: {agg}, createEmpty: false, timeSrc: "_start")'
        )
        out = []
        for table in self.client.query_api().query(flux, org=self.cfg.org):
            for rec in table.records:
                out.append((rec.get_time().timestamp(), float(rec.get_value())))
        return sorted(out)

    def maintain(self, now: float | None = None) -> None:
        """Retention and downsampling are the bucket's retention policy and InfluxDB tasks."""

    def close(self) -> None:
        # The only way to send what is still batched: influxdb-client's WriteApi.flush() is a no-op.
        self.writer.close()
        self.client.close()


def _escape_tag(value: str) -> str:
    return value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


def _field(value: FieldValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value}i"
    if isinstance(value, float):
        return repr(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def line_protocol(p: Point) -> str:
    """One InfluxDB line: pre-built lines write ~40 % faster than Point objects (FIELD_NOTES §6)."""
    tags = "".join(f",{k}={_escape_tag(v)}" for k, v in sorted(p.tags.items()) if v)
    fields = ",".join(f"{_escape_tag(k)}={_field(v)}" for k, v in p.fields.items())
    return f"{_escape_tag(p.measurement)}{tags} {fields} {int(p.at * 1e9)}"


def _flux_str(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _rfc3339(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat().replace("+00:00", "Z")


def open_timeseries(cfg: TimeseriesConfig) -> TimeSeries:
    if cfg.backend == "influxdb":
        assert cfg.influxdb is not None
        return InfluxTimeSeries(cfg.influxdb)
    return EmbeddedTimeSeries(cfg.embedded)
