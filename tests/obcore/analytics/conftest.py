"""Shared data of the analytics tests: the bundled real recordings."""

from __future__ import annotations

from pathlib import Path

import pytest

_REPO_DATA = Path(__file__).resolve().parents[3] / "data"
DATA = _REPO_DATA if _REPO_DATA.is_dir() else Path("/work/shared/data")
ETH_FILES = sorted((DATA / "binance-ethusdt-2024-08-09").glob("ethusdt_*.gz"))
BTC_FILE = DATA / "binance-btcusdt-2023-04-05" / "btcusdt_20230405.dat.gz"
MULTI_WS = sorted((DATA / "binance-multi-2021").glob("*/BINANCE.ws.1.0"))


@pytest.fixture(scope="session")
def eth_replayed():
    """The bundled ETHUSDT recording replayed through one BookSession (it syncs, no gaps)."""
    from obcore.replay import replay

    sessions: dict = {}
    for _ in replay(ETH_FILES, sessions=sessions):
        pass
    return sessions["ETHUSDT"]
