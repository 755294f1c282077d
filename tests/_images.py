"""Checks that a written picture is a real image, not an empty or blank file."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np


def assert_png(path: Path, min_width: int = 100, min_height: int = 100) -> tuple[int, int]:
    """``path`` is a PNG of at least the given size with more than one distinct pixel value."""
    from matplotlib.image import imread

    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    pixels = imread(path)
    height, width = pixels.shape[:2]
    assert width >= min_width and height >= min_height, f"{path} is only {width}x{height}"
    assert len(np.unique(pixels.reshape(-1, pixels.shape[-1] if pixels.ndim == 3 else 1), axis=0)) > 1, \
        f"{path} is blank"
    return width, height


def assert_svg(path: Path) -> ET.Element:
    """``path`` parses as SVG XML with drawn content; returns its root element."""
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg"), f"{path} is XML but not SVG ({root.tag})"
    assert any(el.tag.rsplit("}", 1)[-1] in {"path", "polygon", "text", "polyline", "ellipse"} for el in root.iter()), \
        f"{path} draws nothing"
    return root
