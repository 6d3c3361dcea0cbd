"""The smoke cues on hand-made frames: a grey veil is smoke-like whatever it covers; sun glare
and clothing, which also change a tile, are not; and what does not move is not smoke."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import pytest
from test_onnx_model import constant_model

from edge.detectors.base import CameraContext, Frame
from edge.detectors.smoke_fire import SmokeFireConfig, SmokeFireDetector, _chroma, _flame, drifting
from edge.onnx_model import ModelConfig

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
    return bool(det._cue("smoke", _flame(img), _chroma(img), changed, None).any())


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


def fire_cue_between(a: np.ndarray, b: np.ndarray) -> bool:
    """Does the second of two frames 1/fps apart pass the fire cue (colour, change, flicker)?"""
    det = SmokeFireDetector(SmokeFireConfig(), CameraContext("cam", 640, 360, 25.0, None, None))
    grey = [cv2.cvtColor(f, cv2.COLOR_BGR2GRAY) for f in (a, b)]
    flicker = det._flicker(grey[0], _flame(a), grey[1], _flame(b))
    changed = cv2.absdiff(grey[0], grey[1]) > 0
    return bool(det._cue("fire", _flame(b), _chroma(b), changed, flicker).any())


def test_a_red_towel_swinging_on_a_rail_does_not_flicker_like_flames() -> None:
    """Moved by a pixel in 40 ms, a towel changes at its edges only; flames change inside."""
    wall = np.full((360, 640, 3), (200, 200, 200), np.uint8)  # a light facade: the towel is darker
    towel = [wall.copy(), wall.copy()]
    for k, f in enumerate(towel):
        f[200:208, 300 + k : 312 + k] = (20, 120, 245)  # orange, 12 x 8 px
    assert not fire_cue_between(*towel)
    rng = np.random.default_rng(0)
    flames = [wall.copy(), wall.copy()]
    for f in flames:  # the same place, its inside brighter or dimmer from frame to frame
        f[200:208, 300:312] = np.stack(
            [np.full((8, 12), 40), rng.integers(110, 200, (8, 12)), rng.integers(235, 256, (8, 12))], -1
        )
    assert fire_cue_between(*flames)


def always_smoke_detector(tmp_path: Path) -> SmokeFireDetector:
    """A detector whose model, a YOLOv8 layout, always boxes the same row as smoke (score 0.9;
    640 x 360 letterboxed into 64 x 64): only the cues and persistence can say no."""
    cols = np.zeros((1, 5, 20), np.float32)
    cols[0, :, 0] = [315 / 10, 160 / 10 + 14, 240 / 10, 60 / 10, 0.9]
    model = constant_model(tmp_path / "always_smoke.onnx", cols, names="{0: 'Smoke'}")
    cfg = SmokeFireConfig(model=ModelConfig(path=str(model)))
    return SmokeFireDetector(cfg, CameraContext("cam", 640, 360, 25.0, None, None))


def test_windows_lit_one_after_another_are_not_smoke(tmp_path: Path) -> None:
    """At night the windows of a row light up one after another: grey patches that appear,
    then hold still, and a lit area that grows. Even with a model that calls that row smoke in
    every sample, it is not smoke: smoke moves. (A tile with a vote is watched and held out of
    the reference scene, so a lit window would stay "changed" and keep voting for good.)"""
    det = always_smoke_detector(tmp_path)
    rng = np.random.default_rng(0)
    found = []
    for sample in range(60):  # 30 s at 2 Hz, each sample a pair of frames 1/25 s apart
        for k in range(2):
            img = np.full((360, 640, 3), 60, np.uint8)
            for window in range(4):
                if sample >= 6 + 6 * window:
                    x = 200 + 60 * window
                    img[130:190, x : x + 50] = 120  # a lit window, grey under IR
            img = np.clip(img + rng.normal(0, 1.5, img.shape), 0, 255).astype(np.uint8)
            index = sample * 12 + k
            found += det.process(Frame(index, index / 25.0, datetime.now(UTC), img, 1.0))
    assert [d for d in found if d.type.value == "smoke"] == []


def test_a_quilt_swinging_in_front_of_a_lit_window_is_not_smoke(tmp_path: Path) -> None:
    """A dark quilt on a rail swings in front of a lit window: between two samples it moves a
    lot, and the model calls it smoke in every sample, but it keeps coming back to where it
    was a swing ago. Smoke never does (its turbulence does not repeat)."""
    det = always_smoke_detector(tmp_path)
    rng = np.random.default_rng(0)
    found = []
    for sample in range(80):  # 40 s at 2 Hz, each sample a pair of frames 1/25 s apart
        for k in range(2):
            index = sample * 12 + k
            t = index / 25.0
            img = np.full((360, 640, 3), 60, np.uint8)
            img[130:190, 260:380] = (120, 200, 230)  # a lit window, warm
            x = 300 + round(40 * np.sin(2 * np.pi * 0.7 * t))  # the quilt, 0.7 Hz
            img[120:200, x - 25 : x + 25] = (90, 90, 95)
            img = np.clip(img + rng.normal(0, 1.5, img.shape), 0, 255).astype(np.uint8)
            found += det.process(Frame(index, t, datetime.now(UTC), img, 1.0))
    assert [d for d in found if d.type.value == "smoke"] == []


SKY_LINE = 150  # for the roofline glare: sky above this row


def veil_frames(kind: str, rng: np.random.Generator, t: float | None) -> np.ndarray:
    """A grey veil over a wall of windows, in the row the always-smoke model boxes, spreading
    as it goes (None: not yet there): rising up the facade ("smoke"), held at one height
    while it wanders sideways and pulses ("glare"), or a glare spot by the roofline
    ("roofline glare"): spreading sideways along the top floor while its lower edge rises,
    and invisible above the roof, where the sky is as bright as the glare; or the glare with
    a cloud drifting past in the sky above it ("glare and cloud"), or with a bright cloud that
    comes to rest on its top edge from one sample to the next, 4 s after it appeared ("glare
    joined")."""
    img = np.full((360, 640, 3), 150, np.float32)
    for x in range(20, 640, 60):
        img[20:340:40, x : x + 30] = 70  # window rows, so the veil has something to cover
    if kind in ("roofline glare", "glare and cloud"):
        img[:SKY_LINE] = 200
    if kind == "glare and cloud" and t is not None:
        cv2.ellipse(img, (round(60 + 20 * t), 35), (90, 25), 0, 0, 360, (250, 250, 250), -1)
    if t is not None:
        veil = np.zeros((360, 640), np.float32)
        if kind == "roofline glare":
            axes = (round(30 + 10 * t), max(2, round(56 - 4 * t)))
            cv2.ellipse(veil, (315, SKY_LINE), axes, 0, 0, 360, 1.0, -1)
        else:
            r = 14 + 1.5 * t + (0 if kind == "smoke" else 4 * np.sin(1.3 * t))
            cx = 315 + (0 if kind == "smoke" else 30 * np.sin(t / 3))
            cy = 200 - 8 * t if kind == "smoke" else 170
            cv2.circle(veil, (round(cx), round(cy)), round(r), 1.0, -1)
            if kind == "glare joined" and t >= 4:
                cv2.ellipse(veil, (round(cx), round(cy - r - 20)), (45, 22), 0, 0, 360, 1.0, -1)
        churn = cv2.resize(rng.random((36, 64), np.float32), (640, 360), interpolation=cv2.INTER_CUBIC)
        veil = cv2.GaussianBlur(veil, (0, 0), 4) * (0.4 + 0.5 * np.clip(churn, 0, 1))
        img = img * (1 - veil[..., None]) + 200 * veil[..., None]
    return np.clip(img + rng.normal(0, 1.5, img.shape), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("kind", ["smoke", "glare", "roofline glare", "glare and cloud", "glare joined"])
def test_smoke_rises_and_a_glare_spot_does_not(tmp_path: Path, kind: str) -> None:
    """Hot smoke is buoyant: what it covers moves up the image, its head first. A grey spot
    that spreads and churns but stays at one height (low sun glare off a window, wandering
    and pulsing) is not smoke, even where the model calls it smoke in every sample; nor is
    one by the roofline whose lower edge rises while the sky hides its top, so that its
    centre rises but its head does not; nor one with a cloud drifting into view in the sky
    above it, which does not touch it; nor one that a cloud joins from one sample to the next,
    whose head jumps up once and then holds (smoke's head advances sample by sample)."""
    det = always_smoke_detector(tmp_path)
    rng = np.random.default_rng(1)
    found = []
    for sample in range(30):  # 15 s at 2 Hz, each sample a pair of frames 1/25 s apart
        img = veil_frames(kind, rng, (sample - 4) / 2.0 if sample >= 4 else None)
        for k in range(2):
            index = sample * 12 + k
            found += det.process(Frame(index, index / 25.0, datetime.now(UTC), img, 1.0))
    smoke = [d for d in found if d.type.value == "smoke" and d.phase == "new"]
    assert bool(smoke) == (kind == "smoke")


def facade_grey(kind: str | None, t: float, rng: np.random.Generator, foot: int = 230) -> np.ndarray:
    """A sample as the detector keeps it (grey, blurred) of a wall of windows with, over it, a
    spot whose outline climbs 3 px a sample from a fixed foot (row `foot`): a smooth sun glow
    that swells and pulses ("glow"), or a veil whose eddies are carried up with it 6 px a
    sample ("veil"); None: the wall alone."""
    img = np.full((360, 640), 150, np.float32)
    for x in range(20, 640, 60):
        img[20:340:40, x : x + 30] = 70
    if kind is not None:
        spot = np.zeros((360, 640), np.float32)
        r = 30 + 3.0 * t
        cv2.circle(spot, (315, round(foot - r)), round(r), 1.0, -1)
        if kind == "glow":
            spot = cv2.GaussianBlur(spot, (0, 0), 10) * (0.8 + 0.15 * np.sin(1.3 * t))
            img = img * (1 - spot) + 250 * spot
        else:
            eddies = cv2.resize(
                np.random.default_rng(5).random((100, 64), np.float32), (640, 1000), interpolation=cv2.INTER_CUBIC
            )
            top = 100 + round(6 * t)  # the eddies move up the image with the veil
            spot = cv2.GaussianBlur(spot, (0, 0), 4) * (0.3 + 0.5 * np.clip(eddies[top : top + 360], 0, 1))
            img = img * (1 - spot) + 200 * spot
        img += rng.normal(0, 1.5, img.shape)
    return cv2.GaussianBlur(np.clip(img, 0, 255).astype(np.uint8), (5, 5), 0)


@pytest.mark.parametrize("kind", ["glow", "veil"])
def test_smoke_carries_its_eddies_up_a_swelling_glow_only_climbs(tmp_path: Path, kind: str) -> None:
    """Both outlines rise well past min_rise, head and centre alike, sample by sample; only
    in the veil does anything move up. A smooth glare glow that swells has no texture for
    the optical flow to follow (at the bench's glare alarms 0-2 % of the spot's pixels moved
    up), while smoke's eddies rise with it."""
    det = always_smoke_detector(tmp_path)
    rng = np.random.default_rng(0)
    det.background = facade_grey(None, 0, rng).astype(np.float32)
    det.recent.extend(facade_grey(kind, s / 2, rng) for s in range(det.recent.maxlen or 12))
    active = np.zeros((len(det.ys), len(det.xs)), bool)
    rows = [r for r, y in enumerate(det.ys) if y <= 170 < y + det.tile]
    cols = [c for c, x in enumerate(det.xs) if x <= 315 < x + det.tile]
    active[np.ix_(rows, cols)] = True
    box, spots = det._spot(active)
    assert det._rise(box, spots) >= 1.5 * det.cfg.expert.min_rise
    assert det._drifts_up(box, spots) == (kind == "veil")
    assert det._rises(active) == (kind == "veil")


@pytest.mark.parametrize("kind", ["glow", "veil"])
def test_a_spot_at_the_top_of_the_view_still_has_to_drift_up(tmp_path: Path, kind: str) -> None:
    """A spot that reaches the top of the image has an outline whose rise cannot be measured
    (smoke that left the view upwards), so only its stuff can tell: a glare glow by the
    roofline that a cloud at the top of the view joined raised a day false alarm on the
    ledger's first confuser clip (seed 7200) when the top of the view alone let it through."""
    det = always_smoke_detector(tmp_path)
    rng = np.random.default_rng(0)
    det.background = facade_grey(None, 0, rng).astype(np.float32)
    det.recent.extend(facade_grey(kind, s / 2, rng, foot=60) for s in range(det.recent.maxlen or 12))
    active = np.zeros((len(det.ys), len(det.xs)), bool)
    cols = [c for c, x in enumerate(det.xs) if x <= 315 < x + det.tile]
    active[0, cols] = True
    box, spots = det._spot(active)
    assert math.isinf(det._rise(box, spots))
    assert det._rises(active) == (kind == "veil")


# Per pair of samples, the share of the spot's pixels moving up (_drifts_up), as measured at the
# first alarm of a real smoke clip and of the smoke ledger's glare false alarm.
HOUSE6_ALARM = [0.23, 0.267, 0.01, 0.813, 0.892, 0.364, 0.569]
GLARE_7600_ALARM = [0.517, 0.015, 0.252, 0.073, 0.469, 0.403, 0.023, 0.102, 0.273, 0.213, 0.05]


@pytest.mark.parametrize(("shares", "smoke"), [(HOUSE6_ALARM, True), (GLARE_7600_ALARM, False)])
def test_stuff_that_moves_up_only_while_a_glow_swells_is_no_drift(shares: list[float], smoke: bool) -> None:
    """Smoke moves up pair after pair (house6: 6 of 7); a glare glow pulsing in place by the
    facade's edge moves up while it swells, about half the time (6 of 11 pairs at the ledger's
    day false alarm, seed 7600, which "more than half" of the pairs let through)."""
    assert drifting(shares) == smoke
