"""obmcp: an MCP tool server over obcore and the Binance REST API.

Run it with ``obmcp serve --mode stdio|http``; build it in code with
:func:`obmcp.server.build_server`. Importing obmcp does no work at import time.
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
