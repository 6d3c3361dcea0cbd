"""The edge agent: all cameras of one node in one process, their events to the cloud.

Threads: per camera a reader and an analysis thread; one clip writer; one uploader; the
MQTT network thread and the outbox publisher; this module's telemetry loop.
"""

from __future__ import annotations

import logging
import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from contract import Command, CommandReply, Telemetry, Topics
from contract.models import utcnow
from edge.camera import CameraWorker
from edge.config import SiteConfig, load_config
from edge.events import EventStore
from edge.mqtt_link import MqttLink
from edge.node_health import node_health
from edge.outbox import Outbox
from edge.uploader import Uploader
from edge.yaml_source import ConfigError

log = logging.getLogger(__name__)


class Agent:
    def __init__(self, cfg: SiteConfig, config_path: Path | None = None) -> None:
        self.cfg = cfg
        self.config_path = config_path
        self.topics = Topics(cfg.site, cfg.node, cfg.broker.topic_prefix)
        cfg.data_dir.mkdir(parents=True, exist_ok=True)
        self.outbox = Outbox(cfg.data_dir / "outbox.sqlite")
        self.link = MqttLink(cfg.broker, self.topics, self.outbox, cfg.cloud.ack_timeout_s, self.handle_command)
        self.link.problems = self.problems
        self.store = EventStore(self.outbox, cfg.data_dir / "media", wake=self.link.wake)
        self.uploader = Uploader(
            self.outbox, cfg.cloud.upload_url, cfg.cloud.token.get_secret_value() if cfg.cloud.token else None
        )
        self.clip_writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="clips")
        self.cameras = {c.name: CameraWorker(c, cfg.site, cfg.node, self.store, self.clip_writer) for c in cfg.cameras}
        self._stop = threading.Event()
        self.restart_requested = False

    def problems(self) -> list[str]:
        out = []
        if self.store.disk_full:
            out.append("disk_full: events held in memory, free disk space")
        for name, cam in self.cameras.items():
            if not cam.stats.online and cam.stats.error:
                out.append(f"camera {name}: {cam.stats.error}")
        if self.uploader.last_error:
            out.append(f"uploads: {self.uploader.last_error}")
        return out

    def start(self) -> None:
        self.link.start()
        self.uploader.start()
        for cam in self.cameras.values():
            cam.start()

    def run_forever(self) -> bool:
        """Run until SIGTERM/SIGINT or a reload; True when the caller should restart us."""
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self._stop.set())
        self.start()
        last_problems: list[str] = []
        while not self._stop.wait(self.cfg.telemetry_interval_s):
            self.store.retry()
            self.publish_telemetry()
            problems = self.problems()
            if problems != last_problems and self.link.connected.is_set():
                self.link.publish_status()
                last_problems = problems
        self.stop()
        return self.restart_requested

    def stop(self) -> None:
        self._stop.set()
        for cam in self.cameras.values():
            cam.stop()
        self.clip_writer.shutdown(wait=True)
        self.uploader.stop()
        self.link.stop()
        self.outbox.close()

    def publish_telemetry(self) -> None:
        pending = self.outbox.pending()
        telemetry = Telemetry(
            site=self.cfg.site,
            node=self.cfg.node,
            at=utcnow(),
            node_health=node_health(self.cfg.data_dir, pending, self.outbox.uploads_pending()),
            cameras=[cam.health() for cam in self.cameras.values()],
        )
        self.link.publish_telemetry(telemetry.model_dump_json())

    # commands from the cloud ------------------------------------------------------
    def handle_command(self, name: str, cmd: Command) -> CommandReply:
        if name == "test_event":
            cam = self._camera(cmd.camera)
            event_id = cam.raise_test_event(cmd.note or "test event requested by the cloud")
            return CommandReply(cmd_id=cmd.cmd_id, ok=True, message=f"test event on {cam.cfg.name}", event_id=event_id)
        if name == "snapshot":
            return self._snapshot(cmd)
        if name == "reload":
            return self._reload(cmd)
        return CommandReply(cmd_id=cmd.cmd_id, ok=False, message=f"unknown command {name!r}")

    def _camera(self, name: str | None) -> CameraWorker:
        if name is None:
            return next(iter(self.cameras.values()))
        if name not in self.cameras:
            raise KeyError(f"no camera {name!r} on node {self.cfg.node}")
        return self.cameras[name]

    def _snapshot(self, cmd: Command) -> CommandReply:
        from edge.snapshot import write_jpeg

        cam = self._camera(cmd.camera)
        image = cam.snapshot_bgr()
        if image is None:
            return CommandReply(cmd_id=cmd.cmd_id, ok=False, message=f"camera {cam.cfg.name} has no frame yet")
        path = self.cfg.data_dir / "snapshots" / cam.cfg.name / f"{cmd.cmd_id}.jpg"
        written = write_jpeg(image, path)
        self.outbox.add_upload(
            f"api/uploads/snapshots/{cam.cfg.name}/{cmd.cmd_id}.jpg", path, written.sha256, "image/jpeg"
        )
        return CommandReply(
            cmd_id=cmd.cmd_id, ok=True, message=f"snapshot {written.sha256} ({written.size} bytes) queued for upload"
        )

    def _reload(self, cmd: Command) -> CommandReply:
        """Validate the config file again; if valid, restart the agent with it, else keep running."""
        if self.config_path is None:
            return CommandReply(cmd_id=cmd.cmd_id, ok=False, message="agent was not started from a config file")
        try:
            load_config(self.config_path)
        except ConfigError as exc:
            return CommandReply(cmd_id=cmd.cmd_id, ok=False, message="; ".join(exc.problems)[:2000])
        self.restart_requested = True
        self._stop.set()  # run_forever returns and the CLI re-executes the agent
        return CommandReply(cmd_id=cmd.cmd_id, ok=True, message="config valid; agent restarting to apply it")
