"""Shared look of the charts: size, colours, the figure and the PNG encoding.

Room: obcore.charts. matplotlib is imported inside :func:`new_figure` only.
"""

from __future__ import annotations

import datetime as dt
import io
import struct
from typing import Any

from obcore.errors import InvalidInputError

__all__ = ["AXES_RECT", "HEIGHT_PX", "POC_COLOUR", "VALUE_AREA_COLOUR", "WIDTH_PX", "encode", "new_figure",
           "png_size", "price_label", "price_to_pixel_row", "utc_text"]

WIDTH_PX = 800
HEIGHT_PX = 500
_DPI = 100
#: Main axes as figure fractions (left, bottom, width, height): fixed, so a test can map
#: a price to a pixel row (:func:`price_to_pixel_row`).
AXES_RECT = (0.13, 0.11, 0.78, 0.78)
POC_COLOUR = "#d62728"
VALUE_AREA_COLOUR = "#c6dbef"
BAR_COLOUR = "#4c72b0"
LAST_PRICE_COLOUR = "#ff7f0e"
BID_COLOUR = "#2ca02c"
ASK_COLOUR = "#d62728"
CVD_COLOUR = "#222222"


def new_figure() -> tuple[Any, Any]:
    """A fresh 800×500 figure on the Agg canvas (no pyplot: safe off the main thread)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(WIDTH_PX / _DPI, HEIGHT_PX / _DPI), dpi=_DPI)
    FigureCanvasAgg(fig)
    return fig, fig.add_axes(AXES_RECT)


def encode(fig: Any) -> bytes:
    """The figure as PNG bytes, exactly 800×500."""
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=_DPI, metadata={"Software": None})
    return out.getvalue()


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR header.

    Raises
    ------
    InvalidInputError
        ``data`` is not a PNG.
    """
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise InvalidInputError(f"not a PNG (starts with {data[:16]!r})")
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def price_to_pixel_row(price: float, low: float, high: float) -> int:
    """Pixel row (0 = top) of ``price`` on the main axes whose y-limits are ``low..high``."""
    left, bottom, width, height = AXES_RECT
    top_px = (1.0 - bottom - height) * HEIGHT_PX
    return int(round(top_px + (high - price) / (high - low) * height * HEIGHT_PX))


def price_label(scale: int) -> Any:
    """A tick formatter writing prices in full (``60,000.25``: no offset, no exponent)."""

    def label(value: float, _position: Any = None) -> str:
        text = f"{value:,.{scale}f}"
        return text.rstrip("0").rstrip(".") if "." in text else text

    return label


def utc_text(seconds: float) -> str:
    """``2024-08-09 00:05:00`` (UTC) of an epoch second."""
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
