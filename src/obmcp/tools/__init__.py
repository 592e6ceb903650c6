"""The tool catalog's entries, one ``obmcp/tools`` module per family (see :mod:`obmcp.catalog`).

:data:`CATALOG` lists every tool the server offers, in listing order; a new family module
adds its ``ENTRIES`` here once.
"""

from __future__ import annotations

from obmcp.catalog import ToolEntry
from obmcp.tools import analytics, book, charts, connector, market

__all__ = ["CATALOG"]

CATALOG: tuple[ToolEntry, ...] = (
    *market.ENTRIES, *book.ENTRIES, *analytics.ENTRIES, *charts.ENTRIES, *connector.ENTRIES
)
