"""``python -m obcore.emulator``: run the emulator until SIGINT/SIGTERM.

Prints one JSON line ``{"rest_url": .., "ws_url": ..}`` to stdout once both servers listen.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

import orjson

from obcore.emulator.server import Emulator

__all__ = ["main", "parse_args"]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m obcore.emulator", description=__doc__)
    parser.add_argument("--replay", nargs="+", default=[], metavar="FILE",
                        help="recording files or directories (hftbacktest or cryptofeed)")
    parser.add_argument("--symbols", nargs="+", default=None, metavar="SYMBOL",
                        help="symbols to serve from the replay (aliases of a single-symbol recording allowed)")
    parser.add_argument("--scenario", action="append", default=[], metavar="NAME:SYMBOL",
                        help="synthetic market, e.g. calm:BTCUSDT (repeatable)")
    parser.add_argument("--speed", type=float, default=1.0)
    parser.add_argument("--no-loop", action="store_true")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ws-port", type=int, default=0)
    parser.add_argument("--api-key", default="emulatorApiKey")
    parser.add_argument("--api-secret", default="emulatorApiSecret")
    return parser.parse_args(argv)


async def _run(args: argparse.Namespace) -> None:
    emulator = Emulator(host=args.host, port=args.port, ws_port=args.ws_port, api_key=args.api_key,
                        api_secret=args.api_secret, speed=args.speed, loop=not args.no_loop)
    if args.replay:
        emulator.add_replay(args.replay, symbols=args.symbols)
    for spec in args.scenario:
        name, sep, symbol = spec.partition(":")
        if not sep or not symbol:
            raise SystemExit(f"--scenario expects NAME:SYMBOL, got {spec!r}")
        emulator.add_scenario(name, symbol)
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
    """Entry point of ``python -m obcore.emulator``."""
    asyncio.run(_run(parse_args(argv)))


if __name__ == "__main__":
    main()
