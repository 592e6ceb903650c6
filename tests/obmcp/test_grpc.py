"""The gRPC provider (issue 13): the generated client over every tool, status mapping with
the MCP error text, token, deadlines, cancellation, the analytics switch, and the real
``obmcp serve --mode grpc`` process (reflection, health, graceful SIGTERM)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from mcp.shared.exceptions import MCPError
from pydantic import BaseModel

from obcore.errors import BookNotReadyError, InvalidInputError, ObcoreError, RateLimitError, TradingDisabledError

from obmcp import book_service
from obmcp._proto.provider.v1 import provider_pb2 as pb
from obmcp._proto.provider.v1 import provider_pb2_grpc as pb_grpc
from obmcp.backend import Backend
from obmcp.catalog import ANALYTICS, READ_ONLY_LOCAL, Arguments, ToolContext, ToolEntry, describe_error, wire_name
from obmcp.cli import build_parser
from obmcp.config import ServerSettings, settings_from_env
from obmcp.grpc_transport import STATUS_BY_CODE, ProviderService, build_provider, serve_grpc
from obmcp.server import CatalogServer, build_server
from obmcp.tools import CATALOG
from tests.obmcp.conftest import FakeStreams, free_port
from tests.obmcp.fakes import FakeRestClient
from tests.obmcp.test_parity import normalise, normalise_text, sample_arguments

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
TOKEN = "s3cret-token-of-32-characters-ok"


@pytest.fixture
def backend(eth_session, monkeypatch):
    monkeypatch.setattr(book_service, "_now_ms", lambda: eth_session.last_event_time_ms + 100)
    return Backend(client=FakeRestClient(), streams=FakeStreams({"ETHUSDT": eth_session}))


@contextlib.asynccontextmanager
async def running_grpc(service: ProviderService, settings: ServerSettings) -> AsyncIterator[grpc.aio.Channel]:
    """Serve ``service`` in this event loop on a free port; yields a channel to it."""
    stop = anyio.Event()
    bound: list[str] = []
    async with anyio.create_task_group() as tg:
        tg.start_soon(serve_grpc, service, settings, stop.wait, bound.extend)
        with anyio.fail_after(10):
            while not bound:
                await anyio.sleep(0.01)
        try:
            async with grpc.aio.insecure_channel(bound[0]) as channel:
                yield channel
        finally:
            stop.set()


def grpc_settings(**kw: Any) -> ServerSettings:
    return ServerSettings(mode="grpc", port=0, **kw)


# ------------------------------------------------------------------------ every tool


async def test_generated_client_lists_and_invokes_every_tool(backend):
    settings = grpc_settings()
    mcp = build_server(settings, backend)
    async with running_grpc(build_provider(settings, mcp), settings) as channel:
        stub = pb_grpc.ProviderStub(channel)
        caps = await stub.ListCapabilities(pb.ListCapabilitiesRequest(), timeout=10)
        assert [t.name for t in caps.tools] == [wire_name(e, settings.tool_name) for e in CATALOG]
        assert caps.server_name == "obmcp" and caps.instructions
        assert [p.name for p in caps.prompts] == [p.name for p in await mcp.list_prompts()]
        assert [r.uri for r in caps.resources] == [str(r.uri) for r in await mcp.list_resources()]
        assert [t.uri_template for t in caps.resource_templates] == [
            t.uri_template for t in await mcp.list_resource_templates()] and caps.resource_templates
        answered = 0
        for tool, entry in zip(caps.tools, CATALOG, strict=True):
            assert json.loads(tool.input_schema_json)["additionalProperties"] is False
            assert tool.group == entry.group and tool.annotations.read_only == entry.hints.read_only
            arguments = sample_arguments(entry.input_schema)
            over_mcp = await mcp.call_tool(tool.name, arguments)
            request = pb.InvokeRequest(tool=tool.name, arguments_json=json.dumps(arguments))
            if over_mcp.is_error:  # the fake backend has no store and few trades (heatmap, volume profile)
                with pytest.raises(grpc.aio.AioRpcError) as refused:
                    await stub.Invoke(request, timeout=10)
                assert refused.value.details() == over_mcp.content[0].text
                continue
            answer = await stub.Invoke(request, timeout=10)
            assert not answer.is_error and answer.error_code == ""
            entry.output_model.model_validate_json(answer.structured_json)  # the schema's shape
            # The analytics read the wall clock (ages of the 2024 recording move between the two
            # calls); the rest the held one. Times and ages compared as present only.
            assert normalise_text(answer.text) == normalise_text(over_mcp.content[0].text)
            now_ms = int(time.time() * 1000)
            assert normalise(json.loads(answer.structured_json), now_ms, plausible=False) == normalise(
                over_mcp.structured_content, now_ms, plausible=False)
            answered += 1
        assert answered >= 10  # the 6 REST tools, 3 live-book tools, order flow


async def test_errors_as_results_and_bad_json(backend):
    settings = grpc_settings()
    async with running_grpc(build_provider(settings, build_server(settings, backend)), settings) as channel:
        stub = pb_grpc.ProviderStub(channel)
        answer = await stub.Invoke(pb.InvokeRequest(
            tool="binance_orderbook_l1", arguments_json='{"symbol": "ethusdt"}', errors_as_results=True), timeout=10)
        assert answer.is_error and answer.error_code == "invalid_input" and answer.structured_json == ""
        assert answer.text.startswith("invalid_input: symbol 'ethusdt'") and "use upper case" in answer.text
        for text in ('{"symbol": ', '{"symbol": "ETHUSDT", "top_n": NaN}'):
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await stub.Invoke(pb.InvokeRequest(tool="binance_orderbook_l1", arguments_json=text), timeout=10)
            assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert refused.value.details().startswith("invalid_input: arguments_json is not a JSON object")
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.Invoke(pb.InvokeRequest(tool="binance_orderbook_l1", arguments_json="[1]"), timeout=10)
        assert refused.value.details() == "invalid_input: arguments [1]: expected an object"


# ------------------------------------------------------------------------ error statuses


class _NoArguments(Arguments):
    pass


class _Done(BaseModel):
    done: bool


def _entry(name: str, run: Any, group: str = "core") -> ToolEntry[Any, Any]:
    return ToolEntry(name=name, title=name, description=f"test tool {name}", input_model=_NoArguments,
                     output_model=_Done, hints=READ_ONLY_LOCAL, run=run, summary=lambda args, result: "done",
                     group=group)  # fmt: skip


class _WebsocketDisconnected(ObcoreError):
    code = "websocket_disconnected"


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (InvalidInputError("limit 7: expected one of 5, 10"), grpc.StatusCode.INVALID_ARGUMENT),
        (TradingDisabledError("trading is off: set OBMCP_TRADING=1"), grpc.StatusCode.FAILED_PRECONDITION),
        (BookNotReadyError("ETHUSDT book is RESYNCING after a gap"), grpc.StatusCode.UNAVAILABLE),
        (_WebsocketDisconnected("the depth stream is down"), grpc.StatusCode.UNAVAILABLE),
        (RateLimitError(-1003, "Too many requests.", 429, retry_after=3.0), grpc.StatusCode.RESOURCE_EXHAUSTED),
        (RuntimeError("boom"), grpc.StatusCode.INTERNAL),
    ],
    ids=lambda v: getattr(v, "code", v.__class__.__name__) if not isinstance(v, grpc.StatusCode) else v.name,
)
async def test_errors_map_to_statuses_with_the_mcp_message(error, status):
    async def fail(context, args):
        raise error

    entry = _entry("failing", fail)
    context = ToolContext(Backend())
    mcp = CatalogServer([entry], context, lambda n: n, name="t")
    mcp_result = await mcp.call_tool("failing", {})
    assert mcp_result.is_error
    mcp_text = mcp_result.content[0].text
    if isinstance(error, ObcoreError):
        assert mcp_text == describe_error(error)
    async with running_grpc(ProviderService([entry], context, lambda n: n), grpc_settings()) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await pb_grpc.ProviderStub(channel).Invoke(pb.InvokeRequest(tool="failing"), timeout=10)
    assert refused.value.code() == status
    assert refused.value.details() == mcp_text
    assert dict(refused.value.trailing_metadata())["obmcp-error-code"] == mcp_text.split(":")[0].split(" ")[0]


def test_every_obcore_error_code_has_a_status():
    """A new error class must be given a gRPC status on purpose, not fall to UNKNOWN by accident."""
    # Every obcore module defining an error class of its own (so the walk below sees it).
    import obcore.client  # noqa: F401
    import obcore.confirmations  # noqa: F401
    import obcore.filters  # noqa: F401
    import obcore.trading  # noqa: F401

    codes = set()
    pending = [ObcoreError]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__module__.startswith("obcore") and cls is not ObcoreError:
            codes.add(cls.code)
    assert {"invalid_input", "trading_disabled", "book_not_ready", "rate_limited"} <= codes
    assert {"missing_credentials", "order_refused", "filter_violation", "confirmation_refused"} <= codes
    assert sorted(codes - set(STATUS_BY_CODE)) == []


async def test_unavailable_without_live_books_same_text_as_mcp():
    settings = grpc_settings()
    mcp = build_server(settings, Backend(client=FakeRestClient(), streams=None))
    mcp_text = (await mcp.call_tool("binance_orderbook_l1", {"symbol": "ETHUSDT"})).content[0].text
    async with running_grpc(build_provider(settings, mcp), settings) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await pb_grpc.ProviderStub(channel).Invoke(
                pb.InvokeRequest(tool="binance_orderbook_l1", arguments_json='{"symbol": "ETHUSDT"}'), timeout=10)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    assert refused.value.details() == mcp_text and mcp_text.startswith("book_not_ready: ")


# ------------------------------------------------------------------------ deadlines, cancellation


def _slow_entry(seconds: float = 30) -> tuple[ToolEntry[Any, Any], dict[str, Any]]:
    seen: dict[str, Any] = {"started": asyncio.Event(), "cancelled": asyncio.Event(), "finished": False}

    async def slow(context, args):
        seen["started"].set()
        try:
            await asyncio.sleep(seconds)
        except asyncio.CancelledError:
            seen["cancelled"].set()
            raise
        seen["finished"] = True
        return _Done(done=True)

    return _entry("slow", slow), seen


async def test_deadline_stops_the_tool():
    entry, seen = _slow_entry()
    async with running_grpc(ProviderService([entry], ToolContext(Backend()), lambda n: n), grpc_settings()) as channel:
        started = time.monotonic()
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await pb_grpc.ProviderStub(channel).Invoke(pb.InvokeRequest(tool="slow"), timeout=0.5)
        assert refused.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        with anyio.fail_after(5):
            await seen["cancelled"].wait()
        assert time.monotonic() - started < 10 and not seen["finished"]


async def test_client_cancellation_stops_the_tool():
    entry, seen = _slow_entry()
    async with running_grpc(ProviderService([entry], ToolContext(Backend()), lambda n: n), grpc_settings()) as channel:
        call = pb_grpc.ProviderStub(channel).Invoke(pb.InvokeRequest(tool="slow"))
        with anyio.fail_after(5):
            await seen["started"].wait()
        assert call.cancel()
        with anyio.fail_after(5):
            await seen["cancelled"].wait()
        assert not seen["finished"]


async def test_shutdown_lets_the_call_in_flight_finish_and_refuses_new_ones():
    entry, seen = _slow_entry(1.0)
    service = ProviderService([entry], ToolContext(Backend()), lambda n: n)
    stop = anyio.Event()
    bound: list[str] = []
    served = anyio.Event()

    async def serve() -> None:
        await serve_grpc(service, grpc_settings(), stop.wait, bound.extend)
        served.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(serve)
        with anyio.fail_after(10):
            while not bound:
                await anyio.sleep(0.01)
        async with grpc.aio.insecure_channel(bound[0]) as channel:
            stub = pb_grpc.ProviderStub(channel)
            call = stub.Invoke(pb.InvokeRequest(tool="slow"), timeout=20)
            with anyio.fail_after(5):
                await seen["started"].wait()
            stop.set()  # what SIGTERM does in obmcp serve
            await anyio.sleep(0.2)
            assert not served.is_set()  # still waiting for the call in flight
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await stub.Invoke(pb.InvokeRequest(tool="slow"), timeout=5)
            assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
            answer = await call
            assert answer.structured_json == '{"done":true}' and seen["finished"]
        with anyio.fail_after(5):
            await served.wait()


# ------------------------------------------------------------------------ token


async def test_bearer_token_required_except_for_health(backend):
    settings = grpc_settings(token=TOKEN)
    async with running_grpc(build_provider(settings, build_server(settings, backend)), settings) as channel:
        stub = pb_grpc.ProviderStub(channel)
        for metadata in ((), (("authorization", "Bearer wrong-token-of-32-characters-xx"),),
                         (("authorization", TOKEN),)):  # fmt: skip
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await stub.ListCapabilities(pb.ListCapabilitiesRequest(), metadata=metadata, timeout=10)
            assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
            assert refused.value.details() == "Unauthorized: missing or wrong bearer token"
        good = (("authorization", f"Bearer {TOKEN}"),)
        assert len((await stub.ListCapabilities(pb.ListCapabilitiesRequest(), metadata=good, timeout=10)).tools) == len(CATALOG)
        # Reflection is a streaming call: refused too without the token.
        reflect = reflection_pb2_grpc.ServerReflectionStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            async for _ in reflect.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")])):
                pass
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
        health = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
        assert health.status == health_pb2.HealthCheckResponse.SERVING


def test_grpc_settings_follow_the_http_rules(monkeypatch):
    assert settings_from_env({}, mode="grpc").port == 50053
    assert settings_from_env({"PORT": "6000"}, mode="grpc").port == 6000
    assert settings_from_env({}, mode="grpc", port=7000).port == 7000
    assert settings_from_env({}, mode="http").port == 8000
    with pytest.raises(InvalidInputError, match="'0.0.0.0' is not a loopback address: set OBMCP_TOKEN"):
        settings_from_env({}, mode="grpc", host="0.0.0.0")
    with pytest.raises(InvalidInputError, match="OBMCP_TOKEN has 5 characters"):
        settings_from_env({"OBMCP_TOKEN": "short"}, mode="grpc")
    assert settings_from_env({"OBMCP_TOKEN": TOKEN}, mode="grpc", host="0.0.0.0").token == TOKEN


async def test_port_in_use_is_one_clear_error():
    port = free_port()
    settings = ServerSettings(mode="grpc", port=port)
    entry, _ = _slow_entry()
    service = ProviderService([entry], ToolContext(Backend()), lambda n: n)
    stop = anyio.Event()
    bound: list[str] = []
    async with anyio.create_task_group() as tg:
        tg.start_soon(serve_grpc, service, settings, stop.wait, bound.extend)
        with anyio.fail_after(10):
            while not bound:
                await anyio.sleep(0.01)
        with pytest.raises(InvalidInputError, match=f"cannot listen for gRPC on 127.0.0.1:{port}"):
            await serve_grpc(service, settings, stop.wait)
        stop.set()


# ------------------------------------------------------------------------ analytics switch


async def test_analytics_tools_listed_nowhere_when_switched_off(backend):
    analytics_tools = [f"binance_{e.name}" for e in CATALOG if e.group == ANALYTICS]
    assert analytics_tools == [f"binance_{name}" for name in (
        "get_order_flow", "get_volume_profile", "detect_market_anomalies", "get_microstructure_health",
        "get_liquidity_vacuums")]  # the five analytics of SPEC.md
    for analytics in (True, False):
        settings = grpc_settings(analytics=analytics)
        mcp = build_server(settings, backend)
        mcp_names = [t.name for t in await mcp.list_tools()]
        async with running_grpc(build_provider(settings, mcp), settings) as channel:
            stub = pb_grpc.ProviderStub(channel)
            caps = await stub.ListCapabilities(pb.ListCapabilitiesRequest(), timeout=10)
            assert mcp_names == [t.name for t in caps.tools]
            if analytics:
                assert [t.name for t in caps.tools if t.group == ANALYTICS] == analytics_tools
                assert set(analytics_tools) <= set(mcp_names)
                flow = await stub.Invoke(pb.InvokeRequest(tool="binance_get_order_flow",
                                                          arguments_json='{"symbol": "ETHUSDT"}'), timeout=10)  # fmt: skip
                assert json.loads(flow.structured_json)["symbol"] == "ETHUSDT"
                continue
            assert not set(analytics_tools) & set(mcp_names) and len(mcp_names) == len(CATALOG) - len(analytics_tools)
            for name in analytics_tools:
                with pytest.raises(MCPError):
                    await mcp.call_tool(name, {"symbol": "ETHUSDT"})
                with pytest.raises(grpc.aio.AioRpcError) as refused:
                    await stub.Invoke(pb.InvokeRequest(tool=name, arguments_json='{"symbol": "ETHUSDT"}'), timeout=10)
                assert refused.value.code() == grpc.StatusCode.NOT_FOUND


def test_analytics_switch_flag_and_env():
    args = build_parser().parse_args(["serve", "--no-analytics"])
    assert args.analytics is False
    assert build_parser().parse_args(["serve"]).analytics is None
    assert settings_from_env({}).analytics is True
    assert settings_from_env({"OBMCP_ANALYTICS": "0"}).analytics is False
    assert settings_from_env({"OBMCP_ANALYTICS": "0"}).disabled_groups == {ANALYTICS}
    assert settings_from_env({"OBMCP_ANALYTICS": "off"}, analytics=None).analytics is False
    assert settings_from_env({"OBMCP_ANALYTICS": "1"}, analytics=False).analytics is False  # the flag wins
    with pytest.raises(InvalidInputError, match="OBMCP_ANALYTICS='maybe': expected 1/true/yes/on or 0/false/no/off"):
        settings_from_env({"OBMCP_ANALYTICS": "maybe"})


# ------------------------------------------------------------------------ the real process


def _reflected_stub(channel: grpc.Channel) -> tuple[Any, Any, Any]:
    """grpcurl-style: the Provider's descriptors from reflection only (no generated code)."""
    from google.protobuf import descriptor_pool, message_factory
    from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

    database = ProtoReflectionDescriptorDatabase(channel)
    services = database.get_services()
    pool = descriptor_pool.DescriptorPool(database)
    service = pool.FindServiceByName("provider.v1.Provider")
    classes = {m.name: (message_factory.GetMessageClass(m.input_type), message_factory.GetMessageClass(m.output_type))
               for m in service.methods}  # fmt: skip
    return services, service, classes


