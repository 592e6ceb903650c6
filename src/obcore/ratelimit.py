"""Request-weight accounting for the Binance REST API (pure; the client does the waiting).

Binance counts request weight per IP per wall-clock minute and reports the running total
in ``X-MBX-USED-WEIGHT-1M`` on every answer. :class:`WeightTracker` keeps that total
(plus what we have sent since), and says how long to wait before a request of a given
weight can go out without crossing the limit: until the minute rolls over.
:func:`endpoint_weight` knows each endpoint's weight (protocol brief, sections 2-3).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from obcore.errors import InvalidInputError

__all__ = ["WeightTracker", "endpoint_weight", "depth_weight", "ticker_24hr_weight"]

_MINUTE_MS = 60_000

# Fixed weights by (method, path); the variable ones are computed below.
_FIXED_WEIGHTS: dict[tuple[str, str], int] = {
    ("GET", "/api/v3/ping"): 1,
    ("GET", "/api/v3/time"): 1,
    ("GET", "/api/v3/exchangeInfo"): 20,
    ("GET", "/api/v3/trades"): 25,
    ("GET", "/api/v3/aggTrades"): 4,
    ("GET", "/api/v3/klines"): 2,
    ("GET", "/api/v3/avgPrice"): 2,
    ("GET", "/api/v3/account"): 20,
    # 1 when sent; Binance refunds it to 0 on success, so 1 is the safe estimate.
    ("POST", "/api/v3/order"): 1,
    ("GET", "/api/v3/order"): 4,
    ("DELETE", "/api/v3/order"): 1,
    ("GET", "/api/v3/allOrders"): 20,
}


def depth_weight(limit: int) -> int:
    """Weight of ``GET /depth`` for a ``limit`` (1-100: 5, -500: 25, -1000: 50, -5000: 250)."""
    if limit <= 100:
        return 5
    if limit <= 500:
        return 25
    if limit <= 1000:
        return 50
    return 250


def ticker_24hr_weight(symbol: str | None, symbols: list[str] | None) -> int:
    """Weight of ``GET /ticker/24hr``: 2 for one symbol or up to 20, 40 to 100, else 80.

    Parameters
    ----------
    symbol : str or None
        The single symbol asked for, if any.
    symbols : list of str or None
        The symbols asked for, if any; both None means all symbols (weight 80).

    Returns
    -------
    int
        The request weight Binance will count.
    """
    if symbol is not None:
        return 2
    if symbols is None:
        return 80
    if len(symbols) <= 20:
        return 2
    if len(symbols) <= 100:
        return 40
    return 80


def endpoint_weight(method: str, path: str, params: dict[str, object] | None = None) -> int:
    """Weight of one request.

    Parameters
    ----------
    method : str
        HTTP method, upper case.
    path : str
        Path such as ``"/api/v3/depth"``.
    params : dict, optional
        The request parameters (the weight of some endpoints depends on them).

    Returns
    -------
    int
        The request weight Binance will count.

    Raises
    ------
    InvalidInputError
        For an endpoint this module does not know.
    """
    params = params or {}
    if path == "/api/v3/depth":
        return depth_weight(int(params.get("limit", 100)))  # type: ignore[call-overload]
    if path == "/api/v3/ticker/24hr":
        symbols = params.get("symbols")
        if isinstance(symbols, str):  # the JSON array text as sent
            symbols = json.loads(symbols)
        return ticker_24hr_weight(params.get("symbol"), symbols)  # type: ignore[arg-type]
    if path == "/api/v3/myTrades":
        return 5 if params.get("orderId") is not None else 20
    if path == "/api/v3/openOrders":
        return 6 if params.get("symbol") is not None else 80
    if path == "/api/v3/order/test":
        return 20 if params.get("computeCommissionRates") else 1
    try:
        return _FIXED_WEIGHTS[(method, path)]
    except KeyError:
        raise InvalidInputError(f"unknown endpoint {method} {path}: no known weight") from None


class WeightTracker:
    """The IP's used weight in the current minute, and when the next request may go out.

    Parameters
    ----------
    limit : int
        Weight allowed per minute (Binance: 6000).
    clock_ms : callable, optional
        Returns the current *server* time in ms (local time plus the measured offset);
        defaults to local wall-clock time.
    """

    def __init__(self, limit: int = 6000, clock_ms: Callable[[], float] | None = None):
        if limit < 1:
            raise InvalidInputError(f"weight limit must be >= 1, got {limit}")
        self.limit = limit
        self._clock_ms = clock_ms or (lambda: time.time() * 1000.0)
        self._minute = -1
        self._used = 0

    def _roll(self) -> int:
        minute = int(self._clock_ms() // _MINUTE_MS)
        if minute != self._minute:
            self._minute = minute
            self._used = 0
        return minute

    @property
    def used(self) -> int:
        """Weight used in the current minute (as far as we know)."""
        self._roll()
        return self._used

    def delay_for(self, weight: int) -> float:
        """Seconds to wait before a request of ``weight`` fits under the limit (0: send now)."""
        self._roll()
        if self._used + weight <= self.limit:
            return 0.0
        now = self._clock_ms()
        # A small margin past the boundary, for the server's and our clocks to agree.
        return ((self._minute + 1) * _MINUTE_MS - now) / 1000.0 + 0.05

    def reserve(self, weight: int) -> None:
        """Count a request that is being sent now."""
        self._roll()
        self._used += weight

    def observe(self, used_weight_header: str | None) -> None:
        """Take the server's ``X-MBX-USED-WEIGHT-1M`` value (authoritative, but never
        lowers our count within the minute: requests still in flight are not in it)."""
        if not used_weight_header:
            return
        try:
            value = int(used_weight_header)
        except ValueError:
            return
        self._roll()
        self._used = max(self._used, value)
