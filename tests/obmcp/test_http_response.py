"""The HTTP response mode (``--http-response json|sse``): settings, flag, what goes on the
wire in each mode, and graceful shutdown with a call in flight in JSON mode."""

from __future__ import annotations

import json

import anyio
import httpx
import pytest

from obcore.errors import InvalidInputError

from obmcp import book_service
from obmcp.backend import Backend
from obmcp.cli import build_parser
from obmcp.config import ServerSettings, settings_from_env
from obmcp.http import build_http_app, serve_http
from obmcp.server import build_server
from tests.obmcp.conftest import FakeStreams, free_port, running_http
from tests.obmcp.fakes import FakeRestClient

ACCEPT = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
INIT = {
    "jsonrpc": "2.0", "id": 1, "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}
L1_CALL = {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
           "params": {"name": "binance_orderbook_l1", "arguments": {"symbol": "ETHUSDT"}}}


@pytest.fixture
def backend(eth_session, monkeypatch):
    monkeypatch.setattr(book_service, "_now_ms", lambda: eth_session.last_event_time_ms + 100)
    return Backend(client=FakeRestClient(), streams=FakeStreams({"ETHUSDT": eth_session}))


def test_json_is_the_default_and_sse_selectable():
    assert ServerSettings().http_response == "json"
    assert settings_from_env(env={}).http_response == "json"
    assert settings_from_env(env={"OBMCP_HTTP_RESPONSE": "sse"}).http_response == "sse"
    assert settings_from_env(env={"OBMCP_HTTP_RESPONSE": "sse"}, http_response="json").http_response == "json"
    args = build_parser().parse_args(["serve", "--mode", "http", "--http-response", "sse"])
    assert args.http_response == "sse"
    assert build_parser().parse_args(["serve"]).http_response is None  # env / default decide


def test_unknown_http_response_mode_is_named():
    with pytest.raises(InvalidInputError, match="'ndjson'"):
        ServerSettings(http_response="ndjson")
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--http-response", "ndjson"])


async def _session(http: httpx.AsyncClient, url: str, accept: dict[str, str] = ACCEPT) -> dict[str, str]:
    init = await http.post(url, json=INIT, headers=accept)
    assert init.status_code == 200, init.text
    headers = {**accept, "mcp-session-id": init.headers["mcp-session-id"], "mcp-protocol-version": "2025-11-25"}
    note = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    assert (await http.post(url, json=note, headers=headers)).status_code == 202
    return headers


@pytest.mark.anyio
async def test_json_mode_answers_with_one_json_body(backend):
    settings = ServerSettings(mode="http", port=free_port())
    async with running_http(settings, backend) as url, httpx.AsyncClient() as http:
        headers = await _session(http, url)
        answer = await http.post(url, json=L1_CALL, headers=headers)
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("application/json")
        assert answer.json()["result"]["structuredContent"]["data_quality"]["ok"] is True
        # JSON mode needs only application/json in Accept.
        only_json = {"accept": "application/json", "content-type": "application/json"}
        headers = await _session(http, url, only_json)
        assert (await http.post(url, json=L1_CALL, headers=headers)).json()["id"] == 2


@pytest.mark.anyio
async def test_sse_mode_answers_with_an_event_stream(backend):
    settings = ServerSettings(mode="http", port=free_port(), http_response="sse")
    async with running_http(settings, backend) as url, httpx.AsyncClient() as http:
        headers = await _session(http, url)
        answer = await http.post(url, json=L1_CALL, headers=headers)
        assert answer.headers["content-type"].startswith("text/event-stream")
        data = [json.loads(line[6:]) for line in answer.text.splitlines() if line.startswith("data: ")]
        assert [d["id"] for d in data if "id" in d] == [2]
        assert data[-1]["result"]["structuredContent"]["data_quality"]["ok"] is True


@pytest.mark.anyio
async def test_json_mode_shutdown_lets_the_call_in_flight_finish(backend):
    """The stop trigger (SIGTERM in the CLI) fires while a tool runs; its JSON answer still arrives."""
    settings = ServerSettings(mode="http", port=free_port())
    mcp = build_server(settings, backend)
    entered = anyio.Event()

    async def slow_echo(text: str) -> str:
        """Test-only tool: signals it started, then takes a while."""
        entered.set()
        await anyio.sleep(0.3)
        return text

    mcp.add_tool(slow_echo, name="slow_echo")
    stop = anyio.Event()
    bound: list[str] = []
    answers: list[httpx.Response] = []
    with anyio.fail_after(20):
        async with anyio.create_task_group() as tg:
            tg.start_soon(serve_http, build_http_app(mcp, settings), settings, stop.wait, bound.extend)
            while not bound:
                await anyio.sleep(0.01)
            url = bound[0] + "/mcp"
            async with httpx.AsyncClient(timeout=10) as http:
                headers = await _session(http, url)
                call = {"jsonrpc": "2.0", "id": 3, "method": "tools/call",
                        "params": {"name": "slow_echo", "arguments": {"text": "still here"}}}

                async def post() -> None:
                    answers.append(await http.post(url, json=call, headers=headers))

                async with anyio.create_task_group() as calls:
                    calls.start_soon(post)
                    await entered.wait()
                    stop.set()  # the server stops accepting; the call in flight must complete
    assert len(answers) == 1 and answers[0].status_code == 200
    result = answers[0].json()["result"]
    assert result["isError"] is False and result["content"][0]["text"] == "still here"
