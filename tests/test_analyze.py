"""`gridwatch-edge analyze`: the JSON-lines format, and corrupt files reported and skipped."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import site_config

from contract import EventType, Origin, RegionDetails, ThrownDetails
from edge.analyze import event_json
from edge.detectors import Detection
from edge.pipeline import luma_image


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "edge.cli", "analyze", *args], capture_output=True, text=True)


def test_analyze_runs_over_a_recording_and_a_corrupt_file_is_skipped(tmp_path: Path, sample_mp4: Path) -> None:
    cfg = site_config(tmp_path, None, str(sample_mp4))
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 1000)
    proc = run(str(corrupt), str(sample_mp4), "--config", str(cfg))
    assert proc.returncode == 1
    assert f"skipping {corrupt}" in proc.stderr
    assert "0 event(s) in 12.0 s of video" in proc.stdout  # the good file was still analysed


def test_analyze_json_has_no_other_output(tmp_path: Path, sample_mp4: Path) -> None:
    cfg = site_config(tmp_path, None, str(sample_mp4))
    proc = run(str(sample_mp4), "--config", str(cfg), "--json")
    assert proc.returncode == 0, proc.stderr
    assert all(json.loads(line) for line in proc.stdout.splitlines())


def test_unknown_camera_is_named(tmp_path: Path, sample_mp4: Path) -> None:
    cfg = site_config(tmp_path, None, str(sample_mp4))
    proc = run(str(sample_mp4), "--config", str(cfg), "--camera", "nope")
    assert proc.returncode == 2 and "no camera named 'nope'" in proc.stderr


def test_event_json_format() -> None:
    thrown = ThrownDetails(
        origin=Origin(x=310.0, y=120.5, floor=14, unit="02"), trajectory=[(0.0, 310, 120.5), (0.5, 311, 160)]
    )
    det = Detection("k", EventType.thrown_object, "end", 12.25, 14.0, 0.91, thrown=thrown)
    assert event_json(det) == {
        "type": "thrown_object",
        "start_s": 12.25,
        "end_s": 14.0,
        "confidence": 0.91,
        "origin": {"floor": 14, "unit": "02", "x": 310.0, "y": 120.5},
        "trajectory": [[12.25, 310, 120.5], [12.75, 311, 160]],
    }
    smoke = Detection("s", EventType.smoke, "new", 3.0, None, 0.7, region=RegionDetails(bbox=(1, 2, 30, 40)))
    assert event_json(smoke)["bbox"] == [1, 2, 30, 40]


def test_luma_is_the_coded_plane_and_outlives_the_decoder_moving_on(sample_mp4: Path) -> None:
    """luma_image hands detectors the luma plane itself: the Y of a limited-range frame as
    coded, swscale's grey for a full-range one (the same thing there), and views that stay
    valid while the decoder goes on to later frames (a detector keeps a few)."""
    import av
    import numpy as np

    kept: list[tuple[np.ndarray, np.ndarray]] = []
    with av.open(str(sample_mp4)) as container:
        for frame in container.decode(video=0):
            luma = luma_image(frame)
            assert luma.shape == (frame.height, frame.width)
            assert np.array_equal(luma, frame.to_ndarray()[: frame.height])  # yuv420p: Y rows first
            kept.append((luma, luma.copy()))
    assert len(kept) > 10
    assert all(np.array_equal(view, copy) for view, copy in kept)
    with av.open(str(sample_mp4)) as container:
        first = next(container.decode(video=0))
    full = first.reformat(format="yuvj420p")
    assert np.array_equal(luma_image(full), full.to_ndarray(format="gray"))
    nv12 = first.reformat(format="nv12")
    assert np.array_equal(luma_image(nv12), luma_image(first))
    rgb = first.reformat(format="rgb24")
    assert luma_image(rgb).shape == (first.height, first.width)


def test_opencv_runs_frame_operations_on_the_calling_thread() -> None:
    """The cameras are the parallelism (edge.pipeline): OpenCV's own pool would spend CPU on
    hand-offs that the other cameras of a box need."""
    import cv2

    import edge.pipeline  # noqa: F401

    assert cv2.getNumThreads() == 1


def test_a_detector_that_asks_for_a_box_gets_that_part_of_its_frame(sample_mp4: Path) -> None:
    """FrameRequest.box: the part of the requested image (native or scaled) a detector
    watches, and Frame.origin says where it lies."""
    from datetime import UTC, datetime

    import av
    import cv2
    import numpy as np

    from edge.detectors import Frame, FrameRequest
    from edge.pipeline import DetectorFeed

    class Watcher:
        def __init__(self, request: FrameRequest) -> None:
            self.frame_request, self.frames = request, []

        def process(self, frame: Frame) -> list:
            self.frames.append(frame)
            return []

    with av.open(str(sample_mp4)) as container:
        frame = next(container.decode(video=0))
    half = frame.width // 2
    native = Watcher(FrameRequest(box=(10, 20, 64, 48)))
    scaled = Watcher(FrameRequest(width=half, box=(4, 6, 32, 24)))
    DetectorFeed([native, scaled], frame.width).process(frame, 0, 0.0, datetime.now(UTC))
    grey = luma_image(frame)
    small = cv2.resize(grey, (half, round(frame.height * half / frame.width)), interpolation=cv2.INTER_AREA)
    assert np.array_equal(native.frames[0].image, grey[20:68, 10:74]) and native.frames[0].origin == (10, 20)
    assert np.array_equal(scaled.frames[0].image, small[6:30, 4:36]) and scaled.frames[0].origin == (4, 6)
