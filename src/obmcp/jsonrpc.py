"""The JSON-RPC 2.0 envelope as MCP uses it, checked at our boundary (HTTP and stdio).

The SDK answers an invalid request object with −32602 (or, for an ``id`` of null, 1.5,
true or 1e999, drops it silently), and over stdio answers nothing at all for a line
that is not JSON, a batch or a message without ``"jsonrpc"``. :func:`check_message`
tells those apart before the SDK sees them so the transports can answer per JSON-RPC.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["INTERNAL_ERROR", "INVALID_REQUEST", "PARSE_ERROR", "check_message", "error_message"]

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
INTERNAL_ERROR = -32603


def error_message(code: int, text: str, request_id: Any = None) -> dict[str, Any]:
    """A JSON-RPC error response object."""
    return {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": text}}


def _valid_id(value: Any) -> bool:
    # JSON-RPC ids are strings or integers here (MCP forbids null; no fractions, no booleans).
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def check_message(body: bytes | str) -> tuple[Any, tuple[int, str, Any] | None]:
    """Parse one JSON-RPC message and check its envelope (JSON-RPC 2.0 as MCP uses it).

    Returns
    -------
    tuple
        ``(message, None)`` when it is a well-formed request, notification or response;
        ``(None, (code, text, id))`` otherwise: −32700 for a body that is not JSON (or is
        nested too deeply to parse), −32600 for anything that is not a valid message
        object; ``id`` is the request's id when it can be told, else None.
    """
    try:
        message = json.loads(body)
    except RecursionError:
        return None, (PARSE_ERROR, "Parse error: JSON nested too deeply", None)
    except ValueError as exc:
        return None, (PARSE_ERROR, f"Parse error: {str(exc)[:200]}", None)
    if isinstance(message, list):
        return None, (INVALID_REQUEST, "Invalid Request: batches are not supported; send one message at a time", None)
    if not isinstance(message, dict):
        return None, (INVALID_REQUEST, f"Invalid Request: expected a JSON-RPC object, got {type(message).__name__}", None)
    has_id = "id" in message
    request_id = message.get("id") if _valid_id(message.get("id")) else None
    if message.get("jsonrpc") != "2.0":
        return None, (INVALID_REQUEST, 'Invalid Request: "jsonrpc" must be "2.0"', request_id)
    if "method" in message:
        if not isinstance(message["method"], str):
            return None, (INVALID_REQUEST, 'Invalid Request: "method" must be a string', request_id)
        if has_id and not _valid_id(message["id"]):
            return None, (
                INVALID_REQUEST,
                f'Invalid Request: "id" must be a string or an integer, got {json.dumps(message["id"])[:40]}',
                None,
            )
        if "params" in message and not isinstance(message["params"], dict):
            return None, (INVALID_REQUEST, 'Invalid Request: "params" must be an object', request_id)
        return message, None
    # A response to one of our requests: an id and exactly one of result / error.
    if ("result" in message) == ("error" in message) or not has_id:
        return None, (
            INVALID_REQUEST,
            'Invalid Request: expected "method" (a request or notification) or "id" with exactly one of '
            '"result" / "error" (a response)',
            request_id,
        )
    if not _valid_id(message["id"]) and not (message["id"] is None and "error" in message):
        return None, (INVALID_REQUEST, 'Invalid Request: "id" must be a string or an integer', None)
    return message, None
