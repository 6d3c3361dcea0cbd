"""Run any image model exported to ONNX: one decoder for the layouts people actually export.

Users drop their own model into `models/` and name it in the YAML, so the layer must read
what a model's outputs mean from their shape, the model's metadata and a few settings,
never from a hard-coded model (FIELD_NOTES §3):

- `yolov5`: `[1, N, 5+C]`, cx cy w h (input px), objectness, class scores; score = obj * cls; NMS.
- `yolov8` (also v11): `[1, 4+C, N]`, no objectness: transposed, best class; NMS.
- `end2end` (YOLOv10, YOLO26, `nms=True` exports): `[1, K, 6]` x1 y1 x2 y2 score class; threshold only.
- `classifier`: `[B, C]` logits or probabilities, one row per image (softmax applied unless
  the rows already sum to one).

Preprocessing is a letterbox to the model's input size (pad value, centred or top-left),
colour order and scale from the settings; non-maximum suppression is OpenCV's. Sessions are
cached per file and provider list, so every camera that names a model shares one
onnxruntime session and its thread pool.
"""

from __future__ import annotations

import ast
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

Layout = Literal["auto", "yolov5", "yolov8", "end2end", "classifier"]
MODELS_DIR = Path(os.environ.get("GRIDWATCH_MODELS", Path(__file__).resolve().parent.parent / "models"))


class ModelError(Exception):
    """A model file that is missing, unreadable or whose outputs the settings cannot explain."""


class ModelConfig(BaseModel):
    """Which ONNX file to run and how to read it. The defaults fit Ultralytics-style exports."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(description="ONNX file, relative to `models/` (or absolute).")
    layout: Layout = Field(
        "auto",
        description="Output layout; `auto` tells them apart by shape (`[B, C]` classifier, `[1, K, 6]` with K <= 1000 end-to-end, `[1, N, 5+C]` YOLOv5, `[1, 4+C, N]` YOLOv8/11).",
    )
    input_size: tuple[int, int] | None = Field(
        None, description="Input [width, height]; default from the model's input shape or its `imgsz` metadata."
    )
    channels: Literal["rgb", "bgr"] = Field("rgb", description="Colour order the model was trained on.")
    scale: float = Field(
        1 / 255, gt=0, description="Pixel values are multiplied by this (1 for models that take 0-255)."
    )
    pad: Literal["center", "topleft"] = Field(
        "center", description="Letterbox padding split evenly, or all bottom-right."
    )
    pad_value: int = Field(114, ge=0, le=255, description="Grey level of the letterbox padding.")
    box_format: Literal["cxcywh", "xyxy"] = Field("cxcywh", description="YOLOv5/v8 box columns.")
    objectness: bool | None = Field(
        None, description="Whether a column of objectness precedes the class scores; default by layout (v5 yes, v8 no)."
    )
    names: list[str] | None = Field(
        None, description="Class names by index; default from the model's `names` metadata."
    )
    score_threshold: float = Field(0.25, ge=0, le=1, description="Detections below this score are dropped.")
    iou_threshold: float = Field(0.45, ge=0, le=1, description="Non-maximum suppression overlap.")
    threads: int = Field(1, ge=1, le=64, description="onnxruntime intra-op threads of the shared session.")

    def file(self) -> Path:
        p = Path(self.path)
        return p if p.is_absolute() else MODELS_DIR / p


@dataclass(frozen=True)
class Box:
    x1: float  # source image px
    y1: float
    x2: float
    y2: float
    score: float
    cls: int
    name: str


@dataclass(frozen=True)
class Letterbox:
    """How one image was fitted into the model input: source px = (input px - pad) / ratio."""

    ratio: float
    pad_x: float
    pad_y: float

    def unmap(self, boxes: np.ndarray, width: int, height: int) -> np.ndarray:
        out = boxes.astype(np.float64).copy()
        out[:, [0, 2]] = (out[:, [0, 2]] - self.pad_x) / self.ratio
        out[:, [1, 3]] = (out[:, [1, 3]] - self.pad_y) / self.ratio
        out[:, [0, 2]] = out[:, [0, 2]].clip(0, width)
        out[:, [1, 3]] = out[:, [1, 3]].clip(0, height)
        return out


def letterbox(image: np.ndarray, size: tuple[int, int], pad: str, pad_value: int) -> tuple[np.ndarray, Letterbox]:
    """Scale a BGR image to fit `size` (w, h) keeping its aspect, pad the rest."""
    w, h = size
    ih, iw = image.shape[:2]
    r = min(w / iw, h / ih)
    nw, nh = round(iw * r), round(ih * r)
    resized = image if (nw, nh) == (iw, ih) else cv2.resize(image, (nw, nh), interpolation=cv2.INTER_AREA)
    dx, dy = ((w - nw) / 2, (h - nh) / 2) if pad == "center" else (0.0, 0.0)
    left, top = round(dx - 0.1), round(dy - 0.1)  # Ultralytics' rounding: the odd pixel goes right/bottom
    out = cv2.copyMakeBorder(
        resized, top, h - nh - top, left, w - nw - left, cv2.BORDER_CONSTANT, value=(pad_value,) * 3
    )
    return out, Letterbox(r, left, top)


def _metadata_names(meta: dict[str, str]) -> list[str] | None:
    """Ultralytics writes `names` as a Python dict literal `{0: 'smoke', 1: 'fire'}`; others a list."""
    raw = meta.get("names")
    if not raw:
        return None
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        return [n.strip() for n in raw.split(",") if n.strip()]
    if isinstance(value, dict):
        return [str(value[k]) for k in sorted(value)]
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return None


_SESSIONS: dict[tuple[str, int, tuple[str, ...]], object] = {}
_SESSIONS_LOCK = threading.Lock()


def _providers() -> list[str]:
    """CUDA or OpenVINO when their onnxruntime build is installed, else the CPU."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    wanted = [p for p in ("CUDAExecutionProvider", "OpenVINOExecutionProvider") if p in available]
    return [*wanted, "CPUExecutionProvider"]


