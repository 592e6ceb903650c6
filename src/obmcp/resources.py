"""MCP resources: market data, balances, trade history and open orders, declared once.

Room: obmcp's resource declarations (no transport code). Each :class:`ResourceSpec` is a
URI (a template when it has ``{symbol}``), a name, a description and an async reader
``read(context, **params) -> dict`` over the same service functions and account client
the tools use; :func:`register_resources` hands them to the SDK through its public
``MCPServer.resource`` decorator, so every transport that serves the SDK server (stdio,
HTTP, gRPC) exposes them. Answers are JSON text.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from obcore.errors import ObcoreError

from obmcp import service
from obmcp.catalog import ToolContext, describe_error
from obmcp.trading import account_client
from obmcp.validation import check_symbol

__all__ = ["RESOURCES", "ResourceSpec", "register_resources"]


@dataclass(frozen=True, slots=True)
class ResourceSpec:
    """One resource or resource template."""

    uri: str
    name: str
    title: str
    description: str
    read: Callable[..., Awaitable[dict[str, Any]]]


async def _market(context: ToolContext, symbol: str) -> dict[str, Any]:
    symbol = check_symbol(symbol.upper())
    ticker = await service.get_ticker(context.client, symbol)
    book = await service.get_orderbook(context.client, symbol, 5)
    return {"symbol": symbol, "ticker": ticker.model_dump(mode="json"), "top5": book.model_dump(mode="json")}


async def _balances(context: ToolContext) -> dict[str, Any]:
    client = account_client(context)
    raw = await client.account(omit_zero_balances=True)
    return {"network": client.network, "balances": raw.get("balances", []),
            "commissionRates": raw.get("commissionRates", {})}


async def _trades(context: ToolContext, symbol: str) -> dict[str, Any]:
    symbol = check_symbol(symbol.upper())
    client = account_client(context)
    return {"network": client.network, "symbol": symbol, "trades": await client.my_trades(symbol, limit=100)}


async def _open_orders(context: ToolContext) -> dict[str, Any]:
    client = account_client(context)
    return {"network": client.network, "orders": await client.open_orders()}


RESOURCES: tuple[ResourceSpec, ...] = (
    ResourceSpec("binance://market/{symbol}", "market", "Market data of a symbol",
                 "24 h ticker and the top 5 levels of the REST book of a Binance spot symbol.", _market),
    ResourceSpec("binance://account/balances", "balances", "Account balances",
                 "Non-zero balances and commission rates of the configured account (needs API keys).", _balances),
    ResourceSpec("binance://account/trades/{symbol}", "trade_history", "Account trade history",
                 "The account's last 100 fills on a symbol (needs API keys).", _trades),
    ResourceSpec("binance://account/open-orders", "open_orders", "Open orders",
                 "The account's open orders on every symbol (needs API keys).", _open_orders),
)


def _reader(spec: ResourceSpec, context: ToolContext) -> Callable[..., Awaitable[str]]:
    async def read_json(**params: str) -> str:
        try:
            return json.dumps(await spec.read(context, **params))
        except ObcoreError as exc:
            raise ValueError(describe_error(exc)) from None

    if "{symbol}" in spec.uri:
        async def read_symbol(symbol: str) -> str:
            return await read_json(symbol=symbol)

        return read_symbol

    async def read_static() -> str:
        return await read_json()

    return read_static


def register_resources(server: Any, context: ToolContext) -> None:
    """Register :data:`RESOURCES` on an SDK ``MCPServer`` (its public ``resource`` decorator)."""
    for spec in RESOURCES:
        server.resource(spec.uri, name=spec.name, title=spec.title, description=spec.description,
                        mime_type="application/json")(_reader(spec, context))
