"""Smoke on a facade: a real plume composited onto simulated and real scenes, and the confusers.

The only real residential-like plume we may use is `smoke_on_black.mp4` (Apache-2.0, pyronear):
white smoke filmed on black, so its brightness is its density. `plume(t)` plays it (and then
keeps it burning by cycling its steady part with a cross-fade), `composite` lays it onto a
frame as a fire would: the background behind the smoke loses its detail (blur) and takes
the smoke's colour in proportion to its density, grey-white for a smouldering quilt, dark
for burning plastic.

`render_smoke(...)` writes a facade clip from bench.scenesim with a plume rising from a
balcony at a known time, or a confuser clip (steam puffs, fog, red clothing, lit windows,
laundry, headlights, ...), plus its truth: the *visible onset* (the first frame where at
least 0.05 % of the image is covered by smoke at density >= 0.15), the plume's bounding box
over time, and what the confusers were. The training code (models/train_smoke_fire.py) uses
`composite` on stills; the benchmark (bench/smoke_fire.py) uses the clips.
"""

from __future__ import annotations

import functools
import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np
import yaml

from bench import scenesim

# ../shared/data beside the repository (see its README); GRIDWATCH_SHARED_DATA points elsewhere
DATA = Path(os.environ.get("GRIDWATCH_SHARED_DATA", Path(__file__).resolve().parent.parent.parent / "shared" / "data"))
PLUME_VIDEO = DATA / "smoke-video" / "smoke_on_black.mp4"
PLUME_FPS = 24.0
STEADY_FROM = 60  # plume frames from here on are a developed plume; cycled to keep it burning
FADE = 12  # frames of cross-fade at the cycle seam
VISIBLE_DENSITY = 0.15
VISIBLE_SHARE = 0.0005


@functools.cache
def plume_frames() -> tuple[np.ndarray, ...]:
    """Density maps (float32 0..1) of the real plume, cropped to where it ever is; the source
    (where the smoke comes out) is the middle of the bottom edge."""
    frames = []
    with av.open(str(PLUME_VIDEO)) as box:
        for frame in box.decode(video=0):
            frames.append(frame.to_ndarray(format="gray"))
    union = np.max(frames, axis=0) > 20
    ys, xs = np.nonzero(union)
    cx = (
        int(np.median(np.nonzero(frames[10][-5:] > 60)[1]))
        if (frames[10][-5:] > 60).any()
        else (xs.min() + xs.max()) // 2
    )
    half = max(cx - xs.min(), xs.max() - cx) + 8
    y0 = max(0, ys.min() - 8)
    out = []
    for g in frames:
        crop = g[y0:, max(0, cx - half) : cx + half].astype(np.float32)
        out.append(np.clip((crop - 6) / 190, 0, 1))
    return tuple(out)


def plume(t: float, speed: float = 1.0) -> np.ndarray:
    """Density map of the plume `t` seconds after it started; keeps burning past the footage."""
    frames = plume_frames()
    k = t * PLUME_FPS * speed
    n = len(frames)
    if k < n - FADE:
        return frames[max(0, int(k))]
    cycle = n - FADE - STEADY_FROM
    j = (k - (n - FADE)) % cycle
    a = frames[n - FADE + int(j)] if j < FADE else frames[STEADY_FROM + int(j) - FADE]
    if j < FADE:  # cross-fade from the end of the footage into its steady part
        w = j / FADE
        return (1 - w) * a + w * frames[STEADY_FROM + int(j)]
    return a


def composite(
    img: np.ndarray,
    density: np.ndarray,
    source: tuple[float, float],
    height_px: float,
    opacity: float = 0.8,
    colour: tuple[int, int, int] = (215, 215, 215),
    flip: bool = False,
    spread: float = 1.6,
) -> tuple[int, int, int, int] | None:
    """Blend a density map onto a BGR image in place, its source at `source` (x, y) and
    `height_px` tall and `spread` times as wide as filmed (wind spreads a real plume). Returns the bbox [x1, y1, x2, y2] of visible smoke, or None."""
    h0, w0 = density.shape
    s = height_px / h0
    w, h = max(2, round(w0 * s * spread)), max(2, round(h0 * s))
    d = cv2.resize(density, (w, h), interpolation=cv2.INTER_AREA)
    if flip:
        d = d[:, ::-1]
    x0, y0 = round(source[0] - w / 2), round(source[1] - h)
    H, W = img.shape[:2]
    ax0, ay0, ax1, ay1 = max(0, x0), max(0, y0), min(W, x0 + w), min(H, y0 + h)
    if ax0 >= ax1 or ay0 >= ay1:
        return None
    a = d[ay0 - y0 : ay1 - y0, ax0 - x0 : ax1 - x0, None] * opacity
    region = img[ay0:ay1, ax0:ax1].astype(np.float32)
    k = max(3, int(height_px / 40) | 1)
    behind = cv2.GaussianBlur(region, (k, k), 0)  # smoke hides the detail behind it
    veiled = region * (1 - np.clip(a * 2, 0, 1)) + behind * np.clip(a * 2, 0, 1)
    out = veiled * (1 - a) + np.array(colour, np.float32) * a
    img[ay0:ay1, ax0:ax1] = np.clip(out, 0, 255).astype(np.uint8)
    ys, xs = np.nonzero(a[..., 0] >= VISIBLE_DENSITY)
    if len(xs) < VISIBLE_SHARE * H * W:
        return None
    return ax0 + int(xs.min()), ay0 + int(ys.min()), ax0 + int(xs.max()) + 1, ay0 + int(ys.max()) + 1


