"""gRPC vs HTTP on one server process: ``Invoke(orderbook_l1)`` over gRPC against
``tools/call orderbook_l1`` over Streamable HTTP (JSON responses), one client and 50
concurrent clients.

Three processes, as in ``bench_mcp.py`` (whose HTTP client helpers this reuses):

- the emulator (``python -m obcore.emulator``) replays the bundled recording;
- the server (``python bench/bench_grpc.py serve``): one backend, one MCP server, served
  over HTTP (the product's app) and gRPC (the product's provider) at once, so both
  transports read the same books through the same tool context;
- this process, the load generator (httpx for HTTP, grpc.aio with the generated stub).
  Each concurrent client has its own connection (HTTP: its own AsyncClient; gRPC: its
  own channel with a local subchannel pool); they can be spread over ``--client-procs``.

    python bench/bench_grpc.py [--calls 1000] [--clients 50] [--per-client 20]
    pytest bench/bench_grpc.py --benchmark-only

Target: gRPC p50 <= HTTP p50 (one client and 50 concurrent), 0 failures.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import grpc
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_mcp import L1_ARGS, _call, _pct, _process, _session  # noqa: E402

from obmcp._proto.provider.v1 import provider_pb2 as pb  # noqa: E402
from obmcp._proto.provider.v1 import provider_pb2_grpc as pb_grpc  # noqa: E402

L1 = "binance_orderbook_l1"
L1_JSON = json.dumps(L1_ARGS)
# One TCP connection per channel even for channels to the same target in one process.
CHANNEL_OPTIONS = [("grpc.use_local_subchannel_pool", 1)]


# --------------------------------------------------------------------------- server side

async def _serve(rest_url: str | None, ws_url: str | None, with_grpc: bool = True) -> None:
    """The server process: HTTP and gRPC over one backend; prints both addresses as one JSON line.

    ``with_grpc=False`` (``serve --http-only``) serves HTTP alone: the control run that
    shows what hosting the gRPC server costs the HTTP transport.
    """
    from obcore.client import BinanceClient
    from obcore.streams import StreamManager

    from obmcp.backend import Backend, open_backend
    from obmcp.config import settings_from_env
    from obmcp.grpc_transport import build_provider, serve_grpc
    from obmcp.http import build_http_app, serve_http, wait_for_signal
    from obmcp.server import build_server

    source = "live" if rest_url else "emulator"
    http_settings = settings_from_env(env={}, mode="http", port=0, source=source, max_sessions=500)
    grpc_settings = settings_from_env(env={}, mode="grpc", port=0, source=source)
    bound: dict[str, str] = {}

    def announce(key: str, value: str) -> None:
        bound[key] = value
        if len(bound) == (2 if with_grpc else 1):
            print(json.dumps({**bound, "pid": os.getpid()}), flush=True)

    async with contextlib.AsyncExitStack() as stack:
        if rest_url:  # external emulator: the same client + stream manager open_backend builds
            client = BinanceClient(rest_url, network="mainnet")
            stack.push_async_callback(client.aclose)
            streams = await stack.enter_async_context(StreamManager(client, ws_url=ws_url, max_symbols=20))
            backend = Backend(client=client, streams=streams, rest_url=rest_url, ws_url=ws_url)
        else:
            backend = await stack.enter_async_context(open_backend(http_settings))
        mcp = build_server(http_settings, backend)
        stop = anyio.Event()  # one signal receiver, both servers stop on it
        async with anyio.create_task_group() as tg:
            tg.start_soon(serve_http, build_http_app(mcp, http_settings), http_settings, stop.wait,
                          lambda urls: announce("http", urls[0] + "/mcp"))  # fmt: skip
            if with_grpc:
                tg.start_soon(serve_grpc, build_provider(grpc_settings, mcp), grpc_settings, stop.wait,
                              lambda addresses: announce("grpc", addresses[0]))  # fmt: skip
            await wait_for_signal()
            stop.set()


@contextlib.contextmanager
def running_server(with_grpc: bool = True) -> Iterator[dict[str, Any]]:
    """Emulator process + server process; yields ``{"http": url, "grpc": address}``."""
    from obmcp.config import BUNDLED_RECORDING

    with contextlib.ExitStack() as stack:
        urls = stack.enter_context(_process(["-m", "obcore.emulator", "--replay", *map(str, BUNDLED_RECORDING)]))
        server = [__file__, "serve", "--rest-url", urls["rest_url"], "--ws-url", urls["ws_url"]]
        yield stack.enter_context(_process(server + ([] if with_grpc else ["--http-only"])))


# --------------------------------------------------------------------------- client side

async def _invoke(stub: Any) -> float:
    start = time.perf_counter()
    answer = await stub.Invoke(pb.InvokeRequest(tool=L1, arguments_json=L1_JSON), timeout=30)
    elapsed = time.perf_counter() - start
    if answer.is_error:
        raise RuntimeError(f"{L1} failed: {answer.text[:300]}")
    return elapsed


def _figures(latencies: list[float], seconds: float) -> dict[str, float]:
    return {"rate": len(latencies) / seconds, "p50": statistics.median(latencies), "p99": _pct(latencies, 0.99)}


async def _sequential(server: dict[str, Any], calls: int) -> dict[str, dict[str, float]]:
    """One client, one connection, ``calls`` back-to-back calls per transport (after a warm-up)."""
    results: dict[str, dict[str, float]] = {}
    async with httpx.AsyncClient(timeout=30) as http:
        headers = await _session(http, server["http"])
        await _call(http, server["http"], headers, L1, L1_ARGS)  # subscribe + sync
        for _ in range(50):
            await _call(http, server["http"], headers, L1, L1_ARGS)
        start = time.perf_counter()
        latencies = [await _call(http, server["http"], headers, L1, L1_ARGS) for _ in range(calls)]
        results["http"] = _figures(latencies, time.perf_counter() - start)
    if "grpc" not in server:
        return results
    async with grpc.aio.insecure_channel(server["grpc"], options=CHANNEL_OPTIONS) as channel:
        stub = pb_grpc.ProviderStub(channel)
        for _ in range(50):
            await _invoke(stub)
        start = time.perf_counter()
        latencies = [await _invoke(stub) for _ in range(calls)]
        results["grpc"] = _figures(latencies, time.perf_counter() - start)
    return results


async def _concurrent(transport: str, target: str, clients: int, per_client: int, start_at: float) -> dict[str, Any]:
    latencies: list[float] = []
    errors: list[str] = []

    async def http_client() -> None:
        async with httpx.AsyncClient(timeout=30) as http:
            headers = await _session(http, target)
            await ready.wait()
            for _ in range(per_client):
                latencies.append(await _call(http, target, headers, L1, L1_ARGS))

    async def grpc_client() -> None:
        async with grpc.aio.insecure_channel(target, options=CHANNEL_OPTIONS) as channel:
            await channel.channel_ready()
            stub = pb_grpc.ProviderStub(channel)
            await ready.wait()
            for _ in range(per_client):
                latencies.append(await _invoke(stub))

    async def client() -> None:
        try:
            await (http_client() if transport == "http" else grpc_client())
        except Exception as exc:  # counted and reported, never hidden
            errors.append(f"{type(exc).__name__}: {exc}"[:200])

    ready = anyio.Event()
    async with anyio.create_task_group() as tg:
        for _ in range(clients):
            tg.start_soon(client)
        # Connections (and HTTP sessions) are set up first; the calls start together.
        await anyio.sleep(max(0.0, start_at - time.time()))
        began = time.time()
        ready.set()
    return {"latencies": latencies, "errors": errors, "began": began, "end": time.time()}


def _concurrent_worker(transport: str, target: str, clients: int, per_client: int, start_at: float, out: Any) -> None:
    out.send(anyio.run(_concurrent, transport, target, clients, per_client, start_at))
    out.close()


def run_concurrent(transport: str, target: str, clients: int, per_client: int, client_procs: int) -> dict[str, float]:
    """``clients`` concurrent clients of one transport, split over ``client_procs`` processes."""
    context = multiprocessing.get_context("spawn")
    start_at = time.time() + 3.0  # after every worker has imported and connected
    shares = [clients // client_procs + (i < clients % client_procs) for i in range(client_procs)]
    workers = []
    for share in shares:
        receiver, sender = context.Pipe(duplex=False)
        process = context.Process(target=_concurrent_worker, args=(transport, target, share, per_client, start_at, sender))
        process.start()
        workers.append((process, receiver))
    latencies: list[float] = []
    errors: list[str] = []
    began, end = float("inf"), 0.0
    for process, receiver in workers:
        part = receiver.recv()
        process.join()
        latencies += part["latencies"]
        errors += part["errors"]
        began, end = min(began, part["began"]), max(end, part["end"])
    for error in errors[:5]:
        print(f"  {transport} client failed: {error}", file=sys.stderr)
    figures = _figures(latencies, end - began) if latencies else {"rate": 0.0, "p50": float("nan"), "p99": float("nan")}
    return {**figures, "calls": len(latencies), "failures": len(errors)}


def run_bench(calls: int = 1000, clients: int = 50, per_client: int = 20, client_procs: int = 1) -> dict[str, Any]:
    """Start emulator + server, measure both transports, return the figures (seconds unless rate)."""
    with running_server() as server:
        results: dict[str, Any] = {"one": anyio.run(_sequential, server, calls)}
        results["many"] = {t: run_concurrent(t, server[t], clients, per_client, client_procs) for t in ("http", "grpc")}
    results.update(calls=calls, clients=clients, per_client=per_client, client_procs=client_procs)
    return results


def report(r: dict[str, Any]) -> str:
    lines = []
    for phase, label in (("one", "1 client"), ("many", f"{r['clients']} clients x {r['per_client']}")):
        for transport in ("http", "grpc"):
            f = r[phase][transport]
            failures = f", {f['failures']} failed clients" if "failures" in f else ""
            lines.append(f"{label:>18} {transport:4}: {f['rate']:7.0f} calls/s, p50 {f['p50'] * 1e3:6.2f} ms, "
                         f"p99 {f['p99'] * 1e3:6.2f} ms{failures}")  # fmt: skip
        ratio = r[phase]["grpc"]["p50"] / r[phase]["http"]["p50"]
        lines.append(f"{'':>18} gRPC p50 / HTTP p50 = {ratio:.2f} (target <= 1)")
    return "\n".join(lines)


def test_bench_grpc(benchmark):
    """pytest-benchmark entry: one full run, figures in extra_info."""
    results = benchmark.pedantic(lambda: run_bench(400), rounds=1, iterations=1)
    benchmark.extra_info.update(results)
    print(report(results))
    assert results["many"]["http"]["failures"] == 0 and results["many"]["grpc"]["failures"] == 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench_grpc.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("command", nargs="?", default="bench", choices=("bench", "serve"))
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--per-client", type=int, default=20)
    parser.add_argument("--client-procs", type=int, default=1, help="load-generator processes for the clients")
    parser.add_argument("--http-only", action="store_true",
                        help="serve: HTTP alone; bench: also a control run against such a server")  # fmt: skip
    parser.add_argument("--rest-url", help="serve: external emulator REST URL")
    parser.add_argument("--ws-url", help="serve: external emulator WebSocket URL")
    args = parser.parse_args(argv)
    if args.command == "serve":
        anyio.run(_serve, args.rest_url, args.ws_url, not args.http_only)
        return
    results = run_bench(args.calls, args.clients, args.per_client, args.client_procs)
    print(f"{args.client_procs} client process(es)")
    print(report(results))
    if args.http_only:
        with running_server(with_grpc=False) as server:
            one = anyio.run(_sequential, server, args.calls)["http"]
            many = run_concurrent("http", server["http"], args.clients, args.per_client, args.client_procs)
        print("control, the same server without gRPC:")
        print(f"{'1 client':>18} http: {one['rate']:7.0f} calls/s, p50 {one['p50'] * 1e3:6.2f} ms, p99 {one['p99'] * 1e3:6.2f} ms")
        print(f"{'many':>18} http: {many['rate']:7.0f} calls/s, p50 {many['p50'] * 1e3:6.2f} ms, "
              f"p99 {many['p99'] * 1e3:6.2f} ms, {many['failures']} failed clients")  # fmt: skip


if __name__ == "__main__":
    main()
