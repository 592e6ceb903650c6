"""Record live streams to a replayable file: ``python -m obcore.record --symbols A,B --out F.gz``.

Runs a :class:`~obcore.streams.StreamManager` for the symbols and writes every frame it
feeds to a session (combined-stream envelopes, exactly as received) and every REST
snapshot it hands over (bare ``{"lastUpdateId",..,"symbol":"ETHUSDT"}``: Binance's answer
plus the symbol, which a multi-symbol file needs), in feeding order, as
``<receive_time_ns> <json>`` lines through :class:`~obcore.recording.RecordingWriter`.
Replaying the file (``python -m obcore.replay F.gz``) therefore rebuilds the same books.

Defaults to Binance mainnet's public endpoints (no key needed); ``--ws-url`` and
``--rest-url`` point it at the emulator.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
import time
from pathlib import Path
from typing import Any

from obcore.client import BinanceClient
from obcore.errors import BinanceError, InvalidInputError, InvalidSymbolError, ObcoreError, TransportError
from obcore.recording import RecordingWriter
from obcore.streams import StreamManager
from obcore.validation import check_symbol

__all__ = ["main", "record"]


class _Sink:
    """Writes tapped messages with non-decreasing receive times (a rotation hands over
    buffered frames a little after newer ones were stamped; replay orders by time)."""

    def __init__(self, writer: RecordingWriter):
        self.writer = writer
        self.last_ns = 0
        self.closed = False

    def __call__(self, receive_time_ns: int, symbol: str, message: bytes | dict[str, Any]) -> None:
        if self.closed:
            return
        self.last_ns = max(self.last_ns, receive_time_ns)
        if isinstance(message, dict):
            # A bare snapshot names no symbol; in a multi-symbol file the reader needs it.
            message = {**message, "symbol": symbol}
        self.writer.write(self.last_ns, message)


async def _unknown_symbols(rest: BinanceClient, symbols: list[str]) -> dict[str, str]:
    """``{symbol: reason}`` for symbols the exchange does not list (-1121).

    Why ask: Binance accepts a subscription to any stream name and simply sends nothing, and
    the book fetches its snapshot only after the first diff, so an unknown symbol would
    otherwise sit in "syncing" forever without an error. One ``depth?limit=1`` (weight 5)
    per symbol tells; other failures are left to the stream manager's retries.
    """
    unknown: dict[str, str] = {}
    for symbol in symbols:
        try:
            await rest.depth(symbol, limit=1)
        except InvalidSymbolError as exc:
            unknown[symbol] = f"{symbol} is not a symbol of this exchange ({exc})"
        except (TransportError, BinanceError):
            pass
    return unknown


async def record(
    symbols: list[str],
    out: str | Path,
    *,
    seconds: float | None = None,
    ws_url: str | None = None,
    rest_url: str | None = None,
    stop: asyncio.Event | None = None,
    manager_options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Record ``symbols`` into ``out`` until ``seconds`` pass or ``stop`` is set.

    Parameters
    ----------
    symbols : list of str
        Upper-case symbols, e.g. ``["ETHUSDT", "BTCUSDT"]``.
    out : str or Path
        Output file; gzip when it ends in ``.gz``.
    seconds : float, optional
        Recording length; forever (until ``stop``) when None.
    ws_url, rest_url : str, optional
        Stream and REST base URLs (the emulator's); Binance mainnet by default.
    stop : asyncio.Event, optional
        Set it to end the recording.
    manager_options : dict, optional
        Extra keyword arguments for :class:`StreamManager`.

    Returns
    -------
    dict
        ``{"lines": int, "health": manager.health(), "books": {symbol: (last_update_id,
        bids, asks)}}`` where bids/asks are ``(price_int, qty_int)`` lists best first, plus
        ``"scales": {symbol: (price_scale, qty_scale)}`` — the books as they were when the
        recording ended — and ``"failed": {symbol: reason}`` for the symbols that could not
        be recorded (subscription refused, or no snapshot ever received, e.g. Binance's
        -1121 "Invalid symbol.").
    """
    if not symbols:
        raise InvalidInputError("give at least one symbol to record")
    for symbol in symbols:
        check_symbol(symbol)
    stop = stop or asyncio.Event()
    options = dict(manager_options or {})
    options.setdefault("max_symbols", max(20, len(symbols)))
    with RecordingWriter(out) as writer:
        sink = _Sink(writer)
        async with BinanceClient(rest_url, network="mainnet") as rest:
            async with StreamManager(rest, ws_url=ws_url, tap=sink, **options) as manager:
                failed = await _unknown_symbols(rest, symbols)
                for symbol in symbols:
                    if symbol in failed:
                        continue
                    try:
                        await manager.track(symbol)
                    except TransportError:
                        pass  # still tracked and subscribes when the connection is back
                    except ObcoreError as exc:  # refused: record the others, report this one
                        failed[symbol] = str(exc)
                if len(failed) < len(symbols):  # nothing to wait for when every symbol was refused
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(stop.wait(), seconds)
                # Freeze the books at the last written line: nothing is written after
                # this, while the manager shuts down.
                sink.closed = True
                books: dict[str, Any] = {}
                scales: dict[str, tuple[int, int]] = {}
                for symbol in symbols:
                    session = manager.session(symbol)
                    if session is None:
                        continue
                    book = session.book
                    depth = max(1, book.bid_count, book.ask_count)
                    bid_p, bid_q, ask_p, ask_q = book.top(depth)
                    books[symbol] = (
                        session.last_update_id,
                        list(zip(bid_p.tolist(), bid_q.tolist())),
                        list(zip(ask_p.tolist(), ask_q.tolist())),
                    )
                    scales[symbol] = (session.price_scale, session.qty_scale)
                health = manager.health()
                lines = writer.lines
    for symbol, info in health["symbols"].items():
        # No snapshot means no book can be rebuilt from the file: the symbol was not recorded.
        if symbol in symbols and info["snapshots"] == 0 and symbol not in failed:
            failed[symbol] = info["last_error"] or "no depth snapshot received before the recording ended"
    return {"lines": lines, "health": health, "books": books, "scales": scales, "failed": failed}


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status.

    0 when every symbol was recorded; 2 for a bad argument, an error, or when any symbol
    could not be recorded (each named with its reason on stderr, e.g. -1121 Invalid symbol).
    """
    parser = argparse.ArgumentParser(prog="python -m obcore.record", description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", required=True, help="comma-separated symbols, e.g. ETHUSDT,BTCUSDT")
    parser.add_argument("--out", required=True, help="output file (.gz for gzip)")
    parser.add_argument("--seconds", type=float, default=None, help="stop after this many seconds")
    parser.add_argument("--ws-url", default=None, help="stream base URL (default Binance mainnet)")
    parser.add_argument("--rest-url", default=None, help="REST base URL (default Binance mainnet)")
    args = parser.parse_args(argv)
    symbols = [s.strip().upper() for s in args.symbols.split(",") if s.strip()]
    if args.seconds is not None and args.seconds <= 0:
        parser.error(f"--seconds must be > 0, got {args.seconds}")
    try:  # before any connection: a typo should not cost a recording's worth of waiting
        if not symbols:
            raise InvalidInputError(f"--symbols names no symbol: {args.symbols!r}")
        for symbol in symbols:
            check_symbol(symbol)
    except InvalidInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    async def run() -> dict[str, Any]:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, stop.set)
        return await record(
            symbols, args.out, seconds=args.seconds, ws_url=args.ws_url, rest_url=args.rest_url, stop=stop
        )

    started = time.monotonic()
    try:
        result = asyncio.run(run())
    except ObcoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    elapsed = time.monotonic() - started
    print(f"wrote {result['lines']} lines to {args.out} in {elapsed:.1f} s", file=sys.stderr)
    failed = result["failed"]
    for symbol in symbols:
        info = result["health"]["symbols"].get(symbol)
        if info is not None:
            print(
                f"{symbol}: state {info['state']}, last_update_id {info['last_update_id']}, "
                f"gaps {info['gap_count']}, resyncs {info['resync_count']}, snapshots {info['snapshots']}",
                file=sys.stderr,
            )
        if symbol in failed:
            print(f"{symbol}: not recorded: {failed[symbol]}", file=sys.stderr)
    if failed:
        print(f"error: {len(failed)} of {len(symbols)} symbols not recorded: {', '.join(failed)}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
