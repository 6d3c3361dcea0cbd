"""Make sample footage: an upward view of a residential facade with a frame counter burned in.

Used by `make demo` (the bundled sample, built by the project's own code rather than
downloaded) and by the tests, which read the counter back to check clip boundaries
exactly. The counter is drawn twice: as digits for people, and as 16 black/white cells
along the bottom edge for machines (robust to H.264 compression).
"""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np

COUNTER_BITS = 16


def facade_background(width: int, height: int, floors: int = 12, units: int = 3, seed: int = 7) -> np.ndarray:
    """A BGR facade: sky above, a wall with rows of windows and balcony slabs."""
    rng = np.random.default_rng(seed)
    img = np.zeros((height, width, 3), np.uint8)
    img[:] = (235, 206, 160)  # sky
    top, bottom = int(height * 0.08), height
    left, right = int(width * 0.12), int(width * 0.88)
    img[top:bottom, left:right] = (180, 190, 200)
    storey = (bottom - top) / floors
    col = (right - left) / (units * 2)
    for f in range(floors):
        y0 = int(top + f * storey)
        cv2.line(img, (left, y0), (right, y0), (120, 120, 130), max(1, int(storey * 0.08)))
        for c in range(units * 2):
            x0 = int(left + c * col + col * 0.2)
            lit = rng.random() < 0.3
            color = (120, 200, 230) if lit else (90, 80, 70)
            cv2.rectangle(img, (x0, int(y0 + storey * 0.25)), (int(x0 + col * 0.6), int(y0 + storey * 0.8)), color, -1)
    return img


def draw_counter(img: np.ndarray, n: int) -> None:
    h, w = img.shape[:2]
    cell = max(8, w // 40)
    for b in range(COUNTER_BITS):
        v = 255 if (n >> b) & 1 else 0
        img[h - cell : h, b * cell : (b + 1) * cell] = v
    cv2.putText(img, f"{n:06d}", (4, h - cell - 8), cv2.FONT_HERSHEY_SIMPLEX, max(0.5, w / 900), (0, 0, 255), 2)


def read_counter(gray_or_bgr: np.ndarray) -> int:
    img = gray_or_bgr if gray_or_bgr.ndim == 2 else cv2.cvtColor(gray_or_bgr, cv2.COLOR_BGR2GRAY)
    h, w = img.shape[:2]
    cell = max(8, w // 40)
    n = 0
    for b in range(COUNTER_BITS):
        patch = img[h - cell + 2 : h - 2, b * cell + 2 : (b + 1) * cell - 2]
        if patch.mean() > 127:
            n |= 1 << b
    return n


def write_sample(
    path: Path,
    seconds: float = 10.0,
    fps: int = 25,
    width: int = 640,
    height: int = 480,
    gop: int = 25,
    codec: str = "libx264",
    bitrate: int | None = None,
    noise: float = 0.0,
) -> Path:
    """Write an MP4 (H.264 by default) with a keyframe every `gop` frames.

    `noise` adds Gaussian sensor noise of that standard deviation (grey levels), which
    gives the encoder the realistic bitrate a real camera has."""
    path.parent.mkdir(parents=True, exist_ok=True)
    background = facade_background(width, height)
    rng = np.random.default_rng(0)
    grain = [rng.normal(0, noise, (height, width, 1)).astype(np.int16) for _ in range(8)] if noise else []
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        if codec == "libx264":
            stream.options = {"g": str(gop), "keyint_min": str(gop), "sc_threshold": "0", "preset": "veryfast"}
        else:
            stream.codec_context.gop_size = gop
        if bitrate:
            stream.bit_rate = bitrate
        for n in range(int(seconds * fps)):
            img = background.copy()
            # a little life: a cloud drifting across the sky
            cx = int((n * 3) % (width + 200)) - 100
            cv2.ellipse(img, (cx, int(height * 0.04)), (60, 12), 0, 0, 360, (250, 250, 250), -1)
            if grain:
                img = np.clip(img.astype(np.int16) + grain[n % len(grain)], 0, 255).astype(np.uint8)
            draw_counter(img, n)
            frame = av.VideoFrame.from_ndarray(img, format="bgr24")
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path
