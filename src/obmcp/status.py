"""The status page at ``/`` of the HTTP server, and the chart pictures it links to.

Room: obmcp's HTTP surface beside ``/mcp``. Read-only: ``GET`` / ``HEAD`` only. The
guard in :mod:`obmcp.http` applies the same token and Host/Origin rules before a request
gets here. Routes:

- ``/`` — an HTML page listing the tracked books: sync state, book age, health status
  (``obcore.quality.symbol_health``: ok / degraded / error and why) and links to their
  charts; it reloads itself every :data:`REFRESH_SECONDS`.
- ``/charts/{SYMBOL}/profile.png``, ``flow.png``, ``heatmap.png`` — the live charts of
  :func:`obmcp.tools.charts.live_chart` (the same pictures as the MCP resources
  ``obmcp://charts/{SYMBOL}/...``).

A chart that cannot be drawn (untracked symbol, too little data, no store) is a 404 with
the reason as plain text, never a blank picture.
"""

from __future__ import annotations

import html
import logging
import re
import time
from typing import Any

from obcore.errors import ObcoreError
from obcore.validation import SYMBOL_CHARS

from obmcp.tools.charts import CHART_KINDS

logger = logging.getLogger(__name__)

__all__ = ["REFRESH_SECONDS", "StatusApp", "handles"]

REFRESH_SECONDS = 5
_CHART = re.compile(rf"^/charts/({SYMBOL_CHARS})/(profile|flow|heatmap)\.png$")


def handles(path: str) -> bool:
    """True for the paths this app serves (``/``, ``/index.html``, ``/charts/...``)."""
    return path in ("/", "/index.html") or path.startswith("/charts/")


async def _send(send: Any, status: int, body: bytes, content_type: str, head: bool = False) -> None:
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"), (b"x-content-type-options", b"nosniff")]})
    await send({"type": "http.response.body", "body": b"" if head else body})


class StatusApp:
    """ASGI app of the status page and its charts.

    Parameters
    ----------
    context : obmcp.catalog.ToolContext
        The server's tool context (its backend: live books, store).
    """

    def __init__(self, context: Any) -> None:
        self.context = context

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        method = scope.get("method", "GET")
        head = method == "HEAD"
        if method not in ("GET", "HEAD"):
            await _send(send, 405, b"the status page is read-only: GET or HEAD\n", "text/plain; charset=utf-8")
            return
        path = scope["path"]
        if path in ("/", "/index.html"):
            await _send(send, 200, self.page().encode(), "text/html; charset=utf-8", head)
            return
        match = _CHART.match(path)
        if match is None:
            await _send(send, 404, f"not found: {path[:100]!r}; charts are /charts/SYMBOL/"
                                   f"{{{','.join(CHART_KINDS)}}}.png\n".encode(), "text/plain; charset=utf-8", head)
            return
        symbol, kind = match.groups()
        try:
            png = await self.chart(symbol, kind)
        except ObcoreError as exc:
            await _send(send, 404, f"{exc.code}: {exc}\n".encode(), "text/plain; charset=utf-8", head)
            return
        except Exception:
            logger.exception("status chart %s %s failed", symbol, kind)
            await _send(send, 500, b"internal_error: the server log has the details\n", "text/plain; charset=utf-8", head)
            return
        await _send(send, 200, png, "image/png", head)

    # ------------------------------------------------------------ the page
    def rows(self, now_ms: int | None = None) -> list[dict[str, Any]]:
        """One dict per tracked book: symbol, state, book_age_ms, health, reason."""
        from obcore.quality import symbol_health

        streams = self.context.backend.streams
        if streams is None:
            return []
        now = int(time.time() * 1000) if now_ms is None else now_ms
        out = []
        for symbol in streams.symbols:
            session = streams.session(symbol)
            if session is None:
                continue
            health = symbol_health(symbol, session, now, connected=streams.is_connected(symbol))
            out.append({"symbol": symbol, "state": session.state.name, "book_age_ms": session.book_age_ms(now),
                        "health": health.status, "reason": health.reason})
        return out

    def page(self) -> str:
        """The HTML status page."""
        backend = self.context.backend
        rows = self.rows()
        store = "on" if backend.store is not None else "off (no --data-dir: no heatmap)"
        body = []
        for row in rows:
            s = html.escape(row["symbol"])
            age = "–" if row["book_age_ms"] is None else f"{row['book_age_ms']:,} ms"
            links = " ".join(f'<a href="/charts/{s}/{kind}.png">{kind}</a>' for kind in CHART_KINDS
                             if kind != "heatmap" or backend.store is not None)
            body.append(
                f'<tr class="book" data-symbol="{s}"><td class="symbol">{s}</td>'
                f'<td class="state">{html.escape(row["state"])}</td><td class="age">{age}</td>'
                f'<td class="health {html.escape(row["health"])}">{html.escape(row["health"])}</td>'
                f'<td class="reason">{html.escape(row["reason"] or "")}</td><td class="charts">{links}</td></tr>')
        table = ("<table><thead><tr><th>symbol</th><th>sync state</th><th>book age</th><th>health</th>"
                 "<th>why</th><th>charts</th></tr></thead><tbody>" + "".join(body) + "</tbody></table>"
                 if rows else '<p id="empty">No book is tracked yet: a tool call on a symbol starts one.</p>')
        stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
        return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="{REFRESH_SECONDS}">
<title>obmcp status</title>
<style>
body {{ font-family: sans-serif; margin: 2em; }} table {{ border-collapse: collapse; }}
th, td {{ padding: 0.3em 0.8em; border-bottom: 1px solid #ddd; text-align: left; }}
.ok {{ color: #2ca02c; }} .degraded {{ color: #ff7f0e; }} .error {{ color: #d62728; }}
</style></head>
<body><h1>obmcp status</h1>
<p>{len(rows)} tracked book(s); snapshot store {html.escape(store)}; as of <span id="stamp">{stamp}</span>,
refreshed every {REFRESH_SECONDS} s. MCP endpoint: <code>/mcp</code>.</p>
{table}
</body></html>
"""

    # ------------------------------------------------------------ the charts
    async def chart(self, symbol: str, kind: str) -> bytes:
        """The PNG of one chart of a tracked symbol (:func:`obmcp.tools.charts.live_chart`)."""
        from obmcp.tools.charts import live_chart

        return await live_chart(self.context, symbol, kind)
