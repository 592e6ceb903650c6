"""obcore.analytics: the analytics room — order flow and volume profile, exact, over the
live rings, the store or trade arrays; no I/O here (the back-fill in
``obcore.analytics.backfill`` is the one async shell, and it is not imported by this
package).

::

    from obcore.analytics import order_flow, volume_profile, trades_from_tape

    flow = order_flow(session, 60)                                   # OrderFlow
    trades = trades_from_tape(session.trades, session.price_scale, session.qty_scale)
    profile = volume_profile(trades, "0.01")                          # VolumeProfile
    profile.to_dict("summary")

Kernels (Numba, with plain-Python twins) live in ``obcore._kernels._profile`` /
``_flow``; ``obcore._kernels._numba.warm_up()`` compiles them at server start-up.
``python -m obcore.analytics`` runs both analyses over trade files offline.
"""

from __future__ import annotations

from obcore.analytics.coverage import WindowQuality
from obcore.analytics.flow import (
    FlowDirection,
    LiquidityWithdrawal,
    OrderFlow,
    flow_direction,
    order_flow,
    parse_as_of,
    stored_order_flow,
    trade_flow,
)
from obcore.analytics.profile import LiquidityVacuum, ProfileBin, VolumeProfile, default_bin_size, volume_profile
from obcore.analytics.trades import TradeArrays, merge_trades, trades_from_rows, trades_from_tape

__all__ = [
    "FlowDirection",
    "LiquidityVacuum",
    "LiquidityWithdrawal",
    "OrderFlow",
    "ProfileBin",
    "TradeArrays",
    "VolumeProfile",
    "WindowQuality",
    "default_bin_size",
    "flow_direction",
    "merge_trades",
    "order_flow",
    "parse_as_of",
    "stored_order_flow",
    "trade_flow",
    "trades_from_rows",
    "trades_from_tape",
    "volume_profile",
    "warm_up",
]


def warm_up() -> int:
    """Compile (or load from Numba's cache) every batch kernel: the analytics' and the store
    decoder's. Servers call it once at start-up so no user's first request pays the compile.

    Returns
    -------
    int
        How many kernels were warmed.
    """
    import obcore.store.decode  # noqa: F401  (registers the decoder's warm-up)
    from obcore._kernels import _numba

    return _numba.warm_up()
