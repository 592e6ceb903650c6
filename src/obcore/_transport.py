"""REST transport of the Binance client: HTTP, signing, server clock, weight and errors.

The I/O room under :class:`obcore.client.BinanceClient`: one ``httpx`` pool, requests
signed with HMAC-SHA256 (or Ed25519), ``timestamp`` kept on the server's clock (offset
measured via ``/time`` and re-measured periodically; one re-sync and retry on -1021),
request weight counted so the minute's limit is never crossed, ``Retry-After`` obeyed on
429/418, and every failure mapped to :mod:`obcore.errors` (``httpx`` never leaks out).
The endpoints live in :mod:`obcore.market_data` (public) and :mod:`obcore.account`
(signed); both build on :class:`Transport`.

Secrets: the API key and secret never appear in ``repr``, logs or exception messages.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any, Self

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
from obcore.ratelimit import WeightTracker, endpoint_weight
from obcore.signing import encode_params, sign_ed25519, sign_hmac_sha256
from obcore.validation import check_int

__all__ = ["BASE_URLS", "Transport"]

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


class Transport:
    """Transport, clock, weight and error mapping shared by every endpoint.

    Parameters are those of :class:`obcore.client.BinanceClient` (its public face).
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

    async def __aenter__(self) -> Self:
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


# -- request helpers shared by the endpoint modules ----------------------------------


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
