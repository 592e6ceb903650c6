"""Binance's request-weight and order-count limits, as the emulator enforces them.

Weight is per IP (here: per emulator) and per calendar minute, like Binance's
``X-MBX-USED-WEIGHT-1M``. A request that takes the minute over 6000 gets 429 -1003 with
``Retry-After`` (seconds to the next minute); after ``ban_after`` such answers in the same
minute the "IP" is banned for ``ban_seconds`` and every request gets 418 until then.
"""

from __future__ import annotations

from collections import deque

from obcore.emulator.errors import ApiError

__all__ = ["ORDERS_PER_10S", "ORDERS_PER_DAY", "REQUEST_WEIGHT_PER_MINUTE", "OrderCounter", "WeightLimiter"]

REQUEST_WEIGHT_PER_MINUTE = 6000
ORDERS_PER_10S = 100
ORDERS_PER_DAY = 200_000


class WeightLimiter:
    """Per-minute used weight, 429/418 decisions and the ban clock.

    Parameters
    ----------
    limit : int
        Request weight allowed per UTC minute.
    ban_after : int
        Over-limit requests tolerated (answered 429) in one minute before an IP ban.
    ban_seconds : int
        Length of the ban (answered 418).
    """

    def __init__(self, limit: int = REQUEST_WEIGHT_PER_MINUTE, ban_after: int = 3, ban_seconds: int = 120):
        self.limit = limit
        self.ban_after = ban_after
        self.ban_seconds = ban_seconds
        self.minute = 0
        self.used = 0
        self.rejected_this_minute = 0
        self.banned_until_ms = 0

    def _roll(self, now_ms: int) -> None:
        minute = now_ms // 60_000
        if minute != self.minute:
            self.minute = minute
            self.used = 0
            self.rejected_this_minute = 0

    def check_ban(self, now_ms: int) -> None:
        """Raise 418 while banned."""
        if now_ms < self.banned_until_ms:
            raise self.banned_error(now_ms)

    def banned_error(self, now_ms: int) -> ApiError:
        retry = max(1, -(-(self.banned_until_ms - now_ms) // 1000))
        return ApiError(418, -1003, f"Way too much request weight used; IP banned until {self.banned_until_ms}. "
                                    "Please use WebSocket Streams for live updates to avoid bans.",
                        retry_after=retry)

    def charge(self, weight: int, now_ms: int) -> None:
        """Add ``weight``; raise 429 (or 418 after repeated violations) when over the limit.

        Parameters
        ----------
        weight : int
            The request's weight.
        now_ms : int
            Server time, ms since the epoch (selects the minute).

        Raises
        ------
        ApiError
            429 (-1003) over the limit, 418 (-1003) while banned or when the
            over-limit count passes ``ban_after``; ``retry_after`` is set.
        """
        self._roll(now_ms)
        self.check_ban(now_ms)
        self.used += weight
        if self.used <= self.limit:
            return
        self.rejected_this_minute += 1
        if self.rejected_this_minute > self.ban_after:
            self.banned_until_ms = now_ms + self.ban_seconds * 1000
            raise self.banned_error(now_ms)
        retry = max(1, -(-((self.minute + 1) * 60_000 - now_ms) // 1000))
        raise ApiError(429, -1003, f"Too much request weight used; current limit is {self.limit} request weight "
                                   "per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling "
                                   "the API.", retry_after=retry)

    def used_now(self, now_ms: int) -> int:
        self._roll(now_ms)
        return self.used


class OrderCounter:
    """Orders placed in the last 10 s and the current UTC day (per account)."""

    def __init__(self) -> None:
        self.recent: deque[int] = deque()
        self.day = 0
        self.today = 0

    def counts(self, now_ms: int) -> tuple[int, int]:
        while self.recent and now_ms - self.recent[0] >= 10_000:
            self.recent.popleft()
        if now_ms // 86_400_000 != self.day:
            self.day = now_ms // 86_400_000
            self.today = 0
        return len(self.recent), self.today

    def check(self, now_ms: int) -> None:
        """Raise -1015 if one more order would pass a limit."""
        ten, day = self.counts(now_ms)
        if ten >= ORDERS_PER_10S:
            raise ApiError(429, -1015, f"Too many new orders; current limit is {ORDERS_PER_10S} orders per "
                                       "TEN_SECONDS.", retry_after=10)
        if day >= ORDERS_PER_DAY:
            raise ApiError(429, -1015, f"Too many new orders; current limit is {ORDERS_PER_DAY} orders per DAY.",
                           retry_after=3600)

    def add(self, now_ms: int) -> None:
        self.counts(now_ms)
        self.recent.append(now_ms)
        self.today += 1
