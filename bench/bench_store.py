"""Snapshot store bench: bytes per snapshot vs the plain baseline, write rate, range reads.

Run: ``PYTHONPATH=src .venv/bin/python -m pytest -q bench/bench_store.py --benchmark-only -s``
(``-s`` prints the size table). Targets: ≤ 80 B/snapshot on disk; 300-s range ≤ 1 ms and
one day (86,400 rows) ≤ 200 ms, decode included.

Data: the real ETHUSDT recording (~11 minutes) replayed through ``BookSession``; a day of
it is made by repeating the replay with the times shifted (each repeat starts from the
recording's first book again, so every repeat boundary is a genuine jump). Blocks are
compressed one by one and RocksDB's own compression is off, so repeats cannot share bytes.
Also the real BTCUSDT recording (~7 minutes, no REST snapshot: its book is built from the
diffs alone, see :func:`btc_snapshots`) and the synthetic BTCUSDT-like stream.

``test_model_floor`` prints what an ideal adaptive entropy coder would pay for the same
information under simple models (the reason ≤ 80 B is out of reach on ETHUSDT: see
bench/README.md, "Snapshot store").
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import math
import shutil
import tempfile
from pathlib import Path

import msgpack
import numpy as np
import pytest
import zstandard
from rocksdict import WriteBatch

from obcore.counters import FIELD_NAMES
from obcore.numbers import format_decimal, parse_decimal
from obcore.recording import Message, merge_by_time
from obcore.replay import feed, l1_record
from obcore.session import BookSession, SyncState
from obcore.store import SnapshotStore
from obcore._kernels._decode_py import decode_blocks as decode_python
from obcore.store._synthetic import synthetic_snapshots
from obcore.store.codec import BlockBuilder, encode_block, forward_counters
from obcore.store.decode import decode_values, warm_up
from obcore.store.keys import data_key
from obcore.store.recorded import snapshots_from_recording, snapshots_from_routed
from obcore.store.snapshot import DEPTH, Snapshot
from obcore.store.writer import SEALED_LEVEL

DATA = Path(__file__).parents[1] / "data"
ETH = sorted((DATA / "binance-ethusdt-2024-08-09").glob("*.gz"))
BTC = sorted((DATA / "binance-btcusdt-2023-04-05").glob("*.gz"))
DAY = 86_400
BLOCK = 300
SIZES: dict[str, float] = {}
CHECKS: dict[str, str] = {}
BOOK_KINDS = ("snapshot", "depth", "trade", "aggTrade")


@functools.cache
def eth_snapshots() -> tuple[Snapshot, ...]:
    return tuple(snapshots_from_recording(ETH))


def diff_only_messages(paths, symbol: str):
    """The book messages of a recording that has no REST snapshot, for a diff-only replay.

    Just before the symbol's first depth diff comes an empty stand-in snapshot whose
    ``lastUpdateId`` is that diff's ``U - 1``, so the session goes live on the first diff
    and builds its book from the diffs alone.

    Parameters
    ----------
    paths : list of path
        Recording files (``obcore.recording`` formats).
    symbol : str
        Upper-case symbol; other symbols' messages are skipped.

    Yields
    ------
    obcore.recording.Message
        Kinds ``snapshot`` (the stand-in, once), ``depth``, ``trade`` and ``aggTrade``.
    """
    started = False
    for message in merge_by_time(paths):
        if message.symbol != symbol or message.kind not in BOOK_KINDS[1:]:
            continue
        if not started and message.kind == "depth":
            stand_in = {"lastUpdateId": int(message.payload["U"]) - 1, "bids": [], "asks": []}
            yield Message(message.receive_time_ns, None, symbol, "snapshot", stand_in)
            started = True
        yield message


def completed_seconds(messages, session: BookSession):
    """Feed ``messages`` to ``session``; yield each completed second once the session is live.

    For the plain baseline only, which needs the session itself at each boundary (its top
    100, not the stored top 20): second ``s`` is yielded just before the first event of a
    later second is fed; a second with no event is yielded too; the last is not. Simpler
    than ``obcore.store.recorded`` (no wait for late trades), which the stored figures use.
    """
    current = None
    for message in messages:
        if message.kind != "snapshot":
            second = int(message.payload.get("E") or message.payload.get("T") or 0) // 1000
            while current is not None and current < second:
                yield current
                current += 1
        feed(message, session)
        if current is None and session.state is SyncState.LIVE:
            current = session.last_event_time_ms // 1000


RECORDING_SYMBOLS = {"ETH": "ETHUSDT", "BTC": "BTCUSDT"}


def _recording_messages(name: str, symbol: str):
    if name == "BTC":
        return diff_only_messages(BTC, symbol)
    return (m for m in merge_by_time(ETH) if m.symbol == symbol and m.kind in BOOK_KINDS)


@functools.cache
def btc_snapshots() -> tuple[Snapshot, ...]:
    """One snapshot per completed second of the BTCUSDT recording, its book built from diffs only.

    The recording has no REST snapshot: the book starts empty at the first diff (see
    :func:`diff_only_messages`), so a level that no diff has touched since the recording
    began is absent — a top 20 can hold fewer levels, or skip a level that was resting
    untouched. :func:`btc_book_quality` measures how far that matters.
    """
    session = BookSession("BTCUSDT")
    return tuple(snapshots_from_routed((message, session) for message in diff_only_messages(BTC, "BTCUSDT")))


@functools.cache
def btc_book_quality() -> dict[str, int]:
    """How good the diff-only BTCUSDT book is.

    Returns
    -------
    dict
        ``compared``: bookTicker messages whose ``u`` equals the ``u`` of an applied diff;
        ``matched``: those whose best bid and ask price and size equal the rebuilt book's;
        ``full_from_s``: seconds after the first snapshot's second from which every
        snapshot holds all 20 levels a side; ``first_bids`` / ``first_asks``: levels in
        the first snapshot.
    """

    def normal(text: str) -> str:
        return format_decimal(parse_decimal(text, 12), 12)

    tickers = {
        int(m.payload["u"]): m.payload for m in merge_by_time(BTC) if m.symbol == "BTCUSDT" and m.kind == "bookTicker"
    }
    session = BookSession("BTCUSDT")
    matched = compared = 0
    for message in diff_only_messages(BTC, "BTCUSDT"):
        if not feed(message, session) or session.last_update_id not in tickers:
            continue
        ticker, ours = tickers[session.last_update_id], l1_record(session)
        compared += 1
        matched += all(ours[key] == normal(ticker[field]) for key, field in (
            ("bid", "b"), ("bid_qty", "B"), ("ask", "a"), ("ask_qty", "A")))
    snapshots = btc_snapshots()
    full = [len(s.bid_prices) == len(s.ask_prices) == DEPTH for s in snapshots]
    first_full = len(full) - next((i for i, ok in enumerate(reversed(full)) if not ok), len(full))
    return {
        "compared": compared,
        "matched": matched,
        "full_from_s": snapshots[first_full].time_s - snapshots[0].time_s if first_full < len(snapshots) else -1,
        "first_bids": len(snapshots[0].bid_prices),
        "first_asks": len(snapshots[0].ask_prices),
    }


def by_block(snapshots) -> dict[int, list[Snapshot]]:
    """Snapshots grouped by the start of their 300-s block."""
    blocks: dict[int, list[Snapshot]] = {}
    for snapshot in snapshots:
        blocks.setdefault(snapshot.time_s - snapshot.time_s % BLOCK, []).append(snapshot)
    return blocks


def keys_and_values_per_snapshot(snapshots) -> float:
    """Bytes per snapshot of ``snapshots`` as sealed 300-s blocks, 16-byte keys included."""
    values = [encode_block(rows, start, level=SEALED_LEVEL) for start, rows in by_block(snapshots).items()]
    return (sum(len(v) for v in values) + 16 * len(values)) / len(snapshots)


def top20_size_changes(snapshots) -> float:
    """Size values a 300-s block stores per snapshot (levels whose size is new to the block's
    decoder in the two top-20s: changed, new, or back in the top 20)."""
    total = 0
    for start, rows in by_block(snapshots).items():
        builder = BlockBuilder(rows[0].symbol, start)
        for row in rows:
            builder.add(row)
        total += sum(len(d[1]) + len(d[3]) for d in builder._row_diffs())
    return total / len(snapshots)


def changed_top20_pairs(snapshots) -> float:
    """Top-20 levels a second (both sides) whose (price, size) was not in the previous second's."""
    total = 0
    for before, after in zip(snapshots, snapshots[1:]):
        for prices0, qtys0, prices1, qtys1 in (
            (before.bid_prices, before.bid_qtys, after.bid_prices, after.bid_qtys),
            (before.ask_prices, before.ask_qtys, after.ask_prices, after.ask_qtys),
        ):
            previous = dict(zip(prices0.tolist(), qtys0.tolist()))
            total += sum(previous.get(p) != q for p, q in zip(prices1.tolist(), qtys1.tolist()))
    return total / (len(snapshots) - 1)


