"""Shared test fixtures: paths to the bundled and shared real recordings."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "data" / "binance-ethusdt-2024-08-09"
SHARED = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def eth_files() -> list[Path]:
    return sorted(BUNDLED.glob("ethusdt_*.gz"))


def shared_path(*parts: str) -> Path:
    """A recording bundled in data/ or, failing that, in ../shared/data.

    The cryptofeed samples are bundled; only the BTCUSDT 2023 file (no snapshot, used to
    check the replay's explanation) lives in ../shared alone — a test needing it skips,
    with this reason, on a machine without it.
    """
    path = ROOT.joinpath("data", *parts)
    if path.exists():
        return path
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared recording {path} not present on this machine")
    return path
