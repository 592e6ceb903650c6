"""What a hostile or careless HTTP client found (issue 10): deep JSON, huge bodies, JSON-RPC
edge cases, Host/Origin look-alikes, session floods, idle streams at shutdown and clients
that hang up mid-body. Real sockets on 127.0.0.1, the full app on Hypercorn."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator

import anyio
import httpx
import pytest

from obmcp.backend import Backend
from obmcp.config import ServerSettings
from obmcp import http as obmcp_http
from obmcp.http import build_http_app, serve_http
from obmcp.server import build_server
from tests.obmcp.conftest import free_port, running_http

pytestmark = pytest.mark.anyio

ACCEPT = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
INIT = {
    "jsonrpc": "2.0", "id": 1, "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}
MAX_BODY_BYTES = getattr(obmcp_http, "MAX_BODY_BYTES", 4 << 20)
PING = {"jsonrpc": "2.0", "id": 7, "method": "ping"}


def settings(**kw) -> ServerSettings:
    return ServerSettings(mode="http", port=free_port(), **kw)


async def _session(http: httpx.AsyncClient, url: str) -> dict[str, str]:
    init = await http.post(url, json=INIT, headers=ACCEPT)
    assert init.status_code == 200, init.text
    return {**ACCEPT, "mcp-session-id": init.headers["mcp-session-id"], "mcp-protocol-version": "2025-11-25"}


async def _raw(url: str, head: bytes, body_parts: list[bytes], *, close_after: bool = False,
               timeout: float = 5.0) -> bytes:
    """Send a hand-made HTTP/1.1 request on a raw socket; return what the server answered."""
    port = int(url.split(":")[2].split("/")[0])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head)
        for part in body_parts:
            writer.write(part)
            await writer.drain()
        if close_after:
            return b""
        with contextlib.suppress(asyncio.TimeoutError):
            return await asyncio.wait_for(reader.read(4096), timeout)
        return b""
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


def _head(method: str, length: int | None, extra: str = "") -> bytes:
    lines = [f"{method} /mcp HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json",
             "Accept: application/json, text/event-stream"]
    lines.append(f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked")
    return ("\r\n".join(lines) + "\r\n" + extra + "\r\n").encode()


# --- item 2: deep nesting ------------------------------------------------------------------


@pytest.mark.parametrize("body", ["[" * 100_000, "[" * 100_000 + "]" * 100_000, '{"a":' * 50_000 + "1" + "}" * 50_000])
@pytest.mark.parametrize("with_session", [False, True, "stateless"], ids=["no-session", "session", "2026-07-28"])
async def test_deeply_nested_json_is_a_400_json_rpc_error(body, with_session):
    async with running_http(settings()) as url, httpx.AsyncClient() as http:
        if with_session == "stateless":
            headers = {**ACCEPT, "mcp-protocol-version": "2026-07-28"}
        else:
            headers = await _session(http, url) if with_session else ACCEPT
        response = await http.post(url, content=body, headers=headers)
        assert response.status_code == 400, response.text[:200]
        error = response.json()["error"]
        assert error["code"] in (-32700, -32600)
        assert (await http.post(url, json=INIT, headers=ACCEPT)).status_code == 200  # still serving


# --- item 3: bounded bodies ----------------------------------------------------------------


@pytest.mark.parametrize("with_session", [False, True, "stateless"], ids=["no-session", "session", "2026-07-28"])
async def test_body_over_the_limit_refused_by_content_length(with_session):
    async with running_http(settings()) as url, httpx.AsyncClient() as http:
        extra = ""
        if with_session == "stateless":
            extra = "MCP-Protocol-Version: 2026-07-28\r\n"
        elif with_session:
            extra = f"Mcp-Session-Id: {(await _session(http, url))['mcp-session-id']}\r\n"
        # Only the head is sent: the answer must come without the 20 MB body.
        answer = await _raw(url, _head("POST", 20 << 20, extra), [])
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        assert b'"jsonrpc"' in answer


@pytest.mark.parametrize("with_session", [False, True, "stateless"], ids=["no-session", "session", "2026-07-28"])
async def test_chunked_body_reading_stops_at_the_limit(with_session):
    async with running_http(settings()) as url, httpx.AsyncClient() as http:
        extra = ""
        if with_session == "stateless":
            extra = "MCP-Protocol-Version: 2026-07-28\r\n"
        elif with_session:
            extra = f"Mcp-Session-Id: {(await _session(http, url))['mcp-session-id']}\r\n"
        chunk = b"x" * (256 << 10)
        parts = [f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"] * (MAX_BODY_BYTES // len(chunk) + 2)
        # The body never ends (no final 0-chunk): the server must answer once past the limit.
        answer = await _raw(url, _head("POST", None, extra), parts)
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]


# --- item 15: JSON-RPC edges ---------------------------------------------------------------

INVALID_REQUESTS = {
    "id-null": {"jsonrpc": "2.0", "id": None, "method": "ping"},
    "id-float": {"jsonrpc": "2.0", "id": 1.5, "method": "ping"},
    "id-true": {"jsonrpc": "2.0", "id": True, "method": "ping"},
    "id-object": {"jsonrpc": "2.0", "id": {"a": 1}, "method": "ping"},
    "method-number": {"jsonrpc": "2.0", "id": 3, "method": 5},
    "no-jsonrpc": {"id": 3, "method": "ping"},
    "jsonrpc-1.0": {"jsonrpc": "1.0", "id": 3, "method": "ping"},
    "params-string": {"jsonrpc": "2.0", "id": 3, "method": "ping", "params": "x"},
    "no-method-no-result": {"jsonrpc": "2.0", "id": 3},
    "result-and-error": {"jsonrpc": "2.0", "id": 3, "result": {}, "error": {"code": 1, "message": "m"}},
    "batch": [{"jsonrpc": "2.0", "id": 3, "method": "ping"}],
    "empty-batch": [],
    "number": 42,
}


@pytest.mark.parametrize("name", list(INVALID_REQUESTS))
async def test_invalid_request_object_is_32600(name):
    async with running_http(settings()) as url, httpx.AsyncClient() as http:
        headers = await _session(http, url)
        response = await http.post(url, json=INVALID_REQUESTS[name], headers=headers)
        assert response.status_code == 400, (response.status_code, response.text)
        answer = response.json()
        assert answer["jsonrpc"] == "2.0" and answer["error"]["code"] == -32600
        assert answer["id"] == (3 if isinstance(INVALID_REQUESTS[name], dict)
                                and INVALID_REQUESTS[name].get("id") == 3 else None)


async def test_id_1e999_is_not_silently_dropped():
    async with running_http(settings()) as url, httpx.AsyncClient() as http:
        headers = await _session(http, url)
        response = await http.post(url, content=b'{"jsonrpc":"2.0","id":1e999,"method":"ping"}', headers=headers)
        assert response.status_code == 400 and response.json()["error"]["code"] == -32600
        # The session still answers a valid request.
        assert (await http.post(url, json=PING, headers=headers)).json()["id"] == 7


async def test_not_json_is_a_parse_error():
    async with running_http(settings()) as url, httpx.AsyncClient() as http:
        for headers in (ACCEPT, await _session(http, url)):
            response = await http.post(url, content=b"{nope", headers=headers)
            assert response.status_code == 400 and response.json()["error"]["code"] == -32700


@pytest.mark.parametrize(
    ("header", "value", "status"),
    [
        ("origin", "http://localhost:1@evil.example", 403),
        ("origin", "http://127.0.0.1:80.evil.example", 403),
        ("origin", "http://localhost:", 403),
        ("origin", "http://localhost:6274", 200),
        ("origin", "http://localhost", 200),
        ("host", "localhost:1@evil.example", 421),
        ("host", "127.0.0.1:8000.evil.example", 421),
        ("host", "localhost:8000", 200),
    ],
)
async def test_host_and_origin_matched_exactly(header, value, status):
    async with running_http(settings()) as url, httpx.AsyncClient() as http:
        response = await http.post(url, json=INIT, headers={**ACCEPT, header: value})
        assert response.status_code == status, response.text


# --- item 4: session lockout ---------------------------------------------------------------


async def test_full_cap_reclaims_the_least_recently_used_idle_session():
    async with running_http(settings(max_sessions=3, session_reclaim_seconds=0.3)) as url, httpx.AsyncClient() as http:
        oldest = await _session(http, url)
        middle = await _session(http, url)
        newest = await _session(http, url)
        # Within the grace nobody is reclaimed: the cap answers 503 as before.
        assert (await http.post(url, json=INIT, headers=ACCEPT)).status_code == 503
        await anyio.sleep(0.5)
        assert (await http.post(url, json=PING, headers=oldest)).status_code == 200  # oldest is used again
        await anyio.sleep(0.05)
        fourth = await _session(http, url)  # reclaims `middle`, the least recently used
        gone = await http.post(url, json=PING, headers=middle)
        assert gone.status_code == 404 and gone.json()["error"]["code"] == -32001
        for alive in (oldest, newest, fourth):
            assert (await http.post(url, json=PING, headers=alive)).status_code == 200


async def test_a_session_with_an_open_stream_is_never_reclaimed():
    async with running_http(settings(max_sessions=1, session_reclaim_seconds=0.1)) as url:
        async with httpx.AsyncClient(timeout=10) as http:
            holder = await _session(http, url)
            async with http.stream("GET", url, headers={**holder, "accept": "text/event-stream"}) as stream:
                assert stream.status_code == 200
                await anyio.sleep(0.3)
                async with httpx.AsyncClient() as other:
                    assert (await other.post(url, json=INIT, headers=ACCEPT)).status_code == 503


# --- item 11: shutdown with an idle GET stream --------------------------------------------


@contextlib.asynccontextmanager
async def _server(cfg: ServerSettings) -> AsyncIterator[tuple[str, anyio.Event, list[float]]]:
    app = build_http_app(build_server(cfg, Backend()), cfg)
    stop = anyio.Event()
    bound: list[str] = []
    ended: list[float] = []

    async def serve() -> None:
        await serve_http(app, cfg, stop.wait, bound.extend)
        ended.append(time.monotonic())

    async with anyio.create_task_group() as tg:
        tg.start_soon(serve)
        with anyio.fail_after(10):
            while not bound:
                await anyio.sleep(0.01)
        yield bound[0] + "/mcp", stop, ended
        stop.set()


async def test_shutdown_closes_idle_get_streams_at_once():
    async with _server(settings()) as (url, stop, ended):
        async with httpx.AsyncClient(timeout=40) as http:
            headers = await _session(http, url)
            with contextlib.suppress(httpx.HTTPError):
                async with http.stream("GET", url, headers={**headers, "accept": "text/event-stream"}) as stream:
                    assert stream.status_code == 200
                    started = time.monotonic()
                    stop.set()
                    async for _ in stream.aiter_bytes():
                        pass
        with anyio.fail_after(40):
            while not ended:
                await anyio.sleep(0.05)
    assert ended[0] - started < 5.0, f"shutdown took {ended[0] - started:.1f} s"


# --- item 13: client disconnect mid-body ---------------------------------------------------


@pytest.mark.parametrize("with_session", [False, True, "stateless"], ids=["no-session", "session", "2026-07-28"])
async def test_client_disconnect_mid_body_logs_one_info_line(with_session, caplog):
    caplog.set_level(logging.DEBUG)
    async with running_http(settings()) as url, httpx.AsyncClient() as http:
        extra = ""
        if with_session == "stateless":
            extra = "MCP-Protocol-Version: 2026-07-28\r\n"
        elif with_session:
            extra = f"Mcp-Session-Id: {(await _session(http, url))['mcp-session-id']}\r\n"
        caplog.clear()
        for _ in range(3):
            await _raw(url, _head("POST", 5000, extra), [b'{"jsonrpc": "2.0", '], close_after=True)
        await anyio.sleep(0.5)
        assert (await http.post(url, json=INIT, headers=ACCEPT)).status_code == 200
    with_trace = [r for r in caplog.records if r.exc_info or r.exc_text or "Traceback" in r.getMessage()]
    assert with_trace == []
    lines = [r for r in caplog.records if "disconnect" in r.getMessage().lower()]
    assert len(lines) == 3 and {r.levelno for r in lines} == {logging.INFO}, [r.getMessage() for r in lines]


# --- the fuzz: no 500, still answering -----------------------------------------------------


def _fuzz_bodies() -> list[bytes]:
    import random

    rng = random.Random(10)
    values: list[object] = [None, True, False, 0, -1, 1.5, 1e308, "", "x" * 300, [], {}, [[[]]], {"a": {"b": []}},
                            2**70, "ping", "initialize", "tools/call", "\u0000", "\ud7ff"]
    keys = ["jsonrpc", "id", "method", "params", "result", "error", "name", "arguments", "_meta"]
    bodies: list[bytes] = [b"", b" ", b"null", b"{}", b"[]", b"\xff\xfe", b'{"jsonrpc":"2.0"', b"[" * 5000,
                           b'{"jsonrpc":"2.0","id":1,"method":"ping"}' * 2, b"\x00" * 64, b"1e999", b'"str"']
    for _ in range(260):
        message: dict[str, object] = {}
        for key in rng.sample(keys, rng.randint(0, len(keys))):
            message[key] = rng.choice(values)
        if rng.random() < 0.6:
            message["jsonrpc"] = "2.0"
        if rng.random() < 0.4:
            message["method"] = rng.choice(["ping", "tools/list", "tools/call", "initialize", "nope", "notifications/x"])
        if rng.random() < 0.2:
            message["params"] = {"name": rng.choice(["binance_get_ticker", "x", 5]), "arguments": rng.choice(values)}
        body = json.dumps(message).encode()
        if rng.random() < 0.1:
            body = body[: rng.randint(0, len(body))]
        bodies.append(body)
    return bodies


async def test_fuzzed_requests_never_get_a_500():
    bodies = _fuzz_bodies()
    statuses: dict[int, int] = {}
    async with running_http(settings()) as url, httpx.AsyncClient(timeout=10) as http:
        session = await _session(http, url)
        await http.post(url, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=session)
        for i, body in enumerate(bodies):
            headers = session if i % 2 else ACCEPT
            response = await http.post(url, content=body, headers=headers)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            if response.status_code >= 400:
                assert response.headers["content-type"].startswith("application/json"), body
                assert response.json()["jsonrpc"] == "2.0"
            # A session may be ended by nothing the fuzz sends but initialize-like noise.
            if i % 50 == 0:
                assert (await http.post(url, json=PING, headers=session)).status_code == 200
        assert (await http.post(url, json=PING, headers=session)).json()["id"] == 7
    assert all(status < 500 for status in statuses), statuses
    assert sum(statuses.values()) == len(bodies) >= 270


# --- item 8: remote use end to end (token + OBMCP_ALLOWED_HOSTS + Origin) ------------------


async def test_remote_use_needs_the_token_and_the_host_listed():
    token = "r" * 40
    remote = {**ACCEPT, "authorization": f"Bearer {token}"}
    async with running_http(settings(token=token)) as url, httpx.AsyncClient() as http:
        port = url.split(":")[2].split("/")[0]
        refused = await http.post(url, json=INIT, headers={**remote, "host": f"mybox.lan:{port}"})
        assert refused.status_code == 421 and "OBMCP_ALLOWED_HOSTS" in refused.json()["error"]["message"]
    cfg = settings(token=token, allowed_hosts=("mybox.lan:*",), allowed_origins=("https://app.example",))
    async with running_http(cfg) as url, httpx.AsyncClient() as http:
        port = url.split(":")[2].split("/")[0]
        lan = {**remote, "host": f"mybox.lan:{port}"}
        assert (await http.post(url, json=INIT, headers={**lan, "authorization": "Bearer wrong"})).status_code == 401
        assert (await http.post(url, json=INIT, headers=lan)).status_code == 200
        assert (await http.post(url, json=INIT, headers={**lan, "origin": "https://app.example"})).status_code == 200
        evil = await http.post(url, json=INIT, headers={**lan, "origin": "https://app.example.evil"})
        assert evil.status_code == 403 and "OBMCP_ALLOWED_ORIGINS" in evil.json()["error"]["message"]


async def test_made_up_session_ids_leave_no_state_behind():
    cfg = settings()
    app = build_http_app(build_server(cfg, Backend()), cfg)
    async with _server_app(cfg, app) as url, httpx.AsyncClient() as http:
        real = await _session(http, url)
        for i in range(200):
            made_up = {**ACCEPT, "mcp-session-id": f"made-up-{i}", "mcp-protocol-version": "2025-11-25"}
            assert (await http.post(url, json=PING, headers=made_up)).status_code == 404
        assert (await http.post(url, json=PING, headers=real)).status_code == 200
        assert set(app._sessions.last_used) == {real["mcp-session-id"]}
        assert (await http.delete(url, headers=real)).status_code == 200
        assert app._sessions.last_used == {} and app._sessions.in_flight == {}


@contextlib.asynccontextmanager
async def _server_app(cfg: ServerSettings, app) -> AsyncIterator[str]:
    stop = anyio.Event()
    bound: list[str] = []
    async with anyio.create_task_group() as tg:
        tg.start_soon(serve_http, app, cfg, stop.wait, bound.extend)
        with anyio.fail_after(10):
            while not bound:
                await anyio.sleep(0.01)
        yield bound[0] + "/mcp"
        stop.set()
