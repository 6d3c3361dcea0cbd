"""Clips and snapshots go to the cloud by HTTP PUT with the node's token, retried until accepted."""

from __future__ import annotations

import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml
from conftest import site_config, wait_for

from edge.agent import Agent
from edge.config import load_config


class Receiver(BaseHTTPRequestHandler):
    """Accepts PUTs with the right token and a body matching X-Content-SHA256; fails the first N."""

    token = "node-token"
    fail_first = 2
    received: dict[str, bytes] = {}
    attempts = 0

    def do_PUT(self) -> None:  # noqa: N802
        cls = type(self)
        cls.attempts += 1
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Authorization") != f"Bearer {cls.token}":
            self.send_response(401)
        elif cls.attempts <= cls.fail_first:
            self.send_response(503)
        elif hashlib.sha256(body).hexdigest() != self.headers.get("X-Content-SHA256"):
            self.send_response(422)
        else:
            cls.received[self.path] = body
            self.send_response(201)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def test_uploads_retry_until_the_cloud_accepts(tmp_path: Path, broker, cloud, sample_mp4, monkeypatch) -> None:
    monkeypatch.setattr("edge.uploader.RETRY_START_S", 0.2)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    cfg_path = site_config(tmp_path, broker, str(sample_mp4))
    raw = yaml.safe_load(cfg_path.read_text())
    raw["cloud"].update(upload_url=f"http://127.0.0.1:{server.server_port}", token="${NODE_TOKEN}")
    cfg_path.write_text(yaml.safe_dump(raw))
    monkeypatch.setenv("NODE_TOKEN", "node-token")
    agent = Agent(load_config(cfg_path))
    agent.start()
    try:
        cam = agent.cameras["cam1"]
        wait_for(lambda: cam.stats.frames_processed > 10, what="frames")
        event_id = cam.raise_test_event("upload drill")
        event = wait_for(lambda: [e for e in cloud.events if e["event_id"] == event_id and e.get("clip")], what="clip")[
            0
        ]
        wait_for(lambda: len(Receiver.received) == 2, timeout=30, what="both files uploaded")
        clip = Receiver.received[f"/api/uploads/{event_id}/clip.mp4"]
        snap = Receiver.received[f"/api/uploads/{event_id}/snapshot.jpg"]
        assert hashlib.sha256(clip).hexdigest() == event["clip"]["sha256"]
        assert hashlib.sha256(snap).hexdigest() == event["snapshot"]["sha256"]
        assert Receiver.attempts >= 4  # two refusals were retried
        wait_for(lambda: agent.outbox.uploads_pending() == 0, what="upload queue empty")
    finally:
        agent.stop()
        server.shutdown()
