"""The cloud service's YAML config: one pydantic model per section, so the reference in
docs/cloud-config-reference.md is generated from the same descriptions the code validates.

Everything has a default that runs on one machine (SQLite, local disk, the embedded time
series); a city deployment overrides the URLs. Secrets are written as `${ENV}`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from edge.config import BrokerConfig
from edge.yaml_source import ConfigError, load_model


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IngestConfig(Section):
    workers: int = Field(1, ge=0, le=64, description="MQTT ingest workers in this process; 0 serves only the API.")
    share_group: str | None = Field(
        "gridwatch-cloud",
        description="Subscribe through `$share/<group>/...` so replicas split the load; null for a plain subscription.",
    )
    client_id: str = Field(
        "gridwatch-cloud",
        description="MQTT client id stem; worker N of this process uses `<client_id>-<N>`. Must be stable across restarts (it names the persistent session) and unique per replica.",
    )
    batch_max: int = Field(500, ge=1, le=10000, description="Most messages committed in one transaction.")
    max_payload_bytes: int = Field(
        256 * 1024, ge=1024, description="Larger payloads are refused into the dead-letter table."
    )
    receive_maximum: int = Field(
        1000, ge=10, le=65535, description="MQTT 5 Receive Maximum: unacknowledged messages the broker may send."
    )


class HttpConfig(Section):
    host: str = Field("127.0.0.1", description="Address the API listens on; `0.0.0.0` behind a reverse proxy.")
    port: int = Field(8080, ge=1, le=65535, description="API port.")


class EmbeddedTimeseriesConfig(Section):
    path: Path | None = Field(None, description="SQLite file; default `<data_dir>/timeseries.sqlite`.")
    raw_retention_days: float = Field(7, gt=0, description="Keep raw points this long, then only rollups.")
    rollup_s: int = Field(300, ge=60, description="Rollup bucket width in seconds (averages, max of counters).")
    rollup_retention_days: float = Field(400, gt=0, description="Keep rollups this long.")


class InfluxConfig(Section):
    url: str = Field(description="InfluxDB 2.x URL, e.g. `http://influxdb:8086`.")
    token: SecretStr = Field(description="API token with write and read on the bucket; `${INFLUX_TOKEN}`.")
    org: str = Field(description="Organisation (`-` for InfluxDB 1.8's v2 API).")
    bucket: str = Field("gridwatch", description="Bucket (`db/rp` for InfluxDB 1.8).")
    batch_size: int = Field(1000, ge=1, description="Points per write request.")
    flush_interval_ms: int = Field(1000, ge=10, description="Longest a point waits in the batch.")


class TimeseriesConfig(Section):
    backend: Literal["embedded", "influxdb"] = Field("embedded", description="Where telemetry and event counts go.")
    embedded: EmbeddedTimeseriesConfig = Field(default_factory=EmbeddedTimeseriesConfig)
    influxdb: InfluxConfig | None = Field(None, description="Required when backend is `influxdb`.")


class S3Config(Section):
    bucket: str = Field(description="Bucket the clips and snapshots go in; it must exist.")
    prefix: str = Field("", description="Key prefix inside the bucket, e.g. `gridwatch/` to share a bucket.")
    endpoint_url: str | None = Field(
        None,
        description="S3-compatible endpoint, e.g. `http://minio:9000`, `https://oss-cn-shanghai.aliyuncs.com`, `https://cos.ap-shanghai.myqcloud.com`; null for AWS.",
    )
    region: str | None = Field(None, description="Region, e.g. `cn-north-1`; null to let the SDK decide.")
    access_key_id: str | None = Field(
        None, description="Access key; null uses the SDK's usual sources (`AWS_ACCESS_KEY_ID`, instance role)."
    )
    secret_access_key: SecretStr | None = Field(None, description="Secret key; write `${S3_SECRET_KEY}`.")
    addressing_style: Literal["auto", "path", "virtual"] = Field(
        "auto", description="`path` for MinIO and most self-hosted stores, `virtual` for Aliyun OSS and Tencent COS."
    )
    timeout_s: float = Field(10, gt=0, le=300, description="Connect and read timeout of one request.")


class MediaConfig(Section):
    backend: Literal["local", "s3"] = Field(
        "local", description="Where clips and snapshots are kept: `local` disk or an `s3`-compatible bucket."
    )
    s3: S3Config | None = Field(None, description="Required when backend is `s3`.")
    local_dir: Path | None = Field(
        None,
        description="With backend `local`: the directory clips and snapshots are kept in; default `<data_dir>/media`.",
    )
    max_upload_mb: float = Field(512, gt=0, description="Uploads larger than this are refused (413).")
    retention_days: float = Field(90, gt=0, description="Delete media of ended, non-evidence events older than this.")
    site_retention_days: dict[str, float] = Field(
        default_factory=dict, description="Per-site override of `retention_days`, e.g. `{suzhou-7: 180}`."
    )
    sweep_interval_s: float = Field(3600, ge=10, description="How often the retention sweep runs.")


class AuthConfig(Section):
    session_hours: float = Field(12, gt=0, le=24 * 30, description="A login session lasts this long.")
    cookie_secure: bool = Field(False, description="Mark the session cookie Secure (set when served over HTTPS).")


class AlertingSettings(Section):
    enabled: bool = Field(True, description="Run the alerting engine in this process (one per replica is fine).")
    rules_file: Path | None = Field(
        None,
        description="YAML rules (channels, people, grids, escalation; docs/alerting-rules-reference.md), relative to this file. Imported when it changes; `PUT /api/alerting/rules` edits them live.",
    )
    tick_s: float = Field(0.2, gt=0, le=10, description="How often timers and the outbox are checked.")
    max_attempts: int = Field(8, ge=1, le=50, description="Delivery attempts before a message is marked failed.")


class CloudConfig(Section):
    data_dir: Path = Field(Path("var/cloud"), description="SQLite files, local media; relative to the config file.")
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL, e.g. `postgresql+psycopg://gw:${PGPASSWORD}@db/gridwatch`; default SQLite in data_dir.",
    )
    broker: BrokerConfig = Field(default_factory=BrokerConfig, description="The broker the nodes publish to.")
    ingest: IngestConfig = Field(default_factory=IngestConfig)
    http: HttpConfig = Field(default_factory=HttpConfig)
    timeseries: TimeseriesConfig = Field(default_factory=TimeseriesConfig)
    media: MediaConfig = Field(default_factory=MediaConfig)
    auth: AuthConfig = Field(default_factory=AuthConfig)
    alerting: AlertingSettings = Field(default_factory=AlertingSettings)
    timezone: str = Field("Asia/Shanghai", description="IANA time zone for calendar days in statistics.")
    node_offline_after_s: float = Field(
        120, gt=0, description="A node without status or telemetry for this long is shown offline."
    )

    def resolved(self, base: Path) -> CloudConfig:
        """Make relative paths relative to `base` (the config file's directory)."""
        cfg = self.model_copy(deep=True)
        cfg.data_dir = base / cfg.data_dir
        cfg.media.local_dir = cfg.data_dir / "media" if cfg.media.local_dir is None else base / cfg.media.local_dir
        if cfg.alerting.rules_file is not None:
            cfg.alerting.rules_file = base / cfg.alerting.rules_file
        emb = cfg.timeseries.embedded
        emb.path = cfg.data_dir / "timeseries.sqlite" if emb.path is None else base / emb.path
        if cfg.database_url is None:
            cfg.database_url = f"sqlite:///{cfg.data_dir / 'gridwatch.sqlite'}"
        try:
            ZoneInfo(cfg.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError([f"timezone: unknown time zone {cfg.timezone!r} (e.g. Asia/Shanghai)"]) from None
        if cfg.timeseries.backend == "influxdb" and cfg.timeseries.influxdb is None:
            raise ConfigError(["timeseries.influxdb: required when timeseries.backend is influxdb"])
        if cfg.media.backend == "s3" and cfg.media.s3 is None:
            raise ConfigError(["media.s3: required when media.backend is s3 (bucket, endpoint_url, keys)"])
        return cfg


def load_cloud_config(path: str | Path | None, env: dict[str, str] | None = None) -> CloudConfig:
    """Read and validate; None gives the embedded defaults relative to the working directory."""
    if path is None:
        return CloudConfig().resolved(Path.cwd())
    path = Path(path)
    return load_model(path, CloudConfig, env).resolved(path.resolve().parent)
