"""Rotation hand-over between two stream links, sans-I/O: which frame goes out, once.

When a combined-stream connection is rotated (before Binance's 24 h cut, or on
``serverShutdown``), the new link is subscribed while the old one still delivers. Per
stream, :class:`Handover` passes the old link's frames on until the new link's sequence
(depth ``U``/``u``, aggTrade ``a``, trade ``t``) continues what the old one delivered,
then switches to the new link, dropping what was already delivered, so nothing is lost
or delivered twice. :func:`drain_passes` is the same rule for the frames that arrive
after the switch was forced. ``obcore.stream_connection`` is the asyncio shell that
feeds it real sockets.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import orjson

__all__ = ["Deliver", "Handover", "drain_passes", "frame_sequence"]

#: ``deliver(stream_name, raw_frame, receive_time_ns)``.
Deliver = Callable[[bytes, bytes, int], None]


def frame_sequence(raw: bytes) -> tuple[int, int] | None:
    """``(first, last)`` sequence numbers of a combined-stream frame, or None if unsequenced.

    Depth diffs give ``(U, u)``, aggTrades ``(a, a)``, trades ``(t, t)``.
    """
    try:
        data = orjson.loads(raw).get("data")
        kind = data.get("e")
        if kind == "depthUpdate":
            return int(data["U"]), int(data["u"])
        if kind == "aggTrade":
            return int(data["a"]), int(data["a"])
        if kind == "trade":
            return int(data["t"]), int(data["t"])
    except (orjson.JSONDecodeError, AttributeError, KeyError, TypeError, ValueError):
        return None
    return None


def drain_passes(drain: dict[bytes, int], name: bytes, raw: bytes) -> bool:
    """After a forced switch: should the new link's frame ``raw`` of ``name`` be delivered?

    ``drain`` maps a stream to the last sequence number the old link delivered (from
    :meth:`Handover.force`). A frame at or below it was already delivered: False. The
    first frame past it (or an unsequenced one) ends the stream's drain (its entry is
    removed) and passes.
    """
    if name in drain:
        seq = frame_sequence(raw)
        if seq is not None and seq[1] <= drain[name]:
            return False
        del drain[name]
    return True


class Handover:
    """Switch each stream from the old link to the new one without a gap or a duplicate.

    Per stream: the old link keeps delivering until the new link has shown a frame whose
    first sequence number is at most ``last + 1`` (``last`` = the old link's last
    delivered). From then on the new link's frames are delivered, skipping those the old
    link already delivered (``end <= last``), and the old link's are dropped. A new link
    that runs *ahead* of the old one is buffered until the old one catches up.

    Sans-I/O: the links are opaque tokens (the shell passes its socket objects, tests
    pass anything), frames come in through :meth:`on_frame` and go out through
    ``deliver``, and time is read from ``clock``.

    Parameters
    ----------
    old, new : object
        The link being replaced and its successor (compared by identity).
    deliver : callable
        ``deliver(stream_name, raw, receive_time_ns)`` for every frame passed on.
    settle_s : float
        How long after the new link's first frame :meth:`done` waits before saying so.
    clock : callable, optional
        Monotonic seconds (default ``time.monotonic``).
    """

    def __init__(self, old: object, new: object, deliver: Deliver, settle_s: float,
                 clock: Callable[[], float] = time.monotonic):
        self.old = old
        self.new = new
        self._deliver = deliver
        self._settle_s = settle_s
        self._clock = clock
        self.started = clock()
        self.first_new_frame: float | None = None
        self.switched: set[bytes] = set()
        self.seen: set[bytes] = set()
        self.last: dict[bytes, int] = {}
        self.floor: dict[bytes, int] = {}
        self.buffers: dict[bytes, list[tuple[int, int, bytes, int]]] = {}

    def on_frame(self, link: object, name: bytes, raw: bytes, t_ns: int) -> None:
        """Take one frame of stream ``name`` from ``link`` (old or new); deliver what is due."""
        self.seen.add(name)
        if link is self.old:
            if name in self.switched:
                return  # the new link delivers this stream now
            self._deliver(name, raw, t_ns)
            seq = frame_sequence(raw)
            if seq is not None:
                self.last[name] = seq[1]
                self._try_switch(name)
            return
        if self.first_new_frame is None:
            self.first_new_frame = self._clock()
        seq = frame_sequence(raw)
        if name in self.switched:
            floor = self.floor.get(name)
            if floor is not None and seq is not None and seq[1] <= floor:
                return  # already delivered by the old link
            self.floor.pop(name, None)
            self._deliver(name, raw, t_ns)
            return
        if seq is None:  # nothing to line up: take the new link's frames from now on
            self.switched.add(name)
            self._deliver(name, raw, t_ns)
            return
        self.buffers.setdefault(name, []).append((seq[0], seq[1], raw, t_ns))
        self._try_switch(name)

    def _try_switch(self, name: bytes) -> None:
        last = self.last.get(name)
        buffer = self.buffers.get(name)
        if last is None or not buffer:
            return
        if buffer[0][0] <= last + 1:  # the new link covers everything after `last`
            self._switch(name)

    def _switch(self, name: bytes) -> None:
        last = self.last.get(name)
        self.switched.add(name)
        if last is not None:
            self.floor[name] = last
        for _, end, raw, t_ns in self.buffers.pop(name, []):
            if last is not None and end <= last:
                continue
            self.floor.pop(name, None)
            self._deliver(name, raw, t_ns)

    def done(self) -> bool:
        """True when every depth stream seen so far has switched and the new link settled.

        Trade streams need not wait: the new link was subscribed before the switch, so
        every later trade is on it, and the floor drops the ones already delivered.
        """
        if self.first_new_frame is None:
            return False
        if self._clock() - self.first_new_frame < self._settle_s:
            return False
        return all(name in self.switched for name in self.seen if b"@depth" in name)

    def force(self) -> dict[bytes, int]:
        """Switch every stream now (done, timeout, or the old link died).

        Returns
        -------
        dict
            Stream name -> last sequence number the old link delivered, for streams whose
            new frames have not yet passed it: the caller keeps dropping the new link's
            frames up to there. A gap, if any, is left for the book's continuity check.
        """
        for name in list(self.buffers):
            self._switch(name)
        for name, last in self.last.items():
            if name not in self.switched:
                self.switched.add(name)
                self.floor[name] = last
        return dict(self.floor)
