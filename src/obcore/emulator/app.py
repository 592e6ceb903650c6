"""The emulator's REST app (ASGI, served by Hypercorn): routing, weights, headers, errors.

Every answer carries ``X-MBX-USED-WEIGHT-1M``; errors are ``{"code":..,"msg":..}`` with
Binance's HTTP status; 429/418 carry ``Retry-After``. Signed routes check the API key,
signature and timestamp (``obcore.emulator.auth``) before their handler runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from obcore.emulator.auth import check_api_key, check_signature, check_timestamp
from obcore.emulator.errors import ApiError
from obcore.emulator.market import server_time_ms
from obcore.emulator.params import Params, parse_params
from obcore.emulator.public import PUBLIC_ROUTES
from obcore.emulator.signed import SIGNED_ROUTES

if TYPE_CHECKING:  # pragma: no cover
    from obcore.emulator.server import Emulator

__all__ = ["build_app"]


def _response(status: int, body: Any, headers: dict[str, str]) -> Response:
    return Response(orjson.dumps(body), status_code=status, headers=headers, media_type="application/json")


def build_app(emulator: Emulator) -> Any:
    """Return the ASGI callable serving ``/api/v3/...`` for ``emulator``."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        response = await _handle(emulator, request)
        await response(scope, receive, send)

    return app


async def _handle(emulator: Emulator, request: Request) -> Response:
    method, path = request.method, request.url.path
    public = PUBLIC_ROUTES.get((method, path))
    signed = SIGNED_ROUTES.get((method, path))
    now = server_time_ms()
    limiter = emulator.limiter
    headers: dict[str, str] = {}
    if public is None and signed is None:
        headers["X-MBX-USED-WEIGHT-1M"] = str(limiter.used_now(now))
        return Response(b"<html><body><h2>404 Not found</h2></body></html>", status_code=404,
                        headers=headers, media_type="text/html")
    try:
        query = request.url.query
        body = (await request.body()).decode("utf-8", "replace")
        try:
            params = parse_params(query, body)
        except ApiError:
            params = Params()
            raise
        faults = emulator.faults
        if faults.n_429 > 0 or faults.n_418 > 0:
            is_ban = faults.n_429 == 0
            if is_ban:
                faults.n_418 -= 1
                raise ApiError(418, -1003, f"Way too much request weight used; IP banned until "
                                           f"{now + faults.retry_after_s * 1000}. Please use WebSocket Streams "
                                           "for live updates to avoid bans.", retry_after=faults.retry_after_s)
            faults.n_429 -= 1
            raise ApiError(429, -1003, "Too much request weight used; current limit is 6000 request weight per "
                                       "1 MINUTE. Please use WebSocket Streams for live updates to avoid polling "
                                       "the API.", retry_after=faults.retry_after_s)
        weight_fn, handler = public if public is not None else signed  # type: ignore[misc]
        limiter.charge(weight_fn(emulator, params), now)
        if signed is not None:
            secret = check_api_key(request.headers.get("x-mbx-apikey"), emulator.check_secret)
            check_signature(secret, query, body)
            check_timestamp(params, now)
            status, result = handler(emulator, params, headers)
        else:
            status, result = 200, handler(emulator, params)
    except ApiError as error:
        headers["X-MBX-USED-WEIGHT-1M"] = str(limiter.used_now(now))
        if error.retry_after is not None:
            headers["Retry-After"] = str(error.retry_after)
        return _response(error.status, error.body(), headers)
    headers["X-MBX-USED-WEIGHT-1M"] = str(limiter.used_now(now))
    return _response(status, result, headers)
