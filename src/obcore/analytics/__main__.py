"""``python -m obcore.analytics``: volume profile and order flow from files, offline.

::

    python -m obcore.analytics volume-profile FILE... --tick-size 0.01 [--bin-size B]
                                              [--from T0] [--to T1] [--detail full]
    python -m obcore.analytics order-flow FILE... [--window S]

Either takes ``--png OUT.png`` to also draw the chart (``obcore.charts``, needs the
``obcore[charts]`` extra).

FILE: a Binance Vision aggTrades CSV (header row or not; ``transact_time`` in ms or µs),
a JSON list or JSON lines of REST aggTrade objects (``a,p,q,f,l,T,m,M``, also nested
under ``info`` as ccxt writes them), or our recordings (``obcore.recording`` formats).
Times (``--from``, ``--to``) are epoch ms or ISO-8601. Without ``--from/--to`` or
``--window`` the whole input is one window. Order flow over a recording with depth diffs
replays it through ``BookSession`` (flow rates, direction, withdrawals); over trades
alone it gives the taker side (volumes, counts, CVD). Prints one JSON document; a bad
file or argument prints ``error: <file>:<line>: ...`` on stderr and exits with status 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import orjson

from obcore.errors import InvalidInputError, ObcoreError

__all__ = ["main"]


def _time(text: str) -> int:
    from obcore.analytics.flow import parse_as_of

    try:
        return parse_as_of(text)
    except InvalidInputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--window must be a whole number of seconds >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"--window must be >= 1 second, got {value}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m obcore.analytics", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    profile = commands.add_parser("volume-profile", help="POC, value area, vacuums and the histogram")
    profile.add_argument("files", nargs="+", metavar="FILE")
    profile.add_argument("--tick-size", required=True, help="the symbol's tick size, e.g. 0.01")
    profile.add_argument("--bin-size", default=None, help="bin width (a whole number of ticks); default SPEC's rule")
    profile.add_argument("--from", dest="start", type=_time, default=None, help="window start (inclusive)")
    profile.add_argument("--to", dest="end", type=_time, default=None, help="window end (exclusive)")
    profile.add_argument("--detail", choices=("summary", "full"), default="summary")
    profile.add_argument("--symbol", default=None, help="which symbol of a multi-symbol recording")
    profile.add_argument("--min-trades", type=_positive, default=1000, help=argparse.SUPPRESS)
    profile.add_argument("--png", type=Path, default=None, metavar="OUT", help="also draw the chart to this PNG file")
    flow = commands.add_parser("order-flow", help="flow rates, direction, CVD, taker volumes, withdrawals")
    flow.add_argument("files", nargs="+", metavar="FILE")
    flow.add_argument("--window", type=_positive, default=None, help="seconds ending at the last one in the input")
    flow.add_argument("--symbol", default=None, help="which symbol of a multi-symbol recording")
    flow.add_argument("--no-cvd-series", action="store_true", help="leave out the per-second CVD")
    flow.add_argument("--png", type=Path, default=None, metavar="OUT", help="also draw the chart to this PNG file")
    return parser


def _volume_profile(args: argparse.Namespace) -> dict[str, Any]:
    from obcore.analytics.profile import volume_profile
    from obcore.analytics.tradefiles import read_trades

    trades = read_trades(args.files, args.symbol)
    profile = volume_profile(trades, args.tick_size, bin_size=args.bin_size, start_ms=args.start, end_ms=args.end,
                             minimum_trades=args.min_trades)
    if args.png is not None:
        from obcore.charts import volume_profile_png

        shift = profile.price_scale - trades.price_scale
        last = int(trades.price[-1]) * 10**shift if len(trades) and shift >= 0 else None
        args.png.write_bytes(volume_profile_png(profile, args.symbol.upper() if args.symbol else "trades", last_price=last))
    return profile.to_dict(args.detail, symbol=args.symbol.upper() if args.symbol else None)


def _depth_recording(files: list[Path]) -> bool:
    from obcore.analytics.tradefiles import detect_format
    from obcore.recording import read_messages

    for path in files:
        if detect_format(path) == "recording":
            for message in read_messages([path]):
                if message.kind == "depth":
                    return True
    return False


def _replayed_flow(files: list[Path], symbol: str | None, window: int | None, png: Path | None = None) -> dict[str, Any]:
    from obcore.analytics.flow import session_flow
    from obcore.recording import merge_by_time
    from obcore.replay import feed, route
    from obcore.session import BookSession, event_second

    first: dict[str, int] = {}
    last: dict[str, int] = {}
    for message in merge_by_time(files):
        second = event_second(message.payload) if message.kind != "snapshot" else None
        if second is not None and message.symbol and message.kind in ("depth", "trade", "aggTrade"):
            first.setdefault(message.symbol, second)
            last[message.symbol] = max(last.get(message.symbol, second), second)
    chosen = symbol.upper() if symbol else None
    if chosen is None:
        if len(first) > 1:
            raise InvalidInputError(f"the recordings hold several symbols ({', '.join(sorted(first))}); choose one with --symbol")
        chosen = next(iter(first))
    if chosen not in first:
        raise InvalidInputError(f"symbol {chosen} is not in the recordings (they hold {', '.join(sorted(first)) or 'nothing'})")
    span = last[chosen] - first[chosen] + 1
    seconds = span if window is None else window
    history = max(seconds, span) + 60
    sessions = {chosen: BookSession(chosen, history_seconds=history)}
    for message, session in route(files, [chosen], sessions):
        feed(message, session)
    session = sessions[chosen]
    flow = session_flow(session, seconds, end_second=last[chosen], now_ms=session.last_event_time_ms or None)
    if png is not None:
        from obcore.charts import flow_counters_from_session, order_flow_png

        png.write_bytes(order_flow_png(flow, flow_counters_from_session(session, flow), chosen))
    return {"symbol": chosen, **flow.to_dict()}


def _order_flow(args: argparse.Namespace) -> dict[str, Any]:
    from obcore.analytics.flow import trade_flow
    from obcore.analytics.tradefiles import read_trades
    from obcore.replay import expand_paths

    files = expand_paths(args.files)
    if _depth_recording(files):
        out = _replayed_flow(files, args.symbol, args.window, args.png)
    else:
        flow = trade_flow(read_trades(files, args.symbol), args.window)
        if args.png is not None:  # trades only: the depth rows are empty (the chart says so)
            import numpy as np

            from obcore.charts import order_flow_png
            from obcore.counters import N_FIELDS

            args.png.write_bytes(order_flow_png(flow, np.zeros((N_FIELDS, flow.window_seconds), dtype=np.int64),
                                                args.symbol.upper() if args.symbol else "trades"))
        out = flow.to_dict()
        if args.symbol:
            out = {"symbol": args.symbol.upper(), **out}
    if args.no_cvd_series:
        out.pop("cvd", None)
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0, or 2 for bad input)."""
    args = _parser().parse_args(argv)
    try:
        result = _volume_profile(args) if args.command == "volume-profile" else _order_flow(args)
    except ObcoreError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    sys.stdout.buffer.write(orjson.dumps(result, option=orjson.OPT_INDENT_2) + b"\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
