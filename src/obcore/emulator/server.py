"""The :class:`Emulator`: markets + REST server (Starlette on Hypercorn) + WebSocket server.

Both servers bind the given host (127.0.0.1 by default) and may use port 0; the chosen
ports are in ``rest_url`` / ``ws_url`` after ``start()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

from obcore.emulator.faults import Faults
from obcore.emulator.feeds import ReplayTrack, load_tracks, run_replay
from obcore.emulator.limits import WeightLimiter
from obcore.emulator.market import Market, SymbolRules, set_clock_skew, split_symbol
from obcore.emulator.matching import Exchange
from obcore.emulator.ws import Hub, WebSocketServer
from obcore.errors import InvalidInputError

__all__ = ["SERVER_DEPENDENCIES", "Emulator", "require_server_dependencies"]

#: What the emulator's REST server imports, only when it starts (``obcore[emulator]``).
SERVER_DEPENDENCIES = ("starlette", "hypercorn")


def require_server_dependencies() -> None:
    """Check the emulator's server dependencies import; say which extra to install if not.

    ``import obcore`` and ``import obcore.emulator`` never import them: only starting an
    :class:`Emulator` does.

    Raises
    ------
    ImportError
        Naming the missing package and the ``obcore[emulator]`` extra that provides it.
    """
    import importlib

    for name in SERVER_DEPENDENCIES:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise ImportError(
                f"the obcore emulator needs {name!r} to serve, which is not installed: "
                "install the extra with  pip install 'obcore[emulator]'  (also part of [dev] and [mcp])"
            ) from exc


_PARTIAL_LEVELS = {"depth5": 5, "depth10": 10, "depth20": 20}


class Emulator:
    """A local Binance spot emulator over real sockets.

    Parameters
    ----------
    host : str
        Interface to bind (default 127.0.0.1).
    port, ws_port : int
        REST and WebSocket ports; 0 picks free ones.
    api_key, api_secret : str
        The one account's credentials for signed endpoints.
    speed : float
        Replay speed multiplier (10.0 = ten times real time).
    loop : bool
        Loop replays forever (the book is kept; see ``obcore.emulator.feeds``).
    balances : dict, optional
        Starting free balances, asset -> decimal string.
    ping_interval_s : float, optional
        WebSocket server ping interval (Binance: 20 s).
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, ws_port: int = 0, *,
                 api_key: str = "emulatorApiKey", api_secret: str = "emulatorApiSecret",
                 speed: float = 1.0, loop: bool = True, balances: dict[str, str] | None = None,
                 ping_interval_s: float | None = 20.0):
        if speed <= 0:
            raise InvalidInputError(f"speed must be > 0, got {speed!r}")
        self.host = host
        self.port = port
        self.ws_port = ws_port
        self.api_key = api_key
        self._api_secret = api_secret
        self.speed = float(speed)
        self.loop = loop
        self.hub = Hub()
        self.ws = WebSocketServer(self.hub)
        self.ws.ping_interval_s = ping_interval_s
        self.markets: dict[str, Market] = {}
        self.faults = Faults(self)
        self.limiter = WeightLimiter()
        self.exchange = Exchange(self, {k: Decimal(v) for k, v in (balances or {"USDT": "100000"}).items()})
        self._replays: list[tuple[ReplayTrack, Market]] = []
        self._scenarios: list[tuple[Any, Market]] = []
        self._tasks: list[asyncio.Task[Any]] = []
        self._rest_task: asyncio.Task[Any] | None = None
        self._rest_shutdown: asyncio.Event | None = None
        self._running = False
        self.rest_port = 0
        self.gate = asyncio.Event()
        self.gate.set()

    # ------------------------------------------------------------- properties
    @property
    def symbols(self) -> list[str]:
        """Emulated symbols, sorted."""
        return sorted(self.markets)

    @property
    def rest_url(self) -> str:
        """``http://host:port`` of the REST server (the port is known after ``start()``)."""
        return f"http://{self.host}:{self.rest_port}"

    @property
    def ws_url(self) -> str:
        """``ws://host:port`` of the WebSocket server (the port is known after ``start()``)."""
        return f"ws://{self.host}:{self.ws.port}"

    @property
    def max_connection_age_s(self) -> float:
        """Connections are closed after this age (Binance: 24 h)."""
        return self.ws.max_connection_age_s

    @max_connection_age_s.setter
    def max_connection_age_s(self, value: float) -> None:
        if value <= 0:
            raise InvalidInputError(f"max_connection_age_s must be > 0, got {value!r}")
        self.ws.max_connection_age_s = float(value)

    def check_secret(self, key: str) -> str | None:
        """The secret for ``key`` (never exposed otherwise), or None when the key is unknown."""
        return self._api_secret if key == self.api_key else None

    # ------------------------------------------------------------ markets
    def _publish(self, stream: str, payload: dict[str, Any]) -> None:
        if self.faults.active and payload.get("e") == "depthUpdate":
            for item in self.faults.filter_depth(stream, payload):
                self.hub.publish(stream, item)
            return
        self.hub.publish(stream, payload)

    def new_market(self, rules: SymbolRules) -> Market:
        """Create (or fail on a duplicate) the market of ``rules.symbol``."""
        if rules.symbol in self.markets:
            raise InvalidInputError(f"symbol {rules.symbol!r} is already emulated")
        market = Market(rules, self._publish, self.hub.wants)
        market.after_depth.append(self.exchange.on_depth)
        market.after_trade.append(self.exchange.on_trade)
        self.markets[rules.symbol] = market
        return market

    def market(self, symbol: str) -> Market:
        """The market of ``symbol`` (upper case), or InvalidInputError naming it."""
        try:
            return self.markets[symbol.upper()]
        except KeyError:
            raise InvalidInputError(f"unknown symbol {symbol!r}; emulated symbols: {self.symbols}") from None

    def add_replay(self, paths: Iterable[str | Path] | str | Path, symbols: Iterable[str] | None = None) -> list[str]:
        """Replay recordings (hftbacktest or cryptofeed files, or directories of them).

        Parameters
        ----------
        paths : path or iterable of paths
        symbols : iterable of str, optional
            Which symbols to serve. A recorded symbol is served under its own name; a
            name not in the recording is served as a copy of the recording's only symbol
            (so one ETHUSDT file can feed 20 symbols). None serves every recorded symbol.

        Returns
        -------
        list of str
            The symbols added.

        Raises
        ------
        InvalidInputError
            No depth data in the recordings, a symbol not recorded in a multi-symbol
            recording, or a symbol already emulated.
        """
        if isinstance(paths, (str, Path)):
            paths = [paths]
        tracks = load_tracks(paths)
        if not tracks:
            raise InvalidInputError(f"no depth data in recordings {[str(p) for p in paths]!r}")
        wanted = [s.upper() for s in symbols] if symbols is not None else sorted(tracks)
        added = []
        for name in wanted:
            track = tracks.get(name)
            if track is None:
                if len(tracks) != 1:
                    raise InvalidInputError(
                        f"symbol {name!r} is not in the recording (it has {sorted(tracks)}); "
                        "aliases are only possible for single-symbol recordings")
                track = next(iter(tracks.values()))
            market = self.new_market(track.rules(name))
            market.load_book(track.start_id, track.start_bids, track.start_asks)
            self._replays.append((track, market))
            if self._running:
                self._tasks.append(asyncio.create_task(self._run_replay(track, market)))
            added.append(name)
        return added

    def add_agg_trades(self, paths: Iterable[str | Path] | str | Path, symbol: str | None = None) -> dict[str, int]:
        """Serve trades from files on ``/aggTrades`` (back-fill tests; ``--agg-trades``).

        Parameters
        ----------
        paths : path or iterable of paths
            ``FILE`` or ``SYMBOL=FILE`` entries (formats of ``python -m obcore.analytics``).
        symbol : str, optional
            Symbol of files that name none; default the emulator's only symbol, if one.

        Returns
        -------
        dict of str to int
            Symbol -> aggregate trades now held from files. A symbol not emulated yet gets
            a market with rules from the trades' decimals (no book).

        Raises
        ------
        InvalidInputError
            A bad file, an unknown symbol for a file, or history not older than live trades.
        """
        from obcore.emulator.feeds import agg_trades_from_files

        if isinstance(paths, (str, Path)):
            paths = [paths]
        default = symbol or (self.symbols[0] if len(self.symbols) == 1 else None)
        loaded = {}
        for name, rows in agg_trades_from_files(paths, default).items():
            market = self.markets.get(name)
            if market is None:
                def places(text: str) -> int:
                    return len(text.rstrip("0").partition(".")[2])
                base, quote = split_symbol(name)
                market = self.new_market(SymbolRules(
                    symbol=name, base_asset=base, quote_asset=quote,
                    tick_size=Decimal(1).scaleb(-max(places(r.price_text) for r in rows)),
                    step_size=Decimal(1).scaleb(-max(places(r.qty_text) for r in rows))))
            try:
                loaded[name] = market.load_agg_history(rows)
            except ValueError as exc:
                raise InvalidInputError(str(exc)) from None
        return loaded

    def add_scenario(self, name: str, symbol: str, **params: Any) -> None:
        """Generate a synthetic market ``name`` for ``symbol`` (see ``obcore.emulator.scenarios``).

        Parameters
        ----------
        name : str
            One of ``calm``, ``quote_stuffing``, ``iceberg``, ``flash_crash``,
            ``liquidity_vacuum``.
        symbol : str
            Symbol to serve (upper-cased), e.g. ``"SIMUSDT"``.
        **params
            Scenario options: ``seed``, ``mid``, ``tick``, ``step`` (decimal strings),
            ``levels``, ``tick_ms`` and the scenario's own (e.g. ``updates_per_s``).

        Raises
        ------
        InvalidInputError
            Unknown scenario, a non-positive option, or a symbol already emulated.
        """
        from obcore.emulator.scenarios import make_scenario

        scenario = make_scenario(name, symbol.upper(), **params)
        market = self.new_market(scenario.rules)
        scenario.prime(market)
        self._scenarios.append((scenario, market))
        if self._running:
            self._tasks.append(asyncio.create_task(scenario.run(market, self.speed, self.gate)))

    async def _run_replay(self, track: ReplayTrack, market: Market) -> None:
        await run_replay(track, market, speed=self.speed, loop=self.loop, gate=self.gate)

    def pause(self) -> None:
        """Freeze every replay and scenario (nothing new is generated until ``resume``)."""
        self.gate.clear()

    def resume(self) -> None:
        """Continue feeds after ``pause`` (a replay catches up with its timeline in a burst)."""
        self.gate.set()

    def true_book(self, symbol: str) -> tuple[int, list[tuple[str, str]], list[tuple[str, str]]]:
        """``(last_update_id, bids, asks)`` of the emulated book, best first, 8-decimal strings.

        Parameters
        ----------
        symbol : str
            An emulated symbol (any case).

        Returns
        -------
        tuple of (int, list of (str, str), list of (str, str))
            The book the emulator itself holds, to check a client's book against.

        Raises
        ------
        InvalidInputError
            The symbol is not emulated.
        """
        return self.market(symbol).true_book()

    # ------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Bind both servers and start the feeds.

        Raises
        ------
        ImportError
            The server dependencies (the ``obcore[emulator]`` extra) are not installed.
        """
        if self._running:
            return
        require_server_dependencies()
        await self.ws.start(self.host, self.ws_port)
        await self._start_rest()
        self._running = True
        for track, market in self._replays:
            self._tasks.append(asyncio.create_task(self._run_replay(track, market)))
        for scenario, market in self._scenarios:
            self._tasks.append(asyncio.create_task(scenario.run(market, self.speed, self.gate)))
        self._tasks.append(asyncio.create_task(self._tick_depth_1000ms()))
        self._tasks.append(asyncio.create_task(self._tick_partial_depth()))

    async def _start_rest(self) -> None:
        from hypercorn.asyncio import serve
        from hypercorn.config import Config

        from obcore.emulator.app import build_app

        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        sock.listen(512)
        self.rest_port = sock.getsockname()[1]
        config = Config()
        # Hypercorn owns the fd from here on (it wraps it in its own socket object).
        config.bind = [f"fd://{sock.detach()}"]
        config.accesslog = None
        config.errorlog = None
        config.graceful_timeout = 1.0
        config.keep_alive_timeout = 30.0
        self._rest_shutdown = asyncio.Event()
        self._rest_task = asyncio.create_task(
            serve(build_app(self), config, shutdown_trigger=self._rest_shutdown.wait, mode="asgi"))
        await asyncio.sleep(0)

    async def stop(self) -> None:
        """Stop feeds and both servers; reset the injected clock skew."""
        if not self._running:
            return
        self._running = False
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        await self.ws.stop()
        if self._rest_shutdown is not None and self._rest_task is not None:
            self._rest_shutdown.set()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._rest_task, 5.0)
        set_clock_skew(0)

    async def __aenter__(self) -> Emulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ------------------------------------------------------------ timers
    async def _tick_depth_1000ms(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            for market in self.markets.values():
                market.flush_depth_1000ms()

    async def _tick_partial_depth(self) -> None:
        # @depthN (1000 ms) and @depthN@100ms: top-N snapshots; sent only when subscribed.
        tick = 0
        while True:
            await asyncio.sleep(0.1)
            tick += 1
            for stream in list(self.hub.subscribers):
                symbol, _, rest = stream.partition("@")
                channel, _, speed = rest.partition("@")
                levels = _PARTIAL_LEVELS.get(channel)
                if levels is None:
                    continue
                if speed != "100ms" and tick % 10:
                    continue
                market = self.markets.get(symbol.upper())
                if market is not None:
                    self.hub.publish(stream, market.partial_depth(levels))
