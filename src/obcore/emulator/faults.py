"""Fault injection for the emulator (``emu.faults``).

Stream faults act on the next depth event per symbol (on ``@depth@100ms`` and ``@depth``
separately, and only on a stream someone listens to): ``gap`` drops it, ``duplicate``
sends it twice, ``out_of_order`` holds it back and sends it after the following one.
Connection faults act on every WebSocket connection; REST faults on the next requests.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from obcore.emulator.market import server_time_ms, set_clock_skew
from obcore.errors import InvalidInputError

if TYPE_CHECKING:  # pragma: no cover
    from obcore.emulator.server import Emulator

__all__ = ["Faults"]

_DEPTH_SUFFIXES = ("@depth@100ms", "@depth")


class Faults:
    """Fault switches of one :class:`~obcore.emulator.Emulator`.

    Parameters
    ----------
    emulator : Emulator
        The emulator whose streams, sockets and REST answers the faults act on.
    """

    def __init__(self, emulator: Emulator):
        self._emulator = emulator
        self._pending: dict[str, list[str]] = {}
        self._held: dict[str, dict[str, Any]] = {}
        self.n_429 = 0
        self.n_418 = 0
        self.retry_after_s = 1
        self.n_order_5xx = 0
        self.shutdown_close_after_s = 0.5

    # ------------------------------------------------------------ stream faults
    def _arm(self, symbol: str, fault: str) -> None:
        upper = symbol.upper()
        if upper not in self._emulator.markets:
            raise InvalidInputError(f"unknown symbol {symbol!r}; emulated symbols: {self._emulator.symbols}")
        for suffix in _DEPTH_SUFFIXES:
            self._pending.setdefault(upper.lower() + suffix, []).append(fault)

    def gap(self, symbol: str) -> None:
        """Drop the next depth event of ``symbol`` (the client sees ``U > previous u + 1``).

        Raises
        ------
        InvalidInputError
            The symbol is not emulated (also for :meth:`duplicate` and :meth:`out_of_order`).
        """
        self._arm(symbol, "gap")

    def duplicate(self, symbol: str) -> None:
        """Send the next depth event of ``symbol`` twice."""
        self._arm(symbol, "duplicate")

    def out_of_order(self, symbol: str) -> None:
        """Swap the next two depth events of ``symbol``."""
        self._arm(symbol, "out_of_order")

    @property
    def active(self) -> bool:
        """True while a depth fault is armed or an event is held back."""
        return bool(self._pending) or bool(self._held)

    def filter_depth(self, stream: str, payload: dict[str, Any]) -> list[dict[str, Any]]:
        """Payloads to publish now for one depth event on ``stream`` (faults applied).

        Parameters
        ----------
        stream : str
            Depth stream name, e.g. ``"ethusdt@depth@100ms"``.
        payload : dict
            The ``depthUpdate`` event about to be published.

        Returns
        -------
        list of dict
            Nothing (gap, or held for out-of-order), the event twice (duplicate), or the
            event followed by one held back earlier. A fault waits, armed, while no one
            subscribes to ``stream``.
        """
        if not self._emulator.hub.wants(stream):
            return [payload]
        held = self._held.pop(stream, None)
        queue = self._pending.get(stream)
        fault = queue.pop(0) if queue else None
        if queue is not None and not queue:
            del self._pending[stream]
        if fault == "gap":
            out: list[dict[str, Any]] = []
        elif fault == "duplicate":
            out = [payload, payload]
        elif fault == "out_of_order":
            self._held[stream] = payload
            out = []
        else:
            out = [payload]
        if held is not None:
            out.append(held)
        return out

    # ------------------------------------------------------- connection faults
    def disconnect_all(self) -> int:
        """Drop every WebSocket connection now (TCP abort). Returns how many."""
        return self._emulator.ws.disconnect_all()

    def stall(self, seconds: float) -> None:
        """Keep sockets open but send no data frames for ``seconds`` (data is dropped)."""
        if seconds < 0:
            raise InvalidInputError(f"stall seconds must be >= 0, got {seconds!r}")
        self._emulator.hub.stalled_until = time.monotonic() + seconds

    def server_shutdown(self) -> int:
        """Send ``{"e":"serverShutdown","E":..}`` on every connection, close them soon after."""
        return self._emulator.ws.server_shutdown(server_time_ms(), self.shutdown_close_after_s)

    # ------------------------------------------------------------- REST faults
    def rate_limit(self, n_429: int = 1, then_418: int | bool = 0, retry_after: int = 1) -> None:
        """Answer the next ``n_429`` REST requests with 429, then ``then_418`` with 418.

        Both carry ``Retry-After: retry_after`` and the -1003 body.

        Parameters
        ----------
        n_429 : int
            Requests answered 429.
        then_418 : int or bool
            Requests answered 418 (IP ban) after those; True means one.
        retry_after : int
            ``Retry-After`` header value, in seconds.

        Raises
        ------
        InvalidInputError
            A negative count or ``retry_after``.
        """
        if n_429 < 0 or int(then_418) < 0 or retry_after < 0:
            raise InvalidInputError(
                f"rate_limit needs counts >= 0, got n_429={n_429!r} then_418={then_418!r} retry_after={retry_after!r}")
        self.n_429 = int(n_429)
        self.n_418 = int(then_418)
        self.retry_after_s = int(retry_after)

    def clock_skew(self, ms: int) -> None:
        """Offset the server clock by ``ms`` (affects /time, event times and -1021 checks)."""
        set_clock_skew(int(ms))

    def order_5xx(self, n: int) -> None:
        """The next ``n`` order POSTs answer HTTP 503 but still execute."""
        if n < 0:
            raise InvalidInputError(f"order_5xx count must be >= 0, got {n!r}")
        self.n_order_5xx = int(n)
