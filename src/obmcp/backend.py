"""What the tools talk to: a REST client and a stream manager, for one data source.

``open_backend(settings)`` starts, for ``emulator`` / ``replay:`` sources, an in-process
``obcore.emulator.Emulator`` on 127.0.0.1 replaying the recording, and points the client
and the stream manager at it; ``live`` uses real Binance.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from obmcp.config import ServerSettings

if TYPE_CHECKING:  # types only: importing these here would load the I/O modules early
    from obcore.store import SnapshotStore
    from obcore.streams import StreamManager

    from obmcp.book_service import LiveBooks
    from obmcp.service import MarketClient

logger = logging.getLogger(__name__)

__all__ = ["Backend", "open_backend"]


@dataclass
class Backend:
    """The I/O objects behind the tools (filled in by :func:`open_backend` or by tests).

    Attributes
    ----------
    client : obcore.client.BinanceClient
        REST client.
    streams : obcore.streams.StreamManager or None
        Live books; None when the live-book tools are not served.
    max_symbols : int
        Limit on tracked symbols (reported by orderbook_health).
    rest_url, ws_url : str or None
        Where the emulator listens, for ``emulator``/``replay`` sources.
    store : obcore.store.SnapshotStore or None
        The 1-s snapshot history, when a data dir is configured.
    """

    client: MarketClient | None = None
    streams: LiveBooks | None = None
    max_symbols: int = 20
    rest_url: str | None = None
    ws_url: str | None = None
    store: SnapshotStore | None = None
    extras: dict[str, Any] = field(default_factory=dict)


@contextlib.asynccontextmanager
async def open_backend(settings: ServerSettings, *, speed: float = 1.0) -> AsyncIterator[Backend]:
    """Start the data source of ``settings`` and yield a ready :class:`Backend`; stop it on exit.

    Parameters
    ----------
    settings : ServerSettings
        Source (live, emulator or replay files), max symbols, API keys, data directory.
    speed : float, default 1.0
        Replay speed of the in-process emulator (1.0 is real time); unused for ``live``.

    Yields
    ------
    Backend
        REST client, stream manager and, with ``data_dir``, the snapshot store.

    Raises
    ------
    InvalidInputError
        A replay file that is not a recording (named, its contents never quoted), or a
        data dir whose store another process holds (a second server would store nothing).
    """
    from obcore.client import BinanceClient

    async with contextlib.AsyncExitStack() as stack:
        backend = Backend(max_symbols=settings.max_symbols)
        rest_url = ws_url = None
        if settings.source_kind in ("emulator", "replay"):
            from obcore.emulator import Emulator

            from obmcp.trading import emulator_keys

            emulator = Emulator(host="127.0.0.1", port=0, ws_port=0, speed=speed, loop=True, **emulator_keys(settings))
            _add_replay(emulator, settings)
            await stack.enter_async_context(emulator)
            rest_url, ws_url = emulator.rest_url, emulator.ws_url
            backend.rest_url, backend.ws_url = rest_url, ws_url
            backend.extras["emulator"] = emulator
        client = BinanceClient(
            rest_url,
            network="mainnet",
            api_key=settings.api_key or "",
            api_secret=settings.api_secret or "",
        )
        stack.push_async_callback(client.aclose)
        backend.client = client
        from obmcp.trading import open_account

        await open_account(stack, settings, backend)  # account/order client and rails (obmcp.trading)
        backend.streams = await _open_streams(stack, settings, client, ws_url)
        if settings.data_dir is not None and backend.streams is not None:
            backend.store = await _open_store(stack, settings, backend.streams)
        await _warm_up_kernels()
        yield backend


async def _warm_up_kernels() -> None:
    """Compile (or load from Numba's cache) the analytics kernels before the first call."""
    import anyio

    from obcore.analytics import warm_up

    await anyio.to_thread.run_sync(warm_up)


async def _open_store(
    stack: contextlib.AsyncExitStack, settings: ServerSettings, streams: StreamManager
) -> SnapshotStore | None:
    """Open the snapshot store and capture every tracked book each second.

    A store another process holds stops the start (:class:`InvalidInputError`).
    """
    import asyncio
    import os

    from obcore.errors import InvalidInputError, StoreError, StoreLockedError
    from obcore.store import SnapshotStore
    from obcore.store.capture import LiveCapture

    os.umask(0o077)  # files the store creates later stay private (0600) too
    assert settings.data_dir is not None
    directory = settings.data_dir / "snapshots"
    try:
        store = await asyncio.to_thread(
            SnapshotStore.open,
            directory,
            retention_s=round(settings.store_retention_days * 86_400),
            max_bytes=settings.store_max_bytes,
        )
    except StoreLockedError:
        # Serving without the store would silently keep no history: refuse to start.
        raise InvalidInputError(
            f"--data-dir {str(settings.data_dir)!r} is in use: another obmcp server (or a store import) "
            f"has its snapshot store {str(directory)!r} open; stop that one or give this one another --data-dir"
        ) from None
    except StoreError as exc:
        raise InvalidInputError(f"--data-dir {str(settings.data_dir)!r}: {exc}") from None
    stack.callback(store.close)

    capture = LiveCapture(store.put)
    streams.on_second_closed = capture.second_closed
    task = asyncio.get_running_loop().create_task(capture.run(streams.capture_targets))

    async def stop_capture() -> None:
        streams.on_second_closed = None
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task  # queues the rows still settling, before the store closes

    stack.push_async_callback(stop_capture)
    return store


def _add_replay(emulator: Any, settings: ServerSettings) -> None:
    """Load the recording into the emulator; a file that is not one is named, never quoted."""
    import re

    from obcore.errors import InvalidInputError

    paths = [str(path) for path in settings.source_paths]
    expected = (
        "expected hftbacktest '<receive_time_ns> <json>' lines (gzipped or not) or the cryptofeed sample format"
    )
    try:
        emulator.add_replay(paths)
    except InvalidInputError as exc:
        where = re.match(r"(.+?:\d+): ", str(exc))
        if where is None:  # not about a line's contents (e.g. no depth data): the message is safe
            raise InvalidInputError(f"--source {settings.source!r}: {exc}") from None
        raise InvalidInputError(
            f"--source {settings.source!r}: {where.group(1)}: not a recording this server can replay; {expected}"
        ) from None
    except (OSError, EOFError, UnicodeError, ValueError) as exc:
        raise InvalidInputError(
            f"--source {settings.source!r}: not a recording this server can replay "
            f"({type(exc).__name__}); {expected}"
        ) from None


async def _open_streams(
    stack: contextlib.AsyncExitStack, settings: ServerSettings, client: Any, ws_url: str | None
) -> StreamManager:
    from obcore.streams import StreamManager

    manager = StreamManager(client, ws_url=ws_url, max_symbols=settings.max_symbols)
    return await stack.enter_async_context(manager)
