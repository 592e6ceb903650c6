"""Streamable HTTP transport: the SDK's session manager behind a thin ASGI guard, on Hypercorn.

The SDK (``StreamableHTTPSessionManager``) owns sessions, SSE, idle expiry, the
session cap and DELETE. Request POSTs are answered with one JSON body by default
(``--http-response json``; the SDK's ``json_response``), or with an SSE stream (``sse``):
in JSON mode anything a tool would send to the client mid-request is dropped, which our
tools never do. :class:`SessionGuard` adds only what our spec says differently:

- ``Authorization: Bearer <OBMCP_TOKEN>`` on every request when a token is set;
- Host and Origin checked *before* anything else (the SDK checks them only once a
  request reaches a session);
- no ``Mcp-Session-Id`` on anything but ``initialize`` → HTTP 400, JSON-RPC −32002
  (the SDK would first admit a session, and answer 503 at the cap);
- a protocol version the handshake does not know → HTTP 400, −32022 with the supported
  list (so the SDK client's ``server/discover`` probe falls back to ``initialize``);
- the SDK's 404 (unknown / expired / deleted session) carries −32001, its 503 (session
  cap) −32000.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecurityMiddleware, TransportSecuritySettings
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from obmcp.config import ServerSettings, is_loopback

__all__ = [
    "MISSING_SESSION",
    "SESSION_NOT_FOUND",
    "TOO_MANY_SESSIONS",
    "UNSUPPORTED_PROTOCOL_VERSION",
    "SessionGuard",
    "build_http_app",
    "hypercorn_config",
    "security_settings",
    "serve_http",
    "wait_for_signal",
]

logger = logging.getLogger(__name__)

TOO_MANY_SESSIONS = -32000
SESSION_NOT_FOUND = -32001
MISSING_SESSION = -32002
UNSUPPORTED_PROTOCOL_VERSION = -32022

MCP_PATH = "/mcp"
_SESSION_HEADER = b"mcp-session-id"
_VERSION_HEADER = b"mcp-protocol-version"
# The SDK answers these statuses with a JSON-RPC error whose code we replace.
_REWRITE_CODES = {404: SESSION_NOT_FOUND, 503: TOO_MANY_SESSIONS}


def security_settings(settings: ServerSettings) -> TransportSecuritySettings:
    """Host/Origin allow-lists for DNS-rebinding protection.

    Loopback names are always allowed (any port); a non-loopback bind address and the
    ``OBMCP_ALLOWED_HOSTS`` / ``OBMCP_ALLOWED_ORIGINS`` entries are added.
    """
    hosts = ["127.0.0.1:*", "localhost:*", "[::1]:*", "127.0.0.1", "localhost", "[::1]"]
    origins = ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]
    origins += ["http://127.0.0.1", "http://localhost", "http://[::1]"]
    if not is_loopback(settings.host) and settings.host not in ("0.0.0.0", "::"):
        hosts += [settings.host, f"{settings.host}:*"]
        origins += [f"http://{settings.host}:*", f"https://{settings.host}:*"]
    hosts += list(settings.allowed_hosts)
    origins += list(settings.allowed_origins)
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins
    )


def _json_error(status: int, code: int, message: str, data: Any = None) -> tuple[int, bytes]:
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return status, json.dumps({"jsonrpc": "2.0", "id": None, "error": error}).encode()


async def _send_json(send: Send, status: int, body: bytes, extra: list[tuple[bytes, bytes]] = ()) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _is_initialize(body: bytes) -> bool | None:
    """True/False for a JSON body that is / is not ``initialize``; None if not JSON."""
    try:
        message = json.loads(body)
    except ValueError:
        return None
    return isinstance(message, dict) and message.get("method") == "initialize"


class SessionGuard:
    """ASGI middleware in front of the SDK app; see the module docstring for the rules.

    Parameters
    ----------
    app : ASGI app
        The SDK's Starlette app (``MCPServer.streamable_http_app``).
    settings : ServerSettings
        Token and Host/Origin allow-lists.
    """

    def __init__(self, app: ASGIApp, settings: ServerSettings) -> None:
        self.app = app
        self._token = settings.token.encode() if settings.token else None
        self._security = TransportSecurityMiddleware(security_settings(settings))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)  # lifespan: the SDK's session manager runs there
            return
        headers = dict(scope["headers"])
        if self._token is not None and not self._authorized(headers.get(b"authorization", b"")):
            status, body = _json_error(401, -32600, "Unauthorized: missing or wrong bearer token")
            await _send_json(send, 401, body, [(b"www-authenticate", b'Bearer realm="obmcp"')])
            return
        request = Request(scope)
        # Host/Origin only here; Content-Type is left to the SDK's own check.
        rejection = await self._security.validate_request(request, is_post=False)
        if rejection is not None:
            await rejection(scope, receive, send)
            return
        if scope["path"].rstrip("/") != MCP_PATH:
            await _send_json(send, *_json_error(404, -32601, f"Not found: {scope['path']!r}; the endpoint is /mcp"))
            return
        version = headers.get(_VERSION_HEADER)
        if version is not None and version.decode("latin-1") not in HANDSHAKE_PROTOCOL_VERSIONS:
            requested = version.decode("latin-1")
            await _send_json(
                send,
                *_json_error(
                    400,
                    UNSUPPORTED_PROTOCOL_VERSION,
                    f"Unsupported MCP-Protocol-Version {requested!r}; this server speaks "
                    f"{', '.join(HANDSHAKE_PROTOCOL_VERSIONS)} (initialize handshake with sessions)",
                    {"supported": list(HANDSHAKE_PROTOCOL_VERSIONS), "requested": requested},
                ),
            )
            return
        if _SESSION_HEADER not in headers:
            body = await _read_body(receive) if scope["method"] == "POST" else b""
            if scope["method"] != "POST" or _is_initialize(body) is False:
                await _send_json(
                    send,
                    *_json_error(400, MISSING_SESSION, "Bad Request: missing Mcp-Session-Id header; send initialize first"),
                )
                return
            receive = _replay(body, receive)
        await self.app(scope, receive, _rewrite_error_codes(send))

    def _authorized(self, header: bytes) -> bool:
        assert self._token is not None
        scheme, _, credential = header.partition(b" ")
        return scheme.lower() == b"bearer" and hmac.compare_digest(credential.strip(), self._token)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that yields the already-read body once, then defers to the real one."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


def _rewrite_error_codes(send: Send) -> Send:
    """Wrap ``send`` so the SDK's 404/503 JSON-RPC errors carry our codes."""
    held: dict[str, Any] = {}

    async def rewriting(message: Message) -> None:
        if message["type"] == "http.response.start" and message["status"] in _REWRITE_CODES:
            held["start"] = message
            held["chunks"] = []
            return
        if "start" in held and message["type"] == "http.response.body":
            held["chunks"].append(message.get("body", b""))
            if message.get("more_body", False):
                return
            start = held.pop("start")
            body = b"".join(held.pop("chunks"))
            body = _with_code(body, _REWRITE_CODES[start["status"]])
            headers = [(k, v) for k, v in start["headers"] if k.lower() not in (b"content-length", b"content-type")]
            headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await send(message)

    return rewriting


