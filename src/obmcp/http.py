"""Streamable HTTP transport: the SDK's session manager behind a thin ASGI guard, on Hypercorn.

The SDK (``StreamableHTTPSessionManager``) owns sessions, SSE, idle expiry, the
session cap and DELETE. Request POSTs are answered with one JSON body by default
(``--http-response json``; the SDK's ``json_response``), or with an SSE stream (``sse``):
in JSON mode anything a tool would send to the client mid-request is dropped, which our
tools never do. :class:`SessionGuard` adds only what our spec says differently:

- ``Authorization: Bearer <OBMCP_TOKEN>`` on every request when a token is set;
- Host and Origin checked *before* anything else and matched exactly (the SDK checks
  them only once a request reaches a session, and by prefix);
- every POST body read at most to :data:`MAX_BODY_BYTES` (refused by ``Content-Length``
  first), with or without a session → HTTP 413; a client that hangs up mid-body is one
  INFO line;
- the JSON-RPC envelope checked before the SDK sees it: not JSON (or nested too deeply)
  → HTTP 400, −32700; not a valid message object (batch, no ``"jsonrpc": "2.0"``, an
  ``id`` that is null, fractional or boolean, a non-string method, non-object params)
  → HTTP 400, −32600 (the SDK answers −32602, or drops such a request with an empty 202);
- two revisions on one ``/mcp`` (docs/PROTOCOL.md): an ``MCP-Protocol-Version`` header
  naming the stateless revision (2026-07-28) sends the request to the SDK's per-request
  entry (``_meta`` envelope, ``server/discover``, ``Mcp-Method``/``Mcp-Name`` checks, its
  error codes) with none of the session rules below; a body whose ``params._meta`` names
  it without the header → HTTP 400, −32020; a version nobody knows → HTTP 400, −32022
  with the supported list and the request's id;
- session rules, for the handshake revisions (2025-11-25 and older) only: no
  ``Mcp-Session-Id`` on anything but ``initialize`` → HTTP 400, JSON-RPC −32002
  (the SDK would first admit a session, and answer 503 at the cap);
- the SDK's 404 (unknown / expired / deleted session) carries −32001, its 503 (session
  cap) −32000; before that 503, the least recently used session idle for
  ``session_reclaim_seconds`` is closed to make room (clients that never DELETE);
- on shutdown, idle GET (SSE) streams are closed at once; request POSTs in flight finish.
"""

from __future__ import annotations

import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import DEFAULT_MAX_REQUEST_BODY_SIZE, TransportSecuritySettings
from mcp_types import PROTOCOL_VERSION_META_KEY
from mcp_types.jsonrpc import HEADER_MISMATCH
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS, MODERN_PROTOCOL_VERSIONS
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from obmcp import status as status_page
from obmcp.config import ServerSettings, is_loopback
from obmcp.jsonrpc import INTERNAL_ERROR, INVALID_REQUEST, PARSE_ERROR, check_message

__all__ = [
    "MAX_BODY_BYTES",
    "MISSING_SESSION",
    "SESSION_NOT_FOUND",
    "SUPPORTED_VERSIONS",
    "TOO_MANY_SESSIONS",
    "UNSUPPORTED_PROTOCOL_VERSION",
    "SessionGuard",
    "build_http_app",
    "hypercorn_config",
    "matches_allowed",
    "security_settings",
    "serve_http",
    "wait_for_signal",
]

logger = logging.getLogger(__name__)

TOO_MANY_SESSIONS = -32000
SESSION_NOT_FOUND = -32001
MISSING_SESSION = -32002
UNSUPPORTED_PROTOCOL_VERSION = -32022

#: Largest request body read, with or without a session (the SDK's own limit, 4 MiB).
MAX_BODY_BYTES = DEFAULT_MAX_REQUEST_BODY_SIZE
MCP_PATH = "/mcp"
_SESSION_HEADER = b"mcp-session-id"
_VERSION_HEADER = b"mcp-protocol-version"
# The SDK answers these statuses with a JSON-RPC error whose code we replace.
_REWRITE_CODES = {404: SESSION_NOT_FOUND, 503: TOO_MANY_SESSIONS}
#: Every revision served on ``/mcp``: the stateless one(s), then the handshake ones.
SUPPORTED_VERSIONS = (*MODERN_PROTOCOL_VERSIONS, *HANDSHAKE_PROTOCOL_VERSIONS)


