"""The emulator's error answer: an HTTP status plus Binance's ``{"code":..,"msg":..}`` body."""

from __future__ import annotations

__all__ = ["ApiError", "illegal_characters", "mandatory_missing"]


class ApiError(Exception):
    """Raised inside request handlers; the app turns it into the HTTP answer."""

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
    """-1100 for a value that does not match the parameter's pattern."""
    return ApiError(400, -1100, f"Illegal characters found in parameter '{name}'; legal range is '{legal}'.")
