"""Selector of the order-flow kernel: the Numba build of ``_flow_py`` or the twin."""

from __future__ import annotations

from typing import Any

import numpy as np

from obcore._kernels import _flow_py
from obcore._kernels._numba import compile_kernel, jit_enabled, register_warm_up

__all__ = ["IMPLEMENTATION", "bin_trade_seconds", "implementations"]

IMPLEMENTATION = "numba" if jit_enabled() else "python"
bin_trade_seconds = compile_kernel(_flow_py.bin_trade_seconds)


def implementations() -> dict[str, dict[str, Any]]:
    """Every available build by name (kernel name -> function)."""
    found: dict[str, dict[str, Any]] = {"python": {"bin_trade_seconds": _flow_py.bin_trade_seconds}}
    if IMPLEMENTATION == "numba":
        found["numba"] = {"bin_trade_seconds": bin_trade_seconds}
    return found


@register_warm_up
def _warm_up() -> None:
    out = np.zeros((_flow_py.N_TRADE_FIELDS, 2), dtype=np.int64)
    bin_trade_seconds(np.array([1000, 2500], dtype=np.int64), np.array([3, 4], dtype=np.int64),
                      np.array([1, -1], dtype=np.int8), 1, out)
