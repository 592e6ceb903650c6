"""MCP server bench over Streamable HTTP (HTTP/1.1, real sockets, emulator replaying the
bundled recording): orderbook_l1 vs a trivial tool on the same server, initialize latency,
and 50 concurrent sessions x 20 calls.

    python bench/bench_mcp.py            # prints the figures and the targets
    pytest bench/bench_mcp.py --benchmark-only

Targets: orderbook_l1 >= 80 % of the trivial tool's rate with p50 <= 2 ms; initialize
<= 5 ms; 50 sessions with 0 failures and p99 <= 100 ms. The trivial tool is registered
here only, never in the product.
"""

from __future__ import annotations

import json
import statistics
import time
from typing import Any

import anyio
import httpx

from obmcp.backend import open_backend
from obmcp.config import settings_from_env
from obmcp.http import build_http_app, serve_http
from obmcp.server import build_server

ACCEPT = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}}


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _session(http: httpx.AsyncClient, url: str) -> dict[str, str]:
    sid = (await http.post(url, json=INIT, headers=ACCEPT)).headers["mcp-session-id"]
    headers = {**ACCEPT, "mcp-session-id": sid, "mcp-protocol-version": "2025-11-25"}
    await http.post(url, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=headers)
    return headers


async def _call(http: httpx.AsyncClient, url: str, headers: dict[str, str], name: str, args: dict[str, Any]) -> float:
    body = {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": name, "arguments": args}}
    start = time.perf_counter()
    response = await http.post(url, json=body, headers=headers)
    elapsed = time.perf_counter() - start
    data = json.loads(next(line[6:] for line in response.text.splitlines() if line.startswith("data: ")))
    if "error" in data or data["result"].get("isError"):
        raise RuntimeError(f"{name} failed: {str(data)[:300]}")
    return elapsed


async def run_bench(calls: int = 400, sessions: int = 50, per_session: int = 20) -> dict[str, float]:
    """Start emulator + server, measure, return the figures (seconds unless named *_rate)."""
    settings = settings_from_env(env={}, mode="http", port=0, source="emulator", max_sessions=sessions + 100)
    results: dict[str, float] = {}
    async with open_backend(settings) as backend:
        mcp = build_server(settings, backend)

        async def bench_noop(symbol: str) -> str:
            """Trivial tool for the bench: echoes the symbol."""
            return symbol

        mcp.add_tool(bench_noop, name="bench_noop")
        app = build_http_app(mcp, settings)
        stop = anyio.Event()
        bound: list[str] = []
        async with anyio.create_task_group() as tg:
            tg.start_soon(serve_http, app, settings, stop.wait, bound.extend)
            while not bound:
                await anyio.sleep(0.01)
            url = bound[0] + "/mcp"
            limits = httpx.Limits(max_connections=sessions + 10, max_keepalive_connections=sessions + 10)
            async with httpx.AsyncClient(timeout=30, limits=limits) as http:
                headers = await _session(http, url)
                l1_args = {"symbol": "ETHUSDT", "wait_seconds": 20}
                await _call(http, url, headers, "binance_orderbook_l1", l1_args)  # subscribe + sync
                for name, args, key in (("bench_noop", {"symbol": "ETHUSDT"}, "noop"),
                                        ("binance_orderbook_l1", l1_args, "l1")):
                    for _ in range(20):
                        await _call(http, url, headers, name, args)  # warm-up
                    start = time.perf_counter()
                    latencies = [await _call(http, url, headers, name, args) for _ in range(calls)]
                    results[f"{key}_rate"] = calls / (time.perf_counter() - start)
                    results[f"{key}_p50"] = statistics.median(latencies)
                init_latencies = []
                for _ in range(100):
                    start = time.perf_counter()
                    response = await http.post(url, json=INIT, headers=ACCEPT)
                    init_latencies.append(time.perf_counter() - start)
                    await http.delete(url, headers={"mcp-session-id": response.headers["mcp-session-id"]})
                results["initialize_p50"] = statistics.median(init_latencies)

                latencies: list[float] = []
                failures = 0

                async def client_session() -> None:
                    nonlocal failures
                    try:
                        session_headers = await _session(http, url)
                        for _ in range(per_session):
                            latencies.append(await _call(http, url, session_headers, "binance_orderbook_l1", l1_args))
                    except Exception:
                        failures += 1

                start = time.perf_counter()
                async with anyio.create_task_group() as clients:
                    for _ in range(sessions):
                        clients.start_soon(client_session)
                results["concurrent_seconds"] = time.perf_counter() - start
                results["concurrent_failures"] = failures
                results["concurrent_calls"] = len(latencies)
                results["concurrent_p50"] = statistics.median(latencies) if latencies else float("nan")
                results["concurrent_p99"] = _pct(latencies, 0.99) if latencies else float("nan")
            stop.set()
    return results


def report(r: dict[str, float]) -> str:
    ratio = r["l1_rate"] / r["noop_rate"]
    return "\n".join([
        f"trivial tool:   {r['noop_rate']:8.0f} calls/s, p50 {r['noop_p50'] * 1e3:.2f} ms",
        f"orderbook_l1:   {r['l1_rate']:8.0f} calls/s, p50 {r['l1_p50'] * 1e3:.2f} ms "
        f"(ratio {ratio:.0%}; target >= 80 %, p50 <= 2 ms)",
        f"initialize:     p50 {r['initialize_p50'] * 1e3:.2f} ms (target <= 5 ms)",
        f"50 sessions x 20 calls: {int(r['concurrent_calls'])} calls, {int(r['concurrent_failures'])} failed sessions, "
        f"p50 {r['concurrent_p50'] * 1e3:.1f} ms, p99 {r['concurrent_p99'] * 1e3:.1f} ms "
        f"in {r['concurrent_seconds']:.2f} s (target 0 failures, p99 <= 100 ms)",
    ])


def test_bench_mcp(benchmark):
    """pytest-benchmark entry: one full run, figures in extra_info."""
    results = benchmark.pedantic(lambda: anyio.run(run_bench, 200), rounds=1, iterations=1)
    benchmark.extra_info.update(results)
    print(report(results))
    assert results["concurrent_failures"] == 0


if __name__ == "__main__":
    print(report(anyio.run(run_bench)))
