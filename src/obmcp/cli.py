"""Command line: ``obmcp serve --mode stdio|http …``."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio

from obcore.errors import InvalidInputError

from obmcp.config import ServerSettings, read_env_file, settings_from_env

__all__ = ["build_parser", "main", "run", "run_until_done"]

logger = logging.getLogger("obmcp")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (flags override HOST, PORT, OBMCP_DATA_DIR … from the environment)."""
    parser = argparse.ArgumentParser(prog="obmcp", description="MCP server for Binance spot market data and live books")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the MCP server")
    serve.add_argument("--mode", choices=("stdio", "http"), default="stdio")
    serve.add_argument("--host", help="bind address for http (env HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port for http (env PORT, default 8000)")
    serve.add_argument(
        "--source", default="live", help="live | emulator (bundled recording) | replay:FILE[,FILE] (default live)"
    )
    serve.add_argument("--max-symbols", type=int, help="live books tracked at most (default 20)")
    serve.add_argument(
        "--data-dir",
        help="keep a 1-s snapshot of every tracked book in DIR/snapshots (env OBMCP_DATA_DIR; default: none)",
    )
    serve.add_argument(
        "--store-max-bytes", type=int, help="snapshot store hard cap (env OBMCP_STORE_MAX_BYTES, default 1 GiB)"
    )
    serve.add_argument(
        "--store-retention-days", type=float, help="snapshot history kept (env OBMCP_STORE_RETENTION_DAYS, default 7)"
    )
    serve.add_argument("--tool-names", choices=("underscore", "dotted"), help="binance_<name> (default) or binance.<name>")
    serve.add_argument("--max-sessions", type=int, help="concurrent HTTP sessions (env OBMCP_MAX_SESSIONS, default 50)")
    serve.add_argument(
        "--session-idle-seconds", type=float, help="idle HTTP session expiry (env OBMCP_SESSION_IDLE_SECONDS, default 1800)"
    )
    serve.add_argument(
        "--session-reclaim-seconds",
        type=float,
        help="at the session cap, close the least recently used session idle this long for a new client "
        "(env OBMCP_SESSION_RECLAIM_SECONDS, default 30)",
    )
    serve.add_argument(
        "--http-response",
        choices=("json", "sse"),
        help="answer each HTTP request POST with one JSON body (default) or an SSE stream (env OBMCP_HTTP_RESPONSE)",
    )
    serve.add_argument(
        "--env-file",
        help="read settings from this file (default: ./.env if it exists); the environment and flags win over it",
    )
    # Trading: off unless enabled; testnet by default; mainnet orders need a second opt-in.
    serve.add_argument("--enable-trading", action="store_true", default=None,
                       help="list and serve the order tools (env OBMCP_ENABLE_TRADING=1; default off)")
    serve.add_argument("--network", choices=("testnet", "demo", "mainnet"),
                       help="where account and order calls go (env OBMCP_NETWORK, default testnet)")
    serve.add_argument("--allow-mainnet-trading", action="store_true", default=None,
                       help="with --network mainnet: allow real orders (env OBMCP_ALLOW_MAINNET_TRADING=1)")
    serve.add_argument("--max-order-notional", help="per-order cap in quote units (env OBMCP_MAX_ORDER_NOTIONAL, default 100)")
    serve.add_argument("--max-daily-notional", help="daily cap in quote units (env OBMCP_MAX_DAILY_NOTIONAL, default 500)")
    serve.add_argument("--audit-log", help="trading audit log, JSON lines, 0600 (env OBMCP_AUDIT_LOG)")
    serve.add_argument("--log-level", default="WARNING", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    return parser


async def run(settings: ServerSettings) -> None:
    """Open the data source and serve until stdin closes (stdio) or SIGTERM/SIGINT (http)."""
    from obmcp.backend import open_backend
    from obmcp.server import build_server

    async with open_backend(settings) as backend:
        mcp = build_server(settings, backend)
        if settings.mode == "stdio":
            from obmcp.stdio import serve_stdio

            await serve_stdio(mcp)
            return
        from obmcp.http import build_http_app, serve_http, wait_for_signal

        app = build_http_app(mcp, settings)

        def announce(urls: list[str]) -> None:
            for url in urls:
                print(f"obmcp: serving MCP at {url}/mcp", file=sys.stderr, flush=True)

        await serve_http(app, settings, wait_for_signal, on_bound=announce)


def _read_dotenv(env_file: str | None) -> dict[str, str]:
    """Settings from ``--env-file`` (which must exist) or ``./.env`` (if it exists)."""
    path = Path(env_file).expanduser() if env_file is not None else Path(".env")
    if env_file is None and not path.is_file():
        return {}
    try:
        return read_env_file(path)
    except OSError as exc:
        raise InvalidInputError(f"--env-file {str(path)!r}: {exc.strerror or exc}") from None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``obmcp`` script; returns the exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        env = {**_read_dotenv(args.env_file), **os.environ}
        settings = settings_from_env(
            env,
            mode=args.mode,
            host=args.host,
            port=args.port,
            source=args.source,
            max_symbols=args.max_symbols,
            data_dir=args.data_dir,
            store_max_bytes=args.store_max_bytes,
            store_retention_days=args.store_retention_days,
            tool_names=args.tool_names,
            max_sessions=args.max_sessions,
            session_idle_seconds=args.session_idle_seconds,
            session_reclaim_seconds=args.session_reclaim_seconds,
            http_response=args.http_response,
            enable_trading=args.enable_trading,
            network=args.network,
            allow_mainnet_trading=args.allow_mainnet_trading,
            max_order_notional=args.max_order_notional,
            max_daily_notional=args.max_daily_notional,
            audit_log=args.audit_log,
        )
    except InvalidInputError as exc:
        print(f"obmcp: {exc}", file=sys.stderr)
        return 2
    return run_until_done(run, settings)


def run_until_done(main_coroutine: Any, *args: Any) -> int:
    """``anyio.run`` the server; a start-up mistake is one ``obmcp: …`` line and status 2.

    Port in use, an unresolvable host, a replay file that is not a recording, a data dir
    another server holds: all raise :class:`InvalidInputError` and end here, no traceback.
    """
    try:
        anyio.run(main_coroutine, *args)
    except KeyboardInterrupt:
        pass
    except BaseException as exc:
        error = _startup_error(exc)
        if error is None:
            raise
        print(f"obmcp: {error}", file=sys.stderr)
        return 2
    return 0


def _startup_error(exc: BaseException) -> InvalidInputError | None:
    """The InvalidInputError in ``exc`` (possibly inside an exception group), else None."""
    if isinstance(exc, InvalidInputError):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        found = [_startup_error(inner) for inner in exc.exceptions]
        errors = [error for error in found if error is not None]
        if errors and len(errors) == len(exc.exceptions):
            return errors[0]
    return None


if __name__ == "__main__":
    sys.exit(main())
