"""obcore.quality over real sessions synced from the bundled recording, and a fake manager."""

from __future__ import annotations

import dataclasses

import pytest

from obcore import quality
from obcore.errors import InvalidInputError
from obcore.session import BookSession, SyncState
from tests.obmcp.conftest import feed_recording


@pytest.fixture(scope="module")
def session():
    return feed_recording()


def test_a_fresh_live_book_is_ok(session):
    q = quality.data_quality(session, session.last_event_time_ms + 200)
    assert q.ok and q.sync_state is SyncState.LIVE and q.state_name == "LIVE"
    assert q.book_age_ms == 200 and q.warnings == () and q.stream_connected
    with pytest.raises(dataclasses.FrozenInstanceError):
        q.ok = False  # type: ignore[misc]


def test_the_stale_limit_is_inclusive(session):
    limit = quality.STALE_AFTER_MS
    assert quality.data_quality(session, session.last_event_time_ms + limit).ok
    late = quality.data_quality(session, session.last_event_time_ms + limit + 1)
    assert not late.ok and any("stale" in w and f"limit {limit} ms" in w for w in late.warnings)


def test_a_disconnected_stream_is_never_ok(session):
    now = session.last_event_time_ms + 10
    q = quality.data_quality(session, now, connected=False)
    assert not q.ok and not q.stream_connected
    assert any("disconnected" in warning for warning in q.warnings)


def test_an_unsynced_book_is_not_ok():
    q = quality.data_quality(BookSession("BTCUSDT"), 1_700_000_000_000)
    assert not q.ok and q.state_name == "SYNCING" and q.book_age_ms is None
    assert any("SYNCING, not LIVE" in w for w in q.warnings) and "no depth update applied yet" in q.warnings


def test_a_crossed_book_is_not_ok_when_checked(session):
    crossed = feed_recording()
    bid, ask = crossed.book.best_bid(), crossed.book.best_ask()
    # Put a bid above the best ask straight into the book (what a bad bridge would leave).
    import numpy as np

    crossed.book.apply(
        crossed.last_update_id + 1, crossed.last_update_id + 1, crossed.last_event_time_ms,
        np.array([[0, ask[0] + 1, bid[1]]], dtype=np.int64),
    )  # fmt: skip
    assert crossed.book.is_crossed()
    now = crossed.last_event_time_ms + 10
    assert quality.data_quality(crossed, now).ok  # not looked at unless asked
    q = quality.data_quality(crossed, now, check_crossed=True)
    assert q.crossed and not q.ok and any("crossed" in w for w in q.warnings)


@pytest.mark.parametrize("now", [-1, 1.5, "1", True, None])
def test_now_must_be_unix_ms(session, now):
    with pytest.raises(InvalidInputError, match="now_ms"):
        quality.data_quality(session, now)


class _Books:
    def __init__(self, sessions, connected=True):
        self.sessions, self.connected = sessions, connected

    @property
    def symbols(self):
        return list(self.sessions)

    def session(self, symbol):
        return self.sessions.get(symbol)

    def health(self):
        symbols = {s: {"connected": self.connected} for s in self.sessions}
        return {"symbols": symbols, "connections": [{"connected": self.connected}] if self.sessions else []}


def test_books_health_per_symbol(session):
    books = _Books({"ETHUSDT": session, "BTCUSDT": BookSession("BTCUSDT")})
    now = session.last_event_time_ms + 200
    health = quality.books_health(books, now)
    assert health.symbols_tracked == ("BTCUSDT", "ETHUSDT") and health.stream_connected is True
    by_symbol = {s.symbol: s for s in health.symbols}
    assert by_symbol["ETHUSDT"].status == "ok" and by_symbol["ETHUSDT"].reason is None
    assert by_symbol["BTCUSDT"].status == "degraded" and "SYNCING" in by_symbol["BTCUSDT"].reason
    assert health.status == "degraded" and "BTCUSDT" in health.reason
    only = quality.books_health(books, now, "SOLUSDT")
    assert only.status == "error" and only.untracked == "SOLUSDT" and only.symbols == ()
    books.connected = False
    down = quality.books_health(books, now, "ETHUSDT")
    assert down.status == "error" and down.stream_connected is False and "disconnected" in down.reason
    assert down.symbols[0].status == "error"


def test_books_health_of_nothing_tracked():
    health = quality.books_health(_Books({}), 1_700_000_000_000)
    assert health.status == "ok" and health.stream_connected is None and health.reason == "no symbol tracked yet"


def test_a_stale_session_is_an_error(session):
    stale = feed_recording()
    now = stale.last_event_time_ms + 60_000
    assert stale.mark_stale(now)
    h = quality.symbol_health("ETHUSDT", stale, now)
    assert h.status == "error" and "stale" in h.reason


def test_books_health_refuses_a_bad_symbol():
    with pytest.raises(InvalidInputError, match="'eth'"):
        quality.books_health(_Books({}), 1_700_000_000_000, "eth")
