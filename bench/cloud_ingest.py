"""Cloud ingest benchmark: events/s and telemetry points/s per ingest worker on the default
store (SQLite + embedded time series), and how long after the broker delivers an event it is
visible through the API, under load.

Run: `make bench-cloud` (writes the section into docs/BENCHMARKS.md). The cloud runs as
`gridwatch-cloud serve --workers 1` in its own process, as deployed; 20 simulated nodes
publish through a private Mosquitto with the registry's credentials. Rates are wall-clock
over the whole burst (first publish to last acknowledgement), so they include MQTT both
ways; the store-only rate runs `Ingestor.store` in this process for comparison.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
import psutil
import yaml
from paho.mqtt.enums import CallbackAPIVersion
from report import commit, write_section

from cloud.auth import Role, create_user
from cloud.config import CloudConfig
from cloud.db import Database
from cloud.fleet import Fleet, SimNode, make_event
from cloud.ingest import Incoming
from cloud.registry import add_node, mosquitto_files
from cloud.service import CloudService
from edge.devbroker import DevBroker, free_port

ROOT = Path(__file__).resolve().parent.parent
CLOUD_PW = "bench-cloud-pw"
NODES = 20


class Stack:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.broker = DevBroker(tmp / "broker", {})
        self.cfg = CloudConfig.model_validate(
            {"data_dir": "cloud", "broker": {"port": self.broker.port, "username": "cloud", "password": CLOUD_PW}}
        ).resolved(tmp)
        self.db = Database(self.cfg.database_url or "")
        self.db.migrate()
        self.creds = [add_node(self.db, f"sim-{i:02d}", "bench") for i in range(NODES)]
        create_user(self.db, "bench", "bench-password", Role.admin)
        self.broker.auth_files = mosquitto_files(self.db, {"cloud": CLOUD_PW}, "gridwatch")
        self.broker.start()
        self.port = free_port()
        conf = tmp / "cloud.yaml"
        conf.write_text(yaml.safe_dump({
            "data_dir": str(self.cfg.data_dir),
            "broker": {"port": self.broker.port, "username": "cloud", "password": CLOUD_PW},
            "http": {"port": self.port}, "ingest": {"workers": 1},
        }))  # fmt: skip
        self.log = (tmp / "cloud.log").open("wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "cloud.cli", "serve", "-c", str(conf)],
                                     stdout=self.log, stderr=self.log)  # fmt: skip
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/api/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        token = httpx.post(f"{self.url}/api/auth/login", json={"username": "bench", "password": "bench-password"})
        self.auth = {"Authorization": f"Bearer {token.json()['token']}"}
        self.ps = psutil.Process(self.proc.pid)

    def fleet(self) -> Fleet:
        fleet = Fleet([SimNode("bench", c.node_id, c.mqtt_password, self.broker.port) for c in self.creds])
        fleet.connect()
        return fleet

    def cpu(self) -> float:
        t = self.ps.cpu_times()
        return t.user + t.system

    def points(self) -> int:
        with sqlite3.connect(str(self.cfg.timeseries.embedded.path)) as c:
            return c.execute("SELECT COUNT(*) FROM points WHERE measurement != 'events'").fetchone()[0]

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)
        self.broker.stop()
        self.db.dispose()


def bench_events(stack: Stack, per_node: int) -> dict:
    fleet = stack.fleet()
    cpu0, t0 = stack.cpu(), time.perf_counter()
    sent = fleet.burst(per_node)
    t_published = time.perf_counter() - t0
    ok = fleet.wait_acked(300, resend_after_s=60)
    wall = time.perf_counter() - t0
    cpu = stack.cpu() - cpu0
    fleet.close()
    return {"events": len(sent), "all_acked": ok, "wall_s": wall, "publish_s": t_published,
            "events_per_s": len(sent) / wall, "events_per_cpu_s": len(sent) / cpu}  # fmt: skip


def bench_telemetry(stack: Stack, per_node: int, cameras: int) -> dict:
    fleet = stack.fleet()
    before = stack.points()
    expected = NODES * per_node * (1 + cameras)
    cpu0, t0 = stack.cpu(), time.perf_counter()
    threads = [threading.Thread(target=n.publish_telemetry, args=(per_node, cameras)) for n in fleet.nodes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    last, stable_since = -1, time.perf_counter()
    while time.perf_counter() - stable_since < 2.0:  # QoS 0: stop when the count stops growing
        now = stack.points() - before
        if now != last:
            last, stable_since, t_last = now, time.perf_counter(), time.perf_counter()
        if now >= expected:
            break
        time.sleep(0.05)
    wall = t_last - t0
    cpu = stack.cpu() - cpu0
    fleet.close()
    return {"points": last, "expected": expected, "wall_s": wall, "points_per_s": last / wall,
            "points_per_cpu_s": last / cpu}  # fmt: skip


def bench_latency(stack: Stack, rate: float, seconds: float) -> dict:
    """Background load at `rate` events/s. A plain subscriber notes when the broker delivers
    each event; one client polls `GET /api/events?limit=100` back to back, as a console would,
    and notes when each event first appears. Latency = appeared - delivered, for every event;
    the poll's own round trip (a few ms) is part of the figure."""
    delivered: dict[str, float] = {}
    seen: dict[str, float] = {}
    probe = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-probe", protocol=mqtt.MQTTv5)
    probe.username_pw_set("cloud", CLOUD_PW)
    ready = threading.Event()
    probe.on_connect = lambda c, *a: c.subscribe("gridwatch/+/+/event", qos=0)
    probe.on_subscribe = lambda *a: ready.set()
    probe.on_message = lambda c, u, m: delivered.setdefault(json.loads(m.payload)["event_id"], time.perf_counter())
    probe.connect("127.0.0.1", stack.broker.port)
    probe.loop_start()
    ready.wait(10)
    fleet = stack.fleet()
    stop = threading.Event()
    polls: list[float] = []

    def poll() -> None:
        with httpx.Client(headers=stack.auth, timeout=5) as http:
            while not stop.is_set():
                t = time.perf_counter()
                items = http.get(f"{stack.url}/api/events", params={"limit": 100}).json()["items"]
                now = time.perf_counter()
                polls.append(now - t)
                for item in items:
                    seen.setdefault(item["event_id"], now)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    n_total = int(rate * seconds)
    t0 = time.perf_counter()
    for i in range(n_total):
        node = fleet.nodes[i % NODES]
        e = make_event("bench", node.node, i)
        payload = e.model_dump_json()
        with node.lock:
            node.pending[e.event_id] = payload
        node.client.publish(node.topics.event, payload, qos=1)
        delay = t0 + (i + 1) / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
    fleet.wait_acked(60, resend_after_s=60)
    time.sleep(0.5)
    stop.set()
    poller.join(10)
    fleet.close()
    probe.loop_stop()
    probe.disconnect()
    latencies = sorted(seen[k] - delivered[k] for k in seen if k in delivered)
    q = statistics.quantiles(latencies, n=100)
    return {"rate": rate, "seconds": seconds, "samples": len(latencies), "of": n_total,
            "p50_ms": 1000 * q[49], "p99_ms": 1000 * q[98], "max_ms": 1000 * latencies[-1],
            "poll_ms": 1000 * statistics.median(polls)}  # fmt: skip


