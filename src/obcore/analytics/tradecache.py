"""Back-filled trades kept on disk beside the snapshot store, so a repeated profile call
does not fetch the same span again.

Layout: ``<directory>/<SYMBOL>/<start_ms>-<end_ms>.npz`` — one file per fetched span
``[start_ms, end_ms)``, holding every aggregate trade of that span (numpy arrays, zlib
compressed; files 0600, directories 0700, written to a temporary name and renamed, so a
crash leaves no half file). The cache's bytes count under the store's cap: a write that
would take the store plus the cache past ``max_bytes`` raises
:class:`~obcore.errors.StorageLimitExceededError` and nothing is written (the caller
still has its trades). Spans older than the retention are deleted on the next write.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from obcore.analytics.trades import TradeArrays, merge_trades
from obcore.errors import InvalidInputError, StorageLimitExceededError
from obcore.validation import SYMBOL_RE as _SYMBOL

__all__ = ["TradeCache"]

_NAME = re.compile(r"^(\d+)-(\d+)\.npz$")
_WEEK_MS = 7 * 86_400_000


class TradeCache:
    """Fetched trade spans per symbol, on disk.

    Parameters
    ----------
    directory : str or Path
        Where the spans live (e.g. ``<data-dir>/aggtrades``); created 0700.
    max_bytes : int
        The cap shared with the snapshot store.
    store_bytes : callable, optional
        Current size of the snapshot store (``store.size_bytes``); 0 without one.
    retention_ms : int
        Spans ending longer ago than this are deleted on write (default 7 days).
    clock_ms : callable, optional
        Current time, Unix ms (tests).
    """

    def __init__(self, directory: str | Path, *, max_bytes: int, store_bytes: Callable[[], int] | None = None,
                 retention_ms: int = _WEEK_MS, clock_ms: Callable[[], float] | None = None):
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 1:
            raise InvalidInputError(f"max_bytes must be an int >= 1, got {max_bytes!r}")
        self.directory = Path(directory)
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self._store_bytes = store_bytes or (lambda: 0)
        self.retention_ms = int(retention_ms)
        self._clock_ms = clock_ms or (lambda: time.time() * 1000.0)

    @classmethod
    def beside(cls, store: Any, **kwargs: Any) -> TradeCache:
        """A cache next to a ``SnapshotStore`` (``<store path>-aggtrades``), under its cap."""
        path = Path(store.path)
        return cls(path.parent / f"{path.name}-aggtrades", max_bytes=int(store.max_bytes),
                   store_bytes=store.size_bytes, **kwargs)

    def _symbol_dir(self, symbol: str) -> Path:
        if not isinstance(symbol, str) or not _SYMBOL.match(symbol):
            raise InvalidInputError(f"symbol {symbol!r} must match {_SYMBOL.pattern}")
        return self.directory / symbol

    def spans(self, symbol: str) -> list[tuple[int, int, Path]]:
        """Stored spans of ``symbol``, sorted by start."""
        folder = self._symbol_dir(symbol)
        if not folder.is_dir():
            return []
        found = []
        for path in folder.iterdir():
            match = _NAME.match(path.name)
            if match:
                found.append((int(match.group(1)), int(match.group(2)), path))
        return sorted(found)

    def size_bytes(self) -> int:
        """Bytes of every stored span."""
        return sum(p.stat().st_size for p in self.directory.rglob("*.npz"))

    def get(self, symbol: str, start_ms: int, end_ms: int) -> tuple[TradeArrays, list[tuple[int, int]]]:
        """Cached trades of ``[start_ms, end_ms)`` and the sub-spans the cache does not cover.

        Returns
        -------
        (TradeArrays, list of (int, int))
            Trades from the overlapping spans (inside the window), and the missing spans
            in time order (empty when the window is fully covered).
        """
        parts = []
        covered: list[tuple[int, int]] = []
        for first, last, path in self.spans(symbol):
            if last <= start_ms or first >= end_ms:
                continue
            parts.append(_load(path).between(start_ms, end_ms))
            covered.append((max(first, start_ms), min(last, end_ms)))
        missing = []
        cursor = start_ms
        for first, last in sorted(covered):
            if first > cursor:
                missing.append((cursor, first))
            cursor = max(cursor, last)
        if cursor < end_ms:
            missing.append((cursor, end_ms))
        return (merge_trades(*parts) if parts else TradeArrays.empty()), missing

    def put(self, symbol: str, trades: TradeArrays, start_ms: int, end_ms: int) -> Path:
        """Keep the trades of a fetched span ``[start_ms, end_ms)`` (all of them, none outside).

        Raises
        ------
        StorageLimitExceededError
            The store plus the cache would pass ``max_bytes``; nothing is written.
        """
        if end_ms <= start_ms:
            raise InvalidInputError(f"span [{start_ms}, {end_ms}) is empty")
        folder = self._symbol_dir(symbol)
        self._prune()
        folder.mkdir(mode=0o700, exist_ok=True)
        final = folder / f"{int(start_ms)}-{int(end_ms)}.npz"
        temporary = folder / f".{final.name}.{os.getpid()}.tmp"
        inside = trades.between(start_ms, end_ms)
        with open(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as handle:
            np.savez_compressed(handle, price=inside.price, qty=inside.qty, time_ms=inside.time_ms,
                                side=inside.side, trade_id=inside.trade_id,
                                scales=np.array([inside.price_scale, inside.qty_scale], dtype=np.int64))
        size = temporary.stat().st_size
        used = self._store_bytes() + self.size_bytes()
        if used + size > self.max_bytes:
            temporary.unlink()
            raise StorageLimitExceededError(
                f"keeping {size} bytes of {symbol} trades would take the store and trade cache to "
                f"{used + size} bytes, over the {self.max_bytes}-byte cap")
        os.replace(temporary, final)
        return final

    def _prune(self) -> None:
        oldest = self._clock_ms() - self.retention_ms
        for path in self.directory.glob("*/*.npz"):
            match = _NAME.match(path.name)
            if match and int(match.group(2)) < oldest:
                path.unlink(missing_ok=True)


def _load(path: Path) -> TradeArrays:
    with np.load(path) as data:
        price_scale, qty_scale = (int(v) for v in data["scales"])
        return TradeArrays(data["price"], data["qty"], data["time_ms"], data["side"], data["trade_id"],
                           price_scale, qty_scale)
