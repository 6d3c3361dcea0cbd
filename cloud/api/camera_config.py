"""The installer's camera form: validate a draft camera entry with the edge's own config model
and give back the YAML to paste under `cameras:`, plus the facade grid the detector would use.

The console never has its own copy of the schema: a draft is checked by `edge.config.CameraConfig`
and the grid is drawn by `edge.facade.Facade`, so what the installer sees is what the node runs.
"""

from __future__ import annotations

from typing import Any

import yaml
from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field, ValidationError

from cloud.api.deps import require
from cloud.auth import Principal, Role
from edge.config import CameraConfig
from edge.yaml_source import error_loc, format_loc

router = APIRouter(tags=["installer"])


class Problem(BaseModel):
    path: str = Field(description="Key path in the camera entry, e.g. `facade.corners`.")
    message: str


class Segment(BaseModel):
    a: tuple[float, float]
    b: tuple[float, float]


class CameraCheck(BaseModel):
    valid: bool
    problems: list[Problem]
    yaml: str | None = Field(description="The entry to put under `cameras:` in the node's site YAML.")
    grid: list[Segment] = Field(description="Storey and unit boundaries in image px, when the facade is valid.")


def _tidy(value: Any) -> Any:
    """Whole-pixel floats as ints, so points read `[61, 30]` as an installer would write them."""
    if isinstance(value, dict):
        return {k: _tidy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_tidy(v) for v in value]
    return int(value) if isinstance(value, float) and value.is_integer() else value


@router.post("/api/config/camera", response_model=CameraCheck)
def check_camera(draft: dict[str, Any], p: Principal = Depends(require(Role.admin, Role.installer))) -> CameraCheck:
    """Validate one camera entry exactly as `gridwatch-edge check-config` would."""
    try:
        cam = CameraConfig.model_validate(draft)
    except ValidationError as exc:
        problems = [
            Problem(path=format_loc(error_loc(e)), message=e["msg"].removeprefix("Value error, ")) for e in exc.errors()
        ]
        return CameraCheck(valid=False, problems=problems, yaml=None, grid=[])
    entry = _tidy(cam.model_dump(mode="json", exclude_unset=True))
    text = yaml.safe_dump([entry], sort_keys=False, allow_unicode=True, default_flow_style=None)
    grid = [Segment(a=a, b=b) for a, b in cam.facade.build().grid_lines()] if cam.facade else []
    return CameraCheck(valid=True, problems=[], yaml=text, grid=grid)