def bench_store_only(n: int, batch: int) -> dict:
    """The database share alone: Ingestor.store on batches, no MQTT, in this process."""
    with tempfile.TemporaryDirectory() as tmp:
        cfg = CloudConfig(ingest={"workers": 0}).resolved(Path(tmp))
        svc = CloudService(cfg)
        add_node(svc.db, "sim-00", "bench")
        msgs = [Incoming("gridwatch/bench/sim-00/event", make_event("bench", "sim-00", i).model_dump_json().encode())
                for i in range(n)]  # fmt: skip
        t0 = time.perf_counter()
        for i in range(0, n, batch):
            svc.ingestor.store(msgs[i : i + batch])
        wall = time.perf_counter() - t0
        svc.stop()
    return {"events": n, "batch": batch, "events_per_s": n / wall}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-node", type=int, default=1000, help="events per simulated node (20 nodes)")
    parser.add_argument("--telemetry-per-node", type=int, default=500)
    parser.add_argument("--cameras", type=int, default=4)
    parser.add_argument("--latency-rate", type=float, default=1000.0)
    parser.add_argument("--latency-seconds", type=float, default=10.0)
    parser.add_argument("--runs", type=int, default=3, help="repeat each measurement; the median run is reported")
    parser.add_argument("--write", action="store_true", help="update docs/BENCHMARKS.md")
    args = parser.parse_args()
    store = _median([bench_store_only(20_000, 500) for _ in range(args.runs)], "events_per_s")
    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack(Path(tmp))
        try:
            events = _median([bench_events(stack, args.per_node) for _ in range(args.runs)], "events_per_s")
            telemetry = _median(
                [bench_telemetry(stack, args.telemetry_per_node, args.cameras) for _ in range(args.runs)],
                "points_per_s",
            )
            latency = _median(
                [bench_latency(stack, args.latency_rate, args.latency_seconds) for _ in range(args.runs)], "p99_ms"
            )
        finally:
            stack.close()
    results = {"store_only": store, "events": events, "telemetry": telemetry, "latency": latency}
    print(json.dumps(results, indent=1))
    if args.write:
        write_doc(results, args)


