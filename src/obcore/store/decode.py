"""Stored block values to :class:`SnapshotArrays` (the read path).

The per-block work (MessagePack header, zstd) happens here in Python; the varint and
level-merge work for every block of a read happens in one kernel call. The kernel is chosen
by the one kernel selector (``obcore._kernels.decode_kernel``): the Numba build unless
``OBCORE_NO_EXTENSIONS=1`` (or Numba is missing), then the plain-Python twin.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import zstandard

from obcore.errors import StoreError
from obcore import _kernels
from obcore._kernels._numba import register_warm_up
from obcore.store.codec import (
    COUNTER_ORDER,
    FRAMES,
    LOGICAL_FIRST,
    N_SCALARS,
    N_STREAMS,
    STREAM_KINDS,
    ZSTD,
    BlockHeader,
    inverse_counters,
    read_header,
)
from obcore.store.snapshot import DEPTH, SnapshotArrays, scale_qty_counters

__all__ = ["decode_values", "empty_arrays", "kernel", "warm_up"]

_Kernel = Callable[..., int]


_KERNEL: _Kernel | None = None


def kernel() -> _Kernel:
    """The selected decode kernel (Numba build or plain-Python twin)."""
    global _KERNEL
    if _KERNEL is None:
        _KERNEL = _kernels.decode_kernel()
    return _KERNEL


def empty_arrays(symbol: str, counter_names: tuple[str, ...]) -> SnapshotArrays:
    """A zero-row :class:`SnapshotArrays`.

    Parameters
    ----------
    symbol : str
        Symbol the (empty) range belongs to.
    counter_names : tuple of str
        Names of the ``counters`` columns (gives the array width).

    Returns
    -------
    SnapshotArrays
        Every array with 0 rows; both scales 0.
    """
    return _allocate(symbol, 0, 0, 0, len(counter_names), counter_names)


def _allocate(
    symbol: str, n: int, price_scale: int, qty_scale: int, fields: int, counter_names: tuple[str, ...]
) -> SnapshotArrays:
    def column() -> np.ndarray:
        return np.zeros(n, dtype=np.int64)

    def levels() -> np.ndarray:
        return np.zeros((n, DEPTH), dtype=np.int64)

    return SnapshotArrays(
        symbol=symbol,
        price_scale=price_scale,
        qty_scale=qty_scale,
        counter_names=counter_names,
        time_s=column(),
        bid_prices=levels(),
        bid_qtys=levels(),
        ask_prices=levels(),
        ask_qtys=levels(),
        bid_levels=column(),
        ask_levels=column(),
        counters=np.zeros((n, fields), dtype=np.int64),
        state=column(),
        last_update_id=column(),
        last_event_time_ms=column(),
        gap_count=column(),
        resync_count=column(),
        bid_count=column(),
        ask_count=column(),
    )


_DECOMPRESSOR = zstandard.ZstdDecompressor()
_KINDS = np.array(STREAM_KINDS, dtype=np.int64)
_LOGICAL_FIRST = np.array(LOGICAL_FIRST, dtype=np.int64)


def _streams(symbol: str, header: BlockHeader) -> bytes:
    """A block's streams, uncompressed and in stream order (frames group them otherwise)."""
    payload = header.payload
    pieces: list[bytes] = [b""] * N_STREAMS
    at = 0
    for members, stored, coding in zip(FRAMES, header.frame_lengths, header.frame_codings):
        frame = payload[at : at + stored]
        at += stored
        size = sum(header.stream_lengths[i] for i in members)
        if coding == ZSTD:
            try:
                frame = _DECOMPRESSOR.decompress(frame, max_output_size=size)
            except zstandard.ZstdError as exc:
                raise StoreError(
                    f"{symbol}: stored block at second {header.block_start_s} does not decompress: {exc}"
                ) from exc
        elif coding != 0:
            raise StoreError(f"{symbol}: stored block at second {header.block_start_s} has frame coding {coding!r}")
        if len(frame) != size:
            raise StoreError(
                f"{symbol}: stored block at second {header.block_start_s} is corrupt "
                f"(a frame holds {len(frame)} bytes, its streams {size})"
            )
        offset = 0
        for i in members:
            pieces[i] = frame[offset : offset + header.stream_lengths[i]]
            offset += header.stream_lengths[i]
    if at != len(payload):
        raise StoreError(
            f"{symbol}: stored block at second {header.block_start_s} is corrupt "
            f"(frames take {at} of {len(payload)} payload bytes)"
        )
    return b"".join(pieces)


