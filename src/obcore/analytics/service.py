"""The two analytics answers as the MCP tools give them (``get_order_flow``,
``get_volume_profile``): argument rules of SPEC.md, the source chosen (live rings, the
store for ``as_of``, back-fill for the part of a profile window not collected live), and
the data-quality block. The tools are thin wrappers over these two functions.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from obcore.analytics.backfill import BackfillResult, Progress, window_trades
from obcore.analytics.coverage import STALE_AFTER_MS, WindowQuality
from obcore.analytics.flow import OrderFlow, order_flow, parse_as_of, stored_order_flow
from obcore.analytics.profile import DETAIL_LEVELS, VolumeProfile, volume_profile
from obcore.errors import InsufficientDataError, InvalidInputError, TransportError

__all__ = ["MAX_HOURS", "MIN_HOURS", "ProfileAnswer", "order_flow_answer", "tick_size_of", "volume_profile_answer"]

MIN_HOURS = 1
MAX_HOURS = 168


def order_flow_answer(symbol: str, *, session: Any = None, store: Any = None, window_duration_secs: int = 60,
                      as_of: Any = None, now_ms: int | None = None) -> OrderFlow:
    """``get_order_flow``: live from the session, or for a past window (``as_of``) from the store.

    Parameters
    ----------
    symbol : str
    session : obcore.session.BookSession, optional
        Needed for a live answer.
    store : obcore.store.SnapshotStore, optional
        Needed for ``as_of``.
    window_duration_secs : int
        10 to 300.
    as_of : int or str, optional
        Epoch ms or ISO-8601: the window ends with that second.
    now_ms : int, optional
        Current time (book age); default the wall clock.

    Returns
    -------
    OrderFlow

    Raises
    ------
    InvalidInputError
        Bad arguments, or ``as_of`` without a store / a live call without a session.
    InsufficientDataError
        No data at all in the window (``insufficient_historical_data``).
    """
    if as_of is None:
        if session is None:
            raise InvalidInputError(f"{symbol} is not tracked live: no session to read")
        flow = order_flow(session, window_duration_secs, now_ms=now_ms)
    else:
        if store is None:
            raise InvalidInputError("as_of needs the snapshot store (start the server with a data directory)")
        flow = stored_order_flow(store, symbol, as_of, window_duration_secs)
    if flow.seconds_covered == 0:
        raise InsufficientDataError(
            f"insufficient data: no {symbol} data in the {flow.window_seconds}-s window ending at second "
            f"{flow.end_s} ({flow.quality.source})", count=0, minimum=1)
    return flow


@dataclass(frozen=True, slots=True)
class ProfileAnswer:
    """A volume profile with where its trades came from and the data-quality block."""

    symbol: str
    profile: VolumeProfile
    quality: WindowQuality
    backfill: BackfillResult | None

    def to_dict(self, detail: str = "summary") -> dict[str, Any]:
        """The tool's structured answer (``summary`` or ``full``, see ``VolumeProfile.to_dict``)."""
        out = self.profile.to_dict(detail, symbol=self.symbol)
        out["data_quality"] = self.quality.to_dict()
        b = self.backfill
        out["backfill"] = None if b is None else {
            "start_ms": b.start_ms, "end_ms": b.end_ms, "trades": len(b.trades), "from_cache": b.from_cache,
            "pages": b.pages, "retries": b.retries, "weight": b.weight, "waited_s": round(b.waited_s, 3),
            "kept": b.kept}
        return out


async def tick_size_of(client: Any, symbol: str) -> str:
    """``tickSize`` of the symbol's PRICE_FILTER from exchangeInfo (weight 20)."""
    if client is None:
        raise TransportError(f"no REST client to read {symbol}'s tick size: give tick_size")
    info = await client.exchange_info(symbol)
    for entry in info.get("symbols", []):
        if entry.get("symbol") == symbol:
            for rule in entry.get("filters", []):
                if rule.get("filterType") == "PRICE_FILTER":
                    return str(rule["tickSize"])
    raise InvalidInputError(f"exchangeInfo has no PRICE_FILTER tickSize for {symbol}")


