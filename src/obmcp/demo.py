"""Offline demo (``make demo`` / ``python -m obmcp.demo``).

Starts the emulator replaying the bundled real ETHUSDT recording (2024-08-08 23:54:14 →
2024-08-09 00:05:04 UTC, shipped in ``obmcp/data/``; see its NOTICE.md) and serves MCP over Streamable HTTP at ``http://127.0.0.1:8000/mcp``
(``--port`` to change), then prints how to connect: a Claude Desktop config, an MCP
Inspector command and a curl session. No internet needed. Ctrl-C stops it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from obmcp.config import settings_from_env

__all__ = ["connection_help", "main"]


def connection_help(url: str) -> str:
    """How to connect to the server at ``url`` (the ``/mcp`` endpoint)."""
    desktop = {
        "mcpServers": {
            "obmcp-demo": {"command": "npx", "args": ["-y", "mcp-remote", url]},
            "obmcp-stdio": {
                "command": sys.executable,
                "args": ["-m", "obmcp.cli", "serve", "--mode", "stdio", "--source", "emulator"],
            },
        }
    }
    init = json.dumps(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "curl", "version": "1"}},
        }
    )
    call = json.dumps(
        {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {"name": "binance_orderbook_l1", "arguments": {"symbol": "ETHUSDT"}},
        }
    )
    headers = "-H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream'"
    return f"""
obmcp demo: MCP server at {url}
(replaying the bundled ETHUSDT recording, 2024-08-08 23:54 -> 2024-08-09 00:05 UTC, through the local Binance emulator)

1) Claude Desktop (claude_desktop_config.json):
{json.dumps(desktop, indent=2)}

2) MCP Inspector (Node.js >= 22.19):
   npx @modelcontextprotocol/inspector --transport http --server-url {url}

3) curl:
   curl -si {url} {headers} \\
        -d '{init}'
   # copy the Mcp-Session-Id response header, then:
   SID=<that id>
   curl -s {url} {headers} -H "Mcp-Session-Id: $SID" -H 'MCP-Protocol-Version: 2025-11-25' \\
        -d '{{"jsonrpc":"2.0","method":"notifications/initialized"}}'
   curl -s {url} {headers} -H "Mcp-Session-Id: $SID" -H 'MCP-Protocol-Version: 2025-11-25' \\
        -d '{call}'
   curl -s -X DELETE {url} -H "Mcp-Session-Id: $SID"

Try: binance_orderbook_l1 / binance_orderbook_l2 / binance_orderbook_health and
binance_get_ticker / binance_get_orderbook / binance_get_exchange_info with symbol ETHUSDT;
binance_get_order_flow with "chart": true returns the chart as an image.
Status page (tracked books, links to their charts): {url.removesuffix("/mcp")}/
Ctrl-C stops the demo.
"""


async def _run(port: int, host: str) -> None:
    from obmcp.backend import open_backend
    from obmcp.http import build_http_app, serve_http, wait_for_signal
    from obmcp.server import build_server

    settings = settings_from_env(mode="http", host=host, port=port, source="emulator")
    async with open_backend(settings) as backend:
        app = build_http_app(build_server(settings, backend), settings)

        def announce(urls: list[str]) -> None:
            print(connection_help(urls[0] + "/mcp"), flush=True)

        await serve_http(app, settings, wait_for_signal, on_bound=announce)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo until Ctrl-C / SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m obmcp.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)
    from obmcp.cli import run_until_done

    return run_until_done(_run, args.port, args.host)


if __name__ == "__main__":
    sys.exit(main())
