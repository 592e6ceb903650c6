"""The tools' service functions: source selection, back-fill with progress, tick size from
exchangeInfo, the data-quality block, and the argument rules."""

from __future__ import annotations

from decimal import Decimal

import pytest

from obcore.analytics.service import order_flow_answer, volume_profile_answer
from obcore.errors import InsufficientDataError, InvalidInputError
from obcore.session import BookSession

from . import reference
from .test_backfill import anyio_backend, eth_csv, eth_trades, served  # noqa: F401  (fixtures)


@pytest.mark.anyio
async def test_profile_backfills_what_the_tape_lacks(served, eth_trades):  # noqa: F811
    emu, client = served
    session = BookSession("ETHUSDT")
    for t in eth_trades[12000:]:
        session.receive({"e": "aggTrade", "E": t["E"], "s": "ETHUSDT", "a": t["t"], "p": t["p"], "q": t["q"],
                         "f": t["t"], "l": t["t"], "T": t["T"], "m": t["m"], "M": True})
    reports = []
    end = eth_trades[-1]["T"] + 1
    answer = await volume_profile_answer("ETHUSDT", session=session, client=client, duration_hours=1, as_of=end,
                                         progress=lambda d, t, m: reports.append((d, t)))
    inside = [t for t in eth_trades if end - 3_600_000 <= t["T"] < end]
    ref = reference.profile([(Decimal(t["p"]), Decimal(t["q"])) for t in inside], Decimal("0.01"))
    out = answer.to_dict("full")
    assert out["trade_count"] == len(inside) == len(eth_trades)
    assert Decimal(out["poc"]["price_level"]) == ref["poc"] and Decimal(out["tick_size"]) == Decimal("0.01")
    assert (Decimal(out["value_area"]["val"]), Decimal(out["value_area"]["vah"])) == (ref["val"], ref["vah"])
    assert [Decimal(b["volume"]) for b in out["histogram"]] == ref["volumes"]
    quality = out["data_quality"]
    assert quality["source"] == "live+backfill" and quality["backfilled_trades"] == 12000
    assert quality["status"] == "degraded" and "SYNCING" in quality["warnings"][0]  # no book: said so
    assert out["backfill"]["pages"] == 12 and reports and reports[-1][0] == reports[-1][1]
    first_live = eth_trades[12000]["T"]
    assert (quality["backfill_start_ms"], quality["backfill_end_ms"]) == (end - 3_600_000, first_live + 1)
    assert quality["live_seconds"] == (end - first_live - 1) // 1000


@pytest.mark.anyio
async def test_profile_argument_rules(served):  # noqa: F811
    emu, client = served
    session = BookSession("ETHUSDT")
    for hours in (0, 169, True, 1.5):
        with pytest.raises(InvalidInputError, match="duration_hours must be an integer 1..168"):
            await volume_profile_answer("ETHUSDT", session=session, client=client, duration_hours=hours)
    with pytest.raises(InvalidInputError, match="detail"):
        await volume_profile_answer("ETHUSDT", session=session, client=client, detail="all")
    with pytest.raises(InsufficientDataError, match="0 trades in the window, minimum 1000 trades"):
        await volume_profile_answer("ETHUSDT", session=session, client=client, duration_hours=1,
                                    as_of=1_600_000_000_000, tick_size="0.01")


def test_order_flow_answer_sources(eth_replayed):
    s = eth_replayed
    flow = order_flow_answer("ETHUSDT", session=s, window_duration_secs=60, now_ms=s.last_event_time_ms)
    assert flow.seconds_covered == 60 and flow.quality.source == "live"
    with pytest.raises(InvalidInputError, match="not tracked live"):
        order_flow_answer("ETHUSDT")
    with pytest.raises(InvalidInputError, match="as_of needs the snapshot store"):
        order_flow_answer("ETHUSDT", session=s, as_of="2024-08-09T00:05:00Z")
    with pytest.raises(InsufficientDataError, match="no ETHUSDT data in the 60-s window"):
        order_flow_answer("ETHUSDT", session=BookSession("ETHUSDT"))


@pytest.mark.anyio
async def test_no_client_is_fine_until_one_is_needed(eth_trades):  # noqa: F811
    from obcore.errors import TransportError

    session = BookSession("ETHUSDT")
    for t in eth_trades:
        session.receive({"e": "aggTrade", "E": t["E"], "s": "ETHUSDT", "a": t["t"], "p": t["p"], "q": t["q"],
                         "f": t["t"], "l": t["t"], "T": t["T"], "m": t["m"], "M": True})
    # the tape covers the hour before its last trade only partly: nothing to back-fill when the
    # window starts at the tape's first trade... a 1-h window always reaches further back
    with pytest.raises(TransportError, match="no REST client to back-fill"):
        await volume_profile_answer("ETHUSDT", session=session, client=None, duration_hours=1, tick_size="0.01",
                                    as_of=eth_trades[-1]["T"] + 1)
    with pytest.raises(TransportError, match="give tick_size"):
        await volume_profile_answer("ETHUSDT", session=session, client=None, duration_hours=1)


@pytest.mark.anyio
async def test_a_tape_covering_the_window_needs_no_client():
    session = BookSession("SYNUSDT")
    start = 1_723_161_600_000
    for i in range(2000):  # 3 s apart: 6000 s of tape
        session.receive({"e": "aggTrade", "E": start + 3000 * i, "s": "SYNUSDT", "a": i + 1, "p": f"{100 + i % 7}.5",
                         "q": "1.25", "f": i + 1, "l": i + 1, "T": start + 3000 * i, "m": i % 2 == 0, "M": True})
    end = start + 3000 * 1999 + 1
    answer = await volume_profile_answer("SYNUSDT", session=session, client=None, duration_hours=1, tick_size="0.5",
                                         as_of=end)
    out = answer.to_dict()
    assert answer.backfill is None and out["data_quality"]["source"] == "live" and out["backfill"] is None
    assert out["trade_count"] == sum(1 for i in range(2000) if start + 3000 * i >= end - 3_600_000) == 1200
