"""The cloud config: defaults run on one machine, mistakes name file, line and key, and the
generated docs (config reference, OpenAPI) match the code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import s3_bucket

from cloud.config import load_cloud_config
from cloud.docs import cloud_config_reference, openapi
from edge.yaml_source import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def test_example_config_is_valid() -> None:
    cfg = load_cloud_config(ROOT / "configs" / "cloud.example.yaml", env={"CLOUD_MQTT_PASSWORD": "x"})
    assert cfg.database_url and cfg.database_url.startswith("sqlite:///")
    assert cfg.media.local_dir == ROOT / "configs" / "var" / "cloud" / "media"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ingest:\n  workerz: 2\n", "cloud.yaml:2 ingest.workerz: unknown key"),
        ("ingest:\n  workers: -1\n", "cloud.yaml:2 ingest.workers: Input should be greater than or equal to 0"),
        ("timeseries:\n  backend: influxdb\n", "timeseries.influxdb: required when timeseries.backend is influxdb"),
        ("media:\n  backend: s3\n", "media.s3: required when media.backend is s3"),
        (
            "media:\n  backend: s3\n  s3:\n    endpoint_url: http://minio:9000\n",
            "cloud.yaml:3 media.s3.bucket: required key is missing",
        ),
        ("timezone: Mars/Olympus\n", "unknown time zone 'Mars/Olympus'"),
        ("broker:\n  password: ${NOPE}\n", "cloud.yaml:2 broker.password: environment variable NOPE is not set"),
    ],
)
def test_config_mistakes_are_named(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "cloud.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_cloud_config(path, env={})
    assert expected in str(err.value)


def test_check_config_reaches_the_bucket(tmp_path: Path, s3_endpoint: str) -> None:
    """`check-config` tells an installer whether the configured bucket answers."""
    bucket = s3_bucket(s3_endpoint)
    s3 = {"bucket": bucket.bucket, "endpoint_url": s3_endpoint, "region": "us-east-1", "access_key_id": "test",
          "secret_access_key": "${S3_SECRET}", "addressing_style": "path"}  # fmt: skip
    path = tmp_path / "cloud.yaml"
    env = {**os.environ, "S3_SECRET": "test-secret"}
    run = [sys.executable, "-m", "cloud.cli", "check-config", "-c", str(path)]
    path.write_text(yaml.safe_dump({"media": {"backend": "s3", "s3": s3}}))
    ok = subprocess.run(run, capture_output=True, text=True, env=env, timeout=60)
    assert ok.returncode == 0 and f"media in s3://{bucket.bucket}/ at {s3_endpoint}" in ok.stdout, ok.stderr
    path.write_text(yaml.safe_dump({"media": {"backend": "s3", "s3": {**s3, "bucket": "no-such-bucket"}}}))
    missing = subprocess.run(run, capture_output=True, text=True, env=env, timeout=60)
    assert missing.returncode == 1 and "media.s3: cannot reach the bucket: s3://no-such-bucket/" in missing.stderr


def test_generated_docs_are_current() -> None:
    """Regenerate with `make docs`."""
    assert (ROOT / "docs" / "cloud-config-reference.md").read_text() == cloud_config_reference()
    assert json.loads((ROOT / "docs" / "api" / "openapi.json").read_text()) == openapi()
