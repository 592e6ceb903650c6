"""Over the whole ``tools/list`` (every catalog tool, so later tools are covered too):
explicit behaviour annotations and a title on every tool, in both revisions."""

from __future__ import annotations

import pytest
from mcp import Client

from obmcp.backend import Backend
from obmcp.config import ServerSettings
from obmcp.server import build_server
from obmcp.tools import CATALOG
from tests.obmcp.conftest import FakeStreams
from tests.obmcp.fakes import FakeRestClient

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_every_tool_has_explicit_annotations_and_a_title(eth_session, mode):
    backend = Backend(client=FakeRestClient(), streams=FakeStreams({"ETHUSDT": eth_session}))
    async with Client(build_server(ServerSettings(), backend), mode=mode) as client:
        tools = (await client.list_tools()).tools
    assert len(tools) == len(CATALOG)
    for tool in tools:
        wire = tool.model_dump(mode="json", by_alias=True, exclude_none=True)
        hints = wire.get("annotations", {})
        for key in ("readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint"):
            assert isinstance(hints.get(key), bool), (tool.name, key, hints)
        assert isinstance(wire.get("title"), str) and wire["title"].strip(), tool.name
        assert hints.get("title") == wire["title"], tool.name
        if hints["readOnlyHint"]:
            assert hints["destructiveHint"] is False, tool.name
