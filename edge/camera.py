"""One camera on a node: a reader thread (demux, ring, decode) and an analysis thread.

The two are joined by a bounded queue of decoded frames. When analysis falls behind, the
oldest frame is dropped and counted, never queued without bound, so a slow detector
cannot stall the reader (and so the ring and clips stay complete). A stream that fails
is reopened with exponential backoff capped at 30 s; other cameras are unaffected.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import UTC, datetime

import av
import numpy as np

from contract import CameraHealth, EventType, Phase
from edge.clip import CodecTemplate
from edge.config import CameraConfig
from edge.detectors import Detection
from edge.events import EventStore
from edge.pipeline import DetectorFeed, build_detectors, camera_context, mask_image
from edge.recorder import Recorder
from edge.ring import PacketRing
from edge.stream import Session, SourceError

log = logging.getLogger(__name__)

BACKOFF_START_S = 1.0
BACKOFF_CAP_S = 30.0
QUEUE_FRAMES = 4
OFFLINE_EVENT_AFTER_S = 60.0


@dataclass
class CameraStats:
    frames_in: int = 0
    frames_processed: int = 0
    dropped_frames: int = 0
    reconnects: int = 0
    decode_errors: int = 0
    online: bool = False
    error: str | None = None
    last_frame_at: datetime | None = None
    _last: tuple[float, int, int] = field(default=(0.0, 0, 0))

    def health(self, name: str) -> CameraHealth:
        """Counters plus rates since the previous call (one caller: telemetry)."""
        now = time.monotonic()
        t0, fin0, fproc0 = self._last
        dt = now - t0 if t0 else 0.0
        self._last = (now, self.frames_in, self.frames_processed)
        return CameraHealth(
            name=name,
            online=self.online,
            input_fps=round((self.frames_in - fin0) / dt, 2) if dt else 0.0,
            processed_fps=round((self.frames_processed - fproc0) / dt, 2) if dt else 0.0,
            dropped_frames=self.dropped_frames,
            reconnects=self.reconnects,
            decode_errors=self.decode_errors,
            last_frame_at=self.last_frame_at,
            error=self.error,
        )


class CameraWorker:
    def __init__(
        self, cfg: CameraConfig, site: str, node: str, store: EventStore, executor: Executor, realtime: bool = True
    ) -> None:
        self.cfg = cfg
        self.realtime = realtime
        self.stats = CameraStats()
        self.ring = PacketRing(cfg.recording.pre_s, int(cfg.recording.ring_max_mb * 1e6))
        self._frames: queue.Queue[tuple[av.VideoFrame, int, float] | None] = queue.Queue(QUEUE_FRAMES)
        self._stop = threading.Event()
        self._session: Session | None = None
        self._feed: DetectorFeed | None = None
        self._privacy: np.ndarray | None = None
        self._latest: av.VideoFrame | None = None
        self._wall0 = time.time()
        self._t0 = 0.0
        self._offline_since: float | None = None
        self._offline_key: str | None = None
        self.recorder = Recorder(cfg, site, node, store, self.ring, executor, lambda: self._privacy)
        self._threads = [
            threading.Thread(target=self._read_loop, name=f"read-{cfg.name}", daemon=True),
            threading.Thread(target=self._analysis_loop, name=f"analyse-{cfg.name}", daemon=True),
        ]
        self.finished = threading.Event()  # a non-looping file source reached its end

    def start(self) -> None:
        for t in self._threads:
            t.start()

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=10)

    def wall_of(self, t: float) -> datetime:
        return datetime.fromtimestamp(self._wall0 + (t - self._t0), UTC)

    # reader ----------------------------------------------------------------------
    def _read_loop(self) -> None:
        backoff = BACKOFF_START_S
        while not self._stop.is_set():
            try:
                session = Session(self.cfg.source, realtime=self.realtime, loop=self.cfg.loop)
            except SourceError as exc:
                self._went_offline(str(exc))
                self._stop.wait(backoff)
                backoff = min(backoff * 2, BACKOFF_CAP_S)
                continue
            error = self._run_session(session)
            session.close()
            self.recorder.flush(self.wall_of)
            if self._stop.is_set():
                return
            if error is None and session.is_file and not self.cfg.loop:
                self.stats.online = False
                self._frames.put(None)
                self.finished.set()
                return
            self._went_offline(error or "stream ended")
            if self.stats.frames_in:  # it was working: reconnect quickly
                backoff = BACKOFF_START_S
            self._stop.wait(backoff)
            backoff = min(backoff * 2, BACKOFF_CAP_S)

    def _run_session(self, session: Session) -> str | None:
        """Read one session until it ends (None) or fails (the reason)."""
        self._session = session
        width, height = session.size
        ctx = camera_context(self.cfg, width, height, session.fps)
        self._feed = DetectorFeed(build_detectors(self.cfg, ctx), width)
        self._privacy = mask_image(self.cfg, width, height, ("privacy",))
        self.ring.clear()  # a new connection may bring new codec parameters
        first = True
        index = 0
        try:
            for pkt, frames in session.packets():
                if self._stop.is_set():
                    return None
                if pkt is not None:
                    if first:
                        self._wall0, self._t0, first = time.time(), pkt.t, False
                        self._came_online(session)
                    self.ring.append(pkt)
                    self.recorder.feed(pkt, self.wall_of)
                self.stats.decode_errors = session.decode_errors
                for decoded in frames:
                    self.stats.frames_in += 1
                    self.stats.last_frame_at = datetime.now(UTC)
                    self._offer((decoded.frame, index, decoded.t))
                    index += 1
        except SourceError as exc:
            return str(exc)
        return None

    def _offer(self, item: tuple[av.VideoFrame, int, float]) -> None:
        while True:
            try:
                self._frames.put_nowait(item)
                return
            except queue.Full:
                try:
                    self._frames.get_nowait()
                    self.stats.dropped_frames += 1
                except queue.Empty:
                    pass

    def _came_online(self, session: Session) -> None:
        self.stats.online, self.stats.error = True, None
        self._offline_since = None
        log.info(
            "camera %s online: %s %dx%d %.1f fps",
            self.cfg.name,
            session.stream.codec_context.name,
            *session.size,
            session.fps,
        )
        if self._offline_key is not None:
            t = time.time() - self._wall0 + self._t0
            self._emit(Detection(self._offline_key, EventType.camera_offline, Phase.end, t, t, 1.0))
            self._offline_key = None

    def _went_offline(self, reason: str) -> None:
        if self.stats.online or self.stats.error is None:
            log.warning("camera %s offline: %s", self.cfg.name, reason)
        if self.stats.online:
            self.stats.reconnects += 1
        self.stats.online, self.stats.error = False, reason
        now = time.time()
        self._offline_since = self._offline_since or now
        if self._offline_key is None and now - self._offline_since >= OFFLINE_EVENT_AFTER_S:
            self._offline_key = f"offline-{now:.0f}"
            t = self._offline_since - self._wall0 + self._t0
            self._emit(Detection(self._offline_key, EventType.camera_offline, Phase.new, t, None, 1.0))

    # analysis --------------------------------------------------------------------
    def _analysis_loop(self) -> None:
        while not self._stop.is_set():
            try:
                item = self._frames.get(timeout=0.5)
            except queue.Empty:
                continue
            if item is None:
                if self._feed is not None:
                    for det in self._feed.finish(self.ring_end_t()):
                        self._emit(det)
                return
            frame, index, t = item
            self._latest = frame
            if self._feed is not None:
                for det in self._feed.process(frame, index, t, self.wall_of(t)):
                    self._emit(det, frame)
            self.stats.frames_processed += 1

    def ring_end_t(self) -> float:
        packets = self.ring.since(float("inf"))
        return packets[-1].t if packets else 0.0

    def _emit(self, det: Detection, frame: av.VideoFrame | None = None) -> None:
        source = frame if frame is not None else self._latest
        self.recorder.on_detection(
            det,
            self.wall_of,
            (lambda: source.to_ndarray(format="bgr24")) if source is not None else (lambda: None),
            self._template,
        )

    @property
    def _template(self) -> CodecTemplate | None:
        session = self._session
        return session.template if session is not None else None

    # commands ----------------------------------------------------------------------
    def raise_test_event(self, note: str | None) -> str:
        """A drill: a `test` event through the whole path (snapshot, clip, outbox, upload)."""
        if not self.stats.online:
            raise RuntimeError(f"camera {self.cfg.name} is offline ({self.stats.error})")
        t = self.ring_end_t()
        det = Detection(f"test-{time.time():.3f}", EventType.test, Phase.end, t, t, 1.0, note=note)
        return self.recorder.on_detection(det, self.wall_of, self.snapshot_bgr, self._template).event_id

    def snapshot_bgr(self) -> np.ndarray | None:
        frame = self._latest
        return frame.to_ndarray(format="bgr24") if frame is not None else None

    def health(self) -> CameraHealth:
        return self.stats.health(self.cfg.name)
