"""``python -m obcore.emulator``: run the emulator until SIGINT/SIGTERM.

Prints one JSON line ``{"rest_url": .., "ws_url": ..}`` to stdout once both servers listen.
A bad argument (unknown scenario, missing recording, port in use, ...) prints
``error: <message>`` to stderr and exits with status 2.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys

import orjson

from obcore.emulator.server import Emulator
from obcore.errors import InvalidInputError, ObcoreError

__all__ = ["main", "parse_args"]

API_KEY_ENV = "OBCORE_EMULATOR_API_KEY"
API_SECRET_ENV = "OBCORE_EMULATOR_API_SECRET"


def _port(text: str) -> int:
    """argparse type: a TCP port 0..65535 (0 picks a free one)."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"port must be an integer 0..65535, got {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 0..65535, got {port}")
    return port


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m obcore.emulator", description=__doc__)
    parser.add_argument("--replay", nargs="+", default=[], metavar="FILE",
                        help="recording files or directories (hftbacktest or cryptofeed)")
    parser.add_argument("--symbols", nargs="+", default=None, metavar="SYMBOL",
                        help="symbols to serve from the replay (aliases of a single-symbol recording allowed)")
    parser.add_argument("--scenario", action="append", default=[], metavar="NAME:SYMBOL[:k=v,...]",
                        help="synthetic market, e.g. calm:BTCUSDT or absorption:SIMUSDT:hits_per_s=8,hit_qty=2 "
                             "(repeatable)")
    parser.add_argument("--agg-trades", nargs="+", default=[], metavar="FILE",
                        help="trade files served on /aggTrades (aggTrades CSV, REST/ccxt JSON, recordings); "
                             "SYMBOL=FILE for a file that names no symbol")
    parser.add_argument("--speed", type=float, default=1.0)
    parser.add_argument("--no-loop", action="store_true")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=_port, default=0, help="REST port, 0..65535 (0 = any free port)")
    parser.add_argument("--ws-port", type=_port, default=0, help="WebSocket port, 0..65535 (0 = any free port)")
    # Flags are visible in `ps`; the environment variables keep the secret off the command line.
    parser.add_argument("--api-key", default=os.environ.get(API_KEY_ENV, "emulatorApiKey"),
                        help=f"API key the emulator accepts (default: ${API_KEY_ENV}, else emulatorApiKey)")
    parser.add_argument("--api-secret", default=os.environ.get(API_SECRET_ENV, "emulatorApiSecret"),
                        help=f"API secret the emulator accepts (default: ${API_SECRET_ENV}, else "
                             "emulatorApiSecret); prefer the environment variable, flags show in `ps`")
    return parser.parse_args(argv)


async def _run(args: argparse.Namespace) -> None:
    emulator = Emulator(host=args.host, port=args.port, ws_port=args.ws_port, api_key=args.api_key,
                        api_secret=args.api_secret, speed=args.speed, loop=not args.no_loop)
    if args.replay:
        emulator.add_replay(args.replay, symbols=args.symbols)
    from obcore.emulator.scenarios import parse_scenario_spec

    for spec in args.scenario:
        name, symbol, params = parse_scenario_spec(spec)
        emulator.add_scenario(name, symbol, **params)
    if args.agg_trades:
        emulator.add_agg_trades(args.agg_trades)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with emulator:
        sys.stdout.write(orjson.dumps({"rest_url": emulator.rest_url, "ws_url": emulator.ws_url,
                                       "symbols": emulator.symbols}).decode() + "\n")
        sys.stdout.flush()
        await stop.wait()


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``python -m obcore.emulator``.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name; ``sys.argv[1:]`` when None.

    Raises
    ------
    SystemExit
        Status 2 with ``error: <message>`` on stderr for a bad argument or a socket error.
    """
    args = parse_args(argv)
    try:
        asyncio.run(_run(args))
    except (ObcoreError, OverflowError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    except OSError as exc:
        # A file error names its file; a socket error (port in use, bad host) names nothing: add the address.
        where = "" if exc.filename else f" (--host {args.host} --port {args.port} --ws-port {args.ws_port})"
        print(f"error: {exc}{where}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
