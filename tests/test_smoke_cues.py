"""The smoke colour cue on hand-made tiles: a grey veil is smoke-like whatever it covers;
sun glare and clothing, which also change a tile, are not."""

from __future__ import annotations

import numpy as np
import pytest

from edge.detectors.base import CameraContext
from edge.detectors.smoke_fire import SmokeFireConfig, SmokeFireDetector, _chroma

SKY = (210, 160, 110)  # BGR: blue sky or blue glass
WALL = (150, 150, 150)


def cue_over(scene_bgr: tuple[int, int, int], cover_bgr: tuple[int, int, int], alpha: float) -> bool:
    """Does a patch of `cover_bgr` at opacity `alpha` over a plain scene pass the smoke cue?"""
    det = SmokeFireDetector(SmokeFireConfig(), CameraContext("cam", 640, 360, 25.0, None, None))
    scene = np.full((360, 640, 3), scene_bgr, np.uint8)
    img = scene.copy()
    changed = np.zeros((360, 640), bool)
    changed[100:220, 200:360] = True
    img[changed] = np.round(alpha * np.array(cover_bgr) + (1 - alpha) * scene[changed]).astype(np.uint8)
    det.bg_chroma = _chroma(scene)
    return bool(det._cue("smoke", img, _chroma(img), changed, None).any())


@pytest.mark.parametrize("scene", [SKY, WALL])
@pytest.mark.parametrize("alpha", [0.3, 0.7])
def test_a_grey_veil_passes_the_smoke_cue(scene: tuple[int, int, int], alpha: float) -> None:
    assert cue_over(scene, (190, 190, 190), alpha)


@pytest.mark.parametrize(
    ("cover", "why"),
    [
        ((170, 230, 255), "low sun glare on blue glass: less colourful than the sky, but warm"),
        ((40, 60, 220), "a red shirt: more colourful"),
    ],
)
def test_coloured_changes_over_blue_sky_fail_the_smoke_cue(cover: tuple[int, int, int], why: str) -> None:
    assert not cue_over(SKY, cover, 0.85), why
