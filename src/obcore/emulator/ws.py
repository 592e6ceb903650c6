"""The emulator's WebSocket market-stream server (``/ws/<stream>``, ``/stream?streams=``).

Speaks Binance's connection rules: raw and combined streams, SUBSCRIBE / UNSUBSCRIBE /
LIST_SUBSCRIPTIONS / SET_PROPERTY / GET_PROPERTY with ``{"result":..,"id":..}`` answers and
error codes 0..3, at most 5 incoming messages/s (else close 1008), at most 1024 streams per
connection, server pings (websockets' keepalive; 60 s pong timeout) and a maximum
connection age. Every payload is serialised once per stream and shape and the same bytes
go to every subscriber; each connection has its own outbound queue and writer task so a
slow client never blocks the market loop.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import deque
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

__all__ = ["Hub", "Subscriber", "WebSocketServer", "MAX_STREAMS", "MAX_INCOMING_PER_SECOND"]

MAX_STREAMS = 1024
MAX_INCOMING_PER_SECOND = 5
# Far beyond any healthy backlog; a client this far behind is dropped like Binance does.
_MAX_QUEUE = 200_000
_STREAM_NAME = re.compile(
    r"^[a-z0-9_\-.]{1,30}@(trade|aggTrade|bookTicker|depth(@100ms|@1000ms)?|depth(5|10|20)(@100ms|@1000ms)?)$")
_ID = re.compile(r"^[A-Za-z0-9]{1,36}$")


class Subscriber:
    """One client connection: its streams, shape (combined or raw) and outbound queue."""

    def __init__(self, connection: ServerConnection, combined: bool):
        self.connection = connection
        self.combined = combined
        self.streams: list[str] = []
        self.queue: deque[bytes] = deque()
        self.ready = asyncio.Event()
        self.sent = 0
        self.closed = False

    def push(self, frame: bytes) -> None:
        """Queue one text frame (bytes of JSON) for sending."""
        if self.closed:
            return
        if len(self.queue) >= _MAX_QUEUE:
            self.closed = True
            asyncio.get_running_loop().create_task(self.connection.close(1008, "Slow consumer"))
            return
        self.queue.append(frame)
        self.ready.set()

    async def run_writer(self) -> None:
        """Send queued frames until the connection closes."""
        try:
            while True:
                await self.ready.wait()
                self.ready.clear()
                while self.queue:
                    await self.connection.send(self.queue.popleft(), text=True)
                    self.sent += 1
        except ConnectionClosed:
            pass


class Hub:
    """Stream name -> subscribers; serialises each payload once and fans it out."""

    def __init__(self) -> None:
        self.subscribers: dict[str, set[Subscriber]] = {}
        self.stalled_until = 0.0
        self.published = 0

    def wants(self, stream: str) -> bool:
        """Whether any connection listens to ``stream``."""
        return bool(self.subscribers.get(stream))

    def add(self, subscriber: Subscriber, streams: list[str]) -> None:
        for stream in streams:
            if stream not in subscriber.streams:
                subscriber.streams.append(stream)
                self.subscribers.setdefault(stream, set()).add(subscriber)

    def discard(self, subscriber: Subscriber, streams: list[str] | None = None) -> None:
        for stream in list(subscriber.streams if streams is None else streams):
            if stream in subscriber.streams:
                subscriber.streams.remove(stream)
            subs = self.subscribers.get(stream)
            if subs is not None:
                subs.discard(subscriber)
                if not subs:
                    del self.subscribers[stream]

    def publish(self, stream: str, payload: Any) -> None:
        """Send ``payload`` to every subscriber of ``stream`` (dropped during a stall)."""
        subs = self.subscribers.get(stream)
        if not subs:
            return
        if self.stalled_until and time.monotonic() < self.stalled_until:
            return
        raw = wrapped = None
        for sub in subs:
            if sub.combined:
                if wrapped is None:
                    wrapped = orjson.dumps({"stream": stream, "data": payload})
                sub.push(wrapped)
            else:
                if raw is None:
                    raw = orjson.dumps(payload)
                sub.push(raw)
        self.published += 1

    def all_subscribers(self) -> set[Subscriber]:
        out: set[Subscriber] = set()
        for subs in self.subscribers.values():
            out |= subs
        return out


def _parse_path(path: str) -> tuple[bool, list[str]] | None:
    """``(combined, streams)`` for a request path, or None if the path is not served."""
    parts = urlsplit(path)
    if parts.path in ("/ws", "/ws/"):
        return False, []
    if parts.path.startswith("/ws/"):
        return False, [s for s in parts.path[4:].split("/") if s]
    if parts.path in ("/stream", "/stream/"):
        query = parse_qs(parts.query)
        streams = query.get("streams", [""])[0]
        return True, [s for s in streams.split("/") if s]
    return None


def _valid_stream(name: str) -> bool:
    return bool(_STREAM_NAME.match(name))


class WebSocketServer:
    """The WebSocket server of the emulator.

    Parameters
    ----------
    hub : Hub
        Where subscriptions live and payloads are fanned out.
    on_subscribe : callable
        ``on_subscribe(subscriber, streams)`` called after streams were added (sends
        immediate partial-depth snapshots, for instance).
    """

    def __init__(self, hub: Hub, on_subscribe: Any = None):
        self.hub = hub
        self.on_subscribe = on_subscribe
        self.ping_interval_s: float | None = 20.0
        self.ping_timeout_s: float | None = 60.0
        self.max_connection_age_s = 24 * 3600.0
        self.connections: dict[ServerConnection, Subscriber] = {}
        self._server: Server | None = None
        self.port = 0

    async def start(self, host: str, port: int) -> None:
        self._server = await serve(
            self._handle, host, port, process_request=self._check_path,
            ping_interval=self.ping_interval_s, ping_timeout=self.ping_timeout_s,
            max_size=1 << 16, compression=None,
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def _check_path(self, connection: ServerConnection, request: Request) -> Response | None:
        parsed = _parse_path(request.path)
        if parsed is None:
            return connection.respond(HTTPStatus.NOT_FOUND, f"Unknown path {request.path}\n")
        _, streams = parsed
        if len(streams) > MAX_STREAMS:
            return connection.respond(HTTPStatus.BAD_REQUEST, f"Too many streams: {len(streams)} > {MAX_STREAMS}\n")
        bad = [s for s in streams if not _valid_stream(s)]
        if bad:
            return connection.respond(HTTPStatus.BAD_REQUEST, f"Invalid stream name {bad[0]!r}\n")
        return None

    async def _handle(self, connection: ServerConnection) -> None:
        combined, streams = _parse_path(connection.request.path)  # type: ignore[misc,union-attr]
        subscriber = Subscriber(connection, combined)
        self.connections[connection] = subscriber
        self.hub.add(subscriber, streams)
        if streams and self.on_subscribe is not None:
            self.on_subscribe(subscriber, streams)
        writer = asyncio.create_task(subscriber.run_writer())
        loop = asyncio.get_running_loop()
        age_cut = loop.call_later(
            self.max_connection_age_s,
            lambda: loop.create_task(connection.close(1001, "Max connection age reached")))
        arrivals: deque[float] = deque()
        try:
            async for message in connection:
                now = time.monotonic()
                arrivals.append(now)
                while arrivals and now - arrivals[0] >= 1.0:
                    arrivals.popleft()
                if len(arrivals) > MAX_INCOMING_PER_SECOND:
                    await connection.close(1008, "Too many requests")
                    break
                reply = self._control(subscriber, message)
                if reply is not None:
                    subscriber.push(orjson.dumps(reply))
        except ConnectionClosed:
            pass
        finally:
            age_cut.cancel()
            subscriber.closed = True
            self.hub.discard(subscriber)
            self.connections.pop(connection, None)
            writer.cancel()

    def _control(self, subscriber: Subscriber, message: str | bytes) -> dict[str, Any] | None:
        try:
            request = orjson.loads(message)
        except orjson.JSONDecodeError as exc:
            return {"code": 3, "msg": f"Invalid JSON: {exc}", "id": None}
        if not isinstance(request, dict):
            return {"code": 3, "msg": "Invalid JSON: expected an object", "id": None}
        request_id = request.get("id")
        if not (request_id is None or (isinstance(request_id, int) and not isinstance(request_id, bool)
                                       and -(2**63) <= request_id < 2**63)
                or (isinstance(request_id, str) and _ID.match(request_id))):
            return {"code": 2, "msg": "Invalid request: request ID must be a signed 64-bit integer, "
                                      "an alphanumeric string up to 36 characters, or null", "id": None}
        method = request.get("method")
        params = request.get("params")
        if method in ("SUBSCRIBE", "UNSUBSCRIBE"):
            if not isinstance(params, list) or not all(isinstance(p, str) for p in params):
                return {"code": 2, "msg": "Invalid request: 'params' must be an array of stream names",
                        "id": request_id}
            bad = [p for p in params if not _valid_stream(p)]
            if bad:
                return {"code": 2, "msg": f"Invalid request: invalid stream name {bad[0]!r}", "id": request_id}
            if method == "SUBSCRIBE":
                new = [p for p in params if p not in subscriber.streams]
                if len(subscriber.streams) + len(set(new)) > MAX_STREAMS:
                    return {"code": 2, "msg": f"Invalid request: too many streams (max {MAX_STREAMS})",
                            "id": request_id}
                self.hub.add(subscriber, params)
                if self.on_subscribe is not None:
                    self.on_subscribe(subscriber, new)
            else:
                self.hub.discard(subscriber, params)
            return {"result": None, "id": request_id}
        if method == "LIST_SUBSCRIPTIONS":
            return {"result": list(subscriber.streams), "id": request_id}
        if method in ("SET_PROPERTY", "GET_PROPERTY"):
            if not isinstance(params, list) or not params or params[0] != "combined":
                return {"code": 0, "msg": "Unknown property", "id": request_id}
            if method == "GET_PROPERTY":
                return {"result": subscriber.combined, "id": request_id}
            if len(params) != 2 or not isinstance(params[1], bool):
                return {"code": 1, "msg": "Invalid value type: expected Boolean", "id": request_id}
            subscriber.combined = params[1]
            return {"result": None, "id": request_id}
        return {"code": 2, "msg": f"Invalid request: unknown method {method!r}", "id": request_id}

    # ------------------------------------------------------------ fault hooks
    def disconnect_all(self) -> int:
        """Drop every connection at once (TCP abort, no close frame). Returns the count."""
        count = 0
        for connection in list(self.connections):
            transport = connection.transport
            if transport is not None:
                transport.abort()
                count += 1
        return count

    def server_shutdown(self, event_time_ms: int, close_after_s: float) -> int:
        """Send ``serverShutdown`` on every connection, close them ``close_after_s`` later."""
        frame = orjson.dumps({"e": "serverShutdown", "E": event_time_ms})
        loop = asyncio.get_running_loop()
        targets = list(self.connections.items())
        for connection, subscriber in targets:
            subscriber.push(frame)
            loop.call_later(close_after_s,
                            lambda c=connection: loop.create_task(c.close(1001, "Server shutdown")))
        return len(targets)
