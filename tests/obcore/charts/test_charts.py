"""obcore.charts: each PNG decodes, is 800×500 and ≤ 200 KB, and shows what it claims."""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import pytest

from obcore.analytics.flow import stored_order_flow, trade_flow
from obcore.analytics.profile import volume_profile
from obcore.analytics.trades import TradeArrays
from obcore.charts import (AXES_RECT, HEIGHT_PX, POC_COLOUR, WIDTH_PX, depth_heatmap_png, flow_counters_from_store,
                           order_flow_png, png_size, price_to_pixel_row, volume_profile_png)
from obcore.charts.heatmap import depth_grid
from obcore.errors import InsufficientDataError, InvalidInputError

START_S = 1_723_161_600
MAX_BYTES = 200 * 1024


def _decode(png: bytes) -> np.ndarray:
    from matplotlib.image import imread

    assert png_size(png) == (WIDTH_PX, HEIGHT_PX)
    assert len(png) <= MAX_BYTES
    pixels = imread(io.BytesIO(png), format="png")
    assert pixels.shape[:2] == (HEIGHT_PX, WIDTH_PX)
    return (pixels[:, :, :3] * 255).round().astype(int)


def _rgb(hex_colour: str) -> np.ndarray:
    return np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)])


def _trades(n: int = 5000, seed: int = 3) -> TradeArrays:
    rng = np.random.default_rng(seed)
    price = (6_000_000 + np.round(rng.normal(0, 400, n))).astype(np.int64)  # cents, around 60000.00
    price[: n // 3] = 6_000_000 + 250  # a clear POC at 60002.50
    rng.shuffle(price)
    time_ms = np.sort(rng.integers(START_S * 1000, (START_S + 3600) * 1000, n)).astype(np.int64)
    return TradeArrays(price=price, qty=rng.integers(1, 100_000, n).astype(np.int64), time_ms=time_ms,
                       side=np.where(rng.random(n) < 0.5, 1, -1).astype(np.int8),
                       trade_id=np.arange(n, dtype=np.int64), price_scale=2, qty_scale=5)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    from obcore.store import SnapshotStore
    from obcore.store._synthetic import synthetic_snapshots

    db = SnapshotStore.open(tmp_path_factory.mktemp("charts") / "db", maintenance_interval_s=3600.0)
    for snap in synthetic_snapshots("BTCUSDT", START_S, 1800, seed=5):
        db.put(snap)
    db.flush()
    yield db
    db.close()


def test_import_obcore_and_analytics_do_not_import_matplotlib():
    code = ("import sys, obcore, obcore.analytics, obcore.charts, obcore.analytics.__main__\n"
            "assert 'matplotlib' not in sys.modules, sorted(m for m in sys.modules if 'matplotlib' in m)[:3]\n")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_profile_png_has_the_poc_row_in_the_poc_colour():
    profile = volume_profile(_trades(), "0.01")
    png = volume_profile_png(profile, "BTCUSDT")
    pixels = _decode(png)
    ps = 10 ** profile.price_scale
    low, high = profile.first_price_level / ps, profile.price_level(profile.n_bins) / ps
    left = int(AXES_RECT[0] * WIDTH_PX) + 2
    right = int((AXES_RECT[0] + AXES_RECT[2]) * WIDTH_PX) - 2
    poc = _rgb(POC_COLOUR)

    def poc_pixels(row: int) -> int:
        return int((np.abs(pixels[row, left:right] - poc).sum(axis=1) <= 30).sum())

    poc_row = price_to_pixel_row((profile.poc_price + profile.bin_size / 2) / ps, low, high)
    assert profile.poc_price == 6_000_000 + 250 - (6_000_000 + 250 - profile.first_price_level) % profile.bin_size
    assert poc_pixels(poc_row) > 0.9 * (right - left)  # the POC line crosses the axes
    # a bin well away from the POC holds no POC colour
    other = (profile.poc_index + profile.n_bins // 3) % profile.n_bins
    other_row = price_to_pixel_row((profile.price_level(other) + profile.bin_size / 2) / ps, low, high)
    assert abs(other_row - poc_row) > 20
    assert poc_pixels(other_row) == 0


def test_profile_png_marks_the_last_price():
    profile = volume_profile(_trades(), "0.01")
    with_last = volume_profile_png(profile, "BTCUSDT", last_price=profile.price_level(2))
    assert _decode(with_last).shape == (HEIGHT_PX, WIDTH_PX, 3)
    assert with_last != volume_profile_png(profile, "BTCUSDT")


def test_profile_png_refuses_something_else():
    with pytest.raises(InvalidInputError, match="VolumeProfile"):
        volume_profile_png(object(), "BTCUSDT")


def test_heatmap_png_of_30_minutes(store):
    arrays = store.range("BTCUSDT", START_S, START_S + 1800)
    png = depth_heatmap_png(arrays, START_S, 1800)
    pixels = _decode(png)
    # resting size is drawn: the axes hold many distinct colours (a colour map, not one fill)
    left, bottom, width, height = AXES_RECT
    inner = pixels[int((1 - bottom - height) * HEIGHT_PX) + 5 : int((1 - bottom) * HEIGHT_PX) - 5,
                   int(left * WIDTH_PX) + 5 : int((left + width) * WIDTH_PX) - 5]
    assert len({tuple(p) for p in inner.reshape(-1, 3)[::7]}) > 50


def test_heatmap_grid_sums_the_resting_quantity(store):
    arrays = store.range("BTCUSDT", START_S, START_S + 60)
    grid, low, step = depth_grid(arrays, START_S, 60)
    for column in (0, 30, 59):
        row = int(np.flatnonzero(arrays.time_s == START_S + column)[0])
        total = int(arrays.bid_qtys[row].sum() + arrays.ask_qtys[row].sum())
        assert int(grid[:, column].sum()) == total
        best = int(arrays.bid_prices[row, 0])
        assert grid[(best - low) // step, column] >= arrays.bid_qtys[row, 0]


def test_heatmap_of_an_empty_window_is_an_error(store):
    empty = store.range("BTCUSDT", START_S - 7200, START_S - 3600)
    with pytest.raises(InsufficientDataError, match="no stored snapshot"):
        depth_heatmap_png(empty, START_S - 7200, 3600)


def test_heatmap_of_a_desynced_window_is_an_error(store):
    import dataclasses

    from obcore.store.snapshot import STATE_CODES

    arrays = store.range("BTCUSDT", START_S, START_S + 60)
    resyncing = dataclasses.replace(arrays, state=np.full_like(arrays.state, STATE_CODES["RESYNCING"]))
    with pytest.raises(InsufficientDataError, match="no LIVE snapshot"):
        depth_heatmap_png(resyncing, START_S, 60)


def test_order_flow_png_from_stored_counters(store):
    flow = stored_order_flow(store, "BTCUSDT", (START_S + 600) * 1000, 120)
    counters = flow_counters_from_store(store, "BTCUSDT", flow)
    assert counters.shape[1] == 120
    from obcore import counters as f

    assert int(counters[f.BID_ADDITIONS].sum()) == flow.bid_additions
    assert int(counters[f.ASK_CANCELLATIONS].sum()) == flow.ask_cancellations
    png = order_flow_png(flow, counters, "BTCUSDT")
    _decode(png)


def test_order_flow_png_of_an_empty_window_is_an_error(store):
    flow = stored_order_flow(store, "BTCUSDT", (START_S - 3600) * 1000, 60)
    counters = flow_counters_from_store(store, "BTCUSDT", flow)
    with pytest.raises(InsufficientDataError, match="no data in the 60-s window"):
        order_flow_png(flow, counters, "BTCUSDT")


def test_order_flow_png_checks_the_counters_shape():
    flow = trade_flow(_trades(), 60)
    with pytest.raises(InvalidInputError, match="shape"):
        order_flow_png(flow, np.zeros((3, 60)), "BTCUSDT")


def test_png_size_refuses_non_png():
    with pytest.raises(InvalidInputError, match="not a PNG"):
        png_size(b"GIF89a" + b"\0" * 30)
