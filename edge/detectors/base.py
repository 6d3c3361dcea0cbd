"""What a detector is: a config class, a frame request, and `process(frame) -> detections`.

Detectors register under a type key (Frigate's pattern): adding a detector is adding a
module that calls `register`, not editing a switch. The camera worker owns threads,
clips and MQTT; a detector only looks at frames and keeps its own state.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar

import numpy as np
from pydantic import BaseModel

from contract import EventType, RegionDetails, ThrownDetails
from edge.facade import Facade


@dataclass(frozen=True)
class FrameRequest:
    """How a detector wants its frames: scaled to `width` (None = native), grey or BGR, and at
    most one every `interval_s` seconds of media time (0 = every frame). A low-rate detector
    (smoke at 2 Hz) costs nothing on the frames it skips: they are not even converted. Each
    sample is `burst` consecutive frames, for detectors that compare frames 1/fps apart.
    `box` (x, y, w, h in the requested image's px) asks for that part only: a detector that
    watches a region is not made to pay for converting the rest."""

    width: int | None = None
    gray: bool = True
    interval_s: float = 0.0
    burst: int = 1
    box: tuple[int, int, int, int] | None = None


@dataclass
class Frame:
    index: int
    t: float  # seconds since the camera session started (media time)
    wall: datetime  # when the frame was captured, UTC
    # as requested: grey (H, W) or BGR (H, W, 3). Nobody writes to it and it is not reused for
    # a later frame, so a detector may keep it (or a view of it) without copying.
    image: np.ndarray
    scale: float  # detector px = source px * scale
    origin: tuple[int, int] = (0, 0)  # where image's top left sits in the requested image (its box)


@dataclass
class CameraContext:
    """What a detector may know about its camera, in source-image pixels."""

    name: str
    width: int
    height: int
    fps: float
    facade: Facade | None
    ignore_mask: np.ndarray | None  # uint8, 255 where analysis must not look


@dataclass
class Detection:
    """One change in a detector's view of one event.

    `key` is the detector's own id for the event; the worker maps it to an event_id.
    Times are media seconds. Geometry is in source-image pixels.
    """

    key: str
    type: EventType
    phase: str  # "new" | "update" | "end"
    start_t: float
    end_t: float | None
    confidence: float
    thrown: ThrownDetails | None = None
    region: RegionDetails | None = None
    note: str | None = None
    draw: Callable[[np.ndarray], None] | None = field(default=None, repr=False)


class Detector(ABC):
    type_name: ClassVar[str]
    config_cls: ClassVar[type[BaseModel]]

    def __init__(self, config: BaseModel, camera: CameraContext) -> None:
        self.config = config
        self.camera = camera

    @property
    def frame_request(self) -> FrameRequest:
        return FrameRequest()

    @abstractmethod
    def process(self, frame: Frame) -> list[Detection]:
        """Look at one frame; return detections that started, changed or ended."""

    def finish(self, t: float) -> list[Detection]:
        """End of stream at media time t: close whatever is open."""
        return []


def by_sensitivity(s: int, low: float, mid: float, high: float) -> float:
    """The installer's one knob: piecewise-linear, sensitivity 1 -> low, 5 -> mid, 10 -> high."""
    if s <= 5:
        return low + (mid - low) * (s - 1) / 4
    return mid + (high - mid) * (s - 5) / 5


REGISTRY: dict[str, type[Detector]] = {}


def register(cls: type[Detector]) -> type[Detector]:
    if cls.type_name in REGISTRY:
        raise ValueError(f"detector type {cls.type_name!r} registered twice")
    REGISTRY[cls.type_name] = cls
    return cls
