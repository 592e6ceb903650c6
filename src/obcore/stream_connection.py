"""One combined-stream WebSocket slot: connect, subscribe, watch, rotate, reconnect.

A :class:`StreamConnection` owns a set of *desired* stream names and keeps exactly one
live socket (a *link*) subscribed to exactly that set — never a stream twice. It

- opens ``<ws_url>/stream?streams=a/b/...`` (the URL is the subscription, so a reconnect
  subscribes each stream exactly once) and later adds/removes streams with batched
  ``SUBSCRIBE``/``UNSUBSCRIBE``, at most one control message per ``control_interval``
  seconds (Binance allows 5 incoming messages/s per connection, pongs included);
- reconnects after a drop with exponential backoff ``base, 2·base, 4·base … max`` with
  jitter, and closes a link that was silent for ``watchdog_seconds``;
- rotates before Binance's 24 h cut and on ``{"e":"serverShutdown"}``: the new link is
  opened and subscribed while the old one still delivers; per stream, frames switch over
  once the new link's sequence (depth ``U``/``u``, aggTrade ``a``, trade ``t``) continues
  what the old link delivered, so nothing is lost or delivered twice; then the old link
  is closed. That rule is the sans-I/O :class:`obcore.handover.Handover`; this module is
  its asyncio shell.

Frames are handed to ``deliver(stream_name: bytes, raw: bytes, receive_time_ns: int)``
without being parsed (the name is cut from the ``{"stream":"<name>","data":`` prefix).
websockets answers the server's pings itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from obcore.handover import Deliver, Handover, drain_passes, frame_sequence

__all__ = ["StreamConnection", "backoff_delay", "frame_sequence", "stream_url"]

log = logging.getLogger(__name__)


_PREFIX = b'{"stream":"'
_MAX_PARAMS_PER_MESSAGE = 200  # keep each control frame small
# How long a wanted change waits for others before its control message goes out.
_COALESCE_SECONDS = 0.05


def stream_url(ws_url: str, streams: list[str]) -> str:
    """The combined-stream URL for ``streams`` on a base URL such as ``wss://host:9443``.

    Parameters
    ----------
    ws_url : str
        Base WebSocket URL; a trailing ``/``, ``/stream`` or ``/ws`` is dropped.
    streams : list of str
        Stream names, e.g. ``["ethusdt@depth@100ms", "ethusdt@aggTrade"]``.

    Returns
    -------
    str
        ``<base>/stream?streams=a/b/...``.
    """
    base = ws_url.rstrip("/")
    for suffix in ("/stream", "/ws"):
        if base.endswith(suffix):
            base = base[: -len(suffix)]
    return f"{base}/stream?streams={'/'.join(streams)}"


def backoff_delay(attempt: int, base: float, cap: float, rng: random.Random) -> float:
    """Delay before reconnect ``attempt`` (1-based): ``base·2**(attempt-1)`` capped, ±25 % jitter.

    Parameters
    ----------
    attempt : int
        Reconnect attempt number, 1 for the first.
    base : float
        Delay of the first attempt, in seconds.
    cap : float
        Longest delay in seconds (also caps the jittered value).
    rng : random.Random
        Source of the jitter (seeded in tests).

    Returns
    -------
    float
        Seconds to wait.
    """
    delay = min(cap, base * (2 ** max(0, attempt - 1)))
    return min(cap, delay * rng.uniform(0.75, 1.25))


class _Link:
    """One open socket and what it is subscribed to."""

    def __init__(self, ws: ClientConnection, streams: set[str]):
        self.ws = ws
        self.subscribed: set[str] = set(streams)  # what the server has (or will have) for us
        self.confirmed: set[str] = set(streams)  # answered with {"result":null}
        self.pending: dict[int, tuple[str, list[str]]] = {}
        now = time.monotonic()
        self.connected_at = now
        self.last_message = now
        self.last_sent = 0.0
        self.messages = 0
        self.reader: asyncio.Task[None] | None = None
        self.closed = asyncio.Event()


class StreamConnection:
    """A combined-stream connection slot that keeps its desired streams subscribed.

    Parameters
    ----------
    index : int
        Slot number, for health reports and logs.
    ws_url : str
        Base URL, e.g. ``wss://stream.binance.com:9443`` or the emulator's ``ws://…``.
    deliver : callable
        ``deliver(stream_name: bytes, raw: bytes, receive_time_ns: int)`` for each frame.
    watchdog_seconds : float
        A link silent this long is closed and reconnected.
    backoff_base, backoff_max : float
        Reconnect delays ``base, 2·base, … max`` seconds (with jitter).
    max_connection_age : float
        Seconds after which the link is rotated (before Binance's 24 h cut).
    control_interval : float
        Minimum seconds between two control messages on one link.
    handover_timeout : float
        Longest a rotation may overlap two links before it is forced.
    """

    def __init__(
        self,
        index: int,
        ws_url: str,
        deliver: Deliver,
        *,
        watchdog_seconds: float = 10.0,
        backoff_base: float = 1.0,
        backoff_max: float = 60.0,
        max_connection_age: float = 23.5 * 3600,
        control_interval: float = 0.35,
        handover_timeout: float = 5.0,
        handover_settle: float = 0.3,
        open_timeout: float = 10.0,
        ping_interval: float | None = 30.0,
        ping_timeout: float | None = 30.0,
        rng: random.Random | None = None,
    ):
        self.index = index
        self.ws_url = ws_url
        self._deliver = deliver
        self.watchdog_seconds = watchdog_seconds
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.max_connection_age = max_connection_age
        self.control_interval = control_interval
        self.handover_timeout = handover_timeout
        self.handover_settle = handover_settle
        self.open_timeout = open_timeout
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self._rng = rng or random.Random()
        self.desired: set[str] = set()
        self.rejected: dict[str, str] = {}
        self.link: _Link | None = None
        self.incoming: _Link | None = None
        self._handover: Handover | None = None
        self._drain: dict[bytes, int] = {}
        self._next_rotation_try = 0.0
        self._rotation_failures = 0
        self._closing = False
        self._wake = asyncio.Event()
        self._changed = asyncio.Event()
        self._tasks: list[asyncio.Task[Any]] = []
        self._rotation_task: asyncio.Task[None] | None = None
        self._next_id = 1
        # health
        self.connects = 0
        self.reconnects = 0
        self.rotations = 0
        self.watchdog_closes = 0
        self.shutdown_notices = 0
        self.failures = 0
        self.backoff_s = 0.0
        self.last_message = 0.0
        self.last_error: str | None = None
        self.control_messages_sent = 0
        self.duplicate_subscribe_attempts = 0

    # -- public ----------------------------------------------------------------------

    def start(self) -> None:
        """Start the supervisor, control-sender and watchdog tasks."""
        if self._tasks:
            return
        self._tasks = [
            asyncio.create_task(self._supervise(), name=f"stream-conn-{self.index}"),
            asyncio.create_task(self._send_control(), name=f"stream-ctl-{self.index}"),
            asyncio.create_task(self._watch(), name=f"stream-watch-{self.index}"),
        ]

    async def close(self) -> None:
        """Close every link and stop all tasks."""
        self._closing = True
        self._wake.set()
        for task in [*self._tasks, self._rotation_task]:
            if task is not None:
                task.cancel()
        for link in (self.link, self.incoming):
            if link is not None:
                await self._close_link(link)
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []

    def add_streams(self, names: list[str]) -> None:
        """Want these streams; they are subscribed in the next batched message."""
        self.desired.update(names)
        self._wake.set()

    def remove_streams(self, names: list[str]) -> None:
        """No longer want these streams; they are unsubscribed in the next batch."""
        self.desired.difference_update(names)
        for name in names:
            self.rejected.pop(name, None)
        self._wake.set()

    @property
    def connected(self) -> bool:
        """True while a link is open."""
        return self.link is not None

    def is_subscribed(self, names: list[str]) -> bool:
        """True when the live link has confirmed every one of ``names``."""
        link = self.link
        return link is not None and all(n in link.confirmed for n in names)

    async def wait_subscribed(self, names: list[str], timeout: float) -> bool:
        """Wait until the live link has confirmed ``names``; False on timeout.

        Parameters
        ----------
        names : list of str
            Stream names to wait for.
        timeout : float
            Seconds to wait at most.

        Returns
        -------
        bool
            True once every name is confirmed on the current link.

        Raises
        ------
        ValueError
            If the server rejected one of the names (the message names it).
        """
        deadline = time.monotonic() + timeout
        while True:
            bad = [n for n in names if n in self.rejected]
            if bad:
                raise ValueError(f"stream {bad[0]!r} was rejected: {self.rejected[bad[0]]}")
            if self.is_subscribed(names):
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    def health(self) -> dict[str, Any]:
        """Connection health: connected, streams, reconnects, message age, backoff."""
        now = time.monotonic()
        link = self.link
        return {
            "index": self.index,
            "connected": link is not None,
            "streams": len(self.desired),
            "subscribed": len(link.subscribed) if link else 0,
            "connects": self.connects,
            "reconnects": self.reconnects,
            "rotations": self.rotations,
            "rotating": self._handover is not None,
            "watchdog_closes": self.watchdog_closes,
            "shutdown_notices": self.shutdown_notices,
            "last_message_age_s": None if not self.last_message else now - self.last_message,
            "connection_age_s": None if link is None else now - link.connected_at,
            "backoff_s": self.backoff_s,
            "consecutive_failures": self.failures,
            "control_messages_sent": self.control_messages_sent,
            "last_error": self.last_error,
        }

    # -- internals -------------------------------------------------------------------

    def _notify(self) -> None:
        event, self._changed = self._changed, asyncio.Event()
        event.set()

    async def _open(self) -> _Link:
        streams = sorted(self.desired)
        ws = await connect(
            stream_url(self.ws_url, streams),
            open_timeout=self.open_timeout,
            ping_interval=self.ping_interval,
            ping_timeout=self.ping_timeout,
            max_size=1 << 24,
            compression=None,
            close_timeout=2.0,
        )
        self.connects += 1
        link = _Link(ws, set(streams))
        link.reader = asyncio.create_task(self._read(link), name=f"stream-read-{self.index}")
        return link

    async def _close_link(self, link: _Link) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(link.ws.close(), 2.0)
        if link.reader is not None and link.reader is not asyncio.current_task():
            link.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await link.reader

    async def _supervise(self) -> None:
        while not self._closing:
            if not self.desired:
                self._wake.clear()
                await self._wake.wait()
                continue
            if self.failures:
                self.backoff_s = backoff_delay(
                    self.failures, self.backoff_base, self.backoff_max, self._rng
                )
                await asyncio.sleep(self.backoff_s)
                if self._closing or not self.desired:
                    continue
            try:
                link = await self._open()
            except (OSError, asyncio.TimeoutError, InvalidHandshake, InvalidURI) as exc:
                self.failures += 1
                self.last_error = f"connect failed: {type(exc).__name__}: {exc}"
                log.warning("stream connection %d: %s", self.index, self.last_error)
                continue
            if self.connects > 1:
                self.reconnects += 1
            self.link = link
            self._notify()
            self._wake.set()  # streams wanted since the URL was built get subscribed now
            await link.closed.wait()
            # The active link may have been replaced by a rotation; wait for whichever
            # link is active now to end.
            while self.link is not None and self.link is not link and not self._closing:
                link = self.link
                await link.closed.wait()
            self.link = None
            self._notify()
            # A link that delivered data was healthy: start the backoff over.
            self.failures = 1 if link.messages else self.failures + 1

    async def _read(self, link: _Link) -> None:
        try:
            while True:
                raw = await link.ws.recv(decode=False)
                t_ns = time.time_ns()
                now = time.monotonic()
                link.last_message = now
                self.last_message = now
                link.messages += 1
                if raw.startswith(_PREFIX):
                    end = raw.find(b'"', 11)
                    name = raw[11:end]
                    handover = self._handover
                    if handover is not None and (link is handover.old or link is handover.new):
                        handover.on_frame(link, name, raw, t_ns)
                        if handover.done():
                            self._finish_handover()
                    elif link is self.link:
                        if self._drain and not drain_passes(self._drain, name, raw):
                            continue  # the old link delivered it before the switch
                        self._deliver(name, raw, t_ns)
                    continue
                self._on_control(link, raw)
        except ConnectionClosed as exc:
            if link is self.link and not self._closing:  # not a planned close of an old link
                self.last_error = f"connection closed: {exc}"
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug in a consumer must not leave the link half-dead
            self.last_error = f"reader failed: {type(exc).__name__}: {exc}"
            log.exception("stream connection %d reader failed", self.index)
            with contextlib.suppress(Exception):
                await link.ws.close()
        finally:
            link.closed.set()
            self._on_link_closed(link)

    def _on_link_closed(self, link: _Link) -> None:
        handover = self._handover
        if handover is None:
            return
        if link is handover.old:
            # The server cut the old link first: take the new one as it is.
            self._drain = handover.force()
            self._handover = None
            self.link = handover.new
            self.rotations += 1
            self.incoming = None
            self._notify()
        elif link is handover.new:
            self._handover = None
            self.incoming = None
            self._schedule_rotation_retry()

    def _on_control(self, link: _Link, raw: bytes) -> None:
        try:
            message = orjson.loads(raw)
        except orjson.JSONDecodeError:
            log.warning("stream connection %d: unreadable frame %r", self.index, raw[:100])
            return
        if not isinstance(message, dict):
            return
        if message.get("e") == "serverShutdown":
            self.shutdown_notices += 1
            if link is self.link:
                self._start_rotation()
            return
        request_id = message.get("id")
        if request_id not in link.pending:
            return
        method, names = link.pending.pop(request_id)
        if "code" in message:
            reason = str(message.get("msg", message.get("code")))
            self.last_error = f"{method} rejected: {reason}"
            if method == "SUBSCRIBE":
                for name in names:
                    link.subscribed.discard(name)
                    self.rejected[name] = reason
        elif method == "SUBSCRIBE":
            link.confirmed.update(n for n in names if n in link.subscribed)
        self._notify()

    async def _send_control(self) -> None:
        while not self._closing:
            await self._wake.wait()
            # Let symbols tracked at about the same time join one SUBSCRIBE.
            await asyncio.sleep(_COALESCE_SECONDS)
            self._wake.clear()
            for link in (self.link, self.incoming):
                if link is None:
                    continue
                if not self.desired:
                    await self._close_link(link)
                    continue
                await self._sync_subscriptions(link)

    async def _sync_subscriptions(self, link: _Link) -> None:
        while not link.closed.is_set():
            wanted = self.desired - set(self.rejected)
            to_add = sorted(wanted - link.subscribed)
            to_remove = sorted(link.subscribed - self.desired)
            if not to_add and not to_remove:
                return
            method, names = ("UNSUBSCRIBE", to_remove) if to_remove else ("SUBSCRIBE", to_add)
            names = names[:_MAX_PARAMS_PER_MESSAGE]
            # Rate-limit control messages on this link (Binance counts them; pongs too).
            wait = link.last_sent + self.control_interval - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
                continue  # the wanted set may have changed while we waited
            request_id = self._next_id
            self._next_id += 1
            if method == "SUBSCRIBE":
                if any(n in link.subscribed for n in names):  # never subscribe twice
                    self.duplicate_subscribe_attempts += 1
                    return
                link.subscribed.update(names)
            else:
                link.subscribed.difference_update(names)
                link.confirmed.difference_update(names)
            link.pending[request_id] = (method, names)
            link.last_sent = time.monotonic()
            payload = orjson.dumps({"method": method, "params": names, "id": request_id})
            try:
                await link.ws.send(payload.decode())
            except ConnectionClosed:
                return
            self.control_messages_sent += 1

    async def _watch(self) -> None:
        tick = max(0.02, min(0.25, self.watchdog_seconds / 10))
        while not self._closing:
            await asyncio.sleep(tick)
            now = time.monotonic()
            link = self.link
            if link is None or not self.desired:
                continue
            if now - link.last_message > self.watchdog_seconds and self._handover is None:
                self.watchdog_closes += 1
                self.last_error = f"no message for {now - link.last_message:.1f} s (watchdog)"
                log.warning("stream connection %d: %s; reconnecting", self.index, self.last_error)
                asyncio.create_task(self._close_link(link))
                continue
            handover = self._handover
            if handover is not None:
                if now - handover.started > self.handover_timeout:
                    self._finish_handover()
                elif handover.done():
                    self._finish_handover()
                continue
            if now - link.connected_at > self.max_connection_age and now >= self._next_rotation_try:
                self._start_rotation()

    def _start_rotation(self) -> None:
        if self._handover is not None or self._closing or self.link is None:
            return
        if self._rotation_task is not None and not self._rotation_task.done():
            return
        self._rotation_task = asyncio.create_task(self._rotate(self.link))

    def _schedule_rotation_retry(self) -> None:
        self._rotation_failures += 1
        self._next_rotation_try = time.monotonic() + backoff_delay(
            self._rotation_failures, self.backoff_base, self.backoff_max, self._rng
        )

    async def _rotate(self, old: _Link) -> None:
        try:
            new = await self._open()
        except (OSError, asyncio.TimeoutError, InvalidHandshake, InvalidURI) as exc:
            self.last_error = f"rotation connect failed: {type(exc).__name__}: {exc}"
            self._schedule_rotation_retry()
            return
        if self.link is not old or old.closed.is_set():
            # The old link died while we connected; the supervisor reconnects on its own.
            await self._close_link(new)
            return
        self.incoming = new
        self._handover = Handover(old, new, self._deliver, self.handover_settle)
        self._wake.set()  # streams wanted since the URL was built

    def _finish_handover(self) -> None:
        handover = self._handover
        if handover is None:
            return
        self._drain = handover.force()
        self._handover = None
        self.incoming = None
        self.link = handover.new
        self.rotations += 1
        self._rotation_failures = 0
        self._next_rotation_try = 0.0
        self._notify()
        asyncio.create_task(self._close_link(handover.old))