def test_serve_grpc_process_reflection_health_and_graceful_sigterm():
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "obmcp.cli", "serve", "--mode", "grpc", "--port", str(port), "--source", "emulator"],
        env=ENV, stderr=subprocess.PIPE, stdin=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        line = ""
        deadline = time.monotonic() + 30
        while "serving gRPC" not in line and time.monotonic() < deadline:
            line = proc.stderr.readline()
        assert f"obmcp: serving gRPC provider.v1.Provider at 127.0.0.1:{port}" in line, line
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            services, service, classes = _reflected_stub(channel)
            assert "provider.v1.Provider" in services and "grpc.health.v1.Health" in services
            assert [m.name for m in service.methods] == ["ListCapabilities", "Invoke", "ReadResource", "GetPrompt"]
            list_in, list_out = classes["ListCapabilities"]
            caps = channel.unary_unary("/provider.v1.Provider/ListCapabilities", request_serializer=list_in.SerializeToString,
                                       response_deserializer=list_out.FromString)(list_in(), timeout=10)  # fmt: skip
            assert [t.name for t in caps.tools] == [wire_name(e, lambda name: f"binance_{name}") for e in CATALOG]
            invoke_in, invoke_out = classes["Invoke"]
            reflected_invoke = channel.unary_unary("/provider.v1.Provider/Invoke", request_serializer=invoke_in.SerializeToString,
                                                   response_deserializer=invoke_out.FromString)  # fmt: skip
            ticker = reflected_invoke(invoke_in(tool="binance_get_ticker", arguments_json='{"symbol": "ETHUSDT"}'), timeout=10)
            assert json.loads(ticker.structured_json)["symbol"] == "ETHUSDT"
            health = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service="provider.v1.Provider"), timeout=10)
            assert health.status == health_pb2.HealthCheckResponse.SERVING
            # The first l1 call subscribes and waits for the sync; SIGTERM follows it (that the
            # call is still in flight then is proven in-process: test_shutdown_lets_…).
            stub = pb_grpc.ProviderStub(channel)
            call = stub.Invoke.future(pb.InvokeRequest(
                tool="binance_orderbook_l1", arguments_json='{"symbol": "ETHUSDT", "wait_seconds": 20}'), timeout=30)
            time.sleep(0.1)
            proc.send_signal(signal.SIGTERM)
            answer = call.result(timeout=30)
        assert not answer.is_error and json.loads(answer.structured_json)["data_quality"]["sync_state"] == "LIVE"
        assert proc.wait(timeout=40) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# ------------------------------------------------------------------------ without grpcio

