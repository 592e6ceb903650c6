"""Volume profile chart: horizontal histogram by price, POC line, value area shaded,
liquidity vacuums hatched, last price marked.

Room: obcore.charts (no I/O; matplotlib imported inside the render function).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from obcore.charts.style import (BAR_COLOUR, LAST_PRICE_COLOUR, POC_COLOUR, VALUE_AREA_COLOUR, encode, new_figure,
                                 price_label, utc_text)
from obcore.errors import InsufficientDataError, InvalidInputError
from obcore.numbers import format_decimal

__all__ = ["volume_profile_png"]


def volume_profile_png(profile: Any, symbol: str, *, last_price: int | None = None) -> bytes:
    """Render a volume profile as an 800×500 PNG.

    Parameters
    ----------
    profile : obcore.analytics.profile.VolumeProfile
    symbol : str
        Shown in the title.
    last_price : int, optional
        Last traded price, scaled at ``profile.price_scale``: a dashed line and label.

    Returns
    -------
    bytes
        The PNG. The y-axis spans exactly the histogram (lowest bin's lower edge to the
        highest bin's upper edge), so a price maps to a pixel row by
        :func:`obcore.charts.price_to_pixel_row`.

    Raises
    ------
    InsufficientDataError
        The profile has no bins or no volume.
    InvalidInputError
        ``profile`` is not a volume profile.
    """
    volumes = getattr(profile, "volumes", None)
    if volumes is None or not hasattr(profile, "poc_index"):
        raise InvalidInputError(f"profile must be a VolumeProfile, got {type(profile).__name__}")
    if profile.n_bins == 0 or profile.total_volume <= 0:
        raise InsufficientDataError(f"{symbol}: the volume profile has no traded volume to draw",
                                    count=int(profile.trade_count), minimum=1)
    from matplotlib.ticker import FuncFormatter

    ps, qs = 10.0 ** profile.price_scale, 10.0 ** profile.qty_scale
    fig, ax = new_figure()
    edges = (profile.first_price_level + np.arange(profile.n_bins) * profile.bin_size) / ps
    height = profile.bin_size / ps
    low, high = float(edges[0]), float(edges[0] + profile.n_bins * height)
    vol = np.asarray(volumes, dtype=np.float64) / qs
    ax.axhspan(profile.value_area_low / ps, profile.value_area_high / ps, color=VALUE_AREA_COLOUR, zorder=0,
               label=f"value area {format_decimal(profile.value_area_low, profile.price_scale)}–"
                     f"{format_decimal(profile.value_area_high, profile.price_scale)}")
    for n, vacuum in enumerate(profile.vacuums):
        ax.axhspan(vacuum.price_low / ps, vacuum.price_high / ps, facecolor="none", edgecolor="#7f7f7f",
                   hatch="///", linewidth=0, zorder=1,
                   label=f"{len(profile.vacuums)} liquidity vacuums" if n == 0 else None)
    # one artist for the histogram (a bar per bin is ~10x slower to draw), the POC bar on top
    ax.stairs(vol, np.append(edges, edges[-1] + height), orientation="horizontal", fill=True, color=BAR_COLOUR,
              zorder=2)
    ax.barh([edges[profile.poc_index]], [vol[profile.poc_index]], height=height, align="edge", color=POC_COLOUR,
            linewidth=0, zorder=2)
    poc_mid = (profile.poc_price + profile.bin_size / 2) / ps
    ax.axhline(poc_mid, color=POC_COLOUR, linewidth=2, zorder=3,
               label=f"POC {format_decimal(profile.poc_price, profile.price_scale)}")
    if last_price is not None:
        price = int(last_price) / ps
        ax.axhline(price, color=LAST_PRICE_COLOUR, linestyle="--", linewidth=1.5, zorder=4,
                   label=f"last {format_decimal(int(last_price), profile.price_scale)}")
        low, high = min(low, price - height), max(high, price + height)
    ax.set_ylim(low, high)
    ax.set_xlim(0, float(vol.max()) * 1.05)
    ax.yaxis.set_major_formatter(FuncFormatter(price_label(profile.price_scale)))
    ax.set_xlabel("traded volume (base asset)")
    ax.set_ylabel("price")
    ax.legend(loc="lower right", fontsize=8, framealpha=0.9)
    start = profile.start_ms if profile.start_ms is not None else profile.first_trade_ms
    end = profile.end_ms if profile.end_ms is not None else profile.last_trade_ms
    ax.set_title(f"{symbol} volume profile  {utc_text(start / 1000)} – {utc_text(end / 1000)} UTC\n"
                 f"{profile.trade_count:,} trades, bins of {format_decimal(profile.bin_size, profile.price_scale)}",
                 fontsize=10)
    return encode(fig)
