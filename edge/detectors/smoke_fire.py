"""Smoke and fire (烟火): a model looks where something moved; time decides.

A single frame cannot tell a balcony fire's first smoke from a puff of steam, a grey wall
or an orange towel; its history can (FIELD_NOTES §3). So, at a low rate (default 2 Hz):

1. Motion: the frame is compared with the previous sample. A tile of the grid is looked at
   only if enough of it changed, so the model never runs on a still wall, a lamp or a
   sunset. When most of the image changed at once (an exposure or IR switch, a shaken
   camera) or differs from the reference scene (fog rolling in), the sample is a global
   change and casts no votes.
2. Model: the moving tiles, at the model's input size, go through the ONNX model in one
   batch (a classifier scores each tile; a user's YOLO model is run on the whole frame and
   its boxes mark the tiles they cover). One session serves every camera.
3. Cues: a smoke vote needs the tile's changed pixels to be grey or, in the same hue, greyer
   than before, and to churn as a turbulent veil does, never returning to a state it was in
   a few seconds before (a quilt swinging in front of a lit window does); a fire vote needs
   flame-coloured pixels that flicker between two frames 1/fps apart (each sample is such a
   pair), and the model to see fire, or something burning (smoke or fire), or persistent
   smoke within a tile of it.
4. Persistence: a tile is active for a class when it voted in more than half of the
   samples of the sliding window. An alarm needs active tiles and, for smoke, growth and
   rise: the area that differs from the scene before the smoke must not be shrinking, its
   outline must move up and so must what is inside it, carried by the eddies (hot smoke is
   buoyant; a glare spot wanders, pulses and swells, but nothing in it rises).
   Steam dies within seconds and never gets there. Once alarming, the thresholds drop
   (hysteresis x0.8) and the event ends only after the region has stayed clear for `clear_s`.

Smoke and fire are separate events; the cloud's rules make a fire the lead alarm.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from itertools import pairwise

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from contract import EventType, RegionDetails
from edge.detectors.base import CameraContext, Detection, Detector, Frame, FrameRequest, by_sensitivity, register
from edge.onnx_model import ModelConfig, ModelError, OnnxModel, open_model

CLASSES = ("smoke", "fire")
# Tiles lie half a tile apart; flames within this many steps (a tile's width) of persistent
# smoke are taken for its fire (SmokeFireDetector._beside_smoke).
SMOKE_REACH = 2
# A pair of frames whose mean step (grey levels) is below this is one frame repeated.
REPEAT_STEP = 0.02
# A smoke vote needs the tile to be this far from each of its recent states (_churn).
MIN_CHURN = 0.1
# Smoke's head has not risen if more than this share of its rise over the window came from one
# sample to the next (SmokeFireDetector._rise).
HEAD_JUMP_SHARE = 0.8
# Smoke's stuff drifts up: in at least UP_PAIRS of the window's sample pairs, at least
# MIN_UP_SHARE of its pixels have an optical flow pointing up by MIN_DRIFT_PX_S (px of the
# processed image a second) or more (SmokeFireDetector._drifts_up, drifting).
MIN_DRIFT_PX_S = 0.2
MIN_UP_SHARE = 0.15
UP_PAIRS = 2 / 3


def class_of(name: str) -> str | None:
    """Which of our classes a model's class name means (`Smoke`, `fire`, `flame`, ...)."""
    n = name.lower()
    if "smoke" in n:
        return "smoke"
    if "fire" in n or "flame" in n:
        return "fire"
    return None


