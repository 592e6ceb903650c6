"""Async REST client for Binance spot (httpx): public market data and signed account/order calls.

The I/O shell for REST. It validates inputs before sending, signs with HMAC-SHA256 (or
Ed25519), keeps ``timestamp`` on the server's clock (offset measured via ``/time`` and
re-measured periodically; one re-sync and retry on -1021), counts request weight and waits
for the minute to roll over rather than crossing the limit, obeys ``Retry-After`` on
429/418 by refusing to send until then, and maps every failure to :mod:`obcore.errors`.
Answers are the parsed JSON, Binance's decimal strings untouched.

Secrets: the API key and secret are read from the arguments or ``BINANCE_API_KEY`` /
``BINANCE_API_SECRET`` and never appear in ``repr``, logs or exception messages.
"""

from __future__ import annotations

import asyncio
import re
import os
import time
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import httpx
import orjson

from obcore.errors import (
    AuthenticationError,
    BinanceError,
    FilterFailureError,
    InvalidInputError,
    InvalidIntervalError,
    InvalidSignatureError,
    InvalidSymbolError,
    IPBannedError,
    MissingCredentialsError,
    OrderOutcomeUnknownError,
    OrderRejectedError,
    RateLimitError,
    TimestampError,
    TradingDisabledError,
    TransportError,
)
from obcore.ratelimit import WeightTracker, endpoint_weight, ticker_24hr_weight
from obcore.signing import encode_params, format_number, sign_ed25519, sign_hmac_sha256
from obcore.validation import (
    ORDER_SIDES,
    ORDER_TYPES,
    RESPONSE_TYPES,
    TIME_IN_FORCE,
    check_choice,
    check_int,
    check_interval,
    check_symbol,
    check_symbols,
)

__all__ = ["BASE_URLS", "BinanceClient", "MissingCredentialsError"]

# Hosts where an order is a real order, whatever ``network`` says.
_MAINNET_HOSTS = frozenset(
    ["api.binance.com", "api-gcp.binance.com"] + [f"api{i}.binance.com" for i in range(1, 5)]
)

BASE_URLS = {
    "mainnet": "https://api.binance.com",
    "data": "https://data-api.binance.vision",
    "testnet": "https://testnet.binance.vision",
    "demo": "https://demo-api.binance.com",
}

_PREFIX = "/api/v3"

_ERRORS_BY_CODE: dict[int, type[BinanceError]] = {
    -1121: InvalidSymbolError,
    -1120: InvalidIntervalError,
    -1022: InvalidSignatureError,
    -1021: TimestampError,
    -1013: FilterFailureError,
    -2010: OrderRejectedError,
    -2011: OrderRejectedError,
    -2013: OrderRejectedError,
    -2014: AuthenticationError,
    -2015: AuthenticationError,
}


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