def _with_code(body: bytes, code: int) -> bytes:
    try:
        message = json.loads(body)
        text = message["error"]["message"]
    except (ValueError, KeyError, TypeError):
        text = body.decode("utf-8", "replace") or "error"
    return _json_error(0, code, text)[1]


def build_http_app(mcp: MCPServer[Any], settings: ServerSettings) -> SessionGuard:
    """The complete ASGI app for ``/mcp``: guard → SDK session manager → ``mcp``.

    Parameters
    ----------
    mcp : MCPServer
        The server with its tools registered (``obmcp.server.build_server``).
    settings : ServerSettings
        Response mode, session limit and idle timeout, token, Host/Origin allow-lists.

    Returns
    -------
    SessionGuard
        The ASGI app to serve; its lifespan runs the SDK's session manager.
    """
    sdk_app = mcp.streamable_http_app(
        streamable_http_path=MCP_PATH,
        json_response=settings.http_response == "json",
        session_idle_timeout=settings.session_idle_seconds,
        max_sessions=settings.max_sessions,
        transport_security=security_settings(settings),
        host=settings.host,
    )
    return SessionGuard(sdk_app, settings)


def hypercorn_config(settings: ServerSettings) -> Any:
    """Hypercorn settings: HTTP/1.1 and h2c on one port, long keep-alive, short grace."""
    from hypercorn.config import Config

    config = Config()
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    config.bind = [f"{host}:{settings.port}"]
    # Hypercorn closes a connection after 1000 requests by default; HTTP/2 clients
    # multiplex everything on one connection and then fail mid-stream.
    config.keep_alive_max_requests = 2**62
    config.graceful_timeout = 30.0
    config.accesslog = None
    config.errorlog = logging.getLogger("hypercorn.error")
    return config


async def serve_http(
    app: ASGIApp,
    settings: ServerSettings,
    shutdown_trigger: Callable[[], Awaitable[None]],
    on_bound: Callable[[list[str]], None] | None = None,
) -> None:
    """Serve ``app`` with Hypercorn until ``shutdown_trigger`` returns; in-flight requests finish.

    Parameters
    ----------
    on_bound : callable, optional
        Called with the bound URLs (``http://host:port``), useful with ``port=0``.
    """
    from hypercorn.asyncio import serve

    config = hypercorn_config(settings)
    if on_bound is not None:
        _report_bound(config, on_bound)
    await serve(app, config, shutdown_trigger=shutdown_trigger)  # type: ignore[arg-type]


def _report_bound(config: Any, on_bound: Callable[[list[str]], None]) -> None:
    """Pre-bind the sockets so the real port is known before serving (``port=0``)."""
    sockets = config.create_sockets()
    urls = []
    for sock in sockets.insecure_sockets:
        host, port = sock.getsockname()[:2]
        urls.append(f"http://{host if ':' not in host else f'[{host}]'}:{port}")
    for sock in sockets.insecure_sockets:
        # Listen now: a client told the URL may connect before Hypercorn's own listen().
        sock.listen(config.backlog)
    # Hypercorn accepts already-bound sockets via fd:// binds; it takes ownership of the fd.
    config.bind = [f"fd://{sock.detach()}" for sock in sockets.insecure_sockets]
    on_bound(urls)


async def wait_for_signal() -> None:
    """Return on SIGTERM or SIGINT (the shutdown trigger of :func:`serve_http`)."""
    import signal

    with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async for _ in signals:
            return
