"""Turn a camera's detections into contract events with a snapshot and an evidence clip.

For each detector event: a `new` revision with the snapshot as soon as it is raised,
`update`/`end` revisions as the detector reports, and one more revision when the clip
(pre-roll from the ring, post-roll after the end) has been written and hashed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from contract import Event, EventType, MediaRef, Phase, new_event_id
from edge.clip import CodecTemplate, WrittenFile, write_clip
from edge.config import CameraConfig
from edge.detectors import Detection
from edge.events import EventStore
from edge.ring import PacketRing, StoredPacket
from edge.snapshot import render, write_jpeg

log = logging.getLogger(__name__)

NO_MEDIA = {EventType.camera_offline}


# B-frames arrive in decode order, not presentation order: a clip collects this much past
# its end before it is cut, so frames presented before the end but decoded after it are in.
REORDER_LOOKAHEAD_S = 0.5


@dataclass
class ClipJob:
    """Collects packets for one event's clip: ring pre-roll, then live packets until end + post."""

    event_id: str
    start_t: float
    deadline_t: float
    post_s: float
    template: CodecTemplate
    packets: list[StoredPacket]
    end_t: float | None = None

    def due_t(self) -> float:
        return min(self.end_t if self.end_t is not None else self.deadline_t, self.deadline_t) + self.post_s

    def feed(self, pkt: StoredPacket) -> bool:
        """Add a packet; True once the clip has all it needs (plus the reorder lookahead).

        The reader appends a packet to the ring before it feeds it to the jobs, so a job made
        from the ring in between (a detection on another thread) already holds that packet:
        it is skipped, since a packet muxed twice makes the MP4 writer fail (equal DTS)."""
        if any(pkt is held for held in self.packets[-2:]):
            return False
        self.packets.append(pkt)
        return pkt.t >= self.due_t() + REORDER_LOOKAHEAD_S

    def final_packets(self) -> list[StoredPacket]:
        """The packets up to the first clean cut at or after the due time: every frame kept
        is presented before every frame dropped, so the clip has no holes at its end."""
        due = self.due_t()
        pkts = self.packets
        suffix_min = [float("inf")] * (len(pkts) + 1)
        for i in range(len(pkts) - 1, -1, -1):
            suffix_min[i] = min(pkts[i].t, suffix_min[i + 1])
        prefix_max = float("-inf")
        for i, p in enumerate(pkts):
            prefix_max = max(prefix_max, p.t)
            if prefix_max >= due - 1e-9 and prefix_max < suffix_min[i + 1]:
                return pkts[: i + 1]
        return pkts


@dataclass
class _Open:
    event: Event
    clip: ClipJob | None = None


