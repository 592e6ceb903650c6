"""Trade files: every accepted layout gives the same trades; every bad file is named with
its line; and the offline CLI's answers equal the independent references."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from obcore.analytics import __main__ as cli
from obcore.analytics.tradefiles import detect_format, read_trade_file, read_trades
from obcore.errors import InvalidInputError

from . import reference
from .conftest import BTC_FILE, ETH_FILES, MULTI_WS

HEADER = "agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker,is_best_match"


@pytest.fixture(scope="module")
def eth_raw():
    return [t for path in ETH_FILES for t in reference.raw_trades(path)]


def _agg(t: dict) -> dict:
    """A REST aggTrade row for a recorded @trade (a = f = l = t)."""
    return {"a": t["t"], "p": t["p"], "q": t["q"], "f": t["t"], "l": t["t"], "T": t["T"], "m": t["m"], "M": True}


def _csv(rows, header: bool, micro: bool) -> str:
    lines = [HEADER] if header else []
    for r in rows:
        time = r["T"] * 1000 + 123 if micro else r["T"]
        lines.append(f"{r['a']},{r['p']},{r['q']},{r['f']},{r['l']},{time},{'True' if r['m'] else 'False'},True")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def layouts(tmp_path_factory, eth_raw):
    root = tmp_path_factory.mktemp("trades")
    rows = [_agg(t) for t in eth_raw]
    files = {
        "csv_header_ms": root / "ETHUSDT-aggTrades-a.csv",
        "csv_bare_us": root / "ETHUSDT-aggTrades-b.csv",
        "csv_gz": root / "ETHUSDT-aggTrades-c.csv.gz",
        "json": root / "trades.json",
        "jsonl": root / "trades.jsonl",
        "ccxt": root / "ccxt.json",
    }
    files["csv_header_ms"].write_text(_csv(rows, True, False))
    files["csv_bare_us"].write_text(_csv(rows, False, True))
    with gzip.open(files["csv_gz"], "wt") as handle:
        handle.write(_csv(rows, False, False))
    files["json"].write_text(json.dumps(rows))
    files["jsonl"].write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    files["ccxt"].write_text(json.dumps([{"info": r, "id": str(r["a"]), "price": float(r["p"])} for r in rows]))
    return files


def test_detected_formats(layouts):
    assert {name: detect_format(path) for name, path in layouts.items()} == {
        "csv_header_ms": "csv", "csv_bare_us": "csv", "csv_gz": "csv", "json": "json", "jsonl": "jsonl",
        "ccxt": "json"}
    assert detect_format(ETH_FILES[0]) == "recording" and detect_format(MULTI_WS[0]) == "recording"


def test_every_layout_reads_the_same_trades(layouts, eth_raw):
    recorded = read_trades(ETH_FILES)
    assert len(recorded) == len(eth_raw)
    for name, path in layouts.items():
        trades = read_trade_file(path)
        assert (trades.price_scale, trades.qty_scale) == (recorded.price_scale, recorded.qty_scale), name
        for column in ("price", "qty", "time_ms", "side", "trade_id"):
            assert np.array_equal(getattr(trades, column), getattr(recorded, column)), (name, column)
    # the exact values, against the raw strings
    t = recorded
    first = eth_raw[0]
    assert Decimal(int(t.price[0])) / 10**t.price_scale == Decimal(first["p"])
    assert int(t.side[0]) == (-1 if first["m"] else 1)


def test_daily_files_join_without_double_counting(layouts):
    both = read_trades([layouts["csv_header_ms"], layouts["json"]])
    assert len(both) == len(read_trade_file(layouts["json"]))


def test_multi_symbol_recording_needs_a_symbol():
    with pytest.raises(InvalidInputError, match="several symbols .*--symbol"):
        read_trade_file(MULTI_WS[0])
    one = read_trade_file(MULTI_WS[0], "SWRVBUSD")
    raw = [t for t in reference.raw_trades(MULTI_WS[0]) if t["s"] == "SWRVBUSD"]
    assert len(one) == len(raw) > 0
    assert one.trade_id.tolist() == sorted(t["a"] for t in raw)


@pytest.mark.parametrize("content, match", [
    ("", r":1: empty file"),
    ("1,2.0,1.0,1,1,1700000000000,True,True\nx,y\n", r":2: expected 7 or 8 columns"),
    ("1,2.0,1.0,1,1,1700000000000,maybe,True\n", r":1: is_buyer_maker must be true or false"),
    ("1,2.0,1.0,1,1,soon,True,True\n", r":1: agg_trade_id and transact_time must be integers"),
    ("1,abc,1.0,1,1,1700000000000,True,True\n", r":1: bad aggTrade row"),
    ("id,price\n", r":1: header .* lacks columns"),
    ('{"a":1,"p":"1.0","q":"1.0","T":5,"m":false}\n{"a":2,"p":"1.0"}\n', r":2: aggTrade object lacks \['q', 'T', 'm'\]"),
    ('{"a":1,"p":"1.0","q":"1.0","T":5,"m":false}\n{oops\n', r":2: not valid JSON"),
    ('[{"a":1,"p":"1.0","q":"1.0","T":5,"m":"no"}]', r"item 0: 'm' must be true or false"),
    ('[{"a":1,"p":1.5,"q":"1.0","T":5,"m":true}]', r"item 0: p and q must be decimal strings"),
    ('[1, 2]', r"item 0: expected an aggTrade object"),
    ('[{"a":1', r":1: not valid JSON"),
    ("hello world\n", r":1: not an aggTrades CSV, JSON or recording line"),
    ("1723161254340863867 {not json\n", r":1: unreadable line"),
])
def test_bad_files_name_file_and_line(tmp_path, content, match):
    path = tmp_path / "bad.txt"
    path.write_text(content)
    with pytest.raises(InvalidInputError, match=match) as info:
        read_trade_file(path)
    assert str(path) in str(info.value)


def test_missing_file_and_no_trades(tmp_path):
    with pytest.raises(InvalidInputError, match="does not exist"):
        read_trade_file(tmp_path / "nope.csv")
    only_depth = tmp_path / "depth.txt"
    only_depth.write_text('1723161254340863867 {"stream":"ethusdt@depth@100ms","data":{"e":"depthUpdate","E":1,'
                          '"s":"ETHUSDT","U":1,"u":2,"b":[],"a":[]}}\n')
    with pytest.raises(InvalidInputError, match="no trades found"):
        read_trade_file(only_depth)


# ------------------------------------------------------------------------ CLI
def _run(argv, capsys):
    status = cli.main(argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_cli_profile_equals_the_reference_on_every_layout(layouts, eth_raw, capsys):
    ref = reference.profile([(Decimal(t["p"]), Decimal(t["q"])) for t in eth_raw], Decimal("0.01"))
    for path in list(layouts.values()) + [None]:
        files = [str(p) for p in ETH_FILES] if path is None else [str(path)]
        status, out, err = _run(["volume-profile", *files, "--tick-size", "0.01"], capsys)
        assert status == 0, err
        answer = json.loads(out)
        assert Decimal(answer["poc"]["price_level"]) == ref["poc"]
        assert Decimal(answer["value_area"]["val"]) == ref["val"]
        assert Decimal(answer["value_area"]["vah"]) == ref["vah"]
        assert [(Decimal(v["price_low"]), Decimal(v["price_high"])) for v in answer["liquidity_vacuums"]] == [
            (v["low"], v["high"]) for v in ref["vacuums"]]
        assert answer["trade_count"] == len(eth_raw) and len(answer["heaviest_bins"]) == 20


def test_cli_profile_window_and_full(layouts, eth_raw, capsys):
    start, end = eth_raw[2000]["T"], eth_raw[9000]["T"]
    inside = [t for t in eth_raw if start <= t["T"] < end]
    ref = reference.profile([(Decimal(t["p"]), Decimal(t["q"])) for t in inside], Decimal("0.01"), Decimal("0.1"))
    status, out, err = _run(["volume-profile", str(layouts["csv_bare_us"]), "--tick-size", "0.01", "--bin-size",
                             "0.1", "--from", str(start), "--to", str(end), "--detail", "full"], capsys)
    assert status == 0, err
    answer = json.loads(out)
    assert answer["trade_count"] == len(inside)
    assert [Decimal(b["volume"]) for b in answer["histogram"]] == ref["volumes"]


def test_cli_order_flow_cvd_equals_the_sum_over_m_flags(layouts, eth_raw, capsys):
    expected = sum((-Decimal(t["q"]) if t["m"] else Decimal(t["q"])) for t in eth_raw)
    status, out, err = _run(["order-flow", str(layouts["jsonl"])], capsys)
    assert status == 0, err
    answer = json.loads(out)
    assert Decimal(answer["cumulative_delta"]) == expected
    assert Decimal(answer["cvd"][-1]) == expected
    assert answer["taker_buy_count"] + answer["taker_sell_count"] == len(eth_raw)
    assert answer["data_quality"]["status"] == "degraded"  # trades only: said so
    # over the recording the depth stream is replayed too
    status, out, err = _run(["order-flow", *map(str, ETH_FILES), "--window", "60"], capsys)
    answer = json.loads(out)
    assert status == 0 and answer["symbol"] == "ETHUSDT" and answer["bid_additions"] > 0
    assert answer["window_duration_secs"] == 60 and len(answer["cvd"]) == 60


@pytest.mark.parametrize("argv, match", [
    (["volume-profile", "missing.csv", "--tick-size", "0.01"], "does not exist"),
    (["volume-profile", str(BTC_FILE), "--tick-size", "0"], "tick_size must be > 0"),
    (["volume-profile", str(MULTI_WS[0]), "--tick-size", "0.01", "--symbol", "VETETH"], "minimum 1000 trades"),
    (["order-flow", str(MULTI_WS[0])], "several symbols"),
    (["order-flow", str(MULTI_WS[0]), "--symbol", "NOPEUSDT"], "not in the recordings"),
])
def test_cli_errors_exit_2(argv, match, capsys):
    status, out, err = _run(argv, capsys)
    assert status == 2 and out == "" and err.startswith("error: ") and __import__("re").search(match, err)


def test_cli_bad_arguments_exit_2():
    for argv in (["volume-profile", "x.csv"], ["order-flow", "x", "--window", "0"],
                 ["volume-profile", "x", "--tick-size", "0.01", "--from", "soon"]):
        with pytest.raises(SystemExit) as info:
            cli.main(argv)
        assert info.value.code == 2


def test_cli_runs_as_a_module(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("1,2.0,1.0,1,1,1700000000000,True,True\n1,2,3\n")
    done = subprocess.run([sys.executable, "-m", "obcore.analytics", "order-flow", str(path)],
                          capture_output=True, text=True, timeout=120,
                          env={**__import__("os").environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3] / "src")})
    assert done.returncode == 2 and f"{path}:2:" in done.stderr
