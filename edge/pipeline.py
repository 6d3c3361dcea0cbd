"""Build a camera's detectors and feed them frames: shared by the live agent and `analyze`,
so offline analysis of a recording behaves exactly like the live camera."""

from __future__ import annotations

from datetime import datetime

import av
import cv2
import numpy as np

from edge.config import CameraConfig
from edge.detectors import REGISTRY, CameraContext, Detection, Detector, Frame

# The cameras are the parallelism. OpenCV splits each frame operation across its own pool of
# threads, whose hand-offs and spin-waits cost more CPU than they save on operations this
# small: with one thread, `analyze` did 4.31x real time per CPU second on a 1080p bench
# scene against 3.83x (medians of three interleaved runs), in the same wall time. A box's
# cores then go to more cameras. Set here, where every path to a detector passes (the agent
# and `analyze`).
cv2.setNumThreads(1)


def mask_image(cfg: CameraConfig, width: int, height: int, kinds: tuple[str, ...]) -> np.ndarray | None:
    """uint8 mask, 255 inside the configured polygons of the given kinds; None if there are none."""
    polys = [np.round(np.array(m.points)).astype(np.int32) for m in cfg.masks if m.kind in kinds]
    if not polys:
        return None
    mask = np.zeros((height, width), np.uint8)
    cv2.fillPoly(mask, polys, 255)
    return mask


# Pixel formats whose first plane is luma, one byte per pixel.
LUMA_FIRST = {"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "nv12", "nv21"}


def luma_image(frame: av.VideoFrame) -> np.ndarray:
    """The frame's brightness as the camera coded it: a view of the luma plane, no conversion
    at all.

    A detector that compares frames with one another needs no 0-255 grey. Stretching
    limited-range luma (16-235, most H.264 cameras) to it is a pass over every pixel (0.6 ms
    of the ~10 ms a 1080p frame costs on the thrown-object path) that only scales every
    difference by 255/219, which thresholds set from the frames' own noise follow anyway.
    The view keeps the decoded frame alive, and nothing writes to it (Frame). Sources whose
    first plane is not luma (RGB, grey formats) go through swscale's grey."""
    if frame.format.name not in LUMA_FIRST:
        return frame.to_ndarray(format="gray")
    plane = frame.planes[0]
    return np.frombuffer(plane, np.uint8).reshape(frame.height, plane.line_size)[:, : frame.width]


def camera_context(cfg: CameraConfig, width: int, height: int, fps: float) -> CameraContext:
    return CameraContext(
        name=cfg.name,
        width=width,
        height=height,
        fps=fps,
        facade=cfg.facade.build() if cfg.facade else None,
        # privacy regions are excluded from analysis too: nobody is watched there
        ignore_mask=mask_image(cfg, width, height, ("ignore", "privacy")),
    )


def build_detectors(cfg: CameraConfig, ctx: CameraContext) -> list[Detector]:
    detectors = []
    for name, cls in REGISTRY.items():
        section = getattr(cfg.detectors, name, None)
        if section is not None:
            detectors.append(cls(section, ctx))
    return detectors


class DetectorFeed:
    """Convert each decoded frame once per distinct request and run every detector on it."""

    def __init__(self, detectors: list[Detector], width: int) -> None:
        self.detectors = detectors
        self.width = width
        self._next_t = [float("-inf")] * len(detectors)  # media time each detector wants its next frame
        self._burst = [0] * len(detectors)  # frames still owed of the current burst

    def process(self, frame: av.VideoFrame, index: int, t: float, wall: datetime) -> list[Detection]:
        converted: dict[tuple[int | None, bool, tuple[int, int, int, int] | None], Frame] = {}
        out: list[Detection] = []
        for i, det in enumerate(self.detectors):
            req = det.frame_request
            if self._burst[i] > 0:
                self._burst[i] -= 1  # the frames right after a sample (flicker needs them)
            elif self._next_t[i] - req.interval_s <= t < self._next_t[i]:
                continue  # not due yet (and time did not go backwards, as a looping file does)
            else:
                self._next_t[i] = t + req.interval_s - 1e-3
                self._burst[i] = req.burst - 1
            key = (req.width, req.gray, req.box)
            if key not in converted:
                w = req.width or frame.width
                h = round(frame.height * w / frame.width) if req.width else frame.height
                bx, by, bw, bh = req.box or (0, 0, w, h)
                if req.gray:
                    whole = luma_image(frame)
                    if w != frame.width:
                        whole = cv2.resize(whole, (w, h), interpolation=cv2.INTER_AREA)
                else:
                    whole = frame.to_ndarray(format="bgr24", width=w, height=h)
                image = whole[by : by + bh, bx : bx + bw]
                converted[key] = Frame(index, t, wall, image, w / frame.width, (bx, by))
            out.extend(det.process(converted[key]))
        return out

    def finish(self, t: float) -> list[Detection]:
        return [d for det in self.detectors for d in det.finish(t)]