class Recorder:
    def __init__(
        self,
        cfg: CameraConfig,
        site: str,
        node: str,
        store: EventStore,
        ring: PacketRing,
        executor: Executor,
        privacy: Callable[[], np.ndarray | None],
    ) -> None:
        self.cfg = cfg
        self.site, self.node = site, node
        self.store = store
        self.ring = ring
        self.executor = executor
        self.privacy = privacy
        self._keys: dict[str, str] = {}  # detector key -> event_id of its open event
        self._events: dict[str, _Open] = {}  # event_id -> state, until its clip is published
        self._jobs: list[ClipJob] = []
        self._lock = threading.Lock()

    # called from the analysis thread ------------------------------------------------
    def on_detection(
        self,
        det: Detection,
        wall_of: Callable[[float], datetime],
        frame_bgr: Callable[[], np.ndarray | None],
        template: CodecTemplate | None,
    ) -> Event:
        with self._lock:
            event_id = self._keys.get(det.key)
            if event_id is None:
                entry = self._start(det, wall_of, frame_bgr, template)
            else:
                entry = self._events[event_id]
                self._revise(entry, det, wall_of)
            if det.phase == Phase.end:
                self._keys.pop(det.key, None)
                if entry.clip is None:
                    self._events.pop(entry.event.event_id, None)
                else:
                    entry.clip.end_t = det.end_t if det.end_t is not None else det.start_t
            return entry.event

    def _start(self, det, wall_of, frame_bgr, template) -> _Open:
        event = Event(
            event_id=new_event_id(),
            phase=Phase.new,
            type=det.type,
            site=self.site,
            node=self.node,
            camera=self.cfg.name,
            building=self.cfg.building,
            started_at=wall_of(det.start_t),
            ended_at=wall_of(det.end_t) if det.phase == Phase.end and det.end_t is not None else None,
            confidence=det.confidence,
            thrown=det.thrown,
            region=det.region,
            note=det.note,
        )
        entry = _Open(event)
        if det.type not in NO_MEDIA:
            image = frame_bgr()
            if image is not None:
                event.snapshot = self._snapshot(event, det, image)
            if template is not None:
                rec = self.cfg.recording
                packets = self.ring.since(det.start_t - rec.pre_s)
                if packets:
                    entry.clip = ClipJob(
                        event.event_id, det.start_t, det.start_t + rec.max_event_s, rec.post_s, template, packets
                    )
                    self._jobs.append(entry.clip)
        self.store.publish(event.model_copy(deep=True))
        self._events[event.event_id] = entry
        self._keys[det.key] = event.event_id
        return entry

    def _revise(self, entry: _Open, det: Detection, wall_of) -> None:
        ev = entry.event
        ev.revision += 1
        ev.phase = Phase(det.phase)
        ev.confidence = max(ev.confidence, det.confidence)
        ev.thrown = det.thrown or ev.thrown
        ev.region = det.region or ev.region
        if det.end_t is not None and det.phase == Phase.end:
            ev.ended_at = wall_of(det.end_t)
        self.store.publish(ev.model_copy(deep=True))

    def _snapshot(self, event: Event, det: Detection, image: np.ndarray) -> MediaRef:
        caption = f"{event.type.value} {self.cfg.building}/{self.cfg.name} {event.started_at:%Y-%m-%d %H:%M:%S}Z"
        if det.thrown and det.thrown.origin.floor is not None:
            unit = f" unit {det.thrown.origin.unit}" if det.thrown.origin.unit else ""
            caption += f"  floor {det.thrown.origin.floor}{unit}"
        path = self.store.media_dir / event.event_id / "snapshot.jpg"
        written = write_jpeg(render(image, det, self.privacy(), caption), path)
        ref = MediaRef(
            kind="snapshot", filename=path.name, content_type="image/jpeg", sha256=written.sha256, size=written.size
        )
        self.store.upload(event.event_id, ref, path)
        return ref

    # called from the reader thread ---------------------------------------------------
    def feed(self, pkt: StoredPacket, wall_of: Callable[[float], datetime]) -> None:
        with self._lock:
            if not self._jobs:
                return
            done = [job for job in self._jobs if job.feed(pkt)]
            for job in done:
                self._jobs.remove(job)
        for job in done:
            self.executor.submit(self._write_clip, job, wall_of)

    def flush(self, wall_of: Callable[[float], datetime]) -> None:
        """The stream ended or dropped: write every clip with what it has."""
        with self._lock:
            jobs, self._jobs = self._jobs, []
        for job in jobs:
            self.executor.submit(self._write_clip, job, wall_of)

    def _write_clip(self, job: ClipJob, wall_of: Callable[[float], datetime]) -> None:
        path = self.store.media_dir / job.event_id / "clip.mp4"
        try:
            packets = job.final_packets()
            written: WrittenFile = write_clip(job.template, packets, path)
        except Exception:
            log.exception("camera %s: clip for %s could not be written", self.cfg.name, job.event_id)
            return
        first_t, last_t = packets[0].t, max(p.t for p in packets)
        end_t = job.end_t if job.end_t is not None else job.start_t
        frame_s = packets[-1].duration * float(job.template.time_base)
        ref = MediaRef(
            kind="clip",
            filename=path.name,
            content_type="video/mp4",
            sha256=written.sha256,
            size=written.size,
            start_at=wall_of(first_t),
            end_at=wall_of(last_t) + timedelta(seconds=frame_s),
            pre_s=round(job.start_t - first_t, 3),
            post_s=round(max(0.0, last_t + frame_s - end_t), 3),
        )
        self.store.upload(job.event_id, ref, path)
        self._publish_media(job.event_id, ref)

    def _publish_media(self, event_id: str, ref: MediaRef) -> None:
        """A clip-bearing revision: the open event's state, or the last known one if it ended."""
        with self._lock:
            entry = self._events.get(event_id)
            if entry is None:
                return
            if event_id not in self._keys.values():
                del self._events[event_id]  # ended, and this was its last revision
            event = entry.event
            event.revision += 1
            event.clip = ref
            if event.phase == Phase.new:
                event.phase = Phase.update
            self.store.publish(event.model_copy(deep=True))
