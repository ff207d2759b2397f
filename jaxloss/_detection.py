"""Bounding-box regression losses for object detection, on boxes ``(x1, y1, x2, y2)``."""

from __future__ import annotations
