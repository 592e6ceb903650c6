"""Catalog entry get_depth_heatmap, and the chart images the analytics tools attach.

Room: obmcp's tool layer. The pictures are drawn by :mod:`obcore.charts` (matplotlib,
imported when the first chart is asked for) in a worker thread, so the event loop keeps
serving while a PNG is encoded; the data they draw is taken on the loop first (a live
session's counters change under it). ``chart=true`` on get_volume_profile and
get_order_flow puts the PNG beside the structured answer (:func:`obmcp.catalog.attach_image`).

:func:`live_chart` draws the current pictures of a tracked symbol; they are the status
page's ``/charts/{SYMBOL}/{kind}.png`` and the MCP resources
``obmcp://charts/{SYMBOL}/{kind}.png`` (:func:`register_chart_resources`), for clients
that prefer resources to tool calls.
"""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any

import numpy as np
from pydantic import BaseModel, Field

from obcore.errors import InsufficientDataError, InvalidInputError

from obmcp.catalog import READ_ONLY_LOCAL, Arguments, ToolContext, ToolEntry, attach_image
from obmcp.validation import JsonInteger, Symbol

__all__ = ["CHART_KINDS", "CHART_TOOLS", "ENTRIES", "DepthHeatmapArguments", "DepthHeatmapResult", "FLOW_SECONDS",
           "HEATMAP_MINUTES", "attach_flow_chart", "attach_profile_chart", "depth_heatmap", "live_chart",
           "register_chart_resources"]

#: The ``chart`` argument of the analytics tools.
ChartFlag = Annotated[bool, Field(strict=True, description="Also return the chart as an image/png content block.")]


def _last_price(session: Any, price_scale: int) -> int | None:
    """The session's last traded price at ``price_scale`` (None without trades or a coarser scale)."""
    if session is None or len(session.trades) == 0:
        return None
    price = int(session.trades.latest(1)["price"][-1])
    shift = price_scale - int(session.price_scale)
    return price * 10**shift if shift >= 0 else None


async def attach_profile_chart(answer: Any, session: Any, live: bool) -> None:
    """Draw ``answer.profile`` (a ProfileAnswer) and attach it; the last price is marked when live."""
    from obcore.charts import volume_profile_png

    last = _last_price(session, answer.profile.price_scale) if live else None
    attach_image(await asyncio.to_thread(volume_profile_png, answer.profile, answer.symbol, last_price=last))


async def attach_flow_chart(flow: Any, symbol: str, *, session: Any = None, store: Any = None) -> None:
    """Draw an OrderFlow with its per-second counters (live session or store) and attach it."""
    from obcore.charts import flow_counters_from_session, flow_counters_from_store, order_flow_png

    if session is not None:
        counters = flow_counters_from_session(session, flow)
    else:
        counters = await asyncio.to_thread(flow_counters_from_store, store, symbol, flow)
    attach_image(await asyncio.to_thread(order_flow_png, flow, counters, symbol))


# ------------------------------------------------------------- get_depth_heatmap
class DepthHeatmapArguments(Arguments):
    symbol: Symbol
    minutes: Annotated[int, Field(ge=1, le=1440), JsonInteger,
                       Field(description="Window length in minutes (1-1440).")] = 30
    as_of: Annotated[
        str | Annotated[int, JsonInteger] | None,
        Field(description="End of the window: ISO-8601 (2024-08-09T00:05:00Z) or Unix ms; default now.",
              examples=["2024-08-09T00:05:00Z"]),
    ] = None


class DepthHeatmapResult(BaseModel):
    symbol: str
    window_start_s: int
    window_end_s: int = Field(description="last second of the window (inclusive)")
    seconds_requested: int
    seconds_stored: int = Field(description="stored snapshots in the window")
    seconds_live: int = Field(description="stored snapshots taken while the book was LIVE (drawn)")
    price_low: str
    price_high: str
    price_scale: int


def depth_heatmap(store: Any, symbol: str, minutes: int, as_of: Any = None,
                  now_ms: int | None = None) -> tuple[DepthHeatmapResult, bytes]:
    """The heatmap of the ``minutes`` ending at ``as_of`` (default now) from the store.

    Raises
    ------
    InvalidInputError
        No store (the server runs without ``--data-dir``).
    InsufficientDataError
        No stored LIVE snapshot in the window.
    """
    from obcore.analytics.flow import parse_as_of
    from obcore.charts import depth_heatmap_png
    from obcore.numbers import format_decimal
    from obcore.store.snapshot import STATE_CODES

    if store is None:
        raise InvalidInputError("get_depth_heatmap needs the snapshot store: start the server with --data-dir")
    end_ms = (int(time.time() * 1000) if now_ms is None else int(now_ms)) if as_of is None else parse_as_of(as_of)
    end_s = end_ms // 1000
    seconds = minutes * 60
    start_s = end_s - seconds + 1
    arrays = store.range(symbol, max(start_s, 0), end_s + 1)
    png = depth_heatmap_png(arrays, start_s, seconds, symbol=symbol)
    live = arrays.state == STATE_CODES["LIVE"]
    levels = np.concatenate([arrays.bid_prices[live][arrays.bid_prices[live] > 0],
                             arrays.ask_prices[live][arrays.ask_prices[live] > 0]])
    if levels.shape[0] == 0:  # depth_heatmap_png already refuses this; kept for a clear message
        raise InsufficientDataError(f"{symbol}: no levels in the window", count=0, minimum=1)
    ps = arrays.price_scale
    return DepthHeatmapResult(
        symbol=symbol, window_start_s=start_s, window_end_s=end_s, seconds_requested=seconds,
        seconds_stored=len(arrays), seconds_live=int(live.sum()), price_low=format_decimal(int(levels.min()), ps),
        price_high=format_decimal(int(levels.max()), ps), price_scale=ps), png


