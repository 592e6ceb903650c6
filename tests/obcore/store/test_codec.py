"""Block codec: exact round trips through both decode kernels, corrupt input, helpers."""

from __future__ import annotations

import msgpack
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from obcore import _kernels
from obcore.counters import FIELD_NAMES
from obcore.errors import InvalidInputError, StoreError
from obcore.store import Snapshot
from obcore.store._synthetic import synthetic_snapshots
from obcore.store._varint import encode_varints, unzigzag, zigzag
from obcore.store.codec import FRAMES, encode_block, forward_counters, inverse_counters, read_header
from obcore.store.decode import decode_values

DECODERS = _kernels.decode_implementations()
KERNELS = pytest.mark.parametrize("kernel", list(DECODERS.values()), ids=list(DECODERS))
decode_python = DECODERS["python"]
decode_numba = DECODERS.get("numba", decode_python)  # twin-only runs compare the twin to itself


def _blocks(snapshots, block_seconds):
    by_block: dict[int, list[Snapshot]] = {}
    for snapshot in snapshots:
        by_block.setdefault(snapshot.time_s - snapshot.time_s % block_seconds, []).append(snapshot)
    return [encode_block(rows, start) for start, rows in sorted(by_block.items())]


def _assert_rows_equal(arrays, snapshots):
    assert len(arrays) == len(snapshots)
    for index, snapshot in enumerate(snapshots):
        expected = snapshot.at_scales(arrays.price_scale, arrays.qty_scale)
        assert arrays.row(index).equals(expected), f"row {index} (second {snapshot.time_s}) differs"


def _snapshot(time_s, bids, asks, counters=None, **kw):
    return Snapshot(
        symbol="ETHUSDT",
        time_s=time_s,
        price_scale=kw.pop("price_scale", 2),
        qty_scale=kw.pop("qty_scale", 4),
        bid_prices=[p for p, _ in bids],
        bid_qtys=[q for _, q in bids],
        ask_prices=[p for p, _ in asks],
        ask_qtys=[q for _, q in asks],
        counters=np.arange(len(FIELD_NAMES)) if counters is None else counters,
        **kw,
    )


@KERNELS
def test_synthetic_round_trip_with_gaps(kernel):
    snapshots = list(synthetic_snapshots(seconds=400, gap_every=7))
    arrays = decode_values("BTCUSDT", _blocks(snapshots, 60), FIELD_NAMES, decode=kernel)
    _assert_rows_equal(arrays, snapshots)
    assert arrays.counter_names == FIELD_NAMES


@KERNELS
def test_thin_and_empty_books_and_level_churn(kernel):
    full = [(10_000 - 3 * i, 5 + i) for i in range(25)]
    asks = [(10_001 + 2 * i, 7 + i) for i in range(25)]
    snapshots = [
        _snapshot(0, [], []),  # not synced yet: empty book
        _snapshot(1, full[:20], asks[:20]),
        _snapshot(2, full[1:21], asks[:3]),  # best bid vanished; asks thin out
        _snapshot(3, full[:20], asks[2:22]),  # the old best comes back, with a cached size
        _snapshot(4, [(10_050, 1)] + full[:19], asks[:20], state="RESYNCING"),  # better than ref
        _snapshot(5, [(p, q + 1) for p, q in full[5:25]], []),
        _snapshot(9, full[:1], asks[:1], last_update_id=123, last_event_time_ms=9_999, gap_count=2),
    ]
    arrays = decode_values("ETHUSDT", _blocks(snapshots, 10), FIELD_NAMES, decode=kernel)
    _assert_rows_equal(arrays, snapshots)
    assert arrays.bid_levels.tolist() == [0, 20, 20, 20, 20, 20, 1]
    assert arrays.spread[1] == asks[0][0] - full[0][0]


@KERNELS
def test_scale_change_inside_a_block(kernel):
    counters = np.zeros(len(FIELD_NAMES), dtype=np.int64)
    counters[FIELD_NAMES.index("bid_added_qty")] = 12_345
    counters[FIELD_NAMES.index("trades")] = 3
    before = _snapshot(100, [(268_000, 15)], [(268_001, 7)], counters=counters, qty_scale=4)
    after = _snapshot(101, [(268_000, 151)], [(268_001, 70)], counters=counters, qty_scale=5)
    arrays = decode_values("ETHUSDT", _blocks([before, after], 60), FIELD_NAMES, decode=kernel)
    assert arrays.qty_scale == 5
    assert arrays.bid_qtys[:, 0].tolist() == [150, 151]
    assert arrays.counters[0, FIELD_NAMES.index("bid_added_qty")] == 123_450
    assert arrays.counters[0, FIELD_NAMES.index("trades")] == 3


def test_kernels_agree_on_the_same_blocks():
    snapshots = list(synthetic_snapshots(seconds=300, seed=11))
    values = _blocks(snapshots, 100)
    python = decode_values("BTCUSDT", values, decode=decode_python)
    numba = decode_values("BTCUSDT", values, decode=decode_numba)
    for name in ("time_s", "bid_prices", "bid_qtys", "ask_prices", "ask_qtys", "counters", "last_update_id"):
        assert np.array_equal(getattr(python, name), getattr(numba, name)), name


