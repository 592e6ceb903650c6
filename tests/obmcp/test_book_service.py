"""Live-book service functions over a real BookSession synced from the bundled recording."""

from __future__ import annotations

from decimal import Decimal

import pytest

from obcore.errors import BookNotReadyError, InvalidInputError, SymbolLimitError
from obcore.session import BookSession

from obmcp import book_service
from tests.obmcp.conftest import FakeStreams

pytestmark = pytest.mark.anyio


@pytest.fixture
def fresh_clock(eth_session, monkeypatch):
    """Pretend 'now' is 200 ms after the session's last event (the recording is from 2024)."""
    monkeypatch.setattr(book_service, "_now_ms", lambda: eth_session.last_event_time_ms + 200)


async def test_l1_matches_the_book(eth_session, fresh_clock):
    manager = FakeStreams({"ETHUSDT": eth_session})
    l1 = await book_service.orderbook_l1(manager, "ETHUSDT", top_n=5, notionals=[10_000, 250_000])
    bid, ask = eth_session.book.best_bid(), eth_session.book.best_ask()
    ps, qs = eth_session.price_scale, eth_session.qty_scale
    assert Decimal(l1.best_bid) == Decimal(bid[0]).scaleb(-ps)
    assert Decimal(l1.best_ask_qty) == Decimal(ask[1]).scaleb(-qs)
    assert Decimal(l1.mid) == (Decimal(bid[0]) + Decimal(ask[0])).scaleb(-ps) / 2
    assert Decimal(l1.spread) == Decimal(ask[0] - bid[0]).scaleb(-ps)
    assert Decimal(l1.best_bid) <= Decimal(l1.microprice) <= Decimal(l1.best_ask)
    bids = eth_session.book.top(5)[1].sum()
    asks = eth_session.book.top(5)[3].sum()
    assert l1.imbalance_top_n == pytest.approx((bids - asks) / (bids + asks), abs=1e-6)
    assert l1.last_update_id == eth_session.last_update_id
    assert l1.data_quality.ok and l1.data_quality.sync_state == "LIVE" and l1.data_quality.book_age_ms == 200
    assert [(s.side, s.notional) for s in l1.slippage] == [
        ("buy", 10_000), ("buy", 250_000), ("sell", 10_000), ("sell", 250_000)
    ]
    by_key = {(s.side, s.notional): s for s in l1.slippage}
    # A bigger sweep never costs less.
    assert by_key[("buy", 250_000)].slippage_bps >= by_key[("buy", 10_000)].slippage_bps >= 0
    assert by_key[("sell", 250_000)].slippage_bps >= by_key[("sell", 10_000)].slippage_bps >= 0


async def test_stale_book_is_flagged_not_reported_fine(eth_session, monkeypatch):
    monkeypatch.setattr(book_service, "_now_ms", lambda: eth_session.last_event_time_ms + 60_000)
    l1 = await book_service.orderbook_l1(FakeStreams({"ETHUSDT": eth_session}), "ETHUSDT")
    assert not l1.data_quality.ok
    assert any("stale" in w for w in l1.data_quality.warnings)
    health = await book_service.orderbook_health(FakeStreams({"ETHUSDT": eth_session}), None)
    assert health.status == "ok" and health.reason == "no symbol tracked yet"


async def test_book_without_levels_is_an_error():
    manager = FakeStreams({})
    with pytest.raises(BookNotReadyError, match="BTCUSDT is SYNCING with no levels"):
        await book_service.orderbook_l1(manager, "BTCUSDT", wait_seconds=0)


async def test_symbol_limit_propagates(eth_session):
    manager = FakeStreams({"ETHUSDT": eth_session}, max_symbols=1)
    await book_service.orderbook_l2(manager, "ETHUSDT")
    with pytest.raises(SymbolLimitError, match="BTCUSDT"):
        await book_service.orderbook_l2(manager, "BTCUSDT")


@pytest.mark.parametrize(
    ("kwargs", "bad"),
    [
        ({"symbol": "ethusdt"}, "'ethusdt'"),
        ({"symbol": "ETHUSDT", "top_n": 0}, "top_n 0"),
        ({"symbol": "ETHUSDT", "notionals": [0.5]}, "notional 0.5"),
        ({"symbol": "ETHUSDT", "notionals": []}, "notionals []"),
        ({"symbol": "ETHUSDT", "wait_seconds": 99}, "wait_seconds 99"),
    ],
)
async def test_l1_bad_input_names_the_value(eth_session, kwargs, bad):
    with pytest.raises(InvalidInputError, match=bad.replace("[", r"\[").replace("]", r"\]")):
        await book_service.orderbook_l1(FakeStreams({"ETHUSDT": eth_session}), **kwargs)


async def test_l2_compact_levels(eth_session, fresh_clock):
    l2 = await book_service.orderbook_l2(FakeStreams({"ETHUSDT": eth_session}), "ETHUSDT", depth=100)
    bid_prices, bid_qtys, ask_prices, ask_qtys = eth_session.book.top(100)
    assert l2.bids.prices == bid_prices.tolist() and l2.asks.qtys == ask_qtys.tolist()
    assert len(l2.bids.prices) == 100 and l2.bids.prices == sorted(l2.bids.prices, reverse=True)
    assert l2.asks.prices == sorted(l2.asks.prices)
    assert (l2.price_scale, l2.qty_scale) == (eth_session.price_scale, eth_session.qty_scale)
    with pytest.raises(InvalidInputError, match="depth 50"):
        await book_service.orderbook_l2(FakeStreams({"ETHUSDT": eth_session}), "ETHUSDT", depth=50)