def security_settings(settings: ServerSettings) -> TransportSecuritySettings:
    """Host/Origin allow-lists for DNS-rebinding protection.

    Loopback names are always allowed (any port); a non-loopback bind address and the
    ``OBMCP_ALLOWED_HOSTS`` / ``OBMCP_ALLOWED_ORIGINS`` entries are added. An entry
    ``name:*`` matches ``name`` followed by ``:`` and a port number, nothing else.
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


def matches_allowed(value: str, allowed: Sequence[str]) -> bool:
    """True when ``value`` equals an entry, or an entry ``base:*`` is ``base`` + ``:`` + a port.

    Exact, not by prefix (the SDK's own check is by prefix: ``http://localhost:1@evil.example``
    would pass ``http://localhost:*`` there).
    """
    for entry in allowed:
        if value == entry:
            return True
        if entry.endswith(":*"):
            base = entry[:-1]  # keeps the ':'
            port = value[len(base) :]
            if value.startswith(base) and port.isdigit() and port.isascii() and len(port) <= 5:
                return True
    return False


def _json_error(status: int, code: int, message: str, data: Any = None, request_id: Any = None) -> tuple[int, bytes]:
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return status, json.dumps({"jsonrpc": "2.0", "id": request_id, "error": error}).encode()


async def _send_json(send: Send, status: int, body: bytes, extra: Sequence[tuple[bytes, bytes]] = ()) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class _BodyTooLarge(Exception):
    pass


class _ClientGone(Exception):
    def __init__(self, received: int) -> None:
        self.received = received


async def _read_body(receive: Receive, limit: int) -> bytes:
    """The request body, read no further than ``limit`` bytes (then :class:`_BodyTooLarge`)."""
    chunks = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _ClientGone(size)
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


@dataclass
class _Sessions:
    """What the guard knows of each session: requests in flight and when it was last used."""

    in_flight: dict[str, int] = field(default_factory=dict)
    last_used: dict[str, float] = field(default_factory=dict)

    def begin(self, sid: str) -> None:
        self.in_flight[sid] = self.in_flight.get(sid, 0) + 1
        self.last_used[sid] = time.monotonic()

    def end(self, sid: str) -> None:
        count = self.in_flight.get(sid, 1) - 1
        if count > 0:
            self.in_flight[sid] = count
        else:
            self.in_flight.pop(sid, None)
        self.last_used[sid] = time.monotonic()

    def forget(self, sid: str) -> None:
        self.in_flight.pop(sid, None)
        self.last_used.pop(sid, None)


class SessionGuard:
    """ASGI middleware in front of the SDK app; see the module docstring for the rules.

    Parameters
    ----------
    app : ASGI app
        The SDK's Starlette app (``MCPServer.streamable_http_app``).
    settings : ServerSettings
        Token and Host/Origin allow-lists, session cap and reclaim grace.
    session_manager : StreamableHTTPSessionManager, optional
        The SDK's session manager behind ``app``; with it, a full session cap reclaims
        the least recently used session idle for ``settings.session_reclaim_seconds``.
    """

    def __init__(self, app: ASGIApp, settings: ServerSettings, session_manager: Any = None) -> None:
        self.app = app
        self._token = settings.token.encode() if settings.token else None
        security = security_settings(settings)
        self._hosts = tuple(security.allowed_hosts)
        self._origins = tuple(security.allowed_origins)
        self._manager = session_manager
        self._max_sessions = settings.max_sessions
        self._reclaim_after = settings.session_reclaim_seconds
        self._sessions = _Sessions()
        self._streams: set[anyio.CancelScope] = set()
        self._closing = False
        self.pages: ASGIApp | None = None  # the status page (obmcp.status), behind the same checks

    def close_idle_streams(self) -> int:
        """Shutdown has begun: end every open GET (SSE) stream now and refuse new ones.

        Request POSTs in flight are left to finish. Returns how many streams were closed.
        """
        self._closing = True
        streams = list(self._streams)
        for scope in streams:
            scope.cancel()
        return len(streams)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)  # lifespan: the SDK's session manager runs there
            return
        headers = dict(scope["headers"])
        if self._token is not None and not self._authorized(headers.get(b"authorization", b"")):
            status, body = _json_error(401, -32600, "Unauthorized: missing or wrong bearer token")
            await _send_json(send, 401, body, [(b"www-authenticate", b'Bearer realm="obmcp"')])
            return
        # Host/Origin first, matched exactly; Content-Type is left to the SDK's own check.
        host = headers.get(b"host", b"").decode("latin-1")
        if not matches_allowed(host, self._hosts):
            logger.warning("refused a request with Host %r (not in the allowed hosts)", host[:100])
            text = (
                "Misdirected Request: Host not allowed; a server reached by another name or address "
                "lists it in OBMCP_ALLOWED_HOSTS (e.g. 192.168.1.20:8000)"
            )
            await _send_json(send, *_json_error(421, INVALID_REQUEST, text))
            return
        origin = headers.get(b"origin", b"").decode("latin-1")
        if origin and not matches_allowed(origin, self._origins):
            logger.warning("refused a request with Origin %r (not in the allowed origins)", origin[:100])
            text = "Forbidden: Origin not allowed; list it in OBMCP_ALLOWED_ORIGINS"
            await _send_json(send, *_json_error(403, INVALID_REQUEST, text))
            return
        if self.pages is not None and status_page.handles(scope["path"]):
            await self.pages(scope, receive, send)
            return
        if scope["path"].rstrip("/") != MCP_PATH:
            await _send_json(send, *_json_error(404, -32601, f"Not found: {scope['path']!r}; the endpoint is /mcp"))
            return
        version = headers.get(_VERSION_HEADER)
        requested = version.decode("latin-1") if version is not None else None
        if requested is not None and requested not in HANDSHAKE_PROTOCOL_VERSIONS:
            # Not a session revision: a stateless one (2026-07-28) goes to the SDK's
            # per-request entry, without any of the session rules; anything else is refused.
            await self._serve_stateless(scope, headers, requested, receive, send)
            return
        session = headers.get(_SESSION_HEADER)
        sid = session.decode("latin-1") if session is not None else None
        message: Any = None
        if scope["method"] == "POST":
            body = await self._read_checked_body(headers, receive, send)
            if body is None:
                return  # answered (413, 400) or the client has gone
            message = body[1]
            receive = _replay(body[0], receive)
        if sid is None:
            if message is not None and requested is None and _modern_meta_version(message) is not None:
                # A stateless-revision envelope without its MCP-Protocol-Version header.
                await _send_json(send, *_missing_version_header(message))
                return
            if scope["method"] != "POST" or message.get("method") != "initialize":
                await _send_json(
                    send,
                    *_json_error(400, MISSING_SESSION, "Bad Request: missing Mcp-Session-Id header; send initialize first"),
                )
                return
            await self._reclaim_if_full()
            await self.app(scope, receive, self._watch_new_session(_rewrite_error_codes(send)))
            return
        if scope["method"] == "GET" and self._closing:
            await _send_json(send, *_json_error(503, INTERNAL_ERROR, "Service Unavailable: the server is shutting down"))
            return
        # Only sessions the SDK holds are tracked: made-up ids (answered 404) leave no trace.
        tracked = sid in self._open_sessions()
        if tracked:
            self._sessions.begin(sid)
        try:
            if scope["method"] == "GET":
                # A GET is the session's SSE stream: it stays open while idle, so shutdown
                # ends it at once (close_idle_streams) instead of waiting out the grace.
                with anyio.CancelScope() as stream_scope:
                    self._streams.add(stream_scope)
                    try:
                        await self.app(scope, receive, _rewrite_error_codes(send))
                    finally:
                        self._streams.discard(stream_scope)
            else:
                await self.app(scope, receive, _rewrite_error_codes(send))
        finally:
            if tracked:
                self._sessions.end(sid)
                if sid not in self._open_sessions():  # ended by this request (DELETE)
                    self._sessions.forget(sid)

    async def _serve_stateless(
        self, scope: Scope, headers: dict[bytes, bytes], requested: str, receive: Receive, send: Send
    ) -> None:
        """A request naming a non-handshake revision: served statelessly, or refused (−32022).

        Body limit and envelope check as for sessions; no session is looked up, admitted,
        tracked or reclaimed (the revision has none). The SDK's per-request entry checks
        the ``_meta`` envelope, the ``Mcp-Method`` / ``Mcp-Name`` / ``Mcp-Param-*``
        headers and answers ``server/discover`` and ``subscriptions/listen``.
        """
        message: Any = None
        if scope["method"] == "POST":
            body = await self._read_checked_body(headers, receive, send)
            if body is None:
                return
            message = body[1]
            receive = _replay(body[0], receive)
        if requested in MODERN_PROTOCOL_VERSIONS:
            await self.app(scope, receive, send)
            return
        request_id = message.get("id") if isinstance(message, dict) else None
        # A client speaking the stateless revision (its _meta names a version) gets the
        # list server/discover gives; a handshake client also learns the handshake ones.
        stateless_client = isinstance(message, dict) and _meta_version(message) is not None
        supported = MODERN_PROTOCOL_VERSIONS if stateless_client else SUPPORTED_VERSIONS
        await _send_json(
            send,
            *_json_error(
                400,
                UNSUPPORTED_PROTOCOL_VERSION,
                f"Unsupported MCP-Protocol-Version {requested[:100]!r}; this server speaks "
                f"{', '.join(MODERN_PROTOCOL_VERSIONS)} (stateless, each request carries its _meta) and "
                f"{', '.join(HANDSHAKE_PROTOCOL_VERSIONS)} (initialize handshake with sessions)",
                {"supported": list(supported), "requested": requested},
                request_id=request_id if _is_request_id(request_id) else None,
            ),
        )

    def _open_sessions(self) -> dict[str, Any]:
        instances = getattr(self._manager, "_server_instances", None)
        return instances if isinstance(instances, dict) else {}

    async def _read_checked_body(
        self, headers: dict[bytes, bytes], receive: Receive, send: Send
    ) -> tuple[bytes, dict[str, Any]] | None:
        """Read a POST body within the limit and check its JSON-RPC envelope; None once answered."""
        declared = headers.get(b"content-length")
        if declared is not None and declared.strip().isdigit() and int(declared) > MAX_BODY_BYTES:
            await _send_json(send, *_too_large())
            return None
        try:
            body = await _read_body(receive, MAX_BODY_BYTES)
        except _BodyTooLarge:
            await _send_json(send, *_too_large())
            return None
        except _ClientGone as gone:
            logger.info(
                "client disconnected before sending its whole request body (%d of %s bytes received)",
                gone.received,
                declared.decode("latin-1") if declared is not None else "unknown",
            )
            return None
        message, problem = check_message(body)
        if problem is not None:
            code, text, request_id = problem
            await _send_json(send, *_json_error(400, code, text, request_id=request_id))
            return None
        return body, message

    async def _reclaim_if_full(self) -> None:
        """At the session cap, end the least recently used session idle for the reclaim grace."""
        instances = self._open_sessions()
        if len(instances) < self._max_sessions:
            return
        now = time.monotonic()
        known = self._sessions
        for stale in set(known.last_used) - set(instances):
            known.forget(stale)
        idle = []
        for sid in list(instances):
            # A session we have not seen answer yet (its initialize is in flight) starts now.
            last = known.last_used.setdefault(sid, now)
            if known.in_flight.get(sid, 0) == 0 and now - last >= self._reclaim_after:
                idle.append((last, sid))
        if not idle:
            return
        last, sid = min(idle)
        transport = instances.get(sid)
        if transport is None:
            return
        logger.info(
            "session cap (%d) reached: closing session %s…, idle for %.0f s, for a new client",
            self._max_sessions,
            sid[:8],
            now - last,
        )
        known.last_used.pop(sid, None)
        await self._manager._discard_session(sid, transport)

    def _watch_new_session(self, send: Send) -> Send:
        """Note when a new session answered its initialize (the start of its idle time)."""

        async def watching(message: Message) -> None:
            if message["type"] == "http.response.start":
                for key, value in message.get("headers", ()):
                    if key.lower() == _SESSION_HEADER:
                        self._sessions.last_used[value.decode("latin-1")] = time.monotonic()
            await send(message)

        return watching

    def _authorized(self, header: bytes) -> bool:
        assert self._token is not None
        scheme, _, credential = header.partition(b" ")
        return scheme.lower() == b"bearer" and hmac.compare_digest(credential.strip(), self._token)


def _is_request_id(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def _meta_version(message: dict[str, Any]) -> str | None:
    """The protocol version a message's ``params._meta`` names (stateless revisions), or None."""
    params = message.get("params")
    meta = params.get("_meta") if isinstance(params, dict) else None
    version = meta.get(PROTOCOL_VERSION_META_KEY) if isinstance(meta, dict) else None
    return version if isinstance(version, str) else None


def _modern_meta_version(message: dict[str, Any]) -> str | None:
    """The stateless revision a message's ``params._meta`` names, or None."""
    version = _meta_version(message)
    return version if version is not None and version not in HANDSHAKE_PROTOCOL_VERSIONS else None


def _missing_version_header(message: dict[str, Any]) -> tuple[int, bytes]:
    request_id = message.get("id")
    return _json_error(
        400,
        HEADER_MISMATCH,
        f"Header mismatch: params._meta names protocol version {_modern_meta_version(message)!r} "
        "but the MCP-Protocol-Version header is missing; send the same version in both",
        request_id=request_id if _is_request_id(request_id) else None,
    )


def _too_large() -> tuple[int, bytes]:
    return _json_error(
        413, INVALID_REQUEST, f"Request body too large: at most {MAX_BODY_BYTES} bytes", {"max_bytes": MAX_BODY_BYTES}
    )


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
        max_request_body_size=MAX_BODY_BYTES,
    )
    guard = SessionGuard(sdk_app, settings, mcp.session_manager)
    if hasattr(mcp, "tool_context"):
        guard.pages = status_page.StatusApp(mcp.tool_context)
    return guard


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
    _bind(config, settings, on_bound or (lambda urls: None))

    async def trigger() -> None:
        await shutdown_trigger()
        if isinstance(app, SessionGuard):
            closed = app.close_idle_streams()
            if closed:
                logger.info("shutting down: closed %d idle SSE stream(s); calls in flight finish", closed)

    await serve(app, config, shutdown_trigger=trigger)  # type: ignore[arg-type]


def _bind(config: Any, settings: ServerSettings, on_bound: Callable[[list[str]], None]) -> None:
    """Pre-bind the sockets so the real port is known before serving (``port=0``).

    Raises
    ------
    InvalidInputError
        The address cannot be listened on (port in use, a host that does not resolve or
        is not this machine's), in one line naming host and port.
    """
    import errno
    import socket

    from obcore.errors import InvalidInputError

    where = f"{settings.host}:{settings.port}"
    try:
        sockets = config.create_sockets()
    except socket.gaierror as exc:
        raise InvalidInputError(
            f"cannot listen on {where}: host {settings.host!r} does not resolve ({exc.strerror}); "
            "give --host an address or name of this machine"
        ) from None
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            reason = "the port is in use (another server, a second `make demo`?); stop it or pick another --port"
        elif exc.errno == errno.EADDRNOTAVAIL:
            reason = f"{settings.host!r} is not an address of this machine"
        elif exc.errno == errno.EACCES:
            reason = "permission denied (ports below 1024 need privileges)"
        else:
            reason = exc.strerror or str(exc)
        raise InvalidInputError(f"cannot listen on {where}: {reason}") from None
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
