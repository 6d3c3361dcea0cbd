"""docker/ cannot run here (no Docker engine), so check what can be checked without one: the
compose file's mounts exist, the configs it mounts validate, and the setup script's secret
extraction matches what `gridwatch-cloud nodes add` really prints."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from cloud.config import load_cloud_config
from edge.config import load_config

ROOT = Path(__file__).resolve().parent.parent
DOCKER = ROOT / "docker"


def test_compose_mounts_exist_and_configs_validate() -> None:
    compose = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    assert {"postgres", "influxdb", "mosquitto", "setup", "cloud", "edge"} <= set(compose["services"])
    for name, svc in compose["services"].items():
        for volume in svc.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("."):
                assert (DOCKER / source).resolve().exists(), f"{name}: {source} does not exist"
    env = {"PGPASSWORD": "p", "CLOUD_MQTT_PASSWORD": "c", "INFLUX_TOKEN": "t", "MQTT_PASSWORD": "m",
           "GRIDWATCH_TOKEN": "g"}  # fmt: skip
    cloud = load_cloud_config(ROOT / "configs" / "compose" / "cloud.yaml", env)
    assert cloud.database_url.startswith("postgresql+psycopg://") and cloud.timeseries.backend == "influxdb"
    site = load_config(ROOT / "configs" / "compose" / "site.yaml", env)
    assert site.broker.host == "mosquitto" and site.cloud.upload_url == "http://cloud:8080"
    conf = (ROOT / "configs" / "compose" / "mosquitto.conf").read_text()
    assert "password_file /mosquitto/auth/passwd" in conf and "acl_file /mosquitto/auth/acl" in conf


def test_setup_script_extracts_the_node_secrets(tmp_path: Path) -> None:
    cfg = tmp_path / "cloud.yaml"
    cfg.write_text(f"data_dir: {tmp_path}\n")
    out = subprocess.run([sys.executable, "-m", "cloud.cli", "nodes", "add", "edge-1", "--site", "s", "-c", str(cfg)],
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    script = (DOCKER / "setup.sh").read_text()
    sed = script.split("| sed -n '", 1)[1].split("'", 1)[0]
    env_file = subprocess.run(["sed", "-n", sed], input=out, capture_output=True, text=True, check=True).stdout
    lines = env_file.splitlines()
    assert [line.split("=")[0] for line in lines] == ["export MQTT_PASSWORD", "export GRIDWATCH_TOKEN"]
    assert all(len(line.split("=", 1)[1]) >= 30 for line in lines)
