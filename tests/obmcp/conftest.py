"""Shared fixtures: a real BookSession fed from the bundled recording, fakes of the
stream manager (until obcore.streams lands) and of the REST client's answers, and an
in-process Hypercorn server on an ephemeral port."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest

from obcore.errors import SymbolLimitError
from obcore.recording import read_messages
from obcore.session import BookSession

from obmcp.backend import Backend
from obmcp.config import BUNDLED_RECORDING, ServerSettings
from obmcp.http import build_http_app, serve_http
from obmcp.server import build_server


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def feed_recording(symbol: str = "ETHUSDT", applied: int = 300) -> BookSession:
    """A BookSession synced from the real recording, with ``applied`` diffs applied after LIVE."""
    session = BookSession(symbol)
    for message in read_messages(BUNDLED_RECORDING):
        if message.kind == "snapshot":
            if session.needs_snapshot:
                session.receive_snapshot(message.payload)
        elif message.kind in ("depth", "trade"):
            session.receive(message.payload)
        if session.state.name == "LIVE" and session.events_applied >= applied:
            return session
    raise AssertionError("the bundled recording never brought the book LIVE")


@pytest.fixture(scope="session")
def eth_session() -> BookSession:
    return feed_recording()


class FakeStreams:
    """Stand-in for obcore.streams.StreamManager (its interface only): track / wait_live / is_connected / health."""

    def __init__(self, sessions: dict[str, Any], max_symbols: int = 20, connected: bool = True):
        self.available = dict(sessions)
        self.sessions: dict[str, Any] = {}
        self.max_symbols = max_symbols
        self.connected = connected

    async def track(self, symbol: str) -> Any:
        if symbol not in self.sessions:
            if len(self.sessions) >= self.max_symbols:
                raise SymbolLimitError(f"tracking {symbol} would pass the limit of {self.max_symbols} symbols")
            self.sessions[symbol] = self.available.get(symbol) or BookSession(symbol)
        return self.sessions[symbol]

    async def wait_live(self, symbol: str, timeout: float) -> None:
        await anyio.sleep(0)

    def is_connected(self, symbol: str) -> bool:
        return self.connected and symbol in self.sessions

    @property
    def symbols(self) -> list[str]:
        return list(self.sessions)

    def session(self, symbol: str) -> Any:
        return self.sessions.get(symbol)

    def health(self) -> dict[str, Any]:
        symbols = {s: {"state": x.state.value, "connected": self.connected} for s, x in self.sessions.items()}
        connections = [{"connected": self.connected}] if self.sessions else []
        return {"symbols": symbols, "connections": connections, "max_symbols": self.max_symbols}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.asynccontextmanager
async def running_http(settings: ServerSettings, backend: Backend | None = None) -> AsyncIterator[str]:
    """Serve the full HTTP app in this event loop; yields the ``/mcp`` URL; stops on exit."""
    mcp = build_server(settings, backend or Backend())
    app = build_http_app(mcp, settings)
    stop = anyio.Event()
    bound: list[str] = []
    async with anyio.create_task_group() as tg:
        tg.start_soon(serve_http, app, settings, stop.wait, bound.extend)
        with anyio.fail_after(10):
            while not bound:
                await anyio.sleep(0.01)
        try:
            yield bound[0] + "/mcp"
        finally:
            stop.set()
