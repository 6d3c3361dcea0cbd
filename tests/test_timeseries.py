"""The time-series contract, run against every backend this machine has: the embedded store
always, InfluxDB 2.x when GRIDWATCH_TEST_INFLUXDB_URL (and _TOKEN, _ORG, _BUCKET) are set
(`docker compose -f docker/compose.yaml up influxdb` starts one)."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from cloud.config import EmbeddedTimeseriesConfig, InfluxConfig
from cloud.timeseries import EmbeddedTimeSeries, InfluxTimeSeries, Point, TimeSeries, line_protocol

INFLUX_URL = os.environ.get("GRIDWATCH_TEST_INFLUXDB_URL")


@pytest.fixture(params=["embedded", "influxdb"])
def ts(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TimeSeries]:
    if request.param == "embedded":
        store: TimeSeries = EmbeddedTimeSeries(EmbeddedTimeseriesConfig(path=tmp_path / "ts.sqlite"))
    else:
        if not INFLUX_URL:
            pytest.skip("set GRIDWATCH_TEST_INFLUXDB_URL (+ _TOKEN, _ORG, _BUCKET) to run against InfluxDB")
        store = InfluxTimeSeries(InfluxConfig(
            url=INFLUX_URL, token=os.environ.get("GRIDWATCH_TEST_INFLUXDB_TOKEN", ""),
            org=os.environ.get("GRIDWATCH_TEST_INFLUXDB_ORG", "gridwatch"),
            bucket=os.environ.get("GRIDWATCH_TEST_INFLUXDB_BUCKET", "gridwatch"), flush_interval_ms=50,
        ))  # fmt: skip
    yield store
    store.close()


def _flush(ts: TimeSeries) -> None:
    if isinstance(ts, InfluxTimeSeries):
        time.sleep(0.5)  # ten flush intervals: the WriteApi sends on its own timer


def test_write_and_aggregate_by_tag(ts: TimeSeries) -> None:
    node = f"n-{uuid.uuid4().hex[:8]}"  # a fresh series, so a shared InfluxDB bucket is fine
    t0 = (int(time.time()) // 600) * 600 - 1200  # aligned to every bucket width used below
    points = [Point("camera_health", t0 + i, {"site": "s", "node": node, "camera": "cam 1"},
                    {"processed_fps": float(20 + i % 2), "dropped_frames": i}) for i in range(120)]  # fmt: skip
    points += [Point("camera_health", t0 + i, {"site": "s", "node": node, "camera": "cam2"}, {"processed_fps": 5.0})
               for i in range(60)]  # fmt: skip
    points += [Point("events", t0 + 5 * i, {"site": "s", "node": node, "building": "7", "type": "smoke"},
                     {"count": 1, "event_id": f"E{i}"}) for i in range(10)]  # fmt: skip
    ts.write(points)
    _flush(ts)
    fps = ts.query("camera_health", "processed_fps", t0, t0 + 120, 60, "mean", {"node": node, "camera": "cam 1"})
    assert [round(v, 2) for _, v in fps] == [20.5, 20.5] and fps[0][0] == t0
    peak = ts.query("camera_health", "dropped_frames", t0, t0 + 120, 120, "max", {"node": node, "camera": "cam 1"})
    assert peak == [(float(t0), 119.0)]
    counts = ts.query("events", "count", t0, t0 + 600, 600, "sum", {"node": node, "type": "smoke"})
    assert sum(v for _, v in counts) == 10
    with pytest.raises(ValueError, match="unknown tag"):
        ts.query("events", "count", t0, t0 + 1, 1, "sum", {"colour": "red"})


def test_embedded_rollup_keeps_means_and_sums(tmp_path: Path) -> None:
    cfg = EmbeddedTimeseriesConfig(path=tmp_path / "ts.sqlite", raw_retention_days=1, rollup_s=300,
                                   rollup_retention_days=30)  # fmt: skip
    ts = EmbeddedTimeSeries(cfg)
    now = 1_800_000_000.0
    old = now - 3 * 86400 - (now - 3 * 86400) % 300
    ts.write(
        [Point("node_health", old + i, {"site": "s", "node": "n"}, {"cpu_percent": float(i % 10)}) for i in range(300)]
    )
    ts.write([Point("events", old + i, {"site": "s", "node": "n", "type": "fire"}, {"count": 1}) for i in range(7)])
    ts.write([Point("node_health", now - 40 * 86400, {"site": "s", "node": "n"}, {"cpu_percent": 1.0})])
    before = ts.query("node_health", "cpu_percent", old, old + 300, 300)
    ts.maintain(now)
    assert ts.query("node_health", "cpu_percent", old, old + 300, 300) == before == [(old, 4.5)]
    assert ts.query("events", "count", old, old + 300, 300, "sum") == [(old, 7.0)]
    assert ts.count() == 2, "300 + 7 raw points folded into two rollups; the 40-day-old point expired"
    ts.maintain(now)
    assert ts.count() == 2, "maintenance is idempotent"
    ts.close()


QUERY_CSV = b"""#datatype,string,long,dateTime:RFC3339,dateTime:RFC3339,dateTime:RFC3339,double,string,string
#group,false,false,true,true,false,false,true,true
#default,_result,,,,,,,
,result,table,_start,_stop,_time,_value,_field,_measurement
,,0,2026-11-21T10:00:00Z,2026-11-21T10:02:00Z,2026-11-21T10:00:00Z,20.5,processed_fps,camera_health
,,0,2026-11-21T10:00:00Z,2026-11-21T10:02:00Z,2026-11-21T10:01:00Z,21,processed_fps,camera_health

