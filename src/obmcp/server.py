"""The MCP transport of the tool catalog: an SDK ``MCPServer`` whose tools are generated
from :data:`obmcp.tools.CATALOG`.

Room: MCP registration only — no tool logic. ``tools/list`` lists each catalog entry
with its input/output JSON Schema, title and behaviour hints; ``tools/call`` runs it
through :func:`obmcp.catalog.invoke` and turns the :class:`~obmcp.catalog.Outcome` into
a ``CallToolResult`` (structured content plus the summary text, or ``isError``). Both go
through ``MCPServer``'s public ``list_tools`` / ``call_tool`` methods, overridden here; a
tool name neither in the catalog nor added with ``add_tool`` is a JSON-RPC error
−32602 (invalid params), not a result. Tools added with the SDK's ``add_tool`` (the
benches' trivial tool) are served by the SDK beside the catalog.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.shared.exceptions import MCPError
from mcp_types import (INVALID_PARAMS, CallToolResult, ContentBlock, Icon, ImageContent, InputRequiredResult, TextContent,
                       ToolAnnotations)
from mcp_types import Tool as MCPTool

from obmcp.backend import Backend
from obmcp.catalog import Hints, Outcome, ToolContext, ToolEntry, invoke, reporting_progress, select, wire_name
from obmcp.config import ServerSettings
from obmcp.tools import catalog_for

__all__ = ["INSTRUCTIONS", "SERVER_NAME", "CatalogServer", "build_server", "call_result", "mcp_tool"]

SERVER_NAME = "obmcp"
INSTRUCTIONS = (
    "Binance spot market data and live order books. Symbols are upper case (ETHUSDT). "
    "get_* tools query Binance's REST API; orderbook_* tools read books kept live from the "
    "depth-diff stream (a symbol is subscribed on first use). Every live-book answer has a "
    "data_quality block: trust it only when ok is true. get_order_flow and get_volume_profile "
    "compute exact analytics from the diff stream and aggregate trades (the profile back-fills "
    "what was not collected live); their data_quality says what the window covers."
)


def _annotations(hints: Hints, title: str) -> ToolAnnotations:
    # Every hint explicit, destructiveHint false on read-only tools too: some clients do
    # not apply the spec's defaults (destructive true, open world true) and ask anyway.
    return ToolAnnotations(
        title=title,
        read_only_hint=hints.read_only,
        destructive_hint=hints.destructive,
        idempotent_hint=hints.idempotent,
        open_world_hint=hints.open_world,
    )


def mcp_tool(entry: ToolEntry[Any, Any], wire_name: str) -> MCPTool:
    """The ``tools/list`` item of a catalog entry."""
    return MCPTool(
        name=wire_name,
        title=entry.title,
        description=entry.description,
        input_schema=entry.input_schema,
        output_schema=entry.output_schema,
        annotations=_annotations(entry.hints, entry.title),
    )


def call_result(outcome: Outcome) -> CallToolResult:
    """The ``tools/call`` result of an outcome: structured content and summary, or ``isError``."""
    content: list[ContentBlock] = [TextContent(type="text", text=outcome.text)]
    if outcome.is_error or outcome.result is None:
        return CallToolResult(content=content, is_error=True)
    content += [ImageContent(type="image", data=base64.b64encode(png).decode("ascii"), mime_type="image/png")
                for png in outcome.images]
    return CallToolResult(content=content, structured_content=outcome.result.model_dump(mode="json"))


class CatalogServer(MCPServer[Any]):
    """``MCPServer`` serving catalog entries, plus any tool added with ``add_tool``.

    Parameters
    ----------
    entries : sequence of ToolEntry
        The tools to serve.
    context : ToolContext
        Handed to every entry's ``run``.
    tool_name : callable
        Maps an entry's Python name to its wire name (not for ``exact_name`` entries).
    **settings
        ``MCPServer``'s own arguments (name, version, instructions, …).
    """

    def __init__(
        self,
        entries: Sequence[ToolEntry[Any, Any]],
        context: ToolContext,
        tool_name: Callable[[str], str],
        **settings: Any,
    ) -> None:
        super().__init__(**settings)
        self._context = context
        self._entries = {wire_name(entry, tool_name): entry for entry in entries}
        if len(self._entries) != len(entries):
            raise ValueError("two catalog entries have the same wire name")
        self._listing = [mcp_tool(entry, name) for name, entry in self._entries.items()]
        self._sdk_tools: set[str] = set()

    @property
    def tool_context(self) -> ToolContext:
        """The context the catalog's tools run with."""
        return self._context

    def add_tool(
        self,
        fn: Callable[..., Any],
        name: str | None = None,
        title: str | None = None,
        description: str | None = None,
        annotations: ToolAnnotations | None = None,
        icons: list[Icon] | None = None,
        meta: dict[str, Any] | None = None,
        structured_output: bool | None = None,
    ) -> None:
        """``MCPServer.add_tool``, refusing a name the catalog already serves."""
        wire_name = name or fn.__name__
        if wire_name in self._entries:
            raise ValueError(f"tool {wire_name!r} is already served from the catalog")
        super().add_tool(
            fn, name=name, title=title, description=description, annotations=annotations, icons=icons, meta=meta,
            structured_output=structured_output,
        )  # fmt: skip
        self._sdk_tools.add(wire_name)

    def remove_tool(self, name: str) -> None:
        """``MCPServer.remove_tool`` for a tool added with ``add_tool`` (catalog tools stay)."""
        super().remove_tool(name)
        self._sdk_tools.discard(name)

    async def list_tools(self) -> list[MCPTool]:
        """The catalog's tools, then any added with ``add_tool``."""
        return [*self._listing, *await super().list_tools()]

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        """Run a catalog tool (or an ``add_tool`` one); an unknown name is JSON-RPC −32602."""
        entry = self._entries.get(name)
        if entry is not None:
            with reporting_progress(None if context is None else context.report_progress):
                return call_result(await invoke(entry, self._context, arguments))
        if name in self._sdk_tools:
            return await super().call_tool(name, arguments, context)
        known = ", ".join([*self._entries, *sorted(self._sdk_tools)])
        raise MCPError(INVALID_PARAMS, f"unknown tool {str(name)[:80]!r}; this server has: {known}")


