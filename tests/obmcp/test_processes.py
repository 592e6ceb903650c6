"""The real ``obmcp serve`` process: stdio with the SDK client, and graceful SIGTERM over
HTTP with a call in flight. Both replay the bundled recording through the emulator."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from mcp import Client, StdioServerParameters

from tests.obmcp.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
ACCEPT = {"accept": "application/json, text/event-stream", "content-type": "application/json"}


@pytest.mark.anyio
async def test_stdio_subprocess_serves_live_book():
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "obmcp.cli", "serve", "--mode", "stdio", "--source", "emulator"], env=ENV
    )
    async with Client(params, mode="legacy") as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert len(names) == 11
        l1 = await client.call_tool("binance_orderbook_l1", {"symbol": "ETHUSDT", "wait_seconds": 20})
        assert not l1.is_error, l1.content
        assert l1.structured_content["data_quality"]["sync_state"] == "LIVE"
        assert float(l1.structured_content["best_bid"]) < float(l1.structured_content["best_ask"])
        bad = await client.call_tool("binance_get_ticker", {"symbol": "NOPEUSDT"})
        assert bad.is_error and "-1121" in bad.content[0].text


def test_sigterm_lets_the_call_in_flight_finish():
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "obmcp.cli", "serve", "--mode", "http", "--port", str(port), "--source", "emulator",
         "--http-response", "sse"],
        env=ENV, stderr=subprocess.PIPE, text=True,
    )
    try:
        line = ""
        deadline = time.monotonic() + 30
        while "serving MCP at" not in line and time.monotonic() < deadline:
            line = proc.stderr.readline()
        assert "serving MCP at" in line, "server did not start"
        url = f"http://127.0.0.1:{port}/mcp"
        with httpx.Client(timeout=30) as http:
            init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
            sid = http.post(url, json=init, headers=ACCEPT).headers["mcp-session-id"]
            headers = {**ACCEPT, "mcp-session-id": sid, "mcp-protocol-version": "2025-11-25"}
            http.post(url, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=headers)
            # The first l1 call subscribes and waits for the snapshot+diff sync: it is in flight
            # while SIGTERM arrives.
            call = {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                    "params": {"name": "binance_orderbook_l1", "arguments": {"symbol": "ETHUSDT", "wait_seconds": 20}}}
            with http.stream("POST", url, json=call, headers=headers) as response:
                assert response.status_code == 200
                proc.send_signal(signal.SIGTERM)
                body = response.read().decode()
        data = json.loads(next(l[6:] for l in body.splitlines() if l.startswith("data: ")))
        assert data["id"] == 2 and data["result"]["isError"] is False
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
