"""Catalog entries of the analytics tools: get_order_flow, get_volume_profile,
detect_market_anomalies, get_microstructure_health, get_liquidity_vacuums.

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

from obcore.analytics.anomalies import anomalies_answer
from obcore.analytics.health import FORMULA, health_answer
from obcore.analytics.service import order_flow_answer, tick_size_of, volume_profile_answer
from obcore.analytics.vacuums import vacuums_answer
from obcore.session import BookSession

from obmcp.catalog import READ_ONLY_LOCAL, READ_ONLY_REMOTE, Arguments, ToolContext, ToolEntry, current_progress
from obmcp.tools.charts import ChartFlag, attach_flow_chart, attach_profile_chart
from obmcp.validation import JsonInteger, Symbol

__all__ = ["ANALYTICS_TOOLS", "AnomaliesArguments", "AnomaliesResult", "ENTRIES", "HealthArguments", "HealthResult", "VacuumsArguments", "VacuumsResult", "OrderFlowArguments", "OrderFlowResult", "VolumeProfileArguments",
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


# ------------------------------------------------------- detect_market_anomalies
class AnomaliesArguments(Arguments):
    symbol: Symbol
    window_secs: Annotated[int, Field(ge=10, le=300), JsonInteger,
                           Field(description="Window length in seconds (10-300).")] = 60
    as_of: AsOf = None


class AnomalyModel(BaseModel):
    id: str = Field(description="uuid4")
    type: str = Field(description="QuoteStuffing, Iceberg or FlashCrashRisk")
    severity: str
    confidence: float = Field(description="0-1: the observation's place in the symbol's measured baseline (>= 0.95)")
    timestamp_ms: int
    affected_price_levels: list[str]
    description: str
    recommended_action: str
    baseline: dict[str, Any] = Field(description="the measured baseline this anomaly was judged against")


class AnomaliesResult(BaseModel):
    symbol: str
    window_seconds: int
    window_end_s: int
    anomaly_count: int
    anomalies: list[AnomalyModel]
    baselines: dict[str, dict[str, Any]] = Field(
        description="per detector: status ('known' or why not yet known), the measured baseline and the rule")
    min_confidence: float
    resolution: str
    data_quality: AnalyticsQuality


async def _anomalies(context: ToolContext, args: AnomaliesArguments) -> AnomaliesResult:
    backend = context.backend
    session = None
    if args.as_of is None and backend.streams is not None:
        session = await backend.streams.track(args.symbol)
    report = anomalies_answer(args.symbol, session=session, store=backend.store, window_secs=args.window_secs,
                              as_of=args.as_of)
    return AnomaliesResult(**report.to_dict())


def _anomalies_text(args: AnomaliesArguments, r: AnomaliesResult) -> str:
    unknown = [name for name, b in r.baselines.items() if b.get("status") != "known"]
    found = "; ".join(f"{a.severity} {a.type} at {', '.join(a.affected_price_levels) or '-'} ({a.confidence:.2f})"
                      for a in r.anomalies[:5])
    quality = "data ok" if r.data_quality.status == "ok" else "WARNING — " + "; ".join(r.data_quality.warnings)
    return (
        f"{r.symbol}: {r.anomaly_count} anomalies in the {r.window_seconds} s ending {r.window_end_s}"
        f"{': ' + found if found else ''}\n"
        f"baseline not yet known for: {', '.join(unknown) if unknown else 'none'}; {quality}"
    )


# ----------------------------------------------------- get_microstructure_health
class HealthArguments(Arguments):
    symbol: Symbol
    as_of: AsOf = None


class HealthResult(BaseModel):
    symbol: str
    health_score: float | None = Field(description="0-100; null when no component has enough history")
    band: str = Field(description="Excellent 80-100, Good 60-79, Fair 40-59, Poor 20-39, Critical 0-19 (or Unknown)")
    formula: str
    weights: dict[str, float]
    components: dict[str, dict[str, Any]] = Field(
        description="each component's value (0-100 or null with the reason) and the inputs that drove it")
    weights_renormalised: bool = Field(description="true when a component is unknown and the score uses the rest")
    data_quality: AnalyticsQuality


async def _health(context: ToolContext, args: HealthArguments) -> HealthResult:
    backend = context.backend
    session = None
    if args.as_of is None and backend.streams is not None:
        session = await backend.streams.track(args.symbol)
    return HealthResult(**health_answer(args.symbol, session=session, store=backend.store, as_of=args.as_of).to_dict())


def _health_text(args: HealthArguments, r: HealthResult) -> str:
    parts = ", ".join(f"{name} {'?' if c['value'] is None else round(c['value'])}" for name, c in r.components.items())
    score = "unknown" if r.health_score is None else f"{r.health_score:.0f}/100"
    quality = "data ok" if r.data_quality.status == "ok" else "WARNING — " + "; ".join(r.data_quality.warnings)
    return f"{r.symbol} health {score} ({r.band}): {parts}{' (weights renormalised)' if r.weights_renormalised else ''}; {quality}"


# --------------------------------------------------------- get_liquidity_vacuums
class VacuumsArguments(Arguments):
    symbol: Symbol
    lookback_minutes: Annotated[int, Field(ge=10, le=1440), JsonInteger,
                                Field(description="Traded-volume lookback in minutes (10-1440).")] = 30
    tick_size: Annotated[str | None, Field(pattern=r"^[0-9]{1,20}(\.[0-9]{1,12})?$",
                                           description="Tick size override, e.g. '0.01' (default: exchangeInfo).")] = None
    as_of: AsOf = None


class VacuumsResult(BaseModel):
    symbol: str
    bin_size: str
    tick_size: str
    vacuums: list[dict[str, Any]] = Field(description="merged ranges: price_low/high, sources, volume_deficit_pct, "
                                                      "severity (> 80 Critical, 50-80 High, 20-50 Medium), expected_impact")
    vacuum_rule: str
    order_walls: list[dict[str, Any]]
    wall_rule: dict[str, Any]
    absorption_events: list[dict[str, Any]]
    stop_advice: dict[str, Any]
    depth_source: str
    notes: list[str]
    lookback_minutes: int
    resolution: str


async def _vacuums(context: ToolContext, args: VacuumsArguments) -> VacuumsResult:
    backend = context.backend
    session = None
    if args.as_of is None and backend.streams is not None:
        session = await backend.streams.track(args.symbol)
    tick = args.tick_size
    if tick is None and backend.client is not None:
        tick = await tick_size_of(backend.client, args.symbol)
    answer = vacuums_answer(args.symbol, session=session, store=backend.store, lookback_minutes=args.lookback_minutes,
                            tick_size=tick, as_of=args.as_of)
    return VacuumsResult(**answer.to_dict())


def _vacuums_text(args: VacuumsArguments, r: VacuumsResult) -> str:
    severities = [v["severity"] for v in r.vacuums]
    counts = ", ".join(f"{severities.count(s)} {s}" for s in ("Critical", "High", "Medium") if s in severities)
    return (f"{r.symbol} liquidity map ({r.lookback_minutes} min, bins of {r.bin_size}): {len(r.vacuums)} vacuums"
            f"{' (' + counts + ')' if counts else ''}, {len(r.order_walls)} walls, "
            f"{len(r.absorption_events)} absorption events; {r.stop_advice.get('text')}")


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
    ToolEntry(
        name="detect_market_anomalies",
        title="Quote stuffing, icebergs and flash-crash risk against the symbol's own baseline",
        description=(
            "Anomalies in the last 10-300 s (or a past window with as_of, from the store's 1-s counters and "
            "snapshots; refills are live only), each judged against the symbol's measured history of >= 10 min "
            "(else 'baseline not yet known' and nothing reported): quote stuffing (busiest seconds > 500 level "
            "changes/s and > 10x the symbol's median, fill rate < 10%; bands by the multiple, 500/750/1000 floors), "
            "iceberg (a level refilled after fills > 5x the median per-level refill count, z > 1.96 on the measured "
            "distribution, traded > displayed), flash-crash risk (top-20 depth -80% in 1 s, spread > 10x its "
            "rolling <= 24 h mean, cancellations > 90% of updates). Confidence is the empirical CDF against the "
            "busiest level/second of each baseline window; only >= 0.95 is reported, with the baseline used."
        ),
        input_model=AnomaliesArguments, output_model=AnomaliesResult, hints=READ_ONLY_LOCAL, run=_anomalies,
        summary=_anomalies_text,
    ),
    ToolEntry(
        name="get_microstructure_health",
        title="Microstructure health score 0-100 against the symbol's own history",
        description=(
            "Health score 0-100 with its band (Excellent >= 80, Good >= 60, Fair >= 40, Poor >= 20, Critical) and "
            "its four components, each the share of the symbol's own 60-s history slices (>= 10 min; counter ring "
            "and the store's 1-s snapshots, up to 24 h) worse than the last 60 s: spread_stability (sigma of the 1-s "
            "spread), liquidity_depth (top-20 depth now), flow_balance (|bid - ask events| / all events), "
            "update_rate (|ln(rate / usual rate)|). " + FORMULA + ". as_of: the store's 1-s rows."
        ),
        input_model=HealthArguments, output_model=HealthResult, hints=READ_ONLY_LOCAL, run=_health,
        summary=_health_text,
    ),
    ToolEntry(
        name="get_liquidity_vacuums",
        title="Liquidity vacuums, order walls, absorption and stop placement",
        description=(
            "Liquidity map: vacuums (bins < 20% of the median, the volume profile's bins) from traded volume over "
            "the last 10-1440 min and from the live book's resting depth, merged, with deficit %, severity (> 80 "
            "Critical, 50-80 High, 20-50 Medium: the mean deficit of both measures) and expected impact; order walls "
            "(size > k=5 x the median of the top N=100 levels); absorption events (traded > displayed while a level "
            "refills and price does not trade through it, > 5x the median level: Accumulation/Distribution, suspected "
            "entity); stop-placement advice at concrete tick-rounded prices beyond the nearest wall and outside every "
            "vacuum. as_of: the stored 1-s snapshot's top 20 levels only."
        ),
        input_model=VacuumsArguments, output_model=VacuumsResult, hints=READ_ONLY_REMOTE, run=_vacuums,
        summary=_vacuums_text,
    ),
)

ANALYTICS_TOOLS: tuple[str, ...] = tuple(entry.name for entry in ENTRIES)
