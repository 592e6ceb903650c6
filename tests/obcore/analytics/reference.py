"""Independent references for the analytics tests: plain Decimal arithmetic over the raw
recorded lines, sharing no code with ``obcore.analytics`` (not even its parsers)."""

from __future__ import annotations

import gzip
import json
import statistics
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, localcontext


def raw_trades(path) -> list[dict]:
    """Every trade / aggTrade payload of an hftbacktest or cryptofeed file, in file order."""
    opener = gzip.open if str(path).endswith(".gz") else open
    out = []
    with opener(path, "rt") as handle:
        for line in handle:
            start = line.find("{")
            if start < 0:
                continue
            obj = json.loads(line[start:])
            data = obj.get("data", obj)
            if isinstance(data, dict) and data.get("e") in ("trade", "aggTrade"):
                out.append(data)
    return out


def profile(trades: list[tuple[Decimal, Decimal]], tick: Decimal, bin_size: Decimal | None = None) -> dict:
    """SPEC.md's volume profile in Decimal: bins, POC, value area, vacuums."""
    with localcontext() as ctx:
        ctx.prec = 60
        prices = [p for p, _ in trades]
        low, high = min(prices), max(prices)
        if bin_size is None:
            raw = max(tick * 10, (high - low) / 100)
            bin_size = (raw / tick).to_integral_value(rounding=ROUND_CEILING) * tick

        def index(p: Decimal) -> int:
            return int((p / bin_size).to_integral_value(rounding=ROUND_FLOOR))

        first, last = index(low), index(high)
        volume = {i: Decimal(0) for i in range(first, last + 1)}
        count = {i: 0 for i in range(first, last + 1)}
        for p, q in trades:
            volume[index(p)] += q
            count[index(p)] += 1
        keys = list(range(first, last + 1))
        total = sum(volume.values())
        top = max(volume.values())
        poc = min(k for k in keys if volume[k] == top)
        lo = hi = poc
        area = volume[poc]
        while area / total < Decimal("0.7"):
            below = volume.get(lo - 1)
            above = volume.get(hi + 1)
            if above is not None and (below is None or above >= below):
                hi += 1
                area += above
            else:
                lo -= 1
                area += below
        median = statistics.median([v for v in volume.values() if v > 0])
        vacuums = []
        run: list[int] = []
        for k in keys + [None]:
            if k is not None and volume[k] < median * Decimal("0.2"):
                run.append(k)
                continue
            if run:
                mean = sum(volume[i] for i in run) / len(run)
                vacuums.append({"low": run[0] * bin_size, "high": (run[-1] + 1) * bin_size, "bins": len(run),
                                "volume": sum(volume[i] for i in run),
                                "deficit": 100 * (1 - mean / median)})
                run = []
        return {
            "bin_size": bin_size,
            "levels": [k * bin_size for k in keys],
            "volumes": [volume[k] for k in keys],
            "counts": [count[k] for k in keys],
            "total": total,
            "poc": poc * bin_size,
            "val": lo * bin_size,
            "vah": (hi + 1) * bin_size,
            "area": area,
            "median": median,
            "vacuums": vacuums,
        }


def raw_messages(paths) -> list[dict]:
    """Every JSON message (envelope data or bare snapshot) of hftbacktest files, by receive time."""
    rows = []
    for path in paths:
        with gzip.open(path, "rt") as handle:
            for line in handle:
                stamp, _, body = line.partition(" ")
                obj = json.loads(body)
                rows.append((int(stamp), obj.get("data", obj)))
    rows.sort(key=lambda r: r[0])  # stable: file order within one receive time
    return [obj for _, obj in rows]


def flow_counts(paths) -> dict[int, dict[str, Decimal | int]]:
    """Per exchange second: additions / cancellations per side and taker flow, from the raw
    messages with a Decimal dict book (SPEC.md: a decrease not explained by trades at that
    price and side, seen before the depth event, is a cancellation)."""
    seconds: dict[int, dict] = {}

    def second(s: int) -> dict:
        return seconds.setdefault(s, {"bid_add": 0, "bid_cancel": 0, "ask_add": 0, "ask_cancel": 0,
                                      "buy_qty": Decimal(0), "sell_qty": Decimal(0), "buys": 0, "sells": 0,
                                      "bid_cancel_qty": Decimal(0), "ask_cancel_qty": Decimal(0)})

    book = None
    last_id = 0
    buffered: list[dict] = []
    pending: list[list] = []  # [price, qty_left, time, side hit]

    def apply(event: dict) -> None:
        nonlocal last_id
        if event["u"] <= last_id:
            return
        assert event["U"] <= last_id + 1, "the bundled recording has no gaps"
        row = second(event["E"] // 1000)
        for side, key in (("bid", "b"), ("ask", "a")):
            levels = book[side]
            for p_text, q_text in event[key]:
                p, q = Decimal(p_text), Decimal(q_text)
                old = levels.get(p, Decimal(0))
                if q > old:
                    row[side + "_add"] += 1
                elif q < old:
                    reduced = old - q
                    explained = Decimal(0)
                    for trade in pending:
                        if trade[3] == side and trade[0] == p and trade[2] <= event["E"] and trade[1] > 0:
                            take = min(trade[1], reduced - explained)
                            trade[1] -= take
                            explained += take
                            if explained == reduced:
                                break
                    if reduced - explained > 0:
                        row[side + "_cancel"] += 1
                        row[side + "_cancel_qty"] += reduced - explained
                if q == 0:
                    levels.pop(p, None)
                else:
                    levels[p] = q
        pending[:] = [t for t in pending if t[2] > event["E"]]
        last_id = event["u"]

    for obj in raw_messages(paths):
        if "lastUpdateId" in obj:
            book = {"bid": {Decimal(p): Decimal(q) for p, q in obj["bids"]},
                    "ask": {Decimal(p): Decimal(q) for p, q in obj["asks"]}}
            last_id = obj["lastUpdateId"]
            pending.clear()
            for event in buffered:
                apply(event)
            buffered.clear()
        elif obj.get("e") == "depthUpdate":
            if book is None:
                buffered.append(obj)
            else:
                apply(obj)
        elif obj.get("e") in ("trade", "aggTrade"):
            row = second(obj["T"] // 1000)
            qty = Decimal(obj["q"])
            if obj["m"]:  # buyer is maker: the taker sold, hitting bids
                row["sell_qty"] += qty
                row["sells"] += 1
            else:
                row["buy_qty"] += qty
                row["buys"] += 1
            if len(pending) >= 256:
                pending.pop(0)
            pending.append([Decimal(obj["p"]), qty, obj["T"], "bid" if obj["m"] else "ask"])
    return seconds
