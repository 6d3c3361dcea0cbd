"""Detector plugins. Importing this package registers every detector module in it."""

from edge.detectors import smoke_fire, thrown  # noqa: E402,F401  (register themselves)
from edge.detectors.base import REGISTRY, CameraContext, Detection, Detector, Frame, FrameRequest, register

__all__ = ["REGISTRY", "CameraContext", "Detection", "Detector", "Frame", "FrameRequest", "register"]
