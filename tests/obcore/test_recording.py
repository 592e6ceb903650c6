"""Reading and writing the recording formats."""

from __future__ import annotations

import gzip

import orjson
import pytest

from obcore.errors import InvalidInputError
from obcore.recording import RecordingWriter, merge_by_time, read_messages, stream_kind


def test_stream_kind():
    assert stream_kind("ethusdt@depth@100ms") == "depth"
    assert stream_kind("ethusdt@depth") == "depth"
    assert stream_kind("ethusdt@depth20@100ms") == "partialDepth"
    assert stream_kind("ethusdt@kline_1m") == "kline"
    assert stream_kind("ethusdt@aggTrade") == "aggTrade"
    assert stream_kind("ethusdt@miniTicker") == "other"


def test_writer_round_trip_gzip_and_plain(tmp_path):
    depth = {"e": "depthUpdate", "E": 1, "s": "ETHUSDT", "U": 1, "u": 2, "b": [], "a": []}
    snapshot = {"lastUpdateId": 7, "bids": [["1.0", "2"]], "asks": [], "symbol": "BTCUSDT"}
    for name in ("rec.gz", "rec.txt"):
        path = tmp_path / name
        with RecordingWriter(path) as writer:
            writer.write_stream(1_700_000_000_000_000_001, "ethusdt@depth@100ms", depth)
            writer.write(1_700_000_000_000_000_002, snapshot)
            writer.write(1_700_000_000_000_000_003, b'{"stream":"ethusdt@aggTrade","data":{"e":"aggTrade"}}')
        assert writer.lines == 3
        messages = list(read_messages(path))
        assert [m.kind for m in messages] == ["depth", "snapshot", "aggTrade"]
        assert messages[0].payload == depth and messages[0].symbol == "ETHUSDT"
        assert messages[1].symbol == "BTCUSDT"  # the recorder's symbol field wins
        assert messages[2].receive_time_ns == 1_700_000_000_000_000_003
    assert gzip.open(tmp_path / "rec.gz").read().count(b"\n") == 3


def test_bare_snapshot_takes_the_files_symbol_and_microseconds_scale(tmp_path):
    path = tmp_path / "old.txt"
    path.write_bytes(
        b"1680652800004107 " + orjson.dumps({"lastUpdateId": 5, "bids": [], "asks": []}) + b"\n"
        b"1680652800004231 " + orjson.dumps({"stream": "btcusdt@trade", "data": {"e": "trade"}}) + b"\n"
    )
    snapshot, trade = read_messages(path)
    assert snapshot.kind == "snapshot" and snapshot.symbol == "BTCUSDT"
    assert trade.receive_time_ns == 1680652800004231000  # µs scaled to ns


def test_merge_by_time_interleaves(tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_bytes(b'1000000000000000001 {"stream":"x@trade","data":{}}\n3000000000000000000 {"stream":"x@trade","data":{}}\n')
    b.write_bytes(b'2000000000000000000 {"stream":"y@trade","data":{}}\n')
    assert [m.symbol for m in merge_by_time([a, b])] == ["X", "Y", "X"]


def test_bad_files_name_the_place(tmp_path):
    with pytest.raises(InvalidInputError, match="does not exist"):
        list(read_messages(tmp_path / "missing.gz"))
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"12345 {not json}\n")
    with pytest.raises(InvalidInputError, match=r"bad.txt:1"):
        list(read_messages(bad))
    bad.write_bytes(b"no-separator\n")
    with pytest.raises(InvalidInputError, match="receive_time_ns"):
        list(read_messages(bad))
