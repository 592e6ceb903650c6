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