"""


def test_influxdb_requests_on_the_wire() -> None:
    """What the InfluxDB backend sends, checked at a local HTTP server (no InfluxDB can run on
    the build machines; the contract test above runs against a real one when it is set): the
    v2 write endpoint with org, bucket, nanosecond precision and the token, points batched into
    one request as line protocol, and the Flux query with its time range, filters and window."""
    from receivers import Receiver

    server = Receiver(lambda r: (204, b"") if r.path == "/api/v2/write" else (200, QUERY_CSV))
    store = InfluxTimeSeries(InfluxConfig(url=server.url, token="tok-1", org="suzhou", bucket="gw/autogen",
                                          batch_size=100, flush_interval_ms=60_000))  # fmt: skip
    try:
        first = Point("node_health", 1_700_000_000.25, {"site": "s", "node": "n1"}, {"cpu_percent": 30.0})
        second = Point("events", 1_700_000_001, {"site": "s", "node": "n1", "type": "smoke"}, {"count": 1})
        store.write([first])
        store.write([second])
        got = store.query("camera_health", "processed_fps", 1_700_000_000, 1_700_000_120, 60, "mean",
                          {"node": "n1", "camera": "cam 1"})  # fmt: skip
        assert [v for _, v in got] == [20.5, 21.0]
        (query,) = [r for r in server.got() if r.path == "/api/v2/query"]
        assert query.query == "org=suzhou" and query.headers["authorization"] == "Token tok-1"
        flux = query.json()["query"]
        assert flux.startswith('from(bucket: "gw/autogen") |> range(start: 2023-11-14T22:13:20Z, stop: ')
        assert 'r._measurement == "camera_health" and r._field == "processed_fps" and r.node == "n1"' in flux
        assert 'r.camera == "cam 1"' in flux and "aggregateWindow(every: 60s, fn: mean" in flux
        assert not [r for r in server.got() if r.path == "/api/v2/write"], "batched until the interval or close"
        store.close()
        (write,) = [r for r in server.got() if r.path == "/api/v2/write"]
        assert sorted(write.query.split("&")) == ["bucket=gw%2Fautogen", "org=suzhou", "precision=ns"]
        assert write.headers["authorization"] == "Token tok-1"
        assert write.body.decode().split("\n") == [line_protocol(first), line_protocol(second)]
    finally:
        server.close()


def test_line_protocol_escapes() -> None:
    p = Point("camera_health", 1.5, {"site": "a b", "camera": "c,d=e", "building": ""},
              {"processed_fps": 2.0, "online": True, "dropped_frames": 3, "error": 'say "hi"'})  # fmt: skip
    assert line_protocol(p) == (
        "camera_health,camera=c\\,d\\=e,site=a\\ b processed_fps=2.0,online=true,dropped_frames=3i,"
        'error="say \\"hi\\"" 1500000000'
    )
