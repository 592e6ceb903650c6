"""Selector of the volume-profile kernels: the Numba build of ``_profile_py`` or the twin.

``implementations()`` gives both by name for the tests and the bench; the warm-up
registered here compiles (or loads from cache) every kernel at server start-up. Nothing
is compiled at import.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from obcore._kernels import _profile_py
from obcore._kernels._numba import compile_kernel, jit_enabled, register_warm_up

__all__ = ["IMPLEMENTATION", "bin_trades", "find_vacuums", "implementations", "price_range", "value_area"]

IMPLEMENTATION = "numba" if jit_enabled() else "python"
bin_trades = compile_kernel(_profile_py.bin_trades)
value_area = compile_kernel(_profile_py.value_area)
find_vacuums = compile_kernel(_profile_py.find_vacuums)
price_range = compile_kernel(_profile_py.price_range)


def implementations() -> dict[str, dict[str, Any]]:
    """Every available build by name: ``{"python": {...}, "numba": {...}}`` (kernel name -> function)."""
    found: dict[str, dict[str, Any]] = {
        "python": {
            "bin_trades": _profile_py.bin_trades,
            "value_area": _profile_py.value_area,
            "find_vacuums": _profile_py.find_vacuums,
            "price_range": _profile_py.price_range,
        }
    }
    if IMPLEMENTATION == "numba":
        found["numba"] = {"bin_trades": bin_trades, "value_area": value_area, "find_vacuums": find_vacuums,
                          "price_range": price_range}
    return found


@register_warm_up
def _warm_up() -> None:
    prices = np.array([100, 105, 120], dtype=np.int64)
    qtys = np.array([1, 2, 3], dtype=np.int64)
    volumes = np.zeros(3, dtype=np.int64)
    counts = np.zeros(3, dtype=np.int64)
    price_range(prices, np.zeros(2, dtype=np.int64))
    bin_trades(prices, qtys, 10, 10, volumes, counts)
    value_area(volumes, np.zeros(_profile_py.N_AREA_FIELDS, dtype=np.int64))
    find_vacuums(volumes, 2, np.zeros(2, dtype=np.int64), np.zeros(2, dtype=np.int64))
