"""The one exception tree of obcore (and of obmcp, which maps it to tool errors).

::

    ObcoreError
    ├── InvalidInputError (ValueError)        bad argument; the message names the value
    │   └── PrecisionError                     a decimal finer than the symbol's scale
    ├── BookError
    │   └── BookNotReadyError                  the book is syncing / resyncing / stale
    ├── SymbolLimitError                       tracking one more symbol would pass the limit
    ├── InsufficientDataError                  too few trades/seconds in an analytics window
    ├── BinanceError                           an error answer from Binance (or the emulator)
    │   ├── InvalidSymbolError                 -1121
    │   ├── InvalidIntervalError               -1120
    │   ├── InvalidSignatureError              -1022
    │   ├── TimestampError                     -1021
    │   ├── FilterFailureError                 -1013
    │   ├── OrderRejectedError                 -2010, -2011, -2013
    │   ├── AuthenticationError                -2014, -2015 (HTTP 401)
    │   ├── RateLimitError                     HTTP 429 (retry_after seconds)
    │   │   └── IPBannedError                  HTTP 418 (retry_after seconds)
    │   └── OrderOutcomeUnknownError           HTTP 5xx on an order: it may have executed
    ├── TransportError                         network failure talking to Binance
    ├── MissingCredentialsError                a signed call without an API key and secret
    ├── TradingDisabledError                   trading was not enabled (or mainnet not opted in)
    └── StoreError
        ├── StorageLimitExceededError          code ``storage_limit_exceeded``
        ├── StoreLockedError                   another process holds the store
        └── InsufficientHistoryError           code ``insufficient_historical_data``

Third-party exceptions (httpx, websockets, rocksdict) are mapped to these at the boundary.
Secrets never appear in any message.
"""

from __future__ import annotations

__all__ = [
    "AuthenticationError",
    "BinanceError",
    "BookError",
    "BookNotReadyError",
    "FilterFailureError",
    "IPBannedError",
    "InsufficientHistoryError",
    "InvalidInputError",
    "InvalidIntervalError",
    "InvalidSignatureError",
    "InvalidSymbolError",
    "MissingCredentialsError",
    "ObcoreError",
    "OrderOutcomeUnknownError",
    "OrderRejectedError",
    "PrecisionError",
    "RateLimitError",
    "StoreError",
    "StoreLockedError",
    "StorageLimitExceededError",
    "SymbolLimitError",
    "TimestampError",
    "TradingDisabledError",
    "TransportError",
]


class ObcoreError(Exception):
    """Base of every error raised by obcore. ``code`` is a stable machine-readable name."""

    code: str = "internal_error"


class InvalidInputError(ObcoreError, ValueError):
    code = "invalid_input"


class PrecisionError(InvalidInputError):
    code = "invalid_precision"


class BookError(ObcoreError):
    code = "book_error"


class BookNotReadyError(BookError):
    code = "book_not_ready"


class SymbolLimitError(ObcoreError):
    code = "symbol_limit_reached"


class BinanceError(ObcoreError):
    """An error answer from Binance: ``{"code": <int>, "msg": "..."}`` plus the HTTP status.

    Parameters
    ----------
    binance_code : int
        Binance's error code (negative, e.g. -1121); stable, unlike the message text.
    message : str
        Binance's ``msg``, possibly with where it happened.
    http_status : int, optional
        The HTTP status of the answer (400, 401, 418, 429, 5xx …).
    """

    code = "binance_error"

    def __init__(self, binance_code: int, message: str, http_status: int | None = None):
        super().__init__(f"Binance error {binance_code}: {message}")
        self.binance_code = binance_code
        self.binance_message = message
        self.http_status = http_status


class InvalidSymbolError(BinanceError):
    code = "invalid_symbol"


class InvalidIntervalError(BinanceError):
    code = "invalid_interval"


class InvalidSignatureError(BinanceError):
    code = "invalid_signature"


class TimestampError(BinanceError):
    code = "timestamp_out_of_window"


class FilterFailureError(BinanceError):
    code = "filter_failure"


class OrderRejectedError(BinanceError):
    code = "order_rejected"


class AuthenticationError(BinanceError):
    code = "authentication_failed"


class RateLimitError(BinanceError):
    """HTTP 429: the request weight limit was broken.

    Parameters
    ----------
    binance_code, message, http_status
        As for :class:`BinanceError`.
    retry_after : float, optional
        Seconds to wait before any further request (Binance's ``Retry-After``).
    """

    code = "rate_limited"

    def __init__(
        self,
        binance_code: int,
        message: str,
        http_status: int | None = None,
        retry_after: float | None = None,
    ):
        super().__init__(binance_code, message, http_status)
        self.retry_after = retry_after


class IPBannedError(RateLimitError):
    code = "ip_banned"


class OrderOutcomeUnknownError(BinanceError):
    """HTTP 5xx on an order: Binance may or may not have executed it. Check before retrying."""

    code = "order_outcome_unknown"


class TransportError(ObcoreError):
    code = "network_error"


class MissingCredentialsError(ObcoreError):
    """A signed endpoint was called without an API key and secret configured."""

    code = "missing_credentials"


class TradingDisabledError(ObcoreError):
    code = "trading_disabled"


class StoreError(ObcoreError):
    code = "store_error"


class StorageLimitExceededError(StoreError):
    code = "storage_limit_exceeded"


class StoreLockedError(StoreError):
    code = "store_locked"


class InsufficientHistoryError(StoreError):
    code = "insufficient_historical_data"


class InsufficientDataError(ObcoreError):
    """Too few trades (or seconds) in an analytics window to answer.

    Code ``insufficient_historical_data`` (SPEC.md, volume profile: fewer than 1000 trades).

    Parameters
    ----------
    message : str
        Names what was found and what is needed.
    count : int
        What the window holds (e.g. trades).
    minimum : int
        What the analysis needs.
    """

    code = "insufficient_historical_data"

    def __init__(self, message: str, count: int, minimum: int):
        super().__init__(message)
        self.count = count
        self.minimum = minimum


__all__ += ["InsufficientDataError"]  # noqa: PLE0605 - appended by the analytics room
