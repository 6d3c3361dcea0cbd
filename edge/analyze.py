"""Offline analysis: run a camera's detectors over a recording as fast as possible.

Same detectors, same frame conversion as the live agent (edge.pipeline), no pacing, no
dropped frames. One JSON object per detected event, times in seconds from the start of
the file. Installers use it to tune a camera; the benchmarks use it to score detectors.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

from edge.config import CameraConfig
from edge.detectors import Detection
from edge.pipeline import DetectorFeed, build_detectors, camera_context
from edge.stream import Session

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)  # media times are reported relative to the file


@dataclass
class FileReport:
    events: list[dict[str, Any]]
    frames: int
    duration_s: float


def event_json(det: Detection, alarm_t: float | None = None) -> dict[str, Any]:
    """`alarm_s` is when the event was raised (the frame that confirmed it), which for a
    thrown object comes after `start_s`, its release."""
    out: dict[str, Any] = {
        "type": det.type.value,
        "start_s": round(det.start_t, 3),
        "end_s": round(det.end_t, 3) if det.end_t is not None else None,
        "confidence": round(det.confidence, 3),
    }
    if alarm_t is not None:
        out["alarm_s"] = round(alarm_t, 3)
    if det.thrown is not None:
        o = det.thrown.origin
        out["origin"] = {"floor": o.floor, "unit": o.unit, "x": round(o.x, 1), "y": round(o.y, 1)}
        out["trajectory"] = [[round(det.start_t + t, 3), round(x, 1), round(y, 1)] for t, x, y in det.thrown.trajectory]
        if det.thrown.object_px is not None:
            out["object_px"] = det.thrown.object_px
    if det.note:
        out["note"] = det.note
    if det.region is not None:
        out["bbox"] = [round(v, 1) for v in det.region.bbox]
    return out


def analyze_file(cfg: CameraConfig, source: str, progress: TextIO | None = None) -> FileReport:
    """Events of one file: the final state of each detector event, in start order."""
    session = Session(source, realtime=False, loop=False)
    final: dict[str, Detection] = {}  # the latest revision of each detector event wins
    raised: dict[str, float] = {}  # media time each event was first reported
    index, t = 0, 0.0
    try:
        width, height = session.size
        feed = DetectorFeed(build_detectors(cfg, camera_context(cfg, width, height, session.fps)), width)
        total = session.stream.frames or 0
        for _pkt, frames in session.packets():
            for decoded in frames:
                t = decoded.t
                for det in feed.process(decoded.frame, index, t, EPOCH + timedelta(seconds=t)):
                    final[det.key] = det
                    raised.setdefault(det.key, t)
                index += 1
                if progress is not None and index % 25 == 0:
                    pct = f"{100 * index / total:5.1f}%" if total else ""
                    progress.write(f"\ranalyze {cfg.name}: frame {index} {pct} t={t:.1f}s")
        for det in feed.finish(t):
            final[det.key] = det
            raised.setdefault(det.key, t)
        if progress is not None:
            progress.write("\n")
    finally:
        session.close()
    events = sorted((event_json(d, raised[k]) for k, d in final.items()), key=lambda e: e["start_s"])
    return FileReport(events, index, t + 1 / session.fps if index else 0.0)


def print_report(path: str, report: FileReport, as_json: bool, out: TextIO = sys.stdout) -> None:
    for event in report.events:
        if as_json:
            out.write(json.dumps(event, ensure_ascii=False) + "\n")
        else:
            where = ""
            if "origin" in event:
                where = f" floor {event['origin']['floor']} unit {event['origin']['unit']}"
            elif "bbox" in event:
                where = f" bbox {event['bbox']}"
            out.write(
                f"{path}: {event['type']} {event['start_s']:.2f}-{event['end_s']}s conf {event['confidence']:.2f}{where}\n"
            )
    if not as_json:
        out.write(f"{path}: {len(report.events)} event(s) in {report.duration_s:.1f} s of video\n")
