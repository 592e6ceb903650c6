from typing import Sequence

import numpy as np
import numpy.typing as npt

STATUS_APPLIED: int
STATUS_STALE: int
STATUS_GAP: int
STATUS_CROSSED: int
STATUS_PARSE_ERROR: int
STATUS_PRECISION: int
STATUS_NOT_DEPTH: int
STATUS_TRADE: int
N_FIELDS: int
UPDATES: int
ADDITIONS: int
REDUCTIONS: int
CANCELLATIONS: int
ADDED_QTY: int
REDUCED_QTY: int
CANCELLED_QTY: int
SIDE_FIELDS: int
TRADES: int
BUY_TRADES: int
SELL_TRADES: int
BUY_QTY: int
SELL_QTY: int
MESSAGES: int
MAX_PENDING_TRADES: int
REFILL_SIDE: int
REFILL_PRICE: int
REFILL_TIME: int
REFILL_TRADED: int
REFILL_QTY: int
REFILL_DISPLAYED: int
N_REFILL_FIELDS: int
MAX_HIT_LEVELS: int
REFILL_WINDOW_MS: int
QTY_FIELDS: tuple[int, ...]
BID: int
ASK: int

class DepthBook:
    price_scale: int
    qty_scale: int
    current_second: int
    last_update_id: int
    last_event_time: int
    event_first_id: int
    event_last_id: int
    event_time: int
    events_applied: int
    events_stale: int
    def __init__(self, price_scale: int, qty_scale: int, ring: npt.NDArray[np.int64]) -> None: ...
    @property
    def ring(self) -> npt.NDArray[np.int64]: ...
    def load(self, bid_prices: Sequence[int], bid_qtys: Sequence[int], ask_prices: Sequence[int],
             ask_qtys: Sequence[int], last_update_id: int) -> None: ...
    def clear(self) -> None: ...
    def rescale(self, price_scale: int, qty_scale: int) -> None: ...
    def attach_tape(self, price: npt.NDArray[np.int64], qty: npt.NDArray[np.int64], time_ms: npt.NDArray[np.int64],
                    side: npt.NDArray[np.int8], trade_id: npt.NDArray[np.int64], total: npt.NDArray[np.int64]) -> None: ...
    def attach_refills(self, ring: npt.NDArray[np.int64], total: npt.NDArray[np.int64]) -> None: ...
    def add_trade(self, price: int, qty: int, time_ms: int, taker_side: int) -> None: ...
    def apply_event(self, first_id: int, last_id: int, event_time: int,
                    bids: Sequence[tuple[int, int]], asks: Sequence[tuple[int, int]]) -> int: ...
    def apply_json(self, raw: bytes | str) -> int: ...
    def count(self, side: int) -> int: ...
    def best(self, side: int) -> tuple[int, int] | None: ...
    def best_bid(self) -> tuple[int, int] | None: ...
    def best_ask(self) -> tuple[int, int] | None: ...
    def read_top(self, out: npt.NDArray[np.int64]) -> tuple[int, int]: ...
    def apply_levels(self, first_id: int, last_id: int, event_time: int, levels: npt.NDArray[np.int64]) -> int: ...
    def apply_batch(self, ids: npt.NDArray[np.int64], offsets: npt.NDArray[np.int64], levels: npt.NDArray[np.int64],
                    tops_out: npt.NDArray[np.int64], statuses_out: npt.NDArray[np.int8]) -> int: ...
    def apply_json_batch(self, frames: list[bytes | str], start: int = 0) -> tuple[int, int, int]: ...
    def top(self, side: int, prices_out: npt.NDArray[np.int64], qtys_out: npt.NDArray[np.int64]) -> int: ...
    def depth_until(self, side: int, limit_price: int) -> int: ...
    def sweep(self, side: int, notional: float, price_divisor: float, qty_divisor: float) -> tuple[float, float, float, int]: ...