_BLOCK_GRPC = """
import sys
class _NoGrpc:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('grpc', 'grpc_health', 'grpc_reflection', 'grpc_tools') or name.startswith('google.protobuf'):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, _NoGrpc())
"""


def _without_grpc(code: str, *, stdin: str = "", timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", _BLOCK_GRPC + code], env=ENV, input=stdin, capture_output=True,
                          text=True, timeout=timeout)  # fmt: skip


def test_import_obcore_and_stdio_serving_work_without_grpcio():
    probe = _without_grpc("import grpc")
    assert probe.returncode != 0 and "No module named 'grpc'" in probe.stderr  # the blocker works
    imported = _without_grpc("import obcore, obcore.book, obcore.streams, obmcp.cli, obmcp.server\n"
                             "assert not [m for m in sys.modules if m.split('.')[0] == 'grpc']; print('ok')")
    assert imported.returncode == 0 and imported.stdout.strip() == "ok", imported.stderr[-2000:]
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
    lines = [json.dumps(init), json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}),
             json.dumps({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})]  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-c", _BLOCK_GRPC + "from obmcp.cli import main\n"
         "sys.exit(main(['serve', '--mode', 'stdio', '--source', 'emulator']))"],
        env=ENV, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        proc.stdin.write("\n".join(lines) + "\n")
        proc.stdin.flush()
        answers = [json.loads(proc.stdout.readline()) for _ in range(2)]  # initialize, tools/list
        proc.stdin.close()
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert answers[1]["id"] == 2 and len(answers[1]["result"]["tools"]) == len(CATALOG), answers
    assert "grpc" not in proc.stderr.read().lower()


def test_mode_grpc_without_the_extra_is_one_clear_line():
    run = _without_grpc("from obmcp.cli import main\nsys.exit(main(['serve', '--mode', 'grpc', '--source', 'emulator']))")
    assert run.returncode == 2, run.stderr[-2000:]
    assert "Traceback" not in run.stderr
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert lines == ["obmcp: --mode grpc needs the grpc extra (module 'grpc' is not installed): pip install 'obcore[grpc]'"]
