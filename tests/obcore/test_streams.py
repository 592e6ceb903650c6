"""StreamManager against the emulator over real sockets on 127.0.0.1 (no mocks).

After every fault the book must equal the emulator's true book level for level, with no
ban and no duplicate subscription on the server side.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import numpy as np
import pytest

from obcore.client import BinanceClient
from obcore.emulator import Emulator
from obcore.errors import BookNotReadyError, InvalidInputError, SymbolLimitError
from obcore.numbers import decimal_places, parse_decimal
from obcore.session import SyncState
from obcore.stream_connection import backoff_delay, stream_url
from obcore.streams import StreamManager

ROOT = Path(__file__).resolve().parents[2]
ETH = ROOT / "data" / "binance-ethusdt-2024-08-09" / "ethusdt_20240808.gz"
MULTI = Path("/work/shared/data/binance-multi-2021/2021-04")

FAST = dict(watchdog_seconds=2.0, backoff_base=0.05, backoff_max=0.5)


async def book_matches_truth(emu: Emulator, session, timeout: float = 5.0) -> bool:
    """Wait until our book is at the emulator's update id, then compare every level."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        last_update_id, bids, asks = emu.true_book(session.symbol)
        if session.state is SyncState.LIVE and session.last_update_id == last_update_id:
            ps, qs = session.price_scale, session.qty_scale
            bid_p, bid_q, ask_p, ask_q = session.book.top(max(1, len(bids), len(asks), session.book.bid_count, session.book.ask_count))
            ours_bids = list(zip(bid_p.tolist(), bid_q.tolist()))
            ours_asks = list(zip(ask_p.tolist(), ask_q.tolist()))
            true_bids = [(parse_decimal(p, ps), parse_decimal(q, qs)) for p, q in bids]
            true_asks = [(parse_decimal(p, ps), parse_decimal(q, qs)) for p, q in asks]
            return ours_bids == true_bids and ours_asks == true_asks
        await asyncio.sleep(0.005)
    return False


def server_streams(emu: Emulator) -> list[list[str]]:
    """Each server-side connection's subscribed streams (duplicates would show here)."""
    return [list(sub.streams) for sub in emu.ws.connections.values()]


def run(scenario, paths=(ETH,), speed: float = 2.0, emulator_options=None, **manager_options):
    async def main():
        emu = Emulator(speed=speed, **(emulator_options or {}))
        emu.add_replay(list(paths))
        async with emu:
            async with BinanceClient(emu.rest_url) as rest:
                options = {**FAST, **manager_options}
                async with StreamManager(rest, ws_url=emu.ws_url, **options) as manager:
                    return await scenario(emu, rest, manager)

    return asyncio.run(main())


def test_helpers():
    assert stream_url("ws://h:1/", ["a@b", "c@d"]) == "ws://h:1/stream?streams=a@b/c@d"
    assert stream_url("wss://h/stream", ["x"]) == "wss://h/stream?streams=x"
    import random

    rng = random.Random(1)
    delays = [backoff_delay(n, 1.0, 60.0, rng) for n in range(1, 9)]
    for n, delay in enumerate(delays, start=1):
        nominal = min(60.0, 2 ** (n - 1))
        assert 0.75 * nominal <= delay <= min(60.0, 1.25 * nominal)
    assert delays[-1] <= 60.0


def test_track_syncs_to_the_true_book_and_reports_health():
    async def scenario(emu, rest, manager):
        session = await manager.track("ETHUSDT")
        assert await manager.track("ETHUSDT") is session  # idempotent
        await manager.wait_live("ETHUSDT", 5)
        assert await book_matches_truth(emu, session)
        health = manager.health()
        symbol = health["symbols"]["ETHUSDT"]
        assert symbol["state"] == "LIVE" and symbol["connected"] and symbol["snapshots"] == 1
        assert symbol["last_update_id"] == session.last_update_id
        assert symbol["last_message_age_s"] < 1.0
        (connection,) = health["connections"]
        assert connection["connected"] and connection["streams"] == 2 and connection["reconnects"] == 0
        assert server_streams(emu) == [["ethusdt@aggTrade", "ethusdt@depth@100ms"]]
        assert len(session.trades) > 0  # aggTrades reach the tape too
        with pytest.raises(InvalidInputError, match="ethusdt"):
            await manager.track("ethusdt")

    run(scenario)


