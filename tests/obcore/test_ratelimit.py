"""Weight accounting: endpoint weights and waiting for the minute to roll over."""

import pytest

from obcore.errors import InvalidInputError
from obcore.ratelimit import WeightTracker, depth_weight, endpoint_weight, ticker_24hr_weight


@pytest.mark.parametrize(("limit", "weight"), [(1, 5), (100, 5), (101, 25), (500, 25), (501, 50), (1000, 50), (1001, 250), (5000, 250)])
def test_depth_weight(limit, weight):
    assert depth_weight(limit) == weight
    assert endpoint_weight("GET", "/api/v3/depth", {"limit": limit}) == weight


def test_variable_weights():
    assert ticker_24hr_weight("BTCUSDT", None) == 2
    assert ticker_24hr_weight(None, None) == 80
    assert ticker_24hr_weight(None, ["A"] * 20) == 2
    assert ticker_24hr_weight(None, ["A"] * 21) == 40
    assert ticker_24hr_weight(None, ["A"] * 101) == 80
    assert endpoint_weight("GET", "/api/v3/ticker/24hr", {"symbols": '["AB","CD"]'}) == 2
    assert endpoint_weight("GET", "/api/v3/myTrades", {"orderId": 3}) == 5
    assert endpoint_weight("GET", "/api/v3/myTrades", {}) == 20
    assert endpoint_weight("GET", "/api/v3/openOrders", {}) == 80
    assert endpoint_weight("GET", "/api/v3/openOrders", {"symbol": "AB"}) == 6
    assert endpoint_weight("POST", "/api/v3/order/test", {"computeCommissionRates": "true"}) == 20
    assert endpoint_weight("GET", "/api/v3/aggTrades", {}) == 4
    with pytest.raises(InvalidInputError, match="/api/v3/nothing"):
        endpoint_weight("GET", "/api/v3/nothing", {})


class FakeClock:
    def __init__(self, ms: float):
        self.ms = ms

    def __call__(self) -> float:
        return self.ms


def test_waits_until_the_minute_rolls_over():
    clock = FakeClock(120_000 + 45_000)  # 45 s into a minute
    tracker = WeightTracker(100, clock_ms=clock)
    tracker.reserve(60)
    assert tracker.delay_for(40) == 0.0
    delay = tracker.delay_for(41)
    assert 15.0 < delay <= 15.1  # until the next minute, plus a small margin
    clock.ms = 180_000 + 1
    assert tracker.used == 0
    assert tracker.delay_for(100) == 0.0


def test_header_is_authoritative_but_never_lowers_within_a_minute():
    clock = FakeClock(0)
    tracker = WeightTracker(6000, clock_ms=clock)
    tracker.observe("5990")
    assert tracker.used == 5990
    assert tracker.delay_for(20) > 0
    tracker.reserve(5)
    tracker.observe("10")
    assert tracker.used == 5995
    tracker.observe("garbage")
    assert tracker.used == 5995
