"""The site config an installer writes: one YAML file per edge node.

Pydantic models, one per section; every field has a description, unknown keys are
rejected, and `docs/EDGE.md`'s reference is generated from these classes
(`gridwatch-edge config-reference`). `load_config` reports every problem with its file,
line and key path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, create_model, field_validator
from pydantic import model_validator as _model_validator

from contract.topics import DEFAULT_PREFIX
from edge.detectors import REGISTRY
from edge.facade import Facade
from edge.yaml_source import load_model

Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
Point = tuple[float, float]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TLSConfig(Section):
    ca: Path | None = Field(None, description="CA certificate (PEM) that signed the broker's certificate.")
    cert: Path | None = Field(None, description="Client certificate (PEM), for brokers that require one.")
    key: Path | None = Field(None, description="Client private key (PEM).")
    insecure: bool = Field(False, description="Skip hostname verification. Only for testing.")


class BrokerConfig(Section):
    host: str = Field("127.0.0.1", description="MQTT broker host name or address.")
    port: int = Field(1883, ge=1, le=65535, description="Broker port (8883 is usual for TLS).")
    tls: TLSConfig | None = Field(None, description="Use TLS; omit for plain TCP.")
    username: str | None = Field(None, description="MQTT user name; the cloud issues one per node.")
    password: SecretStr | None = Field(
        None, description="MQTT password; write `${MQTT_PASSWORD}` to read it from the environment."
    )
    topic_prefix: str = Field(DEFAULT_PREFIX, description="Topics are `{topic_prefix}/{site}/{node}/...`.")
    keepalive_s: int = Field(30, ge=5, le=600, description="MQTT keep-alive in seconds.")
    will_delay_s: int = Field(
        30,
        ge=0,
        le=3600,
        description="The broker publishes `offline` only after this long without the node (MQTT 5 will delay), so short network blips raise no alarm.",
    )


class CloudConfig(Section):
    upload_url: str | None = Field(
        None,
        description="Base URL of the cloud service; clips are PUT to `{upload_url}/api/uploads/{event_id}/{filename}`.",
    )
    token: SecretStr | None = Field(
        None, description="The node's upload token; write `${GRIDWATCH_TOKEN}` to read it from the environment."
    )
    ack_timeout_s: float = Field(
        30.0, gt=0, le=3600, description="Re-publish an event the cloud has not acknowledged after this many seconds."
    )


class FacadeConfig(Section):
    corners: list[Point] = Field(
        description="Image px of the calibrated facade: top-left, top-right, bottom-right, bottom-left."
    )
    floors: tuple[int, int] = Field(
        description="Floor at the bottom edge, floor at the top edge; storeys of equal height."
    )
    units: list[str] | None = Field(None, description="Stair-units or balcony columns left to right, equal width.")
    width_m: float | None = Field(
        None,
        gt=0,
        le=1000,
        description="Metres between the left and right edges (drawings, or balconies x their width); "
        "unset: estimated from the corners for a 75-degree lens, within about 30 %.",
    )
    highest_floor: int | None = Field(
        None,
        description="The building's highest floor, when the calibrated facade stops below the roof (another "
        "camera sees the rest); unset: the top edge is the roof, and a throw whose release is fitted above it "
        "is named on the top floor.",
    )

    @field_validator("corners", mode="before")
    @classmethod
    def _four_corners(cls, v: object) -> object:
        if isinstance(v, list) and len(v) != 4:
            raise ValueError(f"expected 4 points, got {len(v)}")
        return v

    @_model_validator(mode="after")
    def _geometry(self) -> FacadeConfig:
        lo, hi = self.floors
        if hi < lo:
            raise ValueError(f"floors: the top floor ({hi}) is below the bottom floor ({lo}); write [bottom, top]")
        if self.highest_floor is not None and self.highest_floor < hi:
            raise ValueError(
                f"highest_floor ({self.highest_floor}) is below the top edge's floor ({hi}): give the building's "
                "highest floor, or leave it out when the top edge is the roof"
            )
        if _signed_area(self.corners) <= 0:
            raise ValueError("corners must go top-left, top-right, bottom-right, bottom-left and enclose an area")
        if not _convex(self.corners):
            raise ValueError("corners must form a convex quadrilateral: no three on one line, no corner pushed inwards")
        if self.units is not None and len(set(self.units)) != len(self.units):
            raise ValueError("units must be distinct")
        return self

    def build(self) -> Facade:
        return Facade(self.corners, self.floors, self.units, self.width_m, self.highest_floor)


def _convex(pts: list[Point]) -> bool:
    """Every turn clockwise (image y down): the perspective mapping needs a proper quad."""
    n = len(pts)
    for i in range(n):
        (ax, ay), (bx, by), (cx, cy) = pts[i], pts[(i + 1) % n], pts[(i + 2) % n]
        if (bx - ax) * (cy - by) - (by - ay) * (cx - bx) <= 0:
            return False
    return True


def _signed_area(pts: list[Point]) -> float:
    """Shoelace area; positive for clockwise order in image coordinates (y down)."""
    return 0.5 * sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(pts, pts[1:] + pts[:1], strict=True))


class MaskConfig(Section):
    kind: Literal["ignore", "privacy"] = Field(
        "ignore",
        description="`ignore`: excluded from analysis (trees, a flag, a road). `privacy`: excluded from analysis and blanked in snapshots.",
    )
    points: list[Point] = Field(min_length=3, max_length=64, description="Polygon vertices in image px.")
    name: str | None = Field(None, description="What it covers, for the people who maintain the config.")


class RecordingConfig(Section):
    pre_s: float = Field(20.0, ge=0, le=120, description="Seconds of video kept before an event's start.")
    post_s: float = Field(10.0, ge=0, le=120, description="Seconds of video kept after an event's end.")
    max_event_s: float = Field(
        120.0,
        gt=0,
        le=1800,
        description="A clip stops this long after the event started even if the event is still open.",
    )
    ring_max_mb: float = Field(
        64.0, gt=0, le=4096, description="Hard cap on the packet ring per camera, whatever the bitrate."
    )


def _detectors_model() -> type[BaseModel]:
    """One optional section per registered detector type (`detectors: {thrown: {...}}`)."""
    fields = {name: (cls.config_cls | None, Field(None, description=cls.__doc__)) for name, cls in REGISTRY.items()}
    return create_model("DetectorsConfig", __base__=Section, **fields)  # type: ignore[call-overload]


DetectorsConfig = _detectors_model()


class CameraConfig(Section):
    name: Name = Field(description="Unique camera name on this node; used in topics and file names.")
    source: str = Field(
        description="`rtsp://...` (TCP), `http(s)://...`, or a video file path (relative to the config file)."
    )
    building: str = Field(min_length=1, description="Building this camera watches, as the cloud knows it (e.g. `7`).")
    loop: bool = Field(False, description="Files only: start again at the end (for demos and soak tests).")
    facade: FacadeConfig | None = Field(None, description="Facade calibration; needed to name floors and units.")
    masks: list[MaskConfig] = Field(default_factory=list, description="Polygons to ignore, or to ignore and blank.")
    detectors: DetectorsConfig = Field(
        default_factory=DetectorsConfig,
        description="Per-detector settings; a detector runs when its section is present.",
    )  # type: ignore[valid-type]
    recording: RecordingConfig = Field(default_factory=RecordingConfig, description="Evidence clip settings.")


class SiteConfig(Section):
    site: Name = Field(description="Site (housing estate) id, as the cloud knows it.")
    node: Name = Field(description="This edge node's id; the cloud issues its credentials under this name.")
    broker: BrokerConfig = Field(default_factory=BrokerConfig, description="MQTT broker connection.")
    cloud: CloudConfig = Field(default_factory=CloudConfig, description="Where clips and snapshots are uploaded.")
    data_dir: Path = Field(
        Path("var/edge"), description="Outbox database, clips and snapshots (relative to the config file)."
    )
    telemetry_interval_s: float = Field(10.0, ge=1, le=3600, description="Seconds between telemetry messages.")
    cameras: list[CameraConfig] = Field(min_length=1, description="Cameras this node watches.")

    @field_validator("cameras")
    @classmethod
    def _unique_names(cls, cams: list[CameraConfig]) -> list[CameraConfig]:
        seen: set[str] = set()
        for cam in cams:
            if cam.name in seen:
                raise ValueError(f"camera name {cam.name!r} is used twice")
            seen.add(cam.name)
        return cams

    def camera(self, name: str) -> CameraConfig:
        for cam in self.cameras:
            if cam.name == name:
                return cam
        raise KeyError(f"no camera named {name!r}; this config has {', '.join(c.name for c in self.cameras)}")


def is_url(source: str) -> bool:
    return "://" in source


def load_config(path: str | Path, env: dict[str, str] | None = None) -> SiteConfig:
    """Read, substitute `${ENV}` and validate; raise ConfigError listing every problem."""
    path = Path(path)
    cfg = load_model(path, SiteConfig, env)
    base = path.resolve().parent
    cfg.data_dir = base / cfg.data_dir
    for cam in cfg.cameras:
        if not is_url(cam.source):
            cam.source = str(base / cam.source)
    if cfg.broker.tls:
        for attr in ("ca", "cert", "key"):
            value = getattr(cfg.broker.tls, attr)
            if value is not None:
                setattr(cfg.broker.tls, attr, base / value)
    return cfg
