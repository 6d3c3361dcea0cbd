"""Live: a simulated facade served over real RTSP to the agent raises a thrown_object event
over MQTT, with snapshot and clip, soon after the release."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import yaml
from conftest import site_config, wait_for
from test_rtsp import RtspServer, pytestmark  # noqa: F401  (skipped where GStreamer RTSP is missing)

from bench.scenesim import SceneSpec, render
from edge.agent import Agent
from edge.config import load_config


def test_a_throw_over_rtsp_becomes_an_event_with_clip_and_snapshot(tmp_path: Path, broker, cloud) -> None:
    spec = SceneSpec(
        seed=21,
        throws=3,
        seconds=15,
        objects=("flower_pot", "brick", "shoe", "bottle"),
        styles=("drop",),
        width=1280,
        height=720,
    )
    render(spec, tmp_path / "scene", "scene")
    facade = yaml.safe_load((tmp_path / "scene" / "scene.yaml").read_text())["cameras"][0]["facade"]
    server = RtspServer(tmp_path / "scene" / "scene.mp4").start()
    cfg_path = site_config(tmp_path, broker, server.url)
    cfg = yaml.safe_load(cfg_path.read_text())
    cam = cfg["cameras"][0]
    cam["facade"] = facade
    cam["detectors"] = {"thrown": {}}
    cam["recording"] = {"pre_s": 2, "post_s": 1}
    cfg_path.write_text(yaml.safe_dump(cfg))
    agent = Agent(load_config(cfg_path))
    agent.start()
    try:
        new = wait_for(
            lambda: [e for e in cloud.events if e["type"] == "thrown_object" and e["phase"] == "new"],
            timeout=60,
            what="a thrown_object event",
        )[0]
        arrived = time.time()
        released = datetime.fromisoformat(new["started_at"]).timestamp()
        # two storeys of fall take ~1.1 s; the target is an alarm <= 1 s after that; RTSP,
        # decode and MQTT on a shared 2-core test box get the rest
        assert arrived - released < 4.0, arrived - released
        origin = new["thrown"]["origin"]
        assert origin["floor"] is not None and origin["unit"] in ("01", "02", "03")
        assert new["snapshot"]["content_type"] == "image/jpeg"
        cloud.assert_media_kept(new, tmp_path / "data")
    finally:
        agent.stop()
        server.kill()
