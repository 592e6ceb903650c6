"""Catalog entries of the analytics tools: get_order_flow, get_volume_profile.

Room: obmcp's tool layer. Thin wrappers over :mod:`obcore.analytics.service`
(``order_flow_answer`` / ``volume_profile_answer``): the input models carry SPEC.md's
ranges, ``run`` gets the session / store / client from the backend and hands the
back-fill's progress to the MCP progress notifications (when the client sent a progress
token), and the output is obcore's JSON-ready answer as a pydantic model. Every answer
carries the data-quality block.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from obcore.analytics.service import order_flow_answer, volume_profile_answer
from obcore.session import BookSession

from obmcp.catalog import READ_ONLY_LOCAL, READ_ONLY_REMOTE, Arguments, ToolContext, ToolEntry, current_progress
from obmcp.tools.charts import ChartFlag, attach_flow_chart, attach_profile_chart
from obmcp.validation import JsonInteger, Symbol

__all__ = ["ANALYTICS_TOOLS", "ENTRIES", "OrderFlowArguments", "OrderFlowResult", "VolumeProfileArguments",
           "VolumeProfileResult"]

AsOf = Annotated[
    str | Annotated[int, JsonInteger] | None,
    Field(description="End of the window: ISO-8601 (2024-08-09T00:05:00Z) or Unix ms; default now (live).",
          examples=["2024-08-09T00:05:00Z"]),
]


class AnalyticsQuality(BaseModel):
    status: str = Field(description="ok, or degraded when any warning applies")
    source: str = Field(description="live, stored, trades, backfill or live+backfill")
    window_start_s: int
    window_end_s: int
    seconds_requested: int
    seconds_covered: int
    sync_state: str | None
    book_age_ms: int | None
    gaps_in_window: int | None
    resyncs_in_window: int | None
    gap_count_total: int | None
    resync_count_total: int | None
    backfilled_trades: int
    live_seconds: int | None
    stored_seconds: int | None
    backfill_start_ms: int | None
    backfill_end_ms: int | None
    warnings: list[str]


# ---------------------------------------------------------------- get_order_flow
class OrderFlowArguments(Arguments):
    symbol: Symbol
    window_duration_secs: Annotated[int, Field(ge=10, le=300), JsonInteger,
                                    Field(description="Window length in seconds (10-300).")] = 60
    as_of: AsOf = None
    chart: ChartFlag = False


class FiveLevel(BaseModel):
    bid_volume: str
    ask_volume: str
    ratio: float | None = Field(description="bid / ask volume of the top 5 levels; null when ask is 0")
    direction: str


class Withdrawal(BaseModel):
    side: str
    start_s: int
    end_s: int
    peak_per_minute: int
    peak_s: int
    cancellations: int
    cancelled_qty: str
    severity: str = Field(description="Low (51-100/min), Medium (-250), High (-1000), Critical (> 1000)")


class OrderFlowResult(BaseModel):
    symbol: str
    window_start_s: int
    window_end_s: int
    window_duration_secs: int
    seconds_covered: int
    bid_flow_rate: float = Field(description="bid additions + cancellations per covered second (diff stream)")
    ask_flow_rate: float
    net_flow: float
    bid_additions: int
    bid_cancellations: int
    ask_additions: int
    ask_cancellations: int
    depth_messages: int
    flow_ratio: float | None
    flow_direction: str = Field(description="STRONG_BUY > 2 >= MODERATE_BUY > 1.2 >= NEUTRAL >= 0.8 > "
                                            "MODERATE_SELL >= 0.5 > STRONG_SELL (bid/ask events)")
    five_level: FiveLevel | None
    cumulative_delta: str = Field(description="taker buy - taker sell volume (aggTrade m flags)")
    taker_buy_volume: str
    taker_sell_volume: str
    taker_buy_count: int
    taker_sell_count: int
    liquidity_withdrawals: list[Withdrawal]
    cvd: list[str] = Field(description="cumulative delta at the end of each second of the window")
    data_quality: AnalyticsQuality


async def _order_flow(context: ToolContext, args: OrderFlowArguments) -> OrderFlowResult:
    backend = context.backend
    session = None
    if args.as_of is None and backend.streams is not None:
        session = await backend.streams.track(args.symbol)
    flow = order_flow_answer(args.symbol, session=session, store=backend.store,
                             window_duration_secs=args.window_duration_secs, as_of=args.as_of)
    if args.chart:
        await attach_flow_chart(flow, args.symbol, session=session, store=backend.store)
    return OrderFlowResult(symbol=args.symbol, **flow.to_dict())


def _order_flow_text(args: OrderFlowArguments, r: OrderFlowResult) -> str:
    five = (f"; top-5 {r.five_level.direction} ({r.five_level.ratio})" if r.five_level else "")
    quality = "data ok" if r.data_quality.status == "ok" else "WARNING — " + "; ".join(r.data_quality.warnings)
    severities = sorted({w.severity for w in r.liquidity_withdrawals})
    return (
        f"{r.symbol} order flow over {r.seconds_covered}/{r.window_duration_secs} s ending {r.window_end_s}: "
        f"bid {r.bid_flow_rate:.1f}/s vs ask {r.ask_flow_rate:.1f}/s, {r.flow_direction} (ratio {r.flow_ratio}){five}\n"
        f"CVD {r.cumulative_delta} (taker buy {r.taker_buy_volume} in {r.taker_buy_count}, "
        f"sell {r.taker_sell_volume} in {r.taker_sell_count}); "
        f"{len(r.liquidity_withdrawals)} liquidity withdrawals{' (' + ', '.join(severities) + ')' if severities else ''}; "
        f"{quality}"
    )


# ------------------------------------------------------------ get_volume_profile
class VolumeProfileArguments(Arguments):
    symbol: Symbol
    duration_hours: Annotated[int, Field(ge=1, le=168), JsonInteger,
                              Field(description="Window length in hours (1-168).")] = 24
    tick_size: Annotated[str | None, Field(pattern=r"^[0-9]{1,20}(\.[0-9]{1,12})?$",
                                           description="Tick size override, e.g. '0.01' (default: exchangeInfo).")] = None
    as_of: AsOf = None
    detail: Literal["summary", "full"] = Field(
        "summary", description="summary: POC, value area, vacuums and the 20 heaviest bins; full: every bin.")
    chart: ChartFlag = False


class ProfileBinModel(BaseModel):
    price_level: str = Field(description="the bin's lower edge")
    volume: str
    trade_count: int
    percentage_of_total: float


class ValueArea(BaseModel):
    val: str
    vah: str = Field(description="highest value-area bin's price level + bin size")
    volume: str
    percentage_of_total: float
    bins: int


class Vacuum(BaseModel):
    price_low: str
    price_high: str
    bins: int
    volume: str
    volume_deficit_pct: float


class Backfill(BaseModel):
    start_ms: int
    end_ms: int
    trades: int
    from_cache: int
    pages: int
    retries: int
    weight: int
    waited_s: float
    kept: bool


class VolumeProfileResult(BaseModel):
    symbol: str
    detail: str
    trade_count: int
    total_volume: str
    tick_size: str
    bin_size: str
    bin_count: int
    price_low: str
    price_high: str
    first_trade_ms: int
    last_trade_ms: int
    start_ms: int | None
    end_ms: int | None
    poc: ProfileBinModel
    value_area: ValueArea
    median_bin_volume: str
    liquidity_vacuums: list[Vacuum]
    heaviest_bins: list[ProfileBinModel] | None = None
    histogram: list[ProfileBinModel] | None = None
    data_quality: AnalyticsQuality
    backfill: Backfill | None


def _trade_cache(context: ToolContext) -> Any:
    store = context.backend.store
    if store is None:
        return None
    cache = context.backend.extras.get("trade_cache")
    if cache is None:
        from obcore.analytics.tradecache import TradeCache

        cache = context.backend.extras["trade_cache"] = TradeCache.beside(store)
    return cache


async def _volume_profile(context: ToolContext, args: VolumeProfileArguments) -> VolumeProfileResult:
    backend = context.backend
    session = await backend.streams.track(args.symbol) if backend.streams is not None else BookSession(args.symbol)
    answer = await volume_profile_answer(
        args.symbol, session=session, client=context.backend.client, duration_hours=args.duration_hours,
        tick_size=args.tick_size, as_of=args.as_of, detail=args.detail, progress=current_progress(),
        cache=_trade_cache(context))
    if args.chart:
        await attach_profile_chart(answer, session, live=args.as_of is None)
    return VolumeProfileResult(**answer.to_dict(args.detail))


def _volume_profile_text(args: VolumeProfileArguments, r: VolumeProfileResult) -> str:
    va = r.value_area
    vacuums = ", ".join(f"{v.price_low}-{v.price_high} (-{v.volume_deficit_pct:.0f}%)" for v in r.liquidity_vacuums[:5])
    more = f" and {len(r.liquidity_vacuums) - 5} more" if len(r.liquidity_vacuums) > 5 else ""
    fill = f"; {r.backfill.trades} back-filled in {r.backfill.pages} pages" if r.backfill else ""
    quality = "data ok" if r.data_quality.status == "ok" else "WARNING — " + "; ".join(r.data_quality.warnings)
    return (
        f"{r.symbol} volume profile, {args.duration_hours} h, {r.trade_count} trades, {r.bin_count} bins of {r.bin_size}: "
        f"POC {r.poc.price_level} ({r.poc.percentage_of_total}%), value area {va.val}-{va.vah} ({va.percentage_of_total}%)\n"
        f"vacuums: {vacuums or 'none'}{more}{fill}; {quality}"
    )


ENTRIES: tuple[ToolEntry, ...] = (
    ToolEntry(
        name="get_order_flow",
        title="Order flow from the diff stream and aggTrades",
        description=(
            "Order flow over the last 10-300 s (or a past window with as_of, from the stored 1-s counters): "
            "additions and cancellations per second per side counted from the depth-diff stream, net flow and "
            "direction, the top-5 levels' bid/ask direction, cumulative delta from aggTrade aggressor flags with a "
            "per-second CVD series, taker buy/sell volume and counts, liquidity-withdrawal events (> 50 "
            "cancellations/min on a side) with severity, and the window actually covered."
        ),
        input_model=OrderFlowArguments, output_model=OrderFlowResult, hints=READ_ONLY_LOCAL, run=_order_flow,
        summary=_order_flow_text,
    ),
    ToolEntry(
        name="get_volume_profile",
        title="Volume profile: POC, value area, vacuums",
        description=(
            "Exact volume profile of the last 1-168 h of aggregate trades (live, back-filled through REST "
            "/aggTrades for the part not collected live, with progress notifications): bins of max(10 ticks, "
            "range/100) rounded up to a tick, POC (lowest on a tie), 70% value area (VAL/VAH), liquidity vacuums "
            "(< 20% of the median non-empty bin). summary: the 20 heaviest bins; full: every bin. Needs >= 1000 trades."
        ),
        input_model=VolumeProfileArguments, output_model=VolumeProfileResult, hints=READ_ONLY_REMOTE,
        run=_volume_profile, summary=_volume_profile_text,
    ),
)

ANALYTICS_TOOLS: tuple[str, ...] = tuple(entry.name for entry in ENTRIES)
