"""Replay recordings through ``BookSession``: ``python -m obcore.replay FILE [FILE...]``.

Reads the hftbacktest format (``<receive_time_ns> <json>``, optionally gzipped) and the
cryptofeed sample format (``BINANCE.ws.*`` / ``BINANCE.http.*``), interleaving the files by
receive time, and feeds every symbol's messages to its own session. With ``--emit l1`` it
prints one JSON line per applied depth event::

    {"symbol":"ETHUSDT","u":35346513512,"bid":"2683.8","bid_qty":"3.0292","ask":"2683.81","ask_qty":"31.4395"}

and a summary on stderr (events applied, gaps, resyncs per symbol).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import orjson

from obcore.errors import InvalidInputError, ObcoreError
from obcore.numbers import format_decimal
from obcore.recording import Message, merge_by_time
from obcore.session import BookSession

__all__ = ["ReplayStep", "expand_paths", "feed", "l1_record", "main", "replay", "route"]


@dataclass(slots=True)
class ReplayStep:
    """One message fed to a session; ``applied`` is True for a depth event applied live."""

    message: Message
    session: BookSession
    applied: bool


def route(
    paths: Iterable[str | Path],
    symbols: Iterable[str] | None = None,
    sessions: dict[str, BookSession] | None = None,
) -> Iterator[tuple[Message, BookSession]]:
    """Yield each book-relevant message of the recordings with its symbol's session, unfed.

    The caller feeds the message (``session.receive_snapshot`` / ``session.receive``); this
    lets it act between messages, e.g. take a snapshot at a second boundary.

    Parameters
    ----------
    paths : iterable of path
        Recording files; interleaved by receive time.
    symbols : iterable of str, optional
        Only these symbols (upper case); all by default.
    sessions : dict, optional
        Symbol -> session (created on first sight when missing).
    """
    wanted = {s.upper() for s in symbols} if symbols else None
    sessions = {} if sessions is None else sessions
    for message in merge_by_time(paths):
        symbol = message.symbol
        if not symbol or (wanted is not None and symbol not in wanted):
            continue
        if message.kind not in ("depth", "snapshot", "trade", "aggTrade"):
            continue
        session = sessions.get(symbol)
        if session is None:
            session = sessions[symbol] = BookSession(symbol)
        yield message, session


def feed(message: Message, session: BookSession) -> bool:
    """Give a routed message to its session; True for a depth event applied live.

    Parameters
    ----------
    message : Message
        A routed recording message; ``snapshot`` goes to ``receive_snapshot``, every
        other kind (depth, trade, aggTrade) to ``receive``.
    session : BookSession
        The symbol's session.

    Returns
    -------
    bool
        What ``session.receive`` returns; always False for a snapshot.
    """
    if message.kind == "snapshot":
        session.receive_snapshot(message.payload)
        return False
    return session.receive(message.payload)


def replay(
    paths: Iterable[str | Path],
    symbols: Iterable[str] | None = None,
    sessions: dict[str, BookSession] | None = None,
) -> Iterator[ReplayStep]:
    """Feed recordings through one ``BookSession`` per symbol, yielding every step.

    Parameters are those of :func:`route`.
    """
    for message, session in route(paths, symbols, sessions):
        yield ReplayStep(message, session, feed(message, session))


def l1_record(session: BookSession) -> dict:
    """The L1 line for a session's current book (exact decimal strings)."""
    book = session.book
    bid, ask = book.best_bid(), book.best_ask()
    price_scale, qty_scale = book.price_scale, book.qty_scale
    return {
        "symbol": session.symbol,
        "u": session.last_update_id,
        "bid": format_decimal(bid[0], price_scale) if bid else None,
        "bid_qty": format_decimal(bid[1], qty_scale) if bid else None,
        "ask": format_decimal(ask[0], price_scale) if ask else None,
        "ask_qty": format_decimal(ask[1], qty_scale) if ask else None,
    }


def _run(paths: list[str], symbols: list[str] | None, emit: str, out: IO[bytes], err: IO[str]) -> int:
    sessions: dict[str, BookSession] = {}
    for step in replay(paths, symbols, sessions):
        if step.applied and emit == "l1":
            out.write(orjson.dumps(l1_record(step.session)) + b"\n")
    total_applied = total_gaps = total_resyncs = 0
    for symbol in sorted(sessions):
        session = sessions[symbol]
        total_applied += session.events_applied
        total_gaps += session.gap_count
        total_resyncs += session.resync_count
        err.write(
            f"{symbol}: events applied {session.events_applied}, ignored {session.events_ignored}, "
            f"gaps {session.gap_count}, resyncs {session.resync_count}, "
            f"stale snapshots {session.stale_snapshot_count}, state {session.state.value}\n"
        )
    err.write(
        f"total: symbols {len(sessions)}, events applied {total_applied}, "
        f"gaps {total_gaps}, resyncs {total_resyncs}\n"
    )
    never_synced = sorted(s for s, session in sessions.items() if session.last_update_id == 0)
    if never_synced:
        err.write(
            f"note: no depth snapshot for {', '.join(never_synced)} in the input: a book can only "
            "be rebuilt from a REST /depth snapshot plus the diffs that follow it\n"
        )
    return 0


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given; a directory stands for the recording files directly inside it.

    Raises
    ------
    InvalidInputError
        For a path that is neither a file nor a directory holding files (checked here, so
        a command fails before it creates or reads anything).
    """
    found: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            inside = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
            if not inside:
                raise InvalidInputError(f"directory {str(path)!r} holds no recording files")
            found.extend(inside)
        elif path.is_file():
            found.append(path)
        else:
            raise InvalidInputError(f"recording {str(path)!r} does not exist or is not a file")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m obcore.replay", description=__doc__.splitlines()[0])
    parser.add_argument(
        "files", nargs="+", help="recording files (hftbacktest or cryptofeed format) or directories of them"
    )
    parser.add_argument("--symbol", action="append", help="only this symbol (repeatable)")
    parser.add_argument("--emit", choices=("l1", "none"), default="l1", help="what to print per applied event")
    args = parser.parse_args(argv)
    try:
        return _run(expand_paths(args.files), args.symbol, args.emit, sys.stdout.buffer, sys.stderr)
    except ObcoreError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    except BrokenPipeError:  # e.g. piped into `head`
        return 0


if __name__ == "__main__":
    sys.exit(main())
