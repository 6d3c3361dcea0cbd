"""A real RTSP server (GStreamer) feeding the agent: the stream dies mid-way and comes back."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import av
import pytest
from conftest import site_config, wait_for

from edge.agent import Agent
from edge.config import load_config
from edge.devbroker import free_port, wait_port

SYSTEM_PYTHON = "/usr/bin/python3"
SERVER = Path(__file__).parent / "rtsp_server.py"


def _gst_rtsp_available() -> bool:
    if not Path(SYSTEM_PYTHON).exists():
        return False
    probe = "import gi; gi.require_version('GstRtspServer', '1.0'); from gi.repository import GstRtspServer"
    return subprocess.run([SYSTEM_PYTHON, "-c", probe], capture_output=True).returncode == 0


pytestmark = pytest.mark.skipif(
    not _gst_rtsp_available(), reason="GStreamer RTSP server missing: make test installs gir1.2-gst-rtsp-server-1.0"
)


class RtspServer:
    def __init__(self, media: Path) -> None:
        self.media = media
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"rtsp://127.0.0.1:{self.port}/cam"

    def start(self) -> RtspServer:
        self.proc = subprocess.Popen(
            [SYSTEM_PYTHON, str(SERVER), str(self.port), str(self.media)], stdout=subprocess.PIPE
        )
        wait_port(self.port)
        return self

    def kill(self) -> None:
        if self.proc:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def rtsp(sample_mp4: Path):
    server = RtspServer(sample_mp4).start()
    yield server
    server.kill()


def test_rtsp_stream_drops_and_comes_back(tmp_path, broker, cloud, rtsp) -> None:
    agent = Agent(load_config(site_config(tmp_path, broker, rtsp.url)))
    agent.start()
    cam = agent.cameras["cam1"]
    try:
        wait_for(lambda: cam.stats.frames_processed > 25, timeout=30, what="frames over RTSP")
        event_id = cam.raise_test_event("over RTSP")
        clip_event = wait_for(
            lambda: [e for e in cloud.events if e["event_id"] == event_id and e.get("clip")], timeout=30, what="clip"
        )[0]
        clip = tmp_path / "data" / "media" / event_id / "clip.mp4"
        assert clip_event["clip"]["size"] == clip.stat().st_size
        with av.open(str(clip)) as c:
            assert c.streams.video[0].codec_context.name == "h264"
            assert sum(1 for _ in c.decode(video=0)) >= 25
        data = clip.read_bytes()
        assert 0 < data.find(b"moov") < data.find(b"mdat")

        rtsp.kill()  # the stream dies mid-way
        wait_for(lambda: not cam.stats.online, timeout=30, what="camera offline")
        assert cam.stats.error
        rtsp.start()  # and comes back on the same port
        frames_before = cam.stats.frames_in
        wait_for(lambda: cam.stats.online and cam.stats.frames_in > frames_before + 25, timeout=60, what="camera back")
        assert cam.stats.reconnects >= 1
    finally:
        agent.stop()


def test_system_python_has_gstreamer() -> None:
    assert shutil.which("gst-launch-1.0") is not None
