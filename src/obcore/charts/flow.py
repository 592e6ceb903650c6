"""Order-flow chart: per-second bid / ask additions and cancellations, and the CVD line.

Room: obcore.charts (no I/O; matplotlib imported inside the render function). The
per-second counts come from the same counters the analysis reads (``obcore.counters``
layout): :func:`flow_counters_from_session` / :func:`flow_counters_from_store` take them
for an :class:`~obcore.analytics.flow.OrderFlow`'s window.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from obcore import counters as f
from obcore.charts.style import ASK_COLOUR, BID_COLOUR, CVD_COLOUR, encode, new_figure, utc_text
from obcore.errors import InsufficientDataError, InvalidInputError

__all__ = ["flow_counters_from_session", "flow_counters_from_store", "order_flow_png"]


def flow_counters_from_session(session: Any, flow: Any) -> np.ndarray:
    """The live session's counters of ``flow``'s window, shape ``(N_FIELDS, window_seconds)``."""
    return np.array(session.counters.window(flow.end_s, flow.window_seconds), dtype=np.int64)


def flow_counters_from_store(store: Any, symbol: str, flow: Any) -> np.ndarray:
    """The stored counters of ``flow``'s window (seconds not stored are zeros)."""
    from obcore.analytics.flow import _counter_matrix

    arrays = store.range(symbol, flow.start_s, flow.end_s + 1)
    return _counter_matrix(arrays, flow.start_s, flow.window_seconds)


def order_flow_png(flow: Any, counters: Any, symbol: str) -> bytes:
    """Render an order-flow window as an 800×500 PNG.

    Top: bid additions (up) and cancellations (down) per second; middle: the same for asks.
    Bottom: the cumulative delta at the end of each second (``flow.cvd``).

    Parameters
    ----------
    flow : obcore.analytics.flow.OrderFlow
    counters : ndarray of int64, shape (N_FIELDS, flow.window_seconds)
        Per-second counters of the window, oldest first.
    symbol : str

    Returns
    -------
    bytes

    Raises
    ------
    InsufficientDataError
        The window covers no second.
    InvalidInputError
        ``counters`` has the wrong shape.
    """
    counters = np.asarray(counters, dtype=np.int64)
    seconds = int(flow.window_seconds)
    if counters.shape != (f.N_FIELDS, seconds):
        raise InvalidInputError(f"counters must have shape ({f.N_FIELDS}, {seconds}), got {counters.shape}")
    if flow.seconds_covered == 0:
        raise InsufficientDataError(f"{symbol}: no data in the {seconds}-s window ending at {utc_text(flow.end_s)} UTC",
                                    count=0, minimum=1)
    import matplotlib.dates as mdates

    fig, top = new_figure()
    top.set_position((0.13, 0.63, 0.78, 0.26))
    middle = fig.add_axes((0.13, 0.36, 0.78, 0.26), sharex=top)
    bottom = fig.add_axes((0.13, 0.10, 0.78, 0.21), sharex=top)
    day = 86_400.0
    edges = (flow.start_s + np.arange(seconds + 1)) / day
    t = edges[:-1]
    # one artist per series (a bar per second is ~10x slower to draw)
    for axes, side, adds, cancels, colour in ((top, "bid", f.BID_ADDITIONS, f.BID_CANCELLATIONS, BID_COLOUR),
                                              (middle, "ask", f.ASK_ADDITIONS, f.ASK_CANCELLATIONS, ASK_COLOUR)):
        axes.stairs(counters[adds], edges, fill=True, color=colour, label=f"{side} additions")
        axes.stairs(-counters[cancels], edges, fill=True, color=colour, alpha=0.4, label=f"{side} cancellations")
        axes.axhline(0, color="#555555", linewidth=0.8)
        axes.set_ylabel(f"{side}s / s")
        axes.legend(loc="upper left", fontsize=7, ncol=2, framealpha=0.8)
        axes.tick_params(labelbottom=False)
    if flow.depth_messages == 0:
        top.text(0.5, 0.5, "no depth stream in this window (trades only)", transform=top.transAxes,
                 ha="center", va="center", fontsize=10, color="#555555")
    qs = 10.0 ** flow.qty_scale
    cvd = np.asarray(flow.cvd, dtype=np.float64) / qs
    bottom.step(t + 1 / day, cvd, where="pre", color=CVD_COLOUR, linewidth=1.4, label="CVD")
    bottom.axhline(0, color="#999999", linewidth=0.8)
    bottom.set_ylabel("CVD (base)")
    bottom.set_xlabel("time (UTC)")
    bottom.set_xlim(t[0], t[-1] + 1 / day)
    bottom.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=3, maxticks=7))
    bottom.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M:%S", tz="UTC"))
    top.set_title(f"{symbol} order flow  {utc_text(flow.start_s)} – {utc_text(flow.end_s + 1)} UTC\n"
                  f"{flow.seconds_covered}/{seconds} s covered, {flow.flow_direction.value}, "
                  f"CVD {flow.cumulative_delta / qs:g}", fontsize=10)
    return encode(fig)
