"""The emulator's error answer: an HTTP status plus Binance's ``{"code":..,"msg":..}`` body."""

from __future__ import annotations

__all__ = ["ApiError", "illegal_characters", "mandatory_missing"]


class ApiError(Exception):
    """Raised inside request handlers; the app turns it into the HTTP answer.

    Parameters
    ----------
    status : int
        HTTP status, e.g. 400, 401, 418 or 429.
    code : int
        Binance error code, e.g. -1121.
    msg : str
        Binance's message text, sent in the ``{"code", "msg"}`` body.
    retry_after : int, optional
        Seconds for the ``Retry-After`` header (429/418).
    """

    def __init__(self, status: int, code: int, msg: str, *, retry_after: int | None = None):
        super().__init__(f"HTTP {status} {code}: {msg}")
        self.status = status
        self.code = code
        self.msg = msg
        self.retry_after = retry_after

    def body(self) -> dict[str, object]:
        return {"code": self.code, "msg": self.msg}


def mandatory_missing(name: str) -> ApiError:
    """-1102 for a missing or empty parameter."""
    return ApiError(400, -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")


def illegal_characters(name: str, legal: str) -> ApiError:
    """-1100 for a value that does not match the parameter's pattern.

    Parameters
    ----------
    name : str
        Parameter name, e.g. ``"timestamp"``.
    legal : str
        The pattern quoted in Binance's message, e.g. ``"^[0-9]{1,20}$"``.

    Returns
    -------
    ApiError
        HTTP 400, code -1100 (returned, not raised).
    """
    return ApiError(400, -1100, f"Illegal characters found in parameter '{name}'; legal range is '{legal}'.")
