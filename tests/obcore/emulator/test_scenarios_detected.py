"""Each emulator scenario, driven event by event through the emulator's own ``Market`` (the
Binance payloads its WebSocket sends, on a simulated clock) into a ``BookSession``, is
detected with the right type and severity; the same calm market before it is not."""

from __future__ import annotations

from unittest import mock

import numpy as np
import pytest

import obcore.emulator.market as market_module
from obcore._kernels import _layout as f
from obcore.analytics.anomalies import BookSeries, detect_anomalies
from obcore.analytics.vacuums import liquidity_map
from obcore.emulator.market import Market
from obcore.emulator.scenarios import _dedupe, make_scenario, parse_scenario_spec
from obcore.errors import InvalidInputError
from obcore.session import BookSession

START_MS = 1_800_000_000_000


class Drive:
    """A scenario's market on a simulated clock, its payloads fed to a session in order,
    and the book sampled at the end of every second (what the store's capture keeps)."""

    def __init__(self, name: str, symbol: str = "SIMUSDT", **params):
        self.clock = [START_MS]
        self.frames: list[dict] = []
        self.scenario = make_scenario(name, symbol, **params)
        self.market = Market(self.scenario.rules, lambda stream, payload: self.frames.append(payload))
        self.session = BookSession(symbol)
        self.samples: list[tuple[int, int, int, int, int]] = []
        with mock.patch.object(market_module, "server_time_ms", lambda: self.clock[0]):
            self.scenario.prime(self.market)
            self.session.receive_snapshot(self.market.snapshot(1000))
        self.second = START_MS // 1000

    def run(self, scenario, seconds: float) -> None:
        events = int(seconds * 1000 / scenario.tick_ms)
        with mock.patch.object(market_module, "server_time_ms", lambda: self.clock[0]):
            for _ in range(events):
                self.clock[0] += int(scenario.tick_ms)
                second = self.clock[0] // 1000
                while self.second < second:  # the book at the end of each completed second
                    self._sample(self.second)
                    self.second += 1
                bids, asks = scenario.step_event(self.market)
                scenario.events += 1
                if bids or asks:
                    self.market.apply_changes(_dedupe(bids), _dedupe(asks))
                for payload in self.frames:
                    self.session.receive(payload)
                self.frames.clear()

    def _sample(self, second: int) -> None:
        bp, bq, ap, aq = self.session.book.top(20)
        if len(bp) and len(ap):
            self.samples.append((second, int(ap[0] - bp[0]), int(bq.sum() + aq.sum()), int(bp[0]), int(ap[0])))

    def book(self) -> BookSeries:
        a = np.array(self.samples, dtype=np.int64)
        return BookSeries(a[:, 0], a[:, 1], a[:, 2], a[:, 3], a[:, 4])

    def report(self, window: int = 60):
        ring = self.session.counters
        end = self.second - 1  # the last completed second
        counters = np.array(ring.window(end, min(ring.capacity, end - START_MS // 1000 + 1)))
        return detect_anomalies(self.session.symbol, counters, end, window, refills=self.session.refills.latest(),
                                refill_history_start_s=START_MS // 1000, book=self.book(),
                                price_scale=self.session.price_scale, qty_scale=self.session.qty_scale)


CALM_S = 700


@pytest.fixture(scope="module")
def calm():
    drive = Drive("calm", seed=3)
    drive.run(drive.scenario, CALM_S)
    return drive


def test_the_calm_market_is_silent(calm):
    report = calm.report()
    assert all(b["status"] == "known" for b in report.baselines.values()), report.baselines
    assert report.anomalies == ()


def test_quote_stuffing_burst_is_detected():
    drive = Drive("calm", seed=3)
    drive.run(drive.scenario, CALM_S)
    drive.run(make_scenario("quote_stuffing", "SIMUSDT", seed=4, updates_per_s=2000), 5)
    found = [a for a in drive.report().anomalies if a.type == "QuoteStuffing"]
    assert len(found) == 1 and found[0].severity == "Critical"
    assert found[0].baseline["seconds"] >= 4


def test_a_mild_burst_is_medium():
    drive = Drive("calm", seed=3)
    drive.run(drive.scenario, CALM_S)
    median = drive.report().baselines["quote_stuffing"]["median_updates_per_s"]
    rate = max(520, int(12 * median))  # > 500/s, ~12x the calm median, below the 750/s floor
    drive.run(make_scenario("quote_stuffing", "SIMUSDT", seed=4, updates_per_s=rate), 3)
    (found,) = [a for a in drive.report().anomalies if a.type == "QuoteStuffing"]
    assert found.severity == "Medium", (rate, median, found.description)


def test_iceberg_refills_are_detected():
    drive = Drive("calm", seed=5)
    drive.run(drive.scenario, CALM_S)
    # The emulator's calm touch is itself re-sized after trades ~80 times a minute (the
    # measured median), so the iceberg must refill every event (600/min) to be > 5x it.
    drive.run(make_scenario("iceberg", "SIMUSDT", seed=6, display_qty="2.0", refill_every=1), 60)
    (found,) = [a for a in drive.report().anomalies if a.type == "Iceberg"]
    multiple = found.baseline["refills"] / found.baseline["median_refills"]
    assert 5 < multiple < 10 and found.severity == "Medium" and found.price_levels == ("100.01",)
    assert found.baseline["traded_qty"] > found.baseline["max_displayed_qty"]


def test_flash_crash_is_detected():
    drive = Drive("flash_crash", seed=7, calm_s=CALM_S, crash_s=0.5)
    drive.run(drive.scenario, CALM_S + 3)
    (found,) = [a for a in drive.report().anomalies if a.type == "FlashCrashRisk"]
    assert found.severity in ("High", "Critical") and found.baseline["depth_drop"] > 0.8


def _map(drive: Drive):
    bp, bq, ap, aq = drive.session.book.top(100)
    trades = drive.session.trades.latest()
    return liquidity_map("SIMUSDT", tick=1, price_scale=drive.session.price_scale, qty_scale=drive.session.qty_scale,
                         trade_prices=trades["price"], trade_qtys=trades["qty"], trade_times=trades["time_ms"],
                         bids=(bp, bq), asks=(ap, aq), refills=drive.session.refills.latest()).to_dict()


def test_absorption_by_a_wall_is_detected():
    drive = Drive("absorption", seed=8, hits_per_s=5, hit_qty="5", wall_qty="50")
    drive.run(drive.scenario, 60)
    out = _map(drive)
    (event,) = out["absorption_events"]
    assert event["direction"] == "Accumulation" and event["price"] == "99.97" and event["suspected_entity"] == "Whale"
    assert any(w["price"] == "99.97" and w["side"] == "bid" for w in out["order_walls"])
    assert float(out["stop_advice"]["long_stop"]["price"]) < 99.97


def test_the_vacuum_is_mapped():
    drive = Drive("liquidity_vacuum", seed=9, vacuum_ticks=30)
    drive.run(drive.scenario, 60)
    out = _map(drive)
    band_low, band_high = 100.03, 100.33
    inside = [v for v in out["vacuums"] if float(v["price_low"]) < band_high and float(v["price_high"]) > band_low]
    assert inside and any(v["severity"] == "Critical" for v in inside), out["vacuums"]
    for kind in ("long_stop", "short_stop"):
        price = float(out["stop_advice"][kind]["price"])
        assert not any(float(v["price_low"]) <= price < float(v["price_high"]) for v in out["vacuums"])


def test_scenario_specs():
    assert parse_scenario_spec("absorption:SIMUSDT:hits_per_s=8,hit_qty=2.5") == (
        "absorption", "SIMUSDT", {"hits_per_s": 8, "hit_qty": "2.5"})
    assert parse_scenario_spec("calm:BTCUSDT") == ("calm", "BTCUSDT", {})
    for bad in ("calm", "calm:", "calm:X:rate", "calm:X:=3"):
        with pytest.raises(InvalidInputError):
            parse_scenario_spec(bad)
    with pytest.raises(InvalidInputError, match="hit_qty"):
        make_scenario("absorption", "SIMUSDT", hit_qty="0")
