"""The cloud config: defaults run on one machine, mistakes name file, line and key, and the
generated docs (config reference, OpenAPI) match the code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

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


def test_generated_docs_are_current() -> None:
    """Regenerate with `make docs`."""
    assert (ROOT / "docs" / "cloud-config-reference.md").read_text() == cloud_config_reference()
    assert json.loads((ROOT / "docs" / "api" / "openapi.json").read_text()) == openapi()
