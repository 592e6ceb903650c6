"""Data quality of live books: can a reader trust a book right now, and if not, why.

Room: pure reads of :class:`obcore.session.BookSession` (sans-I/O, no clock of its own:
the caller passes ``now_ms``). A trading bot and the MCP server ask the same question the
same way: a book that is not LIVE, older than :data:`STALE_AFTER_MS`, on a stream that is
down, or crossed, is never reported as fine; ``warnings`` says why in words.

- :func:`data_quality` — one session: sync state, book age, stream connected, gaps,
  resyncs, ``ok`` and warnings (:class:`DataQuality`).
- :func:`symbol_health` — the same as a status ``ok`` / ``degraded`` / ``error``
  (:class:`SymbolHealth`).
- :func:`books_health` — every symbol a stream manager tracks, with the connection state
  of their streams (:class:`BooksHealth`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from obcore.errors import InvalidInputError
from obcore.session import STALE_AFTER_MS, SyncState
from obcore.validation import check_symbol

__all__ = [
    "STALE_AFTER_MS",
    "BooksHealth",
    "DataQuality",
    "HealthStatus",
    "QualityBook",
    "QualitySession",
    "SymbolHealth",
    "TrackedBooks",
    "books_health",
    "data_quality",
    "symbol_health",
]

# STALE_AFTER_MS (re-exported): defined once, in obcore.session, beside SyncState.STALE.

HealthStatus = Literal["ok", "degraded", "error"]
_RANK: dict[str, int] = {"ok": 0, "degraded": 1, "error": 2}


class QualityBook(Protocol):
    """The part of :class:`obcore.book.Book` the crossed-book check reads."""

    def is_crossed(self) -> bool: ...
    def best_bid(self) -> tuple[int, int] | None: ...
    def format_price(self, value: int) -> str: ...


class QualitySession(Protocol):
    """The part of :class:`obcore.session.BookSession` data quality reads."""

    @property
    def state(self) -> SyncState: ...
    @property
    def last_update_id(self) -> int: ...
    @property
    def gap_count(self) -> int: ...
    @property
    def resync_count(self) -> int: ...
    @property
    def reason(self) -> str: ...
    @property
    def book(self) -> QualityBook: ...
    def book_age_ms(self, now_ms: int) -> int | None: ...


class TrackedBooks(Protocol):
    """The part of :class:`obcore.streams.StreamManager` :func:`books_health` reads."""

    @property
    def symbols(self) -> list[str]: ...
    def session(self, symbol: str) -> QualitySession | None: ...
    def health(self) -> Mapping[str, Any]: ...


@dataclass(frozen=True, slots=True)
class DataQuality:
    """Whether a book can be trusted now.

    Attributes
    ----------
    sync_state : SyncState
        Where the session stands in the sync procedure.
    book_age_ms : int or None
        ms since the last applied depth event (None before the first).
    stream_connected : bool
        Whether the symbol's stream was up, as the caller said.
    gap_count, resync_count : int
        Sequence gaps seen and resyncs done since tracking began.
    crossed : bool
        Best bid >= best ask (only checked when asked for).
    ok : bool
        True only for a LIVE, connected, uncrossed book updated at most
        :data:`STALE_AFTER_MS` ago.
    warnings : tuple of str
        Why not ``ok``, and any sequence gaps, in words.
    """

    sync_state: SyncState
    book_age_ms: int | None
    stream_connected: bool
    gap_count: int
    resync_count: int
    crossed: bool
    ok: bool
    warnings: tuple[str, ...]

    @property
    def state_name(self) -> str:
        """The sync state as an upper-case name: ``SYNCING``, ``LIVE``, ``RESYNCING``, ``STALE``."""
        return self.sync_state.name


def _check_now(now_ms: object) -> int:
    if not isinstance(now_ms, int) or isinstance(now_ms, bool) or now_ms < 0:
        raise InvalidInputError(f"now_ms {now_ms!r}: expected a Unix time in ms (an integer >= 0)")
    return now_ms


def data_quality(
    session: QualitySession, now_ms: int, *, connected: bool = True, check_crossed: bool = False
) -> DataQuality:
    """Sync state, book age and warnings of one session at ``now_ms``.

    Parameters
    ----------
    session : BookSession
        The symbol's session.
    now_ms : int
        Current Unix time in ms (the caller's clock: this module reads none).
    connected : bool, default True
        Whether the symbol's stream is up; a book whose stream is down is not ``ok``.
    check_crossed : bool, default False
        Also check that the best bid is below the best ask (a crossed book is not ``ok``).

    Returns
    -------
    DataQuality
        ``ok`` is True only for a LIVE book updated at most :data:`STALE_AFTER_MS` ago on
        a connected stream (and uncrossed, when checked).

    Raises
    ------
    InvalidInputError
        ``now_ms`` is not a non-negative integer.
    """
    now_ms = _check_now(now_ms)
    state = session.state
    name = state.name
    age = session.book_age_ms(now_ms)
    age = None if age is None else int(age)
    warnings = []
    if state is not SyncState.LIVE:
        warnings.append(f"book is {name}, not LIVE: levels may be missing or out of date")
    if age is None:
        warnings.append("no depth update applied yet")
    elif age > STALE_AFTER_MS:
        warnings.append(f"book is stale: last update {age} ms ago (limit {STALE_AFTER_MS} ms)")
    if not connected:
        warnings.append("stream disconnected: no updates are arriving, the book may be out of date")
    gaps, resyncs = int(session.gap_count), int(session.resync_count)
    if gaps:
        warnings.append(f"{gaps} sequence gap(s) seen since tracking began (resyncs: {resyncs})")
    crossed = False
    if check_crossed:
        book = session.book
        crossed = bool(book.is_crossed())
        if crossed:
            bid = book.best_bid()
            assert bid is not None  # a crossed book has both sides
            warnings.append(f"book is crossed: best bid {book.format_price(bid[0])} >= best ask")
    ok = connected and state is SyncState.LIVE and age is not None and age <= STALE_AFTER_MS and not crossed
    return DataQuality(
        sync_state=state, book_age_ms=age, stream_connected=bool(connected), gap_count=gaps,
        resync_count=resyncs, crossed=crossed, ok=ok, warnings=tuple(warnings),
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class SymbolHealth:
    """One tracked symbol's health.

    Attributes
    ----------
    symbol : str
        The symbol.
    status : {"ok", "degraded", "error"}
        ``ok`` for a fresh LIVE book; ``degraded`` while (re)syncing or stale but still
        moving; ``error`` for a STALE session or a stream that is down.
    quality : DataQuality
        The figures the status comes from.
    last_update_id : int
        The book's last applied update id.
    reason : str or None
        Why not ``ok`` (the quality warnings and the session's own reason).
    """

    symbol: str
    status: HealthStatus
    quality: DataQuality
    last_update_id: int
    reason: str | None


def symbol_health(symbol: str, session: QualitySession, now_ms: int, *, connected: bool | None = None) -> SymbolHealth:
    """Health of one tracked symbol at ``now_ms``.

    Parameters
    ----------
    symbol : str
        The symbol, upper case.
    session : BookSession
        Its session.
    now_ms : int
        Current Unix time in ms.
    connected : bool or None, default None
        Whether its stream is up; ``False`` makes the status ``error``, ``None`` (not
        known) leaves it to the book.

    Returns
    -------
    SymbolHealth
    """
    check_symbol(symbol)
    quality = data_quality(session, now_ms)
    name = quality.state_name
    detail = session.reason or None
    status: HealthStatus
    reason: str | None
    if quality.ok:
        status, reason = "ok", None
    else:
        moving = name in ("SYNCING", "RESYNCING") or (quality.book_age_ms or 0) > STALE_AFTER_MS
        status = "degraded" if moving else "error"
        reason = "; ".join(filter(None, [*quality.warnings, detail]))
    if quality.sync_state is SyncState.STALE:
        status = "error"
    if connected is False:
        status = "error"
        reason = "; ".join(filter(None, ["stream disconnected", reason]))
    return SymbolHealth(
        symbol=symbol, status=status, quality=quality, last_update_id=int(session.last_update_id), reason=reason
    )


@dataclass(frozen=True, slots=True)
class BooksHealth:
    """Health of the books a stream manager keeps.

    Attributes
    ----------
    status : {"ok", "degraded", "error"}
        The worst over the symbols reported (``error`` when their stream is down, or when
        the symbol asked about is not tracked).
    symbols_tracked : tuple of str
        Every tracked symbol, sorted.
    stream_connected : bool or None
        Whether the stream(s) carrying the symbol asked about (or every connection) are
        up; None when there is no stream to ask (nothing tracked yet).
    symbols : tuple of SymbolHealth
        The symbols reported, sorted.
    reason : str or None
        Why not ``ok``, one clause per symbol.
    untracked : str or None
        The symbol asked about when it is not tracked.
    """

    status: HealthStatus
    symbols_tracked: tuple[str, ...]
    stream_connected: bool | None
    symbols: tuple[SymbolHealth, ...]
    reason: str | None
    untracked: str | None = None


def _connected(report: Mapping[str, Any], symbol: str | None) -> bool | None:
    """Whether the stream(s) carrying ``symbol`` (or every connection) are up; None if none exist."""
    if symbol is not None:
        entry = report.get("symbols", {}).get(symbol)
        return None if entry is None else bool(entry.get("connected"))
    connections: Sequence[Mapping[str, Any]] = report.get("connections", [])
    return all(bool(c.get("connected")) for c in connections) if connections else None


def books_health(books: TrackedBooks, now_ms: int, symbol: str | None = None) -> BooksHealth:
    """Health of every tracked book, or of ``symbol`` only.

    Parameters
    ----------
    books : StreamManager
        The manager keeping the books (``symbols``, ``session``, ``health()``).
    now_ms : int
        Current Unix time in ms.
    symbol : str, optional
        Report only this symbol (nothing is subscribed: an untracked symbol is an
        ``error`` with ``untracked`` set).

    Returns
    -------
    BooksHealth

    Raises
    ------
    InvalidInputError
        A malformed ``symbol`` or ``now_ms``.
    """
    if symbol is not None:
        check_symbol(symbol)
    _check_now(now_ms)
    sessions = {name: s for name in books.symbols if (s := books.session(name)) is not None}
    tracked = tuple(sorted(sessions))
    report = books.health()
    connected = _connected(report, symbol)
    if symbol is not None:
        if symbol not in sessions:
            return BooksHealth("error", tracked, connected, (), f"{symbol} is not tracked", untracked=symbol)
        sessions = {symbol: sessions[symbol]}
    per_symbol = report.get("symbols", {})
    reports = tuple(
        symbol_health(name, session, now_ms, connected=False if per_symbol.get(name, {}).get("connected") is False else None)
        for name, session in sorted(sessions.items())
    )
    status: HealthStatus = max((r.status for r in reports), key=_RANK.__getitem__, default="ok")
    reasons = [f"{r.symbol}: {r.reason}" for r in reports if r.reason]
    if connected is False and reports:
        status, reasons = "error", ["stream disconnected", *reasons]
    reason = "; ".join(reasons) or (None if reports else "no symbol tracked yet")
    return BooksHealth(status, tracked, connected, reports, reason)
