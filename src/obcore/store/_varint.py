"""LEB128 varints and zigzag, vectorised with numpy (encoder side; decoders live in the
block decoders)."""

from __future__ import annotations

import numpy as np

__all__ = ["encode_varints", "zigzag", "unzigzag"]

_MAX_BYTES = 10


def zigzag(values: np.ndarray) -> np.ndarray:
    """Map int64 to uint64 so small magnitudes (either sign) become small numbers."""
    v = np.asarray(values, dtype=np.int64)
    return ((v << 1) ^ (v >> 63)).view(np.uint64)


def unzigzag(values: np.ndarray) -> np.ndarray:
    """Inverse of :func:`zigzag`."""
    u = np.asarray(values, dtype=np.uint64)
    return ((u >> np.uint64(1)) ^ (np.uint64(0) - (u & np.uint64(1)))).view(np.int64)


def encode_varints(values: np.ndarray) -> bytes:
    """Encode non-negative integers (uint64 / non-negative int64) as concatenated LEB128.

    Parameters
    ----------
    values : ndarray, shape (n,)
        Non-negative integers.

    Returns
    -------
    bytes
        7 bits per byte, low group first, high bit set on every byte but the last.
    """
    v = np.asarray(values)
    if v.dtype != np.uint64:
        if v.size and int(v.min()) < 0:
            raise ValueError(f"varints must be non-negative, got {int(v.min())}")
        v = v.astype(np.uint64)
    n = v.shape[0]
    if n == 0:
        return b""
    lengths = np.ones(n, dtype=np.int64)
    for k in range(1, _MAX_BYTES):
        lengths += v >= np.uint64(1 << (7 * k)) if 7 * k < 64 else 0
    ends = np.cumsum(lengths)
    starts = ends - lengths
    out = np.empty(int(ends[-1]), dtype=np.uint8)
    for k in range(int(lengths.max())):
        sel = lengths > k
        chunk = (v[sel] >> np.uint64(7 * k)) & np.uint64(0x7F)
        more = (lengths[sel] > k + 1).astype(np.uint64) << np.uint64(7)
        out[starts[sel] + k] = (chunk | more).astype(np.uint8)
    return out.tobytes()
