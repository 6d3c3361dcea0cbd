"""Payload models of the wire contract. All payloads are UTF-8 JSON objects.

Versioning: `schema_version` is an integer bumped on any incompatible change. Consumers
reject versions they do not know rather than guess; added optional fields are compatible.
Times are ISO 8601 in UTC.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_event_id(now_s: float | None = None) -> str:
    """A 26-character ULID: 48-bit millisecond time then 80 random bits, Crockford base32.

    Time-sortable, so ids sort in the order the edge made them, and unique without any
    coordination between nodes.
    """
    ms = int((time.time() if now_s is None else now_s) * 1000)
    value = (ms << 80) | int.from_bytes(os.urandom(10), "big")
    return "".join(_CROCKFORD[(value >> (5 * i)) & 31] for i in reversed(range(26)))


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


class EventType(StrEnum):
    thrown_object = "thrown_object"
    smoke = "smoke"
    fire = "fire"
    camera_offline = "camera_offline"
    camera_tamper = "camera_tamper"
    test = "test"


class Phase(StrEnum):
    """Frigate-style lifecycle of one event: `new` once, any number of `update`, one `end`."""

    new = "new"
    update = "update"
    end = "end"


class MediaRef(_Model):
    """A clip or snapshot the node made for an event, identified by its SHA-256."""

    kind: Literal["clip", "snapshot"]
    filename: str = Field(description="File name, unique within the event.")
    content_type: str = Field(description="`video/mp4` or `image/jpeg`.")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the file's bytes, lower-case hex.")
    size: int = Field(ge=0, description="File size in bytes.")
    start_at: datetime | None = Field(None, description="Clip: time of its first frame.")
    end_at: datetime | None = Field(None, description="Clip: time of its last frame.")
    pre_s: float | None = Field(None, description="Clip: seconds of pre-roll before the event start.")
    post_s: float | None = Field(None, description="Clip: seconds after the event end.")
    upload: Literal["pending", "uploaded", "failed"] = Field(
        "pending", description="Upload state as the node knew it when it published this revision."
    )


class Origin(_Model):
    """Where a thrown object was released, in image pixels and on the facade."""

    x: float
    y: float
    floor: int | None = Field(None, ge=-20, le=500, description="Floor of the release point; null outside the facade.")
    unit: str | None = Field(None, max_length=32, description="Stair-unit / balcony column; null when not configured.")
    released_at: datetime | None = None


class FacadeCalibration(_Model):
    """The facade mapping that named the floor and unit, carried with the event so the event
    explains itself after the camera is recalibrated (the console draws it; a court can check it)."""

    corners: list[tuple[float, float]] = Field(
        min_length=4, max_length=4, description="Image px: top-left, top-right, bottom-right, bottom-left."
    )
    floors: tuple[int, int] = Field(description="Floor at the bottom edge, floor at the top edge.")
    units: list[str] | None = Field(None, description="Units left to right, equal width.")


class ThrownDetails(_Model):
    origin: Origin
    trajectory: list[tuple[float, float, float]] = Field(
        default_factory=list,
        max_length=64,
        description="Up to 64 points [t_s, x, y], t in seconds after started_at, x/y in image px.",
    )
    object_px: float | None = Field(None, description="Median blob area of the object in px.")
    fall_floors: float | None = Field(None, description="Storeys the object was seen to fall.")
    facade: FacadeCalibration | None = Field(None, description="The calibration in force; null when uncalibrated.")


class RegionDetails(_Model):
    bbox: tuple[float, float, float, float] = Field(description="[x1, y1, x2, y2] in image px.")
    label: str | None = None


class Event(_Model):
    schema_version: Literal[1] = SCHEMA_VERSION
    event_id: str = Field(pattern=r"^[0-9A-HJKMNP-TV-Z]{26}$", description="ULID made on the edge.")
    revision: int = Field(0, ge=0, description="Increases with every publication of this event.")
    phase: Phase = Phase.new
    type: EventType
    site: str = Field(max_length=64)
    node: str = Field(max_length=64)
    camera: str | None = Field(None, max_length=64)
    building: str | None = Field(None, max_length=64)
    started_at: datetime
    ended_at: datetime | None = None
    confidence: float = Field(ge=0.0, le=1.0)
    thrown: ThrownDetails | None = None
    region: RegionDetails | None = None
    note: str | None = Field(None, max_length=500, description="Free text, e.g. why a test event was raised.")
    snapshot: MediaRef | None = None
    clip: MediaRef | None = None


class CameraHealth(_Model):
    name: str
    online: bool
    input_fps: float = 0.0
    processed_fps: float = 0.0
    dropped_frames: int = 0
    reconnects: int = 0
    decode_errors: int = 0
    last_frame_at: datetime | None = None
    error: str | None = None


class NodeHealth(_Model):
    cpu_percent: float
    mem_percent: float
    disk_free_bytes: int
    temperature_c: float | None = None
    outbox_pending: int = 0
    uploads_pending: int = 0
    uptime_s: float = 0.0


class Telemetry(_Model):
    schema_version: Literal[1] = SCHEMA_VERSION
    site: str
    node: str
    at: datetime
    node_health: NodeHealth
    cameras: list[CameraHealth] = Field(default_factory=list)


class Status(_Model):
    schema_version: Literal[1] = SCHEMA_VERSION
    state: Literal["online", "offline"]
    at: datetime | None = None
    version: str | None = None
    problems: list[str] = Field(default_factory=list, description="e.g. `disk_full`, `camera b7: offline`.")


class AckedRevision(_Model):
    event_id: str
    revision: int = Field(ge=0, description="Revisions up to and including this one are stored.")


class Ack(_Model):
    """The cloud stored these event revisions. One message acknowledges a whole commit batch of
    one node, so acknowledging costs one publish per batch, not one per event."""

    schema_version: Literal[1] = SCHEMA_VERSION
    events: list[AckedRevision] = Field(min_length=1, max_length=5000)


class Command(_Model):
    schema_version: Literal[1] = SCHEMA_VERSION
    cmd_id: str = Field(min_length=1, max_length=64)
    camera: str | None = None
    note: Annotated[str | None, Field(max_length=500)] = None


class CommandReply(_Model):
    schema_version: Literal[1] = SCHEMA_VERSION
    cmd_id: str
    ok: bool
    message: str = ""
    event_id: str | None = None


def utcnow() -> datetime:
    return datetime.now(UTC)
