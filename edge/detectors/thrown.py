"""Thrown and falling objects (高空抛物): small fast things that fall like things fall.

Classical and CPU-first, after the pipelines that work in the field (FIELD_NOTES §2):

1. Foreground over the facade region only: the current frame differs from both the frame
   two and the frame four before it (min of two lagged differences), thresholded at a
   multiple of the measured noise. The min removes the "ghost" an object leaves where it
   was; a night ember's streak is a blob like any other.
2. Blobs from connected components, kept if their size fits an object at that height of
   the facade (an insect at the lens is far too big); specks about a bigger blob are part
   of it. A frame with too many blobs or too
   much changed area is a global change (rain burst, shake, exposure or IR switch) and is
   not used for tracking; when it is the camera swaying, frames are shifted back onto a
   reference from then on and differenced with a pixel's tolerance (edge.shake).
3. Tracks by distance to a gravity-aware prediction (x linear, y quadratic), never IoU: a
   small object late in its fall moves many times its own size per frame. Gates grow with
   the object, and a blob of the track's size is preferred.
4. A track is a throw only when, in facade metres, it falls with an acceleration in the
   band gravity allows from the start (or, for light dense things like a cigarette butt
   that reach terminal speed within a metre, falls straight at a speed no leaf or snowflake
   reaches, and not in rain), fits the quadratic well, moves mostly down, has fallen the
   configured storeys from its release point, and drifts sideways less than it falls; and
   only when it is in focus: a thing at the lens (an insect, a web) is blurred, its edges
   soft.

The release is extrapolated back to zero vertical speed and mapped through the facade
calibration to floor and unit (edge.trajectory, edge.facade).
"""

from __future__ import annotations

import bisect
import itertools
import math
import statistics
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from contract import EventType, Origin, ThrownDetails
from edge.detectors.base import CameraContext, Detection, Detector, Frame, FrameRequest, by_sensitivity, register
from edge.facade import Facade, FacadePosition
from edge.shake import Stabiliser, tolerant_difference
from edge.trajectory import Ballistic, FallFit, G, fit_ballistic, fit_fall, fit_line, predict

LAGS = (2, 4)  # frames; see the module docstring
MAX_TRACKS = 300
CLOSE_KERNEL = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
TILE = 64  # px; closed_components labels only the tiles where something changed
MARGIN_TILE = np.ones((3, 3), np.uint8)  # a group of changed tiles is labelled with one empty tile about it
# Drag that holds a fall at terminal speed brakes sideways motion as hard (its time
# constant is v_t / g, about a second): at terminal speed a thrown thing falls nearly
# straight. A bird gliding down keeps its forward speed; this is the most sideways speed,
# as a share of the fall speed, that the terminal rule accepts.
TERMINAL_SIDEWAYS = 0.3
# ...and about that straight line a falling butt or ember wanders no more than this (metres,
# plus a pixel of localisation); paper and leaves flutter from side to side as they drift.
TERMINAL_FLUTTER_M = 0.1
# A blob's box is bigger than the object in it: the 5x5 closing joins fragments up to 4 px
# apart, compression smears each edge by a pixel or two, and an object that hardly moves
# between the lagged frames (at the top of a toss toward the camera) leaves a ring.
BLOB_SLACK_PX = 7
# Differencing breaks a big object that moves less than its own size per frame into its
# changed part and specks around it; a blob under this share of a neighbour's area, within
# that neighbour's box size of its centre, is such a speck (ThrownDetector._without_specks).
SPECK_SHARE = 0.1
# Association weighs a blob's area against the track's: an object's area changes with its
# lagged differences, up to tenfold near its apex, so this is a preference, not a gate.
AREA_COST = 0.25  # per unit of |ln(area ratio)|, against the distance's share of the gate
# edge_softness looks at the difference in a ring 2 to RING_PX px outside a blob
RING_PX = 4
RING_INNER = np.ones((3, 3), np.uint8)
RING_OUTER = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * RING_PX + 1, 2 * RING_PX + 1))
# A big object's changed part shifts about it from frame to frame (its lagged differences
# are a crescent that turns as it slows): its centroid may wander this share of the square
# root of its area about its path, on top of localisation (_wander_limit_px).
SIZE_WANDER = 0.25
NOISE_ROW_STEP = 4  # _noise samples every fourth row of the difference image
STREAK_M = 1.0  # motion blur: 25 m/s over a 1/25 s night exposure
# A rain streak is at least three times as tall as wide and taller than the 5x5 closing makes
# two specks 4 px apart: night noise joined in pairs (1 x 4 and 1 x 5 blobs, 1-1.75 a frame in
# the bench's clear night scenes) is no rain.
STREAK_MIN_PX = 6
TRAJECTORY_POINTS = 64
DEPTH_FIT_S = 1.6  # s of track the final 3-D release is fitted on (ThrownDetector._final)
ANCESTORS = 3  # tracks a broken track may be joined back through (Track.lineage)
RETRACE_S = 2.5  # s of past blobs kept to trace a confirmed fall back before its track (_retrace)
RETRACE_GAP_S = 0.6  # ... through no longer a run of frames where it was not seen
RETRACE_FIT = 10  # earliest points the path traced back is fitted on (_back_along)
# A release extrapolated this long before a confirmed track's first point was not seen: an
# earlier track of the object, begun up to EARLIER_LATE_S before that release (a toss's is
# extrapolated up to 0.7 s late on the bench), may be joined in front of it (_earlier), losing
# at most EARLIER_TRIM points at its end (noise it took after losing the object) and keeping
# at least EARLIER_MIN before the confirmed track.
EARLIER_S = 0.3
EARLIER_LATE_S = 1.0
EARLIER_TRIM = 8
EARLIER_MIN = 4
# ... and of the joined path, up to this share of points, the ones the 3-D fall through it
# misses by more than twice the wander limit are left out before it is judged (ghosts where
# the thing hung, noise either track took): the event is confirmed already, so this can place
# it, never raise it.
EARLIER_OUTLIERS = 0.2
SHAKE_MIN_PX = 0.5  # a camera that moves less than this between frames is not shaking
SHAKE_QUIET_S = 3.0  # steadying stops after the camera has held still this long
STEP_PX = 2.0  # a fall's steps are judged over strides that fall this far in the image (_steps_down)
STEP_JUMP_SHARE = 0.25  # ... unless one frame's step made this share of the fall
RECENT_S = 0.2  # a fall's acceleration must show without its newest points (_hangs)
# A fall's newest stretch must fall at no less than this share of what its parabola says,
# give or take three standard errors (ThrownDetector._stopped)
STOP_SHARE = 0.5
# A track is not judged on a point that came this many frames after the one before it (four
# missed) until the next comes: the gate has widened with every miss (_associate), and what it
# caught may be a raindrop or another thing (a bird that glided level at night and faded, then
# a speck 10 px below it in rain 6 frames later, made "a fall at 0.69 g"). A throw seen before
# the gap was judged on its points then; one seen only after it waits a frame. After three
# missed frames (4) the bench lost two small throws whose tracks were confirmed that way.
LONE_GAP_FRAMES = 5
# A track that hung in place this long, within this many metres on the facade, and then fell
# is judged from where it stopped hanging (ThrownDetector._let_go).
LET_GO_HOLD_S = 0.4
LET_GO_M = 1.0
OVERLAP_FRAMES = 2  # a track begun this many frames before a confirmed one ended may go on from it (_confirm)
# A throw judged in 3-D (ThrownDetector._tossed) was let go at most this long before its first
# point, this far out from the balcony fronts, and left them no faster than a hand tosses and
# not into the building (but for the fit's scatter).
TOSS_SEEN_S = 0.3
TOSS_DEPTH_M = 1.5
TOSS_SPEED_MPS = 6.0
TOSS_INWARD_MPS = 0.5
# ... and a steady straight motion in 3-D (no gravity) must leave this many times the free
# fall's scatter about the track: seen steeply from below, a fall is mostly along the line of
# sight, so a free fall with its depth free can follow a bird's level flight too.
TOSS_GRAVITY_GAIN = 1.5


class ThrownExpert(BaseModel):
    """Overrides of what `sensitivity` sets; leave unset unless the benchmark says otherwise."""

    model_config = ConfigDict(extra="forbid")

    threshold_sigma: float | None = Field(
        None, gt=0, description="Foreground threshold in noise standard deviations (sensitivity 5: 4.5)."
    )
    min_threshold: int = Field(
        5,
        ge=1,
        le=255,
        description="Foreground threshold floor in luma levels as the camera codes them "
        "(on the usual limited-range 16-235 scale one is 1.16 grey levels).",
    )
    min_area_px: int | None = Field(None, ge=1, description="Smallest blob kept, px at analysis size (sens. 5: 2).")
    max_object_m: float = Field(
        0.8,
        gt=0,
        le=10,
        description="Widest object, metres at the facade's scale across (heights are foreshortened, objects are not); "
        "a blob may be taller by its motion streak. Insects at the lens are far bigger.",
    )
    min_points: int | None = Field(None, ge=4, description="Observations before a track can be a throw (sens. 5: 8).")
    min_r2: float | None = Field(None, ge=0, le=1, description="Quadratic fit quality R^2 required (sens. 5: 0.94).")
    accel_band_g: tuple[float, float] | None = Field(
        None, description="Downward acceleration accepted, as multiples of g (sens. 5: [0.3, 1.8])."
    )
    terminal_speed_mps: float | None = Field(
        4.5,
        gt=0,
        description="A straight fall at least this fast (m/s) counts without visible acceleration (cigarette butts, ~6 m/s); "
        "paper and leaves (1-2.5 m/s) drifting out in front of the facade look up to 1.8x faster. Null turns the rule off.",
    )
    max_edge_softness: float | None = Field(
        0.3,
        gt=0,
        description="A track whose blobs' edges (the median over the track, or over its newest 0.2 s) fade softer than "
        "this is out of focus, so at the lens (an insect, a web): "
        "the difference 2-4 px outside where a blob falls to half its peak, as a share of that level; 0.01-0.17 for "
        "thrown things on the bench. Raise it for a soft lens or a dirty dome; null turns the test off.",
    )
    max_blobs: int = Field(
        64, ge=1, description="More blobs than this in a frame is a global change; the frame is skipped."
    )
    max_changed_fraction: float = Field(
        0.03, gt=0, le=1, description="More changed area than this share of the region is a global change."
    )
    max_missed_frames: int = Field(
        5, ge=0, le=25, description="Frames a track may go unseen (behind a slab, lost in noise)."
    )
    region_margin_storeys: float = Field(
        1.0, ge=0, le=10, description="The analysed region is the facade grown by this many storeys on each side."
    )


