"""Orders, balances and fills of the emulated account, matched against the true book.

- Taker fills consume the **base** liquidity (what the replay/scenario shows) best price
  first and emit the new level quantities plus ``@trade``/``@aggTrade`` events.
- Resting orders (GTC remainder, LIMIT_MAKER) sit in the book's ``own`` overlay, so they
  appear in ``/depth`` and the depth stream; funds are locked (quote for a buy at its
  price, base for a sell).
- A resting order is filled as maker, at its own price, when the base book later trades
  through it (best base ask <= our bid, or best base bid >= our ask); the fill is capped
  by the base quantity on the far side up to our price. That base liquidity is then used
  up: it leaves the base book, and ``Market.used_bids/used_asks`` remember how much of each level went, because
  the replay keeps sending the level's absolute quantity (it never saw our order); only
  quantity above the used amount is new liquidity. The matcher runs before the depth
  event is emitted, so the stream and ``/depth`` never show a crossed own order.
- Quote amounts (``price * qty``) are cut to 8 decimals (``quote_amount``), the same
  figure for the balance, ``cummulativeQuoteQty`` and myTrades ``quoteQty``.
- STOP_LOSS_LIMIT / TAKE_PROFIT_LIMIT wait (funds locked, ``isWorking`` false) until a
  trade on the symbol reaches the stop price — a stop-loss sell at or below it, a
  stop-loss buy at or above, take-profit the other way — then run as a LIMIT order.
- Commission 0.1 %, taken from the asset received. No self-trade prevention: own resting
  orders are never matched against own incoming orders.
"""

from __future__ import annotations

import itertools
import secrets
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from typing import TYPE_CHECKING, Any

from obcore.emulator.errors import ApiError
from obcore.emulator.limits import OrderCounter
from obcore.emulator.market import Market, format_number, server_time_ms

if TYPE_CHECKING:  # pragma: no cover
    from obcore.emulator.server import Emulator

__all__ = ["COMMISSION", "Exchange", "Fill", "Order", "quote_amount"]

COMMISSION = Decimal("0.001")
_ZERO = Decimal(0)
_EIGHT = Decimal("0.00000001")


def quote_amount(price: Decimal, qty: Decimal) -> Decimal:
    """Quote value of ``qty`` at ``price``, cut to Binance's 8 decimals.

    Parameters
    ----------
    price, qty : Decimal
        Fill price and base quantity.

    Returns
    -------
    Decimal
        ``price * qty`` rounded down to 1e-8: balances never hold more decimals than
        the account endpoint shows, and debit, credit and reports agree.
    """
    return (price * qty).quantize(_EIGHT, rounding=ROUND_DOWN)


@dataclass
class Fill:
    """One execution of one of our orders."""

    trade_id: int
    order_id: int
    symbol: str
    price: Decimal
    qty: Decimal
    commission: Decimal
    commission_asset: str
    time: int
    is_buyer: bool
    is_maker: bool
    quote_qty: Decimal = _ZERO


