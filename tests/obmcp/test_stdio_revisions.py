"""The real ``obmcp serve --mode stdio`` process with the SDK client in its default mode: the
2026-07-28 revision (server/discover, per-request _meta) over stdio, every catalog tool."""

from __future__ import annotations

import sys

import pytest
from mcp import Client, StdioServerParameters

from obmcp.tools import CATALOG
from tests.obmcp.test_http_revisions import MODERN, check_used, sample_arguments
from tests.obmcp.test_processes import ENV


@pytest.mark.anyio
async def test_stdio_default_mode_speaks_the_stateless_revision():
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "obmcp.cli", "serve", "--mode", "stdio", "--source", "emulator"], env=ENV
    )
    async with Client(params) as client:
        assert client.protocol_version == MODERN
        tools = (await client.list_tools()).tools
        assert len(tools) == len(CATALOG)
        for tool in tools:
            arguments = sample_arguments(tool)
            if "wait_seconds" in tool.input_schema.get("properties", {}):
                arguments = {**arguments, "wait_seconds": 20}  # the emulator's book goes live first
            check_used(tool.name, await client.call_tool(tool.name, arguments))
