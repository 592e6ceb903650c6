"""Shared bench fixtures: the streams (loaded once a session) and the results table.

Two streams feed every book bench:

- ``synthetic``: ``obcore.synthetic.generate_stream`` (BTCUSDT-like, ~1 M level changes;
  ``OBCORE_BENCH_CHANGES`` changes the size);
- ``ethusdt``: the bundled real recording (data/binance-ethusdt-2024-08-09), from its
  snapshot on, ~0.27 M level changes.

Slow implementations (the peers, the Python twin) run on the first ``OBCORE_BENCH_SLICE``
level changes (50 000 by default) of the same stream, and so does one row of ours, so
every ratio compares the same work. Rates are level changes per second.

At the end of the run a Markdown table of medians, rates and ratios is printed (and
written to the file named by ``OBCORE_BENCH_TABLE``, if set), ready for ``bench/README.md``.
"""

from __future__ import annotations

import gc
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest

from obcore.numbers import decimal_places
from obcore.recording import read_messages
from obcore.synthetic import generate_stream, payload_rows

__all__ = ["BenchStream", "Result", "record_result"]

ROOT = Path(__file__).resolve().parents[1]
ETH_FILES = sorted((ROOT / "data" / "binance-ethusdt-2024-08-09").glob("*.gz"))
CHANGES = int(os.environ.get("OBCORE_BENCH_CHANGES", "1000000"))
SLICE = int(os.environ.get("OBCORE_BENCH_SLICE", "50000"))
TOP_N = 20


@dataclass
class BenchStream:
    """One stream in every form the benches feed: strings, bytes, int rows, floats."""

    name: str
    symbol: str
    price_scale: int
    qty_scale: int
    snapshot: dict[str, Any]
    payloads: list[dict[str, Any]]
    events: list[tuple[int, int, int, np.ndarray]]
    frames: list[bytes] = field(init=False)
    float_messages: list[tuple[list[tuple[float, float]], list[tuple[float, float]]]] = field(init=False)
    float_snapshot: tuple[list[tuple[float, float]], list[tuple[float, float]]] = field(init=False)
    slice_events: int = field(init=False)
    _references: dict[int, tuple] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        stream_name = f"{self.symbol.lower()}@depth@100ms"
        # Combined-stream frames, as the WebSocket delivers them.
        self.frames = [orjson.dumps({"stream": stream_name, "data": payload}) for payload in self.payloads]
        # The peers get floats parsed from the same strings (what they are built for).
        self.float_messages = [
            ([(float(p), float(q)) for p, q, *_ in payload["b"]], [(float(p), float(q)) for p, q, *_ in payload["a"]])
            for payload in self.payloads
        ]
        self.float_snapshot = (
            [(float(p), float(q)) for p, q, *_ in self.snapshot["bids"]],
            [(float(p), float(q)) for p, q, *_ in self.snapshot["asks"]],
        )
        sizes = np.cumsum([len(event[3]) for event in self.events])
        self.slice_events = min(len(self.events), int(np.searchsorted(sizes, SLICE)) + 1)

    def changes(self, n_events: int | None = None) -> int:
        """Level changes in the first ``n_events`` events (all by default)."""
        events = self.events if n_events is None else self.events[:n_events]
        return sum(len(event[3]) for event in events)

    def reference_top(self, n_events: int) -> tuple[list, list, list, list]:
        """Top-20 (bid prices, bid qtys, ask prices, ask qtys; scaled ints) after ``n_events``,
        from a plain-dict replay of the exact int rows: the oracle every bench must match."""
        if n_events not in self._references:
            bids = {int(p): int(q) for p, q in zip(*self._snapshot_ints(0))}
            asks = {int(p): int(q) for p, q in zip(*self._snapshot_ints(1))}
            for _, _, _, rows in self.events[:n_events]:
                for side, price, qty in rows.tolist():
                    book = bids if side == 0 else asks
                    if qty == 0:
                        book.pop(price, None)
                    else:
                        book[price] = qty
            top_bids = sorted(bids.items(), reverse=True)[:TOP_N]
            top_asks = sorted(asks.items())[:TOP_N]
            self._references[n_events] = (
                [p for p, _ in top_bids],
                [q for _, q in top_bids],
                [p for p, _ in top_asks],
                [q for _, q in top_asks],
            )
        return self._references[n_events]

    def _snapshot_ints(self, side: int) -> tuple[list[int], list[int]]:
        rows = payload_rows(
            {"b": self.snapshot["bids"] if side == 0 else [], "a": self.snapshot["asks"] if side == 1 else []},
            self.price_scale,
            self.qty_scale,
        )
        return rows[:, 1].tolist(), rows[:, 2].tolist()

    def float_top_to_ints(self, bids, asks) -> tuple[list, list, list, list]:
        """Peers' float top levels (best first) as scaled ints, for the oracle check."""
        price_unit, qty_unit = 10**self.price_scale, 10**self.qty_scale
        return (
            [round(p * price_unit) for p, _ in bids],
            [round(q * qty_unit) for _, q in bids],
            [round(p * price_unit) for p, _ in asks],
            [round(q * qty_unit) for _, q in asks],
        )