async def test_health_per_symbol(eth_session, fresh_clock):
    manager = FakeStreams({"ETHUSDT": eth_session})
    await manager.track("ETHUSDT")
    await manager.track("BTCUSDT")  # never synced
    health = await book_service.orderbook_health(manager, None, max_symbols=20)
    assert health.symbols_tracked == ["BTCUSDT", "ETHUSDT"] and health.stream_connected is True
    by_symbol = {s.symbol: s for s in health.symbols}
    assert by_symbol["ETHUSDT"].status == "ok" and by_symbol["ETHUSDT"].sync_state == "LIVE"
    assert by_symbol["BTCUSDT"].status == "degraded" and "SYNCING" in by_symbol["BTCUSDT"].reason
    assert health.status == "degraded" and "BTCUSDT" in health.reason
    only = await book_service.orderbook_health(manager, "SOLUSDT")
    assert only.status == "error" and "SOLUSDT is not tracked" in only.reason
    manager.connected = False
    down = await book_service.orderbook_health(manager, "ETHUSDT")
    assert down.status == "error" and "disconnected" in down.reason



def _replay_until(messages, session: BookSession, applied: int) -> None:
    for message in messages:
        if message.kind == "snapshot":
            if session.needs_snapshot:
                session.receive_snapshot(message.payload)
        elif message.kind in ("depth", "trade"):
            session.receive(message.payload)
        if session.state.name == "LIVE" and session.events_applied >= applied:
            return
    raise AssertionError(f"the recording ran out before {applied} events were applied")


async def test_cached_answer_follows_the_book_and_the_clock(monkeypatch):
    from obcore.recording import read_messages
    from obmcp.config import BUNDLED_RECORDING

    session = BookSession("ETHUSDT")
    messages = iter(read_messages(BUNDLED_RECORDING))
    _replay_until(messages, session, 50)
    manager = FakeStreams({"ETHUSDT": session})
    now = [session.last_event_time_ms + 100]
    monkeypatch.setattr(book_service, "_now_ms", lambda: now[0])

    cache = book_service.L1Cache()

    async def fresh():
        return await book_service.orderbook_l1(manager, "ETHUSDT", top_n=7)  # no cache

    first = await book_service.orderbook_l1(manager, "ETHUSDT", top_n=7, cache=cache)
    now[0] += 4_000
    again = await book_service.orderbook_l1(manager, "ETHUSDT", top_n=7, cache=cache)
    # Same book: the same figures, but the age is the call's own.
    assert again.walls is first.walls
    assert again.data_quality.book_age_ms == 4_100 and first.data_quality.book_age_ms == 100
    assert again.model_dump() == (await fresh()).model_dump()
    now[0] += 2_000  # now stale: reported as such even from the cache
    stale = await book_service.orderbook_l1(manager, "ETHUSDT", top_n=7, cache=cache)
    assert not stale.data_quality.ok and any("stale" in w for w in stale.data_quality.warnings)
    assert first.data_quality.ok  # an earlier answer is not changed by a later call
    # Other arguments are other answers.
    other = await book_service.orderbook_l1(manager, "ETHUSDT", top_n=3, notionals=[5_000], cache=cache)
    assert other.top_n == 3 and [s.notional for s in other.slippage] == [5_000, 5_000]
    # The book moves on: the next call sees the new update id and matches a fresh computation.
    before = session.last_update_id
    _replay_until(messages, session, session.events_applied + 5)
    moved = await book_service.orderbook_l1(manager, "ETHUSDT", top_n=7, cache=cache)
    assert moved.last_update_id == session.last_update_id > before
    assert moved.model_dump() == (await fresh()).model_dump()


def test_l1_during_a_dropped_connection_says_so():
    """Against the emulator: while the stream is down, l1 answers but not as ok."""
    import asyncio
    from pathlib import Path

    from obcore.client import BinanceClient
    from obcore.emulator import Emulator
    from obcore.streams import StreamManager
    from obmcp.book_service import orderbook_l1

    recording = Path(__file__).resolve().parents[2] / "data" / "binance-ethusdt-2024-08-09" / "ethusdt_20240808.gz"

    async def scenario():
        emulator = Emulator(host="127.0.0.1", port=0, ws_port=0, speed=4.0)
        emulator.add_replay([recording])
        async with emulator, BinanceClient(emulator.rest_url) as client:
            async with StreamManager(client, ws_url=emulator.ws_url, backoff_base=3.0) as manager:
                before = await orderbook_l1(manager, "ETHUSDT", wait_seconds=10)
                emulator.faults.disconnect_all()
                for _ in range(100):  # bounded: at most ~2 s
                    if not manager.is_connected("ETHUSDT"):
                        break
                    await asyncio.sleep(0.02)
                during = await orderbook_l1(manager, "ETHUSDT", wait_seconds=0)
                return before, during

    before, during = asyncio.run(scenario())
    assert before.data_quality.ok
    assert not during.data_quality.ok
    assert any("disconnected" in warning for warning in during.data_quality.warnings)
