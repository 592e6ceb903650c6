"""The one place Numba is configured: options, the compile step and start-up warm-up.

Numba kernels are written once, as plain Python over numpy arrays (the ``_*_py.py``
twins); :func:`compile_kernel` turns a twin into its compiled build. Options are fixed
here so every kernel is built the same way: ``cache=True`` (compiled once per machine,
kept beside the source), ``nogil=True`` (the store reads on a worker thread), and no
``fastmath`` anywhere — results must be exact, and reassociated sums are not.

``OBCORE_NO_EXTENSIONS=1`` (or Numba missing) gives back the twin itself;
``NUMBA_DISABLE_JIT=1`` is Numba's own switch and also runs the Python body.

Warm-up: a kernel module registers a small call with :func:`register_warm_up`; the
server calls :func:`warm_up` at start-up so no user's first request pays the compile.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["JIT_OPTIONS", "compile_kernel", "jit_enabled", "register_warm_up", "warm_up"]

#: Options of every Numba kernel (no fastmath: exact results).
JIT_OPTIONS: dict[str, Any] = {"cache": True, "nogil": True}

_F = TypeVar("_F", bound=Callable[..., Any])
_WARM_UPS: list[Callable[[], None]] = []


def jit_enabled() -> bool:
    """True when kernels are compiled (Numba importable and ``OBCORE_NO_EXTENSIONS`` unset)."""
    if os.environ.get("OBCORE_NO_EXTENSIONS") == "1":
        return False
    try:
        import numba  # noqa: F401
    except ImportError:  # pragma: no cover - numba is a hard dependency
        return False
    return True


def compile_kernel(twin: _F) -> _F:
    """The compiled build of the plain-Python kernel ``twin`` (or ``twin`` itself when off).

    Compilation is lazy (on first call, or in :func:`warm_up`); with ``cache=True`` a
    second process loads the machine code from disk.
    """
    if not jit_enabled():
        return twin
    import numba

    return numba.njit(**JIT_OPTIONS)(twin)


def register_warm_up(call: Callable[[], None]) -> Callable[[], None]:
    """Register ``call`` (a tiny, valid kernel call) to run in :func:`warm_up`."""
    _WARM_UPS.append(call)
    return call


def warm_up() -> int:
    """Compile (or load from cache) every registered kernel; returns how many ran."""
    for call in _WARM_UPS:
        call()
    return len(_WARM_UPS)