def _session(path: Path, threads: int):
    import onnxruntime as ort

    providers = tuple(_providers())
    key = (str(path.resolve()), threads, providers)
    with _SESSIONS_LOCK:
        if key not in _SESSIONS:
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = threads
            opts.inter_op_num_threads = 1
            opts.log_severity_level = 3
            _SESSIONS[key] = ort.InferenceSession(str(path), sess_options=opts, providers=list(providers))
        return _SESSIONS[key]


class OnnxModel:
    """One model with its decoding settings; `detect` for detector layouts, `classify` for classifiers.

    Thread-safe: onnxruntime's `run` may be called from every camera thread at once.
    """

    def __init__(self, cfg: ModelConfig) -> None:
        self.cfg = cfg
        path = cfg.file()
        if not path.is_file():
            raise ModelError(f"model file {path} not found (paths are relative to {MODELS_DIR})")
        try:
            self.session = _session(path, cfg.threads)
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph types
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelError(f"model file {path} could not be loaded by onnxruntime: {first}") from None
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        if len(inputs) != 1 or len(inputs[0].shape) != 4:
            raise ModelError(
                f"model {path.name}: expected one image input [N, 3, H, W], got {[i.shape for i in inputs]}"
            )
        self.input_name = inputs[0].name
        meta = dict(self.session.get_modelmeta().custom_metadata_map)
        self.input_size = cfg.input_size or self._input_size(inputs[0].shape, meta, path)
        self.output_shape = list(outputs[0].shape)
        self.layout = cfg.layout if cfg.layout != "auto" else self._guess_layout(self.output_shape, path)
        self.names = cfg.names or _metadata_names(meta)
        self.num_classes = self._num_classes(path)
        if self.names is None:
            self.names = [f"class{i}" for i in range(self.num_classes)]
        elif len(self.names) != self.num_classes and self.layout != "end2end":
            raise ModelError(
                f"model {path.name}: {len(self.names)} class names but the {self.layout} output {self.output_shape} has {self.num_classes} classes"
            )
        self.fixed_batch = inputs[0].shape[0] if isinstance(inputs[0].shape[0], int) else None

    @staticmethod
    def _input_size(shape: list, meta: dict[str, str], path: Path) -> tuple[int, int]:
        h, w = shape[2], shape[3]
        if isinstance(h, int) and isinstance(w, int):
            return w, h
        if "imgsz" in meta:
            v = ast.literal_eval(meta["imgsz"])
            return (int(v[1]), int(v[0])) if isinstance(v, list | tuple) else (int(v), int(v))
        raise ModelError(f"model {path.name}: input size is dynamic and not in its metadata; set `input_size`")

    @staticmethod
    def _guess_layout(shape: list, path: Path) -> str:
        dims = [d if isinstance(d, int) else -1 for d in shape]
        if len(dims) == 2:
            return "classifier"
        if len(dims) == 3:
            a, b = dims[1], dims[2]
            if b == 6 and 0 < a <= 1000:
                return "end2end"
            if a > b > 5:
                return "yolov5"
            if b > a > 4:
                return "yolov8"
        raise ModelError(f"model {path.name}: cannot tell the layout of output {shape}; set `layout`")

    def _num_classes(self, path: Path) -> int:
        s = self.output_shape
        obj = self._objectness
        if self.layout == "classifier":
            n = s[1]
        elif self.layout == "end2end":
            return len(self.names) if self.names else 1
        elif self.layout == "yolov5":
            n = s[2] - 4 - int(obj) if isinstance(s[2], int) else -1
        else:
            n = s[1] - 4 - int(obj) if isinstance(s[1], int) else -1
        if not isinstance(n, int) or n < 1:
            raise ModelError(f"model {path.name}: output {s} leaves no class columns for layout {self.layout}")
        return n

    @property
    def _objectness(self) -> bool:
        return self.cfg.objectness if self.cfg.objectness is not None else self.layout == "yolov5"

    # preprocessing -----------------------------------------------------------------------
    def _tensor(self, images: list[np.ndarray]) -> tuple[np.ndarray, list[Letterbox]]:
        boxed, fits = [], []
        for img in images:
            out, fit = letterbox(img, self.input_size, self.cfg.pad, self.cfg.pad_value)
            boxed.append(out)
            fits.append(fit)
        batch = np.stack(boxed)
        if self.cfg.channels == "rgb":
            batch = batch[..., ::-1]
        return np.ascontiguousarray(batch.transpose(0, 3, 1, 2), dtype=np.float32) * np.float32(self.cfg.scale), fits

    def _run(self, images: list[np.ndarray]) -> tuple[np.ndarray, list[Letterbox]]:
        tensor, fits = self._tensor(images)
        if self.fixed_batch == 1 and len(images) > 1:
            out = np.concatenate(
                [self.session.run(None, {self.input_name: tensor[i : i + 1]})[0] for i in range(len(images))]
            )
        else:
            out = self.session.run(None, {self.input_name: tensor})[0]
        return np.asarray(out, dtype=np.float32), fits

    # outputs ------------------------------------------------------------------------------
    def classify(self, images: list[np.ndarray]) -> np.ndarray:
        """Class probabilities, one row per BGR image."""
        if self.layout != "classifier":
            raise ModelError(f"model {self.cfg.path} is a {self.layout} detector, not a classifier")
        if not images:
            return np.zeros((0, self.num_classes), np.float32)
        logits, _ = self._run(images)
        logits = logits.reshape(len(images), -1)
        if np.all(logits >= 0) and np.allclose(logits.sum(1), 1.0, atol=1e-3):
            return logits
        e = np.exp(logits - logits.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)

    def detect(self, image: np.ndarray) -> list[Box]:
        """Boxes in the BGR image's own pixels, after threshold and (where needed) NMS."""
        if self.layout == "classifier":
            raise ModelError(f"model {self.cfg.path} is a classifier; it has no boxes")
        raw, (fit,) = self._run([image])
        return self.decode(raw[0], fit, image.shape[1], image.shape[0])

    def decode(self, out: np.ndarray, fit: Letterbox, width: int, height: int) -> list[Box]:
        """One image's raw output (batch dimension removed) to boxes in its source pixels."""
        thr = self.cfg.score_threshold
        if self.layout == "end2end":
            rows = out[out[:, 4] >= thr]
            xyxy, scores, classes = rows[:, :4], rows[:, 4], rows[:, 5].astype(int)
            keep = list(range(len(rows)))
        else:
            rows = out if self.layout == "yolov5" else out.T
            cls_scores = rows[:, 5:] * rows[:, 4:5] if self._objectness else rows[:, 4:]
            classes = cls_scores.argmax(1)
            scores = cls_scores[np.arange(len(rows)), classes]
            sel = scores >= thr
            rows, scores, classes = rows[sel], scores[sel], classes[sel]
            xyxy = rows[:, :4].copy()
            if self.cfg.box_format == "cxcywh":
                xyxy[:, 0] = rows[:, 0] - rows[:, 2] / 2
                xyxy[:, 1] = rows[:, 1] - rows[:, 3] / 2
                xyxy[:, 2] = rows[:, 0] + rows[:, 2] / 2
                xyxy[:, 3] = rows[:, 1] + rows[:, 3] / 2
            # NMS per class, as the exporters do: OpenCV's, on x y w h; every row here already
            # passed the score threshold, so OpenCV's own (strict >) is set below any score
            xywh = np.concatenate([xyxy[:, :2], xyxy[:, 2:] - xyxy[:, :2]], axis=1)
            kept = cv2.dnn.NMSBoxesBatched(
                xywh.tolist(), scores.tolist(), classes.tolist(), -1.0, self.cfg.iou_threshold
            )
            keep = sorted((int(i) for i in np.asarray(kept).reshape(-1)), key=lambda i: -scores[i])
        boxes = fit.unmap(xyxy[keep], width, height) if keep else np.zeros((0, 4))
        names = self.names or []
        return [
            Box(
                *map(float, b),
                float(scores[i]),
                int(classes[i]),
                names[int(classes[i])] if int(classes[i]) < len(names) else f"class{int(classes[i])}",
            )
            for b, i in zip(boxes, keep, strict=True)
        ]


_MODELS: dict[str, OnnxModel] = {}
_MODELS_LOCK = threading.Lock()


def open_model(cfg: ModelConfig) -> OnnxModel:
    """The model for these settings, built once per process (every camera naming it shares it)."""
    key = cfg.model_dump_json()
    with _MODELS_LOCK:
        if key not in _MODELS:
            _MODELS[key] = OnnxModel(cfg)
        return _MODELS[key]
