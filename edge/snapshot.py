"""JPEG snapshots of an event's key frame: the detector's overlay, facade labels, and
privacy masks blanked. Unlike clips (original bits, kept as evidence), a snapshot is
made for people to look at in a chat message, so privacy masks are applied to it."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from edge.clip import WrittenFile, hash_file
from edge.detectors import Detection

JPEG_QUALITY = 90


def render(bgr: np.ndarray, detection: Detection | None, privacy: np.ndarray | None, caption: str) -> np.ndarray:
    img = bgr.copy()
    if detection is not None and detection.draw is not None:
        detection.draw(img)
    if privacy is not None:
        img[privacy > 0] = (40, 40, 40)
    scale = max(0.5, img.shape[1] / 1600)
    thick = max(1, round(2 * scale))
    (tw, th), base = cv2.getTextSize(caption, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
    cv2.rectangle(img, (0, 0), (tw + 12, th + base + 12), (0, 0, 0), -1)
    cv2.putText(img, caption, (6, th + 6), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), thick, cv2.LINE_AA)
    return img


def write_jpeg(img: np.ndarray, path: Path) -> WrittenFile:
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    tmp.write_bytes(buf.tobytes())
    os.replace(tmp, path)
    return hash_file(path)
