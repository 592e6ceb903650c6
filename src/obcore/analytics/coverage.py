"""The data-quality block every analytics answer carries (SPEC.md, Analytics): where the
numbers come from, how much of the asked window they cover, and what was wrong with the
book meanwhile (sync state, book age, gaps and resyncs). A desynced or stale book is
never analysed silently: ``warnings`` says so and ``status`` is ``degraded``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from obcore.quality import STALE_AFTER_MS  # one rule, one place (SPEC.md: stale after 5 s)

__all__ = ["STALE_AFTER_MS", "WindowQuality"]


@dataclass(frozen=True, slots=True)
class WindowQuality:
    """Data quality of one analytics window.

    Attributes
    ----------
    source : str
        ``live`` (a session's rings), ``stored`` (the snapshot store), ``trades``
        (trade arrays only, e.g. files) or ``live+backfill``.
    start_s, end_s : int
        The window asked for, exchange seconds, inclusive.
    seconds_requested, seconds_covered : int
        Its length and how many of its seconds hold data (see each analysis).
    sync_state : str or None
        The book's state at the window's end (``LIVE``, ``SYNCING``, ...), None without a book.
    book_age_ms : int or None
        Age of the book's last diff when answered (live only).
    gaps, resyncs : int or None
        Gaps / resyncs inside the window (stored rows carry running totals); None when
        not known per second (a live session keeps only its running totals,
        ``gap_count_total`` / ``resync_count_total``).
    gap_count_total, resync_count_total : int or None
        The session's running totals (live).
    backfilled_trades : int
        Trades fetched through REST (or the trade cache) for the part of the window not
        collected live.
    live_seconds : int or None
        Seconds of the window read from the live rings / tape.
    stored_seconds : int or None
        Seconds of the window read from the snapshot store.
    backfill_start_ms, backfill_end_ms : int or None
        The span that was back-filled (half-open), when one was.
    warnings : tuple of str
        Everything that makes the answer less than fully trustworthy.
    """

    source: str
    start_s: int
    end_s: int
    seconds_requested: int
    seconds_covered: int
    sync_state: str | None = None
    book_age_ms: int | None = None
    gaps: int | None = None
    resyncs: int | None = None
    gap_count_total: int | None = None
    resync_count_total: int | None = None
    backfilled_trades: int = 0
    live_seconds: int | None = None
    stored_seconds: int | None = None
    backfill_start_ms: int | None = None
    backfill_end_ms: int | None = None
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def status(self) -> str:
        """``ok`` when nothing is wrong, else ``degraded``."""
        return "degraded" if self.warnings else "ok"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (with ``status``)."""
        return {
            "status": self.status,
            "source": self.source,
            "window_start_s": self.start_s,
            "window_end_s": self.end_s,
            "seconds_requested": self.seconds_requested,
            "seconds_covered": self.seconds_covered,
            "sync_state": self.sync_state,
            "book_age_ms": self.book_age_ms,
            "gaps_in_window": self.gaps,
            "resyncs_in_window": self.resyncs,
            "gap_count_total": self.gap_count_total,
            "resync_count_total": self.resync_count_total,
            "backfilled_trades": self.backfilled_trades,
            "live_seconds": self.live_seconds,
            "stored_seconds": self.stored_seconds,
            "backfill_start_ms": self.backfill_start_ms,
            "backfill_end_ms": self.backfill_end_ms,
            "warnings": list(self.warnings),
        }
