"""Recording formats: read and write recorded Binance streams.

Two formats are read:

- **hftbacktest** (what our recorder writes): text, optionally gzipped, one message a
  line, ``<receive_time_ns> <json>``. The JSON is a combined-stream envelope
  ``{"stream": "ethusdt@depth@100ms", "data": {...}}`` or a bare REST depth snapshot
  ``{"lastUpdateId": ..., "bids": [...], "asks": [...]}``. Some files carry µs times;
  times below 1e17 are scaled to ns.
- **cryptofeed** sample files: ``BINANCE.ws.*`` (first line the subscribe URL, then
  ``<receive_epoch_s>: <combined json>``) and ``BINANCE.http.*``
  (``<url> -> <epoch_s>: <REST depth json>``, the symbol taken from the URL).

A bare Binance snapshot carries no symbol. Our recorder adds a ``"symbol"`` field to each
snapshot line; without it (single-symbol hftbacktest files) the snapshot belongs to the
symbol of the file's stream messages, taken from the nearest one (the next if it comes first).
"""

from __future__ import annotations

import gzip
import heapq
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

from obcore.errors import InvalidInputError

__all__ = ["Message", "RecordingWriter", "merge_by_time", "read_messages", "stream_kind"]

_CRYPTOFEED_HTTP = re.compile(rb"^(\S+) -> ([0-9.]+): (.*)$")
_SYMBOL_IN_URL = re.compile(r"[?&]symbol=([A-Za-z0-9]+)")


@dataclass(slots=True)
class Message:
    """One recorded message.

    ``kind`` is one of ``depth``, ``trade``, ``aggTrade``, ``bookTicker``, ``snapshot``,
    ``kline``, ``other``; ``payload`` is the Binance payload as sent (string numbers).
    """

    receive_time_ns: int
    stream: str | None
    symbol: str
    kind: str
    payload: dict[str, Any]


def stream_kind(stream: str) -> str:
    """Classify a stream name: ``"ethusdt@depth@100ms"`` -> ``"depth"``."""
    _, _, rest = stream.partition("@")
    channel = rest.split("@", 1)[0]
    if channel == "depth":
        return "depth"
    if channel.startswith("depth"):
        return "partialDepth"
    if channel.startswith("kline"):
        return "kline"
    if channel in ("trade", "aggTrade", "bookTicker"):
        return channel
    return "other"


def _open_text(path: Path) -> IO[bytes]:
    with open(path, "rb") as probe:
        magic = probe.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rb")
    return open(path, "rb")


def _to_ns(stamp: float | int) -> int:
    stamp = int(stamp)
    if stamp < 10**17:  # µs recordings (hftbacktest 2023 files)
        return stamp * 1000
    return stamp


def _envelope_message(receive_ns: int, obj: dict[str, Any]) -> Message:
    stream = obj.get("stream")
    data = obj.get("data")
    if isinstance(stream, str) and isinstance(data, dict):
        symbol = stream.split("@", 1)[0].upper()
        return Message(receive_ns, stream, symbol, stream_kind(stream), data)
    if "lastUpdateId" in obj and "bids" in obj:
        # Our recorder adds "symbol" to snapshot lines; other recordings leave it to the file.
        return Message(receive_ns, None, str(obj.get("symbol", "")).upper(), "snapshot", obj)
    event = obj.get("e")
    symbol = str(obj.get("s", "")).upper()
    kind = {"depthUpdate": "depth", "trade": "trade", "aggTrade": "aggTrade"}.get(event, "other")
    return Message(receive_ns, None, symbol, kind, obj)


def _read_hftbacktest(handle: IO[bytes], path: Path) -> Iterator[Message]:
    for number, line in enumerate(handle, 1):
        line = line.strip()
        if not line:
            continue
        stamp, sep, body = line.partition(b" ")
        if not sep:
            raise InvalidInputError(f"{path}:{number}: expected '<receive_time_ns> <json>', got {line[:60]!r}")
        try:
            obj = orjson.loads(body)
            receive_ns = _to_ns(int(stamp))
        except (orjson.JSONDecodeError, ValueError) as exc:
            raise InvalidInputError(f"{path}:{number}: unreadable line {line[:60]!r}: {exc}") from None
        yield _envelope_message(receive_ns, obj)


