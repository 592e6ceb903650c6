"""OrderRequest: one typed, frozen order shared by new_order and test_order (no network)."""

from __future__ import annotations

import asyncio
import dataclasses
from decimal import Decimal

import pytest

from obcore.account import OrderRequest
from obcore.client import BinanceClient
from obcore.errors import InvalidInputError


def test_a_request_is_frozen_and_checked_when_built():
    request = OrderRequest("ETHUSDT", "BUY", "LIMIT", time_in_force="GTC", quantity="0.0100",
                           price=Decimal("2500.10"), new_client_order_id="bot-1", extra={"strategyId": 7})
    assert request.params() == {"symbol": "ETHUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
                                "quantity": "0.0100", "price": "2500.10", "newClientOrderId": "bot-1",
                                "strategyId": "7"}  # fmt: skip
    with pytest.raises(dataclasses.FrozenInstanceError):
        request.price = "1"  # type: ignore[misc]
    for bad, word in [({"side": "buy"}, "side"), ({"type": "LIMIT", "price": None}, "price"),
                      ({"type": "MARKET", "time_in_force": None, "price": None, "quote_order_qty": "5"}, "exactly one"),
                      ({"new_client_order_id": "no spaces"}, "client order id")]:  # fmt: skip
        fields = {"symbol": "ETHUSDT", "side": "BUY", "type": "LIMIT", "time_in_force": "GTC",
                  "quantity": "1", "price": "1", **bad}  # fmt: skip
        with pytest.raises(InvalidInputError, match=word):
            OrderRequest(**fields)


@pytest.mark.parametrize("method", ["new_order", "test_order"])
def test_new_and_test_order_send_the_request_object(method):
    asyncio.run(_send_both_ways(method))


async def _send_both_ways(method):
    client = BinanceClient("http://127.0.0.1:9", api_key="k", api_secret="s")
    sent = []

    async def request(http_method, path, params, **options):
        sent.append((path, params))
        return {}

    client._request = request  # type: ignore[method-assign]
    try:
        await getattr(client, method)("ETHUSDT", "SELL", "MARKET", quantity="0.5", newOrderRespType="ACK")
        order = OrderRequest("ETHUSDT", "SELL", "MARKET", quantity="0.5", extra={"newOrderRespType": "ACK"})
        if method == "new_order":
            await client.submit_order(order)
        else:
            await client.submit_test_order(order)
    finally:
        await client.aclose()
    assert sent[0] == sent[1]
    assert sent[0][0] == ("/order" if method == "new_order" else "/order/test")
    assert sent[0][1] == {"symbol": "ETHUSDT", "side": "SELL", "type": "MARKET", "quantity": "0.5",
                          "newOrderRespType": "ACK"}  # fmt: skip