def photo_split(seed: int) -> dict[str, dict[str, list[Path]]]:
    """The fire photos split by a seeded shuffle: a quarter of each class held out of training.
    One place, so the trainer and the benchmark hold out the same photos."""
    rng = np.random.default_rng(seed)
    out: dict[str, dict[str, list[Path]]] = {"train": {}, "test": {}}
    for label in ("fire", "normal"):
        folder = DATA / "fire-images" / label
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
        order = rng.permutation(len(files))
        cut = len(files) // 4
        out["test"][label] = [files[i] for i in order[:cut]]
        out["train"][label] = [files[i] for i in order[cut:]]
    return out


def prf(pred: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """Precision, recall and F1 of boolean predictions, as the trainer and the benchmark report them."""
    tp = int((pred & truth).sum())
    fp = int((pred & ~truth).sum())
    fn = int((~pred & truth).sum())
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return {"precision": round(p, 3), "recall": round(r, 3), "f1": round(2 * p * r / (p + r), 3) if p + r else 0.0}


# --- clips ------------------------------------------------------------------------------------

SMOKE_CONFUSERS = ("steam", "fog", "red_clothing", "glare")  # drawn here; the rest by scenesim


@dataclass
class SmokeSpec:
    seed: int = 1
    light: str = "day"
    seconds: float = 40.0
    width: int = 1280
    height: int = 720
    fps: int = 25
    smoke: bool = True
    onset_s: float = 8.0  # when the plume starts to come out (visible a little later)
    storeys_tall: float = 5.0  # the developed plume's height
    opacity: float = 0.75
    colour: tuple[int, int, int] = (215, 215, 215)
    speed: float = 0.6  # residential smoke rises slower than the filmed plume
    confusers: tuple[str, ...] = ()  # from scenesim.CONFUSERS and SMOKE_CONFUSERS


def render_smoke(spec: SmokeSpec, out_dir: Path, name: str = "smoke") -> dict:
    """Write `{name}.mp4`, `{name}.yaml` (camera with the smoke_fire detector), `{name}.truth.json`."""
    rng = np.random.default_rng(spec.seed + 7919)
    scene = scenesim.SceneSpec(
        seed=spec.seed,
        width=spec.width,
        height=spec.height,
        fps=spec.fps,
        seconds=spec.seconds,
        light=spec.light,
        throws=0,
        confusers=tuple(c for c in spec.confusers if c in scenesim.CONFUSERS),
    )
    cam = scenesim.Camera(scene)
    # a balcony in the lower half of the facade whose railing is in view, well inside the frame
    for _ in range(200):
        floor = int(rng.integers(2, max(3, scene.floors // 2)))
        unit_x = rng.uniform(0.15, 0.85) * len(scene.units) * scene.unit_width_m
        sx, sy, _ = cam.project(np.array([unit_x, (floor - 1) * scenesim.STOREY_M + 1.0, scenesim.BALCONY_M]))
        if 0.1 * spec.width < sx < 0.9 * spec.width and 0.35 * spec.height < sy < 0.95 * spec.height:
            break
    else:
        raise ValueError(f"seed {spec.seed}: no balcony of the lower floors is in view")
    storey = abs(
        cam.project(np.array([unit_x, floor * scenesim.STOREY_M, 0]))[1]
        - cam.project(np.array([unit_x, (floor - 1) * scenesim.STOREY_M, 0]))[1]
    )
    flip = bool(rng.random() < 0.5)
    boxes: list[tuple[float, list[int]]] = []
    overlays: list[Callable[[np.ndarray, float], None]] = []
    if spec.smoke:

        def smoke(img: np.ndarray, t: float) -> None:
            if t < spec.onset_s:
                return
            s = t - spec.onset_s
            grow = min(1.0, 0.35 + s / 20)  # the fire grows: the plume gets taller
            bbox = composite(
                img, plume(s, spec.speed), (sx, sy), spec.storeys_tall * storey * grow, spec.opacity, spec.colour, flip
            )
            if bbox is not None:
                boxes.append((round(t, 3), list(bbox)))

        overlays.append(smoke)
    confuser_truth = []
    for kind in spec.confusers:
        if kind in SMOKE_CONFUSERS:
            overlays.append(_confuser(kind, spec, cam, scene, rng))
            confuser_truth.append({"kind": kind})
    truth = scenesim.render(scene, out_dir, name, overlays=overlays)
    truth["smoke"] = None
    if spec.smoke:
        truth["smoke"] = {
            "onset_s": spec.onset_s,
            "visible_s": boxes[0][0] if boxes else None,
            "source_px": [round(float(sx), 1), round(float(sy), 1)],
            "floor": floor,
            "final_bbox": boxes[-1][1] if boxes else None,
            "colour": list(spec.colour),
        }
    truth["confusers"] = truth.get("confusers", []) + confuser_truth
    truth["smoke_spec"] = {k: (list(v) if isinstance(v, tuple) else v) for k, v in spec.__dict__.items()}
    (out_dir / f"{name}.truth.json").write_text(json.dumps(truth, indent=1))
    site = yaml.safe_load((out_dir / f"{name}.yaml").read_text())
    site["cameras"][0]["detectors"] = {"smoke_fire": {}}
    (out_dir / f"{name}.yaml").write_text(yaml.safe_dump(site, sort_keys=False))
    return truth


def _confuser(
    kind: str, spec: SmokeSpec, cam: scenesim.Camera, scene: scenesim.SceneSpec, rng: np.random.Generator
) -> Callable[[np.ndarray, float], None]:
    W, H = spec.width, spec.height
    if kind == "steam":
        # kitchen and bath vents: white puffs that dissipate within a couple of seconds
        puffs = [
            (
                rng.uniform(2, spec.seconds - 3),
                rng.uniform(0.2, 0.8) * W,
                rng.uniform(0.3, 0.9) * H,
                rng.uniform(0.8, 2.0),
            )
            for _ in range(max(1, int(spec.seconds / 6)))
        ]

        def draw(img: np.ndarray, t: float) -> None:
            for t0, x, y, dur in puffs:
                s = t - t0
                if 0 <= s <= dur:
                    fade = 1 - s / dur
                    composite(img, plume(0.8 + s), (x, y), H * 0.12, 0.7 * fade, (235, 235, 235))

        return draw
    if kind == "fog":
        # haze that rolls in over the whole view and stays: global, not a growing source
        t_in, grey = rng.uniform(3, spec.seconds / 3), rng.uniform(170, 215)

        def draw(img: np.ndarray, t: float) -> None:
            a = 0.55 * min(1.0, max(0.0, (t - t_in) / 8))
            if a > 0:
                cv2.addWeighted(img, 1 - a, np.full_like(img, int(grey)), a, 0, dst=img)

        return draw
    if kind == "red_clothing":
        # red and orange clothes and towels swinging on balcony rails
        items = []
        for _ in range(5):
            fl = int(rng.integers(2, scene.floors - 2))
            x = rng.uniform(0.1, 0.9) * len(scene.units) * scene.unit_width_m
            colour = ((30, 40, 220), (20, 120, 245), (40, 90, 200), (60, 60, 230))[int(rng.integers(4))]
            items.append((fl, x, colour, rng.uniform(0.4, 1.0), rng.uniform(0, 6)))

        def draw(img: np.ndarray, t: float) -> None:
            for fl, x, colour, freq, ph in items:
                swing = 0.4 * math.sin(2 * math.pi * freq * t + ph)
                top = (fl - 1) * scenesim.STOREY_M + 2.2
                pts = [
                    (x - 0.4, top, 1.0),
                    (x + 0.4, top, 1.0),
                    (x + 0.4 + swing, top - 0.9, 1.2),
                    (x - 0.4 + swing, top - 0.9, 1.2),
                ]
                px, py, _ = cam.project(np.array(pts))
                cv2.fillConvexPoly(img, np.int32(np.round(np.stack([px, py], 1))), colour, cv2.LINE_AA)

        return draw
    if kind == "glare":
        # the low sun reflected off windows: a bright warm blob that wanders and pulses
        x0, y0 = rng.uniform(0.2, 0.8) * W, rng.uniform(0.2, 0.7) * H

        def draw(img: np.ndarray, t: float) -> None:
            x = x0 + 40 * math.sin(t / 5)
            r = H * (0.06 + 0.02 * math.sin(t * 1.3))
            scenesim.blob(img, (x, y0), (r, r), 0, (170, 230, 255), int(r / 3) | 1, 0.85)

        return draw
    raise ValueError(f"unknown smoke confuser {kind!r}; known: {', '.join(SMOKE_CONFUSERS)}")


def main() -> None:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--seconds", type=float, default=40)
    ap.add_argument("--light", default="day", choices=("day", "dusk", "night"))
    ap.add_argument("--no-smoke", action="store_true")
    ap.add_argument("--confusers", default="", help="comma-separated")
    args = ap.parse_args()
    spec = SmokeSpec(
        seed=args.seed,
        seconds=args.seconds,
        light=args.light,
        smoke=not args.no_smoke,
        confusers=tuple(c for c in args.confusers.split(",") if c),
    )
    truth = render_smoke(spec, args.out_dir)
    print(json.dumps(truth["smoke"], indent=1))


if __name__ == "__main__":
    main()