async def volume_profile_answer(
    symbol: str,
    *,
    session: Any,
    client: Any,
    duration_hours: int = 24,
    tick_size: str | None = None,
    as_of: Any = None,
    detail: str = "summary",
    progress: Progress | None = None,
    cache: Any = None,
    now_ms: int | None = None,
) -> ProfileAnswer:
    """``get_volume_profile``: the window's trades from the live tape, back-filled through
    REST for the part not collected live (progress reported), profiled exactly.

    Parameters
    ----------
    symbol : str
    session : obcore.session.BookSession
        The symbol's live session (its tape; an empty one means all is back-filled).
    client : obcore.client.BinanceClient or None
        For exchangeInfo (when ``tick_size`` is None) and ``/aggTrades`` (when the tape
        does not cover the window); None raises ``TransportError`` only if one is needed.
    duration_hours : int
        1 to 168 (default 24).
    tick_size : str, optional
        Overrides exchangeInfo's ``tickSize``.
    as_of : int or str, optional
        End of the window (epoch ms or ISO-8601); default now.
    detail : {"summary", "full"}
        Checked here so a bad value fails before any request.
    progress : callable, optional
        ``progress(done, total, message)`` during back-fill (MCP progress notifications).
    cache : obcore.analytics.tradecache.TradeCache, optional
        Back-filled spans kept from earlier calls.
    now_ms : int, optional
        Current time; default the wall clock.

    Returns
    -------
    ProfileAnswer

    Raises
    ------
    InvalidInputError
        Bad arguments.
    InsufficientDataError
        Fewer than 1000 trades in the window (SPEC.md's message, with the count).
    """
    if isinstance(duration_hours, bool) or not isinstance(duration_hours, int) or not MIN_HOURS <= duration_hours <= MAX_HOURS:
        raise InvalidInputError(f"duration_hours must be an integer {MIN_HOURS}..{MAX_HOURS}, got {duration_hours!r}")
    if detail not in DETAIL_LEVELS:
        raise InvalidInputError(f"detail must be one of {DETAIL_LEVELS}, got {detail!r}")
    now = int(time.time() * 1000) if now_ms is None else int(now_ms)
    end = now + 1 if as_of is None else parse_as_of(as_of)
    start = end - duration_hours * 3_600_000
    tick = tick_size if tick_size is not None else await tick_size_of(client, symbol)
    trades, backfill = await window_trades(client, session, start, end, progress=progress, cache=cache)
    profile = volume_profile(trades, tick, start_ms=start, end_ms=end)
    warnings = []
    if not session.is_synced:
        warnings.append(f"book is {session.state.name}: {session.reason}")
    age = session.book_age_ms(now)
    if session.is_synced and age is not None and age > STALE_AFTER_MS:
        warnings.append(f"book is stale: last depth update {age} ms ago")
    if backfill is not None and not backfill.kept and cache is not None:
        warnings.append("back-filled trades were not kept: the storage cap is reached")
    source = "live" if backfill is None else ("backfill" if len(session.trades) == 0 else "live+backfill")
    seconds = (end - start) // 1000
    live_from = end if backfill is None and len(trades) == 0 else (start if backfill is None else backfill.end_ms)
    quality = WindowQuality(
        source=source, start_s=start // 1000, end_s=(end - 1) // 1000, seconds_requested=seconds,
        seconds_covered=seconds, sync_state=session.state.name, book_age_ms=age,
        gap_count_total=session.gap_count, resync_count_total=session.resync_count,
        backfilled_trades=0 if backfill is None else len(backfill.trades) + backfill.from_cache,
        live_seconds=max(0, (end - live_from) // 1000),
        backfill_start_ms=None if backfill is None else backfill.start_ms,
        backfill_end_ms=None if backfill is None else backfill.end_ms,
        warnings=tuple(warnings))
    return ProfileAnswer(symbol, profile, quality, backfill)
