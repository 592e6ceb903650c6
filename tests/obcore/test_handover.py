"""The rotation hand-over without sockets: every frame out once, none lost, in order."""

from __future__ import annotations

import orjson

from obcore.handover import Handover, drain_passes, frame_sequence

DEPTH = b"ethusdt@depth@100ms"
TRADES = b"ethusdt@aggTrade"
OLD, NEW = object(), object()


def depth(first, last):
    return orjson.dumps({"stream": DEPTH.decode(), "data": {"e": "depthUpdate", "U": first, "u": last}})


def agg(trade_id):
    return orjson.dumps({"stream": TRADES.decode(), "data": {"e": "aggTrade", "a": trade_id}})


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def make(settle=0.3):
    out: list[tuple[bytes, tuple[int, int] | None]] = []
    clock = Clock()
    handover = Handover(OLD, NEW, lambda name, raw, t_ns: out.append((name, frame_sequence(raw))), settle, clock)
    return handover, out, clock


def test_frame_sequence_of_each_kind():
    assert frame_sequence(depth(5, 9)) == (5, 9)
    assert frame_sequence(agg(7)) == (7, 7)
    assert frame_sequence(orjson.dumps({"stream": "x@trade", "data": {"e": "trade", "t": 3}})) == (3, 3)
    assert frame_sequence(b'{"stream":"x@kline_1m","data":{"e":"kline"}}') is None
    assert frame_sequence(b"not json") is None


def test_new_link_behind_switches_without_duplicates():
    handover, out, clock = make()
    handover.on_frame(OLD, DEPTH, depth(1, 10), 0)
    handover.on_frame(NEW, DEPTH, depth(8, 10), 0)  # overlaps what the old link delivered
    handover.on_frame(OLD, DEPTH, depth(11, 12), 0)  # old still delivers: switch needs U <= 13
    handover.on_frame(NEW, DEPTH, depth(11, 12), 0)  # now the new link covers everything after 12
    handover.on_frame(OLD, DEPTH, depth(13, 14), 0)  # dropped: the stream switched
    handover.on_frame(NEW, DEPTH, depth(13, 14), 0)
    assert [seq for _, seq in out] == [(1, 10), (11, 12), (13, 14)]
    assert not handover.done()  # not settled yet
    clock.now += 0.5
    assert handover.done()


def test_new_link_ahead_is_buffered_until_the_old_one_catches_up():
    handover, out, clock = make()
    handover.on_frame(OLD, DEPTH, depth(1, 10), 0)
    handover.on_frame(NEW, DEPTH, depth(13, 14), 0)  # ahead: 11-12 only on the old link
    handover.on_frame(NEW, DEPTH, depth(15, 16), 0)
    assert [seq for _, seq in out] == [(1, 10)]
    handover.on_frame(OLD, DEPTH, depth(11, 12), 0)  # old catches up: switch, flush the buffer
    assert [seq for _, seq in out] == [(1, 10), (11, 12), (13, 14), (15, 16)]
    clock.now += 1
    assert handover.done()


def test_trades_switch_and_skip_what_the_old_link_gave():
    handover, out, clock = make()
    for trade_id in (1, 2, 3):
        handover.on_frame(OLD, TRADES, agg(trade_id), 0)
    for trade_id in (2, 3, 4, 5):
        handover.on_frame(NEW, TRADES, agg(trade_id), 0)
    handover.on_frame(OLD, TRADES, agg(4), 0)  # dropped: switched
    assert [seq[0] for _, seq in out] == [1, 2, 3, 4, 5]
    clock.now += 1
    assert handover.done()  # no depth stream seen: nothing else to wait for


def test_force_leaves_a_drain_that_drops_what_was_delivered():
    handover, out, _ = make()
    handover.on_frame(OLD, DEPTH, depth(1, 10), 0)
    handover.on_frame(OLD, TRADES, agg(7), 0)
    drain = handover.force()  # the old link died before the new one showed anything
    assert drain == {DEPTH: 10, TRADES: 7}
    assert not drain_passes(drain, DEPTH, depth(9, 10))
    assert drain_passes(drain, DEPTH, depth(11, 11)) and DEPTH not in drain  # the drain ends
    assert drain_passes(drain, DEPTH, depth(5, 6))  # after the drain everything passes
    assert not drain_passes(drain, TRADES, agg(7)) and drain_passes(drain, TRADES, agg(8))
    assert drain == {}
