"""Signed account and order endpoints of the Binance client, and the order request.

An order's parameters are one typed, frozen :class:`OrderRequest`, checked when built
(side, type, time in force, the fields each type needs, fixed-point numbers, the client
order id rule); :meth:`Account.submit_order` and :meth:`Account.submit_test_order` send
it, and ``new_order`` / ``test_order`` keep their keyword signatures as thin builders.
Orders against mainnet are refused unless the client allows mainnet trading.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from obcore._transport import Transport, _bool, _check_range
from obcore.errors import InvalidInputError
from obcore.signing import format_number
from obcore.validation import (
    ORDER_SIDES,
    ORDER_TYPES,
    RESPONSE_TYPES,
    TIME_IN_FORCE,
    check_choice,
    check_int,
    check_symbol,
)

__all__ = ["Account", "OrderRequest"]


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """One order's parameters (``POST /order`` and ``/order/test``), checked when built.

    Numbers may be str, Decimal or int and are sent fixed-point.

    Parameters
    ----------
    symbol : str
        E.g. ``"ETHUSDT"``.
    side : {"BUY", "SELL"}
    type : str
        ``LIMIT``, ``MARKET``, ``LIMIT_MAKER``, ``STOP_LOSS``, ``STOP_LOSS_LIMIT``,
        ``TAKE_PROFIT`` or ``TAKE_PROFIT_LIMIT``.
    time_in_force : {"GTC", "IOC", "FOK"}, optional
        Required for the ``*LIMIT`` types other than ``LIMIT_MAKER``.
    quantity : str, Decimal or int, optional
        Base-asset quantity.
    quote_order_qty : str, Decimal or int, optional
        Quote-asset amount, MARKET only (exactly one of this and ``quantity``).
    price, stop_price, iceberg_qty : str, Decimal or int, optional
        Limit price, trigger price and visible iceberg quantity.
    new_client_order_id : str, optional
        1-36 characters of ``[A-Za-z0-9_-]``.
    new_order_resp_type : {"ACK", "RESULT", "FULL"}, optional
    extra : mapping, optional
        Other Binance order parameters (``trailingDelta``, ``strategyId`` …), sent as
        given (bools as ``true``/``false``, floats fixed-point).

    Raises
    ------
    InvalidInputError
        A bad or missing argument for the order type.
    """

    symbol: str
    side: str
    type: str  # noqa: A003 - Binance's parameter name
    time_in_force: str | None = None
    quantity: object = None
    quote_order_qty: object = None
    price: object = None
    stop_price: object = None
    iceberg_qty: object = None
    new_client_order_id: str | None = None
    new_order_resp_type: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "extra", dict(self.extra))
        self.params()

    def params(self) -> dict[str, Any]:
        """The request's parameters as Binance names and formats them (a new dict).

        Returns
        -------
        dict
            ``symbol``, ``side``, ``type`` and every given field, Binance-named.
        """
        params: dict[str, Any] = {
            "symbol": check_symbol(self.symbol),
            "side": check_choice("side", self.side, ORDER_SIDES),
            "type": check_choice("type", self.type, ORDER_TYPES),
        }
        if self.time_in_force is not None:
            params["timeInForce"] = check_choice("time_in_force", self.time_in_force, TIME_IN_FORCE)
        for name, key, value in (
            ("quantity", "quantity", self.quantity),
            ("quote_order_qty", "quoteOrderQty", self.quote_order_qty),
            ("price", "price", self.price),
            ("stop_price", "stopPrice", self.stop_price),
            ("iceberg_qty", "icebergQty", self.iceberg_qty),
        ):
            if value is not None:
                params[key] = format_number(value, name)
        if self.new_client_order_id is not None:
            params["newClientOrderId"] = _client_order_id(self.new_client_order_id)
        if self.new_order_resp_type is not None:
            params["newOrderRespType"] = check_choice(
                "new_order_resp_type", self.new_order_resp_type, RESPONSE_TYPES
            )
        order_type = params["type"]
        if order_type in ("LIMIT", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"):
            _require(params, order_type, ("timeInForce", "quantity", "price"))
        elif order_type == "LIMIT_MAKER":
            _require(params, order_type, ("quantity", "price"))
        elif order_type == "MARKET":
            if ("quantity" in params) == ("quoteOrderQty" in params):
                raise InvalidInputError("a MARKET order needs exactly one of quantity or quote_order_qty")
        elif order_type in ("STOP_LOSS", "TAKE_PROFIT"):
            _require(params, order_type, ("quantity",))
        for key, value in self.extra.items():
            # Binance's other order parameters (trailingDelta, strategyId, ...) as given.
            if isinstance(value, bool):
                params[key] = _bool(value)
            elif isinstance(value, (float, Decimal)):
                params[key] = format_number(value, key)
            elif value is not None:
                params[key] = str(value)
        return params


class Account(Transport):
    """The signed endpoints, over :class:`~obcore._transport.Transport`."""

    async def account(self, *, omit_zero_balances: bool | None = None) -> dict[str, Any]:
        """``GET /account`` (signed, weight 20): balances, permissions, commission rates."""
        params = {"omitZeroBalances": None if omit_zero_balances is None else _bool(omit_zero_balances)}
        return await self._request("GET", "/account", params, signed=True)

    async def my_trades(
        self,
        symbol: str,
        *,
        order_id: int | None = None,
        start_time: int | None = None,
        end_time: int | None = None,
        from_id: int | None = None,
        limit: int = 500,
    ) -> list[dict[str, Any]]:
        """``GET /myTrades`` (signed; weight 20, 5 with ``order_id``): the account's fills.

        Parameters
        ----------
        symbol : str
            E.g. ``"ETHUSDT"``.
        order_id : int, optional
            Only fills of this order.
        start_time, end_time : int, optional
            Inclusive range in ms since the epoch, at most 24 h apart.
        from_id : int, optional
            First trade id to return (inclusive).
        limit : int
            Maximum rows, 1-1000.

        Returns
        -------
        list of dict
            Fills, oldest first.

        Raises
        ------
        InvalidInputError
            Bad argument, or a range longer than 24 h (nothing is sent).
        MissingCredentialsError
            No API key/secret configured.
        AuthenticationError
            Binance rejected the key (-2014/-2015 or HTTP 401).
        """
        params = {
            "symbol": check_symbol(symbol),
            "orderId": None if order_id is None else check_int("order_id", order_id, 0),
            "startTime": None if start_time is None else check_int("start_time", start_time, 0),
            "endTime": None if end_time is None else check_int("end_time", end_time, 0),
            "fromId": None if from_id is None else check_int("from_id", from_id, 0),
            "limit": check_int("limit", limit, 1, 1000),
        }
        _check_range(start_time, end_time, max_ms=24 * 3600 * 1000)
        return await self._request("GET", "/myTrades", params, signed=True)

    async def new_order(
        self,
        symbol: str,
        side: str,
        type: str,  # noqa: A002 - Binance's parameter name
        *,
        time_in_force: str | None = None,
        quantity: object = None,
        quote_order_qty: object = None,
        price: object = None,
        stop_price: object = None,
        iceberg_qty: object = None,
        new_client_order_id: str | None = None,
        new_order_resp_type: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """``POST /order`` (signed): place an order.

        Numbers may be str, Decimal or int and are sent fixed-point. An HTTP 5xx or a lost
        answer raises :class:`OrderOutcomeUnknownError` (the order may have executed:
        query it before retrying); it is never retried here.

        Parameters
        ----------
        symbol : str
            E.g. ``"ETHUSDT"``.
        side : {"BUY", "SELL"}
        type : str
            ``LIMIT``, ``MARKET``, ``LIMIT_MAKER``, ``STOP_LOSS``, ``STOP_LOSS_LIMIT``,
            ``TAKE_PROFIT`` or ``TAKE_PROFIT_LIMIT``.
        time_in_force : {"GTC", "IOC", "FOK"}, optional
            Required for the ``*LIMIT`` types other than ``LIMIT_MAKER``.
        quantity : str, Decimal or int, optional
            Base-asset quantity.
        quote_order_qty : str, Decimal or int, optional
            Quote-asset amount, MARKET only (exactly one of this and ``quantity``).
        price, stop_price, iceberg_qty : str, Decimal or int, optional
            Limit price, trigger price and visible iceberg quantity.
        new_client_order_id : str, optional
            1-36 characters of ``[A-Za-z0-9_-]``.
        new_order_resp_type : {"ACK", "RESULT", "FULL"}, optional
        **extra
            Other Binance order parameters (``trailingDelta``, ``strategyId`` …), sent as
            given (bools as ``true``/``false``, floats fixed-point).

        Returns
        -------
        dict
            The ACK/RESULT/FULL answer.

        Raises
        ------
        TradingDisabledError
            Mainnet without ``allow_mainnet_trading=True``.
        InvalidInputError
            A bad or missing argument for the order type (nothing is sent).
        MissingCredentialsError
            No API key/secret configured.
        FilterFailureError, OrderRejectedError
            Binance refused the order (-1013; -2010).
        OrderOutcomeUnknownError
            HTTP 5xx or no answer after sending: the order may have executed.
        """
        self._require_trading_allowed()
        return await self.submit_order(OrderRequest(
            symbol, side, type, time_in_force, quantity, quote_order_qty, price,
            stop_price, iceberg_qty, new_client_order_id, new_order_resp_type, extra,
        ))

    async def submit_order(self, request: OrderRequest) -> dict[str, Any]:
        """``POST /order`` (signed) of a built :class:`OrderRequest`; as :meth:`new_order`.

        Parameters
        ----------
        request : OrderRequest
            The order, already checked.

        Returns
        -------
        dict
            The ACK/RESULT/FULL answer.

        Raises
        ------
        TradingDisabledError, MissingCredentialsError, FilterFailureError, OrderRejectedError, OrderOutcomeUnknownError
            As :meth:`new_order`.
        """
        self._require_trading_allowed()
        return await self._request("POST", "/order", request.params(), signed=True, order_outcome_matters=True)

    async def test_order(
        self,
        symbol: str,
        side: str,
        type: str,  # noqa: A002
        *,
        compute_commission_rates: bool = False,
        time_in_force: str | None = None,
        quantity: object = None,
        quote_order_qty: object = None,
        price: object = None,
        stop_price: object = None,
        iceberg_qty: object = None,
        new_client_order_id: str | None = None,
        new_order_resp_type: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """``POST /order/test`` (signed; weight 1, 20 with commission rates): validate only.

        Parameters
        ----------
        symbol, side, type, time_in_force, quantity, quote_order_qty, price, stop_price, iceberg_qty, new_client_order_id, new_order_resp_type, **extra
            As for :meth:`new_order`.
        compute_commission_rates : bool
            Ask Binance for the commission the order would pay.

        Returns
        -------
        dict
            ``{}``, or the commission rates when ``compute_commission_rates`` is True.

        Raises
        ------
        InvalidInputError
            A bad or missing argument for the order type (nothing is sent).
        MissingCredentialsError
            No API key/secret configured.
        FilterFailureError, OrderRejectedError
            Binance would refuse the order.
        """
        request = OrderRequest(
            symbol, side, type, time_in_force, quantity, quote_order_qty, price,
            stop_price, iceberg_qty, new_client_order_id, new_order_resp_type, extra,
        )
        return await self.submit_test_order(request, compute_commission_rates=compute_commission_rates)

    async def submit_test_order(self, request: OrderRequest, *, compute_commission_rates: bool = False) -> dict[str, Any]:
        """``POST /order/test`` (signed) of a built :class:`OrderRequest`; as :meth:`test_order`.

        Parameters
        ----------
        request : OrderRequest
            The order, already checked.
        compute_commission_rates : bool
            Ask Binance for the commission the order would pay.

        Returns
        -------
        dict
            ``{}``, or the commission rates when ``compute_commission_rates`` is True.
        """
        params = request.params()
        if compute_commission_rates:
            params["computeCommissionRates"] = "true"
        return await self._request("POST", "/order/test", params, signed=True)

    async def get_order(
        self, symbol: str, *, order_id: int | None = None, orig_client_order_id: str | None = None
    ) -> dict[str, Any]:
        """``GET /order`` (signed, weight 4), by ``order_id`` or ``orig_client_order_id``.

        Parameters
        ----------
        symbol : str
            E.g. ``"ETHUSDT"``.
        order_id : int, optional
            Binance's order id.
        orig_client_order_id : str, optional
            The client order id given when placing; one of the two ids is required.

        Returns
        -------
        dict
            The order's current state (status, executed quantities, …).

        Raises
        ------
        InvalidInputError
            Neither id given, or a malformed one (nothing is sent).
        OrderRejectedError
            Binance does not know the order (-2013).
        """
        params = _order_ref(symbol, order_id, orig_client_order_id)
        return await self._request("GET", "/order", params, signed=True)

    async def cancel_order(
        self,
        symbol: str,
        *,
        order_id: int | None = None,
        orig_client_order_id: str | None = None,
        new_client_order_id: str | None = None,
    ) -> dict[str, Any]:
        """``DELETE /order`` (signed, weight 1): cancel one open order.

        Parameters
        ----------
        symbol : str
            E.g. ``"ETHUSDT"``.
        order_id : int, optional
            Binance's order id.
        orig_client_order_id : str, optional
            The client order id given when placing; one of the two ids is required.
        new_client_order_id : str, optional
            Client id for the cancellation itself (1-36 characters of ``[A-Za-z0-9_-]``).

        Returns
        -------
        dict
            The cancelled order's final state.

        Raises
        ------
        TradingDisabledError
            Mainnet without ``allow_mainnet_trading=True``.
        InvalidInputError
            Neither id given, or a malformed one (nothing is sent).
        OrderRejectedError
            Unknown or already closed order (-2011).
        OrderOutcomeUnknownError
            HTTP 5xx or no answer after sending: the cancel may have happened.
        """
        self._require_trading_allowed()
        params = _order_ref(symbol, order_id, orig_client_order_id)
        if new_client_order_id is not None:
            params["newClientOrderId"] = _client_order_id(new_client_order_id)
        return await self._request(
            "DELETE", "/order", params, signed=True, order_outcome_matters=True
        )

    async def open_orders(self, symbol: str | None = None) -> list[dict[str, Any]]:
        """``GET /openOrders`` (signed; weight 6, or 80 for all symbols)."""
        params = {"symbol": None if symbol is None else check_symbol(symbol)}
        return await self._request("GET", "/openOrders", params, signed=True)

    async def all_orders(
        self,
        symbol: str,
        *,
        order_id: int | None = None,
        start_time: int | None = None,
        end_time: int | None = None,
        limit: int = 500,
    ) -> list[dict[str, Any]]:
        """``GET /allOrders`` (signed, weight 20): orders from ``order_id`` on, or in a ≤24 h range.

        Parameters
        ----------
        symbol : str
            E.g. ``"ETHUSDT"``.
        order_id : int, optional
            First order id to return (inclusive).
        start_time, end_time : int, optional
            Inclusive range in ms since the epoch, at most 24 h apart.
        limit : int
            Maximum rows, 1-1000.

        Returns
        -------
        list of dict
            Orders of every status, oldest first.

        Raises
        ------
        InvalidInputError
            Bad argument, or a range longer than 24 h (nothing is sent).
        MissingCredentialsError
            No API key/secret configured.
        """
        params = {
            "symbol": check_symbol(symbol),
            "orderId": None if order_id is None else check_int("order_id", order_id, 0),
            "startTime": None if start_time is None else check_int("start_time", start_time, 0),
            "endTime": None if end_time is None else check_int("end_time", end_time, 0),
            "limit": check_int("limit", limit, 1, 1000),
        }
        _check_range(start_time, end_time, max_ms=24 * 3600 * 1000)
        return await self._request("GET", "/allOrders", params, signed=True)


# -- helpers -------------------------------------------------------------------------


def _require(params: dict[str, Any], order_type: str, names: tuple[str, ...]) -> None:
    missing = [n for n in names if n not in params]
    if missing:
        raise InvalidInputError(f"a {order_type} order needs {', '.join(missing)}")


_CLIENT_ORDER_ID = re.compile(r"[A-Za-z0-9_-]{1,36}")


def _client_order_id(value: str) -> str:
    # Binance's rule (the emulator's too): ^[a-zA-Z0-9-_]{1,36}$ — ASCII only, no dots.
    if not isinstance(value, str) or not _CLIENT_ORDER_ID.fullmatch(value):
        raise InvalidInputError(f"client order id must be 1-36 characters of [A-Za-z0-9_-], got {value!r}")
    return value


def _order_ref(symbol: str, order_id: int | None, orig_client_order_id: str | None) -> dict[str, Any]:
    if order_id is None and orig_client_order_id is None:
        raise InvalidInputError("give order_id or orig_client_order_id")
    return {
        "symbol": check_symbol(symbol),
        "orderId": None if order_id is None else check_int("order_id", order_id, 0),
        "origClientOrderId": None
        if orig_client_order_id is None
        else _client_order_id(orig_client_order_id),
    }
