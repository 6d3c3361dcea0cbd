"""Site config: every broken file is refused with file, line and key path; examples load."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from edge.config import load_config
from edge.yaml_source import ConfigError

BROKEN = Path(__file__).parent / "configs" / "broken"
ROOT = Path(__file__).parent.parent

# file -> (expected line, expected text in the message)
EXPECTED = {
    "three_corners.yaml": (11, "cameras[1].facade.corners: expected 4 points, got 3"),
    "unknown_key.yaml": (8, "cameras[0].recording.pre_seconds: unknown key"),
    "floors_reversed.yaml": (7, "cameras[0].facade: floors: the top floor (3) is below the bottom floor (18)"),
    "highest_below_top.yaml": (7, "cameras[0].facade: highest_floor (12) is below the top edge's floor (18)"),
    "bad_yaml.yaml": (6, "YAML syntax"),
    "missing_env.yaml": (5, "broker.password: environment variable GRIDWATCH_TEST_UNSET_PASSWORD is not set"),
    "bad_port.yaml": (4, "broker.port: Input should be less than or equal to 65535"),
    "duplicate_camera.yaml": (3, "cameras: camera name 'cam1' is used twice"),
    "no_cameras.yaml": (3, "cameras: List should have at least 1 item"),
    "crossed_corners.yaml": (7, "corners must go top-left, top-right, bottom-right, bottom-left"),
    "dented_corners.yaml": (7, "corners must form a convex quadrilateral"),
    "missing_model.yaml": (8, "cameras[0].detectors.smoke_fire: model file"),
    "broken_model.yaml": (8, "could not be loaded by onnxruntime"),
}


def test_every_broken_file_has_an_expectation() -> None:
    assert sorted(p.name for p in BROKEN.glob("*.yaml")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_broken_config_names_line_and_key(name: str) -> None:
    line, text = EXPECTED[name]
    with pytest.raises(ConfigError) as err:
        load_config(BROKEN / name, env={})
    problems = err.value.problems
    assert any(p.startswith(f"{name}:{line} ") and text in p for p in problems), problems


def test_check_config_exits_non_zero_with_the_message() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "edge.cli", "check-config", str(BROKEN / "three_corners.yaml")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert "three_corners.yaml:11 cameras[1].facade.corners: expected 4 points, got 3" in proc.stderr


@pytest.mark.parametrize("example", sorted((ROOT / "configs").glob("site*.yaml")), ids=lambda p: p.name)
def test_examples_in_configs_are_valid(example: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "edge.cli", "check-config", str(example)], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert "valid" in proc.stdout


def test_env_substitution_and_relative_paths(tmp_path: Path) -> None:
    cfg_file = tmp_path / "site.yaml"
    cfg_file.write_text(
        "site: s\nnode: n\nbroker: {password: '${PW}', username: '${USER_:-edge}'}\n"
        "cameras: [{name: c, source: clips/a.mp4, building: '1'}]\n"
    )
    cfg = load_config(cfg_file, env={"PW": "s3cret"})
    assert cfg.broker.password is not None and cfg.broker.password.get_secret_value() == "s3cret"
    assert cfg.broker.username == "edge"
    assert cfg.cameras[0].source == str(tmp_path / "clips" / "a.mp4")
    assert cfg.data_dir == tmp_path / "var" / "edge"
    assert "s3cret" not in repr(cfg)  # secrets never end up in logs


def test_config_reference_is_current() -> None:
    """docs/config-reference.md is generated from the models; regenerate with `make docs`."""
    from edge.docs import config_reference

    assert (ROOT / "docs" / "config-reference.md").read_text() == config_reference()
