"""MCP server bench over Streamable HTTP (HTTP/1.1, real sockets): orderbook_l1 vs a trivial
tool on the same server, initialize latency, and 50 concurrent sessions x 20 calls.

Three processes, so that no one measures another's work:

- the emulator (``python -m obcore.emulator``) replays the bundled recording;
- the server (``python bench/bench_mcp.py serve``): the product's HTTP app plus one
  trivial tool, its books fed over WebSocket from the emulator;
- this process, the load generator (httpx).  The 50 sessions are spread over
  ``--client-procs`` processes so the client's own event-loop queueing is not
  reported as server latency.

    python bench/bench_mcp.py                       # JSON responses (the default)
    python bench/bench_mcp.py --http-response sse   # SSE responses
    python bench/bench_mcp.py --emulator inproc     # emulator inside the server process
    pytest bench/bench_mcp.py --benchmark-only

Targets: orderbook_l1 >= 80 % of the trivial tool's rate with p50 <= 2 ms; initialize
<= 5 ms; 50 sessions with 0 failures and p99 <= 100 ms. The trivial tool is registered
here only, never in the product.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import ssl
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx

ROOT = Path(__file__).resolve().parents[1]
ACCEPT = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}}
L1_ARGS = {"symbol": "ETHUSDT", "wait_seconds": 20}


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# --------------------------------------------------------------------------- server side

async def _serve(port: int, http_response: str, rest_url: str | None, ws_url: str | None) -> None:
    """The server process: product app + ``bench_noop``; prints its URL as one JSON line."""
    from obmcp.backend import Backend, open_backend
    from obmcp.config import settings_from_env
    from obmcp.http import build_http_app, serve_http, wait_for_signal
    from obmcp.server import build_server

    source = "live" if rest_url else "emulator"
    settings = settings_from_env(env={}, mode="http", port=port, source=source, max_sessions=500,
                                 http_response=http_response)
    async with contextlib.AsyncExitStack() as stack:
        if rest_url:  # external emulator: the same client + stream manager open_backend builds
            from obcore.client import BinanceClient
            from obcore.streams import StreamManager

            client = BinanceClient(rest_url, network="mainnet")
            stack.push_async_callback(client.aclose)
            streams = await stack.enter_async_context(StreamManager(client, ws_url=ws_url, max_symbols=20))
            backend = Backend(client=client, streams=streams, rest_url=rest_url, ws_url=ws_url)
        else:
            backend = await stack.enter_async_context(open_backend(settings))
        mcp = build_server(settings, backend)

        async def bench_noop(symbol: str) -> str:
            """Trivial tool for the bench: echoes the symbol."""
            return symbol

        mcp.add_tool(bench_noop, name="bench_noop")

        def announce(urls: list[str]) -> None:
            print(json.dumps({"url": urls[0] + "/mcp", "pid": os.getpid()}), flush=True)

        await serve_http(build_http_app(mcp, settings), settings, wait_for_signal, on_bound=announce)


def _first_json_line(process: subprocess.Popen[str], timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if line.startswith("{"):
            return json.loads(line)
        if not line and process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode} before announcing its URL")
    raise RuntimeError(f"{process.args!r} did not announce its URL in {timeout} s")


@contextlib.contextmanager
def _process(args: list[str]) -> Iterator[dict[str, Any]]:
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    process = subprocess.Popen([sys.executable, *args], stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    try:
        yield _first_json_line(process, 60)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def running_server(http_response: str, emulator: str) -> Iterator[tuple[str, int]]:
    """Start the emulator (unless in-process) and the server; yield the /mcp URL and server pid."""
    with contextlib.ExitStack() as stack:
        server = [__file__, "serve", "--http-response", http_response]
        if emulator == "process":
            from obmcp.config import BUNDLED_RECORDING

            urls = stack.enter_context(_process(
                ["-m", "obcore.emulator", "--replay", *map(str, BUNDLED_RECORDING)]))
            server += ["--rest-url", urls["rest_url"], "--ws-url", urls["ws_url"]]
        process = stack.enter_context(_process(server))
        yield process["url"], process.get("pid", 0)


# --------------------------------------------------------------------------- client side

def _answer(response: httpx.Response) -> dict[str, Any]:
    """The JSON-RPC answer of a POST, whether it came as JSON or as an SSE stream."""
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        return json.loads(next(line[6:] for line in response.text.splitlines() if line.startswith("data: ")))
    return response.json()


async def _session(http: httpx.AsyncClient, url: str) -> dict[str, str]:
    response = await http.post(url, json=INIT, headers=ACCEPT)
    response.raise_for_status()
    headers = {**ACCEPT, "mcp-session-id": response.headers["mcp-session-id"], "mcp-protocol-version": "2025-11-25"}
    await http.post(url, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=headers)
    return headers


async def _call(http: httpx.AsyncClient, url: str, headers: dict[str, str], name: str, args: dict[str, Any]) -> float:
    body = {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": name, "arguments": args}}
    start = time.perf_counter()
    response = await http.post(url, json=body, headers=headers)
    elapsed = time.perf_counter() - start
    data = _answer(response)
    if "error" in data or data["result"].get("isError"):
        raise RuntimeError(f"{name} failed: {str(data)[:300]}")
    return elapsed


async def _sequential(url: str, calls: int) -> dict[str, float]:
    """One session on one connection: trivial tool, orderbook_l1, then initialize."""
    results: dict[str, float] = {}
    async with httpx.AsyncClient(timeout=30) as http:
        headers = await _session(http, url)
        await _call(http, url, headers, "binance_orderbook_l1", L1_ARGS)  # subscribe + sync
        for name, args, key in (("bench_noop", {"symbol": "ETHUSDT"}, "noop"),
                                ("binance_orderbook_l1", L1_ARGS, "l1")):
            for _ in range(20):
                await _call(http, url, headers, name, args)  # warm-up
            start = time.perf_counter()
            latencies = [await _call(http, url, headers, name, args) for _ in range(calls)]
            results[f"{key}_rate"] = calls / (time.perf_counter() - start)
            results[f"{key}_p50"] = statistics.median(latencies)
            results[f"{key}_p99"] = _pct(latencies, 0.99)
        init_latencies = []
        for _ in range(100):
            start = time.perf_counter()
            response = await http.post(url, json=INIT, headers=ACCEPT)
            init_latencies.append(time.perf_counter() - start)
            await http.delete(url, headers={"mcp-session-id": response.headers["mcp-session-id"]})
        results["initialize_p50"] = statistics.median(init_latencies)
    return results


async def _concurrent(url: str, sessions: int, per_session: int, start_at: float) -> dict[str, Any]:
    """``sessions`` clients, each its own connection: initialize, then ``per_session`` l1 calls."""
    latencies: list[float] = []
    setups: list[float] = []
    errors: list[str] = []

    async def client_session() -> None:
        try:
            # One connection per session, as separate MCP clients would have: one
            # AsyncClient shared by all sessions queues them in httpx's pool (seconds of tail).
            async with httpx.AsyncClient(timeout=30, verify=tls) as http:
                start = time.perf_counter()
                headers = await _session(http, url)
                setups.append(time.perf_counter() - start)
                for _ in range(per_session):
                    latencies.append(await _call(http, url, headers, "binance_orderbook_l1", L1_ARGS))
        except Exception as exc:  # counted and reported, never hidden
            errors.append(f"{type(exc).__name__}: {exc}"[:200])

    # httpx loads the CA bundle for every new client (~25 ms of this process's CPU each;
    # 50 of them serialised the session setup over a second): share one context.
    tls = ssl.create_default_context()
    await anyio.sleep(max(0.0, start_at - time.time()))  # every client process starts together
    async with anyio.create_task_group() as clients:
        for _ in range(sessions):
            clients.start_soon(client_session)
    return {"latencies": latencies, "setups": setups, "errors": errors, "end": time.time()}


def _concurrent_worker(url: str, sessions: int, per_session: int, start_at: float, out: Any) -> None:
    out.send(anyio.run(_concurrent, url, sessions, per_session, start_at))
    out.close()


def run_concurrent(url: str, sessions: int, per_session: int, client_procs: int) -> dict[str, float]:
    """The 50-session phase, its sessions split over ``client_procs`` load-generator processes."""
    context = multiprocessing.get_context("spawn")
    start_at = time.time() + 1.5  # after every worker has imported httpx/anyio
    shares = [sessions // client_procs + (i < sessions % client_procs) for i in range(client_procs)]
    workers = []
    for share in shares:
        receiver, sender = context.Pipe(duplex=False)
        process = context.Process(target=_concurrent_worker, args=(url, share, per_session, start_at, sender))
        process.start()
        workers.append((process, receiver))
    latencies: list[float] = []
    setups: list[float] = []
    errors: list[str] = []
    end = start_at
    for process, receiver in workers:
        part = receiver.recv()
        process.join()
        latencies += part["latencies"]
        setups += part["setups"]
        errors += part["errors"]
        end = max(end, part["end"])
    for error in errors[:5]:
        print(f"  session failed: {error}", file=sys.stderr)
    return {
        "concurrent_seconds": end - start_at,
        "concurrent_failures": len(errors),
        "concurrent_calls": len(latencies),
        "concurrent_p50": statistics.median(latencies) if latencies else float("nan"),
        "concurrent_p99": _pct(latencies, 0.99) if latencies else float("nan"),
        "concurrent_max": max(latencies) if latencies else float("nan"),
        # connect + initialize + initialized, all sessions at once
        "setup_p50": statistics.median(setups) if setups else float("nan"),
        "setup_max": max(setups) if setups else float("nan"),
    }


def run_bench(calls: int = 400, sessions: int = 50, per_session: int = 20, *, http_response: str = "json",
              emulator: str = "process", client_procs: int = 1) -> dict[str, float]:
    """Start emulator + server processes, measure, return the figures (seconds unless *_rate)."""
    with running_server(http_response, emulator) as (url, _):
        results = anyio.run(_sequential, url, calls)
        results.update(run_concurrent(url, sessions, per_session, client_procs))
    return results


def report(r: dict[str, float]) -> str:
    ratio = r["l1_rate"] / r["noop_rate"]
    return "\n".join([
        f"trivial tool:   {r['noop_rate']:8.0f} calls/s, p50 {r['noop_p50'] * 1e3:.2f} ms",
        f"orderbook_l1:   {r['l1_rate']:8.0f} calls/s, p50 {r['l1_p50'] * 1e3:.2f} ms "
        f"(ratio {ratio:.0%}; target >= 80 %, p50 <= 2 ms)",
        f"initialize:     p50 {r['initialize_p50'] * 1e3:.2f} ms (target <= 5 ms)",
        f"{r['sessions']} sessions x {r['per_session']} calls: {int(r['concurrent_calls'])} calls, "
        f"{int(r['concurrent_failures'])} failed sessions, p50 {r['concurrent_p50'] * 1e3:.1f} ms, "
        f"p99 {r['concurrent_p99'] * 1e3:.1f} ms, max {r['concurrent_max'] * 1e3:.1f} ms "
        f"in {r['concurrent_seconds']:.2f} s (target 0 failures, p99 <= 100 ms)",
        f"  session setup in that burst (connect + initialize + initialized): p50 {r['setup_p50'] * 1e3:.1f} ms, "
        f"max {r['setup_max'] * 1e3:.1f} ms",
    ])


def test_bench_mcp(benchmark):
    """pytest-benchmark entry: one full run, figures in extra_info."""
    results = benchmark.pedantic(lambda: run_bench(200), rounds=1, iterations=1)
    results.update(sessions=50, per_session=20)
    benchmark.extra_info.update(results)
    print(report(results))
    assert results["concurrent_failures"] == 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench_mcp.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", nargs="?", default="bench", choices=("bench", "serve"))
    parser.add_argument("--http-response", choices=("json", "sse"), default="json")
    parser.add_argument("--emulator", choices=("process", "inproc"), default="process",
                        help="emulator in its own process (default) or inside the server process")
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--per-session", type=int, default=20)
    parser.add_argument("--client-procs", type=int, default=1, help="load-generator processes for the sessions")
    parser.add_argument("--port", type=int, default=0, help="serve: port (0: any)")
    parser.add_argument("--rest-url", help="serve: external emulator REST URL")
    parser.add_argument("--ws-url", help="serve: external emulator WebSocket URL")
    args = parser.parse_args(argv)
    if args.command == "serve":
        anyio.run(_serve, args.port, args.http_response, args.rest_url, args.ws_url)
        return
    results = run_bench(args.calls, args.sessions, args.per_session, http_response=args.http_response,
                        emulator=args.emulator, client_procs=args.client_procs)
    results.update(sessions=args.sessions, per_session=args.per_session)
    print(f"http response {args.http_response}, emulator {args.emulator}, {args.client_procs} client process(es)")
    print(report(results))


if __name__ == "__main__":
    main()
