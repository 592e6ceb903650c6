"""obcore: exact live Binance spot order books, 1-second history and microstructure analytics.

Importing this package does no work and pulls in no server code; submodules load on first
use of a public name.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "Book": "obcore.book",
    "BookSession": "obcore.session",
    "SyncState": "obcore.session",
    "SecondCounters": "obcore.counters",
    "TradeTape": "obcore.counters",
    "parse_decimal": "obcore.numbers",
    "format_decimal": "obcore.numbers",
    "ObcoreError": "obcore.errors",
}

__all__ = sorted(_EXPORTS) + ["__version__"]

if TYPE_CHECKING:  # pragma: no cover
    from obcore.book import Book
    from obcore.counters import SecondCounters, TradeTape
    from obcore.errors import ObcoreError
    from obcore.numbers import format_decimal, parse_decimal
    from obcore.session import BookSession, SyncState


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'obcore' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