def build_server(settings: ServerSettings, backend: Backend) -> MCPServer[Any]:
    """An ``MCPServer`` serving the catalog's market-data and live-book tools over ``backend``.

    Parameters
    ----------
    settings : ServerSettings
        ``tool_names`` chooses ``binance_<name>`` or ``binance.<name>``; groups switched
        off (``disabled_groups``, e.g. ``--no-analytics``) are not served.
    backend : Backend
        Client and stream manager; read at call time, so it may be filled in later.
    """
    from obmcp import __version__

    from obmcp.prompts import register_prompts
    from obmcp.resources import register_resources
    from obmcp.tools.charts import register_chart_resources

    context = ToolContext(backend)
    server = CatalogServer(
        select(catalog_for(settings.enable_trading), settings.disabled_groups),  # trading tools only when enabled
        context,
        settings.tool_name,
        name=SERVER_NAME,
        version=__version__,
        instructions=INSTRUCTIONS,
        log_level="WARNING",
        # No subscriptions/listen (2026-07-28): the tool list is fixed and the chart
        # resources are rendered on read (no updates pushed), so there is nothing to
        # notify; without the handler server/discover advertises no listChanged/subscribe
        # and a listen request is −32601 (HTTP 404).
        subscriptions=False,
    )
    register_resources(server, context)  # obmcp.resources: market data, balances, trades, open orders
    register_prompts(server, settings.tool_name)  # obmcp.prompts: trading analysis, portfolio risk
    register_chart_resources(server)  # the live charts as image/png resources
    return server
