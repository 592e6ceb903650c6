"""Server side of the trading rails: the account client and the :class:`obcore.trading.Trader`.

Room: obmcp wiring only (the rails themselves live in :mod:`obcore.trading`).
:func:`open_account` builds, next to the market-data client, a client for the account
and order endpoints on the configured network (testnet by default; the in-process
emulator for ``--source emulator``/``replay:``) and, when trading is enabled, the
Trader with the configured caps, allowlist and audit log. Tools reach them through
:func:`account_client` and :func:`trader`, which say clearly what is missing.
"""

from __future__ import annotations

import contextlib
from decimal import Decimal
from typing import Any

from obcore.errors import MissingCredentialsError, TradingDisabledError

from obmcp.backend import Backend
from obmcp.catalog import ToolContext
from obmcp.config import ServerSettings

__all__ = ["account_client", "emulator_keys", "open_account", "trader"]

_NO_KEYS = (
    "account tools need a Binance API key and secret: set BINANCE_API_KEY and BINANCE_API_SECRET "
    "(testnet keys from https://testnet.binance.vision for the default network)"
)


def emulator_keys(settings: ServerSettings) -> dict[str, str]:
    """The in-process emulator's credentials: the configured keys, if any (else its defaults)."""
    if settings.api_key and settings.api_secret:
        return {"api_key": settings.api_key, "api_secret": settings.api_secret}
    return {}


async def open_account(stack: contextlib.AsyncExitStack, settings: ServerSettings, backend: Backend) -> None:
    """Put the account client (and, with trading enabled, the Trader) into ``backend.extras``."""
    from obcore.client import BinanceClient
    from obcore.trading import AuditLog, Trader, TradingLimits

    emulator = backend.extras.get("emulator")
    if emulator is not None:
        key = settings.api_key if settings.api_key and settings.api_secret else emulator.api_key
        secret = settings.api_secret if settings.api_key and settings.api_secret else emulator._api_secret
        client = BinanceClient(backend.rest_url, network=settings.network, api_key=key, api_secret=secret,
                               allow_mainnet_trading=settings.allow_mainnet_trading)
    else:
        if not (settings.api_key and settings.api_secret):
            backend.extras["account_problem"] = _NO_KEYS
            return
        client = BinanceClient(network=settings.network, api_key=settings.api_key, api_secret=settings.api_secret,
                               allow_mainnet_trading=settings.allow_mainnet_trading)
        key, secret = settings.api_key, settings.api_secret
    stack.push_async_callback(client.aclose)
    backend.extras["account_client"] = client
    if settings.enable_trading:
        limits = TradingLimits(Decimal(settings.max_order_notional), Decimal(settings.max_daily_notional),
                               settings.trading_symbols)
        audit = AuditLog(settings.audit_path, redact=(key, secret))
        backend.extras["trader"] = Trader(client, network=settings.network,
                                          allow_mainnet=settings.allow_mainnet_trading, limits=limits, audit=audit)


def account_client(context: ToolContext) -> Any:
    """The account/order client.

    Raises
    ------
    MissingCredentialsError
        No API key/secret configured (the message says how to set them).
    """
    client = context.backend.extras.get("account_client")
    if client is None:
        raise MissingCredentialsError(context.backend.extras.get("account_problem", _NO_KEYS))
    return client


def trader(context: ToolContext) -> Any:
    """The Trader (rails around the account client).

    Raises
    ------
    TradingDisabledError
        Trading is not enabled on this server.
    MissingCredentialsError
        No API key/secret configured.
    """
    found = context.backend.extras.get("trader")
    if found is None:
        account_client(context)
        raise TradingDisabledError("trading is not enabled on this server: start it with --enable-trading "
                                   "(or OBMCP_ENABLE_TRADING=1); orders go to testnet by default")
    return found
