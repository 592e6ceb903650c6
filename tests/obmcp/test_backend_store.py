"""With a data dir, the server keeps 1-s snapshots of every tracked book in the store."""

from __future__ import annotations

import asyncio
import stat

from obmcp.backend import open_backend
from obmcp.config import ServerSettings


def test_backend_captures_snapshots_into_the_store(tmp_path):
    settings = ServerSettings(
        mode="http", source="emulator", data_dir=tmp_path / "data", store_max_bytes=3 << 20, store_retention_days=2
    )

    async def run() -> tuple[int, list[int]]:
        async with open_backend(settings, speed=4.0) as backend:
            assert backend.store is not None
            assert (backend.store.max_bytes, backend.store.retention_s) == (3 << 20, 2 * 86_400)
            await backend.streams.track("ETHUSDT")
            await backend.streams.wait_live("ETHUSDT", timeout=30)
            session = backend.streams.session("ETHUSDT")
            first = session.counters.last_second
            for _ in range(60):  # bounded: at most ~6 s
                await asyncio.sleep(0.1)
                if session.counters.last_second >= first + 3:
                    break
            await asyncio.sleep(1.5)  # the last closed second settles (1 s) and is queued
            await asyncio.to_thread(backend.store.flush)
            arrays = backend.store.range("ETHUSDT", first - 5, session.counters.last_second + 1)
            return first, arrays.time_s.tolist()

    first, seconds = asyncio.run(run())
    assert len(seconds) >= 2
    assert seconds == list(range(seconds[0], seconds[-1] + 1))  # every second, once
    assert seconds[0] <= first + 1
    snapshots_dir = tmp_path / "data" / "snapshots"
    assert stat.S_IMODE(snapshots_dir.stat().st_mode) == 0o700


def test_no_data_dir_means_no_store():
    assert ServerSettings().data_dir is None
