"""Private kernels. Only the facade modules (``obcore.book``, ``obcore.session``) import this.

Each compiled kernel has a plain-Python twin; ``IMPLEMENTATION`` says which one is in use.
``OBCORE_NO_EXTENSIONS=1`` forces the twins. A missing compiled module falls back to the
twin with a warning (``tests/obcore/test_kernels.py`` fails CI if that happens there).
"""

from __future__ import annotations

import os
import warnings

from obcore._kernels import _book_py

__all__ = ["IMPLEMENTATION", "DepthBook", "book_implementations"]


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
IMPLEMENTATION = "cython" if _compiled is not None else "python"
DepthBook = _compiled.DepthBook if _compiled is not None else _book_py.DepthBook


def book_implementations() -> dict[str, type]:
    """Every available DepthBook implementation by name (tests and benches run them all)."""
    found = {"python": _book_py.DepthBook}
    if _compiled is not None:
        found["cython"] = _compiled.DepthBook
    return found
