"""Replay of recorded Binance data into emulator markets.

A recording (hftbacktest or cryptofeed, read with ``obcore.recording``) becomes one
:class:`ReplayTrack` per recorded symbol: the starting book (the recording's REST
snapshot, or an empty book when there is none), then the depth diffs and trades in
receive-time order. Diffs with ``u <= lastUpdateId`` of the snapshot are dropped; the
bridge diff is applied whole (its levels are absolute quantities).

Update ids: each emitted diff consumes as many ids as the recorded one did since the
previous recorded ``u`` (``U' = previous u' + 1``, ``u' = U' + (u - previous u) - 1``), so
a first pass over a gap-free recording reproduces its ids exactly. **Looping keeps the
book**: at the end of the recording one extra diff turns the current book back into the
starting book, then the recording plays again with ids continuing upward. The stream
stays consistent for a client that never resyncs, across any number of loops.

Trades: times are rewritten to the emulator's clock, ids continue monotonically on loops.
A recording with ``@trade`` (with or without ``@aggTrade``) gets one aggTrade per trade with
``a = f = l = t``. A recording with ``@aggTrade`` only gets one ``@trade`` per aggTrade
(id = the aggTrade's ``l``, quantity = the aggregate's), and its aggTrade ``f``/``l`` are
rewritten to that trade id.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from obcore.emulator.market import AggTrade, Market, SymbolRules, format_number, split_symbol
from obcore.errors import InvalidInputError
from obcore.recording import merge_by_time

__all__ = ["ReplayTrack", "agg_trades_from_files", "load_tracks", "run_replay"]

Levels = tuple[tuple[Decimal, Decimal], ...]


@dataclass(slots=True)
class _Step:
    time_ns: int
    kind: str  # "depth" | "trade" | "agg"
    ids: int = 0
    bids: Levels = ()
    asks: Levels = ()
    price: Decimal = Decimal(0)
    qty: Decimal = Decimal(0)
    is_buyer_maker: bool = False
    trade_id: int = 0


@dataclass
class ReplayTrack:
    """Everything needed to replay one recorded symbol (shared by its aliases)."""

    symbol: str
    start_id: int
    start_bids: Levels
    start_asks: Levels
    steps: list[_Step] = field(default_factory=list)
    price_decimals: int = 0
    qty_decimals: int = 0

    def rules(self, served_as: str) -> SymbolRules:
        """Exchange-info rules for this data served under ``served_as``."""
        base, quote = split_symbol(served_as)
        return SymbolRules(
            symbol=served_as, base_asset=base, quote_asset=quote,
            tick_size=Decimal(1).scaleb(-self.price_decimals),
            step_size=Decimal(1).scaleb(-self.qty_decimals),
            min_notional=Decimal("5") if quote in ("USDT", "BUSD", "USDC", "FDUSD", "TUSD") else Decimal("0"),
        )


def _decimals(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _levels(rows: Iterable[list[str]]) -> Levels:
    return tuple((Decimal(p), Decimal(q)) for p, q in rows)


def _expand(paths: Iterable[str | Path]) -> list[Path]:
    out: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            out.extend(sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith(("README", "NOTICE"))))
        elif path.is_file():
            out.append(path)
        else:
            raise InvalidInputError(f"recording path {str(path)!r} does not exist")
    if not out:
        raise InvalidInputError(f"no recording files found in {[str(p) for p in paths]!r}")
    return out


_CACHE: dict[tuple[tuple[str, int, int], ...], dict[str, ReplayTrack]] = {}


def load_tracks(paths: Iterable[str | Path]) -> dict[str, ReplayTrack]:
    """Read recordings into one :class:`ReplayTrack` per symbol (cached per file set).

    Tracks are never mutated after loading, so emulators in one process share them.

    Parameters
    ----------
    paths : iterable of str or Path
        Files or directories (every file inside) in hftbacktest or cryptofeed format.

    Returns
    -------
    dict
        Upper-case symbol -> track. Symbols with no depth diffs are left out.
    """
    files = _expand(paths)
    key = tuple((str(f.resolve()), f.stat().st_mtime_ns, f.stat().st_size) for f in files)
    cached = _CACHE.get(key)
    if cached is not None:
        return cached
    tracks = _load(files)
    _CACHE[key] = tracks
    return tracks


def _load(files: list[Path]) -> dict[str, ReplayTrack]:
    snapshots: dict[str, dict] = {}
    raw: dict[str, list] = {}
    has_trade: set[str] = set()
    has_agg: set[str] = set()
    for message in merge_by_time(files):
        symbol = message.symbol
        if not symbol:
            continue
        if message.kind == "snapshot":
            # The first snapshot is the starting book; diffs before it (u <= its
            # lastUpdateId) are dropped below.
            snapshots.setdefault(symbol, message.payload)
            continue
        if message.kind in ("depth", "trade", "aggTrade"):
            raw.setdefault(symbol, []).append(message)
            if message.kind == "trade":
                has_trade.add(symbol)
            elif message.kind == "aggTrade":
                has_agg.add(symbol)
    tracks: dict[str, ReplayTrack] = {}
    for symbol, messages in raw.items():
        depth = [m for m in messages if m.kind == "depth"]
        if not depth:
            continue
        snap = snapshots.get(symbol)
        if snap is not None:
            start_id = int(snap["lastUpdateId"])
            bids, asks = _levels(snap["bids"]), _levels(snap["asks"])
        else:
            start_id = int(depth[0].payload["U"]) - 1
            bids, asks = (), ()
        track = ReplayTrack(symbol, start_id, bids, asks)
        price_dec = {_decimals(p) for p, _ in bids + asks}
        qty_dec = {_decimals(q) for _, q in bids + asks}
        previous_u = start_id
        use_trades = symbol in has_trade
        for message in messages:
            payload = message.payload
            if message.kind == "depth":
                last = int(payload["u"])
                if last <= previous_u:
                    continue
                step = _Step(message.receive_time_ns, "depth", ids=last - previous_u,
                             bids=_levels(payload["b"]), asks=_levels(payload["a"]))
                previous_u = last
                for p, q in step.bids + step.asks:
                    price_dec.add(_decimals(p))
                    qty_dec.add(_decimals(q))
                track.steps.append(step)
            elif message.kind == "trade" and use_trades:
                track.steps.append(_Step(message.receive_time_ns, "trade", price=Decimal(payload["p"]),
                                         qty=Decimal(payload["q"]), is_buyer_maker=bool(payload["m"]),
                                         trade_id=int(payload["t"])))
            elif message.kind == "aggTrade" and not use_trades:
                track.steps.append(_Step(message.receive_time_ns, "agg", price=Decimal(payload["p"]),
                                         qty=Decimal(payload["q"]), is_buyer_maker=bool(payload["m"]),
                                         trade_id=int(payload["l"])))
        track.price_decimals = min(8, max(price_dec, default=2))
        track.qty_decimals = min(8, max(qty_dec, default=4))
        track.has_agg_trades = symbol in has_agg  # type: ignore[attr-defined]
        tracks[symbol] = track
    return tracks


def _reset_changes(current: dict[Decimal, Decimal], start: Levels) -> list[tuple[Decimal, Decimal]]:
    target = dict(start)
    changes = [(p, Decimal(0)) for p in current if p not in target]
    changes += [(p, q) for p, q in target.items() if current.get(p) != q]
    return changes


async def run_replay(track: ReplayTrack, market: Market, *, speed: float, loop: bool,
                     gate: asyncio.Event | None = None) -> None:
    """Play ``track`` into ``market`` at ``speed`` × real time (forever when ``loop``).

    Parameters
    ----------
    track : ReplayTrack
        One symbol's recorded start book and steps.
    market : Market
        The emulated market to drive (its book is reloaded from the track's start).
    speed : float
        Multiple of real time (> 0).
    loop : bool
        Start over after the last step, keeping the book.
    gate : asyncio.Event, optional
        Playback waits while it is cleared (:meth:`Emulator.pause`).

    Raises
    ------
    InvalidInputError
        ``speed`` is not > 0.
    """
    if speed <= 0:
        raise InvalidInputError(f"speed must be > 0, got {speed!r}")
    event_loop = asyncio.get_running_loop()
    market.load_book(track.start_id, track.start_bids, track.start_asks)
    steps = track.steps
    if not steps:
        return
    first_ns = steps[0].time_ns
    while True:
        started = event_loop.time()
        index = 0
        count = len(steps)
        while index < count:
            if gate is not None and not gate.is_set():
                await gate.wait()
            now = event_loop.time()
            due_ns = first_ns + int((now - started) * speed * 1e9)
            if steps[index].time_ns > due_ns:
                wait = (steps[index].time_ns - due_ns) / 1e9 / speed
                await asyncio.sleep(min(wait, 0.5))
                continue
            # Apply what is due (at most 256 steps, so an overloaded replay still lets the
            # sockets run), then yield to the loop once.
            batch_end = min(count, index + 256)
            while index < batch_end and steps[index].time_ns <= due_ns:
                step = steps[index]
                index += 1
                if step.kind == "depth":
                    market.apply_changes(step.bids, step.asks, ids=step.ids)
                elif step.kind == "trade":
                    market.add_trade(step.price, step.qty, step.is_buyer_maker, trade_id=step.trade_id)
                else:
                    trade = market.add_trade(step.price, step.qty, step.is_buyer_maker,
                                             trade_id=step.trade_id, emit_agg=False)
                    market.add_agg_trade(trade.price_text, trade.qty_text, trade.id, trade.id,
                                         trade.time, trade.is_buyer_maker)
            await asyncio.sleep(0)
        if not loop:
            return
        market.apply_changes(_reset_changes(market.base_bids, track.start_bids),
                             _reset_changes(market.base_asks, track.start_asks), ids=1)


_VISION_NAME = re.compile(r"^([A-Z0-9]{2,20})-aggTrades")


def _spec(spec: str | Path) -> tuple[str | None, Path]:
    text = str(spec)
    symbol, sep, rest = text.partition("=")
    if sep and re.fullmatch(r"[A-Za-z0-9]{2,20}", symbol) and not Path(text).exists():
        return symbol.upper(), Path(rest)
    return None, Path(text)


def agg_trades_from_files(specs: Iterable[str | Path], default_symbol: str | None = None) -> dict[str, list[AggTrade]]:
    """Aggregate trades for ``/aggTrades`` from trade files (``--agg-trades``), by symbol.

    Formats are those of ``python -m obcore.analytics`` (Binance Vision aggTrades CSV,
    REST/ccxt JSON or JSON lines, our recordings). The symbol of a file comes from, in
    order: a ``SYMBOL=FILE`` spec, the recording's own messages, a Binance Vision name
    (``ETHUSDT-aggTrades-2024-08-09.csv``), or ``default_symbol``.

    Parameters
    ----------
    specs : iterable of str or Path
        ``FILE`` or ``SYMBOL=FILE``; a directory stands for the files inside it.
    default_symbol : str, optional
        For files that name no symbol (the emulator's only symbol, say).

    Returns
    -------
    dict of str to list of AggTrade
        Prices and quantities as Binance's 8-decimal strings; ``f``/``l`` from the file
        (the trade id itself when the file has none).

    Raises
    ------
    InvalidInputError
        A bad file (named with its line), or a file whose symbol cannot be told.
    """
    from obcore.analytics.tradefiles import read_trade_rows
    from obcore.analytics.trades import trades_from_rows

    out: dict[str, list[AggTrade]] = {}
    for spec in specs:
        given, path = _spec(spec)
        files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith((".", "README", "NOTICE"))) \
            if path.is_dir() else [path]
        for file in files:
            rows, seen = read_trade_rows(file, given)
            trades_from_rows(rows, str(file))  # validates every row exactly, naming its line
            for row in rows:
                symbol = given or row.get("_symbol")
                if symbol is None:
                    match = _VISION_NAME.match(file.name)
                    symbol = match.group(1) if match else (default_symbol.upper() if default_symbol else None)
                if symbol is None:
                    raise InvalidInputError(
                        f"{file}: the file names no symbol; pass it as SYMBOL={file} (or name the file "
                        "SYMBOL-aggTrades-....csv as Binance Vision does)")
                trade_id = int(row["a"])
                out.setdefault(symbol, []).append(AggTrade(
                    trade_id, format_number(Decimal(row["p"])), format_number(Decimal(row["q"])),
                    int(row.get("f", trade_id)), int(row.get("l", trade_id)), int(row["T"]), bool(row["m"])))
    return out
