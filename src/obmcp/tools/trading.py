"""Catalog entries of the five trading tools: place_order, cancel_order, get_order,
get_open_orders, get_all_orders — listed only when trading is enabled.

Room: obmcp's tool layer over :class:`obcore.trading.Trader` (the rails) and the account
client. ``place_order`` is two calls: without ``confirmation_id`` it previews (filters,
caps, live-book price and slippage, fees from ``order/test``) and returns a confirmation
id; the same arguments plus that id send the order. Every entry here is marked
``trading`` in :data:`TRADING_TOOLS` and left out of the listing unless
``--enable-trading``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from obcore.account import OrderRequest
from obcore.errors import InvalidInputError

from obmcp.catalog import READ_ONLY_REMOTE, Arguments, Hints, ToolContext, ToolEntry
from obmcp.trading import account_client, trader
from obmcp.validation import JsonInteger, OptionalSymbol, Symbol, TimeMs

__all__ = ["ENTRIES", "TRADING_TOOLS", "OrderState", "PlaceOrderArguments", "PlaceOrderResult"]

#: Places or cancels an order: changes the account, talks to Binance.
PLACES = Hints(read_only=False, destructive=True, idempotent=False, open_world=True)
CANCELS = Hints(read_only=False, destructive=True, idempotent=True, open_world=True)

DecimalText = Annotated[str, Field(pattern=r"^[0-9]{1,20}(\.[0-9]{1,20})?$", examples=["0.0100"],
                                   description="A plain decimal string (no exponent), e.g. '0.0100'.")]
ClientOrderId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,36}$")]
OrderId = Annotated[int, Field(ge=0), JsonInteger]


class PlaceOrderArguments(Arguments):
    symbol: Symbol
    side: Literal["BUY", "SELL"]
    type: Literal["LIMIT", "MARKET", "LIMIT_MAKER", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"]  # noqa: A003
    quantity: DecimalText | None = None
    quote_order_qty: DecimalText | None = None
    price: DecimalText | None = None
    stop_price: DecimalText | None = None
    time_in_force: Literal["GTC", "IOC", "FOK"] | None = None
    confirmation_id: Annotated[str, Field(pattern=r"^c-[A-Za-z0-9_-]{1,40}$")] | None = None


class OrderRefArguments(Arguments):
    symbol: Symbol
    order_id: OrderId | None = None
    orig_client_order_id: ClientOrderId | None = None


class OpenOrdersArguments(Arguments):
    symbol: OptionalSymbol = None


class AllOrdersArguments(Arguments):
    symbol: Symbol
    order_id: OrderId | None = None
    start_time: TimeMs = None
    end_time: TimeMs = None
    limit: Annotated[int, Field(ge=1, le=1000), JsonInteger] = 100


class OrderState(BaseModel):
    """One order as Binance reports it (numbers as decimal strings)."""

    symbol: str
    order_id: int
    client_order_id: str
    side: str
    type: str
    status: str | None = None
    time_in_force: str | None = None
    price: str | None = None
    stop_price: str | None = None
    orig_qty: str | None = None
    executed_qty: str | None = None
    cummulative_quote_qty: str | None = None
    time: int | None = None
    update_time: int | None = None


class Preview(BaseModel):
    """What the order would do (from the live book and ``order/test``)."""

    best_bid: str | None
    best_ask: str | None
    expected_avg_price: str | None
    worst_price: str | None
    immediate_qty: str
    slippage_bps: str | None
    cap_notional: str
    fee_rates: dict[str, str]
    estimated_fee: str
    filters_passed: list[str]
    daily_used: str
    daily_cap: str
    order_cap: str


class PlaceOrderResult(BaseModel):
    """A preview (stage ``preview``) or the sent order."""

    stage: Literal["preview", "sent", "resolved_after_unknown", "outcome_unknown"]
    network: str
    client_order_id: str
    order_params: dict[str, str]
    confirmation_id: str | None = None
    expires_in_s: float | None = None
    preview: Preview | None = None
    order: OrderState | None = None


class Orders(BaseModel):
    symbol: str | None
    orders: list[OrderState]


def order_state(raw: dict[str, Any]) -> OrderState:
    """An :class:`OrderState` from Binance's order JSON (query, cancel or RESULT/FULL answer)."""
    def text(key: str) -> str | None:
        return None if raw.get(key) is None else str(raw[key])

    return OrderState(
        symbol=raw["symbol"], order_id=raw["orderId"], client_order_id=raw.get("clientOrderId") or raw.get(
            "origClientOrderId", ""), side=str(raw.get("side", "")), type=str(raw.get("type", "")),
        status=text("status"), time_in_force=text("timeInForce"), price=text("price"), stop_price=text("stopPrice"),
        orig_qty=text("origQty"), executed_qty=text("executedQty"), cummulative_quote_qty=text("cummulativeQuoteQty"),
        time=raw.get("time") or raw.get("transactTime"), update_time=raw.get("updateTime"),
    )


