"""Safety rails for placing orders: preview, confirmation, caps, idempotency, audit.

Room: obcore's trading policy, usable by a bot as well as by the MCP server. The
pieces are plain and exact (Decimal): :func:`sweep` walks a depth snapshot,
:func:`cap_notional` says what an order may cost at most (a buy limit at
max(limit, best ask), a MARKET order at the live book's sweep, never at a price the
caller gives), :class:`TradingLimits` holds the caps and the symbol allowlist and
:class:`AuditLog` appends JSON lines (0600) with no secret in them. :class:`Trader` puts
them together over a :class:`~obcore.client.BinanceClient`:

- :meth:`Trader.preview` checks the network rail, the allowlist, every exchangeInfo filter
  (:mod:`obcore.filters`), the caps, asks ``order/test`` with ``computeCommissionRates``
  and returns what would happen plus a confirmation id bound to the exact parameters;
- :meth:`Trader.place` sends only with that id and unchanged parameters, re-checks
  everything against the book of that moment, sends the order with the
  ``newClientOrderId`` fixed at preview, and resolves a timeout/5xx by querying that id,
  never by sending again.
A refused order raises before anything reaches the exchange.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import os
import secrets
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from pathlib import Path
from typing import Any

import orjson

from obcore.account import OrderRequest
from obcore.confirmations import ConfirmationBook
from obcore.errors import ObcoreError, OrderOutcomeUnknownError, OrderRejectedError, TradingDisabledError
from obcore.filters import SymbolFilters, check_order

__all__ = [
    "NETWORKS",
    "AuditLog",
    "OrderPreview",
    "OrderRefusedError",
    "PlacedOrder",
    "Sweep",
    "Trader",
    "TradingLimits",
    "cap_notional",
    "sweep",
]

#: Where orders may go: Binance's spot testnet (default), its spot demo environment, mainnet.
NETWORKS = ("testnet", "demo", "mainnet")
_ZERO = Decimal(0)
_ALGO = ("STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT")
_SECRET_KEYS = ("signature", "apikey", "api_key", "secret", "x-mbx-apikey")


class OrderRefusedError(ObcoreError):
    """A safety rail refused the order (cap, allowlist); nothing was sent."""

    code = "order_refused"


# ----------------------------------------------------------------------------- sweep
@dataclass(frozen=True, slots=True)
class Sweep:
    """What taking liquidity from one side of a book would do.

    Attributes
    ----------
    filled_qty, cost : Decimal
        Base quantity taken and quote paid (received, for a sell).
    avg_price, worst_price : Decimal or None
        Average and last price touched (None: nothing filled).
    complete : bool
        The visible book covered the whole request.
    """

    filled_qty: Decimal
    cost: Decimal
    avg_price: Decimal | None
    worst_price: Decimal | None
    complete: bool


def sweep(levels: Iterable[Sequence[Any]], *, quantity: Decimal | None = None, quote: Decimal | None = None,
          limit_price: Decimal | None = None, side: str = "BUY") -> Sweep:
    """Walk ``levels`` (best first, ``[price, qty]`` as strings or Decimals) for a taker order.

    Parameters
    ----------
    levels : iterable of (price, qty)
        The far side: asks for a buy, bids for a sell.
    quantity, quote : Decimal, optional
        Base quantity, or quote amount, to take (exactly one).
    limit_price : Decimal, optional
        Stop at levels worse than this (a limit order's marketable part).
    side : {"BUY", "SELL"}
        Which way ``limit_price`` bounds.

    Returns
    -------
    Sweep
    """
    if (quantity is None) == (quote is None):
        raise ValueError("sweep needs exactly one of quantity or quote")
    want = quantity if quantity is not None else quote
    assert want is not None
    filled = cost = _ZERO
    worst: Decimal | None = None
    with localcontext() as ctx:
        ctx.prec = 60
        for level in levels:
            price, size = Decimal(str(level[0])), Decimal(str(level[1]))
            if limit_price is not None and (price > limit_price if side == "BUY" else price < limit_price):
                break
            left = want - (filled if quantity is not None else cost)
            if left <= 0:
                break
            take = min(size, left) if quantity is not None else min(size, left / price)
            filled += take
            cost += take * price
            worst = price
        done = (filled if quantity is not None else cost) >= want
        avg = cost / filled if filled else None
    return Sweep(filled, cost, avg, worst, done)


def cap_notional(request: OrderRequest, *, best_bid: Decimal | None, best_ask: Decimal | None,
                 book_sweep: Sweep | None) -> Decimal:
    """The most an order can be worth, for the caps (quote units).

    A limit-priced order counts ``quantity * max(price, stop price, touch)`` where the
    touch is the best ask for a buy and the best bid for a sell: a buy limit far above the
    ask still fills at the book, but is never counted below the book. A MARKET order
    counts its quote amount, or the sweep of its quantity through the live book (what the
    book does not cover counted at the worst price seen, or at the touch for a sell);
    a caller's price plays no part.

    Raises
    ------
    OrderRefusedError
        A MARKET order by quantity with no book to price it.
    """
    params = request.params()
    side, kind = params["side"], params["type"]
    touch = best_ask if side == "BUY" else best_bid
    if kind == "MARKET":
        if "quoteOrderQty" in params:
            return Decimal(params["quoteOrderQty"])
        qty = Decimal(params["quantity"])
        if side == "SELL":
            if best_bid is None:
                raise OrderRefusedError(f"{params['symbol']}: no bid in the book to price a MARKET sell")
            return qty * best_bid
        if book_sweep is None or book_sweep.worst_price is None:
            raise OrderRefusedError(f"{params['symbol']}: no ask in the book to price a MARKET buy")
        return book_sweep.cost + (qty - book_sweep.filled_qty) * book_sweep.worst_price
    qty = Decimal(params["quantity"])
    prices = [Decimal(params[k]) for k in ("price", "stopPrice") if k in params]
    if touch is not None:
        prices.append(touch)
    return qty * max(prices)


# ----------------------------------------------------------------------------- limits
@dataclass(frozen=True, slots=True)
class TradingLimits:
    """Caps and the allowlist (small by default: a wrong guess must be cheap).

    Attributes
    ----------
    max_order_notional : Decimal
        Per order, in quote units (default 100).
    max_daily_notional : Decimal
        Sum of orders sent per UTC day (default 500).
    symbols : tuple of str
        Symbols that may be traded; ``("*",)`` allows every symbol.
    confirmation_ttl_s : float
        How long a preview's confirmation id stays valid (default 60 s).
    """

    max_order_notional: Decimal = Decimal("100")
    max_daily_notional: Decimal = Decimal("500")
    symbols: tuple[str, ...] = ("BTCUSDT", "ETHUSDT", "BNBUSDT")
    confirmation_ttl_s: float = 60.0

    def __post_init__(self) -> None:
        for name in ("max_order_notional", "max_daily_notional"):
            value = Decimal(str(getattr(self, name)))
            if not value > 0:
                raise ValueError(f"{name} {value}: expected > 0")
            object.__setattr__(self, name, value)
        object.__setattr__(self, "symbols", tuple(s.strip().upper() for s in self.symbols if s.strip()))

    def allows(self, symbol: str) -> bool:
        """True when ``symbol`` is on the allowlist."""
        return "*" in self.symbols or symbol in self.symbols


# ----------------------------------------------------------------------------- audit
class AuditLog:
    """Append-only JSON-lines audit of order requests and outcomes (file mode 0600).

    Parameters
    ----------
    path : path-like
        Created 0600 if missing; an existing file is set to 0600 and appended to.
    redact : iterable of str
        Strings (the API key and secret) replaced by ``***`` wherever they appear.
    clock : callable, optional
        Unix seconds (default :func:`time.time`).
    """

    def __init__(self, path: str | os.PathLike[str], redact: Iterable[str | None] = (),
                 clock: Callable[[], float] | None = None):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.close(fd)
        os.chmod(self.path, 0o600)
        self._redact = tuple(s for s in redact if s)
        self._clock = clock or time.time

    def write(self, event: str, **fields: Any) -> None:
        """Append one line ``{"ts", "event", **fields}`` (secret-named keys dropped)."""
        record = {"ts": round(self._clock(), 3), "event": event, **_scrub(fields)}
        line = orjson.dumps(record, default=str).decode()
        for secret in self._redact:
            line = line.replace(secret, "***")
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        try:
            os.write(fd, (line + "\n").encode())
        finally:
            os.close(fd)


def _scrub(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _scrub(v) for k, v in value.items() if str(k).lower() not in _SECRET_KEYS}
    if isinstance(value, (list, tuple)):
        return [_scrub(v) for v in value]
    return value


# ----------------------------------------------------------------------------- trader
@dataclass(frozen=True, slots=True)
class OrderPreview:
    """What an order would do, and the id that confirms it.

    Attributes
    ----------
    params : dict
        The order as it would be sent (Binance names), with its ``newClientOrderId``.
    confirmation_id : str
    expires_in_s : float
    best_bid, best_ask : Decimal or None
    expected_avg_price, worst_price : Decimal or None
        Of the part that would fill at once (from the live book).
    immediate_qty : Decimal
        Base quantity that would fill at once.
    slippage_bps : Decimal or None
        Average fill against the touch, in basis points (positive: worse than the touch).
    cap_notional : Decimal
        The notional counted against the caps.
    fee_rates : dict
        ``{"maker", "taker"}`` from ``order/test`` with ``computeCommissionRates``.
    estimated_fee : Decimal
        Quote units: the immediate part at the taker rate, the rest at the maker rate.
    filters_passed : tuple of str
    daily_used, daily_cap, order_cap : Decimal
    network : str
    """

    params: dict[str, Any]
    confirmation_id: str
    expires_in_s: float
    best_bid: Decimal | None
    best_ask: Decimal | None
    expected_avg_price: Decimal | None
    worst_price: Decimal | None
    immediate_qty: Decimal
    slippage_bps: Decimal | None
    cap_notional: Decimal
    fee_rates: dict[str, str]
    estimated_fee: Decimal
    filters_passed: tuple[str, ...]
    daily_used: Decimal
    daily_cap: Decimal
    order_cap: Decimal
    network: str


@dataclass(frozen=True, slots=True)
class PlacedOrder:
    """The result of a confirmed order.

    Attributes
    ----------
    status : {"sent", "resolved_after_unknown", "outcome_unknown"}
        Sent and answered; answered 5xx/timeout and then found by its client order id;
        or still unknown (query ``client_order_id``, never resend).
    client_order_id : str
    order : dict
        Binance's answer (or the queried order); empty when still unknown.
    cap_notional : Decimal
        Counted against the daily cap.
    """

    status: str
    client_order_id: str
    order: dict[str, Any]
    cap_notional: Decimal


@dataclass
class _Checked:
    request: OrderRequest
    filters_passed: tuple[str, ...]
    best_bid: Decimal | None
    best_ask: Decimal | None
    immediate: Sweep | None
    notional: Decimal


def _dec(value: object) -> Decimal | None:
    return None if value is None else Decimal(str(value))


@dataclass
class Trader:
    """The rails around one client (see the module docstring).

    Parameters
    ----------
    client : obcore.client.BinanceClient
        Pointed at the network below (or at the emulator).
    network : {"testnet", "demo", "mainnet"}
        Where orders go; ``mainnet`` needs ``allow_mainnet``.
    allow_mainnet : bool
        The second, explicit opt-in for real orders.
    limits : TradingLimits
    audit : AuditLog or None
    clock : callable
        Unix seconds, for the UTC day of the daily cap.
    resolve_attempts, resolve_delay_s : int, float
        How an unknown outcome is looked up by client order id.
    """

    client: Any
    network: str = "testnet"
    allow_mainnet: bool = False
    limits: TradingLimits = field(default_factory=TradingLimits)
    audit: AuditLog | None = None
    clock: Callable[[], float] = time.time
    confirmations: ConfirmationBook | None = None
    resolve_attempts: int = 3
    resolve_delay_s: float = 0.5
    _daily: dict[str, Decimal] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.network not in NETWORKS:
            raise ValueError(f"network {self.network!r}: expected one of {NETWORKS}")
        if self.confirmations is None:
            self.confirmations = ConfirmationBook(self.limits.confirmation_ttl_s)

    # -- rails ---------------------------------------------------------------------
    def _day(self) -> str:
        return _dt.datetime.fromtimestamp(self.clock(), _dt.UTC).date().isoformat()

    def daily_used(self) -> Decimal:
        """Notional sent today (UTC), counted at each order's cap notional."""
        return self._daily.get(self._day(), _ZERO)

    def require_network(self, action: str = "orders") -> None:
        """Refuse mainnet without the second opt-in.

        Raises
        ------
        TradingDisabledError
        """
        if self.network == "mainnet" and not self.allow_mainnet:
            raise TradingDisabledError(
                f"{action} on mainnet are refused: real money needs the explicit opt-in "
                "(--allow-mainnet-trading / OBMCP_ALLOW_MAINNET_TRADING=1); testnet is the default"
            )

    def _audit(self, event: str, **fields: Any) -> None:
        if self.audit is not None:
            self.audit.write(event, network=self.network, **fields)

    async def _check(self, request: OrderRequest) -> _Checked:
        params = request.params()
        symbol, side, kind = params["symbol"], params["side"], params["type"]
        self.require_network()
        if not self.limits.allows(symbol):
            raise OrderRefusedError(
                f"symbol {symbol} is not on the trading allowlist ({', '.join(self.limits.symbols) or 'empty'}); "
                "set OBMCP_TRADING_SYMBOLS to allow it"
            )
        info = await self.client.exchange_info(symbol)
        entries = [s for s in info.get("symbols", []) if s.get("symbol") == symbol]
        if not entries:
            raise OrderRefusedError(f"symbol {symbol}: not in exchangeInfo")
        entry = entries[0]
        if entry.get("status", "TRADING") != "TRADING":
            raise OrderRefusedError(f"symbol {symbol} is {entry.get('status')}, not TRADING")
        types = entry.get("orderTypes")
        if types is not None and kind not in types:
            raise OrderRefusedError(f"{symbol} does not take {kind} orders (it takes {', '.join(types)})")
        filters = SymbolFilters.from_symbol_info(entry)
        book = await self.client.depth(symbol, 100)
        bids, asks = book.get("bids", []), book.get("asks", [])
        best_bid = Decimal(str(bids[0][0])) if bids else None
        best_ask = Decimal(str(asks[0][0])) if asks else None
        avg: Decimal | None = Decimal(str((await self.client.avg_price(symbol))["price"]))
        if not avg:  # no trade yet: Binance's reference falls back to the book
            avg = (best_bid + best_ask) / 2 if best_bid and best_ask else None
        open_orders = await self.client.open_orders(symbol)
        passed = check_order(
            filters, side=side, order_type=kind, quantity=_dec(params.get("quantity")),
            quote_order_qty=_dec(params.get("quoteOrderQty")), price=_dec(params.get("price")),
            stop_price=_dec(params.get("stopPrice")), average_price=avg, open_orders=len(open_orders),
            open_algo_orders=sum(1 for o in open_orders if o.get("type") in _ALGO),
        )
        far = asks if side == "BUY" else bids
        immediate: Sweep | None = None
        if kind in ("MARKET", "LIMIT"):
            limit_price = _dec(params.get("price")) if kind == "LIMIT" else None
            if "quoteOrderQty" in params:
                immediate = sweep(far, quote=Decimal(params["quoteOrderQty"]), side=side)
            else:
                immediate = sweep(far, quantity=Decimal(params["quantity"]), limit_price=limit_price, side=side)
        notional = cap_notional(request, best_bid=best_bid, best_ask=best_ask,
                                book_sweep=immediate if kind == "MARKET" else None)
        if notional > self.limits.max_order_notional:
            raise OrderRefusedError(
                f"per-order cap: this order counts {_fmt(notional)} {_quote(entry)}, above the cap of "
                f"{_fmt(self.limits.max_order_notional)} (OBMCP_MAX_ORDER_NOTIONAL)"
            )
        used = self.daily_used()
        if used + notional > self.limits.max_daily_notional:
            raise OrderRefusedError(
                f"daily cap: {_fmt(used)} already sent today (UTC) + {_fmt(notional)} would pass the cap of "
                f"{_fmt(self.limits.max_daily_notional)} (OBMCP_MAX_DAILY_NOTIONAL)"
            )
        return _Checked(request, passed, best_bid, best_ask, immediate, notional)

    # -- preview / place / cancel --------------------------------------------------
    async def preview(self, request: OrderRequest) -> OrderPreview:
        """Check ``request`` and say what it would do; nothing is placed.

        Parameters
        ----------
        request : OrderRequest
            Without ``new_client_order_id`` (one is fixed here and bound to the confirmation).

        Returns
        -------
        OrderPreview

        Raises
        ------
        TradingDisabledError, OrderRefusedError, FilterViolationError
            A rail refused it (nothing sent).
        FilterFailureError, OrderRejectedError
            ``order/test`` refused it (e.g. insufficient balance).
        """
        bare = request.params()
        try:
            checked = await self._check(request)
            client_id = "obmcp-" + secrets.token_hex(12)
            placed = OrderRequest(**{**_fields(request), "new_client_order_id": client_id})
            test = await self.client.submit_test_order(placed, compute_commission_rates=True)
        except ObcoreError as exc:
            self._audit("preview_refused", order=bare, error=exc.code, message=str(exc))
            raise
        rates = dict(test.get("standardCommissionForOrder") or {"maker": "0", "taker": "0"})
        immediate = checked.immediate
        side = bare["side"]
        touch = checked.best_ask if side == "BUY" else checked.best_bid
        slippage = None
        if immediate is not None and immediate.avg_price is not None and touch:
            signed = immediate.avg_price - touch if side == "BUY" else touch - immediate.avg_price
            slippage = (signed / touch * 10_000).quantize(Decimal("0.01"))
        immediate_cost = immediate.cost if immediate is not None else _ZERO
        fee = immediate_cost * Decimal(rates.get("taker", "0")) + max(
            _ZERO, checked.notional - immediate_cost) * Decimal(rates.get("maker", "0"))
        assert self.confirmations is not None
        pending = self.confirmations.mint(bare, {"client_order_id": client_id, "notional": checked.notional})
        preview = OrderPreview(
            params=placed.params(), confirmation_id=pending.confirmation_id, expires_in_s=self.confirmations.ttl_s,
            best_bid=checked.best_bid, best_ask=checked.best_ask,
            expected_avg_price=None if immediate is None else immediate.avg_price,
            worst_price=None if immediate is None else immediate.worst_price,
            immediate_qty=_ZERO if immediate is None else immediate.filled_qty, slippage_bps=slippage,
            cap_notional=checked.notional, fee_rates={k: str(v) for k, v in rates.items()},
            estimated_fee=fee.quantize(Decimal("1e-8")), filters_passed=checked.filters_passed,
            daily_used=self.daily_used(), daily_cap=self.limits.max_daily_notional,
            order_cap=self.limits.max_order_notional, network=self.network,
        )
        self._audit("preview", order=preview.params, cap_notional=checked.notional,
                    confirmation_id=pending.confirmation_id)
        return preview

    async def place(self, request: OrderRequest, confirmation_id: str) -> PlacedOrder:
        """Send ``request`` if ``confirmation_id`` confirms exactly these parameters.

        Everything is checked again against the exchange as it is now; the order carries
        the client order id fixed at preview; a 5xx/timeout is resolved by querying that
        id, never by resending.

        Returns
        -------
        PlacedOrder

        Raises
        ------
        ConfirmationError
            Unknown, used or expired id, or changed parameters (nothing sent).
        TradingDisabledError, OrderRefusedError, FilterViolationError
            A rail refused it (nothing sent).
        FilterFailureError, OrderRejectedError
            The exchange refused it.
        """
        bare = request.params()
        assert self.confirmations is not None
        try:
            self.require_network()
            pending = self.confirmations.redeem(confirmation_id, bare)
            checked = await self._check(request)
        except ObcoreError as exc:
            self._audit("place_refused", order=bare, error=exc.code, message=str(exc))
            raise
        client_id = pending.payload["client_order_id"]
        placed = OrderRequest(**{**_fields(request), "new_client_order_id": client_id})
        day = self._day()
        self._daily[day] = self._daily.get(day, _ZERO) + checked.notional  # reserved before sending
        self._audit("order_sent", order=placed.params(), cap_notional=checked.notional)
        try:
            answer = await self.client.submit_order(placed)
        except OrderOutcomeUnknownError as exc:
            self._audit("order_outcome_unknown", client_order_id=client_id, message=str(exc))
            return await self._resolve(bare["symbol"], client_id, checked.notional)
        except ObcoreError as exc:
            self._daily[day] -= checked.notional  # answered: refused, nothing placed
            self._audit("order_refused_by_exchange", client_order_id=client_id, error=exc.code, message=str(exc))
            raise
        self._audit("order_answered", client_order_id=client_id, answer=answer)
        return PlacedOrder("sent", client_id, answer, checked.notional)

    async def _resolve(self, symbol: str, client_id: str, notional: Decimal) -> PlacedOrder:
        for attempt in range(self.resolve_attempts):
            if attempt:
                await asyncio.sleep(self.resolve_delay_s)
            try:
                order = await self.client.get_order(symbol, orig_client_order_id=client_id)
            except OrderRejectedError:
                continue  # -2013 not (yet) known: ask again, never resend
            except ObcoreError:
                continue
            self._audit("order_resolved", client_order_id=client_id, order=order)
            return PlacedOrder("resolved_after_unknown", client_id, order, notional)
        self._audit("order_still_unknown", client_order_id=client_id)
        return PlacedOrder("outcome_unknown", client_id, {}, notional)

    async def cancel(self, symbol: str, *, order_id: int | None = None,
                     orig_client_order_id: str | None = None) -> dict[str, Any]:
        """Cancel one open order (mainnet rail applies; audited)."""
        ref = {"symbol": symbol, "orderId": order_id, "origClientOrderId": orig_client_order_id}
        try:
            self.require_network("cancels")
            answer = await self.client.cancel_order(symbol, order_id=order_id, orig_client_order_id=orig_client_order_id)
        except ObcoreError as exc:
            self._audit("cancel_failed", order=ref, error=exc.code, message=str(exc))
            raise
        self._audit("cancel_answered", order=ref, answer=answer)
        return answer


def _fields(request: OrderRequest) -> dict[str, Any]:
    return {name: getattr(request, name) for name in OrderRequest.__dataclass_fields__}


def _fmt(value: Decimal) -> str:
    return format(value.quantize(Decimal("0.01")), "f")


def _quote(entry: Mapping[str, Any]) -> str:
    return str(entry.get("quoteAsset", "quote"))