def _read_cryptofeed_ws(handle: IO[bytes], path: Path) -> Iterator[Message]:
    handle.readline()  # the subscribe URL
    for number, line in enumerate(handle, 2):
        line = line.strip()
        if not line:
            continue
        stamp, sep, body = line.partition(b": ")
        if not sep:
            raise InvalidInputError(f"{path}:{number}: expected '<epoch_s>: <json>', got {line[:60]!r}")
        try:
            receive_ns = int(round(float(stamp) * 1e9))
            obj = orjson.loads(body)
        except (orjson.JSONDecodeError, ValueError) as exc:
            raise InvalidInputError(f"{path}:{number}: unreadable line {line[:60]!r}: {exc}") from None
        yield _envelope_message(receive_ns, obj)


def _read_cryptofeed_http(handle: IO[bytes], path: Path) -> Iterator[Message]:
    for number, line in enumerate(handle, 1):
        line = line.strip()
        if not line:
            continue
        match = _CRYPTOFEED_HTTP.match(line)
        if match is None:
            raise InvalidInputError(f"{path}:{number}: expected '<url> -> <epoch_s>: <json>'")
        url = match.group(1).decode()
        symbol_match = _SYMBOL_IN_URL.search(url)
        symbol = symbol_match.group(1).upper() if symbol_match else ""
        receive_ns = int(round(float(match.group(2)) * 1e9))
        yield Message(receive_ns, None, symbol, "snapshot", orjson.loads(match.group(3)))


def _read_one(path: Path) -> Iterator[Message]:
    name = path.name
    with _open_text(path) as handle:
        if name.startswith("BINANCE.ws"):
            yield from _read_cryptofeed_ws(handle, path)
        elif name.startswith("BINANCE.http"):
            yield from _read_cryptofeed_http(handle, path)
        else:
            yield from _assign_snapshot_symbols(_read_hftbacktest(handle, path))


def _assign_snapshot_symbols(messages: Iterator[Message]) -> Iterator[Message]:
    pending: list[Message] = []
    symbol = ""
    for message in messages:
        if message.kind == "snapshot" and not message.symbol:
            if symbol:
                message.symbol = symbol
            else:
                pending.append(message)
                continue
        elif message.symbol and not symbol:
            symbol = message.symbol
            for held in pending:
                held.symbol = symbol
                yield held
            pending.clear()
        yield message
    yield from pending


def read_messages(paths: Iterable[str | Path] | str | Path) -> Iterator[Message]:
    """Yield every message of the given recordings, in file order, file after file.

    Use :func:`merge_by_time` to interleave files recorded side by side (a cryptofeed
    ``BINANCE.http.*`` beside its ``BINANCE.ws.*``).
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    for path in paths:
        path = Path(path)
        if not path.is_file():
            raise InvalidInputError(f"recording {str(path)!r} does not exist or is not a file")
        yield from _read_one(path)


def merge_by_time(paths: Iterable[str | Path]) -> Iterator[Message]:
    """Yield the messages of several recordings interleaved by receive time (stable)."""
    streams = [read_messages([path]) for path in paths]
    return heapq.merge(*streams, key=lambda message: message.receive_time_ns)


class RecordingWriter:
    """Write messages in the hftbacktest recording format (gzip when the path ends in .gz).

    ``write(receive_time_ns, obj)`` takes a dict (a combined envelope or a bare snapshot)
    or raw JSON (str/bytes) and writes ``<receive_time_ns> <json>`` on one line.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._handle: IO[bytes]
        if self.path.suffix == ".gz":
            self._handle = gzip.open(self.path, "wb", compresslevel=6)
        else:
            self._handle = open(self.path, "wb")
        self.lines = 0

    def write(self, receive_time_ns: int, obj: dict[str, Any] | str | bytes) -> None:
        """Append one ``<receive_time_ns> <json>`` line.

        Parameters
        ----------
        receive_time_ns : int
            Local receive time, ns since the epoch.
        obj : dict, str or bytes
            A combined envelope or bare payload as a dict, or raw JSON text; raw JSON
            spanning several lines is re-serialized compactly onto one.
        """
        if isinstance(obj, dict):
            body = orjson.dumps(obj)
        elif isinstance(obj, str):
            body = obj.encode()
        else:
            body = bytes(obj)
        if b"\n" in body:
            body = orjson.dumps(orjson.loads(body))
        self._handle.write(b"%d %s\n" % (receive_time_ns, body))
        self.lines += 1

    def write_stream(self, receive_time_ns: int, stream: str, payload: dict[str, Any]) -> None:
        """Append one stream message wrapped in a combined envelope ``{stream, data}``.

        Parameters
        ----------
        receive_time_ns : int
            Local receive time, ns since the epoch.
        stream : str
            Stream name, e.g. ``"ethusdt@depth@100ms"``.
        payload : dict
            The event as Binance sends it.
        """
        self.write(receive_time_ns, {"stream": stream, "data": payload})

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> RecordingWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
