"""Camera shake (edge.shake): the facade's shift between frames is measured to a fraction of a
pixel, and a frame shifted back differs from its reference only where something new is."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from edge.shake import Stabiliser, tolerant_difference


def facade(rng: np.random.Generator) -> np.ndarray:
    """A grey wall with a grid of dark windows and some texture, 640x360."""
    img = np.full((360, 640), 150, np.uint8)
    for y in range(20, 340, 40):
        for x in range(20, 620, 50):
            cv2.rectangle(img, (x, y), (x + 24, y + 18), 60, -1)
    return cv2.add(img, rng.integers(0, 12, img.shape, dtype=np.uint8))


def shifted(img: np.ndarray, dx: float, dy: float) -> np.ndarray:
    m = np.float32([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(img, m, img.shape[::-1], flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


@pytest.mark.parametrize("dx,dy", [(1.3, -0.6), (-2.7, 2.2), (0.4, 0.0)])
def test_the_shift_of_a_swaying_frame_is_measured(dx: float, dy: float) -> None:
    ref = facade(np.random.default_rng(1))
    steady = Stabiliser(ref)
    offset = steady.offset(shifted(ref, dx, dy))
    assert offset == pytest.approx([dx, dy], abs=0.25)


def test_a_frame_shifted_back_differs_only_where_something_new_is() -> None:
    ref = facade(np.random.default_rng(2))
    moved = shifted(ref, 2.4, -1.7)
    cv2.circle(moved, (300, 200), 3, 255, -1)  # a small bright object, new in this frame
    steady = Stabiliser(ref)
    back = steady.steady(moved, steady.offset(moved))
    plain = cv2.absdiff(back, ref)[10:-10, 10:-10]
    tolerant = tolerant_difference(back, ref)[10:-10, 10:-10]
    assert (plain > 30).sum() > 100  # window edges light up without tolerance
    changed = np.argwhere(tolerant > 30)
    assert len(changed) > 0
    assert np.abs(changed - (190, 290)).max() <= 5  # only the object remains


def test_the_reference_itself_has_not_moved() -> None:
    """A facade of regular rows correlated with itself: OpenCV can put the peak half a pixel
    off; the reference (or a repeated frame) has moved by nothing."""
    img = np.full((222, 320), 170, np.uint8)
    for y in range(10, 210, 24):
        img[y : y + 12] = 70
    steady = Stabiliser(img)
    assert steady.offset(img.copy()) == pytest.approx([0.0, 0.0])


def test_measuring_leaves_the_reference_as_it_was() -> None:
    """A camera swaying for minutes is measured against one reference: measuring must not wear
    it (OpenCV 5's phaseCorrelate writes its window into its inputs)."""
    ref = facade(np.random.default_rng(4))
    steady = Stabiliser(ref)
    for k in range(30):
        steady.offset(shifted(ref, 0.1 * k % 2, 0.0))
    assert steady.offset(shifted(ref, 1.5, -1.0)) == pytest.approx([1.5, -1.0], abs=0.25)
