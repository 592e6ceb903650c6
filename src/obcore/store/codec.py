"""The compact block format: many seconds of one symbol in one RocksDB value.

Why blocks: a plain msgpack of the top levels costs ~1.3 KB a second; the seed's budget is
~80 bytes. Consecutive seconds of a book differ in a few levels, so a block stores its
first second in full (a keyframe; every block is self-contained, so a range read never
starts further back than one block) and every later second as the level changes against
the second before. Integers go into separate varint streams (times, change counts, price
steps, quantities, scalar deltas, counters column by column) so zstd sees long runs of
similar bytes.

Value layout (MessagePack array)::

    [FORMAT_VERSION, n_rows, n_fields, price_scale, qty_scale, block_start_s,
     ref_bid, ref_ask, cache_levels, counter_transform, qty_quantum,
     [16 stream lengths], [10 frame lengths], [10 frame codings], frames]

Why separate frames: zstd builds one Huffman table per frame, and the byte statistics of
price steps, sizes and counters differ; one frame per kind of bytes (a frame left raw when
zstd would not shrink it, coding 0; zstd is coding 1) measured 4-5 B/snapshot less on the
ETHUSDT recording than one frame for all. Why byte planes: a size is an almost uniform
random number of ~13 bits; its low byte goes raw into one frame, its second byte (skewed)
into another, the rest as varints into a third, so each gets its own statistics (another
~3 B/snapshot). Frames (members in stream order): times + change counts (0, 1, 6), steps
(2, 7), low size bytes (3, 8), second size bytes (4, 9), high size varints (5, 10), scalars
(11), count counters (12), and the three planes of quantity counters (13, 14, 15).

Streams (LEB128 varints, except the byte planes ``b0``/``b1``: one byte per value):

0. times: first row ``t0 - block_start``, then ``t_i - t_(i-1) - 1``
1. bid change counts, one per row
2. bid price steps: per row, changes sorted best first by distance ``d = ref - price``
   (asks: ``price - ref``) where ``ref`` is the previous row's best (the header's for row
   0); the first change's step is ``zigzag(d)``, the next ``d_j - d_(j-1) - 1``; stored
   as ``step << 1 | is_delete``
3-5. bid sizes divided by ``qty_quantum`` (the block's gcd of them: a scale raised by one
   odd number elsewhere in the book costs no bytes here), one per change that is not a
   delete, as planes: ``b0`` = bits 0-7, ``b1`` = bits 8-15, varint of ``value >> 16``
6-10. the same for asks
11. scalars column by column, ``zigzag`` of the difference with the row before:
   state, last_update_id, last_event_time_ms - 1000*time_s, gap_count, resync_count,
   bid_count, ask_count
12. counters that count events, column by column (``COUNTER_ORDER``), ``zigzag`` of the
   value after :func:`forward_counters` (when ``counter_transform`` is 1; otherwise every
   column, in field order)
13-15. the quantity counters (``QTY_FIELDS``), column by column, the same values as
   planes ``b0``, ``b1``, varint of ``value >> 16``

Decoding a row: each side remembers up to ``cache_levels`` known levels (the previous top
20 plus levels pushed out of it, which often come back when the price swings back); drop
or replace the levels named by the changes, insert the new ones, keep the best
``cache_levels``; the row is the best 20. The encoder emits every level of the new top 20
whose size differs from the known one and deletes every known level that vanished and is
not simply pushed out of the top 20, so this reproduces the top 20 exactly.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Sequence

import msgpack
import numpy as np
import zstandard

from obcore.counters import FIELD_NAMES
from obcore.errors import StoreError
from obcore.store._varint import encode_varints, zigzag
from obcore.store.snapshot import DEPTH, Snapshot

__all__ = [
    "CACHE_LEVELS",
    "COUNTER_ORDER",
    "FORMAT_VERSION",
    "FRAMES",
    "LOGICAL_FIRST",
    "N_FRAMES",
    "STREAM_KINDS",
    "N_SCALARS",
    "N_STREAMS",
    "QTY_FIELDS",
    "SCALAR_NAMES",
    "BlockBuilder",
    "BlockHeader",
    "encode_block",
    "forward_counters",
    "inverse_counters",
    "read_header",
]

FORMAT_VERSION = 2
#: Stream kinds the decoder knows: varints, low byte plane, second byte plane, ``>> 16`` varints.
VARINT, PLANE0, PLANE1, HIGH = 0, 1, 2, 3
STREAM_KINDS = (
    VARINT, VARINT, VARINT, PLANE0, PLANE1, HIGH,  # times, bid counts, bid steps, bid sizes
    VARINT, VARINT, PLANE0, PLANE1, HIGH,  # ask counts, ask steps, ask sizes
    VARINT, VARINT, PLANE0, PLANE1, HIGH,  # scalars, count counters, quantity counters
)  # fmt: skip
N_STREAMS = len(STREAM_KINDS)
#: First stream of each of the decoder's 9 value runs (times, bid counts, bid steps, bid
#: sizes, ask counts, ask steps, ask sizes, scalars, counters).
LOGICAL_FIRST = (0, 1, 2, 3, 6, 7, 8, 11, 12)
#: Streams sharing one zstd frame (same kind of bytes, so one Huffman table serves them).
FRAMES = ((0, 1, 6), (2, 7), (3, 8), (4, 9), (5, 10), (11,), (12,), (13,), (14,), (15,))
N_FRAMES = len(FRAMES)
RAW, ZSTD = 0, 1
#: Levels each side of the decoder remembers (the top 20 plus recently pushed-out ones).
CACHE_LEVELS = 64
SCALAR_NAMES = (
    "state",
    "last_update_id",
    "last_event_time_ms",
    "gap_count",
    "resync_count",
    "bid_count",
    "ask_count",
)
N_SCALARS = len(SCALAR_NAMES)


@dataclass(frozen=True, slots=True)
class BlockHeader:
    """The MessagePack part of a stored block."""

    n_rows: int
    n_fields: int
    price_scale: int
    qty_scale: int
    block_start_s: int
    ref_bid: int
    ref_ask: int
    cache_levels: int
    counter_transform: int
    qty_quantum: int
    stream_lengths: tuple[int, ...]
    frame_lengths: tuple[int, ...]
    frame_codings: tuple[int, ...]
    payload: bytes


def read_header(value: bytes) -> BlockHeader:
    """Parse a stored block's MessagePack container (the frames stay compressed).

    Raises
    ------
    StoreError
        If the value is not a block of a known format version.
    """
    try:
        fields = msgpack.unpackb(value, use_list=False)
        version = fields[0]
    except (ValueError, TypeError, IndexError, KeyError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError) as exc:
        raise StoreError(f"stored block is corrupt ({len(value)} bytes): {exc}") from exc
    if version != FORMAT_VERSION:
        raise StoreError(
            f"stored block has format version {version!r}; this obcore reads {FORMAT_VERSION} "
            "(re-import the data: older stores are not readable)"
        )
    try:
        (_, n_rows, n_fields, price_scale, qty_scale, start, ref_bid, ref_ask, cache, transform, quantum) = fields[:11]
        lengths, frame_lengths, codings, payload = fields[11:]
    except (ValueError, TypeError) as exc:
        raise StoreError(f"stored block is corrupt ({len(value)} bytes): {exc}") from exc
    if len(lengths) != N_STREAMS or len(frame_lengths) != N_FRAMES or len(codings) != N_FRAMES:
        raise StoreError(
            f"stored block has {len(lengths)} streams and {len(frame_lengths)} frames, "
            f"expected {N_STREAMS} and {N_FRAMES}"
        )
    return BlockHeader(
        n_rows,
        n_fields,
        price_scale,
        qty_scale,
        start,
        ref_bid,
        ref_ask,
        cache,
        transform,
        quantum,
        tuple(lengths),
        tuple(frame_lengths),
        tuple(codings),
        payload,
    )


def _side_changes(
    known: dict[int, int],
    new_prices: list[int],
    new_qtys: list[int],
    ref: int,
    sign: int,
    cache: int,
) -> tuple[list[int], list[int], dict[int, int]]:
    """Changes turning the decoder's ``known`` levels into ones whose best 20 are ``new``.

    ``sign`` is +1 for bids (distance ``ref - price``) and -1 for asks (``price - ref``).
    Returns the step values (``step << 1 | is_delete``), the sizes of the non-deletes and
    the new ``known`` (at most ``cache`` levels, the best ones).
    """
    changes = {p: q for p, q in zip(new_prices, new_qtys) if known.get(p) != q}
    if known:
        present = set(new_prices)
        full = len(new_prices) >= DEPTH
        worst = sign * (ref - new_prices[-1]) if new_prices else 0
        for price in known:
            # A level beyond the new worst one just left the top 20: keep it known (it
            # often comes back when the price swings back); any nearer one really went.
            if price not in present and (not full or sign * (ref - price) < worst):
                changes[price] = 0
    after = dict(known)
    for price, qty in changes.items():
        if qty:
            after[price] = qty
        else:
            del after[price]
    if len(after) > cache:
        after = {p: after[p] for p in sorted(after, key=lambda p: -sign * p)[:cache]}
    steps: list[int] = []
    qtys: list[int] = []
    previous = 0
    for index, (distance, qty) in enumerate(sorted((sign * (ref - p), q) for p, q in changes.items())):
        if index == 0:
            step = (distance << 1) ^ (distance >> 63)  # zigzag: the best may have moved either way
        else:
            step = distance - previous - 1
        previous = distance
        steps.append(step << 1 | (qty == 0))
        if qty:
            qtys.append(qty)
    return steps, qtys, after


def forward_counters(counters: np.ndarray) -> np.ndarray:
    """Exact, invertible transform of a ``(n_fields, n)`` counter matrix into small numbers.

    Uses the identities that usually hold (cancellations are a subset of reductions, trades
    split into buys and sells, ...) and the near-balance of added and reduced quantity; the
    stored difference is 0 (or small) when they hold and the exact residual when not.
    """
    out = counters.copy()
    for target, others in _TRANSFORM:
        if len(others) > 1:
            out[target] = counters[target] - counters[list(others)].sum(axis=0)
        else:
            out[target] = counters[others[0]] - counters[target]
    return out


def inverse_counters(stored: np.ndarray) -> np.ndarray:
    """Inverse of :func:`forward_counters` on an ``(n, n_fields)`` matrix (in place)."""
    # reversed: a pair whose ``other`` is itself transformed comes after that other's pair
    for target, others in reversed(_TRANSFORM):
        if len(others) > 1:
            stored[:, target] += stored[:, list(others)].sum(axis=1)
        else:
            stored[:, target] = stored[:, others[0]] - stored[:, target]
    return stored


def _counter_transform() -> tuple[tuple[int, tuple[int, ...]], ...]:
    """(field, others) pairs: one other stores ``other - field``; several store
    ``field - sum(others)``. Every pair reads original values when encoding; a pair whose
    ``other`` is transformed too comes first, so inverting in reverse order restores that
    other before it is used."""
    index = {name: i for i, name in enumerate(FIELD_NAMES)}
    pairs = []
    for side in ("bid", "ask"):
        pairs.append((index[f"{side}_cancellations"], (index[f"{side}_reductions"],)))
        pairs.append((index[f"{side}_cancelled_qty"], (index[f"{side}_reduced_qty"],)))
        pairs.append((index[f"{side}_updates"], (index[f"{side}_additions"], index[f"{side}_reductions"])))
    pairs.append((index["trades"], (index["buy_trades"], index["sell_trades"])))
    # after the cancelled_qty pairs (which read reduced_qty): inverted first
    for side in ("bid", "ask"):
        pairs.append((index[f"{side}_reduced_qty"], (index[f"{side}_added_qty"],)))
    return tuple(pairs)


_TRANSFORM = _counter_transform()
#: Counter fields stored as byte planes (quantities: large, nearly random low bits).
QTY_FIELDS = tuple(i for i, name in enumerate(FIELD_NAMES) if name.endswith("_qty"))
#: Stored column order when ``counter_transform`` is 1: event counts, then quantities.
COUNTER_ORDER = tuple(i for i in range(len(FIELD_NAMES)) if i not in QTY_FIELDS) + QTY_FIELDS


def _planes(values: np.ndarray) -> list[bytes]:
    """Non-negative integers as three streams: low bytes, second bytes, varints of the rest."""
    v = np.asarray(values).astype(np.uint64)
    return [
        (v & np.uint64(0xFF)).astype(np.uint8).tobytes(),
        ((v >> np.uint64(8)) & np.uint64(0xFF)).astype(np.uint8).tobytes(),
        encode_varints(v >> np.uint64(16)),
    ]


def _frames(streams: list[bytes], level: int) -> tuple[list[int], list[int], bytes]:
    """Group streams into :data:`FRAMES`; each zstd-compressed, or raw when that is smaller."""
    compressor = zstandard.ZstdCompressor(level=level, write_content_size=False, write_checksum=False)
    lengths, codings, parts = [], [], []
    for members in FRAMES:
        raw = b"".join(streams[i] for i in members)
        packed = compressor.compress(raw) if raw else b""
        if raw and len(packed) < len(raw):
            lengths.append(len(packed))
            codings.append(ZSTD)
            parts.append(packed)
        else:
            lengths.append(len(raw))
            codings.append(RAW)
            parts.append(raw)
    return lengths, codings, b"".join(parts)


class BlockBuilder:
    """The open block of one symbol: rows kept in time order, encoded on demand.

    Appending a second computes only that second's level changes (cached with the
    decoder's known levels after it), so re-encoding the growing block every second costs
    one diff plus a vectorised varint pass and zstd.

    Parameters
    ----------
    symbol : str
    block_start_s : int
        First second the block covers (a multiple of the block length).
    """

    def __init__(self, symbol: str, block_start_s: int) -> None:
        self.symbol = symbol
        self.block_start_s = block_start_s
        self.rows: list[Snapshot] = []
        self._times: list[int] = []
        # per row: (bid steps, bid qtys, ask steps, ask qtys); plus decoder state after it
        self._diffs: list[tuple[list[int], list[int], list[int], list[int]]] = []
        self._state: tuple[dict[int, int], dict[int, int], int, int] | None = None
        self.price_scale = 0
        self.qty_scale = 0
        self.n_fields = 0

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def last_time_s(self) -> int:
        """Newest second in the block (-1 when empty)."""
        return self._times[-1] if self._times else -1

    def add(self, snapshot: Snapshot) -> None:
        """Insert ``snapshot`` (replacing a row of the same second)."""
        if snapshot.symbol != self.symbol:
            raise StoreError(f"snapshot of {snapshot.symbol} added to the block of {self.symbol}")
        if snapshot.price_scale > self.price_scale or snapshot.qty_scale > self.qty_scale:
            self.price_scale = max(self.price_scale, snapshot.price_scale)
            self.qty_scale = max(self.qty_scale, snapshot.qty_scale)
            self.rows = [row.at_scales(self.price_scale, self.qty_scale) for row in self.rows]
            self._diffs.clear()
        snapshot = snapshot.at_scales(self.price_scale, self.qty_scale)
        self.n_fields = max(self.n_fields, snapshot.counters.shape[0])
        index = bisect.bisect_left(self._times, snapshot.time_s)
        if index < len(self._times) and self._times[index] == snapshot.time_s:
            self.rows[index] = snapshot
        else:
            self.rows.insert(index, snapshot)
            self._times.insert(index, snapshot.time_s)
        del self._diffs[index:]

    def _row_diffs(self) -> list[tuple[list[int], list[int], list[int], list[int]]]:
        rows = self.rows
        if len(self._diffs) == len(rows):
            return self._diffs
        if not self._diffs or self._state is None:
            self._diffs.clear()
            first = rows[0]
            ref_bid = int(first.bid_prices[0]) if first.bid_prices.shape[0] else 0
            ref_ask = int(first.ask_prices[0]) if first.ask_prices.shape[0] else 0
            known_bids: dict[int, int] = {}
            known_asks: dict[int, int] = {}
        else:
            known_bids, known_asks, ref_bid, ref_ask = self._state
        for row in rows[len(self._diffs) :]:
            bid_prices, ask_prices = row.bid_prices.tolist(), row.ask_prices.tolist()
            bid_steps, bid_qtys, known_bids = _side_changes(
                known_bids, bid_prices, row.bid_qtys.tolist(), ref_bid, 1, CACHE_LEVELS
            )
            ask_steps, ask_qtys, known_asks = _side_changes(
                known_asks, ask_prices, row.ask_qtys.tolist(), ref_ask, -1, CACHE_LEVELS
            )
            self._diffs.append((bid_steps, bid_qtys, ask_steps, ask_qtys))
            if bid_prices:
                ref_bid = bid_prices[0]
            if ask_prices:
                ref_ask = ask_prices[0]
        self._state = (known_bids, known_asks, ref_bid, ref_ask)
        return self._diffs

    def encode(self, level: int = 3) -> bytes:
        """The stored value of this block (see the module docstring), zstd at ``level``."""
        if not self.rows:
            raise StoreError(f"{self.symbol} block {self.block_start_s}: nothing to encode")
        rows = self.rows
        n = len(rows)
        diffs = self._row_diffs()
        times = np.fromiter(self._times, dtype=np.int64, count=n)
        time_steps = np.diff(times, prepend=self.block_start_s + 1) - 1
        time_steps[0] = times[0] - self.block_start_s
        scalars = np.array(
            [
                (
                    row.state,
                    row.last_update_id,
                    row.last_event_time_ms - 1000 * row.time_s,
                    row.gap_count,
                    row.resync_count,
                    row.bid_count,
                    row.ask_count,
                )
                for row in rows
            ],
            dtype=np.int64,
        ).T
        counters = np.zeros((self.n_fields, n), dtype=np.int64)
        for index, row in enumerate(rows):
            counters[: row.counters.shape[0], index] = row.counters
        transform = 1 if self.n_fields == len(FIELD_NAMES) else 0
        if transform:
            counters = forward_counters(counters)
        bid_qtys = np.fromiter((v for d in diffs for v in d[1]), dtype=np.int64)
        ask_qtys = np.fromiter((v for d in diffs for v in d[3]), dtype=np.int64)
        quantum = int(np.gcd.reduce(np.concatenate((bid_qtys, ask_qtys, [0]))) or 1)
        stored_counters = zigzag(counters)
        if transform:
            count_columns = stored_counters[list(COUNTER_ORDER[: len(COUNTER_ORDER) - len(QTY_FIELDS)])]
            qty_columns = stored_counters[list(QTY_FIELDS)]
        else:
            count_columns = stored_counters
            qty_columns = stored_counters[:0]
        streams = [
            encode_varints(time_steps),
            encode_varints(np.fromiter((len(d[0]) for d in diffs), dtype=np.int64, count=n)),
            encode_varints(np.fromiter((v for d in diffs for v in d[0]), dtype=np.int64)),
            *_planes(bid_qtys // quantum),
            encode_varints(np.fromiter((len(d[2]) for d in diffs), dtype=np.int64, count=n)),
            encode_varints(np.fromiter((v for d in diffs for v in d[2]), dtype=np.int64)),
            *_planes(ask_qtys // quantum),
            encode_varints(zigzag(np.diff(scalars, axis=1, prepend=0).ravel())),
            encode_varints(count_columns.ravel()),
            *_planes(qty_columns.ravel()),
        ]
        first = rows[0]
        ref_bid = int(first.bid_prices[0]) if first.bid_prices.shape[0] else 0
        ref_ask = int(first.ask_prices[0]) if first.ask_prices.shape[0] else 0
        frame_lengths, codings, payload = _frames(streams, level)
        return msgpack.packb(
            [
                FORMAT_VERSION,
                n,
                self.n_fields,
                self.price_scale,
                self.qty_scale,
                self.block_start_s,
                ref_bid,
                ref_ask,
                CACHE_LEVELS,
                transform,
                quantum,
                [len(s) for s in streams],
                frame_lengths,
                codings,
                payload,
            ]
        )


def encode_block(snapshots: Sequence[Snapshot], block_start_s: int, level: int = 3) -> bytes:
    """Encode ``snapshots`` (one symbol, all within one block) as one stored value.

    Parameters
    ----------
    snapshots : sequence of Snapshot
    block_start_s : int
    level : int
        zstd level.

    Returns
    -------
    bytes
    """
    if not snapshots:
        raise StoreError(f"block {block_start_s}: no snapshots to encode")
    builder = BlockBuilder(snapshots[0].symbol, block_start_s)
    for snapshot in snapshots:
        builder.add(snapshot)
    return builder.encode(level)
