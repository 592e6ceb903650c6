"""``python -m obcore.store`` stats / export / import."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson

from obcore.store import SnapshotStore
from obcore.store.__main__ import main
from obcore.store._synthetic import synthetic_snapshots

START = 1_723_161_600
ETH = sorted((Path(__file__).parents[3] / "data" / "binance-ethusdt-2024-08-09").glob("*.gz"))


def _fill(path, seconds=120):
    snapshots = list(synthetic_snapshots("BTCUSDT", START, seconds, seed=3))
    with SnapshotStore.open(path, block_seconds=60) as store:
        for snapshot in snapshots:
            store.put(snapshot)
    return snapshots


def test_stats_reports_symbols_range_and_size(tmp_path, capsys):
    _fill(tmp_path / "db")
    assert main(["stats", "--data-dir", str(tmp_path / "db")]) == 0
    info = orjson.loads(capsys.readouterr().out)
    btc = info["symbols"]["BTCUSDT"]
    assert (btc["snapshots"], btc["first_s"], btc["last_s"], btc["blocks"]) == (120, START, START + 119, 2)
    assert info["max_bytes"] == 1 << 30 and info["size_bytes"] > 0
    assert 0 < info["value_bytes_per_snapshot"] < 200


def test_export_writes_exact_decimal_ndjson(tmp_path):
    snapshots = _fill(tmp_path / "db")
    out = tmp_path / "btc.ndjson"
    args = ["export", "--data-dir", str(tmp_path / "db"), "--symbol", "btcusdt", "--start", str(START + 10),
            "--end", str(START + 20), "--out", str(out)]
    assert main(args) == 0
    lines = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert [line["time_s"] for line in lines] == list(range(START + 10, START + 20))
    first, source = lines[0], snapshots[10]
    assert first["bids"][0] == [f"{source.bid_prices[0] / 100:.2f}".rstrip("0").rstrip("."),
                                f"{source.bid_qtys[0] / 10**5:.5f}".rstrip("0").rstrip(".")]
    assert len(first["asks"]) == len(source.ask_prices)
    assert first["counters"]["messages"] == int(source.counters[-1])
    assert first["state"] == "LIVE"


def test_errors_are_reported_with_their_code(tmp_path, capsys):
    assert main(["stats", "--data-dir", str(tmp_path / "missing")]) == 2
    assert "error (store_error)" in capsys.readouterr().err


def test_import_recording_then_stats_in_a_subprocess(tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    data = str(tmp_path / "eth")
    run = subprocess.run([sys.executable, "-m", "obcore.store", "import", "--data-dir", data, *map(str, ETH)],
                         capture_output=True, text=True, timeout=120, env=env)
    assert run.returncode == 0, run.stderr
    stored, _, fed = run.stderr.split()[1:4]
    assert stored == fed and int(stored) > 600  # ~11 minutes of ETHUSDT, every second stored
    run = subprocess.run([sys.executable, "-m", "obcore.store", "stats", "--data-dir", data],
                         capture_output=True, text=True, timeout=60, env=env)
    info = orjson.loads(run.stdout)
    assert info["symbols"]["ETHUSDT"]["snapshots"] == int(stored)


def test_stats_and_export_find_the_servers_store_under_snapshots(tmp_path, capsys):
    # `obmcp serve --data-dir D` keeps its store in D/snapshots.
    _fill(tmp_path / "server" / "snapshots", seconds=5)
    data = str(tmp_path / "server")
    assert main(["stats", "--data-dir", data]) == 0
    assert orjson.loads(capsys.readouterr().out)["symbols"]["BTCUSDT"]["snapshots"] == 5
    out = tmp_path / "btc.ndjson"
    assert main(["export", "--data-dir", data, "--symbol", "BTCUSDT", "--out", str(out)]) == 0
    assert len(out.read_bytes().splitlines()) == 5


def test_missing_store_names_both_places(tmp_path, capsys):
    data = tmp_path / "empty"
    data.mkdir()
    assert main(["stats", "--data-dir", str(data)]) == 2
    err = capsys.readouterr().err
    assert str(data) in err and str(data / "snapshots") in err


def test_export_validates_the_symbol_and_lists_the_stored_ones(tmp_path, capsys):
    _fill(tmp_path / "db", seconds=3)
    base = ["export", "--data-dir", str(tmp_path / "db"), "--out", str(tmp_path / "x.ndjson")]
    assert main([*base, "--symbol", "eth"]) == 2
    err = capsys.readouterr().err
    assert "'ETH'" in err and "not in the store" in err and "BTCUSDT" in err
    assert main([*base, "--symbol", "btc-usdt"]) == 2
    assert "'BTC-USDT'" in capsys.readouterr().err
    assert not (tmp_path / "x.ndjson").exists()


def test_export_to_a_closed_pipe_exits_0_quietly(tmp_path):
    _fill(tmp_path / "db", seconds=600)  # far more than a pipe buffer holds
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    with subprocess.Popen([sys.executable, "-m", "obcore.store", "export", "--data-dir", str(tmp_path / "db"),
                           "--symbol", "BTCUSDT", "--out", "-"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env) as proc:
        first = proc.stdout.readline()
        proc.stdout.close()  # like `head -1`
        err = proc.stderr.read().decode()
        code = proc.wait(timeout=60)
    assert orjson.loads(first)["symbol"] == "BTCUSDT"
    assert code == 0, err
    assert "Traceback" not in err and "BrokenPipe" not in err


def test_import_takes_directories_and_names_a_symbol_it_could_not_store(tmp_path, capsys):
    data = Path(__file__).parents[3] / "data"
    store_dir = str(tmp_path / "mixed")
    # ETHUSDT has a REST snapshot; the BTCUSDT recording has none, so its book is never known.
    assert main(["import", "--data-dir", store_dir, str(data / "binance-ethusdt-2024-08-09"),
                 str(data / "binance-btcusdt-2023-04-05")]) == 0
    err = capsys.readouterr().err
    assert "note: nothing stored for BTCUSDT" in err and "ETHUSDT" not in err.split("note:")[1]
    assert main(["stats", "--data-dir", store_dir]) == 0
    info = orjson.loads(capsys.readouterr().out)
    eth = info["symbols"]["ETHUSDT"]
    assert list(info["symbols"]) == ["ETHUSDT"]
    # a week of one ETHUSDT-like symbol at its measured rate
    assert info["projected_bytes_at_retention"] == round(eth["value_bytes"] / eth["snapshots"] * 7 * 86_400)
    assert info["projected_fits_cap"] is True
    assert main(["import", "--data-dir", store_dir, str(tmp_path / "nothing-here")]) == 2
    assert "nothing-here" in capsys.readouterr().err


def test_stats_says_when_the_retention_will_not_fit_the_cap(tmp_path, capsys):
    # 8 MiB: above what a fresh store reports for its memtable arena alone (~1 MiB, which made
    # a 1 MiB cap refuse puts after a few dozen rows), far below 7 days at ~50 B a second.
    with SnapshotStore.open(tmp_path / "tight", max_bytes=8 << 20) as store:
        for snapshot in synthetic_snapshots("BTCUSDT", 1_723_161_600, 600, seed=3):
            assert store.put(snapshot)
        store.flush()
    assert main(["stats", "--data-dir", str(tmp_path / "tight")]) == 0
    info = orjson.loads(capsys.readouterr().out)
    assert info["max_bytes"] == 8 << 20  # the cap the writer recorded, not the default
    assert info["projected_fits_cap"] is False  # 8 MiB cannot hold 7 days at ~50 B a second
    assert info["projected_bytes_at_retention"] > info["max_bytes"]


def test_an_import_keeps_the_limits_the_server_set(tmp_path, capsys):
    server_limits = {"retention_s": 30 * 86_400, "max_bytes": 4 << 30}
    with SnapshotStore.open(tmp_path / "db", **server_limits):
        pass
    with SnapshotStore.open(tmp_path / "db") as store:  # what `import` does: no limits given
        assert (store.retention_s, store.max_bytes) == (30 * 86_400, 4 << 30)
    assert main(["stats", "--data-dir", str(tmp_path / "db")]) == 0
    info = orjson.loads(capsys.readouterr().out)
    assert (info["retention_s"], info["max_bytes"]) == (30 * 86_400, 4 << 30)
    with SnapshotStore.open(tmp_path / "db", max_bytes=2 << 30) as store:  # a new cap is recorded
        assert (store.retention_s, store.max_bytes) == (30 * 86_400, 2 << 30)
    with SnapshotStore.open(tmp_path / "db", read_only=True, warm=False) as store:
        assert store.max_bytes == 2 << 30


def test_import_and_the_server_use_the_same_store_for_one_data_dir(tmp_path, capsys):
    # issue 10 item 5: `import --data-dir D` wrote to D while `obmcp serve --data-dir D` writes
    # to D/snapshots, so stats then showed only one of them. One rule: D/snapshots.
    _fill(tmp_path / "d" / "snapshots", seconds=5)  # what the server left behind
    data = str(tmp_path / "d")
    assert main(["import", "--data-dir", data, str(ETH[0]), str(ETH[1])]) == 0
    capsys.readouterr()
    assert not (tmp_path / "d" / "CURRENT").exists()
    assert main(["stats", "--data-dir", data]) == 0
    symbols = orjson.loads(capsys.readouterr().out)["symbols"]
    assert sorted(symbols) == ["BTCUSDT", "ETHUSDT"] and symbols["BTCUSDT"]["snapshots"] == 5


def test_import_into_a_new_data_dir_creates_d_snapshots(tmp_path, capsys):
    data = tmp_path / "fresh"
    assert main(["import", "--data-dir", str(data), str(ETH[0]), str(ETH[1])]) == 0
    assert (data / "snapshots" / "CURRENT").is_file() and not (data / "CURRENT").exists()


def test_import_leaves_owner_only_files(tmp_path, capsys):
    # issue 10 item 6: the server's store files are 0600; import left 0644 ones (000008.log, *.sst).
    old = os.umask(0o022)
    try:
        assert main(["import", "--data-dir", str(tmp_path / "d"), str(ETH[0]), str(ETH[1])]) == 0
    finally:
        os.umask(old)
    store = tmp_path / "d" / "snapshots"
    modes = {entry.name: oct(entry.stat().st_mode & 0o777) for entry in os.scandir(store) if entry.is_file()}
    assert modes and set(modes.values()) == {"0o600"}, modes
    assert oct(store.stat().st_mode & 0o777) == "0o700"
