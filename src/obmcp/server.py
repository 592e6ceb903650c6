"""Build the MCP server (the SDK's ``MCPServer``) with the tools this slice ships."""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from obmcp.backend import Backend
from obmcp.config import ServerSettings
from obmcp.tools.book import register_book_tools
from obmcp.tools.market import register_market_tools

__all__ = ["INSTRUCTIONS", "SERVER_NAME", "StrictArgumentsServer", "build_server"]

SERVER_NAME = "obmcp"
INSTRUCTIONS = (
    "Binance spot market data and live order books. Symbols are upper case (ETHUSDT). "
    "get_* tools query Binance's REST API; orderbook_* tools read books kept live from the "
    "depth-diff stream (a symbol is subscribed on first use). Every live-book answer has a "
    "data_quality block: trust it only when ok is true."
)


class StrictArgumentsServer(MCPServer[Any]):
    """``MCPServer`` that refuses arguments a tool does not declare.

    The SDK ignores unknown arguments, so a misspelt ``levels=7`` (for ``depth``) would
    silently answer with the default; a trading tool must say so instead. The schemas
    also advertise ``additionalProperties: false``.
    """

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None) -> Any:
        tool = self._tool_manager.get_tool(name)
        if tool is not None and arguments:
            declared = set(tool.parameters.get("properties", {}))
            unknown = sorted(set(arguments) - declared)
            if unknown:
                raise ToolError(
                    f"{name}: unknown argument(s) {', '.join(map(repr, unknown))}; "
                    f"this tool takes {', '.join(sorted(declared)) or 'no arguments'}"
                )
        return await super().call_tool(name, arguments, context)

    def close_schemas(self) -> None:
        """Mark every tool's input schema ``additionalProperties: false``."""
        for tool in self._tool_manager.list_tools():
            tool.parameters.setdefault("additionalProperties", False)


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

    mcp = StrictArgumentsServer(
        name=SERVER_NAME, version=__version__, instructions=INSTRUCTIONS, log_level="WARNING"
    )
    register_market_tools(mcp, backend, settings.tool_name)
    register_book_tools(mcp, backend, settings.tool_name)
    mcp.close_schemas()
    return mcp
