"""The store's block decoder compiled with Numba (the build of ``_decode_py``).

Numba, not Cython: one call decodes every block of a range read (array-at-once batch
work), so the ~300 ns dispatch is paid once per read, not per block. Options come from
``_numba.JIT_OPTIONS``; with ``OBCORE_NO_EXTENSIONS=1`` this is the twin itself.
"""

from __future__ import annotations

from obcore._kernels import _decode_py
from obcore._kernels._numba import compile_kernel

__all__ = ["decode_blocks"]

decode_blocks = compile_kernel(_decode_py.decode_blocks)
