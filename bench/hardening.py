"""Hostile-client probe of a real ``obmcp serve --mode http`` process (issue 10, "Done means").

Run: ``PYTHONPATH=src python bench/hardening.py`` (about a minute; 127.0.0.1 only).

Starts the server on the bundled recording, then measures its resident memory (VmRSS,
and the peak VmHWM from /proc) while five clients in parallel send 20 MB bodies, with
and without a session, by Content-Length and chunked; then sends N fuzzed requests
(random JSON-RPC envelopes, truncated and non-JSON bodies, deep nesting) and counts the
HTTP statuses. Prints one JSON object; the figures are quoted in bench/README.md.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
ACCEPT = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "probe", "version": "1"}}}
BIG = 20 << 20


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _memory_mb(pid: int) -> dict[str, float]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024
    return fields


async def _big_body(port: int, session: str | None, chunked: bool) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = ["POST /mcp HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json",
            "Accept: application/json, text/event-stream"]
    if session:
        head.append(f"Mcp-Session-Id: {session}")
    head.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {BIG}")
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
    chunk = b"[" * (1 << 20)
    answer = asyncio.create_task(reader.read(200))  # the server may answer before the body ends
    sent = 0
    try:
        for _ in range(BIG // len(chunk)):
            if answer.done():
                break
            writer.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n" if chunked else chunk)
            await writer.drain()
            sent += len(chunk)
        if chunked and not answer.done():
            writer.write(b"0\r\n\r\n")
            await writer.drain()
    except (ConnectionError, OSError):
        pass  # the server answered and closed
    try:
        first = await asyncio.wait_for(answer, 10)
    except (asyncio.TimeoutError, ConnectionError):
        first = b""
    writer.close()
    return first.split(b"\r\n", 1)[0] + f" (client had sent {sent >> 20} MiB)".encode()


def _fuzz_bodies(n: int, seed: int = 10) -> list[bytes]:
    rng = random.Random(seed)
    values: list[object] = [None, True, False, 0, -1, 1.5, 1e308, "", "x" * 300, [], {}, [[[]]], {"a": {"b": []}},
                            2**70, "ping", "initialize", "tools/call", "\u0000"]
    keys = ["jsonrpc", "id", "method", "params", "result", "error", "name", "arguments", "_meta"]
    bodies = []
    for i in range(n):
        kind = rng.random()
        if kind < 0.03:
            bodies.append(b"[" * rng.randint(1000, 200_000))
            continue
        if kind < 0.06:
            bodies.append(bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 200))))
            continue
        message: dict[str, object] = {key: rng.choice(values) for key in rng.sample(keys, rng.randint(0, len(keys)))}
        if rng.random() < 0.6:
            message["jsonrpc"] = "2.0"
        if rng.random() < 0.5:
            message["method"] = rng.choice(["ping", "tools/list", "tools/call", "initialize", "nope", "notifications/x"])
        if rng.random() < 0.3:
            message["params"] = {"name": rng.choice(["binance_get_ticker", "binance_orderbook_l1", "x", 5]),
                                 "arguments": rng.choice([{"symbol": "ETHUSDT"}, {"symbol": 5}, {"limit": "x"}, None])}
        body = json.dumps(message).encode()
        if rng.random() < 0.1:
            body = body[: rng.randint(0, len(body))]
        bodies.append(body)
    return bodies


async def main(n_fuzz: int = 3000) -> dict:
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.Popen([sys.executable, "-m", "obmcp.cli", "serve", "--mode", "http", "--port", str(port),
                             "--source", "emulator"], env=env, stderr=subprocess.PIPE, text=True)
    out: dict = {}
    try:
        while "serving MCP at" not in (proc.stderr.readline() or "serving MCP at"):
            pass
        url = f"http://127.0.0.1:{port}/mcp"
        async with httpx.AsyncClient(timeout=30) as http:
            sid = (await http.post(url, json=INIT, headers=ACCEPT)).headers["mcp-session-id"]
            session = {**ACCEPT, "mcp-session-id": sid, "mcp-protocol-version": "2025-11-25"}
            await http.post(url, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=session)
            await asyncio.sleep(1)
            out["rss_idle_mb"] = _memory_mb(proc.pid)
            big = {}
            for label, chunked, with_session in [("content-length, no session", False, False),
                                                  ("chunked, no session", True, False),
                                                  ("content-length, session", False, True),
                                                  ("chunked, session", True, True)]:
                answers = await asyncio.gather(*[_big_body(port, sid if with_session else None, chunked)
                                                 for _ in range(5)])
                big[label] = sorted({a.decode() for a in answers})
            out["five_parallel_20MB_bodies"] = big
            out["rss_after_big_bodies_mb"] = _memory_mb(proc.pid)
            statuses: dict[int, int] = {}
            start = time.monotonic()
            for i, body in enumerate(_fuzz_bodies(n_fuzz)):
                response = await http.post(url, content=body, headers=session if i % 2 else ACCEPT)
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            out["fuzz_requests"] = n_fuzz
            out["fuzz_statuses"] = dict(sorted(statuses.items()))
            out["fuzz_seconds"] = round(time.monotonic() - start, 1)
            ping = await http.post(url, json={"jsonrpc": "2.0", "id": 9, "method": "ping"}, headers=session)
            out["still_answering"] = ping.status_code == 200 and ping.json().get("id") == 9
            out["rss_end_mb"] = _memory_mb(proc.pid)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    return out


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 3000)), indent=2))