def test_symbol_limit_lazy_subscribe_batching_and_untrack():
    async def scenario(emu, rest, manager):
        symbols = ["AAVEUPUSDT", "VETETH", "SWRVBUSD", "PERLBNB"]  # the busiest here
        await manager.track(symbols[0])
        # Three more at once: subscribed in one batched SUBSCRIBE on the same connection.
        await asyncio.gather(*(manager.track(s) for s in symbols[1:3]))
        with pytest.raises(SymbolLimitError, match="max_symbols=3"):
            await manager.track(symbols[3])
        (connection,) = manager.health()["connections"]
        assert connection["control_messages_sent"] == 1 and connection["reconnects"] == 0
        (streams,) = server_streams(emu)
        assert sorted(streams) == sorted(n for s in symbols[:3] for n in manager.streams_for(s))
        for symbol in symbols[:3]:
            await manager.wait_live(symbol, 10)
            assert await book_matches_truth(emu, manager.session(symbol))
        await manager.untrack(symbols[1])
        session = await manager.track(symbols[3])  # the freed slot is usable
        await manager.wait_live(symbols[3], 10)
        assert await book_matches_truth(emu, session)
        (streams,) = server_streams(emu)
        assert len(streams) == len(set(streams)) == 6
        assert not any(s.startswith(symbols[1].lower()) for s in streams)
        with pytest.raises(InvalidInputError, match="not tracked"):
            await manager.wait_live(symbols[1], 0.1)

    run(scenario, paths=(MULTI,), speed=1.0, max_symbols=3)


@pytest.mark.parametrize("fault", ["gap", "duplicate", "out_of_order"])
def test_stream_faults_recover_to_the_true_book(fault):
    async def scenario(emu, rest, manager):
        session = await manager.track("ETHUSDT")
        await manager.wait_live("ETHUSDT", 5)
        ignored = session.events_ignored
        getattr(emu.faults, fault)("ETHUSDT")

        def fault_seen():
            if fault == "duplicate":
                return session.events_ignored > ignored
            return session.gap_count > 0

        deadline = time.monotonic() + 5
        while not fault_seen() and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        assert fault_seen()
        assert await book_matches_truth(emu, session)
        if fault == "duplicate":  # ignored as older than the book: no resync needed
            assert session.gap_count == 0 and session.events_ignored >= 1
        else:  # a missing or early event is a gap: resynced from a fresh snapshot
            assert session.gap_count == 1 and manager.health()["symbols"]["ETHUSDT"]["snapshots"] == 2
        assert server_streams(emu) == [["ethusdt@aggTrade", "ethusdt@depth@100ms"]]
        assert emu.limiter.banned_until_ms == 0

    run(scenario)


def test_disconnect_reconnects_once_and_resyncs():
    async def scenario(emu, rest, manager):
        session = await manager.track("ETHUSDT")
        await manager.wait_live("ETHUSDT", 5)
        assert emu.faults.disconnect_all() == 1
        t0 = time.monotonic()
        deadline = t0 + 10
        while manager.health()["connections"][0]["reconnects"] < 1 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        assert await book_matches_truth(emu, session, timeout=10)
        health = manager.health()
        assert health["connections"][0]["reconnects"] == 1
        assert server_streams(emu) == [["ethusdt@aggTrade", "ethusdt@depth@100ms"]]
        assert health["symbols"]["ETHUSDT"]["state"] == "LIVE"

    run(scenario)


def test_stalled_stream_is_detected_by_the_watchdog():
    async def scenario(emu, rest, manager):
        session = await manager.track("ETHUSDT")
        await manager.wait_live("ETHUSDT", 5)
        emu.faults.stall(1.2)
        t0 = time.monotonic()
        while manager.health()["connections"][0]["watchdog_closes"] < 1 and time.monotonic() - t0 < 5:
            await asyncio.sleep(0.01)
        detected = time.monotonic() - t0
        assert 0.5 <= detected < 1.5  # watchdog_seconds=0.5 plus one tick
        assert await book_matches_truth(emu, session, timeout=10)
        assert session.resync_count >= 1  # frames dropped during the stall: resynced
        assert server_streams(emu) == [["ethusdt@aggTrade", "ethusdt@depth@100ms"]]

    run(scenario, watchdog_seconds=0.5)


def test_rate_limited_snapshot_waits_instead_of_hammering():
    async def scenario(emu, rest, manager):
        emu.faults.rate_limit(n_429=1, then_418=1, retry_after=1)
        t0 = time.monotonic()
        session = await manager.track("ETHUSDT")
        await manager.wait_live("ETHUSDT", 10)
        waited = time.monotonic() - t0
        assert waited >= 1.9  # Retry-After 1 s, twice
        assert manager.health()["symbols"]["ETHUSDT"]["snapshot_errors"] == 2
        # 429 (on exchangeInfo: not fatal), 418 (snapshot), then the snapshot; nothing sent while blocked
        assert rest.request_count == 3
        assert emu.limiter.banned_until_ms == 0
        assert await book_matches_truth(emu, session)

    run(scenario)


