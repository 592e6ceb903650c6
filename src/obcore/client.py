"""Async REST client for Binance spot (httpx): public market data and signed account/order calls.

The I/O shell for REST. It validates inputs before sending, signs with HMAC-SHA256 (or
Ed25519), keeps ``timestamp`` on the server's clock (offset measured via ``/time`` and
re-measured periodically; one re-sync and retry on -1021), counts request weight and waits
for the minute to roll over rather than crossing the limit, obeys ``Retry-After`` on
429/418 by refusing to send until then, and maps every failure to :mod:`obcore.errors`.
Answers are the parsed JSON, Binance's decimal strings untouched.

The class is assembled from its three jobs: :mod:`obcore._transport` (HTTP, signing,
clock, weight, error mapping), :mod:`obcore.market_data` (public endpoints) and
:mod:`obcore.account` (signed account and order calls, :class:`OrderRequest`).

Secrets: the API key and secret are read from the arguments or ``BINANCE_API_KEY`` /
``BINANCE_API_SECRET`` and never appear in ``repr``, logs or exception messages.
"""

from __future__ import annotations

from obcore._transport import BASE_URLS
from obcore.account import Account, OrderRequest
from obcore.errors import MissingCredentialsError
from obcore.market_data import MarketData

__all__ = ["BASE_URLS", "BinanceClient", "MissingCredentialsError", "OrderRequest"]


class BinanceClient(Account, MarketData):
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
