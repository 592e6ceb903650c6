"""MCP prompts: trading analysis of a symbol and a portfolio risk assessment.

Room: obmcp's prompt declarations. Each prompt names the tools it relies on (by their
wire names) so the model knows what to call; :func:`register_prompts` hands them to the
SDK through its public ``MCPServer.prompt`` decorator.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from obmcp.validation import check_symbol

__all__ = ["PROMPT_TOOLS", "register_prompts"]

#: The tools each prompt relies on (catalog names).
PROMPT_TOOLS = {
    "trading_analysis": ("get_ticker", "get_klines", "orderbook_l1", "orderbook_liquidity", "get_order_flow",
                         "get_volume_profile", "get_exchange_info"),
    "portfolio_risk": ("get_account", "get_my_trades", "get_ticker", "orderbook_liquidity", "get_open_orders"),
}


def register_prompts(server: Any, tool_name: Callable[[str], str]) -> None:
    """Register the two prompts on an SDK ``MCPServer``; ``tool_name`` gives the wire names."""

    def names(prompt: str) -> str:
        return ", ".join(tool_name(n) for n in PROMPT_TOOLS[prompt])

    @server.prompt(name="trading_analysis", title="Trading analysis of a symbol",
                   description="Analyse one symbol's market: trend, liquidity, order flow, key levels.")
    def trading_analysis(symbol: str) -> str:
        sym = check_symbol(symbol.upper())
        return (
            f"Analyse the Binance spot market {sym} for a trading decision. Use these tools: {names('trading_analysis')}. "
            f"1) {tool_name('get_ticker')} and {tool_name('get_klines')} (1h and 1d) for trend and range; "
            f"2) {tool_name('orderbook_l1')} and {tool_name('orderbook_liquidity')} for spread, depth and walls "
            "(trust live-book answers only when data_quality.ok is true); "
            f"3) {tool_name('get_order_flow')} and {tool_name('get_volume_profile')} for who is aggressing and where "
            f"volume sits; 4) {tool_name('get_exchange_info')} for tick, lot and notional rules. "
            "Conclude with levels, risks and what would invalidate the view. Do not place any order."
        )

    @server.prompt(name="portfolio_risk", title="Portfolio risk assessment",
                   description="Assess the account's exposure, concentration and liquidity risk.")
    def portfolio_risk() -> str:
        return (
            f"Assess the risk of the configured Binance account. Use these tools: {names('portfolio_risk')}. "
            f"Read balances with {tool_name('get_account')}; value each asset with {tool_name('get_ticker')}; "
            f"check how much of each position the book could absorb with {tool_name('orderbook_liquidity')}; "
            f"review recent fills with {tool_name('get_my_trades')} and resting orders with "
            f"{tool_name('get_open_orders')} (listed only when trading is enabled). Report concentration, "
            "liquidity of exit, open-order exposure and suggestions. Do not place or cancel orders."
        )
