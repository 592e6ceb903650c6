"""One server process serving the same MCP server over stdio, HTTP and gRPC (parity test).

``python -m tests.obmcp.parity_server PORTS_FILE`` opens the product backend with the
in-process emulator (``--source emulator``: the bundled ETHUSDT recording), brings the
ETHUSDT book LIVE, then freezes the state every transport will read: the emulator is
paused (no new diffs or trades), the stream manager's staleness timer is pushed out and
the server clock (``book_service._now_ms``) is held, so a live-book answer read twice is
the same answer. It then serves HTTP and gRPC on free ports (written to PORTS_FILE as
JSON) and stdio on its own stdin/stdout, all over the one backend and the one tool
context, and exits when stdin closes.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import anyio


async def main(ports_file: Path) -> None:
    from obmcp import book_service
    from obmcp.backend import open_backend
    from obmcp.config import settings_from_env
    from obmcp.grpc_transport import build_provider, serve_grpc
    from obmcp.http import build_http_app, serve_http
    from obmcp.server import build_server
    from obmcp.stdio import serve_stdio

    stdio_settings = settings_from_env({}, mode="stdio", source="emulator")
    http_settings = settings_from_env({}, mode="http", port=0, source="emulator")
    grpc_settings = settings_from_env({}, mode="grpc", port=0, source="emulator")
    async with open_backend(stdio_settings) as backend:
        mcp = build_server(stdio_settings, backend)
        streams = backend.streams
        await streams.track("ETHUSDT")
        await streams.wait_live("ETHUSDT", 30)
        await anyio.sleep(1.0)  # some diffs and trades after the sync
        backend.extras["emulator"].pause()
        streams.stale_after_ms = 10**12
        await anyio.sleep(0.5)  # frames already sent reach the book
        frozen = int(time.time() * 1000)
        book_service._now_ms = lambda: frozen
        stop = anyio.Event()
        bound: dict[str, str] = {}
        async with anyio.create_task_group() as tg:
            tg.start_soon(serve_http, build_http_app(mcp, http_settings), http_settings, stop.wait,
                          lambda urls: bound.setdefault("http", urls[0] + "/mcp"))  # fmt: skip
            tg.start_soon(serve_grpc, build_provider(grpc_settings, mcp), grpc_settings, stop.wait,
                          lambda addresses: bound.setdefault("grpc", addresses[0]))  # fmt: skip
            with anyio.fail_after(20):
                while len(bound) < 2:
                    await anyio.sleep(0.01)
            ports_file.write_text(json.dumps(bound))
            await serve_stdio(mcp)
            stop.set()


if __name__ == "__main__":
    anyio.run(main, Path(sys.argv[1]))
