"""Private kernels and the one selector over them. Only the facades import this package.

The room:

- ``_layout``: every shared constant (status codes, counter fields, sides, dtypes), once.
- ``_numba``: the one Numba config (options, ``compile_kernel``, start-up warm-up).
- ``_book.pyx`` (Cython) and its twin ``_book_py``: the per-message book kernel
  (``obcore.book``, ``obcore.session``).
- ``_decode`` (Numba build) and its twin ``_decode_py``: the store's block decoder
  (``obcore.store.decode``).

Each compiled kernel has a plain-Python twin; ``OBCORE_NO_EXTENSIONS=1`` forces the twins.
A missing Cython module falls back to the twin with a warning
(``tests/obcore/test_kernels.py`` fails CI if that happens there). Numba is imported only
when a Numba kernel is first asked for, so ``import obcore`` stays light.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from typing import Any

from obcore._kernels import _book_py, _decode_py
from obcore._kernels._numba import jit_enabled

__all__ = [
    "IMPLEMENTATION",
    "DepthBook",
    "book_implementations",
    "decode_implementations",
    "decode_kernel",
]


def _load_compiled():
    if os.environ.get("OBCORE_NO_EXTENSIONS") == "1":
        return None
    try:
        from obcore._kernels import _book
    except ImportError as exc:  # pragma: no cover - exercised only on broken installs
        warnings.warn(
            f"obcore: compiled kernels unavailable ({exc}); using the pure-Python twins",
            RuntimeWarning,
            stacklevel=2,
        )
        return None
    return _book


_compiled = _load_compiled()
#: Which book kernel is in use: ``"cython"`` or ``"python"``.
IMPLEMENTATION = "cython" if _compiled is not None else "python"
DepthBook = _compiled.DepthBook if _compiled is not None else _book_py.DepthBook


def book_implementations() -> dict[str, type]:
    """Every available DepthBook implementation by name (tests and benches run them all)."""
    found = {"python": _book_py.DepthBook}
    if _compiled is not None:
        found["cython"] = _compiled.DepthBook
    return found


def decode_implementations() -> dict[str, Callable[..., Any]]:
    """Every available block decoder by name: ``"python"``, and ``"numba"`` when compiled."""
    found: dict[str, Callable[..., Any]] = {"python": _decode_py.decode_blocks}
    if jit_enabled():
        from obcore._kernels import _decode

        found["numba"] = _decode.decode_blocks
    return found


def decode_kernel() -> Callable[..., Any]:
    """The block decoder in use: the Numba build, or the twin when extensions are off."""
    implementations = decode_implementations()
    return implementations.get("numba", implementations["python"])
