"""Catalog entries of the account tools (signed, read-only): get_account, get_my_trades.

Room: obmcp's tool layer. They are listed whether or not trading is enabled; without an
API key and secret they answer ``missing_credentials`` saying how to set them. Orders,
and the order queries, are in :mod:`obmcp.tools.trading` (listed only with trading on).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field

from obmcp.catalog import READ_ONLY_REMOTE, Arguments, ToolContext, ToolEntry
from obmcp.trading import account_client
from obmcp.validation import JsonInteger, Symbol, TimeMs

__all__ = ["ACCOUNT_TOOLS", "ENTRIES", "AccountArguments", "AccountInfo", "MyTrades", "MyTradesArguments"]


class AccountArguments(Arguments):
    omit_zero_balances: bool = True


class Balance(BaseModel):
    asset: str
    free: str
    locked: str


class AccountInfo(BaseModel):
    """Balances, permissions and commission rates of the account."""

    network: str
    account_type: str | None = None
    can_trade: bool | None = None
    update_time: int | None = None
    commission_rates: dict[str, str] = Field(default_factory=dict)
    permissions: list[str] = Field(default_factory=list)
    balances: list[Balance]


class MyTradesArguments(Arguments):
    symbol: Symbol
    order_id: Annotated[int, Field(ge=0), JsonInteger] | None = None
    start_time: TimeMs = None
    end_time: TimeMs = None
    limit: Annotated[int, Field(ge=1, le=1000), JsonInteger] = 100


class MyTrade(BaseModel):
    id: int
    order_id: int
    price: str
    qty: str
    quote_qty: str
    commission: str
    commission_asset: str
    time: int
    is_buyer: bool
    is_maker: bool


class MyTrades(BaseModel):
    """The account's fills on one symbol, oldest first."""

    symbol: str
    trades: list[MyTrade]


async def _account(context: ToolContext, args: AccountArguments) -> AccountInfo:
    client = account_client(context)
    raw: dict[str, Any] = await client.account(omit_zero_balances=args.omit_zero_balances)
    return AccountInfo(
        network=client.network, account_type=raw.get("accountType"), can_trade=raw.get("canTrade"),
        update_time=raw.get("updateTime"), commission_rates={k: str(v) for k, v in (raw.get("commissionRates") or {}).items()},
        permissions=[str(p) for p in raw.get("permissions") or []],
        balances=[Balance(asset=b["asset"], free=str(b["free"]), locked=str(b["locked"])) for b in raw.get("balances", [])],
    )


def _account_text(args: AccountArguments, a: AccountInfo) -> str:
    held = ", ".join(f"{b.asset} {b.free} free / {b.locked} locked" for b in a.balances[:10]) or "no balances"
    more = f" (+{len(a.balances) - 10} more)" if len(a.balances) > 10 else ""
    return f"{a.network} account ({a.account_type}, can trade: {a.can_trade}): {held}{more}"


async def _my_trades(context: ToolContext, args: MyTradesArguments) -> MyTrades:
    rows = await account_client(context).my_trades(
        args.symbol, order_id=args.order_id, start_time=args.start_time, end_time=args.end_time, limit=args.limit)
    return MyTrades(symbol=args.symbol, trades=[MyTrade(
        id=r["id"], order_id=r["orderId"], price=str(r["price"]), qty=str(r["qty"]), quote_qty=str(r["quoteQty"]),
        commission=str(r["commission"]), commission_asset=str(r["commissionAsset"]), time=r["time"],
        is_buyer=bool(r["isBuyer"]), is_maker=bool(r["isMaker"])) for r in rows])


def _my_trades_text(args: MyTradesArguments, result: MyTrades) -> str:
    if not result.trades:
        return f"{args.symbol}: no fills of this account"
    last = result.trades[-1]
    side = "bought" if last.is_buyer else "sold"
    return f"{args.symbol}: {len(result.trades)} fills; last {side} {last.qty} @ {last.price} (order {last.order_id})"


ENTRIES: tuple[ToolEntry, ...] = (
    ToolEntry(
        name="get_account",
        title="Account balances",
        description="Balances, permissions and commission rates of the configured Binance account (testnet by "
                    "default). Needs BINANCE_API_KEY / BINANCE_API_SECRET.",
        input_model=AccountArguments, output_model=AccountInfo, hints=READ_ONLY_REMOTE, run=_account,
        summary=_account_text,
    ),
    ToolEntry(
        name="get_my_trades",
        title="Account trade history",
        description="The account's own fills on a symbol (optionally of one order or in a <=24 h range), oldest first.",
        input_model=MyTradesArguments, output_model=MyTrades, hints=READ_ONLY_REMOTE, run=_my_trades,
        summary=_my_trades_text,
    ),
)  # fmt: skip

ACCOUNT_TOOLS = tuple(entry.name for entry in ENTRIES)