def _median(runs: list[dict], key: str) -> dict:
    """The run with the median `key`, plus the spread of `key` over all runs (machines here are noisy)."""
    ordered = sorted(runs, key=lambda r: r[key])
    out = dict(ordered[len(ordered) // 2])
    out["spread"] = f"{ordered[0][key]:,.0f}-{ordered[-1][key]:,.0f} over {len(runs)} runs"
    return out


def _verdict(value: float, target: float, higher_is_better: bool = True) -> str:
    met = value >= target if higher_is_better else value <= target
    return "met" if met else "**not met**"


def write_doc(r: dict, args: argparse.Namespace) -> None:
    cpu = platform.processor() or platform.machine()
    e, t, lat, s = r["events"], r["telemetry"], r["latency"], r["store_only"]
    text = f"""## Cloud ingest (`make bench-cloud`)

Commit `{commit()}`, {cpu}, {os.cpu_count()} cores, Python {platform.python_version()}; one ingest
worker (`gridwatch-cloud serve --workers 1`), default store (SQLite WAL, synchronous=FULL; embedded
time series), the alerting engine running with its default rules (every `test` event raises or
joins an info alarm), private Mosquitto; 20 simulated nodes publishing from the benchmark process on the
same machine, so publishers, broker and cloud share the {os.cpu_count()} cores.

| what | measured | target | |
|---|---|---|---|
| events, {e["events"]} in one burst, first publish to last ack | {e["events_per_s"]:,.0f} events/s ({e["events_per_cpu_s"]:,.0f} per cloud CPU-s; {e["spread"]}) | >= 5,000 events/s | {_verdict(e["events_per_s"], 5000)} |
| events, store only (`Ingestor.store`, batches of {s["batch"]}, no MQTT) | {s["events_per_s"]:,.0f} events/s ({s["spread"]}) | | |
| telemetry, {t["expected"]:,} points ({args.cameras} cameras + node per message) | {t["points_per_s"]:,.0f} points/s ({t["points_per_cpu_s"]:,.0f} per cloud CPU-s), {t["points"]:,} stored; {t["spread"]} | >= 20,000 points/s | {_verdict(t["points_per_s"], 20000)} |
| event visible via `GET /api/events/{{id}}` after broker delivery, at {lat["rate"]:.0f} events/s | p50 {lat["p50_ms"]:.0f} ms, p99 {lat["p99_ms"]:.0f} ms ({lat["samples"]:,} events; one list poll takes {lat["poll_ms"]:.0f} ms; p99 {lat["spread"]}) | p99 <= 200 ms | {_verdict(lat["p99_ms"], 200, False)} |
"""
    write_section("Cloud ingest", text)


if __name__ == "__main__":
    main()
