"""Helpers for emulator tests: signing, and a dict-book client following Binance's sync procedure."""

from __future__ import annotations

import hashlib
import hmac
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlencode

_BUNDLED = Path(__file__).resolve().parents[3] / "data" / "binance-ethusdt-2024-08-09"
ETH_DIR = _BUNDLED if _BUNDLED.is_dir() else Path("/work/shared/data/binance-ethusdt-2024-08-09")
KEY = "testKey0123456789"
SECRET = "testSecret0123456789"


def signed_query(params: dict[str, object], secret: str = SECRET, timestamp_ms: int | None = None) -> str:
    """Query string with timestamp and HMAC signature appended, as a client sends it."""
    items = dict(params)
    items.setdefault("timestamp", timestamp_ms if timestamp_ms is not None else int(time.time() * 1000))
    query = urlencode(items)
    signature = hmac.new(secret.encode(), query.encode(), hashlib.sha256).hexdigest()
    return f"{query}&signature={signature}"


class DictBook:
    """A plain client-side book following the documented snapshot + diff procedure."""

    def __init__(self) -> None:
        self.bids: dict[Decimal, Decimal] = {}
        self.asks: dict[Decimal, Decimal] = {}
        self.book_id: int | None = None
        self.buffer: list[dict] = []
        self.gaps = 0

    def load(self, snapshot: dict) -> None:
        self.bids = {Decimal(p): Decimal(q) for p, q in snapshot["bids"]}
        self.asks = {Decimal(p): Decimal(q) for p, q in snapshot["asks"]}
        self.book_id = snapshot["lastUpdateId"]
        pending, self.buffer = self.buffer, []
        pending = [e for e in pending if e["u"] > self.book_id]
        if pending:
            first = pending[0]
            assert first["U"] <= self.book_id + 1 <= first["u"], (first["U"], first["u"], self.book_id)
        for event in pending:
            self.apply(event)

    def apply(self, event: dict) -> bool:
        """Apply one event; False when a gap means the book must be rebuilt."""
        if self.book_id is None:
            self.buffer.append(event)
            return True
        if event["u"] <= self.book_id:
            return True
        if event["U"] > self.book_id + 1:
            self.gaps += 1
            self.book_id = None
            self.buffer = [event]
            return False
        for side, levels in ((self.bids, event["b"]), (self.asks, event["a"])):
            for price, qty in levels:
                p, q = Decimal(price), Decimal(qty)
                if q == 0:
                    side.pop(p, None)
                else:
                    side[p] = q
        self.book_id = event["u"]
        return True

    def as_true_book(self) -> tuple[int | None, list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
        return (self.book_id, sorted(self.bids.items(), reverse=True), sorted(self.asks.items()))


def decimal_book(true_book: tuple) -> tuple:
    last, bids, asks = true_book
    return (last, [(Decimal(p), Decimal(q)) for p, q in bids], [(Decimal(p), Decimal(q)) for p, q in asks])
