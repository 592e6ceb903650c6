"""WebSocket rules and faults: control messages, rate limit, age cut, pings, faults."""

from __future__ import annotations

import time

import anyio
import orjson
import pytest
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

from obcore.emulator import Emulator

pytestmark = pytest.mark.anyio


async def _emu(**kwargs) -> Emulator:
    emu = Emulator(speed=10.0, **kwargs)
    emu.add_scenario("calm", "BTCUSDT", seed=2)
    await emu.start()
    return emu


async def _recv_json(ws, timeout: float = 2.0):
    with anyio.fail_after(timeout):
        return orjson.loads(await ws.recv())


async def test_control_messages_and_errors():
    emu = await _emu()
    try:
        async with websockets.connect(emu.ws_url + "/ws") as ws:
            await ws.send('{"method":"SUBSCRIBE","params":["btcusdt@depth@100ms","btcusdt@trade"],"id":1}')
            assert await _recv_json(ws) == {"result": None, "id": 1}
            await ws.send('{"method":"LIST_SUBSCRIPTIONS","id":"abc"}')
            while (reply := await _recv_json(ws)).get("id") != "abc":
                pass
            assert reply == {"result": ["btcusdt@depth@100ms", "btcusdt@trade"], "id": "abc"}
            await ws.send('{"method":"UNSUBSCRIBE","params":["btcusdt@trade"],"id":2}')
            await ws.send("not json")
            await ws.send('{"method":"FLY","id":3}')
            await anyio.sleep(1.1)  # stay under 5 messages/s
            await ws.send('{"method":"SET_PROPERTY","params":["combined",1],"id":4}')
            await ws.send('{"method":"SET_PROPERTY","params":["colour",true],"id":5}')
            replies = {}
            with anyio.fail_after(3):
                while len(replies) < 5:
                    msg = orjson.loads(await ws.recv())
                    if "e" not in msg:
                        replies[msg.get("id")] = msg
            assert replies[2] == {"result": None, "id": 2}
            assert replies[None]["code"] == 3
            assert replies[3]["code"] == 2
            assert replies[4]["code"] == 1
            assert replies[5]["code"] == 0
    finally:
        await emu.stop()


async def test_raw_and_combined_payloads():
    emu = await _emu()
    try:
        async with websockets.connect(emu.ws_url + "/ws/btcusdt@depth@100ms") as raw, \
                websockets.connect(emu.ws_url + "/stream?streams=btcusdt@depth@100ms/btcusdt@bookTicker") as comb:
            event = await _recv_json(raw)
            assert event["e"] == "depthUpdate" and set(event) == {"e", "E", "s", "U", "u", "b", "a"}
            seen = set()
            with anyio.fail_after(3):
                while len(seen) < 2:
                    frame = orjson.loads(await comb.recv())
                    assert set(frame) == {"stream", "data"}
                    seen.add(frame["stream"])
                    if frame["stream"].endswith("bookTicker"):
                        assert set(frame["data"]) == {"u", "s", "b", "B", "a", "A"}
    finally:
        await emu.stop()


async def test_partial_depth_and_1000ms_depth():
    emu = await _emu()
    try:
        async with websockets.connect(emu.ws_url + "/stream?streams=btcusdt@depth5@100ms/btcusdt@depth") as ws:
            seen = {}
            with anyio.fail_after(4):
                while len(seen) < 2:
                    frame = orjson.loads(await ws.recv())
                    seen[frame["stream"]] = frame["data"]
            top = seen["btcusdt@depth5@100ms"]
            assert set(top) == {"lastUpdateId", "bids", "asks"} and len(top["bids"]) == 5
            merged = seen["btcusdt@depth"]
            assert merged["u"] >= merged["U"]
    finally:
        await emu.stop()