@functools.cache
def baseline_bytes_per_snapshot(levels: int, recording: str = "ETH") -> float:
    """The plain format: one msgpack map per second (top ``levels`` a side + counters), zstd -3.

    ``recording`` is ``"ETH"`` (from its REST snapshot) or ``"BTC"`` (diff-only, as
    :func:`btc_snapshots`).
    """
    symbol = RECORDING_SYMBOLS.get(recording)
    if symbol is None:
        raise ValueError(f"recording {recording!r} is not one of {sorted(RECORDING_SYMBOLS)}")
    compressor = zstandard.ZstdCompressor(level=3)
    session = BookSession(symbol)
    total = count = 0
    for second in completed_seconds(_recording_messages(recording, symbol), session):
        bids_p, bids_q, asks_p, asks_q = session.book.top(levels)
        record = {
            "symbol": symbol,
            "t": second,
            "bids": [bids_p.tolist(), bids_q.tolist()],
            "asks": [asks_p.tolist(), asks_q.tolist()],
            "counters": session.counters.window(second, 1)[:, 0].tolist(),
            "state": session.state.value,
            "u": session.last_update_id,
        }
        total += len(compressor.compress(msgpack.packb(record))) + len(symbol) + 9  # + key
        count += 1
    return total / count


def _shifted(snapshot: Snapshot, seconds: int) -> Snapshot:
    fields = {name: getattr(snapshot, name) for name in snapshot.__dataclass_fields__}
    fields["time_s"] += seconds
    fields["last_event_time_ms"] += 1000 * seconds
    return Snapshot(**fields)


