"""Depth heatmap chart from the store's 1-s snapshots: time × price, resting size on a
log colour scale, best bid / ask lines, the second's taker trades as dots.

Room: obcore.charts (no I/O; matplotlib imported inside the render function). The store
keeps the top 20 levels per side, so the picture covers those; seconds not stored, or
stored while the book was not LIVE, are left blank. The store has no trade prices, so
each second's taker buys (``buy_qty``) are drawn at that second's best ask and its sells at the best
bid, sized by the quantity (``sell_qty``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from obcore.charts.style import ASK_COLOUR, BID_COLOUR, encode, new_figure, price_label, utc_text
from obcore.errors import InsufficientDataError, InvalidInputError

__all__ = ["PRICE_ROWS", "depth_grid", "depth_heatmap_png"]

#: Price rows of the heatmap grid at most (each a whole number of price units).
PRICE_ROWS = 240
_LIVE = "LIVE"


def depth_grid(arrays: Any, start_s: int, seconds: int, rows: int = PRICE_ROWS) -> tuple[np.ndarray, int, int]:
    """Resting quantity per (price row, second) of the LIVE snapshots in a window.

    Parameters
    ----------
    arrays : obcore.store.SnapshotArrays
    start_s, seconds : int
        The window (``seconds`` columns from ``start_s``).
    rows : int
        Most price rows; the row height is a whole number of price units.

    Returns
    -------
    grid : ndarray of float64, shape (n_rows, seconds)
        Scaled quantity summed per cell; NaN in columns with no LIVE snapshot.
    low : int
        Lower edge of row 0 (scaled price).
    step : int
        Row height (scaled price).
    """
    from obcore.store.snapshot import STATE_CODES

    live = (arrays.state == STATE_CODES[_LIVE]) & (arrays.time_s >= start_s) & (arrays.time_s < start_s + seconds)
    idx = np.flatnonzero(live)
    if idx.shape[0] == 0:
        raise InsufficientDataError(f"{arrays.symbol}: no LIVE snapshot in the {seconds}-s window from "
                                    f"{utc_text(start_s)} UTC", count=0, minimum=1)
    depth = arrays.bid_prices.shape[1]
    cols = np.arange(depth)
    bid_ok = cols[None, :] < arrays.bid_levels[idx, None]
    ask_ok = cols[None, :] < arrays.ask_levels[idx, None]
    prices = np.concatenate([arrays.bid_prices[idx][bid_ok], arrays.ask_prices[idx][ask_ok]])
    qtys = np.concatenate([arrays.bid_qtys[idx][bid_ok], arrays.ask_qtys[idx][ask_ok]])
    times = np.concatenate([np.broadcast_to(arrays.time_s[idx, None], bid_ok.shape)[bid_ok],
                            np.broadcast_to(arrays.time_s[idx, None], ask_ok.shape)[ask_ok]])
    if prices.shape[0] == 0:
        raise InsufficientDataError(f"{arrays.symbol}: the LIVE snapshots in the window hold no levels",
                                    count=0, minimum=1)
    lo, hi = int(prices.min()), int(prices.max())
    step = max(1, -(-(hi - lo + 1) // rows))
    n_rows = (hi - lo) // step + 1
    grid = np.zeros((n_rows, seconds), dtype=np.float64)
    np.add.at(grid, ((prices - lo) // step, times - start_s), qtys.astype(np.float64))
    empty = np.ones(seconds, dtype=bool)
    empty[arrays.time_s[idx] - start_s] = False
    grid[:, empty] = np.nan
    return grid, lo, step


def depth_heatmap_png(arrays: Any, start_s: int, seconds: int, *, symbol: str | None = None) -> bytes:
    """Render the depth heatmap of a window of stored snapshots as an 800×500 PNG.

    Parameters
    ----------
    arrays : obcore.store.SnapshotArrays
        The store's rows for (at least) the window.
    start_s : int
        First second of the window (epoch seconds).
    seconds : int
        Window length, >= 1.
    symbol : str, optional
        Default ``arrays.symbol``.

    Returns
    -------
    bytes

    Raises
    ------
    InsufficientDataError
        No LIVE snapshot in the window (empty, or the book was never in sync).
    InvalidInputError
        ``seconds`` < 1.
    """
    if isinstance(seconds, bool) or not isinstance(seconds, (int, np.integer)) or seconds < 1:
        raise InvalidInputError(f"seconds must be an integer >= 1, got {seconds!r}")
    seconds, start_s = int(seconds), int(start_s)
    symbol = symbol or arrays.symbol
    if len(arrays) == 0:
        raise InsufficientDataError(f"{symbol}: no stored snapshot in the {seconds}-s window from "
                                    f"{utc_text(start_s)} UTC", count=0, minimum=1)
    grid, lo, step = depth_grid(arrays, start_s, seconds)
    import matplotlib.dates as mdates
    from matplotlib.colors import LogNorm

    from matplotlib.ticker import FuncFormatter

    from obcore import counters as f
    from obcore.counters import FIELD_NAMES
    from obcore.store.snapshot import STATE_CODES

    ps, qs = 10.0 ** arrays.price_scale, 10.0 ** arrays.qty_scale
    fig, ax = new_figure()
    day = 86_400.0
    t0 = start_s / day
    t1 = (start_s + seconds) / day
    shown = np.where(grid > 0, grid / qs, np.nan)
    positive = shown[np.isfinite(shown)]
    vmin = float(positive.min()) if positive.size else 1e-9
    vmax = float(positive.max()) if positive.size else 1.0
    image = ax.imshow(shown, origin="lower", aspect="auto", interpolation="nearest", cmap="viridis",
                      norm=LogNorm(vmin=vmin, vmax=max(vmax, vmin * 1.0001)),
                      extent=(t0, t1, lo / ps, (lo + grid.shape[0] * step) / ps))
    live = (arrays.state == STATE_CODES[_LIVE]) & (arrays.time_s >= start_s) & (arrays.time_s < start_s + seconds)
    t = (arrays.time_s[live] + 0.5) / day
    bid = np.where(arrays.bid_levels[live] > 0, arrays.bid_prices[live, 0] / ps, np.nan)
    ask = np.where(arrays.ask_levels[live] > 0, arrays.ask_prices[live, 0] / ps, np.nan)
    ax.plot(t, bid, color=BID_COLOUR, linewidth=1.2, label="best bid")
    ax.plot(t, ask, color=ASK_COLOUR, linewidth=1.2, label="best ask")
    names = list(arrays.counter_names)
    traded = 0
    buy_name, sell_name = FIELD_NAMES[f.BUY_QTY], FIELD_NAMES[f.SELL_QTY]
    if buy_name in names and sell_name in names:
        buy = arrays.counters[live, names.index(buy_name)] / qs
        sell = arrays.counters[live, names.index(sell_name)] / qs
        top = max(float(buy.max(initial=0)), float(sell.max(initial=0)))
        if top > 0:
            traded = int((buy > 0).sum() + (sell > 0).sum())
            scale = float(np.clip(8000.0 / seconds, 5.0, 80.0)) / np.sqrt(top)
            ax.scatter(t[buy > 0], ask[buy > 0], s=np.sqrt(buy[buy > 0]) * scale + 1, facecolors="white",
                       edgecolors=ASK_COLOUR, linewidths=0.8, zorder=4, label="taker buys (at ask)")
            ax.scatter(t[sell > 0], bid[sell > 0], s=np.sqrt(sell[sell > 0]) * scale + 1, facecolors="white",
                       edgecolors=BID_COLOUR, linewidths=0.8, zorder=4, label="taker sells (at bid)")
    ax.set_xlim(t0, t1)
    ax.set_ylim(lo / ps, (lo + grid.shape[0] * step) / ps)
    ax.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=3, maxticks=7))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M:%S" if seconds <= 3600 else "%H:%M", tz="UTC"))
    ax.set_xlabel("time (UTC)")
    ax.yaxis.set_major_formatter(FuncFormatter(price_label(arrays.price_scale)))
    ax.set_ylabel("price")
    colourbar = fig.colorbar(image, cax=fig.add_axes((0.925, 0.11, 0.02, 0.78)))
    colourbar.set_label("resting size (base asset, log)", fontsize=8)
    colourbar.minorticks_off()  # a log axis' minor ticks and mathtext labels are slow to draw
    colourbar.ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.legend(loc="upper left", fontsize=7, framealpha=0.8)
    blank = int(np.isnan(grid[0]).sum())
    note = f", {blank} s blank (not stored / not LIVE)" if blank else ""
    ax.set_title(f"{symbol} depth heatmap (top {arrays.bid_prices.shape[1]} levels)  {utc_text(start_s)} – "
                 f"{utc_text(start_s + seconds)} UTC\n{seconds} s, {traded} trade dots{note}", fontsize=10)
    return encode(fig)