class SmokeFireExpert(BaseModel):
    """Overrides of what `sensitivity` sets."""

    model_config = ConfigDict(extra="forbid")

    smoke_threshold: float | None = Field(None, gt=0, le=1, description="Model score for a smoke vote (sens. 5: 0.6).")
    fire_threshold: float | None = Field(None, gt=0, le=1, description="Model score for a fire vote (sens. 5: 0.6).")
    persist_share: float = Field(
        0.5, gt=0, le=1, description="A tile is active when it voted in more than this share of the window."
    )
    hysteresis: float = Field(
        0.8, gt=0, le=1, description="While alarming, thresholds and share are multiplied by this."
    )
    motion_threshold: int = Field(
        10, ge=1, le=255, description="Grey-level change that counts as motion between samples."
    )
    min_motion_share: float = Field(0.01, ge=0, le=1, description="A tile is looked at when this share of it moved.")
    global_motion_share: float = Field(
        0.6,
        gt=0,
        le=1,
        description="More than this share of the image moving between samples, or differing from the reference scene, is a global change (no votes).",
    )
    max_grey_spread: float = Field(
        22.0,
        gt=0,
        le=255,
        description="Smoke cue: mean (|R-G|+|G-B|)/2 of the changed pixels at most this, or lower than the scene's was there with the same hue.",
    )
    min_flame_share: float = Field(
        0.004, ge=0, le=1, description="Fire cue: share of flame-coloured pixels in the tile."
    )
    min_flicker: float = Field(
        0.2,
        ge=0,
        le=1,
        description="Fire cue: share of the pixels flame-coloured in two frames 1/fps apart whose brightness changed "
        "between them (flames change inside; a moving red towel only at its edges).",
    )
    max_tiles: int = Field(24, ge=1, le=512, description="Most tiles classified per sample (the most moving first).")
    min_rise: float = Field(
        0.015,
        ge=0,
        le=1,
        description="Smoke's first alarm needs what it covers, its centre and its head, to rise by this share of the "
        "image height over the smoke window, and the stuff inside it to move up (optical flow) in most of the window "
        "(hot smoke is buoyant; a glare spot pulsing in place or swelling is not). 0 turns both checks off, for a "
        "camera looking straight down.",
    )


class SmokeFireConfig(BaseModel):
    """Smoke and fire (烟火): an ONNX model on the moving parts of the image, confirmed over time."""

    model_config = ConfigDict(extra="forbid")

    model: ModelConfig = Field(
        default_factory=lambda: ModelConfig(path="smoke_fire.onnx"),
        description="The ONNX model and how to read it; the default is the project's own tile classifier.",
    )
    sensitivity: int = Field(5, ge=1, le=10, description="1 (fewest false alarms) to 10 (earliest, faintest smoke).")
    rate_hz: float = Field(
        2.0, ge=0.2, le=10, description="Samples per second analysed (the model runs at most this often)."
    )
    process_width: int = Field(
        640, ge=160, le=4096, description="Analyse frames scaled to this width (smaller frames as they are)."
    )
    smoke: bool = Field(True, description="Raise `smoke` events.")
    fire: bool = Field(True, description="Raise `fire` events.")
    smoke_window_s: float = Field(6.0, ge=1, le=120, description="Sliding window for smoke persistence, seconds.")
    fire_window_s: float = Field(4.0, ge=1, le=120, description="Sliding window for fire persistence, seconds.")
    clear_s: float = Field(15.0, ge=1, le=600, description="An event ends after its region has stayed clear this long.")
    expert: SmokeFireExpert = Field(default_factory=SmokeFireExpert, description="Fine-grained thresholds.")

    @model_validator(mode="after")
    def _model_loads(self) -> SmokeFireConfig:
        """A missing or broken model fails the config check, not the first frame at 3 a.m."""
        try:
            model = open_model(self.model)
        except ModelError as exc:
            raise ValueError(str(exc)) from None
        if not any(class_of(n) for n in model.names or []):
            raise ValueError(
                f"model {self.model.path}: none of its classes {model.names} is smoke or fire; set `model.names`"
            )
        return self


@dataclass
class Track:
    """One class's state on this camera: votes per tile, and the open event if any."""

    cls: str
    window: int
    votes: deque = field(default_factory=deque)  # of bool arrays (rows, cols)
    scores: deque = field(default_factory=deque)  # of float arrays
    footprint: deque = field(default_factory=deque)  # changed px vs the pre-event scene, per sample
    key: str | None = None
    first_vote_t: float | None = None
    last_active_t: float | None = None
    bbox: tuple[float, float, float, float] | None = None
    confidence: float = 0.0
    last_emit_t: float = 0.0

    def push(self, votes: np.ndarray, scores: np.ndarray) -> None:
        self.votes.append(votes)
        self.scores.append(scores)
        while len(self.votes) > self.window:
            self.votes.popleft()
            self.scores.popleft()

    def share(self) -> np.ndarray:
        return np.sum(self.votes, axis=0) / self.window