def _synthetic() -> BenchStream:
    stream = generate_stream(CHANGES)
    return BenchStream(
        "synthetic", stream.symbol, stream.price_scale, stream.qty_scale, stream.snapshot, stream.payloads, stream.events
    )


def _ethusdt() -> BenchStream:
    snapshot, depth = None, []
    for message in read_messages(ETH_FILES):
        if message.kind == "snapshot" and snapshot is None:
            snapshot = message.payload
        elif message.kind == "depth":
            depth.append(message.payload)
    if snapshot is None:
        raise RuntimeError(f"no snapshot in {ETH_FILES}")
    last_id = int(snapshot["lastUpdateId"])
    payloads = [payload for payload in depth if payload["u"] > last_id]
    # The recording must bridge its snapshot and be gapless, or the bench measures nothing.
    if not payloads or not payloads[0]["U"] <= last_id + 1 <= payloads[0]["u"]:
        raise RuntimeError("the ETHUSDT recording's first event does not bridge its snapshot")
    for before, after in zip(payloads, payloads[1:]):
        if after["U"] != before["u"] + 1:
            raise RuntimeError(f"the ETHUSDT recording has a gap at U={after['U']}")
    numbers = [level for payload in payloads for level in payload["b"] + payload["a"]]
    numbers += snapshot["bids"] + snapshot["asks"]
    price_scale = max(decimal_places(p) for p, *_ in numbers)
    qty_scale = max(decimal_places(q) for _, q, *_ in numbers)
    events = [
        (payload["U"], payload["u"], payload["E"], np.ascontiguousarray(payload_rows(payload, price_scale, qty_scale)))
        for payload in payloads
    ]
    return BenchStream("ethusdt", "ETHUSDT", price_scale, qty_scale, snapshot, payloads, events)


_STREAMS: dict[str, BenchStream] = {}


def get_stream(name: str) -> BenchStream:
    if name not in _STREAMS:
        _STREAMS[name] = _synthetic() if name == "synthetic" else _ethusdt()
        # Millions of long-lived bench objects would make every full GC pass (triggered
        # by whatever an implementation allocates) walk them: a cost of the bench, not
        # of the library. Freeze them out of the collector, for every implementation.
        gc.collect()
        gc.freeze()
    return _STREAMS[name]


@pytest.fixture(scope="session", params=["synthetic", "ethusdt"])
def stream(request) -> BenchStream:
    return get_stream(request.param)


# ---------------------------------------------------------------- results table
@dataclass
class Result:
    figure: str  # "a" or "b" (or "import")
    stream: str
    implementation: str
    scope: str  # "full" or "slice"
    changes: int
    median_s: float

    @property
    def rate(self) -> float:
        return self.changes / self.median_s if self.changes else 0.0


RESULTS: list[Result] = []
IMPORT_TIMES: dict[str, float] = {}
PEER = "order-book (C)"


def record_result(benchmark, figure: str, stream: BenchStream, implementation: str, n_events: int | None) -> None:
    """Keep a bench's median for the summary table (level changes per second)."""
    stats = getattr(benchmark, "stats", None)
    if stats is None:  # --benchmark-disable: nothing was timed
        return
    scope = "full" if n_events is None or n_events == len(stream.events) else "slice"
    RESULTS.append(Result(figure, stream.name, implementation, scope, stream.changes(n_events), stats.stats.median))
    benchmark.extra_info["level_changes"] = stream.changes(n_events)


def _table() -> str:
    titles = {
        "a": "(a) apply each message, then read best + top-20 (public API)",
        "b": "(b) raw JSON bytes -> book (+ our counters), one core",
    }
    lines = []
    for figure in ("a", "b"):
        rows = [r for r in RESULTS if r.figure == figure]
        if not rows:
            continue
        lines += [f"### {titles[figure]}", ""]
        lines += ["| stream | implementation | changes | median | M changes/s | vs order-book (C) |", "|---|---|---:|---:|---:|---:|"]
        for name in dict.fromkeys(r.stream for r in rows):
            peer = next((r for r in rows if r.stream == name and r.implementation == PEER), None)
            for r in sorted((r for r in rows if r.stream == name), key=lambda r: -r.rate):
                ratio = f"{r.rate / peer.rate:.1f}x" if peer else "-"
                median = f"{r.median_s * 1e3:.1f} ms"
                lines.append(f"| {name} | {r.implementation} | {r.changes:,} | {median} | {r.rate / 1e6:.2f} | {ratio} |")
        lines.append("")
    if IMPORT_TIMES:
        lines += ["### import time (fresh interpreter, median)", ""]
        lines += [f"- `{what}`: {seconds * 1e3:.0f} ms" for what, seconds in IMPORT_TIMES.items()]
        lines.append("")
    return "\n".join(lines)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not RESULTS and not IMPORT_TIMES:
        return
    table = _table()
    terminalreporter.write_sep("=", "book engine: level changes per second (medians)")
    terminalreporter.write_line(table)
    if os.environ.get("OBCORE_BENCH_TABLE"):
        Path(os.environ["OBCORE_BENCH_TABLE"]).write_text(table)
