"""The real-data oracle: our rebuilt book must equal Binance's own bookTicker.

Binance's ``@bookTicker`` carries the update id ``u``. Wherever a bookTicker's ``u`` equals
the ``u`` of a diff we applied, its best bid/ask price and size must equal our book's —
for every such pair (not a sample).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from obcore.numbers import format_decimal, parse_decimal
from obcore.recording import merge_by_time
from obcore.replay import l1_record, replay

from ..conftest import SHARED, shared_path


def _book_tickers(paths) -> dict[tuple[str, int], dict]:
    tickers = {}
    for message in merge_by_time(paths):
        if message.kind == "bookTicker":
            data = message.payload
            tickers[(data["s"], int(data["u"]))] = data
    return tickers


def _normal(text: str) -> str:
    return format_decimal(parse_decimal(text, 12), 12)


def _check_against_book_tickers(paths) -> tuple[int, int]:
    tickers = _book_tickers(paths)
    matched = compared = 0
    mismatches = []
    for step in replay(paths):
        if not step.applied:
            continue
        session = step.session
        ticker = tickers.get((session.symbol, session.last_update_id))
        if ticker is None:
            continue
        compared += 1
        ours = l1_record(session)
        theirs = {
            "bid": _normal(ticker["b"]),
            "bid_qty": _normal(ticker["B"]),
            "ask": _normal(ticker["a"]),
            "ask_qty": _normal(ticker["A"]),
        }
        if all(ours[key] == theirs[key] for key in theirs):
            matched += 1
        else:
            mismatches.append((session.symbol, session.last_update_id, ours, theirs))
    assert not mismatches, mismatches[:3]
    return matched, compared


def test_ethusdt_every_book_ticker_matches(eth_files):
    matched, compared = _check_against_book_tickers(eth_files)
    # The shared data README counts 1,056 such pairs for this recording.
    assert compared == matched == 1056


@pytest.mark.parametrize("month", ["2021-04", "2021-08", "2021-10"])
def test_cryptofeed_symbols_every_book_ticker_matches(month):
    http = shared_path("binance-multi-2021", month, "BINANCE.http.0.0")
    ws = shared_path("binance-multi-2021", month, "BINANCE.ws.1.0")
    matched, compared = _check_against_book_tickers([http, ws])
    assert compared == matched
    assert compared > 0


def test_cryptofeed_every_symbol_synced():
    for month in ("2021-04", "2021-08", "2021-10"):
        http = shared_path("binance-multi-2021", month, "BINANCE.http.0.0")
        ws = shared_path("binance-multi-2021", month, "BINANCE.ws.1.0")
        sessions = {}
        for _ in replay([http, ws], sessions=sessions):
            pass
        assert sessions, month
        for symbol, session in sessions.items():
            assert session.is_synced, (month, symbol, session.status())
            assert session.gap_count == 0


def test_replay_cli_prints_l1_lines_and_summary(eth_files):
    result = subprocess.run(
        [sys.executable, "-m", "obcore.replay", *map(str, eth_files), "--symbol", "ETHUSDT", "--emit", "l1"],
        capture_output=True,
        check=True,
        timeout=120,
    )
    lines = result.stdout.splitlines()
    assert len(lines) == 6468
    first = orjson.loads(lines[0])
    assert first == {
        "symbol": "ETHUSDT",
        "u": 35346513514,
        "bid": "2683.8",
        "bid_qty": "3.0292",
        "ask": "2683.81",
        "ask_qty": "31.4395",
    }
    assert b"events applied 6468" in result.stderr
    assert b"gaps 0, resyncs 0" in result.stderr


def test_replay_cli_reports_missing_file(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "obcore.replay", str(tmp_path / "nope.gz")], capture_output=True, timeout=60
    )
    assert result.returncode == 2
    assert b"nope.gz" in result.stderr


def test_replay_cli_takes_a_directory_and_explains_a_missing_snapshot():
    folder = shared_path("binance-multi-2021", "2021-10")
    result = subprocess.run(
        [sys.executable, "-m", "obcore.replay", str(folder), "--emit", "none"], capture_output=True, timeout=120
    )
    assert result.returncode == 0 and b"NKNUSDT: events applied 149" in result.stderr
    no_snapshot = shared_path("binance-btcusdt-2023-04-05", "btcusdt_20230405.dat.gz")
    result = subprocess.run(
        [sys.executable, "-m", "obcore.replay", str(no_snapshot), "--emit", "none"], capture_output=True, timeout=120
    )
    assert result.returncode == 0
    assert b"no depth snapshot for BTCUSDT" in result.stderr