def test_planned_rotation_causes_no_gap_and_no_duplicate_trade():
    async def scenario(emu, rest, manager):
        session = await manager.track("ETHUSDT")
        await manager.wait_live("ETHUSDT", 5)
        deadline = time.monotonic() + 8
        while manager.health()["connections"][0]["rotations"] < 3 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        health = manager.health()
        assert health["connections"][0]["rotations"] >= 3
        assert session.gap_count == 0 and session.resync_count == 0
        assert health["symbols"]["ETHUSDT"]["snapshots"] == 1
        assert await book_matches_truth(emu, session)
        ids = session.trades.since(0)["trade_id"]
        assert len(ids) > 10 and np.all(np.diff(ids) > 0)  # none twice, none out of order
        assert len(server_streams(emu)) == 1  # the old connection was closed

    run(scenario, max_connection_age=1.0)


def test_server_shutdown_notice_rotates_without_gap():
    async def scenario(emu, rest, manager):
        session = await manager.track("ETHUSDT")
        await manager.wait_live("ETHUSDT", 5)
        assert emu.faults.server_shutdown() == 1
        await asyncio.sleep(1.5)
        health = manager.health()["connections"][0]
        assert health["shutdown_notices"] == 1 and health["rotations"] == 1
        assert session.gap_count == 0 and session.resync_count == 0
        assert await book_matches_truth(emu, session)
        assert server_streams(emu) == [["ethusdt@aggTrade", "ethusdt@depth@100ms"]]

    run(scenario)


def test_server_pings_are_answered():
    async def scenario(emu, rest, manager):
        await manager.track("ETHUSDT")
        await manager.wait_live("ETHUSDT", 5)
        await asyncio.sleep(1.5)  # ~7 server pings, each must get its pong within 0.3 s
        assert manager.health()["connections"][0]["reconnects"] == 0

    # ping_timeout must be set before the server starts: build the emulator by hand.
    async def main():
        emu = Emulator(speed=2.0, ping_interval_s=0.2)
        emu.ws.ping_timeout_s = 0.3
        emu.add_replay([ETH])
        async with emu, BinanceClient(emu.rest_url) as rest:
            async with StreamManager(rest, ws_url=emu.ws_url, **FAST) as manager:
                await scenario(emu, rest, manager)

    asyncio.run(main())


def test_wait_live_times_out_with_a_reason():
    async def scenario(emu, rest, manager):
        emu.faults.stall(2.0)
        await manager.track("ETHUSDT")
        with pytest.raises(BookNotReadyError, match="ETHUSDT"):
            await manager.wait_live("ETHUSDT", 0.3)

    run(scenario)


def test_unknown_symbol_fails_fast_and_scales_come_from_exchange_info():
    from obcore.errors import InvalidSymbolError

    async def scenario():
        emulator = Emulator(host="127.0.0.1", port=0, ws_port=0, speed=20.0)
        emulator.add_replay([ETH])
        async with emulator:
            async with BinanceClient(emulator.rest_url) as client:
                info = await client.exchange_info(symbol="ETHUSDT")
                filters = {f["filterType"]: f for f in info["symbols"][0]["filters"]}
                async with StreamManager(client, ws_url=emulator.ws_url) as manager:
                    with pytest.raises(InvalidSymbolError, match="FOOUSDT"):
                        await manager.track("FOOUSDT")
                    assert manager.symbols == []  # nothing left half-tracked
                    session = await manager.track("ETHUSDT")
                    return session, filters

    session, filters = asyncio.run(scenario())
    assert session.price_scale >= decimal_places(filters["PRICE_FILTER"]["tickSize"])
    assert session.qty_scale >= decimal_places(filters["LOT_SIZE"]["stepSize"])


def test_on_second_closed_comes_before_each_later_seconds_first_depth_frame():
    calls: list[tuple[int, int, int]] = []

    def closed(session, closed_second, next_second):
        # the hook runs before the frame is applied: the book is still at closed_second
        calls.append((closed_second, next_second, session.last_event_time_ms // 1000))

    async def scenario(emu, rest, manager):
        manager.on_second_closed = closed
        session = await manager.track("ETHUSDT")
        await manager.wait_live("ETHUSDT", 5)
        deadline = time.monotonic() + 10
        while len(calls) < 4 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        (target,) = manager.capture_targets()
        return session, target

    session, (target_session, connection_second) = run(scenario, speed=4.0)
    assert len(calls) >= 4 and target_session is session
    for (closed_second, next_second, book_second), following in zip(calls, calls[1:]):
        assert book_second == closed_second < next_second <= following[0]
    assert connection_second >= calls[-1][1]
