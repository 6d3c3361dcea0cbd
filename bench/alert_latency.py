"""Alert latency: from an event's arrival at the cloud (the ingest's `received_at`) to the
channel's receipt of the message (a local WeCom-format receiver; the vendor's own cloud is
excluded, as the issue says), p50 and p99.

Run: `make bench-alert` (writes the section into docs/BENCHMARKS.md). The cloud runs as
`gridwatch-cloud serve` in its own process with the default store (SQLite); one simulated node
publishes thrown-object events through a private Mosquitto at a steady rate, each from its own
camera so that none folds into another's alarm. The receiver's per-minute limit is raised so
that the figure is the pipeline's, not the rate limiter's (which would fold the overflow into
a digest by design).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from report import commit, write_section

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from receivers import Receiver  # noqa: E402  (the same receiver the tests check payloads with)

from cloud.config import CloudConfig  # noqa: E402
from cloud.db import Database  # noqa: E402
from cloud.fleet import SimNode  # noqa: E402
from cloud.registry import add_node, mosquitto_files  # noqa: E402
from contract import EventType, Origin, ThrownDetails  # noqa: E402
from contract.models import Event, new_event_id, utcnow  # noqa: E402
from edge.devbroker import DevBroker, free_port  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CLOUD_PW = "bench-cloud-pw"
EVENT_ID = re.compile(r"/events/([0-9A-Z]{26})")


def run(tmp: Path, n: int, rate: float) -> dict:
    wecom = Receiver()
    broker = DevBroker(tmp / "broker", {})
    cfg = CloudConfig.model_validate(
        {"data_dir": "cloud", "broker": {"port": broker.port, "username": "cloud", "password": CLOUD_PW}}
    ).resolved(tmp)
    db = Database(cfg.database_url or "")
    db.migrate()
    cred = add_node(db, "edge-1", "bench")
    broker.auth_files = mosquitto_files(db, {"cloud": CLOUD_PW}, "gridwatch")
    broker.start()
    rules = tmp / "alerting.yaml"
    rules.write_text(json.dumps({
        "channels": {"grid": {"type": "wecom", "key": "K", "url": f"{wecom.url}/send", "per_minute": 600}},
        "people": {"w": {"name": "网格员", "mobile": "13800000001", "channels": ["grid"]}},
        "grids": [{"id": "g1", "buildings": ["bench/7"], "workers": [{"person": "w"}]}],
    }, ensure_ascii=False))  # fmt: skip
    port = free_port()
    conf = tmp / "cloud.yaml"
    conf.write_text(yaml.safe_dump({
        "data_dir": str(cfg.data_dir), "http": {"port": port}, "ingest": {"workers": 1},
        "broker": {"port": broker.port, "username": "cloud", "password": CLOUD_PW},
        "alerting": {"rules_file": str(rules)},
    }))  # fmt: skip
    log = (tmp / "cloud.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "cloud.cli", "serve", "-c", str(conf)], stdout=log, stderr=log)
    node = SimNode("bench", "edge-1", cred.mqtt_password, broker.port)
    try:
        time.sleep(3)  # the service subscribes
        node.connect()
        for i in range(n):
            e = Event(event_id=new_event_id(), type=EventType.thrown_object, site="bench", node="edge-1",
                      camera=f"cam{i}", building="7", started_at=utcnow(), confidence=0.9,
                      thrown=ThrownDetails(origin=Origin(x=1, y=2, floor=9, unit="01")))  # fmt: skip
            node.client.publish(node.topics.event, e.model_dump_json(), qos=1)
            time.sleep(1 / rate)
        deadline = time.monotonic() + 60
        while len(wecom.got()) < n and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        node.close()
        proc.terminate()
        proc.wait(10)
        broker.stop()
        wecom.close()
    got = {EVENT_ID.search(r.json()["text"]["content"]).group(1): r.at for r in wecom.got()}
    with sqlite3.connect(str(cfg.data_dir / "gridwatch.sqlite")) as c:
        arrived = dict(c.execute("SELECT event_id, received_at FROM events").fetchall())
    db.dispose()
    lat = sorted((got[k] - arrived[k]) * 1000 for k in got if k in arrived)
    if not lat:
        raise SystemExit(f"no message arrived; see {tmp / 'cloud.log'}")
    return {
        "events": n,
        "delivered": len(lat),
        "rate": rate,
        "p50_ms": statistics.median(lat),
        "p99_ms": lat[min(len(lat) - 1, int(0.99 * len(lat)))],
        "max_ms": lat[-1],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--events", type=int, default=300)
    ap.add_argument("--rate", type=float, default=10.0, help="events per second")
    ap.add_argument("--write", action="store_true", help="write the result into docs/BENCHMARKS.md")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        r = run(Path(tmp), args.events, args.rate)
    print(json.dumps(r, indent=1))
    if args.write:
        met = "met" if r["p99_ms"] <= 1000 else "**not met**"
        write_section(
            "Alert latency",
            f"""## Alert latency (`make bench-alert`)

Commit `{commit()}`, {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python
{platform.python_version()}; `gridwatch-cloud serve` (one ingest worker, alerting engine, SQLite), a private
Mosquitto, one simulated node publishing {r["events"]} thrown-object events at {r["rate"]:.0f}/s, each from
its own camera; a local WeCom-format receiver (the vendor's cloud excluded). Latency runs from the
event's `received_at` in the cloud to the receiver's receipt of the message.

| what | measured | target | |
|---|---|---|---|
| event arrival -> WeCom message ({r["delivered"]}/{r["events"]} delivered) | p50 {r["p50_ms"]:.0f} ms, p99 {r["p99_ms"]:.0f} ms, max {r["max_ms"]:.0f} ms | p99 <= 1 s | {met} |
""",
        )


if __name__ == "__main__":
    main()