def looped(snapshots, seconds: int):
    """``seconds`` consecutive snapshots made by repeating ``snapshots`` shifted in time."""
    span = snapshots[-1].time_s - snapshots[0].time_s + 1
    start = snapshots[0].time_s - snapshots[0].time_s % 300
    shift0 = start - snapshots[0].time_s
    produced = 0
    repeat = 0
    while produced < seconds:
        for snapshot in snapshots:
            if produced == seconds:
                return
            yield _shifted(snapshot, shift0 + repeat * span)
            produced += 1
        repeat += 1


def bulk_store(path: Path, snapshots, block_seconds: int = 300) -> SnapshotStore:
    """A store filled with sealed blocks directly (what the writer leaves behind)."""
    store = SnapshotStore.open(path, block_seconds=block_seconds, max_bytes=8 << 30)
    blocks: dict[tuple[str, int], list[Snapshot]] = {}
    for snapshot in snapshots:
        blocks.setdefault((snapshot.symbol, store.block_start(snapshot.time_s)), []).append(snapshot)
    batch = WriteBatch(raw_mode=True)
    for (symbol, start), rows in blocks.items():
        batch.put(data_key(symbol, start), encode_block(rows, start, level=SEALED_LEVEL))
        store.note_newest(rows[-1].time_s)
    store.write_batch(batch)
    store._db.flush()  # memtable -> SST, so the size properties show the on-disk figure
    store._db.compact_range(None, None)
    return store