@KERNELS
def test_corrupt_blocks_raise_store_error(kernel):
    value = _blocks(list(synthetic_snapshots(seconds=30)), 60)[0]
    with pytest.raises(StoreError, match="corrupt"):
        decode_values("BTCUSDT", [value[:-5]], decode=kernel)
    with pytest.raises(StoreError):
        decode_values("BTCUSDT", [b"\x93\x01\x02"], decode=kernel)
    header = read_header(value)
    assert header.n_rows == 30


def test_snapshot_validation_names_the_bad_value():
    with pytest.raises(InvalidInputError, match="not strictly best first"):
        _snapshot(0, [(10, 1), (11, 1)], [])
    with pytest.raises(InvalidInputError, match="quantity 0"):
        _snapshot(0, [(10, 0)], [])
    with pytest.raises(InvalidInputError, match="symbol 'eth'"):
        Snapshot("eth", 0, 2, 4, [], [], [], [], [])


@given(st.lists(st.integers(min_value=-(2**62), max_value=2**62), max_size=50))
@settings(max_examples=60, deadline=None)
def test_zigzag_varints_round_trip(values):
    array = np.array(values, dtype=np.int64)
    assert np.array_equal(unzigzag(zigzag(array)), array)
    encoded = np.frombuffer(encode_varints(zigzag(array)), dtype=np.uint8)
    decoded, value, shift = [], 0, 0
    for byte in encoded.tolist():
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 128:
            decoded.append(value)
            value, shift = 0, 0
    assert np.array_equal(unzigzag(np.array(decoded, dtype=np.uint64)), array)


@given(st.lists(st.lists(st.integers(0, 10**9), min_size=len(FIELD_NAMES), max_size=len(FIELD_NAMES)), min_size=1, max_size=5))
@settings(max_examples=40, deadline=None)
def test_counter_transform_is_exact(rows):
    counters = np.array(rows, dtype=np.int64)
    stored = forward_counters(counters.T).T.copy()
    assert np.array_equal(inverse_counters(stored), counters)


def test_format_version_mismatch_is_a_clear_error():
    value = _blocks(list(synthetic_snapshots(seconds=5)), 60)[0]
    fields = list(msgpack.unpackb(value))
    fields[0] = 1
    with pytest.raises(StoreError, match="format version 1; this obcore reads 2"):
        read_header(msgpack.packb(fields))


@KERNELS
def test_corrupt_frame_and_plane_lengths_raise_store_error(kernel):
    value = _blocks(list(synthetic_snapshots(seconds=30)), 60)[0]
    fields = list(msgpack.unpackb(value))
    lengths = list(fields[11])
    lengths[4] += 1  # the bid second-byte plane no longer matches the low-byte plane
    fields[11] = lengths
    with pytest.raises(StoreError, match="corrupt"):
        decode_values("BTCUSDT", [msgpack.packb(fields)], decode=kernel)
    fields = list(msgpack.unpackb(value))
    fields[14] = fields[14] + b"\x00"  # a stray byte after the last frame
    with pytest.raises(StoreError, match="corrupt"):
        decode_values("BTCUSDT", [msgpack.packb(fields)], decode=kernel)


def test_frames_are_raw_when_zstd_does_not_shrink_them():
    header = read_header(_blocks(list(synthetic_snapshots(seconds=300, seed=3)), 300)[0])
    assert set(header.frame_codings) <= {0, 1}
    assert sum(header.frame_lengths) == len(header.payload)
    # the low size bytes are close to uniform: stored raw, one byte per size
    low = FRAMES.index((3, 8))
    assert header.frame_codings[low] == 0
    assert header.frame_lengths[low] == header.stream_lengths[3] + header.stream_lengths[8]


_LEVEL_SIZES = st.integers(min_value=1, max_value=2**40)


@st.composite
def _books(draw):
    """A few seconds of a random book: prices drift, levels come and go, sizes of any width."""
    n = draw(st.integers(1, 12))
    mid = draw(st.integers(1_000, 10**9))
    rows = []
    time_s = draw(st.integers(0, 299))
    for _ in range(n):
        mid += draw(st.integers(-30, 30))
        bid_gaps = draw(st.lists(st.integers(1, 4), max_size=20))
        ask_gaps = draw(st.lists(st.integers(1, 4), max_size=20))
        bids, price = [], mid
        for gap in bid_gaps:
            price -= gap
            bids.append((price, draw(_LEVEL_SIZES)))
        asks, price = [], mid
        for gap in ask_gaps:
            price += gap
            asks.append((price, draw(_LEVEL_SIZES)))
        counters = draw(st.lists(st.integers(0, 2**50), min_size=len(FIELD_NAMES), max_size=len(FIELD_NAMES)))
        rows.append(
            _snapshot(
                time_s,
                bids,
                asks,
                counters=np.array(counters, dtype=np.int64),
                last_update_id=draw(st.integers(0, 2**50)),
                bid_count=draw(st.integers(0, 5000)),
            )
        )
        time_s += draw(st.integers(1, 3))
    return rows


@given(_books())
@settings(max_examples=60, deadline=None)
def test_encode_decode_is_identity_in_both_kernels(snapshots):
    values = [encode_block(snapshots, 0)]
    python = decode_values("ETHUSDT", values, FIELD_NAMES, decode=decode_python)
    numba = decode_values("ETHUSDT", values, FIELD_NAMES, decode=decode_numba)
    _assert_rows_equal(python, snapshots)
    _assert_rows_equal(numba, snapshots)
