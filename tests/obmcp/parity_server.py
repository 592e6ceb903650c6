"""One server process serving the same MCP server over stdio, HTTP and gRPC (parity test).

``python -m tests.obmcp.parity_server PORTS_FILE`` opens the product backend with the
in-process emulator (``--source emulator``: the bundled ETHUSDT recording), brings the
ETHUSDT book LIVE (1-s snapshots stored in a data dir beside PORTS_FILE) and waits (the replay at 10x) until every tool answers without error
with the generated arguments (the volume profile needs 1000 trades), then freezes the state every transport will read: the emulator is
paused (no new diffs or trades), the stream manager's staleness timer is pushed out and
the server clock (``book_service._now_ms``) is held, so a live-book answer read twice is
the same answer (the analytics read the wall clock: their book is past the 5-s staleness
line before serving starts, so their quality does not change mid-test; ages are compared
as plausible only). It then serves HTTP and gRPC on free ports (written to PORTS_FILE as
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
    from obmcp.catalog import invoke, select
    from obmcp.config import settings_from_env
    from obmcp.grpc_transport import build_provider, serve_grpc
    from obmcp.http import build_http_app, serve_http
    from obmcp.server import build_server
    from obmcp.stdio import serve_stdio
    from obmcp.tools import catalog_for

    # A data dir: the 1-s snapshot store (the depth heatmap reads it).
    data_dir = ports_file.parent / "data"
    stdio_settings = settings_from_env({}, mode="stdio", source="emulator", data_dir=data_dir)
    http_settings = settings_from_env({}, mode="http", port=0, source="emulator")
    grpc_settings = settings_from_env({}, mode="grpc", port=0, source="emulator")
    from tests.obmcp.test_parity import sample_arguments

    async with open_backend(stdio_settings, speed=10.0) as backend:
        mcp = build_server(stdio_settings, backend)
        streams = backend.streams
        await streams.track("ETHUSDT")
        await streams.wait_live("ETHUSDT", 30)
        served = select(catalog_for(stdio_settings.enable_trading), stdio_settings.disabled_groups)  # what build_server serves
        entries = [(entry, sample_arguments(entry.input_schema)) for entry in served]
        with anyio.fail_after(60):
            while True:
                outcomes = [await invoke(entry, mcp.tool_context, arguments) for entry, arguments in entries]
                failing = [(entry.name, o.text[:120]) for (entry, _), o in zip(entries, outcomes) if o.is_error]
                # The chart resources read the live tape alone (no back-fill): wait for them too,
                # or the profile chart can still be short of its 1000 trades when compared.
                for kind in ("profile", "flow", "heatmap"):
                    try:
                        await mcp.read_resource(f"obmcp://charts/ETHUSDT/{kind}.png")
                    except Exception as exc:  # noqa: BLE001 - any refusal means: not ready yet
                        failing.append((f"{kind}.png", str(exc)[:120]))
                if not failing:
                    break
                print("parity_server: waiting for", failing, file=sys.stderr, flush=True)
                await anyio.sleep(0.5)
        backend.extras["emulator"].pause()
        streams.stale_after_ms = 10**12
        # Frames already sent reach the book; then past the 5 s staleness line, so the
        # analytics' own wall-clock quality check (stale) no longer changes during the test.
        await anyio.sleep(5.5)
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