def order_request(args: PlaceOrderArguments) -> OrderRequest:
    """The order the arguments describe (checked: what each type takes and needs)."""
    kind = args.type
    if kind == "MARKET":
        for name in ("price", "stop_price", "time_in_force"):
            if getattr(args, name) is not None:
                raise InvalidInputError(f"{name}: a MARKET order takes none (it is priced by the live book)")
        if (args.quantity is None) == (args.quote_order_qty is None):
            raise InvalidInputError("a MARKET order needs exactly one of quantity (base) or quote_order_qty (quote)")
    else:
        if args.quote_order_qty is not None:
            raise InvalidInputError(f"quote_order_qty: only MARKET orders take it, not {kind}")
        missing = [n for n in ("quantity", "price") if getattr(args, n) is None]
        if kind in ("STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT") and args.stop_price is None:
            missing.append("stop_price")
        if missing:
            raise InvalidInputError(f"a {kind} order needs {', '.join(missing)}")
        if kind in ("LIMIT", "LIMIT_MAKER") and args.stop_price is not None:
            raise InvalidInputError(f"stop_price: a {kind} order takes none")
        if kind == "LIMIT_MAKER" and args.time_in_force is not None:
            raise InvalidInputError("time_in_force: a LIMIT_MAKER order takes none (it rests or is rejected)")
    tif = args.time_in_force
    if tif is None and kind in ("LIMIT", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"):
        tif = "GTC"
    return OrderRequest(args.symbol, args.side, kind, time_in_force=tif, quantity=args.quantity,
                        quote_order_qty=args.quote_order_qty, price=args.price, stop_price=args.stop_price,
                        new_order_resp_type="FULL" if kind in ("LIMIT", "MARKET") else "RESULT")


def _s(value: Decimal | None) -> str | None:
    return None if value is None else format(value.normalize(), "f") if value else "0"


# ----------------------------------------------------------------- place_order
async def _place(context: ToolContext, args: PlaceOrderArguments) -> PlaceOrderResult:
    rails = trader(context)
    request = order_request(args)
    if args.confirmation_id is None:
        p = await rails.preview(request)
        return PlaceOrderResult(
            stage="preview", network=p.network, client_order_id=p.params["newClientOrderId"],
            order_params={k: str(v) for k, v in p.params.items()}, confirmation_id=p.confirmation_id,
            expires_in_s=p.expires_in_s, preview=Preview(
                best_bid=_s(p.best_bid), best_ask=_s(p.best_ask), expected_avg_price=_s(p.expected_avg_price),
                worst_price=_s(p.worst_price), immediate_qty=_s(p.immediate_qty) or "0",
                slippage_bps=None if p.slippage_bps is None else str(p.slippage_bps),
                cap_notional=_s(p.cap_notional) or "0", fee_rates=p.fee_rates, estimated_fee=_s(p.estimated_fee) or "0",
                filters_passed=list(p.filters_passed), daily_used=_s(p.daily_used) or "0",
                daily_cap=_s(p.daily_cap) or "0", order_cap=_s(p.order_cap) or "0"))
    placed = await rails.place(request, args.confirmation_id)
    params = {k: str(v) for k, v in request.params().items()}
    params["newClientOrderId"] = placed.client_order_id
    return PlaceOrderResult(stage=placed.status, network=rails.network, client_order_id=placed.client_order_id,
                            order_params=params, order=order_state(placed.order) if placed.order else None)


def _place_text(args: PlaceOrderArguments, r: PlaceOrderResult) -> str:
    what = f"{args.side} {args.quantity or args.quote_order_qty} {args.symbol} {args.type}"
    if args.price:
        what += f" @ {args.price}"
    if r.stage == "preview" and r.preview is not None:
        p = r.preview
        return (f"PREVIEW only, nothing sent ({r.network}): {what}. Book bid {p.best_bid} / ask {p.best_ask}; "
                f"expected average {p.expected_avg_price} for {p.immediate_qty} filling at once "
                f"(slippage {p.slippage_bps} bps); counts {p.cap_notional} against the caps "
                f"(order cap {p.order_cap}, {p.daily_used} of {p.daily_cap} used today); est. fee {p.estimated_fee}; "
                f"filters passed: {', '.join(p.filters_passed)}. To send it, call place_order again with the same "
                f"arguments and confirmation_id={r.confirmation_id!r} within {r.expires_in_s:g} s.")
    if r.stage == "outcome_unknown":
        return (f"OUTCOME UNKNOWN ({r.network}): {what} was sent, the exchange did not answer clearly and the order "
                f"is not found yet. Do NOT resend: query get_order with orig_client_order_id={r.client_order_id!r}.")
    o = r.order
    status = f"{o.status}, executed {o.executed_qty} of {o.orig_qty}" if o else "no answer body"
    note = " (answer lost, found by its client order id; not resent)" if r.stage == "resolved_after_unknown" else ""
    return f"SENT ({r.network}): {what}: order {o.order_id if o else '?'} {status}{note}; client id {r.client_order_id}"


# -------------------------------------------------------- cancel / get orders
def _ref(args: OrderRefArguments) -> dict[str, Any]:
    if (args.order_id is None) == (args.orig_client_order_id is None):
        raise InvalidInputError("give exactly one of order_id or orig_client_order_id")
    return {"order_id": args.order_id, "orig_client_order_id": args.orig_client_order_id}


async def _cancel(context: ToolContext, args: OrderRefArguments) -> OrderState:
    ref = _ref(args)
    return order_state(await trader(context).cancel(args.symbol, **ref))


def _cancel_text(args: OrderRefArguments, o: OrderState) -> str:
    return f"{o.symbol} order {o.order_id} ({o.client_order_id}) {o.status}: executed {o.executed_qty} of {o.orig_qty}"


async def _get_order(context: ToolContext, args: OrderRefArguments) -> OrderState:
    trader(context)  # listed only with trading on; refuse the same way when called anyway
    return order_state(await account_client(context).get_order(args.symbol, **_ref(args)))


def _get_order_text(args: OrderRefArguments, o: OrderState) -> str:
    return (f"{o.symbol} order {o.order_id} ({o.client_order_id}): {o.side} {o.type} {o.status}, executed "
            f"{o.executed_qty} of {o.orig_qty} at price {o.price}")


async def _open_orders(context: ToolContext, args: OpenOrdersArguments) -> Orders:
    trader(context)
    rows = await account_client(context).open_orders(args.symbol)
    return Orders(symbol=args.symbol, orders=[order_state(r) for r in rows])


def _orders_text(args: Any, r: Orders) -> str:
    where = r.symbol or "all symbols"
    if not r.orders:
        return f"{where}: no orders"
    lines = [f"{o.symbol} {o.order_id} {o.side} {o.type} {o.status} {o.executed_qty}/{o.orig_qty} @ {o.price}"
             for o in r.orders[:20]]
    more = f"\n(+{len(r.orders) - 20} more)" if len(r.orders) > 20 else ""
    return f"{where}: {len(r.orders)} orders\n" + "\n".join(lines) + more


async def _all_orders(context: ToolContext, args: AllOrdersArguments) -> Orders:
    trader(context)
    rows = await account_client(context).all_orders(args.symbol, order_id=args.order_id, start_time=args.start_time,
                                                    end_time=args.end_time, limit=args.limit)
    return Orders(symbol=args.symbol, orders=[order_state(r) for r in rows])


ENTRIES: tuple[ToolEntry, ...] = (
    ToolEntry(
        name="place_order",
        title="Place an order (preview, then confirm)",
        description="Place a spot order: LIMIT, MARKET (quantity in base or quote_order_qty in quote), LIMIT_MAKER, "
                    "STOP_LOSS_LIMIT, TAKE_PROFIT_LIMIT; GTC/IOC/FOK. Without confirmation_id NOTHING is sent: it "
                    "returns a preview (filters, live-book average price and slippage, fees, caps) and a "
                    "confirmation_id; call again with the same arguments plus that id (valid 60 s) to send. "
                    "Show the preview to the user and send only on their explicit approval.",
        input_model=PlaceOrderArguments, output_model=PlaceOrderResult, hints=PLACES, run=_place, summary=_place_text,
    ),
    ToolEntry(
        name="cancel_order",
        title="Cancel an order",
        description="Cancel one open order by order_id or orig_client_order_id.",
        input_model=OrderRefArguments, output_model=OrderState, hints=CANCELS, run=_cancel, summary=_cancel_text,
    ),
    ToolEntry(
        name="get_order",
        title="Order status",
        description="One order's status by order_id or orig_client_order_id (also resolves an unknown outcome).",
        input_model=OrderRefArguments, output_model=OrderState, hints=READ_ONLY_REMOTE, run=_get_order,
        summary=_get_order_text,
    ),
    ToolEntry(
        name="get_open_orders",
        title="Open orders",
        description="The account's open orders, on one symbol or on all.",
        input_model=OpenOrdersArguments, output_model=Orders, hints=READ_ONLY_REMOTE, run=_open_orders,
        summary=_orders_text,
    ),
    ToolEntry(
        name="get_all_orders",
        title="Order history",
        description="The account's orders of every status on a symbol (from order_id on, or in a <=24 h range).",
        input_model=AllOrdersArguments, output_model=Orders, hints=READ_ONLY_REMOTE, run=_all_orders,
        summary=_orders_text,
    ),
)  # fmt: skip

TRADING_TOOLS = tuple(entry.name for entry in ENTRIES)
