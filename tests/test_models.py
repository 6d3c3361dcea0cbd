"""The models in models/ are what their cards say: same bytes, same metrics, same classes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import onnx

from edge.onnx_model import ModelConfig, OnnxModel

MODELS = Path(__file__).resolve().parent.parent / "models"


def test_the_smoke_fire_model_matches_its_card() -> None:
    path = MODELS / "smoke_fire.onnx"
    record = json.loads((MODELS / "smoke_fire.json").read_text())  # written by the trainer with the file
    card = (MODELS / "smoke_fire.md").read_text()
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert record["sha256"] == digest and record["bytes"] == path.stat().st_size
    assert digest in card, "the card names another file: update models/smoke_fire.md after retraining"
    fire = record["metrics"]["fire_images"]
    assert f"| fire, held-out photos | {fire['precision']:.2f} | {fire['recall']:.2f} | {fire['f1']:.2f} |" in card
    meta = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert json.loads(meta["gridwatch.metrics"]) == record["metrics"]
    model = OnnxModel(ModelConfig(path="smoke_fire.onnx"))
    assert (model.layout, model.input_size, model.names) == ("classifier", (96, 96), ["none", "smoke", "fire"])
    assert path.stat().st_size <= 10e6
