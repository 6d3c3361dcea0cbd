"""Figures for docs/THROWN.md: a snapshot with the detector's overlay, and a fitted fall.

Run: `python bench/thrown_figures.py` (renders a simulated scene, runs the detector as the
agent does, and writes docs/img/thrown-snapshot.jpg and docs/img/thrown-fit.png).
"""

from __future__ import annotations

import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.scenesim import SceneSpec, render  # noqa: E402
from edge.config import load_config  # noqa: E402
from edge.pipeline import DetectorFeed, build_detectors, camera_context  # noqa: E402
from edge.stream import Session  # noqa: E402
from edge.trajectory import G  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "docs" / "img"


def plot_fit(points: list[tuple[float, float]], release: tuple[float, float], path: Path) -> None:
    """Height above the facade's bottom edge against time, with the free fall from the release."""
    w, h, m = 720, 420, 50
    ts = np.array([p[0] for p in points])
    hs = np.array([p[1] for p in points])
    t0, t1 = release[0] - 0.1, ts.max() + 0.1
    h0, h1 = hs.min() - 1, release[1] + 1

    def px(t: float, z: float) -> tuple[int, int]:
        return int(m + (t - t0) / (t1 - t0) * (w - 2 * m)), int(h - m - (z - h0) / (h1 - h0) * (h - 2 * m))

    img = np.full((h, w, 3), 255, np.uint8)
    cv2.rectangle(img, px(t0, h0), px(t1, h1), (0, 0, 0), 1)
    curve = [px(t, release[1] - 0.5 * G * (t - release[0]) ** 2) for t in np.linspace(release[0], t1, 80)]
    cv2.polylines(img, [np.array(curve, np.int32)], False, (200, 120, 0), 2, cv2.LINE_AA)
    for t, z in points:
        cv2.circle(img, px(t, z), 3, (0, 0, 220), -1, cv2.LINE_AA)
    cv2.circle(img, px(*release), 7, (0, 200, 255), 2, cv2.LINE_AA)
    font = cv2.FONT_HERSHEY_SIMPLEX
    cv2.putText(img, "height above the calibrated bottom edge (m) vs time (s)", (m, 30), font, 0.55, (0, 0, 0), 1)
    cv2.putText(img, "red: blob centroids mapped to the facade", (m + 10, h - 18), font, 0.45, (0, 0, 220), 1)
    cv2.putText(img, "blue: free fall from the release (yellow)", (m + 330, h - 18), font, 0.45, (200, 120, 0), 1)
    cv2.putText(img, f"{h1:.0f}", (5, m + 5), font, 0.45, (0, 0, 0), 1)
    cv2.putText(img, f"{h0:.0f}", (5, h - m), font, 0.45, (0, 0, 0), 1)
    cv2.putText(img, f"{t0:.1f}", (m - 10, h - m + 18), font, 0.45, (0, 0, 0), 1)
    cv2.putText(img, f"{t1:.1f}", (w - m - 20, h - m + 18), font, 0.45, (0, 0, 0), 1)
    cv2.imwrite(str(path), img)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        spec = SceneSpec(
            seed=21, throws=1, seconds=5, objects=("flower_pot",), styles=("drop",), confusers=("laundry",)
        )
        render(spec, Path(tmp), "scene")
        cfg = load_config(Path(tmp) / "scene.yaml").cameras[0]
        session = Session(cfg.source, realtime=False, loop=False)
        w, h = session.size
        detectors = build_detectors(cfg, camera_context(cfg, w, h, session.fps))
        feed = DetectorFeed(detectors, w)
        final, frame_bgr = None, None
        for i, (_pkt, frames) in enumerate(session.packets()):
            for f in frames:
                for det in feed.process(f.frame, i, f.t, datetime.now(UTC)):
                    final = det
                    frame_bgr = f.frame.to_ndarray(format="bgr24")
        for det in feed.finish(spec.seconds):
            final = det
        session.close()
    if final is None or frame_bgr is None:
        raise SystemExit("the detector found nothing in the figure scene")
    final.draw(frame_bgr)
    cv2.imwrite(str(OUT / "thrown-snapshot.jpg"), frame_bgr, [cv2.IMWRITE_JPEG_QUALITY, 88])
    facade = detectors[0].facade
    storey_m = detectors[0].cfg.storey_m
    pts = [
        (final.start_t + t, float(facade.storeys_up(np.array([[x, y]]))[0] * storey_m))
        for t, x, y in final.thrown.trajectory
    ]
    rx, ry = final.thrown.origin.x, final.thrown.origin.y
    release = (final.start_t, float(facade.storeys_up(np.array([[rx, ry]]))[0] * storey_m))
    plot_fit(pts, release, OUT / "thrown-fit.png")
    print(f"wrote {OUT / 'thrown-snapshot.jpg'} and {OUT / 'thrown-fit.png'}: floor {final.thrown.origin.floor}")


if __name__ == "__main__":
    main()
