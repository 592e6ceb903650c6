"""Offline charts: ``--png`` on ``python -m obcore.analytics`` and ``python -m obcore.charts heatmap``."""

from __future__ import annotations

from pathlib import Path

import pytest

from obcore.analytics.__main__ import main as analytics_main
from obcore.charts import png_size
from obcore.charts.__main__ import main as charts_main

DATA = Path(__file__).resolve().parents[3] / "src" / "obmcp" / "data" / "binance-ethusdt-2024-08-09"
FILES = [str(DATA / "ethusdt_20240808.gz"), str(DATA / "ethusdt_20240809.gz")]


def _check(path) -> None:
    data = path.read_bytes()
    assert png_size(data) == (800, 500) and len(data) <= 200 * 1024


def test_volume_profile_png(tmp_path, capsys):
    out = tmp_path / "profile.png"
    assert analytics_main(["volume-profile", *FILES, "--tick-size", "0.01", "--png", str(out)]) == 0
    assert '"poc"' in capsys.readouterr().out
    _check(out)


def test_order_flow_png_of_a_recording(tmp_path):
    out = tmp_path / "flow.png"
    assert analytics_main(["order-flow", *FILES, "--window", "300", "--png", str(out)]) == 0
    _check(out)


def test_heatmap_png_of_a_recording(tmp_path, capsys):
    out = tmp_path / "heatmap.png"
    assert charts_main(["heatmap", *FILES, "--png", str(out), "--from", "2024-08-09T00:00:00Z"]) == 0
    _check(out)
    assert "bytes" in capsys.readouterr().out


def test_heatmap_of_a_window_outside_the_recording_is_an_error(tmp_path, capsys):
    out = tmp_path / "none.png"
    assert charts_main(["heatmap", *FILES, "--png", str(out), "--from", "2025-01-01T00:00:00Z"]) == 2
    assert "no snapshot of ETHUSDT" in capsys.readouterr().err and not out.exists()


def test_heatmap_needs_png(capsys):
    with pytest.raises(SystemExit):
        charts_main(["heatmap", *FILES])