def decode_values(
    symbol: str,
    values: Sequence[bytes],
    counter_names: Sequence[str] = (),
    decode: _Kernel | None = None,
) -> SnapshotArrays:
    """Decode stored blocks (in key order) into one :class:`SnapshotArrays`.

    Parameters
    ----------
    symbol : str
    values : sequence of bytes
        Stored block values of ``symbol``, oldest first.
    counter_names : sequence of str
        Names for the counter columns (padded with ``field_<i>`` if blocks hold more).
    decode : callable, optional
        Kernel to use (default: :func:`kernel`); tests pass each implementation.

    Returns
    -------
    SnapshotArrays
        Every row of every block; prices/quantities at the largest scale among the blocks.

    Raises
    ------
    StoreError
        If a block is corrupt.
    """
    decode = decode or kernel()
    headers = [read_header(value) for value in values]
    names = tuple(counter_names)
    if not headers:
        return empty_arrays(symbol, names)
    payloads = [_streams(symbol, h) for h in headers]
    nblocks = len(headers)
    n_rows = np.fromiter((h.n_rows for h in headers), dtype=np.int64, count=nblocks)
    n_fields = np.fromiter((h.n_fields for h in headers), dtype=np.int64, count=nblocks)
    sizes = np.fromiter((len(p) for p in payloads), dtype=np.int64, count=nblocks)
    lengths = np.array([h.stream_lengths for h in headers], dtype=np.int64).reshape(nblocks, N_STREAMS)
    starts = np.cumsum(sizes) - sizes
    row_offsets = np.cumsum(n_rows) - n_rows
    fields = int(n_fields.max())
    if len(names) < fields:
        names = names + tuple(f"field_{i}" for i in range(len(names), fields))
    price_scales = np.fromiter((h.price_scale for h in headers), dtype=np.int64, count=nblocks)
    qty_scales = np.fromiter((h.qty_scale for h in headers), dtype=np.int64, count=nblocks)
    out = _allocate(
        symbol, int(n_rows.sum()), int(price_scales.max()), int(qty_scales.max()), len(names), names
    )
    cache_levels = np.fromiter((h.cache_levels for h in headers), dtype=np.int64, count=nblocks)
    cache = max(int(cache_levels.max()), DEPTH)
    buf = np.frombuffer(b"".join(payloads), dtype=np.uint8)
    scalars = np.zeros((len(out), N_SCALARS), dtype=np.int64)
    status = decode(
        buf,
        starts,
        lengths,
        _KINDS,
        _LOGICAL_FIRST,
        n_rows,
        n_fields,
        np.fromiter((h.block_start_s for h in headers), dtype=np.int64, count=nblocks),
        np.fromiter((h.ref_bid for h in headers), dtype=np.int64, count=nblocks),
        np.fromiter((h.ref_ask for h in headers), dtype=np.int64, count=nblocks),
        row_offsets,
        cache_levels,
        np.empty(max(buf.shape[0], 1), dtype=np.int64),
        np.empty(len(LOGICAL_FIRST) + 1, dtype=np.int64),
        np.empty(DEPTH + cache, dtype=np.int64),
        np.empty(DEPTH + cache, dtype=np.int64),
        np.empty(cache, dtype=np.int64),
        np.empty(cache, dtype=np.int64),
        np.empty(cache, dtype=np.int64),
        np.empty(cache, dtype=np.int64),
        out.time_s,
        out.bid_prices,
        out.bid_qtys,
        out.ask_prices,
        out.ask_qtys,
        out.bid_levels,
        out.ask_levels,
        scalars,
        out.counters,
    )
    if status != 0:
        block = -status - 1
        raise StoreError(
            f"{symbol}: stored block starting at second {headers[block].block_start_s} is corrupt"
        )
    (
        out.state[:],
        out.last_update_id[:],
        out.last_event_time_ms[:],
        out.gap_count[:],
        out.resync_count[:],
        out.bid_count[:],
        out.ask_count[:],
    ) = scalars.T
    for block, header in enumerate(headers):
        rows = slice(int(row_offsets[block]), int(row_offsets[block] + n_rows[block]))
        if header.qty_quantum != 1:
            out.bid_qtys[rows] *= header.qty_quantum
            out.ask_qtys[rows] *= header.qty_quantum
        if header.counter_transform == 1:
            if header.n_fields != len(COUNTER_ORDER):
                raise StoreError(
                    f"{symbol}: stored block at second {header.block_start_s} has counter transform 1 "
                    f"with {header.n_fields} fields, expected {len(COUNTER_ORDER)}"
                )
            stored = out.counters[rows, : header.n_fields]
            fields = np.empty_like(stored)
            fields[:, COUNTER_ORDER] = stored
            out.counters[rows, : header.n_fields] = inverse_counters(fields)
        elif header.counter_transform != 0:
            raise StoreError(f"{symbol}: unknown counter transform {header.counter_transform} in a stored block")
    _rescale(out, n_rows, row_offsets, price_scales, qty_scales)
    return out


def _rescale(
    out: SnapshotArrays,
    n_rows: np.ndarray,
    row_offsets: np.ndarray,
    price_scales: np.ndarray,
    qty_scales: np.ndarray,
) -> None:
    """Bring blocks stored at smaller scales to the read's common (largest) scale."""
    for block in np.flatnonzero((price_scales != out.price_scale) | (qty_scales != out.qty_scale)):
        rows = slice(int(row_offsets[block]), int(row_offsets[block] + n_rows[block]))
        price_factor = 10 ** int(out.price_scale - price_scales[block])
        qty_factor = 10 ** int(out.qty_scale - qty_scales[block])
        out.bid_prices[rows] *= price_factor
        out.ask_prices[rows] *= price_factor
        out.bid_qtys[rows] *= qty_factor
        out.ask_qtys[rows] *= qty_factor
        out.counters[rows] = scale_qty_counters(out.counters[rows], qty_factor)


@register_warm_up
def warm_up() -> None:
    """Compile (or load from cache) the Numba kernel now, not on a user's first read.

    Registered with ``obcore._kernels._numba.warm_up``, which runs every kernel's warm-up.
    """
    from obcore.store.codec import encode_block
    from obcore.store.snapshot import Snapshot

    snapshot = Snapshot(
        symbol="WARMUP",
        time_s=0,
        price_scale=2,
        qty_scale=4,
        bid_prices=np.array([100, 99], dtype=np.int64),
        bid_qtys=np.array([1, 2], dtype=np.int64),
        ask_prices=np.array([101], dtype=np.int64),
        ask_qtys=np.array([3], dtype=np.int64),
        counters=np.zeros(2, dtype=np.int64),
    )
    decode_values("WARMUP", [encode_block([snapshot], 0)])
