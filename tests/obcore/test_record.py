"""Recorder: record from the emulator, replay the file, get the same books."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from obcore.emulator import Emulator
from obcore.record import main, record
from obcore.numbers import format_decimal
from obcore.recording import read_messages
from obcore.replay import replay
from obcore.session import BookSession, SyncState

ROOT = Path(__file__).resolve().parents[2]
ETH = ROOT / "data" / "binance-ethusdt-2024-08-09" / "ethusdt_20240808.gz"
MULTI = Path("/work/shared/data/binance-multi-2021/2021-04")


def replayed_books(path: Path) -> dict[str, BookSession]:
    sessions: dict[str, BookSession] = {}
    for _ in replay([path], sessions=sessions):
        pass
    return sessions


def as_levels(session: BookSession):
    book = session.book
    bid_p, bid_q, ask_p, ask_q = book.top(max(1, book.bid_count, book.ask_count))
    return (
        session.last_update_id,
        list(zip(bid_p.tolist(), bid_q.tolist())),
        list(zip(ask_p.tolist(), ask_q.tolist())),
    )


def as_text(levels, scales):
    last_update_id, bids, asks = levels
    price_scale, qty_scale = scales
    text = [[(format_decimal(p, price_scale), format_decimal(q, qty_scale)) for p, q in side] for side in (bids, asks)]
    return last_update_id, text


def record_from_emulator(out: Path, paths, symbols: list[str], seconds: float = 2.5):
    async def main_():
        emu = Emulator(speed=2.0)
        emu.add_replay(list(paths))
        async with emu:

            async def inject():  # a gap mid-recording: the resync snapshot is recorded too
                await asyncio.sleep(1.0)
                emu.faults.gap(symbols[0])

            injector = asyncio.create_task(inject())
            result = await record(
                symbols, out, seconds=seconds, ws_url=emu.ws_url, rest_url=emu.rest_url,
                manager_options={"backoff_base": 0.05},
            )
            await injector
            return result

    return asyncio.run(main_())


def check_same_books(symbols, result, sessions):
    for symbol in symbols:
        live = result["health"]["symbols"][symbol]
        assert live["state"] == "LIVE"
        session = sessions[symbol]
        assert session.state is SyncState.LIVE
        # Exact values, whatever the scales: the live session takes them from exchangeInfo,
        # the replay infers them from the numbers it sees.
        ours = as_text(as_levels(session), (session.price_scale, session.qty_scale))
        assert ours == as_text(result["books"][symbol], result["scales"][symbol])
        assert session.gap_count == live["gap_count"]


def test_record_then_replay_gives_the_same_books(tmp_path):
    out = tmp_path / "rec.gz"
    symbols = ["ETHUSDT"]
    result = record_from_emulator(out, [ETH], symbols)
    assert result["health"]["symbols"]["ETHUSDT"]["gap_count"] == 1  # the injected gap
    kinds = [m.kind for m in read_messages([out])]
    assert kinds.count("snapshot") == 2 and {"depth", "aggTrade"} <= set(kinds)
    sessions = replayed_books(out)  # the stock replay (obcore.replay)
    check_same_books(symbols, result, sessions)


def test_multi_symbol_recording_holds_everything_to_rebuild_each_book(tmp_path):
    out = tmp_path / "multi.gz"
    symbols = ["AAVEUPUSDT", "VETETH", "SWRVBUSD"]  # the busiest in this recording
    result = record_from_emulator(out, [MULTI], symbols)
    snapshots = [m for m in read_messages([out]) if m.kind == "snapshot"]
    assert {m.symbol for m in snapshots} == set(symbols)  # from the recorder's "symbol" field
    sessions = replayed_books(out)  # the stock replay (obcore.replay)
    check_same_books(symbols, result, sessions)


def test_cli_records_from_the_emulator(tmp_path):
    out = tmp_path / "cli.gz"

    async def main_():
        emu = Emulator(speed=2.0)
        emu.add_replay([ETH])
        async with emu:
            env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "obcore.record", "--symbols", "ETHUSDT", "--out", str(out),
                "--seconds", "1.5", "--ws-url", emu.ws_url, "--rest-url", emu.rest_url,
                env=env, stderr=asyncio.subprocess.PIPE,
            )
            _, err = await asyncio.wait_for(process.communicate(), 60)
            return process.returncode, err.decode()

    code, err = asyncio.run(main_())
    assert code == 0, err
    assert "ETHUSDT: state LIVE" in err
    session = replayed_books(out)["ETHUSDT"]
    assert session.state is SyncState.LIVE and session.gap_count == 0 and session.events_applied > 5


def test_cli_rejects_bad_arguments(capsys):
    with pytest.raises(SystemExit):
        main(["--symbols", "ETHUSDT", "--out", "x.gz", "--seconds", "-1"])
    assert "--seconds" in capsys.readouterr().err
    assert main(["--symbols", "eth-usdt", "--out", "x.gz", "--seconds", "1"]) == 2
    assert "ETH-USDT" in capsys.readouterr().err


def run_cli_against_emulator(out: Path, symbols: str, seconds: str = "1.0") -> tuple[int, str]:
    async def main_():
        emu = Emulator(speed=2.0)
        emu.add_replay([ETH])
        async with emu:
            env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "obcore.record", "--symbols", symbols, "--out", str(out),
                "--seconds", seconds, "--ws-url", emu.ws_url, "--rest-url", emu.rest_url,
                env=env, stderr=asyncio.subprocess.PIPE,
            )
            _, err = await asyncio.wait_for(process.communicate(), 60)
            return process.returncode, err.decode()

    return asyncio.run(main_())


def test_cli_unknown_symbol_is_reported_and_exits_2(tmp_path):
    out = tmp_path / "partial.gz"
    code, err = run_cli_against_emulator(out, "ETHUSDT,FOOUSDT")
    assert code == 2, err
    assert "FOOUSDT: not recorded" in err and "-1121" in err
    assert "not recorded: FOOUSDT" in err.splitlines()[-1]
    # The valid symbol is still recorded in full.
    assert "ETHUSDT: state LIVE" in err
    assert replayed_books(out)["ETHUSDT"].state is SyncState.LIVE


def test_record_returns_unknown_symbols_without_waiting(tmp_path):
    async def main_():
        emu = Emulator(speed=2.0)
        emu.add_replay([ETH])
        async with emu:
            loop = asyncio.get_running_loop()
            started = loop.time()
            result = await record(["FOOUSDT"], tmp_path / "none.gz", seconds=30, ws_url=emu.ws_url,
                                  rest_url=emu.rest_url)
            return result, loop.time() - started

    result, elapsed = asyncio.run(main_())
    assert list(result["failed"]) == ["FOOUSDT"] and "-1121" in result["failed"]["FOOUSDT"]
    assert elapsed < 10  # every symbol refused: no 30 s wait


def test_cli_validates_symbols_before_connecting(capsys):
    # The URLs point nowhere: validation must fail first, naming the bad symbol (upper-cased).
    args = ["--out", "x.gz", "--seconds", "1", "--rest-url", "http://127.0.0.1:9", "--ws-url", "ws://127.0.0.1:9"]
    assert main(["--symbols", "ethusdt,foo$usdt", *args]) == 2
    assert "'FOO$USDT'" in capsys.readouterr().err
    assert main(["--symbols", " , ", *args]) == 2
    assert "no symbol" in capsys.readouterr().err
