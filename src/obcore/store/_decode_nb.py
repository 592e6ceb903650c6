"""Block decoder kernel compiled with Numba (array-at-once batch work: one call decodes every
block of a range read, so Numba beats a per-call Cython entry here)."""

from __future__ import annotations

import numba

from obcore.store import _decode_py

__all__ = ["decode_blocks"]

decode_blocks = numba.njit(cache=True, nogil=True)(_decode_py.decode_blocks)
