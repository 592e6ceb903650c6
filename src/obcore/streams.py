"""Live books for many symbols: WebSocket streams in, ``BookSession`` per symbol out.

:class:`StreamManager` is the asyncio shell around the sans-I/O :class:`BookSession`.
``await manager.track("ETHUSDT")`` subscribes ``ethusdt@depth@100ms`` and
``ethusdt@aggTrade`` on a shared combined-stream connection (see
:mod:`obcore.stream_connection`) and returns the symbol's session; frames are routed to it
by the stream name cut from the frame's prefix, without a JSON parse. Whenever the session
asks for a snapshot (first sync, or a gap it detected) the manager fetches
``/depth?limit=5000`` through the REST client (which accounts for its weight) and hands it
over. A housekeeping loop marks books STALE when no diff came for ``stale_after_ms``.

Typical use::

    async with BinanceClient(network="mainnet") as rest, StreamManager(rest) as manager:
        session = await manager.track("ETHUSDT")
        await manager.wait_live("ETHUSDT", timeout=10)
        print(session.book.best_bid(), manager.health())
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from typing import Any

from obcore.client import BinanceClient
from obcore.errors import (
    BinanceError,
    BookNotReadyError,
    InvalidInputError,
    InvalidSymbolError,
    RateLimitError,
    SymbolLimitError,
    TransportError,
)
from obcore.numbers import MAX_SCALE, decimal_places
from obcore.session import STALE_AFTER_MS, BookSession, SyncState, frame_second
from obcore.stream_connection import StreamConnection, backoff_delay
from obcore.validation import check_symbol

__all__ = ["WS_URLS", "StreamManager", "Tap"]

log = logging.getLogger(__name__)

WS_URLS = {
    "mainnet": "wss://stream.binance.com:9443",
    "data": "wss://data-stream.binance.vision",
    "testnet": "wss://stream.testnet.binance.vision",
    "demo": "wss://demo-stream.binance.com",
}

#: ``tap(receive_time_ns, symbol, message)``: each frame delivered to a session (raw bytes
#: of the combined envelope) and each snapshot handed over (the parsed dict), in feeding order.
Tap = Callable[[int, str, "bytes | dict[str, Any]"], None]
#: ``on_second_closed(session, closed_second, next_second)``: see :class:`StreamManager`.
SecondClosed = Callable[[BookSession, int, int], None]


class _Tracked:
    """A tracked symbol: its session, streams, connection and counters."""

    __slots__ = (
        "symbol", "session", "streams", "depth_stream", "connection", "last_message",
        "snapshot_task", "snapshots", "snapshot_errors", "frame_errors", "last_error",
    )

    def __init__(self, symbol: str, session: BookSession, streams: list[str], connection: StreamConnection):
        self.symbol = symbol
        self.session = session
        self.streams = streams
        self.depth_stream = streams[0].encode()
        self.connection = connection
        self.last_message = 0.0
        self.snapshot_task: asyncio.Task[None] | None = None
        self.snapshots = 0
        self.snapshot_errors = 0
        self.frame_errors = 0
        self.last_error: str | None = None


class StreamManager:
    """Keeps exact live books for up to ``max_symbols`` symbols.

    Parameters
    ----------
    rest_client : BinanceClient
        Used for the ``/depth?limit=5000`` snapshots (its weight accounting applies).
    ws_url : str, optional
        Stream base URL; defaults to the REST client's network (``wss://stream.binance.com:9443``
        for mainnet). For the emulator pass ``emu.ws_url``.
    max_symbols : int
        Tracking one more raises :class:`SymbolLimitError`.
    streams_per_connection : int
        Streams per WebSocket connection (Binance allows 1024).
    depth_stream, trade_stream : str
        Stream suffixes per symbol.
    watchdog_seconds : float
        A connection silent this long is reconnected.
    backoff_base, backoff_max : float
        Reconnect backoff ``base, 2·base, 4·base … max`` seconds, with jitter.
    max_connection_age : float
        Rotate a connection (overlapping, without a gap) after this many seconds.
    stale_after_ms : int
        A LIVE book with no diff for this long is marked STALE (default
        ``obcore.session.STALE_AFTER_MS``).
    subscribe_timeout : float
        How long :meth:`track` waits for the subscription to be confirmed.
    snapshot_limit : int
        ``limit`` of the REST snapshot.
    tap : callable, optional
        ``tap(receive_time_ns, symbol, message)`` sees every frame and snapshot fed to a session
        (the recorder uses it).
    on_second_closed : callable, optional
        ``on_second_closed(session, closed_second, next_second)``, called just before the
        first depth frame of a later exchange second is applied to a session whose last
        applied depth event is of ``closed_second``: the book then is the book at the end
        of ``closed_second`` (and of each empty second up to ``next_second - 1``) — when
        the session is synced. The snapshot capture uses it (with
        :meth:`capture_targets`); settable later as the attribute of the same name.
    connection_options : dict, optional
        Extra keyword arguments for :class:`StreamConnection` (control_interval,
        handover_timeout, ping_interval, ...).
    """

    def __init__(
        self,
        rest_client: BinanceClient,
        *,
        ws_url: str | None = None,
        max_symbols: int = 20,
        streams_per_connection: int = 200,
        depth_stream: str = "depth@100ms",
        trade_stream: str | None = "aggTrade",
        watchdog_seconds: float = 10.0,
        backoff_base: float = 1.0,
        backoff_max: float = 60.0,
        max_connection_age: float = 23.5 * 3600,
        stale_after_ms: int = STALE_AFTER_MS,
        subscribe_timeout: float = 10.0,
        snapshot_limit: int = 5000,
        tap: Tap | None = None,
        on_second_closed: SecondClosed | None = None,
        connection_options: dict[str, Any] | None = None,
        seed: int | None = None,
    ):
        if max_symbols < 1:
            raise InvalidInputError(f"max_symbols must be >= 1, got {max_symbols}")
        if not 2 <= streams_per_connection <= 1024:
            raise InvalidInputError(f"streams_per_connection must be 2-1024, got {streams_per_connection}")
        self.rest = rest_client
        self.ws_url = ws_url or WS_URLS.get(rest_client.network, WS_URLS["mainnet"])
        self.max_symbols = max_symbols
        self.streams_per_connection = streams_per_connection
        self.depth_stream = depth_stream
        self.trade_stream = trade_stream
        self.stale_after_ms = stale_after_ms
        self.subscribe_timeout = subscribe_timeout
        self.snapshot_limit = snapshot_limit
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self._tap = tap
        self.on_second_closed = on_second_closed
        self._frame_seconds: dict[StreamConnection, int] = {}  # newest frame second per connection
        self._connection_kwargs = dict(
            watchdog_seconds=watchdog_seconds,
            backoff_base=backoff_base,
            backoff_max=backoff_max,
            max_connection_age=max_connection_age,
            **(connection_options or {}),
        )
        self._rng = random.Random(seed)
        self._tracked: dict[str, _Tracked] = {}
        self._routes: dict[bytes, _Tracked] = {}
        self._connections: list[StreamConnection] = []
        self._housekeeping: asyncio.Task[None] | None = None
        self._closed = False
        self._live_changed = asyncio.Event()

    # -- lifecycle -------------------------------------------------------------------

    async def __aenter__(self) -> StreamManager:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Stop every connection and pending snapshot fetch. The REST client stays open."""
        self._closed = True
        tasks = [t.snapshot_task for t in self._tracked.values() if t.snapshot_task]
        if self._housekeeping is not None:
            tasks.append(self._housekeeping)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await asyncio.gather(*(c.close() for c in self._connections), return_exceptions=True)
        self._connections.clear()

    # -- tracking --------------------------------------------------------------------

    @property
    def symbols(self) -> list[str]:
        """The tracked symbols, in the order they were added."""
        return list(self._tracked)

    def is_connected(self, symbol: str) -> bool:
        """True while the connection carrying ``symbol``'s streams is open.

        A book whose stream is down may still be exact, but nothing proves it until the
        next event bridges (or a gap forces a resync): callers should not call it fresh.
        """
        entry = self._tracked.get(symbol)
        return entry is not None and entry.connection.connected

    def session(self, symbol: str) -> BookSession | None:
        """The session of a tracked symbol, or None."""
        entry = self._tracked.get(symbol)
        return entry.session if entry else None

    def streams_for(self, symbol: str) -> list[str]:
        """Stream names used for ``symbol`` (e.g. ``ethusdt@depth@100ms``, ``ethusdt@aggTrade``)."""
        lower = symbol.lower()
        names = [f"{lower}@{self.depth_stream}"]
        if self.trade_stream:
            names.append(f"{lower}@{self.trade_stream}")
        return names

    async def track(self, symbol: str) -> BookSession:
        """Start keeping ``symbol``'s book (idempotent) and return its session.

        The first call returns once the streams are subscribed; the book becomes LIVE
        shortly after (see :meth:`wait_live`). Later calls return at once, even while a
        reconnect is in progress (the session's state and :meth:`is_connected` say how
        fresh it is).

        Raises
        ------
        InvalidInputError
            For a malformed symbol.
        SymbolLimitError
            When ``max_symbols`` symbols are already tracked.
        TransportError
            When the subscription was not confirmed within ``subscribe_timeout`` (the
            symbol stays tracked and is subscribed as soon as the connection allows).
        """
        if self._closed:
            raise InvalidInputError("the stream manager is closed")
        check_symbol(symbol)
        entry = self._tracked.get(symbol)
        if entry is not None and (entry.session.events_applied > 0 or entry.connection.is_subscribed(entry.streams)):
            # Already flowing (or was): readers get the session and its state at once; a
            # reconnect in progress must not hold them up.
            return entry.session
        if entry is None:
            self._check_room(symbol)
            # Ask the exchange first: an unknown symbol fails here (-1121, InvalidSymbolError)
            # instead of sitting in SYNCING forever, and the filters give the exact scales.
            price_scale, qty_scale = await self._symbol_scales(symbol)
            entry = self._tracked.get(symbol)  # another caller may have tracked it meanwhile
        if entry is None:
            self._check_room(symbol)  # again: other symbols may have been added meanwhile
            streams = self.streams_for(symbol)
            connection = self._connection_with_room(len(streams))
            session = BookSession(symbol, price_scale=price_scale, qty_scale=qty_scale)
            entry = _Tracked(symbol, session, streams, connection)
            self._tracked[symbol] = entry
            for name in streams:
                self._routes[name.encode()] = entry
            connection.add_streams(streams)
            self._ensure_housekeeping()
        try:
            ok = await entry.connection.wait_subscribed(entry.streams, self.subscribe_timeout)
        except ValueError as exc:
            await self.untrack(symbol)
            raise InvalidInputError(f"cannot track {symbol}: {exc}") from None
        if not ok:
            detail = entry.connection.last_error or "no confirmation"
            raise TransportError(
                f"streams for {symbol} not subscribed within {self.subscribe_timeout} s ({detail}); "
                f"still tracked, will subscribe when the connection is back"
            )
        return entry.session

    def _check_room(self, symbol: str) -> None:
        if len(self._tracked) >= self.max_symbols:
            raise SymbolLimitError(
                f"cannot track {symbol}: already tracking {len(self._tracked)} symbols "
                f"({', '.join(self._tracked)}), the limit is max_symbols={self.max_symbols}"
            )

    async def _symbol_scales(self, symbol: str) -> tuple[int | None, int | None]:
        """Decimals of the symbol's tickSize and stepSize (None where a filter is absent).

        Raises InvalidSymbolError for a symbol the exchange does not list. Any other
        failure (rate limit, network) is not a verdict on the symbol: the scales are then
        inferred from the snapshot, and the snapshot fetch deals with the limit.
        """
        try:
            info = await self.rest.exchange_info(symbol=symbol)
        except InvalidSymbolError:
            raise  # the client's message names the symbol
        except (BinanceError, TransportError) as exc:
            log.warning("exchangeInfo for %s failed (%s); scales will come from the snapshot", symbol, exc)
            return None, None
        listed = [entry for entry in info.get("symbols", []) if entry.get("symbol") == symbol]
        if not listed:
            raise InvalidSymbolError(-1121, f"Invalid symbol. ({symbol} is not listed by exchangeInfo)", 400)
        filters = {f.get("filterType"): f for f in listed[0].get("filters", [])}
        tick = filters.get("PRICE_FILTER", {}).get("tickSize")
        step = filters.get("LOT_SIZE", {}).get("stepSize")
        price_scale = decimal_places(tick) if tick and decimal_places(tick) <= MAX_SCALE else None
        qty_scale = decimal_places(step) if step and decimal_places(step) <= MAX_SCALE else None
        return price_scale, qty_scale

    async def untrack(self, symbol: str) -> None:
        """Stop keeping ``symbol``'s book and unsubscribe its streams (no-op if untracked)."""
        entry = self._tracked.pop(symbol, None)
        if entry is None:
            return
        for name in entry.streams:
            self._routes.pop(name.encode(), None)
        entry.connection.remove_streams(entry.streams)
        if entry.snapshot_task is not None:
            entry.snapshot_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await entry.snapshot_task

    async def wait_live(self, symbol: str, timeout: float) -> BookSession:
        """Wait until ``symbol``'s book is LIVE.

        Parameters
        ----------
        symbol : str
            A tracked symbol, e.g. ``"ETHUSDT"``.
        timeout : float
            Seconds to wait at most.

        Returns
        -------
        BookSession
            The symbol's session, in state LIVE.

        Raises
        ------
        InvalidInputError
            If the symbol is not tracked.
        BookNotReadyError
            If the book is not LIVE within ``timeout`` seconds (the message says why).
        """
        deadline = time.monotonic() + timeout
        while True:
            entry = self._tracked.get(symbol)
            if entry is None:
                raise InvalidInputError(f"{symbol} is not tracked: call track({symbol!r}) first")
            if entry.session.state is SyncState.LIVE:
                return entry.session
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BookNotReadyError(
                    f"{symbol} book not live after {timeout} s: state {entry.session.state.value}, "
                    f"{entry.session.reason}"
                )
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._live_changed.wait(), min(remaining, 0.05))

    def _connection_with_room(self, needed: int) -> StreamConnection:
        for connection in self._connections:
            if len(connection.desired) + needed <= self.streams_per_connection:
                return connection
        connection = StreamConnection(
            len(self._connections),
            self.ws_url,
            self._deliver,
            rng=random.Random(self._rng.random()),
            **self._connection_kwargs,
        )
        self._connections.append(connection)
        connection.start()
        return connection

    # -- frames and snapshots --------------------------------------------------------

    def _deliver(self, name: bytes, raw: bytes, receive_time_ns: int) -> None:
        entry = self._routes.get(name)
        if entry is None:
            return  # a stream being unsubscribed
        entry.last_message = time.monotonic()
        session = entry.session
        was_live = session.state is SyncState.LIVE
        if self._tap is not None:
            self._tap(receive_time_ns, entry.symbol, raw)
        if self.on_second_closed is not None:
            self._before_frame(entry, name, raw)
        try:
            session.receive_frame(raw)
        except Exception as exc:  # one bad frame must not stop the connection
            entry.frame_errors += 1
            entry.last_error = f"frame rejected: {exc}"
            log.warning("%s: %s", entry.symbol, entry.last_error)
            return
        if (session.state is SyncState.LIVE) != was_live:
            self._signal_live()
        if name == entry.depth_stream and entry.snapshot_task is None and session.needs_snapshot:
            entry.snapshot_task = asyncio.create_task(self._fetch_snapshot(entry))

    def _before_frame(self, entry: _Tracked, name: bytes, raw: bytes) -> None:
        """Advance the connection's exchange clock; close the session's second on the
        first depth frame of a later one (before it is applied)."""
        second = frame_second(raw)
        if second is None:
            return
        connection = entry.connection
        if second > self._frame_seconds.get(connection, -1):
            self._frame_seconds[connection] = second
        closed = entry.session.last_event_time_ms // 1000
        if name == entry.depth_stream and 0 < closed < second:
            try:
                self.on_second_closed(entry.session, closed, second)  # type: ignore[misc]
            except Exception:  # a consumer's bug must not stop the book
                log.exception("%s: on_second_closed failed", entry.symbol)

    def capture_targets(self) -> list[tuple[BookSession, int]]:
        """Each tracked session with the newest exchange second of any frame delivered on
        its connection (-1 if none; counted while ``on_second_closed`` is set)."""
        return [
            (entry.session, self._frame_seconds.get(entry.connection, -1)) for entry in list(self._tracked.values())
        ]

    def _signal_live(self) -> None:
        event, self._live_changed = self._live_changed, asyncio.Event()
        event.set()

    async def _fetch_snapshot(self, entry: _Tracked) -> None:
        session = entry.session
        failures = 0
        try:
            while session.needs_snapshot and self._tracked.get(entry.symbol) is entry:
                try:
                    snapshot = await self.rest.depth(entry.symbol, limit=self.snapshot_limit)
                except RateLimitError as exc:  # includes a ban: wait as told, never hammer
                    entry.snapshot_errors += 1
                    entry.last_error = f"snapshot: {exc}"
                    await asyncio.sleep(exc.retry_after if exc.retry_after is not None else 60.0)
                    continue
                except InvalidSymbolError as exc:  # retrying cannot help
                    entry.snapshot_errors += 1
                    entry.last_error = f"snapshot: {exc}"
                    log.warning("%s: %s; not retrying", entry.symbol, entry.last_error)
                    return
                except (TransportError, BinanceError) as exc:
                    failures += 1
                    entry.snapshot_errors += 1
                    entry.last_error = f"snapshot: {exc}"
                    await asyncio.sleep(backoff_delay(failures, self.backoff_base, self.backoff_max, self._rng))
                    continue
                if self._tracked.get(entry.symbol) is not entry:
                    return
                if self._tap is not None:
                    self._tap(time.time_ns(), entry.symbol, snapshot)
                entry.snapshots += 1
                was_live = session.state is SyncState.LIVE
                try:
                    session.receive_snapshot(snapshot)
                except Exception as exc:  # a malformed answer: report it, try again later
                    failures += 1
                    entry.snapshot_errors += 1
                    entry.last_error = f"snapshot rejected: {type(exc).__name__}: {exc}"
                    log.warning("%s: %s", entry.symbol, entry.last_error)
                    await asyncio.sleep(backoff_delay(failures, self.backoff_base, self.backoff_max, self._rng))
                    continue
                if (session.state is SyncState.LIVE) != was_live:
                    self._signal_live()
                if session.needs_snapshot:
                    # Too old for the buffered diffs (Binance's step 3): let the stream
                    # move on a little before asking again.
                    failures += 1
                    await asyncio.sleep(min(1.0, 0.1 * failures))
        finally:
            if entry.snapshot_task is asyncio.current_task():
                entry.snapshot_task = None

    # -- housekeeping ----------------------------------------------------------------

    def _ensure_housekeeping(self) -> None:
        if self._housekeeping is None or self._housekeeping.done():
            self._housekeeping = asyncio.create_task(self._housekeep())

    async def _housekeep(self) -> None:
        while not self._closed:
            await asyncio.sleep(0.5)
            now_ms = int(time.time() * 1000 + self.rest.clock_offset_ms)
            for entry in list(self._tracked.values()):
                session = entry.session
                if session.state is SyncState.LIVE:
                    if session.mark_stale(now_ms, self.stale_after_ms):
                        self._signal_live()
                # A session can want a snapshot without a new depth frame arriving
                # (e.g. a fetch failed and the stream then went quiet).
                if entry.snapshot_task is None and session.needs_snapshot:
                    entry.snapshot_task = asyncio.create_task(self._fetch_snapshot(entry))

    # -- health ----------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """Per symbol and per connection health, as plain data.

        Returns
        -------
        dict
            ``{"symbols": {symbol: {...}}, "connections": [{...}], "max_symbols": int}``;
            a symbol reports state, last_update_id, gap/resync counts, last message age,
            snapshots fetched and whether its connection is up; a connection reports
            connected, streams, reconnects, rotations, last message age and backoff.
        """
        now = time.monotonic()
        symbols = {}
        for symbol, entry in self._tracked.items():
            session = entry.session
            symbols[symbol] = {
                "state": session.state.value,
                "reason": session.reason,
                "last_update_id": session.last_update_id,
                "gap_count": session.gap_count,
                "resync_count": session.resync_count,
                "events_applied": session.events_applied,
                "last_message_age_s": None if not entry.last_message else now - entry.last_message,
                "snapshots": entry.snapshots,
                "snapshot_errors": entry.snapshot_errors,
                "frame_errors": entry.frame_errors,
                "last_error": entry.last_error,
                "connection": entry.connection.index,
                "connected": entry.connection.connected,
            }
        return {
            "symbols": symbols,
            "connections": [c.health() for c in self._connections],
            "max_symbols": self.max_symbols,
        }
