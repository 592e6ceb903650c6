"""Public market-data endpoints of the Binance client (no key needed).

``ping``, ``server_time``, ``exchange_info``, ``depth``, ``trades``, ``agg_trades``,
``klines``, ``ticker_24hr`` and ``avg_price``: each validates its arguments before
anything is sent (:mod:`obcore.validation`), states its request weight, and returns
Binance's parsed JSON with the decimal strings untouched.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from obcore._transport import Transport, _check_range, _json_list
from obcore.errors import InvalidInputError
from obcore.ratelimit import ticker_24hr_weight
from obcore.validation import (
    check_choice,
    check_int,
    check_interval,
    check_symbol,
    check_symbols,
)

__all__ = ["MarketData"]


class MarketData(Transport):
    """The public endpoints, over :class:`~obcore._transport.Transport`."""

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
