"""Back-fill over real sockets against the emulator serving recorded trades from a file:
several pages, a 429 with Retry-After, the weight budget, an IP ban, the live tape joined."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from obcore.analytics.backfill import AGG_TRADES_WEIGHT, backfill_agg_trades, window_trades
from obcore.client import BinanceClient
from obcore.emulator import Emulator
from obcore.errors import InvalidInputError, IPBannedError
from obcore.session import BookSession

from . import reference
from .conftest import ETH_FILES

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def eth_trades():
    return [t for path in ETH_FILES for t in reference.raw_trades(path)]


@pytest.fixture(scope="module")
def eth_csv(tmp_path_factory, eth_trades):
    path = tmp_path_factory.mktemp("backfill") / "ETHUSDT-aggTrades-2024-08-09.csv"
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        for t in eth_trades:
            writer.writerow([t["t"], t["p"], t["q"], t["t"], t["t"], t["T"], t["m"], True])
    return path


@pytest.fixture
async def served(eth_csv):
    emu = Emulator()
    emu.add_agg_trades([eth_csv])
    await emu.start()
    client = BinanceClient(base_url=emu.rest_url)
    try:
        yield emu, client
    finally:
        await client.aclose()
        await emu.stop()


async def test_several_pages_and_a_429(served, eth_trades):
    emu, client = served
    start, end = eth_trades[0]["T"], eth_trades[-1]["T"] + 1
    reports = []

    def progress(done, total, message):
        reports.append((done, total, message))
        if len(reports) == 3:
            emu.faults.rate_limit(n_429=1, retry_after=1)  # the next page is answered 429

    result = await backfill_agg_trades(client, "ETHUSDT", start, end, progress=progress)
    assert result.pages == 15 and result.retries == 1
    assert result.weight == 16 * AGG_TRADES_WEIGHT and result.waited_s >= 1.0
    assert result.trades.trade_id.tolist() == [t["t"] for t in eth_trades]
    assert result.trades.side.tolist() == [-1 if t["m"] else 1 for t in eth_trades]
    assert any("rate limited (HTTP 429)" in m for _, _, m in reports)
    done = [d for d, _, _ in reports]
    assert done == sorted(done) and done[-1] == reports[-1][1] == end - start


async def test_a_window_inside_the_data(served, eth_trades):
    emu, client = served
    start, end = eth_trades[1234]["T"], eth_trades[5678]["T"]
    result = await backfill_agg_trades(client, "ETHUSDT", start, end)
    expected = [t["t"] for t in eth_trades if start <= t["T"] < end]
    assert result.trades.trade_id.tolist() == expected and result.pages == len(expected) // 1000 + 1
    assert int(result.trades.time_ms[-1]) < end


async def test_weight_budget_waits_for_the_next_minute(served, eth_trades):
    emu, client = served
    seen = []
    fetch = client.agg_trades

    async def counted(*args, **kwargs):
        seen.append(client.used_weight)
        return await fetch(*args, **kwargs)

    client.agg_trades = counted
    waits = []

    async def fake_sleep(seconds):  # moves the client's clock instead of waiting
        waits.append(seconds)
        client.clock_offset_ms += seconds * 1000.0

    result = await backfill_agg_trades(client, "ETHUSDT", eth_trades[0]["T"], eth_trades[-1]["T"] + 1,
                                       weight_budget=12, sleep=fake_sleep)
    assert result.pages == 15 and len(waits) >= 4
    assert all(used + AGG_TRADES_WEIGHT <= 12 for used in seen)  # never sent past the budget
    assert all(0 < w <= 60.05 for w in waits)


async def test_an_ip_ban_longer_than_max_wait_is_raised(served, eth_trades):
    emu, client = served
    emu.faults.rate_limit(n_429=0, then_418=1, retry_after=600)
    with pytest.raises(IPBannedError):
        await backfill_agg_trades(client, "ETHUSDT", eth_trades[0]["T"], eth_trades[-1]["T"] + 1)


async def test_window_trades_joins_backfill_and_live_tape(served, eth_trades):
    emu, client = served
    session = BookSession("ETHUSDT")
    for t in eth_trades[9000:]:  # the live tape holds the newest trades only
        session.receive({"e": "aggTrade", "E": t["E"], "s": "ETHUSDT", "a": t["t"], "p": t["p"], "q": t["q"],
                         "f": t["t"], "l": t["t"], "T": t["T"], "m": t["m"], "M": True})
    start, end = eth_trades[100]["T"], eth_trades[-1]["T"] + 1
    trades, result = await window_trades(client, session, start, end)
    expected = [t["t"] for t in eth_trades if start <= t["T"] < end]
    assert trades.trade_id.tolist() == expected
    assert result is not None and result.trades.trade_id.tolist() == [t["t"] for t in eth_trades[: 9000]
                                                                     if t["T"] >= start]
    assert np.all(np.diff(trades.time_ms) >= 0)
    # a window the tape covers needs no back-fill
    inside, none = await window_trades(client, session, eth_trades[9500]["T"], end)
    assert none is None and len(inside) == len([t for t in eth_trades[9000:] if t["T"] >= eth_trades[9500]["T"]])


@pytest.mark.parametrize("start, end, budget, match", [
    (10, 10, None, "is empty"), (10, 5, None, "is empty"), (-1, 5, None, "start_ms"),
    (1, 5, 2, "weight_budget"), (1, 5, 10**6, "weight_budget"),
])
async def test_bad_spans(served, start, end, budget, match):
    emu, client = served
    with pytest.raises(InvalidInputError, match=match):
        await backfill_agg_trades(client, "ETHUSDT", start, end, weight_budget=budget)


# ------------------------------------------------------------------ trade cache
async def test_a_repeated_window_comes_from_the_cache(served, eth_trades, tmp_path):
    from obcore.analytics.tradecache import TradeCache

    emu, client = served
    cache = TradeCache(tmp_path / "aggtrades", max_bytes=10**9)
    session = BookSession("ETHUSDT")
    for t in eth_trades[9000:]:
        session.receive({"e": "aggTrade", "E": t["E"], "s": "ETHUSDT", "a": t["t"], "p": t["p"], "q": t["q"],
                         "f": t["t"], "l": t["t"], "T": t["T"], "m": t["m"], "M": True})
    start, end = eth_trades[0]["T"], eth_trades[-1]["T"] + 1
    expected = [t["t"] for t in eth_trades]
    first, result = await window_trades(client, session, start, end, cache=cache)
    assert first.trade_id.tolist() == expected and result.kept and result.pages >= 9
    before = client.request_count
    again, second = await window_trades(client, session, start, end, cache=cache)
    assert again.trade_id.tolist() == expected
    # only the live tape's first millisecond is asked again (it is split between REST and tape)
    assert client.request_count - before == 1 and second.from_cache == 9000 - sum(
        1 for t in eth_trades[:9000] if t["T"] == eth_trades[9000]["T"])
    (span,) = cache.spans("ETHUSDT")
    assert (span[0], span[1]) == (start, eth_trades[9000]["T"])
    assert span[2].stat().st_mode & 0o777 == 0o600 and (tmp_path / "aggtrades").stat().st_mode & 0o777 == 0o700


async def test_a_full_cap_keeps_nothing_but_answers(served, eth_trades, tmp_path):
    from obcore.analytics.tradecache import TradeCache

    emu, client = served
    cache = TradeCache(tmp_path / "aggtrades", max_bytes=5000, store_bytes=lambda: 4000)
    session = BookSession("ETHUSDT")
    trades, result = await window_trades(client, session, eth_trades[0]["T"], eth_trades[-1]["T"] + 1, cache=cache)
    assert len(trades) == len(eth_trades) and result.kept is False and cache.spans("ETHUSDT") == []
    assert not list((tmp_path / "aggtrades").rglob("*.tmp"))


def test_cache_spans_missing_parts_and_retention(tmp_path):
    from obcore.analytics import TradeArrays
    from obcore.analytics.tradecache import TradeCache
    from obcore.errors import StorageLimitExceededError

    now = [10_000_000_000.0]
    cache = TradeCache(tmp_path / "c", max_bytes=10**7, retention_ms=1_000_000, clock_ms=lambda: now[0])
    times = np.arange(100, 200, dtype=np.int64) + 9_999_000_000
    trades = TradeArrays(np.full(100, 5, dtype=np.int64), np.ones(100, dtype=np.int64), times,
                         np.ones(100, dtype=np.int8), np.arange(100, dtype=np.int64), 2, 0)
    cache.put("ETHUSDT", trades, 9_999_000_100, 9_999_000_150)
    cache.put("ETHUSDT", trades, 9_999_000_170, 9_999_000_200)
    got, missing = cache.get("ETHUSDT", 9_999_000_090, 9_999_000_210)
    assert missing == [(9_999_000_090, 9_999_000_100), (9_999_000_150, 9_999_000_170), (9_999_000_200, 9_999_000_210)]
    assert got.trade_id.tolist() == list(range(50)) + list(range(70, 100))
    now[0] += 2_000_000  # both spans are now older than the retention
    cache.put("BTCUSDT", trades, 9_999_000_100, 9_999_000_101)
    assert cache.spans("ETHUSDT") == [] and len(cache.spans("BTCUSDT")) == 1  # pruned before the write
    with pytest.raises(InvalidInputError, match="symbol"):
        cache.get("eth/../x", 1, 2)
    with pytest.raises(InvalidInputError, match="empty"):
        cache.put("ETHUSDT", trades, 5, 5)
    small = TradeCache(tmp_path / "s", max_bytes=10)
    with pytest.raises(StorageLimitExceededError, match="over the 10-byte cap"):
        small.put("ETHUSDT", trades, 9_999_000_100, 9_999_000_200)


async def test_a_ban_still_running_is_waited_out_without_a_request(served, eth_trades):
    emu, client = served
    emu.faults.rate_limit(n_429=1, retry_after=1)
    with pytest.raises(Exception):
        await client.agg_trades("ETHUSDT", limit=1)  # the 429: the client now refuses for 1 s
    assert client.blocked_for > 0
    before = client.request_count
    result = await backfill_agg_trades(client, "ETHUSDT", eth_trades[0]["T"], eth_trades[999]["T"] + 1)
    # a full first page, then one that starts past the span: two requests, no retry
    assert result.retries == 0 and result.pages == 2 and result.waited_s > 0
    assert client.request_count - before == 2 and len(result.trades) == 1000
