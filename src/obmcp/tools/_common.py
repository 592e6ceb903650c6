"""What every tool wrapper shares: annotations, result building, error mapping."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel

from obcore.errors import BinanceError, ObcoreError

__all__ = ["READ_ONLY", "READ_ONLY_OPEN_WORLD", "call_service", "tool_result"]

#: Reads local state only (the live books): no side effects, same answer on repeat.
READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)
#: Reads from Binance over the network: no side effects.
READ_ONLY_OPEN_WORLD = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=True
)

_Model = TypeVar("_Model", bound=BaseModel)


def tool_result(model: BaseModel, summary: str) -> CallToolResult:
    """A result with ``model`` as structured content and a readable ``summary`` as text."""
    return CallToolResult(
        content=[TextContent(type="text", text=summary)],
        structured_content=model.model_dump(mode="json"),
    )


def describe_error(exc: ObcoreError) -> str:
    """``<code>: <message>``; Binance errors also name the Binance code and message."""
    if isinstance(exc, BinanceError):
        status = f", HTTP {exc.http_status}" if exc.http_status else ""
        return f"{exc.code} (Binance code {exc.binance_code}{status}): {exc.binance_message}"
    return f"{exc.code}: {exc}"


async def call_service(awaitable: Awaitable[_Model]) -> _Model:
    """Await a service call; an ``ObcoreError`` becomes a tool error (``isError``) naming it."""
    try:
        return await awaitable
    except ObcoreError as exc:
        raise ToolError(describe_error(exc)) from exc
