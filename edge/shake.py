"""Camera shake: measure how far each frame has moved and move it back.

A camera on a pole or a balcony bracket sways in wind by a pixel or three, a few times a
second. Frame differencing then lights up every window edge of the facade, the frame is
judged a global change and nothing is tracked for as long as the wind blows. The facade
itself is the best reference there is: a large, rigid, textured plane. Its translation
between frames comes from phase correlation (cv2.phaseCorrelate) on a central window at half
resolution, about a millisecond a frame whatever the camera's resolution, and each frame is
shifted back onto a reference frame.

Sway of a camera aimed at a facade is nearly a pure translation of the image (a rotation of
a few hundredths of a degree moves every pixel by about the same amount). What translation
leaves, the interpolation of two frames at different sub-pixel phases, is a fraction of a
pixel at sharp edges; `tolerant_difference` absorbs it.
"""

from __future__ import annotations

import cv2
import numpy as np

MIN_RESPONSE = 0.15  # phase correlation peak below this: the view itself changed (lights, exposure)
WINDOW_PX = 640  # the shift is measured on the central window of at most this many px a side
DILATE = np.ones((3, 3), np.uint8)


class Stabiliser:
    """Offsets of frames against a reference frame, and frames shifted back onto it."""

    def __init__(self, reference: np.ndarray) -> None:
        h, w = reference.shape[:2]
        self.shape = (w, h)
        # a translation shows as well in a central window as in the whole frame, at a cost
        # that does not grow with the camera's resolution
        ww, wh = min(w, WINDOW_PX), min(h, WINDOW_PX)
        self._box = (slice((h - wh) // 2, (h + wh) // 2), slice((w - ww) // 2, (w + ww) // 2))
        self._small_size = (max(16, ww // 2), max(16, wh // 2))
        self._window = cv2.createHanningWindow(self._small_size, cv2.CV_32F)
        self._refer_to(self._small(reference))
        self._ref_offset = np.zeros(2)
        self._last = np.zeros(2)

    def _refer_to(self, small: np.ndarray) -> None:
        """Measure from this (half-size) frame on. OpenCV's sub-pixel peak, a weighted centroid
        (opencv/opencv#9158), can sit half a pixel off on a facade of regular rows of windows,
        even for the reference correlated with itself: as large as the sway to be measured.
        The bias is the same for every frame of one view, so the reference's own is taken out."""
        self._ref = small
        (bx, by), _response = _correlate(small, small, self._window)
        self._bias = np.array([bx, by])

    def _small(self, img: np.ndarray) -> np.ndarray:
        return cv2.resize(img[self._box], self._small_size, interpolation=cv2.INTER_AREA).astype(np.float32)

    def offset(self, img: np.ndarray) -> np.ndarray:
        """Where this frame's content sits relative to the reference's, in px (x, y).

        When the correlation peak is weak the view changed (an exposure jump, the IR switch):
        this frame becomes the reference, taken to sit where the last one did."""
        small = self._small(img)
        (dx, dy), response = _correlate(self._ref, small, self._window)
        if response < MIN_RESPONSE:
            self._refer_to(small)
            self._ref_offset = self._last.copy()
            return self._last.copy()
        dx, dy = dx - self._bias[0], dy - self._bias[1]
        box_w, box_h = self._box[1].stop - self._box[1].start, self._box[0].stop - self._box[0].start
        self._last = self._ref_offset + (dx * box_w / self._small_size[0], dy * box_h / self._small_size[1])
        return self._last.copy()

    def steady(self, img: np.ndarray, offset: np.ndarray) -> np.ndarray:
        """The frame shifted back by its offset onto the reference."""
        m = np.float32([[1, 0, -offset[0]], [0, 1, -offset[1]]])
        return cv2.warpAffine(img, m, self.shape, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _correlate(a: np.ndarray, b: np.ndarray, window: np.ndarray) -> tuple[tuple[float, float], float]:
    """cv2.phaseCorrelate on copies: OpenCV 5 multiplies the window into its float32 inputs in
    place, which would fade the reference a little more with every frame measured."""
    return cv2.phaseCorrelate(a.copy(), b.copy(), window)


def tolerant_difference(img: np.ndarray, other: np.ndarray) -> np.ndarray:
    """How far each pixel of img lies outside the range of `other` in its 3x3 neighbourhood.

    A plain difference of two frames registered to a fraction of a pixel still lights up
    every sharp edge; against the neighbourhood's range, an edge that moved less than a pixel
    is no change, while a thing that was not there at all is."""
    above = cv2.subtract(img, cv2.dilate(other, DILATE))
    below = cv2.subtract(cv2.erode(other, DILATE), img)
    return cv2.max(above, below)