class ThrownConfig(BaseModel):
    """Thrown and falling objects from the facade (高空抛物): floor and unit of the release."""

    model_config = ConfigDict(extra="forbid")

    sensitivity: int = Field(
        5,
        ge=1,
        le=10,
        description="1 (fewest false alarms) to 10 (smallest, faintest objects); one knob for installers.",
    )
    min_fall_floors: float = Field(
        2.0, ge=0.5, le=30, description="Alarm once the object has fallen this many storeys from its release point."
    )
    storey_m: float = Field(3.0, gt=1.5, le=8, description="Storey height of the building, metres (scales gravity).")
    release_above_floor_m: float = Field(
        1.2,
        ge=0,
        le=3,
        description="Where things are let go: hand height over a balcony railing, metres above that storey's floor. "
        "The floor reported is the one whose release height is nearest the fitted release.",
    )
    process_width: int | None = Field(
        None,
        ge=320,
        le=8192,
        description="Analyse frames scaled to this width; null = native (best for small objects).",
    )
    uncalibrated_storeys: int = Field(
        15, ge=1, le=300, description="Without a facade calibration, assume the image height spans this many storeys."
    )
    expert: ThrownExpert = Field(default_factory=ThrownExpert, description="Fine-grained thresholds.")


@dataclass(frozen=True)
class Thresholds:
    sigma: float
    min_area: int
    min_points: int
    min_r2: float
    accel_lo: float  # m/s^2
    accel_hi: float

    @classmethod
    def of(cls, cfg: ThrownConfig) -> Thresholds:
        s, e = cfg.sensitivity, cfg.expert
        band = e.accel_band_g or (by_sensitivity(s, 0.45, 0.3, 0.2), 1.8)
        return cls(
            sigma=e.threshold_sigma or by_sensitivity(s, 6.0, 4.5, 3.2),
            min_area=e.min_area_px or round(by_sensitivity(s, 3, 2, 1)),
            min_points=e.min_points or round(by_sensitivity(s, 12, 8, 6)),
            min_r2=e.min_r2 if e.min_r2 is not None else by_sensitivity(s, 0.97, 0.94, 0.88),
            accel_lo=band[0] * G,
            accel_hi=band[1] * G,
        )


@dataclass
class Blob:
    x: float  # analysis px, full analysis frame
    y: float
    area: float
    w: int
    h: int
    soft: float = 0.0  # its edge's softness (edge_softness); 0, unmeasured, for one found looking closer


SERIES = ("t", "x", "y", "area", "soft")  # a Track's per-point lists, in step


@dataclass
class Track:
    id: int
    t: list[float] = field(default_factory=list)
    x: list[float] = field(default_factory=list)
    y: list[float] = field(default_factory=list)
    area: list[float] = field(default_factory=list)
    soft: list[float] = field(default_factory=list)
    misses: int = 0
    key: str | None = None  # set once confirmed as a throw
    verdict: Verdict | None = None  # set once confirmed: its release is the object's
    parent: Track | None = None  # the track this one may continue (see ThrownDetector._parent)

    def add(self, t: float, b: Blob) -> None:
        self.t.append(t)
        self.x.append(b.x)
        self.y.append(b.y)
        self.area.append(b.area)
        self.soft.append(b.soft)
        self.misses = 0

    def follow(self, parent: Track | None) -> None:
        """Remember the track this one may continue, letting go of ancestors lineage never reads."""
        self.parent = parent
        oldest = parent
        for _ in range(ANCESTORS - 1):
            oldest = oldest.parent if oldest is not None else None
        if oldest is not None:
            oldest.parent = None

    def ancestors(self) -> int:
        """How many tracks lineage can join before this one (at most ANCESTORS)."""
        n, tr = 0, self.parent
        while tr is not None and n < ANCESTORS:
            n, tr = n + 1, tr.parent
        return n

    def lineage(self, depth: int = ANCESTORS) -> Track:
        """This track with the points of its nearest `depth` ancestors before its own first one prepended."""
        chain, t0 = [self], self.t[0]
        while chain[-1].parent is not None and len(chain) <= min(depth, ANCESTORS):
            chain.append(chain[-1].parent)
        out = Track(self.id, key=self.key, verdict=self.verdict)
        for tr in reversed(chain[1:]):
            for i, t in enumerate(tr.t):
                if t < t0 and (not out.t or t > out.t[-1]):
                    for name in SERIES:
                        getattr(out, name).append(getattr(tr, name)[i])
        for name in SERIES:
            getattr(out, name).extend(getattr(self, name))
        return out

    def take(self, other: Track) -> None:
        """Carry `other`'s points from now on: the same object's longer path."""
        for name in SERIES:
            setattr(self, name, getattr(other, name))

    def only(self, keep: np.ndarray) -> Track:
        """This track with only the points where `keep` is true."""
        out = Track(self.id, key=self.key, verdict=self.verdict)
        for name in SERIES:
            setattr(out, name, [v for v, k in zip(getattr(self, name), keep, strict=True) if k])
        return out


@dataclass(frozen=True)
class Verdict:
    fit: FallFit
    release_t: float
    release_h: float  # metres above the facade's bottom edge
    release_x: float  # metres along the facade (at the first point)
    fallen_m: float
    kind: str  # "accelerating" | "terminal" | "tossed" (judged in 3-D)
    # the facade-plane release (t, h, x) when the release above is the 3-D fit's
    plane_release: tuple[float, float, float] | None = None
    depth_rms_px: float | None = None  # a tossed one's: how closely the 3-D fall follows it


def _released_at(v: Verdict, t: float, h: float, x: float, plane_release: tuple[float, float, float] | None) -> Verdict:
    """The verdict with another release, its fall measured to the same last point."""
    return replace(
        v, release_t=t, release_h=h, release_x=x, fallen_m=v.fallen_m + h - v.release_h, plane_release=plane_release
    )


def _steps_down(t: np.ndarray, h: np.ndarray, y_px: np.ndarray) -> float:
    """Share of a fall's steps (times `t`, heights `h` from its apex, image rows `y_px`) that go
    down.

    Steps are taken over strides that fall STEP_PX in the image where they start: a slow ember
    high on a far facade falls about a pixel a frame and its faint streak's centroid jitters by
    as much, so frame to frame a quarter of its steps seem to go up. A fall speeds up, so the
    stride is the local one, from the track's own smooth descent (a parabola in facade
    metres, through the track's own rows per metre): a small thing let go creeps half a pixel
    a frame for its first half second and moves 5-10 px a frame a second later. One stride
    for the whole track, from its mean step, judged the creep frame by frame (a 1.6 px bottle
    tracked from 0.46 s after its release was turned down with 76-79 % of its steps going
    down for half a second). A fall made of a few jumps (a thing that crept and then leapt:
    STEP_JUMP_SHARE of the fall in one frame) is judged frame by frame, as a stride would
    hide its creeping."""
    n = len(h)
    if n <= 2:
        return 0.0
    steps = np.diff(h)
    fall = float(h[0] - h[-1])
    if fall <= 0 or float(-steps.min()) > STEP_JUMP_SHARE * fall:
        return float((steps < 0).mean())
    s = t - t[0]
    fall_c = np.polyfit(s, h, 2)  # heights fall as a parabola; image rows, through perspective, do not
    px_c = np.polyfit(h, y_px, 2)
    speed = -(2 * fall_c[0] * s + fall_c[1]) * np.abs(2 * px_c[0] * h + px_c[1])  # px/s down the image
    longest = s[-1] / 4  # a stride is never more than a quarter of the track
    reach = s + np.minimum(STEP_PX / np.maximum(speed, STEP_PX / longest), longest)
    j = np.searchsorted(s, reach - 1e-9)  # the first point a stride on
    j = np.maximum(j, np.arange(n) + 1)
    ok = j < n
    return float((h[j[ok]] < h[ok]).mean())


def _without_specks(blobs: list[Blob]) -> list[Blob]:
    """The blobs but the specks beside a bigger one (SPECK_SHARE): left in, each starts a track
    that takes the object's blob from its own track a frame later."""
    if len(blobs) < 2:
        return blobs
    x, y, area, w, h = (np.array([getattr(b, k) for b in blobs], float) for k in ("x", "y", "area", "w", "h"))
    speck = (
        (area[:, None] < SPECK_SHARE * area[None, :])
        & (np.abs(x[:, None] - x[None, :]) <= w[None, :])
        & (np.abs(y[:, None] - y[None, :]) <= h[None, :])
    ).any(axis=1)
    return [b for b, s in zip(blobs, speck, strict=True) if not s]


def edge_softness(diff: np.ndarray, thresh: float, b: Blob, x0: int, y0: int) -> float:
    """How softly a blob's edge fades: the mean difference 2 to 4 px outside where it falls to
    half its peak (or to the threshold, if that is higher), as a share of that level (diff in
    crop px, the crop at x0, y0 of the analysis frame).

    A thing 10-20 m off is in focus, and its difference drops to the noise within a pixel or
    two of its edge, compression's smear included. An insect or a spider's thread within a
    metre of the lens is blurred over tens of pixels: a lens out of focus spreads each point
    over a disc, so its edge is a ramp as wide as the disc. Cut at the threshold, the ring
    outside lies in the ramp by day; at night the threshold is low and the background dark
    and flat, so the cut falls at the ramp's foot, where the difference ends, and a bright
    insect measured as sharp as a thrown thing (a confuser clip's insect, softness 0.30 on
    a limit of 0.3, raised an alarm). Cut at half the peak, the ring lies in the ramp
    whatever the threshold; a sharp thing has no ramp there."""
    h, w = diff.shape
    cx, cy = b.x - x0, b.y - y0
    c0, c1 = max(0, int(cx - b.w / 2) - RING_PX), min(w, int(cx + b.w / 2) + RING_PX + 2)
    r0, r1 = max(0, int(cy - b.h / 2) - RING_PX), min(h, int(cy + b.h / 2) + RING_PX + 2)
    win = diff[r0:r1, c0:c1]
    cut = max(thresh, 0.5 * float(win.max()))
    fg = (win > cut).astype(np.uint8)
    ring = (cv2.dilate(fg, RING_OUTER) > 0) & (cv2.dilate(fg, RING_INNER) == 0)
    return float(win[ring].mean()) / cut if ring.any() else 0.0


def _wander_limit_px(xy: np.ndarray, area: list[float] | None = None) -> float:
    """How far a real object's centroids may sit from its fitted path, in px: a pixel or two of
    localisation, more for a fast one smeared along its motion, and, given its blobs' `area`,
    more for a big one (SIZE_WANDER). The size term let insects at the lens in until their
    blurred edges kept them out (expert.max_edge_softness; docs/THROWN.md, "At 1920x1080")."""
    step = float(np.mean(np.hypot(*np.diff(xy, axis=0).T)))
    return 2.5 + 0.15 * step + (SIZE_WANDER * math.sqrt(statistics.median(area)) if area else 0.0)