@dataclass
class Order:
    """One order of the emulated account."""

    order_id: int
    client_order_id: str
    symbol: str
    side: str
    type: str
    time_in_force: str | None
    price: Decimal
    orig_qty: Decimal
    orig_quote_qty: Decimal
    time: int
    executed_qty: Decimal = _ZERO
    cumulative_quote: Decimal = _ZERO
    status: str = "NEW"
    update_time: int = 0
    working_time: int = -1
    fills: list[Fill] = field(default_factory=list)
    # Funds still locked for the resting remainder (quote for a buy, base for a sell).
    locked: Decimal = _ZERO
    stop_price: Decimal = _ZERO

    @property
    def remaining(self) -> Decimal:
        return self.orig_qty - self.executed_qty

    @property
    def is_open(self) -> bool:
        return self.status in ("NEW", "PARTIALLY_FILLED")

    def as_query(self) -> dict[str, Any]:
        """GET /order shape."""
        return {
            "symbol": self.symbol, "orderId": self.order_id, "orderListId": -1,
            "clientOrderId": self.client_order_id, "price": format_number(self.price),
            "origQty": format_number(self.orig_qty), "executedQty": format_number(self.executed_qty),
            "cummulativeQuoteQty": format_number(self.cumulative_quote), "status": self.status,
            "timeInForce": self.time_in_force or "GTC", "type": self.type, "side": self.side,
            "stopPrice": format_number(self.stop_price), "icebergQty": "0.00000000", "time": self.time,
            "updateTime": self.update_time, "isWorking": self.working_time >= 0,
            "workingTime": self.working_time, "origQuoteOrderQty": format_number(self.orig_quote_qty),
            "selfTradePreventionMode": "NONE",
        }

    def as_result(self, transact_time: int, kind: str) -> dict[str, Any]:
        """POST /order answer for ``newOrderRespType`` ``kind`` (ACK/RESULT/FULL)."""
        body: dict[str, Any] = {"symbol": self.symbol, "orderId": self.order_id, "orderListId": -1,
                                "clientOrderId": self.client_order_id, "transactTime": transact_time}
        if kind == "ACK":
            return body
        body.update({
            "price": format_number(self.price), "origQty": format_number(self.orig_qty),
            "executedQty": format_number(self.executed_qty),
            "origQuoteOrderQty": format_number(self.orig_quote_qty),
            "cummulativeQuoteQty": format_number(self.cumulative_quote), "status": self.status,
            "timeInForce": self.time_in_force or "GTC", "type": self.type, "side": self.side,
            "workingTime": self.working_time, "selfTradePreventionMode": "NONE",
        })
        if kind == "FULL":
            body["fills"] = [{"price": format_number(f.price), "qty": format_number(f.qty),
                              "commission": format_number(f.commission), "commissionAsset": f.commission_asset,
                              "tradeId": f.trade_id} for f in self.fills]
        return body


