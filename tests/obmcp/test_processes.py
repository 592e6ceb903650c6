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

from obmcp.tools import CATALOG
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
        assert len(names) == len(CATALOG)  # trading off: every catalog entry, no trading tool
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


def test_stdio_answers_malformed_lines():
    """Non-JSON lines, batches and messages without "jsonrpc" get a JSON-RPC error answer,
    and the session goes on serving."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "obmcp.cli", "serve", "--mode", "stdio", "--source", "emulator"],
        env=ENV, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
    lines = [
        json.dumps(init),
        json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        "this is not json",
        json.dumps([{"jsonrpc": "2.0", "id": 2, "method": "ping"}]),
        json.dumps({"id": 3, "method": "ping"}),
        json.dumps({"jsonrpc": "2.0", "id": None, "method": "ping"}),
        "",
        json.dumps({"jsonrpc": "2.0", "id": 99, "method": "ping"}),
    ]
    try:
        out, _ = proc.communicate("\n".join(lines) + "\n", timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    answers = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert answers[0]["id"] == 1 and "result" in answers[0]
    errors = [a for a in answers if "error" in a]
    assert [e["error"]["code"] for e in errors] == [-32700, -32600, -32600, -32600], answers
    assert errors[2]["id"] == 3 and errors[0]["id"] is None
    assert answers[-1] == {"jsonrpc": "2.0", "id": 99, "result": {}}


def _serve(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "obmcp.cli", "serve", *args], env=env or ENV,
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def _one_clear_line(run: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert run.returncode == 2, (run.returncode, run.stderr[-2000:])
    assert "Traceback" not in run.stderr, run.stderr[-2000:]
    lines = [line for line in run.stderr.splitlines() if line.startswith("obmcp: ")]
    assert len(lines) == 1, run.stderr[-2000:]
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def test_port_in_use_is_one_line_and_exit_2():
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        run = _serve("--mode", "http", "--port", str(port), "--source", "emulator")
    _one_clear_line(run, f"127.0.0.1:{port}", "in use")


def test_unresolvable_host_is_one_line_and_exit_2():
    env = {**ENV, "OBMCP_TOKEN": "x" * 40}
    run = _serve("--mode", "http", "--host", "no-such-host.invalid", "--port", "0", "--source", "emulator", env=env)
    _one_clear_line(run, "no-such-host.invalid")


def test_replay_of_a_non_recording_is_one_line_without_its_contents(tmp_path: Path):
    bogus = tmp_path / "passwords.txt"
    bogus.write_text("root:SECRETLINE:0:0\nmore SECRETLINE\n")
    run = _serve("--mode", "http", "--port", "0", "--source", f"replay:{bogus}")
    line = _one_clear_line(run, str(bogus), "not a recording")
    assert "SECRETLINE" not in run.stderr and "SECRETLINE" not in run.stdout, line


def test_second_server_on_the_same_data_dir_fails_at_start(tmp_path: Path):
    port = free_port()
    first = subprocess.Popen(
        [sys.executable, "-m", "obmcp.cli", "serve", "--mode", "http", "--port", str(port), "--source", "emulator",
         "--data-dir", str(tmp_path)],
        env=ENV, stderr=subprocess.PIPE, text=True,
    )
    try:
        line = ""
        deadline = time.monotonic() + 30
        while "serving MCP at" not in line and time.monotonic() < deadline:
            line = first.stderr.readline()
        assert "serving MCP at" in line, "the first server did not start"
        run = _serve("--mode", "http", "--port", "0", "--source", "emulator", "--data-dir", str(tmp_path))
        _one_clear_line(run, str(tmp_path), "another")
    finally:
        first.send_signal(signal.SIGTERM)
        try:
            first.wait(timeout=30)
        except subprocess.TimeoutExpired:
            first.kill()
            first.wait()
