"""Charts: the analytics as PNG pictures (volume profile, depth heatmap, order flow).

Room: obcore's picture room, beside ``obcore.analytics``. Every render function takes
analytics results or arrays already in memory (no I/O) and returns the bytes of one
800×500 PNG with real price axes, UTC times and the symbol and window in the title.
matplotlib (the ``obcore[charts]`` extra, Agg backend, no pyplot) is imported inside the
render functions only, so ``import obcore`` and ``import obcore.charts`` never load it.

A window with nothing to draw (no bins, no stored seconds, no synced second) raises
``InsufficientDataError`` naming what was missing, never a blank picture.
"""

from __future__ import annotations

from obcore.charts.flow import flow_counters_from_session, flow_counters_from_store, order_flow_png
from obcore.charts.heatmap import depth_heatmap_png
from obcore.charts.profile import volume_profile_png
from obcore.charts.style import (AXES_RECT, HEIGHT_PX, POC_COLOUR, VALUE_AREA_COLOUR, WIDTH_PX, png_size,
                                 price_to_pixel_row)

__all__ = [
    "AXES_RECT",
    "HEIGHT_PX",
    "POC_COLOUR",
    "VALUE_AREA_COLOUR",
    "WIDTH_PX",
    "depth_heatmap_png",
    "flow_counters_from_session",
    "flow_counters_from_store",
    "order_flow_png",
    "png_size",
    "price_to_pixel_row",
    "volume_profile_png",
]
