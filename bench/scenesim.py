"""Scene simulator: upward-looking facade video with thrown objects and confusers, and its truth.

A planar facade (storeys, units, windows, balcony slabs) is seen through a pinhole camera
standing `distance_m` in front of it and tilted up, so upper floors are foreshortened as on
a real installation. Thrown objects fly real ballistics with quadratic drag (terminal
velocity per object) in 3-D and are projected, motion-blurred over the exposure time and
blended at their sub-pixel coverage, so a cigarette ember at night is a short bright streak
and a bottle by day is a few dark pixels. Confusers move with their own physics: birds fly
level, climb, glide and land; insects flutter near the lens; leaves and paper drift at
terminal velocity; rain and snow fall in many parallel streaks; laundry swings; trees sway;
clouds drift; the camera shakes; exposure jumps; windows light up; headlights sweep.

`render(spec, out_dir)` writes `scene.mp4` (H.264 at a camera-like bitrate), `site.yaml`
(the camera with the facade calibration an installer would make) and `truth.json`. The
same seed gives the same scene.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import av
import cv2
import numpy as np
import yaml

G = 9.81
STOREY_M = 3.0
BALCONY_M = 1.2  # balcony fronts stand this far out of the wall; installers calibrate on them

# name: (diameter m, terminal velocity m/s, BGR colour by day, emissive)
OBJECTS: dict[str, tuple[float, float, tuple[int, int, int], bool]] = {
    "cigarette": (0.012, 6.0, (255, 255, 255), True),  # the ember is what a camera sees at night
    "bottle_cap": (0.03, 20.0, (40, 40, 200), False),
    "egg": (0.05, 25.0, (230, 235, 240), False),
    "fruit": (0.08, 30.0, (40, 140, 200), False),
    "can": (0.07, 25.0, (60, 60, 60), False),
    "bottle": (0.08, 35.0, (60, 110, 60), False),
    "shoe": (0.15, 25.0, (30, 30, 30), False),
    "rubbish_bag": (0.25, 14.0, (20, 20, 20), False),
    "flower_pot": (0.22, 45.0, (50, 80, 150), False),
    "brick": (0.2, 50.0, (60, 70, 140), False),
}

CONFUSERS = (
    "bird",
    "insect",
    "leaf",
    "paper",
    "laundry",
    "tree",
    "clouds",
    "exposure",
    "window_lights",
    "headlights",
)


@dataclass
class SceneSpec:
    seed: int = 1
    width: int = 1280
    height: int = 720
    fps: int = 25
    seconds: float = 30.0
    light: str = "day"  # day | dusk | night
    weather: str = "clear"  # clear | rain | snow
    shake_px: float = 0.0  # camera shake amplitude in px
    throws: int = 4  # thrown objects, spread over the clip
    objects: tuple[str, ...] = ()  # draw throws from these; () = by light (embers at night)
    styles: tuple[str, ...] = ("drop", "drop", "toss", "toss", "up")  # drawn evenly from this list
    confusers: tuple[str, ...] = ()
    floors: int = 18
    units: tuple[str, ...] = ("01", "02", "03")
    unit_width_m: float = 10.0
    distance_m: float = 15.0  # camera to facade, horizontal
    camera_height_m: float = 1.5
    tilt_deg: float = 62.0  # up from horizontal
    hfov_deg: float = 80.0
    noise: float = 2.5  # sensor noise, grey levels (x3 at night)
    bitrate: int | None = None  # bit/s; None = 2.5 Mbit/s per megapixel at 25 fps

    def validate(self) -> None:
        if self.light not in ("day", "dusk", "night"):
            raise ValueError(f"light must be day, dusk or night, not {self.light!r}")
        if self.weather not in ("clear", "rain", "snow"):
            raise ValueError(f"weather must be clear, rain or snow, not {self.weather!r}")
        for name in self.confusers:
            if name not in CONFUSERS:
                raise ValueError(f"unknown confuser {name!r}; known: {', '.join(CONFUSERS)}")
        for name in self.objects:
            if name not in OBJECTS:
                raise ValueError(f"unknown object {name!r}; known: {', '.join(OBJECTS)}")


class Camera:
    """Pinhole camera in front of the facade plane Z=0 (X right along it, Y up, Z toward the camera)."""

    def __init__(self, spec: SceneSpec) -> None:
        self.w, self.h = spec.width, spec.height
        self.f = (spec.width / 2) / math.tan(math.radians(spec.hfov_deg) / 2)
        self.c = np.array([len(spec.units) * spec.unit_width_m / 2, spec.camera_height_m, spec.distance_m])
        th = math.radians(spec.tilt_deg)
        self.fwd = np.array([0.0, math.sin(th), -math.cos(th)])
        self.right = np.array([1.0, 0.0, 0.0])
        self.down = -np.cross(self.right, self.fwd)

    def project(self, p: np.ndarray) -> tuple[float, float, float]:
        """Image x, y and depth of world points (..., 3)."""
        d = np.asarray(p, float) - self.c
        z = d @ self.fwd
        return (self.f * (d @ self.right) / z + self.w / 2, self.f * (d @ self.down) / z + self.h / 2, z)

    def px_size(self, p: np.ndarray, size_m: float) -> float:
        return float(self.f * size_m / max(1e-3, self.project(p)[2]))


# --- the static scene -------------------------------------------------------------------


class Facade:
    """Texture of the facade in metres (PPM px per metre) and where its features are."""

    PPM = 24

    def __init__(self, spec: SceneSpec, rng: np.random.Generator) -> None:
        self.width_m = len(spec.units) * spec.unit_width_m
        self.height_m = spec.floors * STOREY_M
        w, h = int(self.width_m * self.PPM), int(self.height_m * self.PPM)
        tex = np.empty((h, w, 3), np.uint8)
        tex[:] = rng.integers(170, 200, 3)
        grain = rng.normal(0, 6, (h, w, 1))
        tex = np.clip(tex + grain, 0, 255).astype(np.uint8)
        self.texture = tex
        self.windows: list[tuple[float, float, float, float]] = []  # x0, y0, x1, y1 in metres (y up)
        self.balconies: list[tuple[int, str, float, float]] = []  # floor, unit, x centre m, slab height m
        for floor in range(1, spec.floors + 1):
            y0 = (floor - 1) * STOREY_M
            for u, unit in enumerate(spec.units):
                xu = u * spec.unit_width_m
                for k, (a, b) in enumerate(((0.08, 0.42), (0.58, 0.92))):
                    wx0, wx1 = xu + a * spec.unit_width_m, xu + b * spec.unit_width_m
                    self.windows.append((wx0, y0 + 0.9, wx1, y0 + 2.6))
                    if k == 0:
                        self.balconies.append((floor, unit, (wx0 + wx1) / 2, y0))
            # balcony slab and railing shadow
            sy = h - int(y0 * self.PPM)
            cv2.rectangle(tex, (0, sy - 5), (w, sy), (215, 215, 220), -1)
            cv2.rectangle(tex, (0, sy - int(1.1 * self.PPM)), (w, sy - 5), (150, 150, 160), 1)
        for x0, y0, x1, y1 in self.windows:
            cv2.rectangle(tex, self._px(x0, y1), self._px(x1, y0), (95, 85, 75), -1)
            cv2.line(tex, self._px((x0 + x1) / 2, y1), self._px((x0 + x1) / 2, y0), (140, 140, 140), 2)
        for u in range(1, len(spec.units)):
            x = int(u * spec.unit_width_m * self.PPM)
            cv2.line(tex, (x, 0), (x, h), (150, 150, 160), 3)

    def _px(self, x: float, y: float) -> tuple[int, int]:
        return int(x * self.PPM), int(self.texture.shape[0] - y * self.PPM)

    def homography(self, cam: Camera) -> np.ndarray:
        """Texture px -> image px for the plane Z=0."""
        h, w = self.texture.shape[:2]
        src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
        world = np.array([[0, self.height_m, 0], [self.width_m, self.height_m, 0], [self.width_m, 0, 0], [0, 0, 0]])
        x, y, _ = cam.project(world)
        return cv2.getPerspectiveTransform(src, np.float32(np.stack([x, y], 1)))


LIGHT = {  # facade gain, sky BGR, share of windows lit, noise factor
    "day": (1.0, (235, 205, 170), 0.0, 1.0),
    "dusk": (0.55, (120, 120, 150), 0.35, 1.8),
    "night": (0.22, (28, 22, 20), 0.3, 3.0),
}


def static_background(spec: SceneSpec, cam: Camera, facade: Facade, rng: np.random.Generator) -> np.ndarray:
    gain, sky, lit_share, _ = LIGHT[spec.light]
    img = np.empty((spec.height, spec.width, 3), np.uint8)
    ys = np.linspace(0, 1, spec.height)[:, None, None]
    img[:] = np.clip(np.array(sky) * (0.85 + 0.3 * ys), 0, 255).astype(np.uint8)
    tex = np.clip(facade.texture.astype(np.float32) * gain, 0, 255).astype(np.uint8)
    if lit_share:
        for x0, y0, x1, y1 in facade.windows:
            if rng.random() < lit_share:
                cv2.rectangle(tex, facade._px(x0, y1), facade._px(x1, y0), (120, 200, 235), -1)
    hom = facade.homography(cam)
    warped = cv2.warpPerspective(tex, hom, (spec.width, spec.height), flags=cv2.INTER_AREA)
    inside = cv2.warpPerspective(np.full(tex.shape[:2], 255, np.uint8), hom, (spec.width, spec.height))
    img[inside > 128] = warped[inside > 128]
    return img


def calibration(spec: SceneSpec, cam: Camera) -> dict:
    """The facade an installer would calibrate: the lowest whole storey in view to the roof, on
    the plane of the balcony fronts (where things are let go), as docs/THROWN.md tells them."""
    width_m = len(spec.units) * spec.unit_width_m
    lo = 1
    while lo < spec.floors:
        _, y, _ = cam.project(np.array([0.0, (lo - 1) * STOREY_M, BALCONY_M]))
        if y <= spec.height - 2:
            break
        lo += 1
    pts = np.array(
        [
            [0, spec.floors * STOREY_M, BALCONY_M],
            [width_m, spec.floors * STOREY_M, BALCONY_M],
            [width_m, (lo - 1) * STOREY_M, BALCONY_M],
            [0, (lo - 1) * STOREY_M, BALCONY_M],
        ]
    )
    x, y, _ = cam.project(pts)
    return {
        "corners": [[round(float(a), 1), round(float(b), 1)] for a, b in zip(x, y, strict=True)],
        "floors": [lo, spec.floors],
        "units": list(spec.units),
    }


# --- drawing ------------------------------------------------------------------------------


def stamp(
    img: np.ndarray, p0: tuple[float, float], p1: tuple[float, float], diam: float, color, alpha: float = 1.0
) -> None:
    """Blend a disc of diameter `diam` px swept from p0 to p1 (motion blur) at its true coverage.

    Drawn 4x supersampled and area-averaged, so a 0.3 px object darkens its pixel by ~10 %
    instead of vanishing or becoming a whole pixel; a long streak is fainter per pixel than
    the object itself, as the exposure is shared along it (unless `alpha` > 1: emissive)."""
    s = 4
    h, w = img.shape[:2]
    lim = 2 * max(w, h)  # behind or right next to the lens: not drawable, and not in view anyway
    if not all(-lim < v < 2 * lim for v in (*p0, *p1)) or not 0 <= diam < lim:
        return
    r = max(diam, 0.25) / 2
    x0, x1 = int(math.floor(min(p0[0], p1[0]) - r - 2)), int(math.ceil(max(p0[0], p1[0]) + r + 2))
    y0, y1 = int(math.floor(min(p0[1], p1[1]) - r - 2)), int(math.ceil(max(p0[1], p1[1]) + r + 2))
    cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if cx1 <= cx0 or cy1 <= cy0:
        return
    mask = np.zeros(((y1 - y0) * s, (x1 - x0) * s), np.uint8)
    a = (int((p0[0] - x0) * s), int((p0[1] - y0) * s))
    b = (int((p1[0] - x0) * s), int((p1[1] - y0) * s))
    cv2.line(mask, a, b, 255, max(1, int(round(2 * r * s))), cv2.LINE_AA)
    cov = cv2.resize(mask, (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA).astype(np.float32) / 255
    length = math.hypot(p1[0] - p0[0], p1[1] - p0[1])
    cov *= min(1.0, alpha * (2 * r) / (2 * r + length))
    cov = np.minimum(cov, 1.0)[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0, None]
    roi = img[cy0:cy1, cx0:cx1]
    roi[:] = (roi * (1 - cov) + np.array(color, np.float32) * cov).astype(np.uint8)


@functools.lru_cache(maxsize=512)
def _sprite(ax: tuple[int, int], angle: int, blur: int) -> tuple[np.ndarray, int, int]:
    """A soft ellipse's coverage, cut to where it is not nought (a blurred cloud's sprite is
    mostly empty rows, and blending them changes nothing), with the offset of its top-left
    corner from the centre: rows, then columns."""
    pad = max(ax) + 2 * blur + 2
    mask = np.zeros((2 * pad, 2 * pad), np.float32)
    cv2.ellipse(mask, (pad, pad), ax, angle, 0, 360, 1.0, -1, cv2.LINE_AA)
    if blur:
        mask = cv2.GaussianBlur(mask, (0, 0), blur)
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    if not len(rows):
        return mask[:0, :0], 0, 0
    return mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1], int(rows[0]) - pad, int(cols[0]) - pad


def blob(
    img: np.ndarray,
    center: tuple[float, float],
    axes: tuple[float, float],
    angle: float,
    color,
    blur: int,
    alpha: float,
) -> None:
    """A soft ellipse (insects near the lens, leaves, headlights, clouds)."""
    mask, dy, dx = _sprite((max(1, int(axes[0])), max(1, int(axes[1]))), int(round(angle / 10)) * 10, int(blur))
    x0, y0 = int(center[0]) + dx, int(center[1]) + dy
    h, w = img.shape[:2]
    cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x0 + mask.shape[1], w), min(y0 + mask.shape[0], h)
    if cx1 <= cx0 or cy1 <= cy0:
        return
    cov = mask[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0] * np.float32(alpha)
    roi = img[cy0:cy1, cx0:cx1]
    # OpenCV's per-pixel weighted blend, rounded: a third of the time numpy's float arithmetic took
    # on the big soft sprites (clouds, headlights) that dominate a confuser clip's rendering
    paint = np.full(roi.shape, color, np.uint8)
    roi[:] = cv2.blendLinear(roi, paint, 1.0 - cov, cov)


# --- moving things --------------------------------------------------------------------------


def ballistic(p0: np.ndarray, v0: np.ndarray, vt: float, t_end: float, dt: float) -> np.ndarray:
    """Positions every dt from release under gravity and quadratic drag (terminal speed vt)."""
    k = G / (vt * vt)
    p, v = p0.astype(float).copy(), v0.astype(float).copy()
    out = [p.copy()]
    sub = 8
    h = dt / sub
    for _ in range(int(t_end / dt)):
        for _ in range(sub):
            a = np.array([0.0, -G, 0.0]) - k * np.linalg.norm(v) * v
            v = v + a * h
            p = p + v * h
        out.append(p.copy())
    return np.array(out)


@dataclass
class Throw:
    id: int
    object: str
    release_t: float
    floor: int
    unit: str
    size_m: float
    terminal_mps: float
    path: np.ndarray  # world positions every frame from release
    truth: dict = field(default_factory=dict)


class Mover:
    """A thing with a position per frame and a way to draw itself."""

    def __init__(self, t0: float, draw: Callable[[np.ndarray, float], None], kind: str) -> None:
        self.t0, self.draw, self.kind = t0, draw, kind


def plan_throws(spec: SceneSpec, cam: Camera, facade: Facade, calib: dict, rng: np.random.Generator) -> list[Throw]:
    # by day a cigarette butt is a 0.3 px smudge nobody can see; at night its ember glows
    names = spec.objects or (tuple(OBJECTS) if spec.light == "night" else tuple(n for n in OBJECTS if n != "cigarette"))
    lo, hi = calib["floors"]
    throws = []
    slot = spec.seconds / max(1, spec.throws)
    dt = 1 / spec.fps
    for i in range(spec.throws):
        name = names[int(rng.integers(len(names)))]
        size, vt, _, _ = OBJECTS[name]
        size *= rng.uniform(0.8, 1.25)
        floor = int(rng.integers(max(lo + 3, 4), hi + 1))  # at least 2 storeys above the calibrated bottom
        # only balconies the camera sees: a throw out of the picture is no test
        balcony = [
            b
            for b in facade.balconies
            if b[0] == floor and 0.05 * spec.width < cam.project(np.array([b[2], b[3], 1.0]))[0] < 0.95 * spec.width
        ] or [b for b in facade.balconies if b[0] == floor]
        _, unit, xc, slab = balcony[int(rng.integers(len(balcony)))]
        p0 = np.array([xc + rng.uniform(-2, 2), slab + rng.uniform(1.0, 1.3), rng.uniform(0.8, 1.4)])
        r = rng.random()
        style = spec.styles[min(int(r * len(spec.styles)), len(spec.styles) - 1)]
        if style == "drop":  # dropped or flicked over the railing
            v0 = np.array([rng.uniform(-0.3, 0.3), rng.uniform(-0.3, 0.3), rng.uniform(0.2, 1.0)])
        elif style == "toss":  # tossed out
            v0 = np.array([rng.uniform(-1.5, 1.5), rng.uniform(-0.5, 1.5), rng.uniform(1.0, 3.0)])
        else:  # thrown up and out
            v0 = np.array([rng.uniform(-2, 2), rng.uniform(1.5, 4.0), rng.uniform(1.5, 4.0)])
        release_t = i * slot + rng.uniform(0.5, max(0.6, slot - 4.0))
        path = ballistic(p0, v0, vt, t_end=6.0, dt=dt)
        path = path[: np.argmax(path[:, 1] < 0) or len(path)]
        fell2 = np.argmax(path[:, 1] < p0[1] - 2 * STOREY_M - 1e-9)
        x, y, _ = cam.project(path[0])
        ex, ey, _ = cam.project(path)
        visible = (ex >= 0) & (ex < spec.width) & (ey >= 0) & (ey < spec.height)
        # leaves the view: the first step out of it after it has been in it (a release just
        # above the top edge comes into view first)
        seen = int(np.argmax(visible)) if visible.any() else 0
        gone = ~visible[seen + 1 :]
        exit_i = seen + 1 + int(np.argmax(gone)) if gone.any() else len(path) - 1
        # thrown up past the top edge, it may come back into view: its last frame in view
        last_i = int(np.flatnonzero(visible)[-1]) if visible.any() else exit_i
        throws.append(
            Throw(
                i,
                name,
                release_t,
                floor,
                unit,
                size,
                vt,
                path,
                truth={
                    "id": i,
                    "object": name,
                    "style": style,
                    "release_t": round(release_t, 3),
                    "floor": floor,
                    "unit": unit,
                    "size_m": round(size, 3),
                    "terminal_mps": vt,
                    "release_xy": [round(float(x), 1), round(float(y), 1)],
                    "size_px": round(cam.px_size(path[0], size), 2),
                    "night_streak": bool(OBJECTS[name][3] and spec.light == "night"),
                    "fallen_2_storeys_t": round(release_t + int(fell2) * dt, 3) if fell2 else None,
                    "exit_t": round(release_t + exit_i * dt, 3),
                    "last_seen_t": round(release_t + max(exit_i, last_i) * dt, 3),
                    # where it is on the image each frame from release until it leaves the view
                    # for the last time (off the image in between, if it went above the top)
                    "image_path": [
                        [round(float(u), 1), round(float(v), 1)]
                        for u, v in zip(ex[: max(exit_i, last_i) + 1], ey[: max(exit_i, last_i) + 1], strict=True)
                    ],
                },
            )
        )
    return throws


def draw_throw(img: np.ndarray, th: Throw, t: float, spec: SceneSpec, cam: Camera, exposure: float) -> None:
    i = (t - th.release_t) * spec.fps
    if i < 0 or i >= len(th.path) - 1:
        return
    j = int(i)
    frac = i - j
    p1 = th.path[j] * (1 - frac) + th.path[j + 1] * frac
    back = max(0.0, i - exposure * spec.fps)
    k = int(back)
    p0 = th.path[k] * (1 - (back - k)) + th.path[min(k + 1, len(th.path) - 1)] * (back - k)
    x0, y0, _ = cam.project(p0)
    x1, y1, _ = cam.project(p1)
    diam = cam.px_size(p1, th.size_m)
    _, _, color, emissive = OBJECTS[th.object]
    if spec.light == "night" and emissive:
        stamp(img, (x0, y0), (x1, y1), max(diam, 0.6), (170, 220, 255), alpha=40.0)  # a glowing ember
    elif spec.light == "night":
        stamp(img, (x0, y0), (x1, y1), diam, (150, 150, 150), alpha=1.0)  # lit by the camera's IR
    else:
        gain = LIGHT[spec.light][0]
        stamp(img, (x0, y0), (x1, y1), diam, tuple(int(c * gain) for c in color), alpha=1.0)


def make_confusers(
    spec: SceneSpec, cam: Camera, facade: Facade, rng: np.random.Generator
) -> tuple[list[Mover], list[dict]]:
    movers: list[Mover] = []
    truth: list[dict] = []
    night = spec.light == "night"
    gain = LIGHT[spec.light][0]
    width_m, height_m = facade.width_m, facade.height_m

    def every(period: float) -> list[float]:
        n = max(1, int(spec.seconds / period))
        return [(k + rng.uniform(0.1, 0.9)) * spec.seconds / n for k in range(n)]

    for name in spec.confusers:
        if name == "bird":
            for t0 in every(6.0):
                mode = ["level", "rising", "gliding", "landing", "swooping"][int(rng.integers(5))]
                z = rng.uniform(2.0, 9.0)
                y = rng.uniform(0.35, 0.9) * height_m
                speed = rng.uniform(5, 12) * (1 if rng.random() < 0.5 else -1)
                x0 = -3.0 if speed > 0 else width_m + 3
                vy = {"level": 0.0, "rising": 2.0, "gliding": -1.5, "landing": -2.5, "swooping": -4.0}[mode]
                flap = rng.uniform(4, 8)
                dur = (width_m + 6) / abs(speed)

                def draw(img, t, t0=t0, z=z, y=y, x0=x0, speed=speed, vy=vy, flap=flap, dur=dur, mode=mode):
                    s = t - t0
                    if not 0 <= s <= dur:
                        return
                    if mode == "landing":  # decelerates onto a balcony
                        k = min(1.0, s / dur)
                        pos = np.array([x0 + speed * dur * (k - k * k / 2), y + vy * dur * (k - k * k / 2), z])
                    elif mode == "swooping":  # down, then pulls up
                        pos = np.array([x0 + speed * s, y + vy * s + 0.9 * s * s, z])
                    else:
                        pos = np.array([x0 + speed * s, y + vy * s, z])
                    px, py, _ = cam.project(pos)
                    span = cam.px_size(pos, 0.45) * (0.4 + 0.6 * abs(math.sin(2 * math.pi * flap * s)))
                    body = cam.px_size(pos, 0.12)
                    c = (160, 160, 160) if night else tuple(int(40 * gain) for _ in range(3))
                    stamp(img, (px - span / 2, py), (px + span / 2, py), max(body / 2, 0.5), c)
                    stamp(img, (px, py), (px, py), body, c)

                movers.append(Mover(t0, draw, name))
                truth.append({"kind": name, "t": round(t0, 2), "mode": mode})
        elif name == "insect":
            for t0 in every(8.0):
                dur = rng.uniform(1.5, 4.0)
                start = np.array([rng.uniform(0.2, 0.8) * spec.width, rng.uniform(0.1, 0.7) * spec.height])
                steps = rng.normal(0, 1, (int(dur * spec.fps) + 2, 2)).cumsum(0) * spec.width * 0.004
                drift = np.array([rng.uniform(-1, 1), rng.uniform(0, 2.5)]) * spec.width * 0.004
                size = rng.uniform(0.02, 0.05) * spec.width

                def draw(img, t, t0=t0, dur=dur, start=start, steps=steps, drift=drift, size=size):
                    s = t - t0
                    if not 0 <= s <= dur:
                        return
                    k = int(s * spec.fps)
                    p = start + steps[k] + drift * k
                    c = (235, 235, 235) if night else (30, 30, 30)
                    blob(img, (p[0], p[1]), (size * 0.5, size * 0.25), 30 * math.sin(5 * s), c, int(size * 0.3), 0.6)

                movers.append(Mover(t0, draw, name))
                truth.append({"kind": name, "t": round(t0, 2)})
        elif name in ("leaf", "paper"):
            for t0 in every(5.0):
                vt = rng.uniform(0.8, 2.0) if name == "leaf" else rng.uniform(1.0, 2.5)
                x = rng.uniform(0.1, 0.9) * width_m
                z = rng.uniform(0.5, 5.0)
                y0 = height_m * rng.uniform(0.5, 1.0)
                amp, freq = rng.uniform(0.3, 1.2), rng.uniform(0.3, 0.8)
                size = 0.07 if name == "leaf" else 0.2
                c = (40, 120, 60) if name == "leaf" else (235, 235, 235)

                def draw(img, t, t0=t0, vt=vt, x=x, z=z, y0=y0, amp=amp, freq=freq, size=size, c=c):
                    s = t - t0
                    if s < 0 or y0 - vt * s < 0:
                        return
                    pos = np.array([x + amp * math.sin(2 * math.pi * freq * s), y0 - vt * s, z])
                    px, py, _ = cam.project(pos)
                    d = cam.px_size(pos, size) * (0.5 + 0.5 * abs(math.cos(2 * math.pi * freq * s)))
                    cc = (130, 130, 130) if night else tuple(int(v * gain) for v in c)
                    stamp(img, (px, py), (px, py), d, cc)

                movers.append(Mover(t0, draw, name))
                truth.append({"kind": name, "t": round(t0, 2)})
        elif name == "laundry":
            hangers = [facade.balconies[int(rng.integers(len(facade.balconies)))] for _ in range(4)]
            for _floor, _unit, xc, slab in hangers:
                freq, amp, phase = rng.uniform(0.3, 1.0), rng.uniform(0.2, 0.6), rng.uniform(0, 6)
                big = rng.random() < 0.5  # a quilt over the railing, or a shirt on a rail
                colour = tuple(int(v) for v in rng.integers(60, 240, 3))

                def draw(img, t, xc=xc, slab=slab, freq=freq, amp=amp, phase=phase, big=big, colour=colour):
                    swing = amp * math.sin(2 * math.pi * freq * t + phase)
                    top = slab + (1.1 if big else 2.4)
                    length, width = (1.6, 1.8) if big else (0.8, 0.6)
                    corners = [
                        (xc - width / 2, top, 1.0),
                        (xc + width / 2, top, 1.0),
                        (xc + width / 2 + swing, top - length, 1.0 + abs(swing)),
                        (xc - width / 2 + swing, top - length, 1.0 + abs(swing)),
                    ]
                    x, y, _ = cam.project(np.array(corners))
                    c = tuple(int(v * gain) for v in colour)
                    cv2.fillConvexPoly(img, np.int32(np.round(np.stack([x, y], 1))), c, cv2.LINE_AA)

                movers.append(Mover(0.0, draw, name))
            truth.append({"kind": name, "t": 0.0})
        elif name == "tree":
            base = np.array([rng.uniform(0.2, 0.8) * width_m, 0.0, rng.uniform(4, 7)])
            freq = rng.uniform(0.2, 0.5)

            def draw(img, t, base=base, freq=freq):
                for k in range(9):
                    sway = 0.4 * math.sin(2 * math.pi * freq * t + k)
                    pos = base + np.array([(k % 3 - 1) * 2.0 + sway, 4.0 + (k // 3) * 1.6, 0.0])
                    px, py, _ = cam.project(pos)
                    d = cam.px_size(pos, 2.6)
                    c = (30, 60, 35) if not night else (25, 30, 25)
                    blob(img, (px, py), (d / 2, d / 2.4), 0, c, 2, 0.9)

            movers.append(Mover(0.0, draw, name))
            truth.append({"kind": name, "t": 0.0})
        elif name == "clouds":
            clouds = [
                (rng.uniform(0, spec.width), rng.uniform(0.02, 0.25) * spec.height, rng.uniform(5, 20))
                for _ in range(4)
            ]

            def draw(img, t, clouds=clouds):
                for x, y, v in clouds:
                    cx = (x + v * t) % (spec.width + 400) - 200
                    c = (250, 250, 250) if not night else (45, 40, 40)
                    blob(img, (cx, y), (160, 40), 0, c, 18, 0.7)

            movers.append(Mover(0.0, draw, name))
            truth.append({"kind": name, "t": 0.0})
        elif name == "headlights":
            for t0 in every(10.0):
                y = rng.uniform(0.65, 0.95) * spec.height
                dur = rng.uniform(1.5, 3.0)
                direction = 1 if rng.random() < 0.5 else -1

                def draw(img, t, t0=t0, y=y, dur=dur, direction=direction):
                    s = (t - t0) / dur
                    if not 0 <= s <= 1:
                        return
                    x = spec.width * (s if direction > 0 else 1 - s)
                    blob(img, (x, y), (spec.width * 0.12, spec.height * 0.08), 0, (230, 240, 255), 25, 0.5)

                movers.append(Mover(t0, draw, name))
                truth.append({"kind": name, "t": round(t0, 2)})
    return movers, truth


# --- the frame loop -------------------------------------------------------------------------


def default_bitrate(spec: SceneSpec) -> int:
    return int(2.5e6 * spec.width * spec.height / 1e6 * spec.fps / 25)


@dataclass
class Scene:
    """Everything a spec draws from its seed before the first frame: the camera, the building,
    what moves and the weather, noise and shake laid over it."""

    cam: Camera
    facade: Facade
    background: np.ndarray
    calib: dict
    throws: list[Throw]
    movers: list[Mover]
    confuser_truth: list[dict]
    grain: list[tuple[np.ndarray, np.ndarray]]  # sensor noise as (add, subtract) uint8 pairs: saturating adds are cheap
    weather: Callable[[np.ndarray, float], None] | None
    events: list[tuple[float, float, bool]]  # exposure jumps
    toggles: list[tuple[np.ndarray, float, float]]  # windows lit: outline, on, off
    shake: np.ndarray | None  # the wandering part of the shake, per frame


def build(spec: SceneSpec) -> Scene:
    """The scene of a spec, drawn from its seed in the order render has always drawn it (the
    bench's video depends on that order)."""
    spec.validate()
    rng = np.random.default_rng(spec.seed)
    cam = Camera(spec)
    facade = Facade(spec, rng)
    background = static_background(spec, cam, facade, rng)
    calib = calibration(spec, cam)
    throws = plan_throws(spec, cam, facade, calib, rng)
    movers, confuser_truth = make_confusers(spec, cam, facade, rng)
    noise_sd = spec.noise * LIGHT[spec.light][3]
    grain = []
    for _ in range(6):
        g = np.repeat(rng.normal(0, noise_sd, (spec.height, spec.width, 1)), 3, axis=2)
        grain.append((np.clip(g, 0, 255).astype(np.uint8), np.clip(-g, 0, 255).astype(np.uint8)))
    weather = precipitation(spec, cam, rng) if spec.weather != "clear" else None
    events = exposure_events(spec, rng) if "exposure" in spec.confusers else []
    toggles = window_toggles(spec, cam, facade, rng) if "window_lights" in spec.confusers else []
    shake = rng.normal(0, 1, (int(spec.seconds * spec.fps) + 1, 2)).cumsum(0) if spec.shake_px else None
    return Scene(cam, facade, background, calib, throws, movers, confuser_truth, grain, weather, events, toggles, shake)


def render(
    spec: SceneSpec, out_dir: Path, name: str = "scene", overlays: Sequence[Callable[[np.ndarray, float], None]] = ()
) -> dict:
    """Write `{name}.mp4`, `{name}.yaml` and `{name}.truth.json`; return the truth.

    `overlays` draw onto each frame (BGR, media time) after the scene's own movers and before
    weather, shake and sensor noise: bench.smokesim lays smoke on with them."""
    out_dir.mkdir(parents=True, exist_ok=True)
    scene = build(spec)
    cam, background, throws, movers = scene.cam, scene.background, scene.throws, scene.movers
    grain, weather, events, toggles, shake = scene.grain, scene.weather, scene.events, scene.toggles, scene.shake
    exposure = 1 / 50 if spec.light == "day" else 1 / 25
    path = out_dir / f"{name}.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=spec.fps)
        stream.width, stream.height, stream.pix_fmt = spec.width, spec.height, "yuv420p"
        stream.bit_rate = spec.bitrate or default_bitrate(spec)
        stream.options = {"preset": "superfast", "threads": "2", "g": str(2 * spec.fps), "sc_threshold": "0"}
        for n in range(int(spec.seconds * spec.fps)):
            t = n / spec.fps
            img = background.copy()
            for poly, on_t, off_t in toggles:
                if on_t <= t < off_t:
                    cv2.fillConvexPoly(img, poly, (120, 200, 235))
            for m in movers:
                m.draw(img, t)
            for th in throws:
                draw_throw(img, th, t, spec, cam, exposure)
            for overlay in overlays:
                overlay(img, t)
            if weather is not None:
                weather(img, t)
            for t_switch, gain, grey in events:
                if t >= t_switch:
                    img = cv2.convertScaleAbs(img, alpha=gain)
                    if grey:
                        img = cv2.cvtColor(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
            if shake is not None:
                # wind shake: a fast oscillation plus a wandering offset, amplitude shake_px
                dx = spec.shake_px * (0.7 * math.sin(2 * math.pi * 3.1 * t) + 0.3 * math.tanh(shake[n, 0] / 5))
                dy = spec.shake_px * (0.7 * math.sin(2 * math.pi * 2.3 * t + 1) + 0.3 * math.tanh(shake[n, 1] / 5))
                img = cv2.warpAffine(
                    img, np.float32([[1, 0, dx], [0, 1, dy]]), (spec.width, spec.height), borderMode=cv2.BORDER_REFLECT
                )
            plus, minus = grain[n % len(grain)]
            img = cv2.subtract(cv2.add(img, plus), minus)
            out.mux(stream.encode(av.VideoFrame.from_ndarray(img, format="bgr24")))
        out.mux(stream.encode(None))
    truth = {
        "spec": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(spec).items()},
        "facade": scene.calib,
        "storey_px_top": round(
            float(
                cam.project(np.array([0, (spec.floors - 1) * STOREY_M, 0]))[1]
                - cam.project(np.array([0, spec.floors * STOREY_M, 0]))[1]
            ),
            1,
        ),
        "throws": [th.truth for th in throws],
        "confusers": scene.confuser_truth,
    }
    (out_dir / f"{name}.truth.json").write_text(json.dumps(truth, indent=1))
    site = {
        "site": "sim",
        "node": "sim-node",
        "cameras": [
            {
                "name": name,
                "source": path.name,
                "building": "7",
                "facade": scene.calib,
                "detectors": {"thrown": {}},
            }
        ],
    }
    (out_dir / f"{name}.yaml").write_text(yaml.safe_dump(site, sort_keys=False))
    return truth


def precipitation(spec: SceneSpec, cam: Camera, rng: np.random.Generator) -> Callable[[np.ndarray, float], None]:
    """Rain (fast thin streaks) or snow (slow flakes) between the camera and the facade."""
    rain = spec.weather == "rain"
    n = 260 if rain else 160
    width_m = len(spec.units) * spec.unit_width_m
    start = np.stack(
        [rng.uniform(-5, width_m + 5, n), rng.uniform(0, 70, n), rng.uniform(1.0, spec.distance_m - 0.5, n)], 1
    )
    speed = rng.uniform(6, 9, n) if rain else rng.uniform(0.6, 1.5, n)
    exposure = 1 / 50 if spec.light == "day" else 1 / 25
    c = (200, 200, 200) if spec.light != "day" else (225, 225, 225)

    def draw(img: np.ndarray, t: float) -> None:
        y = (start[:, 1] - speed * t) % 70
        wobble = 0 if rain else 0.4 * np.sin(t * 1.5 + start[:, 0])
        p1 = np.stack([start[:, 0] + wobble, y, start[:, 2]], 1)
        p0 = p1 + np.stack([np.zeros(n), speed * exposure, np.zeros(n)], 1)
        x0, y0, _ = cam.project(p0)
        x1, y1, z1 = cam.project(p1)
        for k in range(n):
            if not (0 <= x1[k] < spec.width and 0 <= y1[k] < spec.height):
                continue
            d = cam.f * (0.002 if rain else 0.006) / max(z1[k], 0.5)
            stamp(img, (x0[k], y0[k]), (x1[k], y1[k]), d, c, alpha=0.6)

    return draw


def exposure_events(spec: SceneSpec, rng: np.random.Generator) -> list[tuple[float, float, bool]]:
    """An auto-exposure jump, and at dusk/night the day->IR switch (colour to grey, brighter)."""
    t = rng.uniform(0.3, 0.7) * spec.seconds
    if spec.light == "day":
        return [(t, rng.uniform(0.75, 1.3), False)]
    return [(t, 1.8, True)]


def window_toggles(
    spec: SceneSpec, cam: Camera, facade: Facade, rng: np.random.Generator
) -> list[tuple[np.ndarray, float, float]]:
    out = []
    for _ in range(max(2, int(spec.seconds / 3))):
        x0, y0, x1, y1 = facade.windows[int(rng.integers(len(facade.windows)))]
        pts = np.array([[x0, y1, 0], [x1, y1, 0], [x1, y0, 0], [x0, y0, 0]])
        x, y, _ = cam.project(pts)
        on = rng.uniform(0, spec.seconds)
        out.append((np.int32(np.round(np.stack([x, y], 1))), on, on + rng.uniform(1, 20)))
    return out


def main() -> None:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--size", default="1280x720")
    ap.add_argument("--light", default="day", choices=("day", "dusk", "night"))
    ap.add_argument("--weather", default="clear", choices=("clear", "rain", "snow"))
    ap.add_argument("--shake", type=float, default=0.0, help="camera shake amplitude, px")
    ap.add_argument("--throws", type=int, default=4)
    ap.add_argument("--confusers", default="", help=f"comma-separated: {','.join(CONFUSERS)} or all")
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    confusers = CONFUSERS if args.confusers == "all" else tuple(c for c in args.confusers.split(",") if c)
    spec = SceneSpec(
        seed=args.seed,
        width=w,
        height=h,
        seconds=args.seconds,
        light=args.light,
        weather=args.weather,
        shake_px=args.shake,
        throws=args.throws,
        confusers=confusers,
    )
    truth = render(spec, args.out_dir)
    print(json.dumps({"throws": truth["throws"], "facade": truth["facade"]}, indent=1))


if __name__ == "__main__":
    main()
