"""The tool catalog's entries, one ``obmcp/tools`` module per family (see :mod:`obmcp.catalog`).

:data:`CATALOG` lists every tool the server always offers, in listing order; a new family
module adds its ``ENTRIES`` here once. :data:`TRADING` holds the five trading tools, listed
only when trading is enabled (:func:`catalog_for`).
"""

from __future__ import annotations

from obmcp.catalog import ToolEntry
from obmcp.tools import account, analytics, book, charts, connector, market, trading

__all__ = ["CATALOG", "TRADING", "catalog_for"]

CATALOG: tuple[ToolEntry, ...] = (
    *market.ENTRIES, *book.ENTRIES, *analytics.ENTRIES, *charts.ENTRIES, *account.ENTRIES, *connector.ENTRIES
)
TRADING: tuple[ToolEntry, ...] = trading.ENTRIES


def catalog_for(enable_trading: bool) -> tuple[ToolEntry, ...]:
    """The entries a server lists: :data:`CATALOG`, plus :data:`TRADING` when trading is enabled."""
    return (*CATALOG, *TRADING) if enable_trading else CATALOG