def _trimmed_rms_share(p: float) -> float:
    """RMS of a 2-D Gaussian scatter once its worst share `p` of points is left out, as a share
    of the whole's. Squared distances are exponential: leaving out those above the (1 - p)
    quantile leaves a mean of (1 - p (1 - ln p)) / (1 - p) of the whole's (0.86 in RMS for
    p = 0.1, 0.77 for 0.2). A track trimmed of its worst points is held to that share of the
    limit an untrimmed one meets: else trimming alone lets a looser path pass (a night
    rain track at 4.4 px against 4.6, three of its 17 points left out)."""
    if p <= 0.0:
        return 1.0
    return math.sqrt((1.0 - p * (1.0 - math.log(p))) / (1.0 - p))


def _follows(fit: Ballistic, xy: np.ndarray, share: float = 1.0) -> bool:
    """Does a 3-D fall follow its track's points (source px) to within `share` of a small
    object's localisation (_wander_limit_px)?"""
    return fit.rms_px <= share * _wander_limit_px(xy)


def _smoothed(v: np.ndarray) -> np.ndarray:
    """A track's series through a running median of five points (fewer for a short one),
    reflected at its ends: a centroid pulled off its path for a point or two (a railing, a
    neighbouring blob for a frame) drops out, and a stray first point does not stand for
    three."""
    k = min(5, len(v) // 2 * 2 - 1)
    return np.median(np.lib.stride_tricks.sliding_window_view(np.pad(v, k // 2, mode="reflect"), k), axis=1)


def release_position(
    facade: Facade, u: float, release_h: float, storey_m: float, above_floor_m: float, image_size: tuple[int, int]
) -> FacadePosition:
    """Floor and unit of a release at facade u and `release_h` metres above the bottom edge.

    Things are let go at hand height, `above_floor_m` up a storey: the floor is the one whose
    hand height is nearest, so an error of half a storey either way (the fit's, or the parallax
    of a hand held out beyond the balcony front the calibration lies on) still names it; the
    storey's own bounds would allow 1.2 m down and 1.8 m up."""
    mid = release_h + storey_m / 2 - above_floor_m
    return facade.locate_release(u, mid / storey_m, image_size)


def together(a: Track, b: Track, within_px: float) -> bool:
    """Have two tracks been on one object? Where they overlap in time, b's points lie on a's
    path (interpolated between a's frames: fragments of one object are often found in
    alternate frames), at least twice, or once when both were seen just now."""
    at, bt = np.array(a.t), np.array(b.t)
    both = (bt >= at[0]) & (bt <= at[-1])
    if not both.any():
        return False
    ax, ay = np.interp(bt[both], at, a.x), np.interp(bt[both], at, a.y)
    close = np.hypot(np.array(b.x)[both] - ax, np.array(b.y)[both] - ay) < within_px
    return int(close.sum()) >= 2 or (bool(close[-1]) and a.t[-1] == b.t[-1])


def components(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Connected components (8-connected) of a sparse binary mask: stats rows (x, y, w, h, area)
    and centroids, in label order, as cv2.connectedComponentsWithStats gives them without its
    background row.

    OpenCV computes those statistics in a pass over every pixel (14 ms for a 1080p mask in
    OpenCV 5, fifteen times its labelling); a foreground mask is mostly empty, so they come
    from its non-zero pixels instead."""
    return component_stats(*labelled_pixels(mask))


def labelled_pixels(mask: np.ndarray, x0: int = 0, y0: int = 0) -> tuple[np.ndarray, np.ndarray, int]:
    """The mask's non-zero pixels (x, y, shifted by x0, y0), the component (from 0) each
    belongs to, and how many components there are."""
    n, labels = cv2.connectedComponents(mask, connectivity=8)
    if n <= 1:
        return np.empty((0, 2), np.int64), np.empty(0, np.int64), 0
    pts = cv2.findNonZero(mask).reshape(-1, 2).astype(np.int64)
    lab = labels[pts[:, 1], pts[:, 0]].astype(np.int64) - 1
    pts += (x0, y0)
    return pts, lab, n - 1


def component_stats(pts: np.ndarray, lab: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Stats rows and centroids of components 0..n-1 (each has a pixel) from their pixels."""
    if n == 0:
        return np.empty((0, 5), np.int32), np.empty((0, 2))
    order = np.argsort(lab, kind="stable")
    x, y = pts[order, 0], pts[order, 1]
    lab = lab[order]
    starts = np.empty(n, np.int64)
    starts[0] = 0
    starts[1:] = np.flatnonzero(lab[1:] != lab[:-1]) + 1
    stats = np.empty((n, 5), np.int32)
    stats[:, 0] = np.minimum.reduceat(x, starts)
    stats[:, 1] = np.minimum.reduceat(y, starts)
    stats[:, 2] = np.maximum.reduceat(x, starts) - stats[:, 0] + 1
    stats[:, 3] = np.maximum.reduceat(y, starts) - stats[:, 1] + 1
    stats[:-1, 4] = np.diff(starts)
    stats[-1, 4] = len(lab) - starts[-1]
    area = stats[:, 4]
    cents = np.empty((n, 2))
    cents[:, 0] = np.add.reduceat(x, starts) / area
    cents[:, 1] = np.add.reduceat(y, starts) / area
    return stats, cents


def changed_tiles(fg: np.ndarray) -> np.ndarray:
    """1 for each TILE x TILE tile of a mask that holds a non-zero pixel, else 0.

    Maxima over each band of TILE rows, then over each TILE columns of those: numpy reduces
    along rows with vector instructions (0.1 ms for a 1080p mask), where cv2.findNonZero
    walks every pixel (1.3 ms, a tenth of the detector's time)."""
    h, w = fg.shape
    gh, gw = -(-h // TILE), -(-w // TILE)
    full = h // TILE * TILE
    cols = np.zeros((gh, gw * TILE), np.uint8)
    cols[: h // TILE, :w] = fg[:full].reshape(h // TILE, TILE, w).max(axis=1)
    if full < h:
        cols[-1, :w] = fg[full:].max(axis=0)
    return (cols.reshape(gh, gw, TILE).max(axis=2) > 0).astype(np.uint8)


def closed_components(fg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Connected components (stats rows x, y, w, h, area; centroids) of a foreground mask
    after a 5x5 closing, which joins the fragments of one thing (a blurred insect breaks into
    dozens) so it is judged, and rejected, by its real size; isolated noise pixels stay what
    they are.

    A frame changes in a few places (median 10 of 400 tiles at 1080p), and labelling the whole
    mask was 40 % of the detector's time. So changed 64-px tiles are grouped with their
    neighbours, and each group is closed and labelled on its own, inside a margin of one empty
    tile. The result is exactly the whole-mask one: groups lie at least a tile apart, farther
    than the closing reaches. Frames that changed almost everywhere take the whole-mask path."""
    h, w = fg.shape
    grid = changed_tiles(fg)
    if not grid.any():
        return np.empty((0, 5), np.int32), np.empty((0, 2))
    groups, group_of = cv2.connectedComponents(grid, connectivity=8)
    if groups - 1 > 16 or int(grid.sum()) > grid.size // 8:
        return components(cv2.morphologyEx(fg, cv2.MORPH_CLOSE, CLOSE_KERNEL))
    pixels, labels, n = [], [], 0  # every group's, labelled on, for one pass of statistics
    for g in range(1, groups):
        mine = cv2.dilate((group_of == g).astype(np.uint8), MARGIN_TILE)
        gx, gy, gw, gh = cv2.boundingRect(mine)
        x0, y0 = gx * TILE, gy * TILE
        x1, y1 = min(w, (gx + gw) * TILE), min(h, (gy + gh) * TILE)
        part, cells = fg[y0:y1, x0:x1], mine[gy : gy + gh, gx : gx + gw]
        if not cells.all():  # another group's tiles may lie in the corners of this one's box
            keep = cv2.resize(cells * 255, None, fx=TILE, fy=TILE, interpolation=cv2.INTER_NEAREST)
            part = part & keep[: y1 - y0, : x1 - x0]
        pts, lab, count = labelled_pixels(cv2.morphologyEx(part, cv2.MORPH_CLOSE, CLOSE_KERNEL), x0, y0)
        pixels.append(pts)
        labels.append(lab + n)
        n += count
    return component_stats(np.concatenate(pixels), np.concatenate(labels), n)


@register
class ThrownDetector(Detector):
    """Thrown and falling objects from the facade (高空抛物): floor and unit of the release."""

    type_name = "thrown"
    config_cls = ThrownConfig

    def __init__(self, config: ThrownConfig, camera: CameraContext) -> None:
        super().__init__(config, camera)
        self.cfg = config
        self.th = Thresholds.of(config)
        width = min(config.process_width or camera.width, camera.width)
        self.scale = width / camera.width
        self.size = (width, round(camera.height * self.scale))
        self.calibrated = camera.facade is not None
        self.facade = camera.facade or Facade(
            [(0, 0), (camera.width, 0), (camera.width, camera.height), (0, camera.height)],
            (1, config.uncalibrated_storeys),
        )
        self._region, self._crop = self._build_region()
        self._region_px = max(1, cv2.countNonZero(self._region))
        self._noise_region = self._region[::NOISE_ROW_STEP]
        self._noise_px = max(1, cv2.countNonZero(self._noise_region))
        self._storey_px = self._per_row(self.facade.floor_height_px)
        self._width_m = self.facade.width_metres(config.storey_m, (camera.width, camera.height))
        self._metre_px = self._per_row(lambda x, y: self.facade.metre_across_px(x, y, self._width_m))
        self._camera = self.facade.camera_matrix(config.storey_m, (camera.width, camera.height))
        self._history: deque[np.ndarray] = deque(maxlen=max(LAGS) + 1)
        self._tracks: list[Track] = []
        self._lost: deque[Track] = deque(maxlen=64)  # unconfirmed tracks that ended lately
        self._reported: deque[Track] = deque(maxlen=16)  # confirmed tracks that ended lately
        self._past: deque[tuple[float, list[Blob]]] = deque(maxlen=round(RETRACE_S * camera.fps))  # (_retrace)
        self._ids = itertools.count(1)
        self._rain = 0.0  # running count of rain-like streaks per frame
        self._diff: np.ndarray | None = None  # this frame's foreground difference, crop px
        self._thresh = 0.0  # and the threshold it was cut at
        self._steady: Stabiliser | None = None  # while the camera shakes (_start_steadying)
        self._sway: deque[np.ndarray] = deque(maxlen=round(SHAKE_QUIET_S * camera.fps))  # its recent offsets

    @property
    def frame_request(self) -> FrameRequest:
        return FrameRequest(width=self.size[0] if self.scale < 1 else None, gray=True, box=self._crop)

    # setup -------------------------------------------------------------------------------
    def _build_region(self) -> tuple[np.ndarray, tuple[int, int, int, int]]:
        """Facade quad grown by the margin, minus ignore masks, in analysis px; and its bounding box."""
        w, h = self.size
        m = self.cfg.expert.region_margin_storeys / self.facade.storeys
        quad = [self.facade.to_image(u, v) for u, v in ((-m, -m), (1 + m, -m), (1 + m, 1 + m), (-m, 1 + m))]
        if not self.calibrated:
            quad = [(0, 0), (self.camera.width, 0), (self.camera.width, self.camera.height), (0, self.camera.height)]
        region = np.zeros((h, w), np.uint8)
        cv2.fillPoly(region, [np.round(np.array(quad) * self.scale).astype(np.int32)], 255)
        if self.camera.ignore_mask is not None:
            ignore = cv2.resize(self.camera.ignore_mask, (w, h), interpolation=cv2.INTER_NEAREST)
            region[ignore > 0] = 0
        x, y, bw, bh = cv2.boundingRect(region)
        if bw == 0 or bh == 0:
            raise ValueError(f"camera {self.camera.name}: the facade region is empty (off the image or fully masked)")
        return region[y : y + bh, x : x + bw].copy(), (x, y, bw, bh)

    def _per_row(self, px_at: Callable[[float, float], float]) -> np.ndarray:
        """A length in source px at a source point (on the image's centre column), as analysis
        px for each analysis row: sampled at 24 rows and interpolated (perspective makes it
        vary smoothly)."""
        rows = np.linspace(0, self.size[1] - 1, 24)
        cx = self.camera.width / 2
        px = [px_at(cx, r / self.scale) * self.scale for r in rows]
        return np.interp(np.arange(self.size[1]), rows, np.maximum(px, 1.0))

    @staticmethod
    def _at_row(per_row: np.ndarray, y: float) -> float:
        return float(per_row[min(max(int(y), 0), len(per_row) - 1)])

    def _storey_at(self, y: float) -> float:
        """Height of one storey in analysis px at analysis row y."""
        return self._at_row(self._storey_px, y)

    def _metre_at(self, y: float) -> float:
        """Analysis px per metre across the facade at analysis row y: the scale of a thing seen
        there. An upward camera foreshortens the facade's heights (a storey is a third as tall
        as it is wide at 60-70 degrees up) but not a thrown object, which is no flat part of
        the facade: its size goes by the widths."""
        return self._at_row(self._metre_px, y)

    # per frame -----------------------------------------------------------------------------
    def process(self, frame: Frame) -> list[Detection]:
        x0, y0, w, h = self._crop
        ox, oy = frame.origin
        crop = frame.image[y0 - oy : y0 - oy + h, x0 - ox : x0 - ox + w]  # from the feed: all of it (box)
        if self._steady is not None:
            crop = self._steadied(crop)
        self._history.append(crop)  # frame images are never written to (Frame)
        if len(self._history) <= max(LAGS):
            return []
        blobs = self._blobs(crop)
        if blobs is None and self._steady is None and self._start_steadying():
            blobs = self._blobs(self._history[-1])
        out: list[Detection] = []
        if blobs is None:
            for tr in self._tracks:
                tr.misses += 1
        else:
            self._associate(frame.t, blobs)
            self._past.append((frame.t, blobs))
            for tr in self._tracks:
                if tr.key is None and tr.misses == 0:
                    det = self._confirm(tr)
                    if det is not None:
                        out.append(det)
        alive = []
        for tr in self._tracks:
            # a young track is mostly noise: it gets one frame's grace, not max_missed_frames
            if tr.misses > (self.cfg.expert.max_missed_frames if len(tr.t) >= 4 else 1):
                if tr.verdict is not None:
                    out.append(self._detection(tr, "end", self._final(tr)))
                    self._reported.append(tr)
                elif len(tr.t) >= 3:  # a parent for what follows (_parent)
                    self._lost.append(tr)
            else:
                alive.append(tr)
        self._tracks = alive
        return out

    def finish(self, t: float) -> list[Detection]:
        out = [self._detection(tr, "end", self._final(tr)) for tr in self._tracks if tr.verdict is not None]
        self._tracks = []
        return out

    def _blobs(self, crop: np.ndarray) -> list[Blob] | None:
        """Foreground blobs of this frame, or None when the frame is a global change."""
        diff = cv2.absdiff if self._steady is None else tolerant_difference
        d1 = diff(crop, self._history[-1 - LAGS[0]])
        d2 = diff(crop, self._history[-1 - LAGS[1]])
        noise = self._noise(d1)
        thresh = max(self.cfg.expert.min_threshold, self.th.sigma * noise)
        self._diff, self._thresh = cv2.min(d1, d2), thresh
        fg = cv2.threshold(self._diff, thresh, 255, cv2.THRESH_BINARY)[1]
        fg = cv2.bitwise_and(fg, self._region)
        changed = cv2.countNonZero(fg)
        if changed == 0:
            return []
        if changed > self.cfg.expert.max_changed_fraction * self._region_px:
            return None
        stats, cents = closed_components(fg)
        if not len(stats):
            return []
        keep = stats[:, cv2.CC_STAT_AREA] >= self.th.min_area
        if int(keep.sum()) > self.cfg.expert.max_blobs:
            return None
        x0, y0 = self._crop[:2]
        max_m = self.cfg.expert.max_object_m
        blobs = []
        streaks = 0
        for (_bx, _by, bw, bh, area), (cx, cy) in zip(stats[keep], cents[keep], strict=True):
            x, y = cx + x0, cy + y0
            across = max_m * self._metre_at(y) + BLOB_SLACK_PX
            if bw > across or bh > across + STREAK_M * self._storey_at(y) / self.cfg.storey_m:
                continue
            if bh >= 3 * bw and bh >= STREAK_MIN_PX:
                streaks += 1
            blobs.append(Blob(float(x), float(y), float(area), int(bw), int(bh)))
        self._rain = 0.9 * self._rain + 0.1 * streaks
        blobs = _without_specks(blobs)
        for b in blobs:
            b.soft = edge_softness(self._diff, thresh, b, x0, y0)
        return blobs

    def _start_steadying(self) -> bool:
        """After a global change: is it the camera moving? Then shift the frames held back onto
        the newest and keep doing so for every frame while it moves (edge.shake). An exposure
        jump or a rain burst does not move the facade and stays a skipped frame."""
        steady = Stabiliser(self._history[-1])
        offsets = [steady.offset(img) for img in self._history]
        if max(float(np.hypot(*o)) for o in offsets) < SHAKE_MIN_PX:
            return False
        for i, (img, o) in enumerate(zip(list(self._history), offsets, strict=True)):
            self._history[i] = steady.steady(img, o)
        self._steady = steady
        self._sway.clear()
        return True

    def _steadied(self, crop: np.ndarray) -> np.ndarray:
        """This frame shifted onto the reference; steadying stops once the camera has held
        still (to SHAKE_MIN_PX) for SHAKE_QUIET_S."""
        assert self._steady is not None
        offset = self._steady.offset(crop)
        self._sway.append(offset)
        steadied = self._steady.steady(crop, offset)
        if len(self._sway) == self._sway.maxlen and np.ptp(np.array(self._sway), axis=0).max() < SHAKE_MIN_PX:
            self._steady = None
        return steadied

    def _noise(self, d1: np.ndarray) -> float:
        """Standard deviation of frame-to-frame noise, from the pixels that changed at all.

        H.264 repeats static blocks bit for bit, so most differences are exactly 0 and a
        plain mean would hide the noise of the re-coded blocks around anything that moves.
        The mean of the non-zero differences, leaving out their top 1 % (where anything that
        moves sits), is that noise; when under 1 % of the region changed there is no noise
        worth measuring. The mean |difference| of Gaussian noise is 0.8 of its deviation.
        (Zeroing the outside of the region and dropping bin 0 counts exactly what a masked
        histogram counts, at a third of its cost. Every fourth row is a fair sample of a
        statistic over hundreds of thousands of pixels, and the histogram was the detector's
        largest single cost. Not every eighth: at night few pixels change at all, and the
        thinner sample let rain specks through that raised two false alarms in the bench's
        night rain.)"""
        rows = d1[::NOISE_ROW_STEP]
        hist = cv2.calcHist([cv2.bitwise_and(rows, self._noise_region)], [0], None, [256], [0, 256]).ravel()[1:]
        nonzero = hist.sum()
        if nonzero < 0.01 * self._noise_px:
            return 0.0
        cut = int(np.searchsorted(np.cumsum(hist), 0.99 * nonzero)) + 1
        values = np.arange(1, cut + 1)
        return float((hist[:cut] * values).sum() / hist[:cut].sum()) / 0.798

    def _associate(self, t: float, blobs: list[Blob]) -> None:
        """Greedy nearest-first matching of blobs to tracks' gravity-aware predictions."""
        pairs = []
        aims: list[tuple[float, float, float]] = []  # each track's prediction and gate
        for ti, tr in enumerate(self._tracks):
            ys = self._storey_at(tr.y[-1])
            g_px = G / self.cfg.storey_m * ys
            px, py = predict(np.array(tr.t), np.array(tr.x), np.array(tr.y), t, g_px)
            n = len(tr.t)
            step = math.hypot(px - tr.x[-1], py - tr.y[-1])
            area = statistics.median(tr.area[-3:])  # np.median: 17 us a call, 60 times this
            # a big object's changed part shifts about it from frame to frame
            size = 0.5 * math.sqrt(area)
            if n == 1:
                gate = 0.5 * ys + 3
            elif n == 2:
                gate = 0.3 * ys + 0.3 * step + 3 + size
            else:
                gate = 0.12 * ys + 0.25 * step + 3 + size
            gate *= 1 + 0.5 * tr.misses
            aims.append((px, py, gate))
            for bi, b in enumerate(blobs):
                dx, dy = b.x - px, b.y - py
                if n == 1 and dy < -0.25 * gate:  # one point: it may only fall or drift
                    continue
                d = math.hypot(dx, dy)
                if d <= gate:
                    pairs.append((d / gate + AREA_COST * abs(math.log(b.area / area)), ti, bi))
        pairs.sort()
        used_t: set[int] = set()
        used_b: set[int] = set()
        for _d, ti, bi in pairs:
            if ti in used_t or bi in used_b:
                continue
            used_t.add(ti)
            used_b.add(bi)
            self._tracks[ti].add(t, blobs[bi])
        for ti, tr in enumerate(self._tracks):
            if ti not in used_t:
                found = self._look_closer(*aims[ti], blobs) if self._falling(tr) else None
                if found is None:
                    tr.misses += 1
                else:
                    tr.add(t, found)
        for bi, b in enumerate(blobs):
            if bi not in used_b and len(self._tracks) < MAX_TRACKS:
                tr = Track(next(self._ids))
                tr.add(t, b)
                tr.follow(self._parent(t, b))
                self._tracks.append(tr)

    @staticmethod
    def _falling(tr: Track) -> bool:
        """Established and going down faster each step: worth a closer look when it goes missing."""
        if len(tr.t) < 6 or tr.misses > 2:
            return False
        steps = np.diff(tr.y[-4:])
        return bool((steps > 0).all() and steps[-1] >= steps[0])

    def _look_closer(self, px: float, py: float, gate: float, blobs: list[Blob]) -> Blob | None:
        """The changed pixels near a falling track's prediction, at half the frame threshold.

        Late in a fall a small object moves 10-30 px per frame and its motion blur spreads it
        over that length, so its contrast drops by as much and a frame-wide threshold loses it
        just before it has fallen far enough to confirm. Where a track predicts it, a weaker
        change is evidence enough; the path it then has to fit keeps out noise. What the
        frame threshold found is not looked at again: another track has it, or starts on it."""
        if self._diff is None:
            return None
        x0, y0 = self._crop[:2]
        h, w = self._diff.shape
        r = max(3, round(gate))
        cx, cy = round(px) - x0, round(py) - y0
        wx0, wy0, wx1, wy1 = max(0, cx - r), max(0, cy - r), min(w, cx + r + 1), min(h, cy + r + 1)
        if wx1 <= wx0 or wy1 <= wy0:
            return None
        win = self._diff[wy0:wy1, wx0:wx1] & self._region[wy0:wy1, wx0:wx1]
        low = max(self.cfg.expert.min_threshold / 2, self._thresh / 2)
        mask = cv2.threshold(win, low, 255, cv2.THRESH_BINARY)[1]
        stats, cents = components(mask)
        if not len(stats):
            return None
        d = np.hypot(cents[:, 0] - (cx - wx0), cents[:, 1] - (cy - wy0))
        left, top, bw, bh = stats[:, 0], stats[:, 1], stats[:, 2], stats[:, 3]
        for b in blobs:  # components holding a blob of this frame are taken
            bx, by = b.x - x0 - wx0, b.y - y0 - wy0
            d[(left - 2 <= bx) & (bx <= left + bw + 2) & (top - 2 <= by) & (by <= top + bh + 2)] = np.inf
        k = int(np.argmin(d))
        if d[k] > gate or stats[k, cv2.CC_STAT_AREA] < self.th.min_area:
            return None
        bx, by = cents[k]
        return Blob(
            float(bx + wx0 + x0),
            float(by + wy0 + y0),
            float(stats[k, cv2.CC_STAT_AREA]),
            int(stats[k, cv2.CC_STAT_WIDTH]),
            int(stats[k, cv2.CC_STAT_HEIGHT]),
        )

    def _parent(self, t: float, b: Blob) -> Track | None:
        """The track a new one may continue: a small object's track breaks where it crosses
        a window of its own shade, and early in the fall, when it moves less than its own
        size per frame, differencing sees its trailing edge as well as the object, or nothing
        at all: lagged differences of a thing that has hardly moved cancel. That is worst for
        a toss out toward an upward camera, which on the image rises for up to a second (its
        approach, seen from below) and stands still at its apparent apex just as it would
        start to tell its story. The nearest track of at least three points, last seen within
        half a second, within reach and no more than a storey below the new blob, is kept;
        judging decides whether the two are one object (their joint path must pass every test)."""
        best, best_d = None, math.inf
        for tr in itertools.chain(self._tracks, self._lost):
            d = math.hypot(b.x - tr.x[-1], b.y - tr.y[-1])
            if d < best_d and self._continues(tr, t, b.x, b.y, rise_storeys=1.0, min_points=3):
                best, best_d = tr, d
        return best

    def _continues(
        self,
        older: Track,
        t: float,
        x: float,
        y: float,
        within_s: float = 0.5,
        rise_storeys: float = 0.1,
        min_points: int = 4,
        overlap_s: float = 0.0,
    ) -> bool:
        """Could a thing first seen at (t, x, y) be `older` going on? Seen last within
        `within_s` (or up to `overlap_s` after t), no more than `rise_storeys` above it, and
        within reach at its recent speed."""
        gap = t - older.t[-1]
        if len(older.t) < min_points or not -overlap_s <= gap <= within_s:
            return False
        ys = self._storey_at(y)
        speed = math.hypot(older.x[-1] - older.x[-2], older.y[-1] - older.y[-2]) / max(older.t[-1] - older.t[-2], 1e-3)
        d = math.hypot(x - older.x[-1], y - older.y[-1])
        return y - older.y[-1] >= -rise_storeys * ys and d <= 1.5 * ys + 2 * speed * gap

    # physics -------------------------------------------------------------------------------
    def _source_xy(self, tr: Track) -> np.ndarray:
        return np.stack([tr.x, tr.y], 1) / self.scale

    def judge(self, tr: Track) -> Verdict | str:
        """Is this track a thrown object? The verdict, or why not (for installers tuning a camera)."""
        n = len(tr.t)
        if n < self.th.min_points:
            return f"{n} points, need {self.th.min_points}"
        soft = self._softness(tr)
        if soft is not None:
            return soft
        verdict = self._on_plane(tr)
        if isinstance(verdict, str):
            verdict = self._tossed(tr) or verdict
        if isinstance(verdict, str):
            return verdict
        if self._after_gaps(np.array(tr.t))[-1] == n - 1:
            gap = (tr.t[-1] - tr.t[-2]) * self.camera.fps
            return f"its newest point came {gap:.0f} frames after the one before: waiting for the next"
        return self._turns_back(tr) or verdict

    def _softness(self, tr: Track) -> str | None:
        """Why a track is out of focus, so at the lens (an insect, a web), or None: the median
        edge softness (edge_softness) of its blobs, or of its newest RECENT_S (three points at
        least), above the limit. A track can run into an insect: a leaf drifting left, then
        the blurred edge of an insect crossing the lens below it, made "a fall at 1.43 g"
        whose newest points were soft (0.41-0.71) while the whole track's median was 0.09."""
        most = self.cfg.expert.max_edge_softness
        if most is None:
            return None
        newest = min(int(np.searchsorted(tr.t, tr.t[-1] - RECENT_S - 1e-6)), len(tr.t) - 3)
        for soft, part in (
            (statistics.median(tr.soft), ""),
            (statistics.median(tr.soft[newest:]), " of its newest points"),
        ):
            if soft > most:
                return f"out of focus (edge softness{part} {soft:.2f} > {most}): at the lens, an insect or a web"
        return None

    def _after_gaps(self, t: np.ndarray) -> np.ndarray:
        """Where a track's stretches begin: its first point and each that came LONE_GAP_FRAMES
        or more frames after the one before (the association gate had widened by then)."""
        return np.concatenate([[0], np.nonzero(np.diff(t) * self.camera.fps > LONE_GAP_FRAMES - 0.5)[0] + 1])

    def _turns_back(self, tr: Track) -> str | None:
        """Why a track that falls as a throw does is still none: along the facade it turns back
        by more than its wander limit (_wander_limit_px), or None.

        Nothing but drag acts sideways on a thrown thing, and drag brakes both of its
        horizontal speeds, along the facade and out from it, in step: its path runs along one
        line in plan. Seen from the camera, a point on that line meets the facade plane at a
        ratio of two linear functions of the distance it has moved, which only ever moves one
        way: whatever its toss, a thrown thing's place along the facade never turns back.
        Paper and leaves swaying as they drift down do (a sheet of paper at night swinging
        left, then right: "0.49 g"), as do birds wheeling: three of the bench confuser
        ledger's false alarms before this test turned back so (a sheet of paper, a leaf, and a
        leaf whose track ran into a sheet of paper; named from the simulated scene by
        bench/thrown_false_alarms.py). Centroids are smoothed over five
        points first: a thing passing a railing, or merged for a frame with a neighbouring
        blob, is pulled off its path for a point or two."""
        xy = self._source_xy(tr)
        x_m = self.facade.to_metres(xy, self.cfg.storey_m, self._width_m)[:, 0]
        x = _smoothed(x_m)
        back = min(float(np.max(np.maximum.accumulate(x) - x)), float(np.max(x - np.minimum.accumulate(x))))
        back_px = back * self._metre_at(float(np.mean(tr.y))) / self.scale
        limit = _wander_limit_px(xy, tr.area)
        if back_px > limit:
            return f"turns back {back_px:.1f} px along the facade (limit {limit:.1f}): a thrown thing never does"
        return None

    def _on_plane(self, tr: Track) -> Verdict | str:
        """The throw as seen on the calibrated facade plane, or why it is none."""
        n = len(tr.t)
        t = np.array(tr.t)
        xy = self._source_xy(tr)
        storey_m = self.cfg.storey_m
        # metres along the facade and up it: a straight drop keeps x_m, not its image x
        x_m, h = self.facade.to_metres(xy, storey_m, self._width_m).T
        fit = fit_fall(t, h)
        if fit is None:
            return "no fit"
        release_t, release_h = fit.release(t[0], h[0])
        fallen = release_h - h[-1]
        verdict = Verdict(fit, release_t, release_h, float(x_m[0]), fallen, "accelerating")
        if fit.drop < 0.5 * storey_m or fallen < self.cfg.min_fall_floors * storey_m:
            return f"fell {fallen / storey_m:.1f} storeys ({fit.drop / storey_m:.1f} seen), need {self.cfg.min_fall_floors}"
        if fit.r2 < self.th.min_r2:
            return f"fit R2 {fit.r2:.3f} < {self.th.min_r2:.2f}"
        frames = self._frames_spanned(t)
        if n < 0.5 * frames:
            return f"seen in {n} of {frames:.0f} frames"
        # in image px, a real object's centroid sits on its parabola to a pixel or two;
        # a chain of noise blobs that happens to fall does not
        resid = self._residuals_px(t, xy, h)
        rms_px = float(np.sqrt(np.mean(resid * resid)))
        limit = _wander_limit_px(xy, tr.area)
        if rms_px > limit:
            return f"path wanders {rms_px:.1f} px about its parabola (limit {limit:.1f})"
        top = int(np.argmax(h))  # an upward throw rises first: judge the fall after its apex
        down = _steps_down(t[top:], h[top:], xy[top:, 1])
        if down < 0.8:
            return f"only {down:.0%} of steps go down"
        # sideways drift along the facade must stay below the fall
        side_m = abs(x_m[-1] - x_m[0])
        if side_m > max(1.5, 0.8 * fit.drop):
            return f"drifts {side_m:.1f} m sideways in a {fit.drop:.1f} m fall"
        _, x_speed, x_rms = fit_line(t, x_m)
        if x_rms > 0.25 + 0.1 * fit.drop:
            return f"zig-zags {x_rms:.2f} m about a straight line"  # flutter or flapping
        if self.th.accel_lo <= fit.accel <= self.th.accel_hi and fit.accel > 3 * fit.accel_se:
            return self._hangs(t, xy, h, fit) or self._stopped(t, h, tr.y, fit) or verdict
        speed = self.cfg.expert.terminal_speed_mps
        raining = self._rain > 2.0
        if (
            speed is not None
            and not raining
            and fit.speed_mean >= speed
            and -0.2 * G <= fit.accel < self.th.accel_lo
            and n >= self.th.min_points + 4
            and fit.rms < 0.1 * storey_m
            and abs(x_speed) <= TERMINAL_SIDEWAYS * fit.speed_mean
            and x_rms <= TERMINAL_FLUTTER_M + self.cfg.storey_m / self._storey_at(float(np.mean(tr.y)))
        ):
            return self._stopped(t, h, tr.y, fit) or Verdict(
                fit, release_t, release_h, float(x_m[0]), fallen, "terminal"
            )
        return (
            f"acceleration {fit.accel / G:.2f} g (+-{fit.accel_se / G:.2f}) outside "
            f"{self.th.accel_lo / G:.2f}-{self.th.accel_hi / G:.2f} g, mean speed {fit.speed_mean:.1f} m/s"
            + (", raining" if raining else "")
        )

    def _stopped(self, t: np.ndarray, h: np.ndarray, y: list[float], fit: FallFit) -> str | None:
        """Why a fall on the facade plane is still no throw: its newest stretch has (nearly)
        stopped, or is too short to tell yet; or None.

        A thrown thing never stops in mid-air: drag only brings it to its terminal speed,
        4.5 m/s or more for anything confirmed at terminal speed, and more for a fall that
        still accelerates. The newest stretch is what came after the track's last gap of
        LONE_GAP_FRAMES or more, where the association gate had widened and the track may have
        joined something else: then only what it joined shows whether the fall goes on, and it
        needs three points to. Without such a gap it is the last RECENT_S, three points at
        least. That stretch must fall at STOP_SHARE or more of the speed the fitted parabola
        gives it there, give or take three standard errors of its own scatter (half a pixel at
        least). A leaf drifting left, unseen for half a second, then a shirt swinging on a rail
        29 px lower made "a fall at 1.49 g" with all of it in the gap; at its alarm its newest
        four points fell at 1.3 m/s (+-1.0) where the parabola said 14.2."""
        start = int(self._after_gaps(t)[-1])
        if start > 0:
            if len(t) - start < 3:
                return f"{len(t) - start} points since it was unseen for a while: waiting for a third to see it fall on"
        else:
            start = min(int(np.searchsorted(t, t[-1] - RECENT_S - 1e-6)), len(t) - 3)
        n = len(t) - start
        ts, hs = t[start:], h[start:]
        _, slope, rms = fit_line(ts, hs)
        spread = ts - ts.mean()
        floor_m = 0.5 * self.cfg.storey_m / self._storey_at(float(np.mean(y[start:])))
        se = max(rms * math.sqrt(n / (n - 2)), floor_m) / math.sqrt(float(spread @ spread))
        s1, s2 = ts[0] - t[0], ts[-1] - t[0]
        expected = fit.v_first + fit.accel / 2 * (s1 + s2)  # the parabola's mean speed over the stretch
        if -slope + 3 * se < STOP_SHARE * expected:
            return (
                f"its newest {s2 - s1:.2f} s fall at {-slope:.1f} m/s (+-{se:.1f}) where its parabola says "
                f"{expected:.1f}: it stopped (a bird landing, or a track joined to something else lower down)"
            )
        return None

    def _tossed(self, tr: Track, trimmed: float | None = None) -> Verdict | None:
        """A throw judged in three dimensions where the plane turned it down: tossed out toward
        an upward camera, a thing seems on the plane to rise, hang and then plunge, so the
        plane's fall, its parabola and its drift all misjudge it (a shoe thrown up and out
        fell 15.8 m while on the plane it seemed to fall 1.1 storeys; a brick that left the
        view sideways seemed to fall 1.9). The 3-D free fall, with g fixed, has to follow the
        track to within a small object's localisation (_free_fall_in_depth), from a release in
        view or just before it (TOSS_SEEN_S; anything first seen late at speed is the plane's
        to judge), on the balcony fronts give or take TOSS_DEPTH_M, moving out of them at a
        speed a hand gives (TOSS_SPEED_MPS), not into the building: a raindrop falling
        straight at 10 m/s for a second is followed by a fall that goes 2 m into the wall.
        The thing must have fallen the configured storeys in 3-D, going down on the plane
        from its apex as it does, and gravity must show: a steady straight motion in 3-D has
        to follow it clearly worse (TOSS_GRAVITY_GAIN). A bird flying level along the facade
        at 11 m/s was followed by a free fall to 2.8 px "fallen 7.4 m" (the fall hidden along
        the line of sight), and by a steady flight to 1.7 px; for the bench's throws that
        passed this way, no gravity left 1.7-18 times the scatter, or could not follow them
        at all.

        A few centroids pulled off the path (the object passing a railing, or merged for a
        frame with a neighbouring blob: 9 px off, four points of a dusk brick's 38) make
        the free fall miss it as a whole; it is tried once more without them
        (_without_outliers; `trimmed` is the share left out), held to what an honest
        scatter at the limit comes to once its worst points are gone (_trimmed_rms_share),
        and then has to pass every test again."""
        if not self.calibrated:
            return None
        t = np.array(tr.t)
        need_m = self.cfg.min_fall_floors * self.cfg.storey_m
        # from rest a thing needs sqrt(2 d / g) to fall d: a younger track cannot have (and
        # the fit is not worth its cost on every noise track in every frame)
        if t[-1] - t[0] < math.sqrt(2 * need_m / G) - TOSS_SEEN_S:
            return None
        if len(t) < 0.5 * self._frames_spanned(t):
            return None
        xy = self._source_xy(tr)
        # the plane's cheap tests first: two 3-D fits follow
        x_m, h = self.facade.to_metres(xy, self.cfg.storey_m, self._width_m).T
        top = int(np.argmax(h))
        if _steps_down(t[top:], h[top:], xy[top:, 1]) < 0.8:
            return None
        plane = fit_fall(t, h)
        if plane is None:
            return None
        fit = fit_ballistic(self._camera, t, xy)
        if fit is not None and not _follows(fit, xy, _trimmed_rms_share(trimmed or 0.0)):
            if trimmed is not None:
                return None
            kept = self._without_outliers(tr, fit)  # the fit just made, not a second one
            return None if kept is tr else self._tossed(kept, trimmed=1.0 - len(kept.t) / len(tr.t))
        if fit is None or fit.release_t < t[0] - TOSS_SEEN_S:
            return None
        if abs(float(fit.release[2])) > TOSS_DEPTH_M or not -TOSS_INWARD_MPS <= fit.velocity[2] <= TOSS_SPEED_MPS:
            return None
        fallen = fit.fallen(float(t[-1]))
        if fallen < need_m:
            return None
        steady = fit_ballistic(self._camera, t, xy, gravity=0.0)
        if steady is not None and steady.rms_px < TOSS_GRAVITY_GAIN * fit.rms_px:
            return None  # flown, not fallen: gravity does not explain the path better than no gravity
        if fit.release_seen():  # where its image lies on the facade names the floor
            release_h, release_x = float(h[0]), float(x_m[0])
        else:
            release_x, release_h = float(fit.release[0]), float(fit.release[1])
        return Verdict(plane, fit.release_t, release_h, release_x, fallen, "tossed", depth_rms_px=fit.rms_px)

    def _frames_spanned(self, t: np.ndarray) -> float:
        """Frames from a track's first point to its last, both counted."""
        return (t[-1] - t[0]) * self.camera.fps + 1

    def _hangs(self, t: np.ndarray, xy: np.ndarray, h: np.ndarray, whole: FallFit) -> str | None:
        """Why a fall whose whole path (`whole`) accelerates as gravity does is still no throw:
        its first half does not accelerate (fitted acceleration three standard errors short of
        the band, or below it and three short of the whole path's), or the path without its
        newest points (RECENT_S) does not (three standard errors short of the band), and no toss
        toward the camera explains that, or None.

        A thing let go gains g from the first instant. A bird that glides slowly along the
        facade and then dives, or a glide whose track runs on into something falling below
        it, shows a steady crawl and then a plunge: one parabola through both comes out near
        g (1.35 g on the one the 1080p bench raised). A toss out toward an upward camera seems
        on the facade plane to hang at first too (its approach, seen from below); the 3-D fit
        follows it (_free_fall_in_depth), and follows neither the glide nor the join."""
        half = t <= t[0] + (t[-1] - t[0]) / 2
        early = fit_fall(t[half], h[half]) if half.sum() >= 5 else None
        # drag only ever takes acceleration away as a fall goes on: a first half that shows
        # none in the band and falls short of the whole path by three standard errors is no
        # one free fall either (a sheet of paper drifting at 0.01 g +-0.14 whose track ran on
        # into specks below it: 1.04 g; a brick's first half, at 0.52 g, is a fall)
        hangs = early is not None and (
            early.accel + 3 * early.accel_se < self.th.accel_lo
            or (
                early.accel < self.th.accel_lo
                and early.accel + 3 * math.hypot(early.accel_se, whole.accel_se) < whole.accel
            )
        )
        # nor is a path whose acceleration all comes from its newest points: a sheet of paper
        # drifting in rain at 0.04 g +-0.07 took, after a gap, a blob 3.3 m below it (0.42 g),
        # and then another just below that
        old = t <= t[-1] - RECENT_S
        rest = fit_fall(t[old], h[old]) if old.sum() >= 6 else None
        lone = rest is not None and rest.accel + 3 * rest.accel_se < self.th.accel_lo
        if not (hangs or lone) or self._free_fall_in_depth(t, xy) is not None:
            return None
        if hangs:
            assert early is not None
            return (
                f"hangs for its first {t[half][-1] - t[0]:.1f} s ({early.accel / G:.2f} g +-{early.accel_se / G:.2f}) "
                "and no toss toward the camera explains it: a glide that dived, or two things joined"
            )
        assert rest is not None
        return (
            f"falls at {rest.accel / G:.2f} g +-{rest.accel_se / G:.2f} until its last {RECENT_S} s, which alone "
            "make the fall, and no toss toward the camera explains it: something else joined the track"
        )

    def _confirm(self, tr: Track) -> Detection | None:
        # the joined path first: when it passes, its earlier points put the release where the
        # object was let go, not where its track happened to start
        join = self.longest_join(tr) if len(tr.t) >= 4 else None
        if join is not None:  # one object: the track carries the whole path
            joined, verdict = join
            tr.take(joined)
            tr.parent = None
        else:
            verdict = self.judge(tr)
        if isinstance(verdict, str):
            let_go = self._let_go(tr)
            if let_go is None:
                return None
            end, verdict = let_go
            tr.take(end)
        traced = self._retrace(tr)
        if traced is not None:
            longer = self.judge(traced)
            if not isinstance(longer, str):  # the earlier points are the same object's
                tr.take(traced)
                verdict = longer
        earlier = self._earlier(tr, verdict)
        if earlier is not None:
            joined, verdict = earlier
            tr.take(joined)
        verdict = self._in_depth(tr, verdict)
        # one object can leave two tracks (a ghost, a streak split by a slab, a track re-born
        # after a gap): one event per object, whichever way the two tracks meet. A track
        # already put down as an event's object is that object as much as the event's own
        # track is (a butt's event track ended; the track that had carried on along its path,
        # put down as the same butt, overlapped the next one confirmed on it)
        storey, storey_m = self._storey_at(tr.y[-1]), self.cfg.storey_m
        for other in itertools.chain(self._tracks, self._reported, self._lost):
            if other is tr or other.key is None or other.t[-1] < tr.t[-1] - 3.0:
                continue
            o = other.verdict
            same_release = (
                o is not None
                and abs(o.release_t - verdict.release_t) < 0.6
                and abs(o.release_h - verdict.release_h) < 1.5 * storey_m
                and abs(o.release_x - verdict.release_x) < storey_m
            )
            # a confirmed fall that vanished (an ember fading, a slab in the way) for up to a
            # second and a new fall below it, within reach: the same object. The new track may
            # have begun a frame or two before the old one's end, on a piece of its blob (a night
            # butt's streak split in two, one piece left as a ghost that the new track then
            # carried on along the butt's path: a second event, 2.6 s "late", for one butt)
            follows = self._continues(
                other, tr.t[0], tr.x[0], tr.y[0], within_s=1.0, overlap_s=OVERLAP_FRAMES / self.camera.fps
            )
            if same_release or together(other, tr, storey) or follows:
                tr.key = other.key  # suppressed for good; the other reports the object
                return None
        tr.verdict = verdict
        tr.key = f"thrown-{tr.id}"
        return self._detection(tr, "new", verdict)

    def longest_join(
        self, tr: Track, accept: Callable[[Verdict], bool] = lambda v: True
    ) -> tuple[Track, Verdict] | None:
        """The track joined back through the most of its ancestors (Track.lineage) whose whole
        path passes judge() and `accept`, with its verdict; None when no join does.

        The longest join that passes: an ancestor that was something else (a speck the first
        piece of a toss was joined to) spoils the join, not the nearer ancestors' (without them
        a rubbish bag thrown up in the bench's rain was put at its apex, 0.5 s late and a floor
        high)."""
        for depth in range(tr.ancestors(), 0, -1):
            joined = tr.lineage(depth)
            verdict = self.judge(joined)
            if not isinstance(verdict, str) and accept(verdict):
                return joined, verdict
        return None

    def _let_go(self, tr: Track) -> tuple[Track, Verdict] | None:
        """The end of a track that hung in place (LET_GO_HOLD_S or more, within LET_GO_M on the
        facade) and then fell, with its verdict, when that end passes judge() and the whole
        track did not; else None.

        A thing let go from where it hung (a shoe tossed from laundry swinging at a railing,
        something pushed off a sill) often starts no track of its own: the laundry's track
        takes its blob, and the parabola through the laundry's second of swinging and the
        fall misses both. The fall is judged from where the hanging ended, a few points
        either side (the running median that keeps a stray centroid out also blurs the end
        by two points). A drop's first metre is slow enough to look hung, so a hang must last
        LET_GO_HOLD_S longer than a fall takes to leave the metre; and a thing let go from rest
        accelerates, so a fall at terminal speed from there is not taken (drops judged from
        after their first metre were confirmed sooner, and four were put a storey high on the
        bench). A track that moved before it fell is not tried: the rising part of an upward
        toss is the same object, and cutting it puts the release at the apex."""
        n, need = len(tr.t), self.th.min_points
        if n < 2 * need or tr.t[-1] - tr.t[0] < LET_GO_HOLD_S + need / self.camera.fps:
            return None
        if tr.y[-1] - tr.y[-need] < 0.5 * self._storey_at(tr.y[-1]):
            return None  # not falling now (swaying trees and laundry, every frame: keep it cheap)
        x_m, h = self.facade.to_metres(self._source_xy(tr), self.cfg.storey_m, self._width_m).T
        x, h = _smoothed(x_m), _smoothed(h)
        span = np.maximum(
            np.maximum.accumulate(x) - np.minimum.accumulate(x), np.maximum.accumulate(h) - np.minimum.accumulate(h)
        )
        held = int(np.argmax(span > LET_GO_M)) if (span > LET_GO_M).any() else n
        # a drop takes sqrt(2 LET_GO_M / g), 0.45 s, to leave the metre: it hung only if it stayed longer
        if held >= n - need + 1 or tr.t[held - 1] - tr.t[0] < LET_GO_HOLD_S + math.sqrt(2 * LET_GO_M / G):
            return None
        for start in range(max(1, held - 3), min(held + 3, n - need + 1)):
            end = tr.only(np.arange(n) >= start)
            verdict = self.judge(end)
            if not isinstance(verdict, str) and verdict.kind != "terminal":
                return end, verdict
        return None

    def _retrace(self, tr: Track) -> Track | None:
        """The confirmed track with the blobs of the frames before its first point that lie on
        its path traced back in time, or None when there are none.

        A small or faint object is seen only now and then near its release, where it is
        farthest from an upward camera, slowest and smallest: its first blobs make tracks of
        two to four points that die before they can be joined (_parent joins only tracks of
        three points or more, last seen within half a second). The track that is confirmed
        then starts late in the fall, and its release is extrapolated back over a second or
        two: a storey or more off. Once a fall is confirmed, its path under gravity
        (_back_along) says where the object was in each earlier frame; a blob there, within
        a small gate that grows with the frames since the last one found, is the object,
        through gaps of up to RETRACE_GAP_S, when it is one of a run of frames. The caller
        judges the longer path again and keeps it only if it passes."""
        t, x, y = list(tr.t), list(tr.x), list(tr.y)
        size = 0.5 * math.sqrt(statistics.median(tr.area[:RETRACE_FIT]))
        found: list[tuple[float, Blob]] = []
        for tp, blobs in reversed(self._past):
            if tp >= t[0] - 1e-6 or not blobs:
                continue
            gap = t[0] - tp
            if gap > RETRACE_GAP_S:
                break
            px, py = self._back_along(t[:RETRACE_FIT], x[:RETRACE_FIT], y[:RETRACE_FIT], tp)
            ys = self._storey_at(py)
            gate = 2.0 + size + 0.1 * ys * gap * self.camera.fps / 4
            b = min(blobs, key=lambda b: math.hypot(b.x - px, b.y - py))
            if math.hypot(b.x - px, b.y - py) > min(gate, 0.5 * ys):
                continue
            found.append((tp, b))
            t.insert(0, tp)
            x.insert(0, b.x)
            y.insert(0, b.y)
        # a blob seen in one frame alone, frames before the rest, is as likely noise as the
        # object: the object's fragments come in runs of frames
        frame = 1.5 / self.camera.fps
        runs = [tr.t[0], *(tp for tp, _ in found)]
        found = [(tp, b) for tp, b in found if any(0 < abs(tp - o) <= frame for o in runs)]
        if not found:
            return None
        out = Track(tr.id, key=tr.key, verdict=tr.verdict)
        for tp, b in reversed(found):
            out.add(tp, b)
        for name in SERIES:
            getattr(out, name).extend(getattr(tr, name))
        return out

    def _earlier(self, tr: Track, verdict: Verdict) -> tuple[Track, Verdict] | None:
        """The confirmed track with an earlier, unconfirmed track of the same object in front
        of it, and the verdict on the two together; or None.

        Tossed out toward an upward camera, a thing seems on the facade plane to hang at its
        apparent apex while it approaches, and lagged differencing loses it there. Its first
        track dies or runs on into noise; the one that is confirmed starts a second or more
        after the release, which is then extrapolated back through a path whose depth it
        does not show, mostly a storey high (on 40 scenes the bench does not use, 14 of the 27
        events first seen 0.6 s or more after the release named the wrong floor, 11 of the
        133 seen sooner). _parent joins only the nearest track of the last half second, and
        _retrace predicts on the plane, where such a path is no parabola. Here any track that began
        near the extrapolated release and before the confirmed one is tried in front of it,
        its end cut back a point at a time (noise taken after a gap): the first cut whose
        joined path passes every test of judge(), in 3-D if not on the plane, is the object's.
        The earliest such start wins."""
        t0 = tr.t[0]
        if verdict.release_t > t0 - EARLIER_S:
            return None
        best: tuple[Track, Verdict] | None = None
        for e in itertools.chain(self._tracks, self._lost):
            if e is tr or e.key is not None or not verdict.release_t - EARLIER_LATE_S <= e.t[0] <= t0 - EARLIER_S:
                continue
            if best is not None and e.t[0] >= best[0].t[0]:
                continue
            n = bisect.bisect_left(e.t, t0)  # its points before the confirmed track's first
            for cut in range(n, max(EARLIER_MIN, n - EARLIER_TRIM) - 1, -1):
                joined = Track(tr.id, key=tr.key, verdict=tr.verdict)
                for name in SERIES:
                    setattr(joined, name, getattr(e, name)[:cut] + getattr(tr, name))
                joined = self._without_outliers(joined)
                v = self.judge(joined)
                if not isinstance(v, str):
                    best = (joined, v)
                    break
        return best

    def _without_outliers(self, tr: Track, fit: Ballistic | None = None) -> Track:
        """`tr` without the points (at most EARLIER_OUTLIERS of them) that the 3-D free fall
        through it (`fit`, when the caller has it) misses by more than twice the wander limit;
        `tr` itself when there are none or too many."""
        t, xy = np.array(tr.t), self._source_xy(tr)
        fit = fit or fit_ballistic(self._camera, t, xy)
        if fit is None:
            return tr
        miss = np.hypot(*(fit.image(self._camera, t) - xy).T)
        keep = miss <= 2 * _wander_limit_px(xy)
        if keep.all() or (~keep).sum() > EARLIER_OUTLIERS * len(t):
            return tr
        return tr.only(keep)

    def _back_along(self, t: list[float], x: list[float], y: list[float], when: float) -> tuple[float, float]:
        """Where a fall seen at (t, x, y) was at an earlier time `when`, in analysis px: x
        linear, y under gravity at the scale of its rows (px a storey), the speed fitted. A
        short track's own curvature, extrapolated back, runs off by tens of px in a quarter of
        a second; gravity is known."""
        s = np.array(t) - t[0]
        g_px = G / self.cfg.storey_m * self._storey_at(y[0])
        vy, y0 = np.polyfit(s, np.array(y) - 0.5 * g_px * s * s, 1)
        vx, x0 = np.polyfit(s, x, 1)
        ds = when - t[0]
        return float(x0 + vx * ds), float(y0 + vy * ds + 0.5 * g_px * ds * ds)

    def _in_depth(self, tr: Track, verdict: Verdict) -> Verdict:
        """The release from a fall fitted in three dimensions
        (edge.trajectory.fit_ballistic), when the facade is calibrated, the fall is a free
        one that the fit follows to within the pixels of a small object's localisation (the
        plane fit's limit without its size term), and the release was not in view on the
        plane (Ballistic.release_seen: then the plane's release, where its image lies,
        stands; the verdict keeps it for a refit to return to). Tossed out toward an upward
        camera, a thing seems on the facade plane to rise for up to a second and then to
        fall at 1.3-1.5 g; its release comes out 0.3-1 s late and a storey off. Drag is not
        in the model: a fall at terminal speed (an ember) keeps the plane's release, and one
        that drag slows but that still accelerates (a bag) is fitted as if free, which drag
        biases."""
        if not self.calibrated or verdict.kind != "accelerating":
            return verdict
        t, xy = np.array(tr.t), self._source_xy(tr)
        fit = self._free_fall_in_depth(t, xy)
        if fit is None:
            return verdict
        if fit.release_seen():
            # the release is in view: where its image lies on the facade names the floor
            if verdict.plane_release is None:
                return verdict
            return _released_at(verdict, *verdict.plane_release, plane_release=None)
        plane = verdict.plane_release or (verdict.release_t, verdict.release_h, verdict.release_x)
        x_m, h_m, _z = fit.release
        return _released_at(verdict, fit.release_t, float(h_m), float(x_m), plane_release=plane)

    def _free_fall_in_depth(self, t: np.ndarray, xy: np.ndarray) -> Ballistic | None:
        """The 3-D free fall (edge.trajectory.fit_ballistic) through a track's points (source
        px `xy` at times `t`), when it follows them to within a small object's localisation;
        else None. Not the plane fit's size term: with its depth free, the fit bends toward a
        big object's wobble (with it, 6 of the 1080p bench's 72 events that were on the right
        floor went wrong)."""
        fit = fit_ballistic(self._camera, t, xy)
        return fit if fit is not None and _follows(fit, xy) else None

    def _residuals_px(self, t: np.ndarray, xy: np.ndarray, h: np.ndarray) -> np.ndarray:
        """Distance of each track point (source px `xy`, `h` metres up the facade) from its
        fitted fall, in image px at that point.

        Heights are fitted in facade metres (perspective bends an image-space parabola) and
        converted back with the local scale; x gets a quadratic in time for the same reason.
        The limit is then in the units of blob localisation: a real object's centroid sits
        on its path to a pixel or two, a chain of noise blobs that happens to fall does not."""
        s = t - t[0]
        px_per_m = self.facade.floor_heights_px(xy) / self.cfg.storey_m
        rh = (h - np.polyval(np.polyfit(s, h, 2), s)) * px_per_m
        rx = xy[:, 0] - np.polyval(np.polyfit(s, xy[:, 0], 2), s)
        return np.hypot(rh, rx)

    def _final(self, tr: Track) -> Verdict:
        """The confirmed verdict, with the fall measured to the track's last point.

        The facade-plane release stays as confirmed. It was fitted on the early fall, where
        drag is negligible; a refit over the whole path, drag included, lowers the fitted
        acceleration and so raises the speed at the first point, putting the release too early
        and too high (1.3-1.9 s early on bench tracks of a brick and a can). One confirmed at
        terminal speed whose first DEPTH_FIT_S, seen whole, accelerates as a throw does was
        confirmed on a stretch too short or too scattered to show it: that fall names the
        release. So does a join to the track's ancestors that failed while it was young and
        passes on the whole path, showing the thing rising from its release. The 3-D release is
        refitted on the first DEPTH_FIT_S of the track: how fast a tossed thing came out
        toward the camera shows in its path only over a second or more."""
        v = tr.verdict
        assert v is not None, "only confirmed tracks end with an event"
        # a join that failed while the track was young may pass on the whole path; taken
        # when it shows the release itself, the thing seen rising from it (a can thrown up
        # whose fall from the apex was confirmed alone, a floor high; the whole path's
        # parabola, drag and all, is not trusted for a release it has to extrapolate to)
        join = self.longest_join(tr, lambda w: w.fit.v_first <= 0 and w.release_t < v.release_t)
        if join is not None:
            joined, whole = join
            tr.take(joined)
            tr.parent = None
            return replace(whole, plane_release=None)
        t, xy = np.array(tr.t), self._source_xy(tr)
        if v.kind == "tossed":  # its fall shows only in 3-D; the release stays as confirmed
            fit = self._free_fall_in_depth(t, xy)
            return v if fit is None else replace(v, fallen_m=fit.fallen(float(t[-1])))
        early = t <= t[0] + DEPTH_FIT_S
        if v.kind == "terminal":
            # a flower pot whose first half second under a shaking camera fitted 0.19 g was
            # put 0.3 s early, a floor high
            first = self.judge(tr.only(early))
            if not isinstance(first, str) and first.kind == "accelerating":
                v = first
        v = self._in_depth(tr.only(early), v)
        _x_m, h_last = self.facade.to_metres(xy[-1:], self.cfg.storey_m, self._width_m)[0]
        return replace(v, fallen_m=float(v.release_h - h_last))

    def _detection(self, tr: Track, phase: str, verdict: Verdict) -> Detection:
        t = np.array(tr.t)
        xy = self._source_xy(tr)
        release_t, fallen = verdict.release_t, verdict.fallen_m
        # the release, in facade (u, v), back to the image: the verdict holds it in metres
        u = verdict.release_x / self._width_m
        height_m = self.facade.storeys * self.cfg.storey_m
        rx, ry = self.facade.to_image(u, 1.0 - verdict.release_h / height_m)
        conf = self._confidence(verdict, len(t))
        where = release_position(
            self.facade,
            u,
            verdict.release_h,
            self.cfg.storey_m,
            self.cfg.release_above_floor_m,
            (self.camera.width, self.camera.height),
        )
        idx = np.unique(np.linspace(0, len(t) - 1, min(len(t), TRAJECTORY_POINTS)).round().astype(int))
        thrown = ThrownDetails(
            origin=Origin(
                x=float(rx),
                y=float(ry),
                floor=where.floor if self.calibrated else None,
                unit=where.unit if self.calibrated else None,
            ),
            trajectory=[(float(t[i] - release_t), float(xy[i, 0]), float(xy[i, 1])) for i in idx],
            object_px=round(float(np.median(tr.area)) / self.scale**2, 1),
            fall_floors=round(fallen / self.cfg.storey_m, 2),
            facade=self.facade.calibration() if self.calibrated else None,
        )
        return Detection(
            key=tr.key or f"thrown-{tr.id}",
            type=EventType.thrown_object,
            phase=phase,
            start_t=float(release_t),
            end_t=float(t[-1]) if phase == "end" else None,
            confidence=conf,
            thrown=thrown,
            note=(
                f"tossed, a free fall in 3-D to {verdict.depth_rms_px:.1f} px"
                if verdict.depth_rms_px is not None
                else f"{verdict.kind} fall, {verdict.fit.accel / G:.2f} g"
            ),
            draw=lambda img, th=thrown: draw_overlay(img, th, self.facade if self.calibrated else None),
        )

    def _confidence(self, v: Verdict, n: int) -> float:
        """Fit quality, track length and closeness to free fall, each weighted, in [0, 1]. A
        tossed one's fit is the 3-D free fall, g fixed: its quality is how closely it follows
        (1 px of scatter and better is full marks, the wander test's 2.5 px none)."""
        length = min(1.0, n / 20)
        if v.depth_rms_px is not None:
            quality = min(1.0, max(0.0, (2.5 - v.depth_rms_px) / 1.5))
            return round(0.5 * quality + 0.3 * length + 0.2, 3)
        quality = min(1.0, max(0.0, (v.fit.r2 - 0.8) / 0.2))
        gravity = max(0.0, 1.0 - abs(v.fit.accel / G - 1.0)) if v.kind == "accelerating" else 0.3
        return round(0.5 * quality + 0.3 * length + 0.2 * gravity, 3)


def draw_overlay(img: np.ndarray, thrown: ThrownDetails, facade: Facade | None) -> None:
    """The path (red), the release point (yellow) and, when calibrated, the storey it came from."""
    scale = max(1, round(img.shape[1] / 1280))
    pts = np.array([[x, y] for _t, x, y in thrown.trajectory], np.float32)
    o = thrown.origin
    if facade is not None and o.floor is not None:
        poly = facade.floor_polygon(o.floor, o.unit)
        cv2.polylines(img, [np.round(poly).astype(np.int32)], True, (0, 220, 255), 2 * scale, cv2.LINE_AA)
        label = f"{o.floor}F" + (f" unit {o.unit}" if o.unit else "")
        org = (int(poly[:, 0].min()), int(poly[:, 1].min()) - 6 * scale)
        cv2.putText(img, label, org, cv2.FONT_HERSHEY_SIMPLEX, 0.8 * scale, (0, 0, 0), 4 * scale, cv2.LINE_AA)
        cv2.putText(img, label, org, cv2.FONT_HERSHEY_SIMPLEX, 0.8 * scale, (0, 220, 255), 2 * scale, cv2.LINE_AA)
    if len(pts) >= 2:
        cv2.polylines(img, [np.round(pts).astype(np.int32)], False, (0, 0, 255), 2 * scale, cv2.LINE_AA)
    for x, y in pts:
        cv2.circle(img, (round(x), round(y)), 2 * scale, (0, 0, 255), -1, cv2.LINE_AA)
    cv2.circle(img, (round(o.x), round(o.y)), 7 * scale, (0, 255, 255), 2 * scale, cv2.LINE_AA)
