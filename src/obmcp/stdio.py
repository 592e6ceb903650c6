"""stdio transport: the SDK's ``stdio_server`` with our JSON-RPC envelope check on stdin.

The SDK answers nothing to a line that is not JSON, a batch or a message without
``"jsonrpc"`` (mcp 2.3.0, ``mcp.server.stdio``). :func:`serve_stdio` reads stdin itself,
answers such lines with a JSON-RPC error (−32700 / −32600, see :mod:`obmcp.jsonrpc`) on
the SDK's own write stream, and passes every well-formed line to the SDK unchanged.
Blank lines are skipped.
"""

from __future__ import annotations

import io
import sys
from collections.abc import AsyncIterator
from typing import Any

import anyio
from mcp.server.stdio import stdio_server
from mcp.shared.message import SessionMessage
from mcp_types import jsonrpc_message_adapter

from obmcp.jsonrpc import check_message, error_message

__all__ = ["serve_stdio"]


class _CheckedStdin:
    """Async line iterator over stdin that answers malformed lines instead of passing them on."""

    def __init__(self, lines: Any) -> None:
        self._lines = lines
        self._answers: Any = None
        self._ready = anyio.Event()

    def answer_on(self, write_stream: Any) -> None:
        self._answers = write_stream
        self._ready.set()

    async def __aiter__(self) -> AsyncIterator[str]:
        async for line in self._lines:
            if not line.strip():
                continue
            _, problem = check_message(line)
            if problem is None:
                yield line
                continue
            code, text, request_id = problem
            await self._ready.wait()
            answer = jsonrpc_message_adapter.validate_python(error_message(code, text, request_id))
            await self._answers.send(SessionMessage(answer))


async def serve_stdio(mcp: Any) -> None:
    """Serve ``mcp`` (an ``MCPServer``) over stdin/stdout until stdin closes."""
    raw = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace", newline=None)
    stdin = _CheckedStdin(anyio.wrap_file(raw))
    lowlevel = mcp._lowlevel_server
    async with stdio_server(stdin=stdin) as (read_stream, write_stream):  # type: ignore[arg-type]
        stdin.answer_on(write_stream)
        await lowlevel.run(read_stream, write_stream, lowlevel.create_initialization_options())