class BinanceClient:
    """Async client for the Binance spot REST API.

    Parameters
    ----------
    base_url : str, optional
        Overrides the network's URL (e.g. the local emulator's ``emu.rest_url``).
    network : {"testnet", "mainnet", "data", "demo"}
        Which Binance to talk to when ``base_url`` is not given. Testnet is the default,
        so signed calls never reach real money by accident.
    api_key, api_secret : str, optional
        Credentials for signed endpoints; default to ``BINANCE_API_KEY`` /
        ``BINANCE_API_SECRET``. A secret that is a PEM private key signs with Ed25519.
    recv_window : int
        ``recvWindow`` in ms for signed calls (1-60000).
    timeout : float
        Seconds for connecting and for each read.
    weight_limit : int
        Request weight allowed per minute (Binance: 6000).
    time_sync_interval : float
        Seconds after which the server-clock offset is measured again.
    allow_mainnet_trading : bool
        Order placement/cancellation against mainnet is refused unless this is True.
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        network: str = "testnet",
        api_key: str | None = None,
        api_secret: str | None = None,
        recv_window: int = 5000,
        timeout: float = 10.0,
        weight_limit: int = 6000,
        time_sync_interval: float = 300.0,
        allow_mainnet_trading: bool = False,
    ):
        if network not in BASE_URLS:
            raise InvalidInputError(f"network must be one of {sorted(BASE_URLS)}, got {network!r}")
        check_int("recv_window", recv_window, 1, 60_000)
        self.network = network
        self.base_url = (base_url or BASE_URLS[network]).rstrip("/")
        self._custom_url = base_url is not None
        self._api_key = api_key if api_key is not None else os.environ.get("BINANCE_API_KEY")
        self._api_secret = (
            api_secret if api_secret is not None else os.environ.get("BINANCE_API_SECRET")
        )
        self.recv_window = recv_window
        self.time_sync_interval = time_sync_interval
        self.allow_mainnet_trading = allow_mainnet_trading
        self.clock_offset_ms = 0.0
        self._clock_synced_at: float | None = None
        self._clock_lock = asyncio.Lock()
        self.weights = WeightTracker(weight_limit, clock_ms=self._server_now_ms)
        self._weight_lock = asyncio.Lock()
        self._blocked_until = 0.0  # monotonic time before which nothing is sent
        self._blocked_error: type[RateLimitError] = RateLimitError
        self.request_count = 0
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout),
            headers={"Accept": "application/json", "User-Agent": "obcore/0.1"},
        )

    # -- lifecycle -------------------------------------------------------------------

    async def aclose(self) -> None:
        """Close the HTTP connection pool."""
        await self._http.aclose()

    async def __aenter__(self) -> BinanceClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        keys = "set" if self.has_credentials else "unset"
        return f"BinanceClient(base_url={self.base_url!r}, network={self.network!r}, credentials={keys})"

    __str__ = __repr__

    @property
    def has_credentials(self) -> bool:
        """True when both an API key and a secret are configured."""
        return bool(self._api_key) and bool(self._api_secret)

    @property
    def used_weight(self) -> int:
        """Request weight used in the current minute, as far as this client knows."""
        return self.weights.used

    @property
    def blocked_for(self) -> float:
        """Seconds until requests may be sent again after a 429/418 (0 if not blocked)."""
        return max(0.0, self._blocked_until - time.monotonic())

    def _server_now_ms(self) -> float:
        return time.time() * 1000.0 + self.clock_offset_ms

    # -- transport -------------------------------------------------------------------

    async def _wait_for_weight(self, weight: int) -> None:
        # One waiter at a time, so concurrent callers cannot all pass the same check.
        async with self._weight_lock:
            while True:
                delay = self.weights.delay_for(weight)
                if delay <= 0:
                    break
                await asyncio.sleep(delay)
            self.weights.reserve(weight)

    def _raise_if_blocked(self) -> None:
        remaining = self.blocked_for
        if remaining > 0:
            raise self._blocked_error(
                -1003,
                f"not sent: Binance asked us to wait {remaining:.1f} s more (Retry-After)",
                None,
                retry_after=remaining,
            )

    async def _request(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        *,
        signed: bool = False,
        order_outcome_matters: bool = False,
        weight: int | None = None,
    ) -> Any:
        """Send one request (re-syncing the clock and retrying once on -1021)."""
        params = {k: v for k, v in (params or {}).items() if v is not None}
        if weight is None:
            weight = endpoint_weight(method, _PREFIX + path, params)
        if signed:
            self._require_credentials()
            await self._ensure_clock()
        try:
            return await self._send(method, path, params, weight, signed, order_outcome_matters)
        except TimestampError:
            if not signed:
                raise
            await self._sync_clock()
            return await self._send(method, path, params, weight, signed, order_outcome_matters)
        except InvalidSymbolError as exc:
            if "symbol" not in params:
                raise
            # Binance says only "Invalid symbol."; name the one we sent.
            raise InvalidSymbolError(
                exc.binance_code, f"{exc.binance_message} ({params['symbol']} is not listed)", exc.http_status
            ) from None

    async def _send(
        self,
        method: str,
        path: str,
        params: dict[str, Any],
        weight: int,
        signed: bool,
        order_outcome_matters: bool,
    ) -> Any:
        self._raise_if_blocked()
        await self._wait_for_weight(weight)
        self._raise_if_blocked()  # a ban may have started while we waited
        pairs = [(k, str(v)) for k, v in params.items()]
        headers = {}
        if signed:
            pairs.append(("recvWindow", str(self.recv_window)))
            pairs.append(("timestamp", str(int(self._server_now_ms()))))
            payload = encode_params(pairs)
            pairs.append(("signature", self._sign(payload)))
            headers["X-MBX-APIKEY"] = self._api_key or ""
        query = encode_params(pairs)
        url = _PREFIX + path + ("?" + query if query else "")
        self.request_count += 1
        try:
            response = await self._http.request(method, url, headers=headers)
        except httpx.HTTPError as exc:
            # Not even an answer. If the request may have reached the matching engine,
            # the order's fate is unknown; otherwise it is a plain network failure.
            reached = not isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout))
            where = f"{method} {_PREFIX}{path}"
            if order_outcome_matters and reached:
                raise OrderOutcomeUnknownError(
                    -1007, f"no answer to {where} ({type(exc).__name__}); the order may have executed"
                ) from None
            raise TransportError(f"network failure on {where}: {type(exc).__name__}: {exc}") from None
        self.weights.observe(response.headers.get("X-MBX-USED-WEIGHT-1M"))
        if response.status_code < 400:
            try:
                return orjson.loads(response.content)
            except orjson.JSONDecodeError:
                raise BinanceError(
                    0, f"unreadable answer to {method} {_PREFIX}{path}", response.status_code
                ) from None
        raise self._error_for(response, method, path, order_outcome_matters)

    def _error_for(
        self, response: httpx.Response, method: str, path: str, order_outcome_matters: bool
    ) -> Exception:
        status = response.status_code
        try:
            body = orjson.loads(response.content)
            code = int(body.get("code", 0))
            msg = str(body.get("msg", ""))
        except (orjson.JSONDecodeError, AttributeError, TypeError, ValueError):
            code, msg = 0, response.text[:200]
        where = f"{method} {_PREFIX}{path}"
        if status in (418, 429):
            retry_after = _retry_after(response)
            wait = retry_after if retry_after is not None else 60.0
            cls: type[RateLimitError] = IPBannedError if status == 418 else RateLimitError
            self._blocked_until = max(self._blocked_until, time.monotonic() + wait)
            self._blocked_error = cls
            return cls(code or -1003, f"{msg} (HTTP {status} on {where})", status, retry_after=wait)
        if status >= 500:
            text = msg or f"server error HTTP {status}"
            if order_outcome_matters:
                return OrderOutcomeUnknownError(
                    code or -1006, f"{text} on {where}; the order may have executed", status
                )
            return BinanceError(code or -1006, f"{text} on {where}", status)
        cls_by_code = _ERRORS_BY_CODE.get(code)
        if cls_by_code is None and status == 401:
            cls_by_code = AuthenticationError
        return (cls_by_code or BinanceError)(code, msg, status)

    def _require_credentials(self) -> None:
        if not self.has_credentials:
            raise MissingCredentialsError(
                "this endpoint is signed: set BINANCE_API_KEY and BINANCE_API_SECRET "
                "(or pass api_key/api_secret)"
            )
        if self.network == "data" and not self._custom_url:
            raise TradingDisabledError(
                "the data-only endpoint (data-api.binance.vision) has no signed endpoints; "
                "use network='testnet' or 'mainnet'"
            )

    @property
    def is_mainnet(self) -> bool:
        """True when orders would reach Binance's real market (by network or by host)."""
        host = (httpx.URL(self.base_url).host or "").lower()
        return (self.network == "mainnet" and not self._custom_url) or host in _MAINNET_HOSTS

    def _require_trading_allowed(self) -> None:
        if self.is_mainnet and not self.allow_mainnet_trading:
            raise TradingDisabledError(
                "order calls on mainnet are disabled: pass allow_mainnet_trading=True to opt in"
            )

    def _sign(self, payload: str) -> str:
        secret = self._api_secret or ""
        if secret.lstrip().startswith("-----BEGIN"):
            return sign_ed25519(secret, payload)
        return sign_hmac_sha256(secret, payload)

    # -- clock -----------------------------------------------------------------------

    async def _ensure_clock(self) -> None:
        synced = self._clock_synced_at
        if synced is None or time.monotonic() - synced > self.time_sync_interval:
            await self._sync_clock()

    async def _sync_clock(self) -> float:
        """Measure the server-clock offset (ms) from one ``/time`` round trip."""
        async with self._clock_lock:
            before = time.time() * 1000.0
            answer = await self._send("GET", "/time", {}, 1, False, False)
            after = time.time() * 1000.0
            # The server read its clock somewhere in the round trip; assume the middle.
            self.clock_offset_ms = float(answer["serverTime"]) - (before + after) / 2.0
            self._clock_synced_at = time.monotonic()
            return self.clock_offset_ms

    async def sync_clock(self) -> float:
        """Measure the offset between the server's clock and ours now.

        Returns
        -------
        float
            Server time minus local time, in ms (used for every signed ``timestamp``).
        """
        return await self._sync_clock()

    # -- public endpoints ------------------------------------------------------------

    async def ping(self) -> dict[str, Any]:
        """``GET /ping`` (weight 1): ``{}`` when the API is reachable."""
        return await self._request("GET", "/ping")

    async def server_time(self) -> int:
        """``GET /time`` (weight 1): the server's time in ms."""
        return int((await self._request("GET", "/time"))["serverTime"])

    async def exchange_info(
        self, symbol: str | None = None, symbols: Iterable[str] | None = None
    ) -> dict[str, Any]:
        """``GET /exchangeInfo`` (weight 20) for one symbol, several, or all.

        Parameters
        ----------
        symbol : str, optional
            One symbol, e.g. ``"ETHUSDT"``.
        symbols : iterable of str, optional
            Several symbols (1-10000); give ``symbol`` or ``symbols``, not both. Neither
            means every symbol.

        Returns
        -------
        dict
            ``timezone, serverTime, rateLimits, exchangeFilters, symbols`` as Binance sends them.

        Raises
        ------
        InvalidInputError
            Both ``symbol`` and ``symbols`` given, or a malformed symbol.
        InvalidSymbolError
            Binance does not know a symbol (-1121).
        """
        if symbol is not None and symbols is not None:
            raise InvalidInputError("give symbol or symbols, not both")
        params: dict[str, Any] = {}
        if symbol is not None:
            params["symbol"] = check_symbol(symbol)
        if symbols is not None:
            params["symbols"] = _json_list(check_symbols(symbols, 1, 10_000))
        return await self._request("GET", "/exchangeInfo", params)

    async def depth(self, symbol: str, limit: int = 100) -> dict[str, Any]:
        """``GET /depth``: ``{lastUpdateId, bids, asks}``, best level first.

        Parameters
        ----------
        symbol : str
            E.g. ``"ETHUSDT"``.
        limit : int
            Levels per side, 1-5000 (weight 5 up to 100, 25 to 500, 50 to 1000, 250 above).
        """
        params = {"symbol": check_symbol(symbol), "limit": check_int("limit", limit, 1, 5000)}
        return await self._request("GET", "/depth", params)

    async def trades(self, symbol: str, limit: int = 500) -> list[dict[str, Any]]:
        """``GET /trades`` (weight 25): the most recent trades, oldest first.

        Parameters
        ----------
        symbol : str
            E.g. ``"ETHUSDT"``.
        limit : int
            Number of trades, 1-1000.

        Returns
        -------
        list of dict
            Rows ``{id, price, qty, quoteQty, time, isBuyerMaker, isBestMatch}``; numbers
            are Binance's decimal strings, ``time`` in ms.

        Raises
        ------
        InvalidInputError
            Malformed symbol or ``limit`` out of range (nothing is sent).
        """
        params = {"symbol": check_symbol(symbol), "limit": check_int("limit", limit, 1, 1000)}
        return await self._request("GET", "/trades", params)

    async def agg_trades(
        self,
        symbol: str,
        *,
        from_id: int | None = None,
        start_time: int | None = None,
        end_time: int | None = None,
        limit: int = 500,
    ) -> list[dict[str, Any]]:
        """``GET /aggTrades`` (weight 4): rows ``{a,p,q,f,l,T,m,M}``.

        Parameters
        ----------
        symbol : str
            E.g. ``"ETHUSDT"``.
        from_id : int, optional
            First aggregate trade id to return (inclusive).
        start_time, end_time : int, optional
            Inclusive time range in ms since the epoch.
        limit : int
            Maximum rows, 1-1000.

        Returns
        -------
        list of dict
            Aggregate trades, oldest first.

        Raises
        ------
        InvalidInputError
            Malformed symbol, a negative id/time, ``limit`` out of range, or
            ``end_time < start_time`` (nothing is sent).
        """
        params = {
            "symbol": check_symbol(symbol),
            "fromId": None if from_id is None else check_int("from_id", from_id, 0),
            "startTime": None if start_time is None else check_int("start_time", start_time, 0),
            "endTime": None if end_time is None else check_int("end_time", end_time, 0),
            "limit": check_int("limit", limit, 1, 1000),
        }
        _check_range(start_time, end_time)
        return await self._request("GET", "/aggTrades", params)

    async def klines(
        self,
        symbol: str,
        interval: str,
        *,
        start_time: int | None = None,
        end_time: int | None = None,
        limit: int = 500,
        time_zone: str | None = None,
    ) -> list[list[Any]]:
        """``GET /klines`` (weight 2): candlesticks, oldest first.

        Parameters
        ----------
        symbol : str
            E.g. ``"ETHUSDT"``.
        interval : str
            One of ``1s 1m 3m … 1w 1M``.
        start_time, end_time : int, optional
            Inclusive range of open times in ms since the epoch.
        limit : int
            Maximum candles, 1-1000.
        time_zone : str, optional
            Binance ``timeZone`` for interval boundaries (e.g. ``"+08:00"``); default UTC.

        Returns
        -------
        list of list
            One row per candle as Binance sends it (open time, OHLC and volume strings, …).

        Raises
        ------
        InvalidInputError
            Malformed symbol, unknown interval, bad ``limit``/times, or
            ``end_time < start_time`` (nothing is sent).
        """
        params = {
            "symbol": check_symbol(symbol),
            "interval": check_interval(interval),
            "startTime": None if start_time is None else check_int("start_time", start_time, 0),
            "endTime": None if end_time is None else check_int("end_time", end_time, 0),
            "timeZone": time_zone,
            "limit": check_int("limit", limit, 1, 1000),
        }
        _check_range(start_time, end_time)
        return await self._request("GET", "/klines", params)

    async def ticker_24hr(
        self,
        symbol: str | None = None,
        symbols: Iterable[str] | None = None,
        type: str | None = None,  # noqa: A002 - Binance's parameter name
    ) -> dict[str, Any] | list[dict[str, Any]]:
        """``GET /ticker/24hr``: one symbol (a dict), several or all (a list).

        Weight: 2 for one symbol or up to 20 symbols, 40 up to 100, 80 beyond or for all.

        Parameters
        ----------
        symbol : str, optional
            One symbol; the answer is a dict.
        symbols : iterable of str, optional
            Several symbols; the answer is a list. Give ``symbol`` or ``symbols``, not
            both; neither means all symbols.
        type : {"FULL", "MINI"}, optional
            Binance's ``type`` (MINI omits the bid/ask and weighted-average fields).

        Returns
        -------
        dict or list of dict
            24-hour rolling statistics, Binance's decimal strings untouched.

        Raises
        ------
        InvalidInputError
            Both ``symbol`` and ``symbols``, a malformed symbol or an unknown ``type``.
        """
        if symbol is not None and symbols is not None:
            raise InvalidInputError("give symbol or symbols, not both")
        params: dict[str, Any] = {}
        if symbol is not None:
            params["symbol"] = check_symbol(symbol)
        if symbols is not None:
            params["symbols"] = check_symbols(symbols, 1, 10_000)
        if type is not None:
            params["type"] = check_choice("type", type, ("FULL", "MINI"))
        weight = ticker_24hr_weight(params.get("symbol"), params.get("symbols"))
        if "symbols" in params:
            params["symbols"] = _json_list(params["symbols"])
        return await self._request("GET", "/ticker/24hr", params, weight=weight)

    async def avg_price(self, symbol: str) -> dict[str, Any]:
        """``GET /avgPrice`` (weight 2): ``{mins, price, closeTime}``."""
        return await self._request("GET", "/avgPrice", {"symbol": check_symbol(symbol)})

    # -- signed endpoints ------------------------------------------------------------

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

    def _order_params(
        self,
        symbol: str,
        side: str,
        type: str,  # noqa: A002
        time_in_force: str | None,
        quantity: object,
        quote_order_qty: object,
        price: object,
        stop_price: object,
        iceberg_qty: object,
        new_client_order_id: str | None,
        new_order_resp_type: str | None,
        extra: dict[str, Any],
    ) -> dict[str, Any]:
        params: dict[str, Any] = {
            "symbol": check_symbol(symbol),
            "side": check_choice("side", side, ORDER_SIDES),
            "type": check_choice("type", type, ORDER_TYPES),
        }
        if time_in_force is not None:
            params["timeInForce"] = check_choice("time_in_force", time_in_force, TIME_IN_FORCE)
        for name, key, value in (
            ("quantity", "quantity", quantity),
            ("quote_order_qty", "quoteOrderQty", quote_order_qty),
            ("price", "price", price),
            ("stop_price", "stopPrice", stop_price),
            ("iceberg_qty", "icebergQty", iceberg_qty),
        ):
            if value is not None:
                params[key] = format_number(value, name)
        if new_client_order_id is not None:
            params["newClientOrderId"] = _client_order_id(new_client_order_id)
        if new_order_resp_type is not None:
            params["newOrderRespType"] = check_choice(
                "new_order_resp_type", new_order_resp_type, RESPONSE_TYPES
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
        for key, value in extra.items():
            # Binance's other order parameters (trailingDelta, strategyId, ...) as given.
            if isinstance(value, bool):
                params[key] = _bool(value)
            elif isinstance(value, (float, Decimal)):
                params[key] = format_number(value, key)
            elif value is not None:
                params[key] = str(value)
        return params

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
        params = self._order_params(
            symbol, side, type, time_in_force, quantity, quote_order_qty, price,
            stop_price, iceberg_qty, new_client_order_id, new_order_resp_type, extra,
        )
        return await self._request("POST", "/order", params, signed=True, order_outcome_matters=True)

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
        params = self._order_params(
            symbol, side, type, time_in_force, quantity, quote_order_qty, price,
            stop_price, iceberg_qty, new_client_order_id, new_order_resp_type, extra,
        )
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


def _json_list(symbols: list[str]) -> str:
    # Binance wants a compact JSON array: ["BTCUSDT","ETHUSDT"].
    return orjson.dumps(symbols).decode()


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _check_range(start: int | None, end: int | None, max_ms: int | None = None) -> None:
    if start is not None and end is not None:
        if end < start:
            raise InvalidInputError(f"end_time {end} is before start_time {start}")
        if max_ms is not None and end - start > max_ms:
            raise InvalidInputError(
                f"end_time - start_time = {end - start} ms is over the {max_ms} ms Binance allows"
            )


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