class Exchange:
    """The emulated account: balances, orders, fills and the matcher."""

    def __init__(self, emulator: Emulator, balances: dict[str, Decimal]):
        self._emulator = emulator
        self.free: dict[str, Decimal] = dict(balances)
        self.locked: dict[str, Decimal] = {}
        self.orders: dict[int, Order] = {}
        self.open_by_symbol: dict[str, list[Order]] = {}
        self.fills: list[Fill] = []
        self._order_ids = itertools.count(1)
        self.order_counter = OrderCounter()
        self.update_time = 0
        # Untriggered STOP_LOSS_LIMIT / TAKE_PROFIT_LIMIT orders per symbol (also in open_by_symbol).
        self.stops: dict[str, list[Order]] = {}
        self._triggering = False

    # ---------------------------------------------------------------- helpers
    def _add(self, asset: str, amount: Decimal) -> None:
        self.free[asset] = self.free.get(asset, _ZERO) + amount

    def _lock(self, asset: str, amount: Decimal) -> None:
        self.free[asset] = self.free.get(asset, _ZERO) - amount
        self.locked[asset] = self.locked.get(asset, _ZERO) + amount

    def _unlock(self, asset: str, amount: Decimal) -> None:
        self.locked[asset] = self.locked.get(asset, _ZERO) - amount
        self.free[asset] = self.free.get(asset, _ZERO) + amount

    def balances(self) -> list[dict[str, str]]:
        assets = sorted(set(self.free) | set(self.locked))
        return [{"asset": a, "free": format_number(self.free.get(a, _ZERO)),
                 "locked": format_number(self.locked.get(a, _ZERO))} for a in assets]

    def find(self, symbol: str, order_id: int | None, client_id: str | None) -> Order | None:
        if order_id is not None:
            order = self.orders.get(order_id)
            if order is None or order.symbol != symbol:
                return None
            # Both ids given: Binance wants them to name the same order.
            if client_id is not None and order.client_order_id != client_id:
                return None
            return order
        for order in reversed(list(self.orders.values())):
            if order.symbol == symbol and order.client_order_id == client_id:
                return order
        return None

    # -------------------------------------------------------------- matching
    def _book_walk(self, market: Market, side: str, limit_price: Decimal | None) -> list[tuple[Decimal, Decimal]]:
        """Base levels an incoming ``side`` order may take, best first, within ``limit_price``."""
        if side == "BUY":
            levels = sorted(market.base_asks.items())
            return [(p, q) for p, q in levels if limit_price is None or p <= limit_price]
        levels = sorted(market.base_bids.items(), reverse=True)
        return [(p, q) for p, q in levels if limit_price is None or p >= limit_price]

    def plan(self, market: Market, side: str, limit_price: Decimal | None, qty: Decimal | None,
             quote_qty: Decimal | None) -> list[tuple[Decimal, Decimal]]:
        """Fills ``[(price, qty)]`` an order would get now (taking only, no side effects)."""
        step = market.rules.step_size
        out: list[tuple[Decimal, Decimal]] = []
        remaining_qty = qty
        remaining_quote = quote_qty
        for price, available in self._book_walk(market, side, limit_price):
            if remaining_qty is not None:
                take = min(available, remaining_qty)
            else:
                affordable = (remaining_quote / price).quantize(step, rounding=ROUND_DOWN)  # type: ignore[operator]
                take = min(available, affordable)
            if take <= 0:
                break
            out.append((price, take))
            if remaining_qty is not None:
                remaining_qty -= take
                if remaining_qty <= 0:
                    break
            else:
                remaining_quote -= quote_amount(price, take)  # type: ignore[operator]
                if remaining_quote <= 0:
                    break
        return out

    def _record_fill(self, order: Order, market: Market, price: Decimal, qty: Decimal, maker: bool,
                     now: int, from_locked: bool) -> None:
        rules = market.rules
        quote = quote_amount(price, qty)
        if order.side == "BUY":
            commission = (qty * COMMISSION).quantize(_EIGHT)
            if from_locked:
                self.locked[rules.quote_asset] = self.locked.get(rules.quote_asset, _ZERO) - quote
                order.locked -= quote
            else:
                self._add(rules.quote_asset, -quote)
            self._add(rules.base_asset, qty - commission)
            asset = rules.base_asset
        else:
            commission = (quote * COMMISSION).quantize(_EIGHT)
            if from_locked:
                self.locked[rules.base_asset] = self.locked.get(rules.base_asset, _ZERO) - qty
                order.locked -= qty
            else:
                self._add(rules.base_asset, -qty)
            self._add(rules.quote_asset, quote - commission)
            asset = rules.quote_asset
        # The taker's side decides "m": buyer is maker when the incoming order sells.
        buyer_is_maker = (order.side == "BUY") == maker
        trade = market.add_trade(price, qty, buyer_is_maker, trade_time=now)
        fill = Fill(trade.id, order.order_id, order.symbol, price, qty, commission, asset, now,
                    order.side == "BUY", maker, quote)
        order.fills.append(fill)
        self.fills.append(fill)
        order.executed_qty += qty
        order.cumulative_quote += quote
        order.update_time = now
        self.update_time = now

    def execute(self, market: Market, order: Order, limit_price: Decimal | None, quote_qty: Decimal | None,
                tif: str | None) -> None:
        """Run a validated new order: take liquidity, then rest/expire the remainder."""
        now = order.time
        qty = None if quote_qty is not None else order.orig_qty
        plan = self.plan(market, order.side, limit_price, qty, quote_qty)
        filled = sum((q for _, q in plan), _ZERO)
        if tif == "FOK" and filled < order.orig_qty:
            order.status = "EXPIRED"
            order.update_time = now
            return
        changes = []
        book = market.base_asks if order.side == "BUY" else market.base_bids
        # Levels are sent as the replay would send them (used-up part included), so the
        # matcher's accounting of used liquidity stays right.
        used = market.used_bids if order.side == "SELL" else market.used_asks
        for price, take in plan:
            self._record_fill(order, market, price, take, False, now, False)
            changes.append((price, book.get(price, _ZERO) - take + used.get(price, _ZERO)))
        if changes:
            if order.side == "BUY":
                market.apply_changes((), changes)
            else:
                market.apply_changes(changes, ())
        if order.type == "MARKET":
            if quote_qty is not None:
                order.orig_qty = order.executed_qty
                order.status = "FILLED" if self._quote_used_up(market, order, quote_qty) else "EXPIRED"
            else:
                order.status = "FILLED" if order.remaining <= 0 and order.executed_qty > 0 else "EXPIRED"
            return
        if order.remaining <= 0:
            order.status = "FILLED"
            return
        if tif == "IOC":
            order.status = "EXPIRED"
            return
        order.status = "PARTIALLY_FILLED" if order.executed_qty > 0 else "NEW"
        self._rest(market, order)

    def _quote_used_up(self, market: Market, order: Order, quote_qty: Decimal) -> bool:
        """Whether a quoteOrderQty MARKET order spent its amount (less than one step left).

        The step is priced at the next level left in the book; when the book ran out,
        at the last fill price (any more left means the book ran out first: EXPIRED).
        """
        if order.executed_qty <= 0:
            return False
        left = quote_qty - order.cumulative_quote
        levels = self._book_walk(market, order.side, None)
        price = levels[0][0] if levels else order.fills[-1].price
        return left < market.rules.step_size * price

    def _rest(self, market: Market, order: Order) -> None:
        rules = market.rules
        if order.side == "BUY":
            order.locked = quote_amount(order.price, order.remaining)
            self._lock(rules.quote_asset, order.locked)
            own, side = market.own_bids, "bid"
        else:
            order.locked = order.remaining
            self._lock(rules.base_asset, order.locked)
            own, side = market.own_asks, "ask"
        own[order.price] = own.get(order.price, _ZERO) + order.remaining
        self.open_by_symbol.setdefault(order.symbol, []).append(order)
        market.apply_changes((), (), own_changed=[(side, order.price)])

    def _unrest(self, market: Market, order: Order, qty: Decimal) -> str:
        own, side = (market.own_bids, "bid") if order.side == "BUY" else (market.own_asks, "ask")
        left = own.get(order.price, _ZERO) - qty
        if left > 0:
            own[order.price] = left
        else:
            own.pop(order.price, None)
        return side

    def _release(self, market: Market, order: Order) -> None:
        """Unlock what is still locked for ``order`` (its remainder, or rounding dust)."""
        rules = market.rules
        if order.locked:
            self._unlock(rules.quote_asset if order.side == "BUY" else rules.base_asset, order.locked)
            order.locked = _ZERO

    # ---------------------------------------------------------------- stop orders
    @staticmethod
    def stop_fires(order: Order, price: Decimal) -> bool:
        """Whether a trade at ``price`` triggers the waiting stop ``order``."""
        falling = (order.type == "STOP_LOSS_LIMIT") == (order.side == "SELL")
        return price <= order.stop_price if falling else price >= order.stop_price

    def park_stop(self, market: Market, order: Order) -> None:
        """Hold a validated stop order until a trade triggers it (funds locked meanwhile)."""
        rules = market.rules
        if order.side == "BUY":
            order.locked = quote_amount(order.price, order.orig_qty)
            self._lock(rules.quote_asset, order.locked)
        else:
            order.locked = order.orig_qty
            self._lock(rules.base_asset, order.locked)
        order.working_time = -1
        self.stops.setdefault(order.symbol, []).append(order)
        self.open_by_symbol.setdefault(order.symbol, []).append(order)

    def on_trade(self, market: Market, price: Decimal) -> None:
        """Trigger the stops a trade reached (our own fills included), each once, as LIMIT orders."""
        if self._triggering or not self.stops.get(market.symbol):
            return
        self._triggering = True
        try:
            while True:
                last = market.trades[-1].price if market.trades else price
                waiting = self.stops.get(market.symbol, [])
                fired = [o for o in waiting if self.stop_fires(o, last)]
                if not fired:
                    return
                for order in fired:
                    waiting.remove(order)
                    self.open_by_symbol[order.symbol].remove(order)
                    self._release(market, order)
                    order.working_time = order.update_time = server_time_ms()
                    self.execute(market, order, order.price, None, order.time_in_force)
        finally:
            self._triggering = False

    def cancel(self, market: Market, order: Order) -> None:
        """Cancel an open order: unlock its funds, take it out of the book."""
        waiting = self.stops.get(order.symbol, [])
        if order in waiting:  # not triggered yet: it is in no book
            waiting.remove(order)
            self._release(market, order)
            order.status = "CANCELED"
            order.update_time = server_time_ms()
            self.open_by_symbol[order.symbol].remove(order)
            return
        self._release(market, order)
        side = self._unrest(market, order, order.remaining)
        order.status = "CANCELED"
        order.update_time = server_time_ms()
        self.open_by_symbol[order.symbol].remove(order)
        market.apply_changes((), (), own_changed=[(side, order.price)])

    def _settle_used(self, market: Market) -> None:
        """Turn the absolute quantities just written to used levels into what is really left."""
        used_bids, used_asks = market.used_bids, market.used_asks
        written_bids, written_asks = market.base_written
        for book, used, written in ((market.base_bids, used_bids, written_bids),
                                    (market.base_asks, used_asks, written_asks)):
            for price in [p for p in written if p in used]:
                sent = book.get(price, _ZERO)
                if sent <= 0:
                    del used[price]  # the level is gone: nothing of it is left to re-count
                    continue
                # A shrinking level lost (some of) the part we used: never count it twice.
                taken = min(used[price], sent)
                used[price] = taken
                if sent > taken:
                    book[price] = sent - taken
                else:
                    book.pop(price, None)

    def on_depth(self, market: Market) -> None:
        """Fill our resting orders the base book has traded through (maker fills).

        Runs after base levels changed and before the depth event goes out; the base
        liquidity consumed leaves the base book and is remembered in ``market.used_*``.
        """
        self._settle_used(market)
        open_orders = self.open_by_symbol.get(market.symbol)
        if not open_orders:
            return
        used_bids, used_asks = market.used_bids, market.used_asks
        touched: list[tuple[str, Decimal]] = []
        now = server_time_ms()
        # Best price first, then time: the order the real book would have filled first.
        waiting = self.stops.get(market.symbol, ())
        resting = [o for o in open_orders if o not in waiting]  # untriggered stops are in no book
        queue = sorted(resting, key=lambda o: (o.side, -o.price if o.side == "BUY" else o.price, o.order_id))
        for order in queue:
            if order.side == "BUY":
                book, used, far = market.base_asks, used_asks, "ask"
                crossing = sorted(p for p in book if p <= order.price)
            else:
                book, used, far = market.base_bids, used_bids, "bid"
                crossing = sorted((p for p in book if p >= order.price), reverse=True)
            filled = False
            for price in crossing:
                take = min(book[price], order.remaining)
                if take <= 0:
                    break
                if book[price] > take:
                    book[price] -= take
                else:
                    del book[price]
                used[price] = used.get(price, _ZERO) + take
                self._record_fill(order, market, order.price, take, True, now, True)
                touched += [(far, price), (self._unrest(market, order, take), order.price)]
                filled = True
            if not filled:
                continue
            if order.remaining <= 0:
                order.status = "FILLED"
                self._release(market, order)  # rounding dust of the quote lock
                open_orders.remove(order)
            else:
                order.status = "PARTIALLY_FILLED"
        if touched:
            market.apply_changes((), (), own_changed=touched)

    def new_order_id(self) -> int:
        return next(self._order_ids)

    @staticmethod
    def new_client_order_id() -> str:
        return "emu" + secrets.token_hex(10)

    def open_client_ids(self, symbol: str) -> set[str]:
        return {o.client_order_id for o in self.open_by_symbol.get(symbol, [])}

    def reference_price(self, market: Market) -> Decimal | None:
        """Price used for MARKET notional checks: 5-min average, else last trade, else mid."""
        since = server_time_ms() - 300_000
        rows = [t for t in market.trades if t.time >= since]
        volume = sum((t.qty for t in rows), _ZERO)
        if volume:
            return sum((t.qty * t.price for t in rows), _ZERO) / volume
        if market.trades:
            return market.trades[-1].price
        bid, ask = market.best("bid"), market.best("ask")
        if bid and ask:
            return (bid[0] + ask[0]) / 2
        return None

    def check_funds(self, asset: str, needed: Decimal) -> None:
        if self.free.get(asset, _ZERO) < needed:
            raise ApiError(400, -2010, "Account has insufficient balance for requested action.")
