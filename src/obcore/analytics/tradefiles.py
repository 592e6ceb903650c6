"""Trade files: what a user with downloaded Binance data has, read into :class:`TradeArrays`.

Formats (detected from the content, gzip or plain):

- **Binance Vision aggTrades CSV** (``data.binance.vision``), with or without the header
  row: ``agg_trade_id, price, quantity, first_trade_id, last_trade_id, transact_time,
  is_buyer_maker[, is_best_match]``. ``transact_time`` is ms in older files and µs in
  newer ones (a value >= 10**14 is taken as µs and floored to ms).
- **REST aggTrade objects** ``{a, p, q, f, l, T, m, M}``: a JSON list, or JSON lines; also
  each nested under ``info`` as ccxt writes trades.
- **Our recordings** (``obcore.recording``: hftbacktest ``<ns> <json>`` lines, cryptofeed
  ``BINANCE.ws.*``): their ``@aggTrade`` / ``@trade`` messages.

Every error names the file and the line. Reading is I/O, so this module is the analytics
room's door, not its core; the analyses never open a file.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import orjson

from obcore.analytics.trades import TradeArrays, merge_trades, trades_from_rows
from obcore.errors import InvalidInputError

__all__ = ["FORMATS", "detect_format", "read_trade_file", "read_trade_rows", "read_trades"]

FORMATS = ("csv", "json", "jsonl", "recording")

_RECORDING_LINE = re.compile(rb"^\d+ \{")
_CSV_HEADER = ("agg_trade_id", "price", "quantity", "first_trade_id", "last_trade_id", "transact_time",
               "is_buyer_maker")
_MICROSECONDS = 10**14  # a ms timestamp reaches this only in the year 5138


def _open(path: Path) -> IO[bytes]:
    with open(path, "rb") as probe:
        magic = probe.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else open(path, "rb")


def _first_line(path: Path) -> bytes:
    with _open(path) as handle:
        for line in handle:
            if line.strip():
                return line.strip()
    return b""


def detect_format(path: str | Path) -> str:
    """One of :data:`FORMATS` for a file, from its name and first non-empty line.

    Raises
    ------
    InvalidInputError
        The file does not exist, is empty, or looks like none of the formats.
    """
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"trade file {str(path)!r} does not exist or is not a file")
    if path.name.startswith(("BINANCE.ws", "BINANCE.http")):
        return "recording"
    try:
        line = _first_line(path)
    except (OSError, EOFError) as exc:
        raise InvalidInputError(f"{path}: unreadable: {exc}") from None
    if not line:
        raise InvalidInputError(f"{path}:1: empty file, expected aggTrades CSV, JSON or a recording")
    if line.startswith(b"["):
        return "json"
    if line.startswith(b"{"):
        return "jsonl"
    if _RECORDING_LINE.match(line):
        return "recording"
    if b"," in line:
        return "csv"
    raise InvalidInputError(f"{path}:1: not an aggTrades CSV, JSON or recording line: {line[:80]!r}")


def _bool(text: str, where: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise InvalidInputError(f"{where}: is_buyer_maker must be true or false, got {text!r}")


def _csv_rows(path: Path) -> Iterator[dict[str, Any]]:
    with _open(path) as handle:
        columns: dict[str, int] | None = None
        for number, raw in enumerate(handle, 1):
            line = raw.decode("utf-8", "replace").strip()
            if not line:
                continue
            cells = [c.strip() for c in line.split(",")]
            where = f"{path}:{number}"
            if columns is None and not cells[0].lstrip("-").isdigit():
                names = [c.lower() for c in cells]
                missing = [n for n in _CSV_HEADER if n not in names]
                if missing:
                    raise InvalidInputError(f"{where}: header {line[:120]!r} lacks columns {missing}")
                columns = {n: names.index(n) for n in _CSV_HEADER}
                continue
            if columns is None:
                columns = {n: i for i, n in enumerate(_CSV_HEADER)}
            if len(cells) not in (len(_CSV_HEADER), len(_CSV_HEADER) + 1) and len(cells) <= max(columns.values()):
                raise InvalidInputError(
                    f"{where}: expected {len(_CSV_HEADER)} or {len(_CSV_HEADER) + 1} columns "
                    f"({', '.join(_CSV_HEADER)}[, is_best_match]), got {len(cells)}: {line[:120]!r}")
            try:
                time_value = int(cells[columns["transact_time"]])
                agg_id = int(cells[columns["agg_trade_id"]])
            except ValueError:
                raise InvalidInputError(f"{where}: agg_trade_id and transact_time must be integers: {line[:120]!r}") from None
            yield {
                "a": agg_id,
                "p": cells[columns["price"]],
                "q": cells[columns["quantity"]],
                "T": time_value // 1000 if time_value >= _MICROSECONDS else time_value,
                "m": _bool(cells[columns["is_buyer_maker"]], where),
                "f": cells[columns["first_trade_id"]],
                "l": cells[columns["last_trade_id"]],
                "_where": where,
            }


def _agg_object(obj: Any, where: str) -> dict[str, Any]:
    if isinstance(obj, dict) and isinstance(obj.get("info"), dict):
        obj = obj["info"]  # ccxt keeps Binance's row under "info"
    if not isinstance(obj, dict):
        raise InvalidInputError(f"{where}: expected an aggTrade object {{a,p,q,f,l,T,m,M}}, got {str(obj)[:80]!r}")
    if "id" in obj and "isBuyerMaker" in obj and "a" not in obj:  # a REST /trades row
        obj = {"a": obj["id"], "p": obj.get("price"), "q": obj.get("qty"), "T": obj.get("time"),
               "m": obj["isBuyerMaker"]}
    missing = [k for k in ("a", "p", "q", "T", "m") if k not in obj]
    if missing:
        raise InvalidInputError(f"{where}: aggTrade object lacks {missing}: {str(obj)[:120]!r}")
    if not isinstance(obj["m"], bool):
        raise InvalidInputError(f"{where}: 'm' must be true or false, got {obj['m']!r}")
    return {**obj, "_where": where}


def _json_rows(path: Path) -> Iterator[dict[str, Any]]:
    with _open(path) as handle:
        data = handle.read()
    try:
        items = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        line = data[: exc.pos].count(b"\n") + 1 if hasattr(exc, "pos") else 1
        raise InvalidInputError(f"{path}:{line}: not valid JSON: {exc}") from None
    if not isinstance(items, list):
        raise InvalidInputError(f"{path}:1: expected a JSON list of aggTrade objects")
    for index, item in enumerate(items):
        yield _agg_object(item, f"{path}: item {index}")


def _jsonl_rows(path: Path) -> Iterator[dict[str, Any]]:
    with _open(path) as handle:
        for number, raw in enumerate(handle, 1):
            line = raw.strip()
            if not line:
                continue
            try:
                obj = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise InvalidInputError(f"{path}:{number}: not valid JSON: {exc}") from None
            yield _agg_object(obj, f"{path}:{number}")


def _recording_rows(path: Path, symbol: str | None, seen: set[str]) -> Iterator[dict[str, Any]]:
    from obcore.recording import read_messages

    for message in read_messages([path]):
        if message.kind not in ("trade", "aggTrade"):
            continue
        seen.add(message.symbol)
        if symbol is not None and message.symbol != symbol:
            continue
        payload = message.payload
        trade_id = payload.get("a") if message.kind == "aggTrade" else payload.get("t")
        yield {"a": trade_id, "p": payload.get("p"), "q": payload.get("q"), "T": payload.get("T"),
               "m": payload.get("m"), "f": payload.get("f", trade_id), "l": payload.get("l", trade_id), "_symbol": message.symbol, "_where": f"{path} ({message.kind} {trade_id})"}


def read_trade_rows(path: str | Path, symbol: str | None = None) -> tuple[list[dict[str, Any]], set[str]]:
    """The trades of one file as aggTrade dicts (``a, p, q, T, m`` and ``f, l`` when the file
    has them), in file order, unparsed, with the symbols a recording named.

    Parameters
    ----------
    path : str or Path
    symbol : str, optional
        Keep only this symbol's trades of a recording.

    Returns
    -------
    (list of dict, set of str)
        Rows (``_where`` names the file and line of each) and the recording's symbols
        (empty for CSV / JSON, which carry none).

    Raises
    ------
    InvalidInputError
        As :func:`read_trade_file`, except that no rows is not an error here.
    """
    path = Path(path)
    kind = detect_format(path)
    seen: set[str] = set()
    if kind == "csv":
        rows = _csv_rows(path)
    elif kind == "json":
        rows = _json_rows(path)
    elif kind == "jsonl":
        rows = _jsonl_rows(path)
    else:
        rows = _recording_rows(path, symbol.upper() if symbol else None, seen)
    try:
        return list(rows), seen
    except (OSError, EOFError) as exc:
        raise InvalidInputError(f"{path}: unreadable: {exc}") from None


def read_trade_file(path: str | Path, symbol: str | None = None) -> TradeArrays:
    """All trades of one file, oldest first (format detected; see the module docstring).

    Parameters
    ----------
    path : str or Path
    symbol : str, optional
        For a recording with several symbols: which one (required then).

    Raises
    ------
    InvalidInputError
        Unreadable content, naming the file and line; a recording with several symbols
        and no ``symbol``; a file with no trades.
    """
    path = Path(path)
    checked, seen = read_trade_rows(path, symbol)
    if symbol is None and len(seen) > 1:
        raise InvalidInputError(f"{path}: trades of several symbols ({', '.join(sorted(seen))}); choose one with --symbol")
    if not checked:
        raise InvalidInputError(f"{path}: no trades found" + (f" for {symbol}" if symbol else ""))
    return trades_from_rows(checked, str(path))


def read_trades(paths: Iterable[str | Path], symbol: str | None = None) -> TradeArrays:
    """Trades of several files (e.g. daily CSVs), joined: each trade id once, by time.

    Parameters
    ----------
    paths : iterable of str or Path
        Files; a directory stands for the files directly inside it.
    symbol : str, optional
        As :func:`read_trade_file`.
    """
    from obcore.replay import expand_paths

    files = expand_paths(paths)
    if not files:
        raise InvalidInputError("no trade files given")
    return merge_trades(*(read_trade_file(f, symbol) for f in files))
