"""Shared fixtures of the snapshot-store tests."""

from __future__ import annotations

import pytest

from obcore.store import SnapshotStore


@pytest.fixture
def open_store(tmp_path):
    """Open stores under tmp_path and close them after the test."""
    opened: list[SnapshotStore] = []

    def _open(name: str = "db", **kwargs) -> SnapshotStore:
        kwargs.setdefault("maintenance_interval_s", 3600.0)
        store = SnapshotStore.open(tmp_path / name, **kwargs)
        opened.append(store)
        return store

    yield _open
    for store in opened:
        store.close()
