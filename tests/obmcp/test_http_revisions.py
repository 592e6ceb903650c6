"""Both MCP revisions on one /mcp (real sockets on 127.0.0.1): 2026-07-28 served statelessly
(no handshake, no session, per-request _meta, server/discover, its error codes), 2025-11-25
and older with sessions and the seed's rules; the SDK client in its default mode and in
legacy mode uses every catalog tool."""

from __future__ import annotations

from typing import Any

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from obmcp import book_service
from obmcp.backend import Backend
from obmcp.config import ServerSettings
from obmcp.tools import CATALOG
from obmcp.tools.account import ACCOUNT_TOOLS
from tests.obmcp.conftest import FakeStreams, free_port, running_http
from tests.obmcp.test_connector import ExchangeClient

pytestmark = pytest.mark.anyio

MODERN = "2026-07-28"
ACCEPT = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
META = {
    "io.modelcontextprotocol/protocolVersion": MODERN,
    "io.modelcontextprotocol/clientInfo": {"name": "t", "version": "1"},
    "io.modelcontextprotocol/clientCapabilities": {},
}
INIT = {
    "jsonrpc": "2.0", "id": 1, "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}  # fmt: skip
#: Arguments for a tool that needs more than a symbol (a new tool with other required
#: arguments adds its sample here; the test below names the tool it cannot call).
SAMPLE_ARGUMENTS: dict[str, dict[str, Any]] = {"search": {"query": "ETH"}, "fetch": {"id": "symbol:ETHUSDT"}}
#: Tools that cannot answer with these fakes / this short emulator run, and the one tool
#: error they may give instead: the call still went through the revision's whole path to
#: the tool and back. Their answers are tested with data in test_analytics_tools and the
#: charts tests (and measured in test_answer_sizes).
EXPECTED_TOOL_ERRORS: dict[str, str] = {
    "binance_get_volume_profile": "insufficient_historical_data: ",
    "binance_get_depth_heatmap": "invalid_input: get_depth_heatmap needs the snapshot store",
    **{f"binance_{name}": "missing_credentials: " for name in ACCOUNT_TOOLS},  # no API key here
}


def check_used(tool_name: str, result: Any) -> None:
    """The call came back as the tool's answer (or its one expected data-less error)."""
    if result.is_error and tool_name in EXPECTED_TOOL_ERRORS:
        assert result.content[0].text.startswith(EXPECTED_TOOL_ERRORS[tool_name]), (tool_name, result.content)
        return
    assert not result.is_error, (tool_name, result.content)
    assert result.structured_content is not None, tool_name


@pytest.fixture
def backend(eth_session, monkeypatch):
    monkeypatch.setattr(book_service, "_now_ms", lambda: eth_session.last_event_time_ms + 100)
    # (the fake REST client, also answering exchangeInfo for the whole exchange: search)
    return Backend(client=ExchangeClient(), streams=FakeStreams({"ETHUSDT": eth_session}))


def settings(**kw) -> ServerSettings:
    return ServerSettings(mode="http", port=free_port(), **kw)


def modern(method: str, request_id: Any = 1, **params: Any) -> tuple[dict, dict]:
    """A 2026-07-28 request body and its headers."""
    body = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": {**params, "_meta": META}}
    headers = {**ACCEPT, "mcp-protocol-version": MODERN, "mcp-method": method}
    if method == "tools/call":
        headers["mcp-name"] = params["name"]
    return body, headers


def sample_arguments(tool: Any) -> dict[str, Any]:
    if tool.name in SAMPLE_ARGUMENTS:
        return SAMPLE_ARGUMENTS[tool.name]
    schema = tool.input_schema
    arguments = {"symbol": "ETHUSDT"} if "symbol" in schema.get("properties", {}) else {}
    missing = set(schema.get("required", ())) - set(arguments)
    assert not missing, f"{tool.name} requires {missing}: add its sample to SAMPLE_ARGUMENTS"
    return arguments


async def _use_every_tool(client: Client) -> set[str]:
    tools = (await client.list_tools()).tools
    assert len(tools) == len(CATALOG)
    used = set()
    for tool in tools:
        check_used(tool.name, await client.call_tool(tool.name, sample_arguments(tool)))
        used.add(tool.name)
    return used


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_sdk_client_uses_every_tool(backend, mode):
    session_ids: list[str] = []

    async def record(response: httpx2.Response) -> None:
        if "mcp-session-id" in response.headers:
            session_ids.append(response.headers["mcp-session-id"])

    async with running_http(settings(), backend) as url:
        http_client = httpx2.AsyncClient(event_hooks={"response": [record]})
        async with http_client, Client(streamable_http_client(url, http_client=http_client), mode=mode) as client:
            used = await _use_every_tool(client)
            if mode == "auto":
                # The default mode probes server/discover and stays on the stateless revision.
                assert client.protocol_version == MODERN
                assert client.server_info is not None and client.server_info.name == "obmcp"
            else:
                assert client.protocol_version == "2025-11-25"
    assert len(used) == len(CATALOG)
    assert bool(session_ids) == (mode == "legacy")  # a session only where the revision has them


async def test_modern_requests_are_stateless_and_follow_the_revision(backend):
    async with running_http(settings(max_sessions=1), backend) as url, httpx.AsyncClient() as http:
        body, headers = modern("server/discover")
        discover = await http.post(url, json=body, headers=headers)
        assert discover.status_code == 200 and "mcp-session-id" not in discover.headers
        result = discover.json()["result"]
        assert result["supportedVersions"] == [MODERN]
        # Nothing is published on subscriptions/listen (fixed tool list, no resources).
        assert not result["capabilities"]["tools"].get("listChanged")
        # Many stateless requests leave no session behind: the one-session cap stays free.
        for i in range(5):
            body, headers = modern("tools/list", request_id=10 + i)
            listed = await http.post(url, json=body, headers=headers)
            assert listed.status_code == 200 and len(listed.json()["result"]["tools"]) == len(CATALOG)
        body, headers = modern("tools/call", request_id="c1", name="binance_orderbook_l1", arguments={"symbol": "ETHUSDT"})
        called = (await http.post(url, json=body, headers=headers)).json()
        assert called["id"] == "c1" and called["result"]["structuredContent"]["data_quality"]["ok"] is True
        assert (await http.post(url, json=INIT, headers=ACCEPT)).status_code == 200  # the cap was free


async def test_modern_error_codes(backend):
    async with running_http(settings(), backend) as url, httpx.AsyncClient() as http:
        # Removed and unknown methods: 404, -32601, the request's id echoed.
        listen = {"notifications": {"toolsListChanged": True}}
        for method in ("initialize", "ping", "subscriptions/listen", "no/such"):
            body, headers = modern(method, request_id=7, **(listen if method == "subscriptions/listen" else {}))
            answer = await http.post(url, json=body, headers=headers)
            assert answer.status_code == 404 and answer.json()["error"]["code"] == -32601, (method, answer.text)
            assert answer.json()["id"] == 7
        # _meta missing: -32602, HTTP 400.
        body, headers = modern("tools/list")
        del body["params"]["_meta"]
        answer = await http.post(url, json=body, headers=headers)
        assert answer.status_code == 400 and answer.json()["error"]["code"] == -32602
        # Header and _meta disagree: -32020.
        body, headers = modern("tools/list")
        body["params"]["_meta"] = {**META, "io.modelcontextprotocol/protocolVersion": "v999"}
        answer = await http.post(url, json=body, headers=headers)
        assert answer.status_code == 400 and answer.json()["error"]["code"] == -32020
        # The envelope in the body but no MCP-Protocol-Version header: -32020, not a session error.
        body, headers = modern("tools/list", request_id=3)
        del headers["mcp-protocol-version"]
        answer = await http.post(url, json=body, headers=headers)
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"]["code"] == -32020 and answer.json()["id"] == 3
        # Mcp-Method header not matching the body: -32020.
        body, headers = modern("tools/list")
        answer = await http.post(url, json=body, headers={**headers, "mcp-method": "tools/call"})
        assert answer.status_code == 400 and answer.json()["error"]["code"] == -32020
        # A version nobody knows, from a stateless client: -32022 listing what discover lists.
        body, headers = modern("server/discover", request_id=301)
        body["params"]["_meta"] = {**META, "io.modelcontextprotocol/protocolVersion": "v999.0.0"}
        answer = await http.post(url, json=body, headers={**headers, "mcp-protocol-version": "v999.0.0"})
        error = answer.json()["error"]
        assert answer.status_code == 400 and error["code"] == -32022 and answer.json()["id"] == 301
        assert error["data"] == {"supported": [MODERN], "requested": "v999.0.0"}
        # A GET on the stateless revision has no stream: 405.
        assert (await http.get(url, headers={**ACCEPT, "mcp-protocol-version": MODERN})).status_code == 405


async def test_unknown_version_from_a_handshake_client_lists_every_revision(backend):
    async with running_http(settings(), backend) as url, httpx.AsyncClient() as http:
        response = await http.post(url, json=INIT, headers={**ACCEPT, "mcp-protocol-version": "1999-01-01"})
        assert response.status_code == 400 and response.json()["id"] == 1
        supported = response.json()["error"]["data"]["supported"]
        assert supported[0] == MODERN and "2025-11-25" in supported and "2024-11-05" in supported


async def test_modern_requests_keep_the_guard(backend):
    """Token, Host/Origin and envelope checks apply to stateless requests too."""
    token = "s3cret-token-of-32-characters-ok"
    async with running_http(settings(token=token), backend) as url, httpx.AsyncClient() as http:
        body, headers = modern("tools/list")
        assert (await http.post(url, json=body, headers=headers)).status_code == 401
        auth = {**headers, "authorization": f"Bearer {token}"}
        assert (await http.post(url, json=body, headers=auth)).status_code == 200
        assert (await http.post(url, json=body, headers={**auth, "origin": "http://evil.example"})).status_code == 403
        assert (await http.post(url, json=body, headers={**auth, "host": "evil.example"})).status_code == 421
        # (body limit and deep nesting on stateless requests: test_http_hardening's 2026-07-28 cases)
        batch = await http.post(url, json=[body], headers=auth)
        assert batch.status_code == 400 and batch.json()["error"]["code"] == -32600


async def test_session_rules_still_apply_to_handshake_requests(backend):
    async with running_http(settings(), backend) as url, httpx.AsyncClient() as http:
        listing = {"jsonrpc": "2.0", "id": 5, "method": "tools/list"}
        for headers in (ACCEPT, {**ACCEPT, "mcp-protocol-version": "2025-11-25"}):
            missing = await http.post(url, json=listing, headers=headers)
            assert missing.status_code == 400 and missing.json()["error"]["code"] == -32002
        unknown = await http.post(url, json=listing, headers={**ACCEPT, "mcp-session-id": "nope"})
        assert unknown.status_code == 404 and unknown.json()["error"]["code"] == -32001