async def test_bad_path_and_bad_stream_rejected():
    emu = await _emu()
    try:
        with pytest.raises(InvalidStatus):
            async with websockets.connect(emu.ws_url + "/nope"):
                pass
        with pytest.raises(InvalidStatus):
            async with websockets.connect(emu.ws_url + "/ws/btcusdt@nonsense"):
                pass
    finally:
        await emu.stop()


async def test_more_than_five_messages_per_second_closes_1008():
    emu = await _emu()
    try:
        async with websockets.connect(emu.ws_url + "/ws") as ws:
            for i in range(6):
                await ws.send(orjson.dumps({"method": "LIST_SUBSCRIPTIONS", "id": i}).decode())
            with pytest.raises(ConnectionClosed) as info, anyio.fail_after(3):
                while True:
                    await ws.recv()
            assert info.value.rcvd.code == 1008
    finally:
        await emu.stop()


async def test_too_many_streams_rejected():
    emu = await _emu()
    try:
        async with websockets.connect(emu.ws_url + "/ws") as ws:
            names = [f"s{i}usdt@trade" for i in range(1025)]
            await ws.send(orjson.dumps({"method": "SUBSCRIBE", "params": names, "id": 9}).decode())
            reply = await _recv_json(ws)
            assert reply["code"] == 2 and reply["id"] == 9
    finally:
        await emu.stop()


async def test_connection_age_cut_and_server_ping():
    emu = Emulator(speed=10.0, ping_interval_s=0.2)
    emu.add_scenario("calm", "BTCUSDT", seed=2)
    emu.max_connection_age_s = 0.6
    await emu.start()
    try:
        async with websockets.connect(emu.ws_url + "/ws/btcusdt@trade", ping_interval=None) as ws:
            started = time.monotonic()
            with pytest.raises(ConnectionClosed), anyio.fail_after(3):
                while True:
                    await ws.recv()
            assert 0.5 < time.monotonic() - started < 2.0
            assert ws.close_code == 1001
    finally:
        await emu.stop()


async def test_faults_disconnect_shutdown_stall():
    emu = await _emu()
    try:
        async with websockets.connect(emu.ws_url + "/ws/btcusdt@depth@100ms") as ws:
            await _recv_json(ws)
            assert emu.faults.disconnect_all() == 1
            with pytest.raises(ConnectionClosed), anyio.fail_after(2):
                while True:
                    await ws.recv()
        async with websockets.connect(emu.ws_url + "/ws/btcusdt@depth@100ms") as ws:
            await _recv_json(ws)
            emu.faults.server_shutdown()
            frames = []
            with pytest.raises(ConnectionClosed), anyio.fail_after(3):
                while True:
                    frames.append(orjson.loads(await ws.recv()))
            assert any(f.get("e") == "serverShutdown" and isinstance(f.get("E"), int) for f in frames)
        async with websockets.connect(emu.ws_url + "/ws/btcusdt@depth@100ms") as ws:
            await _recv_json(ws)
            emu.faults.stall(0.8)
            await anyio.sleep(0.05)
            while True:  # drain what was queued before the stall
                try:
                    with anyio.fail_after(0.05):
                        await ws.recv()
                except TimeoutError:
                    break
            started = time.monotonic()
            await _recv_json(ws, timeout=3)
            assert time.monotonic() - started > 0.5
    finally:
        await emu.stop()


async def test_duplicate_and_out_of_order_faults():
    emu = await _emu()
    try:
        async with websockets.connect(emu.ws_url + "/ws/btcusdt@depth@100ms") as ws:
            await _recv_json(ws)
            emu.faults.duplicate("BTCUSDT")
            a, b = await _recv_json(ws), await _recv_json(ws)
            assert a == b
            emu.faults.out_of_order("BTCUSDT")
            c, d = await _recv_json(ws), await _recv_json(ws)
            assert c["U"] == a["u"] + 2 or c["U"] > d["u"]
            assert d["U"] == a["u"] + 1 and c["U"] == d["u"] + 1
        with pytest.raises(ValueError):
            emu.faults.gap("NOPE")
    finally:
        await emu.stop()