async def _depth_heatmap(context: ToolContext, args: DepthHeatmapArguments) -> DepthHeatmapResult:
    result, png = await asyncio.to_thread(depth_heatmap, context.backend.store, args.symbol, args.minutes, args.as_of)
    attach_image(png)
    return result


def _depth_heatmap_text(args: DepthHeatmapArguments, r: DepthHeatmapResult) -> str:
    return (f"{r.symbol} depth heatmap, {args.minutes} min ending at second {r.window_end_s}: "
            f"{r.seconds_live} LIVE of {r.seconds_stored} stored / {r.seconds_requested} s, "
            f"prices {r.price_low}-{r.price_high} (image attached)")


ENTRIES: tuple[ToolEntry, ...] = (
    ToolEntry(
        name="get_depth_heatmap",
        title="Depth heatmap (picture) from the stored 1-s snapshots",
        description=(
            "A PNG heatmap (800x500) of the resting size of the top 20 levels per side over the last 1-1440 "
            "minutes (or the window ending at as_of), from the 1-s snapshot store: time x price on a log colour "
            "scale, best bid/ask lines, each second's taker buys/sells as dots at the touch sized by quantity. "
            "Seconds not stored or not LIVE are blank. Needs the server's --data-dir."
        ),
        input_model=DepthHeatmapArguments, output_model=DepthHeatmapResult, hints=READ_ONLY_LOCAL,
        run=_depth_heatmap, summary=_depth_heatmap_text,
    ),
)

CHART_TOOLS: tuple[str, ...] = tuple(entry.name for entry in ENTRIES)


# --------------------------------------------------- live charts (page, resources)
CHART_KINDS = ("profile", "flow", "heatmap")
#: Window of the live order-flow chart, seconds.
FLOW_SECONDS = 300
#: Window of the live depth heatmap, minutes.
HEATMAP_MINUTES = 30


async def live_chart(context: ToolContext, symbol: str, kind: str) -> bytes:
    """The current PNG of one chart of a tracked symbol.

    ``profile``: volume profile of the trades collected live (the session's tape; tick =
    one price unit of the book, so no REST call is made); ``flow``: order flow of the last
    :data:`FLOW_SECONDS` s; ``heatmap``: depth heatmap of the last :data:`HEATMAP_MINUTES`
    min from the snapshot store.

    Raises
    ------
    InvalidInputError
        Unknown kind, untracked symbol, or a heatmap without the store.
    InsufficientDataError
        Too little data to draw.
    """
    from obcore.validation import check_symbol

    check_symbol(symbol)
    backend = context.backend
    if kind not in CHART_KINDS:
        raise InvalidInputError(f"chart {kind!r}: expected one of {', '.join(CHART_KINDS)}")
    if kind == "heatmap":
        _, png = await asyncio.to_thread(depth_heatmap, backend.store, symbol, HEATMAP_MINUTES)
        return png
    session = backend.streams.session(symbol) if backend.streams is not None else None
    if session is None:
        raise InvalidInputError(f"{symbol} is not tracked: no live book to chart")
    if kind == "flow":
        from obcore.analytics.flow import session_flow
        from obcore.charts import flow_counters_from_session, order_flow_png

        flow = session_flow(session, min(FLOW_SECONDS, session.counters.capacity))
        counters = flow_counters_from_session(session, flow)
        return await asyncio.to_thread(order_flow_png, flow, counters, symbol)
    from obcore.analytics.profile import volume_profile
    from obcore.analytics.trades import trades_from_tape
    from obcore.charts import volume_profile_png
    from obcore.numbers import format_decimal

    trades = trades_from_tape(session.trades, session.price_scale, session.qty_scale)
    tick = format_decimal(1, session.price_scale)

    def draw() -> bytes:
        profile = volume_profile(trades, tick)
        return volume_profile_png(profile, symbol, last_price=_last_price(session, profile.price_scale))

    return await asyncio.to_thread(draw)


def register_chart_resources(server: Any) -> None:
    """Register ``obmcp://charts/{symbol}/{kind}.png`` (image/png) template resources on an
    ``MCPServer`` whose ``tool_context`` is the catalog's (``obmcp.server.CatalogServer``)."""

    def register(kind: str) -> None:
        async def read(symbol: str) -> bytes:
            from mcp.server.mcpserver.exceptions import ResourceError

            from obcore.errors import ObcoreError

            try:
                return await live_chart(server.tool_context, symbol, kind)
            except ObcoreError as exc:  # the reason reaches the client (else the SDK hides it)
                raise ResourceError(f"{exc.code}: {exc}") from None

        server.resource(f"obmcp://charts/{{symbol}}/{kind}.png", name=f"{kind}_chart", mime_type="image/png",
                        title=f"Live {kind} chart",
                        description=f"PNG (800x500) of a tracked symbol's live {kind} chart.")(read)

    for kind in CHART_KINDS:
        register(kind)
