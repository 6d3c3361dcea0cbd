"""The whole path: edge agent on sample footage -> Mosquitto -> `gridwatch-cloud serve` ->
event row, time-series point, clip with a matching hash, ack back -> the edge outbox empties;
the clip then plays through the API with Range requests."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import httpx
import yaml
from conftest import CloudEnv, CloudProcess, admin_token, site_config, wait_for
from sqlalchemy import select

from cloud.db import EventRow, Media
from cloud.timeseries import EmbeddedTimeSeries
from edge.agent import Agent
from edge.config import load_config


def test_edge_to_cloud_and_back(tmp_path: Path, cloud_env: CloudEnv, sample_mp4: Path, monkeypatch) -> None:
    monkeypatch.setattr("edge.uploader.RETRY_START_S", 0.3)  # the clip may reach HTTP before MQTT
    cloud = CloudProcess(cloud_env).start()
    creds = cloud_env.nodes["edge-1"]
    cfg_path = site_config(tmp_path, cloud_env.broker, str(sample_mp4))
    raw = yaml.safe_load(cfg_path.read_text())
    raw["broker"]["password"] = "${MQTT_PASSWORD}"
    raw["cloud"].update(upload_url=cloud.url, token="${GRIDWATCH_TOKEN}", ack_timeout_s=30)
    cfg_path.write_text(yaml.safe_dump(raw))
    monkeypatch.setenv("MQTT_PASSWORD", creds.mqtt_password)
    monkeypatch.setenv("GRIDWATCH_TOKEN", creds.upload_token)
    agent = Agent(load_config(cfg_path))
    agent.start()
    try:
        cam = agent.cameras["cam1"]
        wait_for(lambda: cam.stats.frames_processed > 10, what="frames")
        event_id = cam.raise_test_event("end-to-end drill")

        def stored_clip() -> Media | None:
            with cloud_env.db.session() as s:
                return s.scalar(select(Media).where(Media.event_id == event_id, Media.kind == "clip"))

        clip = wait_for(stored_clip, 60, "clip stored in the cloud")
        with cloud_env.db.session() as s:
            row = s.get(EventRow, event_id)
        event = json.loads(row.payload)
        assert row.node == "edge-1" and row.type == "test" and event["clip"]["sha256"] == clip.sha256
        stored = cloud_env.cfg.data_dir / "media" / clip.key
        assert hashlib.sha256(stored.read_bytes()).hexdigest() == clip.sha256
        # every revision acknowledged: the node forgets the event and its uploads
        wait_for(lambda: agent.outbox.pending() == 0 and agent.outbox.uploads_pending() == 0, 30, "outbox empty")
        series = EmbeddedTimeSeries(cloud_env.cfg.timeseries.embedded)
        counted = series.query("events", "count", 0, 2e9, 86400, "sum", {"node": "edge-1", "type": "test"})
        assert sum(v for _, v in counted) == 1
        agent.publish_telemetry()  # run_forever does this every telemetry_interval_s
        wait_for(lambda: series.query("node_health", "cpu_percent", 0, 2e9, 86400), 10, "telemetry point")
        series.close()

        token = admin_token(cloud_env, cloud.url)
        auth = {"Authorization": f"Bearer {token}"}
        detail = httpx.get(f"{cloud.url}/api/events/{event_id}", headers=auth).json()
        assert detail["clip_url"] and detail["snapshot_url"] and detail["event"]["note"] == "end-to-end drill"
        url = cloud.url + detail["clip_url"]
        whole = httpx.get(url, headers=auth)
        assert whole.status_code == 200 and whole.headers["content-type"] == "video/mp4"
        assert whole.headers["accept-ranges"] == "bytes"
        assert hashlib.sha256(whole.content).hexdigest() == clip.sha256
        part = httpx.get(url, headers={**auth, "Range": "bytes=100-1099"})
        assert part.status_code == 206 and part.content == whole.content[100:1100]
        assert part.headers["content-range"] == f"bytes 100-1099/{len(whole.content)}"
        tail = httpx.get(url, headers={**auth, "Range": "bytes=-500"})
        assert tail.status_code == 206 and tail.content == whole.content[-500:]
        assert httpx.get(url).status_code == 401, "clips are not public"
    finally:
        agent.stop()
        cloud.stop()