@pytest.fixture(scope="module")
def workdir():
    path = Path(tempfile.mkdtemp(prefix="bench-store-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def day_store(workdir):
    store = bulk_store(workdir / "day", looped(eth_snapshots(), DAY))
    warm_up()
    yield store
    info = store.info()
    SIZES["ETH 1 day looped: on disk (SST, properties)"] = info["size_bytes"] / info["snapshots"]
    SIZES["ETH 1 day looped: keys + values"] = info["value_bytes_per_snapshot"]
    store.close()


def test_sizes(benchmark, workdir):
    """Bytes per snapshot: ours vs plain msgpack + zstd (top 100, and top 20 for a like-for-like)."""
    eth = eth_snapshots()
    eth_blocks = by_block(eth)

    def encode_all():
        return [encode_block(rows, start, level=SEALED_LEVEL) for start, rows in eth_blocks.items()]

    values = benchmark.pedantic(encode_all, rounds=1, iterations=1)
    ours = (sum(len(v) for v in values) + 16 * len(values)) / len(eth)
    synthetic = list(synthetic_snapshots("BTCUSDT", 1_723_161_600, 3600, seed=1))
    synthetic_values = [
        encode_block(synthetic[i : i + 300], synthetic[i].time_s, level=SEALED_LEVEL) for i in range(0, 3600, 300)
    ]
    SIZES["ETH replay (single pass), ours, keys + values"] = ours
    SIZES["ETH baseline msgpack top-100 + zstd, per second"] = baseline_bytes_per_snapshot(100)
    SIZES["ETH baseline msgpack top-20 + zstd, per second"] = baseline_bytes_per_snapshot(20)
    SIZES["synthetic BTCUSDT-like (1 h), ours"] = (sum(len(v) for v in synthetic_values) + 16 * 12) / 3600
    btc = btc_snapshots()
    SIZES["BTC replay (diff-only book), ours, keys + values"] = keys_and_values_per_snapshot(btc)
    SIZES["BTC baseline msgpack top-100 + zstd, per second"] = baseline_bytes_per_snapshot(100, "BTC")
    for name, stream in (("ETH", eth), ("BTC", btc), ("synthetic", synthetic)):
        SIZES[f"{name}: top-20 sizes stored a second"] = top20_size_changes(stream)
        SIZES[f"{name}: top-20 (price, size) pairs changed a second"] = changed_top20_pairs(stream)
    quality = btc_book_quality()
    CHECKS["BTC snapshots (seconds)"] = f"{len(btc)} ({btc[0].time_s}..{btc[-1].time_s})"
    CHECKS["BTC first snapshot: bid / ask levels"] = f"{quality['first_bids']} / {quality['first_asks']}"
    CHECKS["BTC all 20 levels a side from second"] = str(quality["full_from_s"])
    CHECKS["BTC bookTicker (u of an applied diff) matched"] = f"{quality['matched']} / {quality['compared']}"
    benchmark.extra_info.update({k: round(v, 1) for k, v in SIZES.items()})
    benchmark.extra_info.update(CHECKS)
    assert ours < SIZES["ETH baseline msgpack top-20 + zstd, per second"]
    assert SIZES["BTC replay (diff-only book), ours, keys + values"] < SIZES["BTC baseline msgpack top-100 + zstd, per second"]
    assert quality["compared"] > 0


def test_write_rate_20_symbols(benchmark, workdir):
    """Snapshots per second through put() + flush(): 20 symbols x 60 s (the live shape)."""
    streams = [list(synthetic_snapshots(f"SYM{i:02d}USDT", 1_723_161_600, 60, seed=i)) for i in range(20)]
    ordered = [streams[s][t] for t in range(60) for s in range(20)]
    counter = iter(range(10**6))

    def write():
        store = SnapshotStore.open(workdir / f"w{next(counter)}", warm=False)
        for t in range(60):
            for snapshot in ordered[t * 20 : (t + 1) * 20]:
                store.put(snapshot)
            store.flush()  # one batch per second, as live
        store.close()

    benchmark.pedantic(write, rounds=3, iterations=1)
    benchmark.extra_info["snapshots_per_round"] = len(ordered)
    benchmark.extra_info["snapshots_per_s"] = round(len(ordered) / benchmark.stats.stats.median)


@pytest.mark.parametrize("seconds", [300, DAY])
def test_range_read(benchmark, day_store, seconds):
    """store.range over a window in the middle of the day, decode included (Numba kernel)."""
    start = day_store.range("ETHUSDT", 0, 2**62).time_s[0] + 3_000
    if seconds == DAY:
        start -= 3_000
    result = benchmark(day_store.range, "ETHUSDT", start, start + seconds)
    assert len(result) == seconds


def test_range_read_300s_python_twin(benchmark, day_store):
    """The plain-Python decoder on the same 300-s window (the fallback, for the ratio)."""
    start = day_store.range("ETHUSDT", 0, 2**62).time_s[0] + 3_000
    values = day_store._values("ETHUSDT", start, start + 300)
    result = benchmark.pedantic(decode_values, args=("ETHUSDT", values), kwargs={"decode": decode_python},
                                rounds=3, iterations=1)
    assert len(result) >= 300


class _Adaptive:
    """Ideal cost (bits) of coding symbols with an adaptive order-0 model (KT-style estimate)."""

    def __init__(self, alphabet: int) -> None:
        self.counts: collections.Counter = collections.Counter()
        self.total = 0
        self.alphabet = alphabet
        self.bits = 0.0

    def code(self, symbol) -> None:
        self.bits -= math.log2((self.counts[symbol] + 0.5) / (self.total + 0.5 * self.alphabet))
        self.counts[symbol] += 1
        self.total += 1


def _magnitude_bits(values, model: _Adaptive) -> float:
    """Bit length coded adaptively, the bits below the leading one sent raw."""
    raw = 0
    for value in values:
        length = int(value).bit_length()
        model.code(length)
        raw += max(length - 1, 0)
    return raw


def model_floor(snapshots, recent: int = 256) -> dict[str, float]:
    """Bytes per snapshot an ideal coder would need per part of a block, under simple models.

    Sizes: ``size / quantum`` by bit length (adaptive) + raw low bits, or, with ``recent``,
    first a hit/miss flag against the last ``recent`` distinct sizes (move-to-front index
    coded the same way). Counters: each transformed column the same way. Steps: adaptive
    order-0 over the step values themselves.
    """
    blocks: dict[int, list[Snapshot]] = {}
    for snapshot in snapshots:
        blocks.setdefault(snapshot.time_s - snapshot.time_s % 300, []).append(snapshot)
    plain = with_recent = steps = counters = 0.0
    for start, rows in blocks.items():
        builder = BlockBuilder(rows[0].symbol, start)
        for row in rows:
            builder.add(row)
        diffs = builder._row_diffs()
        sizes = [v for d in diffs for v in d[1] + d[3]]
        quantum = math.gcd(*sizes) if sizes else 1
        model = _Adaptive(64)
        plain += _magnitude_bits([v // quantum for v in sizes], model) + model.bits
        flag, index_model, miss_model, lru, raw = _Adaptive(2), _Adaptive(64), _Adaptive(64), [], 0.0
        for value in sizes:
            hit = value in lru
            flag.code(hit)
            if hit:
                position = lru.index(value)
                raw += _magnitude_bits([position + 1], index_model)
                lru.pop(position)
            else:
                raw += _magnitude_bits([value // quantum], miss_model)
            lru.insert(0, value)
            del lru[recent:]
        with_recent += raw + flag.bits + index_model.bits + miss_model.bits
        step_model = _Adaptive(256)
        for value in (v for d in diffs for v in d[0] + d[2]):
            step_model.code(value)
        steps += step_model.bits
        transformed = forward_counters(np.array([row.counters for row in rows]).T)
        for column in transformed:
            model = _Adaptive(64)
            counters += _magnitude_bits(((column << 1) ^ (column >> 63)).tolist(), model) + model.bits
    n = len(snapshots) * 8
    return {
        "sizes, magnitude model": plain / n,
        f"sizes, + move-to-front of last {recent}": with_recent / n,
        "price steps, order-0": steps / n,
        "positions, walk model (see walk_position_bits)": walk_position_bits(snapshots) / n,
        "counters, magnitude model": counters / n,
    }


def walk_position_bits(snapshots, cache: int = 64) -> float:
    """Ideal cost of *where* the top-20 levels are and which of them changed, another way.

    Walk each side's new top 20 best first: the best price as a tick move (adaptive);
    each next level as "the next level the decoder knows" (an adaptive yes/no) or, when
    not, its tick gap from the level before (adaptive, one model per side and per whether
    the price is known); then, for a known price, "did its size change" (adaptive yes/no).
    Deletions are implicit (known levels the walk skips). The decoder's known levels are
    the previous top 20 plus levels pushed out of it (up to ``cache``), as in the codec.
    """
    hit = collections.defaultdict(lambda: _Adaptive(2))
    gaps = collections.defaultdict(lambda: _Adaptive(512))
    changed = collections.defaultdict(lambda: _Adaptive(2))
    best = _Adaptive(512)
    for side, sign in (("bid", 1), ("ask", -1)):
        known: dict[int, int] | None = None
        for snapshot in snapshots:
            prices = getattr(snapshot, f"{side}_prices").tolist()
            qtys = getattr(snapshot, f"{side}_qtys").tolist()
            if known is None or not prices:
                known = dict(zip(prices, qtys))
                continue
            ordered = sorted(known, key=lambda p: -sign * p)
            best.code(max(-255, min(255, sign * (prices[0] - ordered[0]))))
            for index, (price, qty) in enumerate(zip(prices, qtys)):
                if index:
                    previous = prices[index - 1]
                    following = next((k for k in ordered if sign * (previous - k) > 0), None)
                    hit[side].code(following == price)
                    if following != price:
                        gaps[(side, price in known)].code(min(sign * (previous - price), 511))
                if price in known:
                    changed[side].code(known[price] != qty)
            worst = prices[-1]
            kept = {p: q for p, q in known.items() if len(prices) == DEPTH and sign * (worst - p) > 0}
            kept.update(zip(prices, qtys))
            known = {p: kept[p] for p in sorted(kept, key=lambda p: -sign * p)[:cache]}
    models = [*hit.values(), *gaps.values(), *changed.values(), best]
    return sum(model.bits for model in models)


def bytes_without_quantity_counters(snapshots) -> float:
    """Keys + values per snapshot with the six per-side quantity counters (added, reduced,
    cancelled) zeroed: what they cost (no analytic of the spec reads them)."""
    columns = [FIELD_NAMES.index(f"{side}_{kind}_qty") for side in ("bid", "ask") for kind in ("added", "reduced", "cancelled")]
    trimmed = []
    for snapshot in snapshots:
        counters = snapshot.counters.copy()
        counters[columns] = 0
        trimmed.append(dataclasses.replace(snapshot, counters=counters))
    return keys_and_values_per_snapshot(trimmed)


def test_model_floor(benchmark):
    """Ideal-coder costs of the ETH information under simple models (printed; no timing target)."""
    floor = benchmark.pedantic(model_floor, args=(eth_snapshots(),), rounds=1, iterations=1)
    for name, value in floor.items():
        SIZES[f"ETH model floor: {name}"] = value
    SIZES["ETH without the 6 per-side quantity counters"] = bytes_without_quantity_counters(eth_snapshots())
    benchmark.extra_info.update({k: round(v, 1) for k, v in floor.items()})
    assert all(value > 0 for value in floor.values())


def teardown_module(module):
    if SIZES:
        print("\nbytes per snapshot")
        for name, value in SIZES.items():
            print(f"  {name:55s} {value:8.1f}")
    if CHECKS:
        print("diff-only BTCUSDT book")
        for name, value in CHECKS.items():
            print(f"  {name:55s} {value}")
    assert np is not None
