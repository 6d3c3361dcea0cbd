"""The ONNX layer decodes every layout it claims to, on models built here with known outputs.

Each test model is a real ONNX graph (onnx.helper) run by onnxruntime: its output is a
constant plus zero times the input, so the decoding, not a network, is what is tested.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from edge.onnx_model import ModelConfig, ModelError, OnnxModel, letterbox


def constant_model(path: Path, out: np.ndarray, size: int = 64, names: str | None = None, batch: int | str = 1) -> Path:
    """images [batch, 3, size, size] -> output `out` (+ 0 * mean(images))."""
    const = numpy_helper.from_array(out.astype(np.float32), "const")
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["m"], keepdims=0),
        helper.make_node("Mul", ["m", "zero"], ["z"]),
        helper.make_node("Add", ["const", "z"], ["output0"]),
    ]
    graph = helper.make_graph(
        nodes,
        "const",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [batch, 3, size, size])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, list(out.shape))],
        [const, numpy_helper.from_array(np.zeros((), np.float32), "zero")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    if names is not None:
        model.metadata_props.add(key="names", value=names)
    onnx.save(model, path)
    return path


def pooling_classifier(path: Path, weights: np.ndarray, size: int = 32) -> Path:
    """images [N, 3, s, s] -> mean per channel [N, 3] @ weights [3, C]: logits that depend on colour."""
    nodes = [
        helper.make_node("GlobalAveragePool", ["images"], ["p"]),
        helper.make_node("Flatten", ["p"], ["f"]),
        helper.make_node("MatMul", ["f", "w"], ["logits"]),
    ]
    graph = helper.make_graph(
        nodes,
        "cls",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["batch", 3, size, size])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", weights.shape[1]])],
        [numpy_helper.from_array(weights.astype(np.float32), "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    model.metadata_props.add(key="names", value="{0: 'red', 1: 'blue'}")
    onnx.save(model, path)
    return path


# A 128 x 64 source letterboxed into 64 x 64: ratio 0.5, 16 px of padding above and below.
SOURCE = np.zeros((64, 128, 3), np.uint8)


def src(x1: float, y1: float, x2: float, y2: float) -> tuple[float, float, float, float]:
    """Input-px box -> where it is in SOURCE."""
    return (x1 / 0.5, (y1 - 16) / 0.5, x2 / 0.5, (y2 - 16) / 0.5)


def boxes_of(model: OnnxModel) -> list[tuple[str, tuple[float, ...], float]]:
    return [(b.name, (b.x1, b.y1, b.x2, b.y2), round(b.score, 3)) for b in model.detect(SOURCE)]


def test_letterbox_centres_and_unmaps() -> None:
    out, fit = letterbox(SOURCE, (64, 64), "center", 114)
    assert out.shape == (64, 64, 3) and (fit.ratio, fit.pad_x, fit.pad_y) == (0.5, 0, 16)
    assert out[0, 0, 0] == 114 and out[32, 32, 0] == 0
    _, top = letterbox(SOURCE, (64, 64), "topleft", 0)
    assert (top.pad_x, top.pad_y) == (0, 0)


def test_yolov5_objectness_times_class_nms_and_names(tmp_path: Path) -> None:
    rows = np.zeros((1, 40, 7), np.float32)  # cx cy w h obj smoke fire
    rows[0, 0] = [32, 32, 20, 10, 0.9, 0.1, 0.9]  # fire 0.81
    rows[0, 1] = [33, 32, 20, 10, 0.8, 0.1, 0.9]  # overlaps the first: suppressed
    rows[0, 2] = [10, 20, 8, 8, 0.9, 0.8, 0.1]  # smoke 0.72
    rows[0, 3] = [50, 40, 8, 8, 0.5, 0.4, 0.1]  # 0.2 < threshold
    model = OnnxModel(
        ModelConfig(path=str(constant_model(tmp_path / "v5.onnx", rows, names="{0: 'smoke', 1: 'fire'}")))
    )
    assert model.layout == "yolov5" and model.names == ["smoke", "fire"]
    got = boxes_of(model)
    assert [(n, s) for n, _, s in got] == [("fire", 0.81), ("smoke", 0.72)]
    assert got[0][1] == pytest.approx(src(22, 27, 42, 37))
    assert got[1][1] == pytest.approx(src(6, 16, 14, 24))


def test_yolov8_transposed_without_objectness(tmp_path: Path) -> None:
    cols = np.zeros((1, 6, 50), np.float32)  # [4 + 2 classes, N]
    cols[0, :, 7] = [32, 32, 20, 10, 0.1, 0.7]
    cols[0, :, 8] = [32, 33, 20, 10, 0.2, 0.6]  # same object, lower: suppressed
    cols[0, :, 9] = [32, 32, 20, 10, 0.5, 0.1]  # same place, other class: kept (NMS is per class)
    model = OnnxModel(
        ModelConfig(path=str(constant_model(tmp_path / "v8.onnx", cols, names="{0: 'smoke', 1: 'fire'}")))
    )
    assert model.layout == "yolov8" and model.num_classes == 2
    got = boxes_of(model)
    assert [(n, s) for n, _, s in got] == [("fire", 0.7), ("smoke", 0.5)]
    assert got[0][1] == pytest.approx(src(22, 27, 42, 37))


def test_end_to_end_threshold_only(tmp_path: Path) -> None:
    dets = np.zeros((1, 300, 6), np.float32)
    dets[0, 0] = [22, 27, 42, 37, 0.9, 1]
    dets[0, 1] = [23, 27, 43, 37, 0.8, 1]  # already NMSed by the model: kept as given
    dets[0, 2] = [0, 0, 5, 5, 0.1, 0]
    model = OnnxModel(ModelConfig(path=str(constant_model(tmp_path / "e2e.onnx", dets)), names=["smoke", "fire"]))
    assert model.layout == "end2end"
    got = boxes_of(model)
    assert [(n, s) for n, _, s in got] == [("fire", 0.9), ("fire", 0.8)]
    assert got[0][1] == pytest.approx(src(22, 27, 42, 37))


def test_xyxy_box_format_and_topleft_padding(tmp_path: Path) -> None:
    rows = np.zeros((1, 20, 6), np.float32)  # v5 with one class: [1, N, 6] with N > 1000 would be v5 by shape
    rows[0, 0] = [10, 4, 30, 20, 0.9, 1.0]
    path = constant_model(tmp_path / "xyxy.onnx", rows)
    cfg = ModelConfig(path=str(path), layout="yolov5", box_format="xyxy", pad="topleft", names=["fire"])
    got = boxes_of(OnnxModel(cfg))
    assert got == [("fire", pytest.approx((20.0, 8.0, 60.0, 40.0)), 0.9)]


def test_classifier_colour_order_and_batches(tmp_path: Path) -> None:
    path = pooling_classifier(tmp_path / "cls.onnx", np.array([[10.0, 0.0], [0.0, 0.0], [0.0, 10.0]]))
    red = np.zeros((32, 32, 3), np.uint8)
    red[..., 2] = 255  # BGR
    blue = np.zeros((32, 32, 3), np.uint8)
    blue[..., 0] = 255
    rgb = OnnxModel(ModelConfig(path=str(path)))
    assert rgb.layout == "classifier" and rgb.names == ["red", "blue"]
    probs = rgb.classify([red, blue])
    assert probs.argmax(1).tolist() == [0, 1] and probs.sum(1) == pytest.approx([1, 1])
    bgr = OnnxModel(ModelConfig(path=str(path), channels="bgr"))  # told the wrong order, it swaps
    assert bgr.classify([red, blue]).argmax(1).tolist() == [1, 0]


def test_missing_broken_and_unexplained_models(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not found"):
        OnnxModel(ModelConfig(path=str(tmp_path / "nope.onnx")))
    (tmp_path / "junk.onnx").write_bytes(b"this is not a protobuf")
    with pytest.raises(ModelError, match="could not be loaded by onnxruntime"):
        OnnxModel(ModelConfig(path=str(tmp_path / "junk.onnx")))
    odd = constant_model(tmp_path / "odd.onnx", np.zeros((1, 2, 3, 4), np.float32))
    with pytest.raises(ModelError, match="cannot tell the layout"):
        OnnxModel(ModelConfig(path=str(odd)))
    v5 = constant_model(tmp_path / "names.onnx", np.zeros((1, 40, 7), np.float32), names="{0: 'smoke'}")
    with pytest.raises(ModelError, match="1 class names but the yolov5 output"):
        OnnxModel(ModelConfig(path=str(v5)))
