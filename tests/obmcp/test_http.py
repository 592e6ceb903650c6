"""Streamable HTTP end to end on Hypercorn (real sockets on 127.0.0.1): the SDK client over
HTTP/1.1 and over h2c (prior knowledge), the session rules, Host/Origin and the token."""

from __future__ import annotations

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from obmcp import book_service
from obmcp.backend import Backend
from obmcp.config import ServerSettings
from tests.obmcp.conftest import FakeStreams, free_port, running_http
from tests.obmcp.fakes import FakeRestClient

pytestmark = pytest.mark.anyio

ACCEPT = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
INIT = {
    "jsonrpc": "2.0", "id": 1, "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}


@pytest.fixture
def backend(eth_session, monkeypatch):
    monkeypatch.setattr(book_service, "_now_ms", lambda: eth_session.last_event_time_ms + 100)
    return Backend(client=FakeRestClient(), streams=FakeStreams({"ETHUSDT": eth_session}))


def settings(**kw) -> ServerSettings:
    return ServerSettings(mode="http", port=free_port(), **kw)


def sse_json(response: httpx.Response) -> dict:
    import json

    for line in response.text.splitlines():
        if line.startswith("data: "):
            return json.loads(line[6:])
    return response.json()


@pytest.mark.parametrize("http2", [False, True], ids=["http1.1", "h2c"])
async def test_sdk_client_calls_tools(backend, http2):
    versions: list[str] = []

    async def record(response: httpx2.Response) -> None:
        versions.append(response.http_version)

    async with running_http(settings(), backend) as url:
        http_client = httpx2.AsyncClient(http1=not http2, http2=http2, event_hooks={"response": [record]})
        async with http_client, Client(streamable_http_client(url, http_client=http_client), mode="legacy") as client:
            names = {t.name for t in (await client.list_tools()).tools}
            assert "binance_orderbook_l1" in names
            l1 = await client.call_tool("binance_orderbook_l1", {"symbol": "ETHUSDT"})
            assert not l1.is_error and l1.structured_content["data_quality"]["ok"] is True
            bad = await client.call_tool("binance_get_ticker", {"symbol": "NOPEUSDT"})
            assert bad.is_error and "-1121" in bad.content[0].text
    assert versions and set(versions) == {"HTTP/2" if http2 else "HTTP/1.1"}


async def test_sdk_client_auto_mode_speaks_the_stateless_revision(backend):
    # The default mode probes server/discover; before 2026-07-28 was served it fell back
    # to initialize. Both revisions: tests/obmcp/test_http_revisions.py.
    async with running_http(settings(), backend) as url, Client(url) as client:
        assert client.server_info.name == "obmcp" and client.protocol_version == "2026-07-28"
        assert (await client.call_tool("binance_get_avg_price", {"symbol": "ETHUSDT"})).structured_content["mins"] == 5


async def test_raw_h2c_initialize_and_call(backend):
    async with running_http(settings(), backend) as url:
        async with httpx.AsyncClient(http1=False, http2=True) as http:
            init = await http.post(url, json=INIT, headers=ACCEPT)
            assert init.http_version == "HTTP/2" and init.status_code == 200
            sid = init.headers["mcp-session-id"]
            headers = {**ACCEPT, "mcp-session-id": sid, "mcp-protocol-version": "2025-11-25"}
            note = {"jsonrpc": "2.0", "method": "notifications/initialized"}
            assert (await http.post(url, json=note, headers=headers)).status_code == 202
            call = {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                    "params": {"name": "binance_orderbook_l2", "arguments": {"symbol": "ETHUSDT"}}}
            answer = sse_json(await http.post(url, json=call, headers=headers))
            assert answer["result"]["structuredContent"]["levels"] == 20


async def _initialize(http: httpx.AsyncClient, url: str) -> str:
    response = await http.post(url, json=INIT, headers=ACCEPT)
    assert response.status_code == 200, response.text
    return response.headers["mcp-session-id"]


async def test_session_rules(backend):
    async with running_http(settings(max_sessions=2), backend) as url, httpx.AsyncClient() as http:
        listing = {"jsonrpc": "2.0", "id": 5, "method": "tools/list"}
        missing = await http.post(url, json=listing, headers=ACCEPT)
        assert missing.status_code == 400 and missing.json()["error"]["code"] == -32002
        assert (await http.get(url, headers=ACCEPT)).json()["error"]["code"] == -32002
        unknown = await http.post(url, json=listing, headers={**ACCEPT, "mcp-session-id": "nope"})
        assert unknown.status_code == 404 and unknown.json()["error"]["code"] == -32001
        first, second = await _initialize(http, url), await _initialize(http, url)
        full = await http.post(url, json=INIT, headers=ACCEPT)
        assert full.status_code == 503 and full.json()["error"]["code"] == -32000
        # The cap does not turn a request without a session into a 503.
        assert (await http.post(url, json=listing, headers=ACCEPT)).status_code == 400
        listed = await http.post(url, json=listing, headers={**ACCEPT, "mcp-session-id": first})
        assert listed.status_code == 200 and "binance_get_ticker" in listed.text
        deleted = await http.delete(url, headers={"mcp-session-id": second})
        assert deleted.status_code == 200
        gone = await http.post(url, json=listing, headers={**ACCEPT, "mcp-session-id": second})
        assert gone.status_code == 404 and gone.json()["error"]["code"] == -32001
        await _initialize(http, url)  # the deleted session's place is free again


async def test_idle_sessions_expire(backend):
    import anyio

    async with running_http(settings(session_idle_seconds=0.3), backend) as url, httpx.AsyncClient() as http:
        sid = await _initialize(http, url)
        headers = {**ACCEPT, "mcp-session-id": sid}
        ping = {"jsonrpc": "2.0", "id": 9, "method": "ping"}
        assert (await http.post(url, json=ping, headers=headers)).status_code == 200
        await anyio.sleep(0.8)
        expired = await http.post(url, json=ping, headers=headers)
        assert expired.status_code == 404 and expired.json()["error"]["code"] == -32001


async def test_host_and_origin_checked(backend):
    async with running_http(settings(), backend) as url, httpx.AsyncClient() as http:
        evil_origin = await http.post(url, json=INIT, headers={**ACCEPT, "origin": "http://evil.example"})
        assert evil_origin.status_code == 403
        evil_host = await http.post(url, json=INIT, headers={**ACCEPT, "host": "evil.example"})
        assert evil_host.status_code == 421
        ok = await http.post(url, json=INIT, headers={**ACCEPT, "origin": "http://localhost:6274"})
        assert ok.status_code == 200


async def test_unsupported_protocol_version(backend):
    async with running_http(settings(), backend) as url, httpx.AsyncClient() as http:
        response = await http.post(url, json=INIT, headers={**ACCEPT, "mcp-protocol-version": "1999-01-01"})
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["code"] == -32022 and "2025-11-25" in error["data"]["supported"]


async def test_bearer_token_on_every_request(backend):
    async with running_http(settings(token="s3cret-token-of-32-characters-ok"), backend) as url, httpx.AsyncClient() as http:
        assert (await http.post(url, json=INIT, headers=ACCEPT)).status_code == 401
        wrong = await http.post(url, json=INIT, headers={**ACCEPT, "authorization": "Bearer nope"})
        assert wrong.status_code == 401 and "s3cret" not in wrong.text
        auth = {**ACCEPT, "authorization": "Bearer s3cret-token-of-32-characters-ok"}
        sid = (await http.post(url, json=INIT, headers=auth)).headers["mcp-session-id"]
        ping = {"jsonrpc": "2.0", "id": 3, "method": "ping"}
        assert (await http.post(url, json=ping, headers={**ACCEPT, "mcp-session-id": sid})).status_code == 401
        assert (await http.post(url, json=ping, headers={**auth, "mcp-session-id": sid})).status_code == 200


def test_non_loopback_bind_needs_a_token():
    from obcore.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match="OBMCP_TOKEN"):
        ServerSettings(mode="http", host="0.0.0.0")
    assert ServerSettings(mode="http", host="0.0.0.0", token="t" * 32).host == "0.0.0.0"
