"""A plain client (websockets + httpx + dict book) syncs with the replayed ETHUSDT book."""

from __future__ import annotations

import time

import anyio
import httpx
import orjson
import pytest
import websockets

from obcore.emulator import Emulator

from tests.obcore.emulator.helpers import ETH_DIR, DictBook, decimal_book

pytestmark = pytest.mark.anyio


async def _follow(emu: Emulator, want: int, on_event=None, max_seconds: float = 30.0) -> tuple[DictBook, int]:
    """Follow the depth stream until the book was compared equal to the true book (whenever
    both stood at the same update id) ``want`` times, or ``max_seconds`` passed; return the
    book and the count. Ending on the count, not on a clock, keeps the test exact on a
    loaded machine (a slow follower compares less often per second, not less correctly)."""
    book = DictBook()
    compared = 0
    async with httpx.AsyncClient(base_url=emu.rest_url) as rest, \
            websockets.connect(emu.ws_url + "/ws/ethusdt@depth@100ms") as ws:
        deadline = time.monotonic() + max_seconds
        while compared < want and time.monotonic() < deadline:
            event = orjson.loads(await ws.recv())
            if on_event is not None:
                on_event(event, book)
            if not book.apply(event) or book.book_id is None:
                if book.buffer and len(book.buffer) >= 1:
                    snapshot = (await rest.get("/api/v3/depth", params={"symbol": "ETHUSDT", "limit": 5000})).json()
                    if snapshot["lastUpdateId"] < book.buffer[0]["U"]:
                        continue  # too old: buffer more and fetch again
                    book.load(snapshot)
            truth = emu.true_book("ETHUSDT")
            if book.book_id == truth[0]:
                assert book.as_true_book() == decimal_book(truth)
                compared += 1
    return book, compared


async def test_client_following_documented_procedure_matches_true_book():
    emu = Emulator(speed=5.0)  # slow enough that a loaded follower catches up between events
    emu.add_replay([ETH_DIR])
    async with emu:
        book, compared = await _follow(emu, 10)
    assert book.gaps == 0
    assert compared >= 10


async def test_gap_fault_forces_resync_and_book_still_matches():
    emu = Emulator(speed=5.0)
    emu.add_replay([ETH_DIR])
    async with emu:
        armed = []

        def arm(event, book):
            # Only once the book is live, so the dropped event cannot hide in the buffer.
            if not armed and book.book_id is not None:
                emu.faults.gap("ETHUSDT")
                armed.append(event["u"])

        book, compared = await _follow(emu, 5, on_event=arm)
    assert book.gaps == 1
    assert compared >= 5


async def test_update_ids_are_contiguous_and_first_pass_reproduces_recording():
    emu = Emulator(speed=50.0)
    emu.add_replay([ETH_DIR])
    async with emu:
        start_id = emu.true_book("ETHUSDT")[0]
        assert start_id == 35346513512  # the recording's REST snapshot
        async with websockets.connect(emu.ws_url + "/ws/ethusdt@depth@100ms") as ws:
            events = [orjson.loads(await ws.recv()) for _ in range(50)]
    for previous, current in zip(events, events[1:]):
        assert current["U"] == previous["u"] + 1
        assert current["u"] >= current["U"]
        assert current["e"] == "depthUpdate" and current["s"] == "ETHUSDT"
        assert isinstance(current["E"], int) and current["E"] > 1_600_000_000_000


async def test_loop_keeps_ids_monotonic_and_book_consistent(tmp_path):
    # A short recording: the snapshot and the first 30 diffs, looped three times.
    import gzip

    lines = []
    with gzip.open(ETH_DIR / "ethusdt_20240808.gz", "rb") as handle:
        diffs = 0
        for line in handle:
            if b"@depth" in line:
                diffs += 1
            if b"@bookTicker" in line:
                continue
            lines.append(line)
            if diffs >= 30:
                break
    short = tmp_path / "short.gz"
    with gzip.open(short, "wb") as out:
        out.writelines(lines)
    emu = Emulator(speed=50.0, loop=True)
    emu.add_replay([short])
    async with emu:
        book, compared = await _follow(emu, 5)
    assert book.gaps == 0
    assert compared >= 5


async def test_no_loop_stops_at_end(tmp_path):
    import gzip

    with gzip.open(ETH_DIR / "ethusdt_20240808.gz", "rb") as handle:
        lines = [line for _, line in zip(range(40), handle)]
    short = tmp_path / "short.gz"
    with gzip.open(short, "wb") as out:
        out.writelines(lines)
    emu = Emulator(speed=100.0, loop=False)
    emu.add_replay([short])
    async with emu:
        await anyio.sleep(0.6)
        first = emu.true_book("ETHUSDT")[0]
        await anyio.sleep(0.3)
        assert emu.true_book("ETHUSDT")[0] == first