@register
class SmokeFireDetector(Detector):
    """Smoke and fire (烟火): an ONNX model on the moving parts of the image, confirmed over time."""

    type_name = "smoke_fire"
    config_cls = SmokeFireConfig

    def __init__(self, config: SmokeFireConfig, camera: CameraContext) -> None:
        super().__init__(config, camera)
        self.cfg = config
        self.model: OnnxModel = open_model(config.model)
        width = min(config.process_width, camera.width)
        self.scale = width / camera.width
        self.size = (width, round(camera.height * self.scale))
        tile = self.model.input_size[0] if self.model.layout == "classifier" else max(64, width // 8)
        self.tile = min(tile, *self.size)
        self.xs = _starts(self.size[0], self.tile)
        self.ys = _starts(self.size[1], self.tile)
        s, e = config.sensitivity, config.expert
        self.thr = {
            "smoke": e.smoke_threshold or by_sensitivity(s, 0.8, 0.6, 0.4),
            "fire": e.fire_threshold or by_sensitivity(s, 0.8, 0.6, 0.4),
        }
        rate = config.rate_hz
        self.tracks = {
            "smoke": Track("smoke", max(2, round(config.smoke_window_s * rate))),
            "fire": Track("fire", max(2, round(config.fire_window_s * rate))),
        }
        self.enabled = {"smoke": config.smoke, "fire": config.fire}
        self.ignore = None
        if camera.ignore_mask is not None:
            self.ignore = cv2.resize(camera.ignore_mask, self.size, interpolation=cv2.INTER_NEAREST) > 0
        # the samples of the smoke window before this one, grey, blurred (newest last)
        self.recent: deque[np.ndarray] = deque(maxlen=self.tracks["smoke"].window)
        # the frame just before this sample: index, grey blurred and raw, flame mask (_flame)
        self.pair: tuple[int, np.ndarray, np.ndarray, np.ndarray] | None = None
        self.background: np.ndarray | None = None  # slow average of the scene, grey
        self.bg_chroma: np.ndarray | None = None  # and of its colour (see _chroma)
        self.seq = 0

    @property
    def frame_request(self) -> FrameRequest:
        return FrameRequest(width=self.size[0], gray=False, interval_s=1.0 / self.cfg.rate_hz, burst=2)

    # per sample ------------------------------------------------------------------------
    def process(self, frame: Frame) -> list[Detection]:
        """Frames come in pairs 1/fps apart (flicker is measured between them); a sample is the second."""
        img = frame.image
        raw = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
        grey = cv2.GaussianBlur(raw, (5, 5), 0)
        flame = _flame(img)
        pair, self.pair = self.pair, (frame.index, grey, raw, flame)
        if pair is None or pair[0] != frame.index - 1:
            return []  # the first of a pair (or its partner was dropped): wait for the next frame
        self.pair = None
        # a repeated frame (web video, variable-rate streams) leaves flicker unknown. A repeat
        # is a copy to within re-encoding (house6's: a mean step of 0.0002-0.004 grey levels);
        # a still scene that H.264 coded with little noise is not (0.03-0.3 on simulated dusk,
        # day and fog), and there a swinging red shirt or a lit window must still show that it
        # does not flicker
        flicker = None
        if float(cv2.absdiff(grey, pair[1]).mean()) >= REPEAT_STEP:
            flicker = self._flicker(pair[2], pair[3], raw, flame)
        chroma = _chroma(img)
        if self.recent and self.recent[-1].shape != grey.shape:
            self.recent.clear()  # the stream changed size: start over
        recent = list(self.recent)
        self.recent.append(grey)
        if not recent:
            self.background, self.bg_chroma = grey.astype(np.float32), chroma
            return []
        prev = recent[-1]
        e = self.cfg.expert
        step = cv2.absdiff(grey, prev)
        moved = step >= e.motion_threshold
        if self.ignore is not None:
            moved &= ~self.ignore
        motion = self._per_tile(moved)
        moving = motion >= e.min_motion_share
        apart, changed = self._apart(grey)
        if moved.mean() > e.global_motion_share or changed.mean() > e.global_motion_share:
            # a sudden change everywhere (exposure or IR switch, shake) or a slow one (fog rolling
            # in): no votes either way; the reference scene catches up meanwhile
            self._adapt(grey, chroma)
            return []
        scores = self._scores(img, moving | self._watched(), motion)
        out: list[Detection] = []
        for cls, track in self.tracks.items():
            if not self.enabled[cls]:
                continue
            alarming = track.key is not None
            h = e.hysteresis if alarming else 1.0
            cue = self._cue(cls, flame, chroma, moved | changed, flicker)
            score = scores[cls]
            votes = (score >= self.thr[cls] * h) & cue
            if cls == "smoke":
                # smoke billows and drifts: a tile that did not move since the last sample (a
                # window lit a while ago, held in the reference scene because it is watched)
                # casts no smoke vote, whatever it looks like; nor does one whose difference
                # from the scene hardly churns (fog settled over a swinging shirt) or that
                # comes back to a state it was in (a quilt swinging before a lit window)
                votes &= moving & (self._churn(grey, recent, apart, changed) >= MIN_CHURN)
            else:
                # flickering flame colour is fire where the model sees something burning
                # (smoke or fire: it takes a close-up fuel bed for smoke) or where smoke
                # persists beside it (flames too small for the model's tile); the largest
                # of those scores is the evidence
                burning = scores["smoke"] + scores["fire"]
                beside = self._beside_smoke()
                votes |= cue & ((burning >= self.thr[cls] * h) | (beside > 0))
                score = np.where(cue, np.maximum.reduce([score, burning, beside]), score)
            track.push(votes, score)
            out.extend(self._decide(track, frame.t, changed, h))
        self._adapt(grey, chroma)
        return out

    def _adapt(self, grey: np.ndarray, chroma: np.ndarray) -> None:
        """The reference scene follows the view slowly (10 s at 2 Hz), except where smoke or fire is being watched."""
        assert self.background is not None and self.bg_chroma is not None
        hold = self._tile_mask(self._watched())
        rate = 0.05
        self.background = np.where(hold, self.background, self.background * (1 - rate) + grey * rate)
        self.bg_chroma = np.where(hold[..., None], self.bg_chroma, self.bg_chroma * (1 - rate) + chroma * rate)

    def _beside_smoke(self) -> np.ndarray:
        """Per tile, the smoke model's mean score of the tiles within SMOKE_REACH steps where
        smoke persists (0 elsewhere). Flames sit at the foot of their smoke: in the founding
        case a quilt on a balcony smokes first, then burns. A tile classifier sees flames of
        a few dozen px in a window as a lit window (house6: `none` 0.8-0.9 for 15 s), while
        their colour and flicker are plain all along."""
        smoke, n = self.tracks["smoke"], self.tracks["fire"].window
        if not smoke.votes:
            return np.zeros((len(self.ys), len(self.xs)), np.float32)
        e = self.cfg.expert
        recent = list(smoke.votes)[-n:]  # over the fire's own window: flames follow their smoke closely
        active = np.sum(recent, axis=0) / n > e.persist_share * (e.hysteresis if smoke.key is not None else 1.0)
        mean = np.where(active, np.mean(list(smoke.scores)[-n:], axis=0), 0).astype(np.float32)
        return cv2.dilate(mean, np.ones((2 * SMOKE_REACH + 1,) * 2, np.uint8))

    def _churn(self, grey: np.ndarray, recent: list[np.ndarray], apart: np.ndarray, changed: np.ndarray) -> np.ndarray:
        """Per tile, how far the pixels that differ from the scene are from the nearest of the
        window's earlier samples, as a share of how much they differ. Smoke is a turbulent
        veil that never returns to a state it was in: on the composites of the real plume and
        on house6 it changes between samples by 0.2-1.0 of its difference from the scene. Fog
        that settled after the reference scene was learnt, or any slow change of light, hardly
        moves (0.01-0.02); a quilt swinging in front of a lit window moves a lot from one
        sample to the next but keeps coming back to where it was a swing ago."""
        where = changed.astype(np.float32)
        differs = np.maximum(self._tile_sum(apart * where), 1e-3)
        nearest = np.full(differs.shape, np.inf)
        for past in recent:
            nearest = np.minimum(nearest, self._tile_sum(cv2.absdiff(grey, past) * where))
        return nearest / differs

    def _tile_sum(self, values: np.ndarray) -> np.ndarray:
        """Sum of `values` over each tile (rows x cols), from one integral image."""
        ii = cv2.integral(values.astype(np.float32), sdepth=cv2.CV_64F)
        y0, x0 = np.array(self.ys)[:, None], np.array(self.xs)[None, :]
        y1, x1 = y0 + self.tile, x0 + self.tile  # tiles always lie inside the frame
        return ii[y1, x1] - ii[y0, x1] - ii[y1, x0] + ii[y0, x0]

    def _per_tile(self, mask: np.ndarray) -> np.ndarray:
        """Share of each tile where `mask` is set."""
        return self._tile_sum(mask) / (self.tile * self.tile)

    def _tile_mask(self, tiles: np.ndarray) -> np.ndarray:
        mask = np.zeros((self.size[1], self.size[0]), bool)
        t = self.tile
        for r, c in zip(*np.nonzero(tiles), strict=True):
            mask[self.ys[r] : self.ys[r] + t, self.xs[c] : self.xs[c] + t] = True
        return mask

    def _watched(self) -> np.ndarray:
        """Tiles with any vote in the window stay under watch even if they move little now."""
        out = np.zeros((len(self.ys), len(self.xs)), bool)
        for track in self.tracks.values():
            if track.votes:
                out |= np.any(track.votes, axis=0)
        return out

    def _scores(self, img: np.ndarray, look: np.ndarray, motion: np.ndarray) -> dict[str, np.ndarray]:
        shape = (len(self.ys), len(self.xs))
        scores = {cls: np.zeros(shape, np.float32) for cls in CLASSES}
        if not look.any():
            return scores
        names = [class_of(n) for n in self.model.names or []]
        if self.model.layout == "classifier":
            cells = sorted(zip(*np.nonzero(look), strict=True), key=lambda rc: -motion[rc])[: self.cfg.expert.max_tiles]
            t = self.tile
            crops = [img[self.ys[r] : self.ys[r] + t, self.xs[c] : self.xs[c] + t] for r, c in cells]
            probs = self.model.classify(crops)
            for k, cls in enumerate(names):
                if cls is not None:
                    for (r, c), p in zip(cells, probs[:, k], strict=True):
                        scores[cls][r, c] = max(scores[cls][r, c], p)
            return scores
        for box in self.model.detect(img):
            cls = class_of(box.name)
            if cls is None:
                continue
            for r, y in enumerate(self.ys):
                for c, x in enumerate(self.xs):
                    if look[r, c] and box.x1 < x + self.tile and box.x2 > x and box.y1 < y + self.tile and box.y2 > y:
                        scores[cls][r, c] = max(scores[cls][r, c], box.score)
        return scores

    def _flicker(self, raw0: np.ndarray, flame0: np.ndarray, raw1: np.ndarray, flame1: np.ndarray) -> np.ndarray:
        """Per tile, the share of the pixels flame-coloured in both frames of the pair whose
        brightness changed between them. Flames change inside, at ~10 Hz; a red towel or a tail
        light moving by a pixel changes only at its edges and keeps its inside as it was
        (towels on a simulated facade 0.04-0.10; house6's flames 0.4-0.9, the lab fuel bed
        0.35-0.75). Unblurred grey, so the edges' change does not spread inwards."""
        inside = flame0 & flame1
        lit = inside & (cv2.absdiff(raw0, raw1) >= self.cfg.expert.motion_threshold)
        return self._per_tile(lit) / np.maximum(self._per_tile(inside), 1e-6)

    def _cue(
        self, cls: str, flame: np.ndarray, chroma: np.ndarray, changed: np.ndarray, flicker: np.ndarray | None
    ) -> np.ndarray:
        """Cheap colour cues on the changed pixels of each tile. Smoke: they are grey, or greyer
        than the scene was with its hue kept: smoke is a grey veil, and a veil over blue sky
        leaves it bluish but less so. Sun glare on blue glass also lowers the colourfulness, but
        turns it warm; a red shirt makes it more colourful. Fire: flame-coloured pixels that
        flicker, i.e. change within one frame (1/fps); a swinging orange towel moves only at its
        edges in that time."""
        e = self.cfg.expert
        if cls == "smoke":
            assert self.bg_chroma is not None
            n = np.maximum(self._tile_sum(changed), 1)

            def mean(values: np.ndarray) -> np.ndarray:
                return self._tile_sum(np.where(changed, values, 0)) / n

            spread = mean(_spread(chroma))
            grey = spread <= e.max_grey_spread
            greyer = spread <= mean(_spread(self.bg_chroma)) - 2
            # the mean colour of the changed pixels still points the way the scene's did
            same_hue = sum(mean(chroma[..., k]) * mean(self.bg_chroma[..., k]) for k in range(2)) > 0
            return (n >= 8) & (grey | (greyer & same_hue))
        share = self._per_tile(flame & changed)
        if flicker is None:
            return share >= e.min_flame_share
        return (share >= e.min_flame_share) & (flicker >= e.min_flicker)

    # decisions --------------------------------------------------------------------------
    def _decide(self, track: Track, t: float, changed: np.ndarray, h: float) -> list[Detection]:
        e = self.cfg.expert
        share = track.share()
        active = share > e.persist_share * h
        if track.first_vote_t is None and track.votes and track.votes[-1].any():
            track.first_vote_t = t
        if not np.any(track.votes, axis=0).any() and track.key is None:
            track.first_vote_t = None
            track.footprint.clear()
        area = float((changed & self._tile_mask(np.any(track.votes, axis=0))).sum())  # where it has been seen
        if track.first_vote_t is not None:
            track.footprint.append(area)
            while len(track.footprint) > 2 * track.window:
                track.footprint.popleft()
        if not active.any():
            if (
                track.key is not None
                and track.last_active_t is not None
                and t - track.last_active_t >= self.cfg.clear_s
            ):
                return [self._emit(track, "end", t, track.last_active_t)]
            return []
        track.last_active_t = t
        bbox = self._bbox(active, changed)
        scores = np.mean(track.scores, axis=0)
        conf = float(
            np.clip(
                scores[active].mean() * min(1.0, share[active].max() / max(e.persist_share, 1e-6) * 0.5 + 0.5), 0, 1
            )
        )
        if track.key is None:
            if track.cls == "smoke" and not (_growing(track.footprint) and self._rises(active)):
                return []
            self.seq += 1
            track.key = f"{track.cls}-{self.seq}"
            track.bbox, track.confidence = bbox, conf
            return [self._emit(track, "new", t, None)]
        grew = _area(bbox) > 1.25 * _area(track.bbox) if track.bbox else True
        track.bbox = _union(track.bbox, bbox) if track.bbox else bbox
        if (grew or abs(conf - track.confidence) > 0.15) and t - track.last_emit_t >= 5.0:
            track.confidence = conf
            return [self._emit(track, "update", t, None)]
        return []

    def _apart(
        self, grey: np.ndarray, box: tuple[slice, slice] = (slice(None), slice(None))
    ) -> tuple[np.ndarray, np.ndarray]:
        """How far a sample differs from the reference scene, per pixel of `box`, and where it
        differs enough to count as changed (twice the motion threshold)."""
        assert self.background is not None
        apart = np.abs(grey[box].astype(np.float32) - self.background[box])
        return apart, apart >= 2 * self.cfg.expert.motion_threshold

    def _rises(self, active: np.ndarray) -> bool:
        """Did the smoke rise enough for a first alarm (expert.min_rise; 0: not asked), its
        outline (_rise) and the stuff inside it (_drifts_up)? An outline that cannot be measured
        (it reaches the top of the view) still needs its stuff to drift up: a glare glow by the
        roofline joined by a cloud at the top of the view raised a day false alarm without that."""
        min_rise = self.cfg.expert.min_rise
        if min_rise == 0:
            return True
        box, spots = self._spot(active)
        rise = self._rise(box, spots)
        return (math.isinf(rise) or rise >= min_rise) and self._drifts_up(box, spots)

    def _spot(self, active: np.ndarray) -> tuple[tuple[slice, slice], list[np.ndarray]]:
        """What differs from the scene in and around the active tiles and is joined to what is
        in them, in each of the window's samples (this one last): the thing itself, within the
        box of the tiles around the active ones. The mask is fixed over the window, so a
        confuser crossing another tile for a moment does not count."""
        tiles = cv2.dilate(active.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
        rows, cols = np.nonzero(tiles)
        box = (
            slice(self.ys[rows.min()], self.ys[rows.max()] + self.tile),
            slice(self.xs[cols.min()], self.xs[cols.max()] + self.tile),
        )
        mask, core = self._tile_mask(tiles)[box], self._tile_mask(active)[box]
        return box, [_joined(self._apart(grey, box)[1] & mask, core) for grey in self.recent]

    def _rise(self, box: tuple[slice, slice], spots: list[np.ndarray]) -> float:
        """How far the spot (_spot) rose over the smoke window, as a share of the image height:
        the lesser of how far its centre rose and how far its head (top tenth) rose. Hot smoke
        is buoyant and its head leads: on the composites of the real plume its centre rose
        17-43 px (of 360) over the window before the alarm and its head as far or further, on
        the lab fire 11 px, and house6's smoke reaches the top of the view. A glare spot on the
        facade wanders sideways and pulses in place: -2 to +3 px on the bench's day clip whose
        glare raised a false alarm without this. One by the roofline is clipped at the top by
        the sky (no difference there), so as it pulses only its lower edge moves and its centre
        seems to rise while its head stays put; and a cloud drifting into a tile above it raises
        the centre and the head alike unless it is left out for not touching the spot. Nor does
        the head rise when it makes most of its rise (HEAD_JUMP_SHARE) from one sample to the
        next: smoke's head advances sample by sample (its largest step was at most 0.69 of the
        rise on the composites, 0.49 on the lab fire), while a glare spot that a cloud comes to
        touch, or a lit patch of steam whose halo doubles at night, jumps once (0.85-2.7 at four
        of the bench's six false alarms). Medians of the first and last thirds of the samples
        that show something. Smoke that reaches the top of the image has left the view upwards
        (inf), and a window that shows too little to tell leaves it to persistence and growth
        (inf)."""
        centres, heads = [], []
        for spot in spots:
            rows = np.nonzero(spot)[0] + box[0].start
            if len(rows) < 16:
                continue
            if rows[0] <= 1:
                return math.inf
            centres.append(rows.mean())
            heads.append(np.percentile(rows, 10))
        if len(centres) < 4:
            return math.inf
        k = len(centres) // 3

        def risen(rows: list[float]) -> float:
            return float(np.median(rows[:k]) - np.median(rows[-k:]))

        head = risen(heads)
        if head > 0 and float(np.max(-np.diff(heads))) > HEAD_JUMP_SHARE * head:
            head = 0.0  # up in one step: joined by something, not rising
        return min(risen(centres), head) / self.size[1]

    def _drifts_up(self, box: tuple[slice, slice], spots: list[np.ndarray]) -> bool:
        """Does some of the stuff of the spot (_spot) move up, not only its outline? Hot smoke
        carries its eddies up as it rises, and where it churns some of it moves down too; _rise
        measures where the outline is, and a glare glow's outline can climb as it swells or as
        a cloud comes to touch it while nothing in it moves up or down (its light slides
        sideways as it wanders, and a smooth glow has no texture for the eye, or the optical
        flow, to follow). Per pair of consecutive samples, the share of the spot's pixels whose
        optical flow (Farneback) points up by MIN_DRIFT_PX_S; `drifting` judges them."""
        step = MIN_DRIFT_PX_S / self.cfg.rate_hz
        shares = []
        for (before, grey), spot in zip(pairwise(self.recent), spots[1:], strict=True):
            if spot.sum() < 16:
                continue
            flow = cv2.calcOpticalFlowFarneback(before[box], grey[box], None, 0.5, 3, 15, 3, 5, 1.2, 0)
            shares.append(float(np.mean(flow[..., 1][spot] <= -step)))
        return drifting(shares)

    def _bbox(self, active: np.ndarray, changed: np.ndarray) -> tuple[float, float, float, float]:
        """Changed pixels inside the active tiles, else the tiles themselves; source px."""
        tiles = self._tile_mask(active)
        ys, xs = np.nonzero(tiles & changed)
        if len(xs) < 16:
            ys, xs = np.nonzero(tiles)
        s = self.scale
        return (xs.min() / s, ys.min() / s, (xs.max() + 1) / s, (ys.max() + 1) / s)

    def _emit(self, track: Track, phase: str, t: float, end_t: float | None) -> Detection:
        assert track.key is not None and track.bbox is not None and track.first_vote_t is not None
        det = Detection(
            key=track.key,
            type=EventType(track.cls),
            phase=phase,
            start_t=track.first_vote_t,
            end_t=end_t,
            confidence=round(track.confidence, 3),
            region=RegionDetails(bbox=tuple(round(v, 1) for v in track.bbox), label=track.cls),
            draw=lambda img, b=track.bbox, cls=track.cls: draw_overlay(img, b, cls),
        )
        track.last_emit_t = t
        if phase == "end":
            track.key, track.bbox, track.first_vote_t, track.last_active_t = None, None, None, None
            track.footprint.clear()
        return det

    def finish(self, t: float) -> list[Detection]:
        return [self._emit(tr, "end", t, tr.last_active_t or t) for tr in self.tracks.values() if tr.key is not None]


def drifting(up_shares: list[float]) -> bool:
    """Is stuff moving up in most of a window's sample pairs (per pair, the share of a spot's
    pixels moving up: SmokeFireDetector._drifts_up)? At least MIN_UP_SHARE of them must in at
    least UP_PAIRS of the pairs. Smoke rises all the time: the share was MIN_UP_SHARE or more
    in 0.78-1.00 of the pairs at the alarms of the bench's twelve composites of the real plume
    and of twelve more rendered to look at this (seeds 7100-7111), in 6 of 7 at house6's and
    11 of 11 at the lab fire's; its median over a window was 0.61-1.00 on
    the composites and 0.27-0.54 all along house6 (thin smoke, flames flickering every way).
    A glare glow that pulses in place moves up only while it swells, about half the time: 6
    of 11 pairs at the smoke ledger's day false alarm (seed 7600), which "more than half"
    let through; the bench's two earlier glare alarms had 0-0.02 wherever their outlines
    passed. A window with fewer than four pairs to measure leaves it to persistence and
    growth."""
    return len(up_shares) < 4 or sum(share >= MIN_UP_SHARE for share in up_shares) >= UP_PAIRS * len(up_shares)


def _flame(img: np.ndarray) -> np.ndarray:
    """Flame-coloured pixels of a BGR image: bright, red over green over blue and saturated
    (sun glare is not)."""
    b, g, r = (img[..., i].astype(np.int16) for i in range(3))
    return (r > 180) & (r >= g) & (g > b) & (r - b >= 0.45 * r)


def _chroma(img: np.ndarray) -> np.ndarray:
    """Colour per pixel as (R-G, G-B), float32 (H, W, 2): (0, 0) for grey, white and black."""
    b, g, r = (img[..., i].astype(np.float32) for i in range(3))
    return np.stack([r - g, g - b], axis=-1)


def _spread(chroma: np.ndarray) -> np.ndarray:
    """Colourfulness per pixel, (|R-G| + |G-B|) / 2."""
    return (np.abs(chroma[..., 0]) + np.abs(chroma[..., 1])) / 2


def _starts(length: int, tile: int) -> list[int]:
    """Tile origins covering [0, length) at half-tile steps, the last one flush with the edge:
    a plume on a tile border is whole in the tile between."""
    if length <= tile:
        return [0]
    n = math.ceil((length - tile) / (tile / 2)) + 1
    return [round(i * (length - tile) / (n - 1)) for i in range(n)]


def _joined(changed: np.ndarray, core: np.ndarray) -> np.ndarray:
    """The changed pixels joined (within 2 px) to those inside `core`: the thing itself, not
    a cloud drifting past in the sky beside it."""
    near = cv2.dilate(changed.astype(np.uint8), np.ones((5, 5), np.uint8))
    _, labels = cv2.connectedComponents(near)
    ids = np.unique(labels[changed & core])
    return changed & np.isin(labels, ids[ids > 0])


def _growing(footprint: deque) -> bool:
    """Smoke from a fire grows or holds: the later half of the record is not smaller than the
    earlier half, and it grew at some point (a shrinking puff of steam is neither)."""
    if len(footprint) < 4:
        return False
    vals = list(footprint)
    half = len(vals) // 2
    early, late = np.mean(vals[:half]), np.mean(vals[half:])
    return late >= 1.05 * early and late > 0


def _area(b: tuple[float, float, float, float]) -> float:
    return max(0.0, b[2] - b[0]) * max(0.0, b[3] - b[1])


def _union(
    a: tuple[float, float, float, float], b: tuple[float, float, float, float]
) -> tuple[float, float, float, float]:
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def draw_overlay(img: np.ndarray, bbox: tuple[float, float, float, float], cls: str) -> None:
    """The region in orange (smoke) or red (fire), with its label, on a source-size BGR image."""
    colour = (0, 140, 255) if cls == "smoke" else (0, 0, 255)
    x1, y1, x2, y2 = (round(v) for v in bbox)
    thick = max(2, img.shape[1] // 400)
    cv2.rectangle(img, (x1, y1), (x2, y2), colour, thick)
    label = {"smoke": "SMOKE", "fire": "FIRE"}[cls]
    scale = max(0.5, img.shape[1] / 1600)
    (tw, th), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
    cv2.rectangle(img, (x1, max(0, y1 - th - 8)), (x1 + tw + 8, y1), colour, -1)
    cv2.putText(img, label, (x1 + 4, y1 - 4), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), thick, cv2.LINE_AA)
