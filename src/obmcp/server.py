"""Build the MCP server (the SDK's ``MCPServer``) with the tools this slice ships."""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import MCPServer

from obmcp.backend import Backend
from obmcp.config import ServerSettings
from obmcp.tools.book import register_book_tools
from obmcp.tools.market import register_market_tools

__all__ = ["INSTRUCTIONS", "SERVER_NAME", "build_server"]

SERVER_NAME = "obmcp"
INSTRUCTIONS = (
    "Binance spot market data and live order books. Symbols are upper case (ETHUSDT). "
    "get_* tools query Binance's REST API; orderbook_* tools read books kept live from the "
    "depth-diff stream (a symbol is subscribed on first use). Every live-book answer has a "
    "data_quality block: trust it only when ok is true."
)


def build_server(settings: ServerSettings, backend: Backend) -> MCPServer[Any]:
    """An ``MCPServer`` serving the market-data and live-book tools over ``backend``.

    Parameters
    ----------
    settings : ServerSettings
        ``tool_names`` chooses ``binance_<name>`` or ``binance.<name>``.
    backend : Backend
        Client and stream manager; read at call time, so it may be filled in later.
    """
    from obmcp import __version__

    mcp: MCPServer[Any] = MCPServer(
        name=SERVER_NAME, version=__version__, instructions=INSTRUCTIONS, log_level="WARNING"
    )
    register_market_tools(mcp, backend, settings.tool_name)
    register_book_tools(mcp, backend, settings.tool_name)
    return mcp
