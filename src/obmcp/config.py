"""Server settings: one frozen dataclass filled from flags and the environment.

Environment variables: ``HOST``, ``PORT``, ``OBMCP_DATA_DIR``, ``OBMCP_STORE_MAX_BYTES``,
``OBMCP_STORE_RETENTION_DAYS``, ``OBMCP_TOKEN``,
``OBMCP_MAX_SESSIONS``, ``OBMCP_SESSION_IDLE_SECONDS``, ``OBMCP_SESSION_RECLAIM_SECONDS``, ``OBMCP_ALLOWED_HOSTS``,
``OBMCP_ALLOWED_ORIGINS``, ``OBMCP_HTTP_RESPONSE``, ``BINANCE_API_KEY``, ``BINANCE_API_SECRET``; trading (off by
default): ``OBMCP_ENABLE_TRADING``, ``OBMCP_NETWORK`` (testnet | demo | mainnet), ``OBMCP_ALLOW_MAINNET_TRADING``,
``OBMCP_MAX_ORDER_NOTIONAL``, ``OBMCP_MAX_DAILY_NOTIONAL``, ``OBMCP_TRADING_SYMBOLS``, ``OBMCP_AUDIT_LOG``. Flags win over the
environment, the environment over a ``.env`` file (``obmcp serve`` reads ``./.env`` or
``--env-file``; :func:`read_env_file`). Secrets are kept out of ``repr`` so they never reach a log line.
"""

from __future__ import annotations

import importlib.resources
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from obcore.errors import InvalidInputError

__all__ = [
    "BUNDLED_RECORDING",
    "HTTP_RESPONSE_MODES",
    "LOOPBACK_HOSTS",
    "MIN_TOKEN_LENGTH",
    "ServerSettings",
    "is_loopback",
    "parse_source",
    "read_env_file",
    "settings_from_env",
]

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")

_BUNDLED_DIR = Path(str(importlib.resources.files("obmcp") / "data" / "binance-ethusdt-2024-08-09"))
#: The real ETHUSDT recording shipped inside the package (obmcp/data/NOTICE.md), so
#: ``--source emulator`` works from any install, not only from a source checkout.
BUNDLED_RECORDING = (_BUNDLED_DIR / "ethusdt_20240808.gz", _BUNDLED_DIR / "ethusdt_20240809.gz")

_TOOL_NAME_STYLES = ("underscore", "dotted")
_MODES = ("stdio", "http")
_NETWORKS = ("testnet", "demo", "mainnet")
#: How a request POST is answered over HTTP: one JSON body, or an SSE stream.
HTTP_RESPONSE_MODES = ("json", "sse")


#: Shortest ``OBMCP_TOKEN`` accepted: a bearer token guards a server others can reach.
MIN_TOKEN_LENGTH = 32


def is_loopback(host: str) -> bool:
    """True when ``host`` names this machine only: ``localhost`` or a literal loopback address.

    Only literal addresses count (127.0.0.0/8, ``::1``); a name is never resolved, so
    ``127.attacker.example`` is not loopback.
    """
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_source(text: str) -> tuple[str, tuple[Path, ...]]:
    """Parse ``--source``: ``live``, ``emulator`` or ``replay:FILE[,FILE]``.

    Returns
    -------
    tuple
        ``(kind, paths)``; ``paths`` is empty for ``live`` and the bundled recording
        for ``emulator``.
    """
    if text == "live":
        return "live", ()
    if text == "emulator":
        missing = [str(path) for path in BUNDLED_RECORDING if not path.is_file()]
        if missing:
            raise InvalidInputError(
                f"--source emulator: the bundled recording is missing from this install ({missing[0]}); "
                "reinstall obcore[mcp], or use --source replay:FILE"
            )
        return "emulator", BUNDLED_RECORDING
    if text.startswith("replay:"):
        names = [part for part in text[len("replay:") :].split(",") if part]
        if not names:
            raise InvalidInputError(f"--source {text!r}: replay needs at least one file, e.g. replay:a.gz,b.gz")
        paths = tuple(Path(name).expanduser() for name in names)
        for path in paths:
            if not path.is_file():
                raise InvalidInputError(f"--source {text!r}: replay file {str(path)!r} does not exist")
        return "replay", paths
    raise InvalidInputError(f"--source {text!r}: expected 'live', 'emulator' or 'replay:FILE[,FILE]'")


@dataclass(frozen=True)
class ServerSettings:
    """Everything the server needs to start; validated on construction."""

    mode: str = "stdio"
    host: str = "127.0.0.1"
    port: int = 8000
    source: str = "live"
    max_symbols: int = 20
    # Where 1-s snapshots are stored (RocksDB); None: no history is kept.
    data_dir: Path | None = None
    # The store's hard cap and how long it keeps history (the spec's defaults).
    store_max_bytes: int = 1 << 30
    store_retention_days: float = 7.0
    tool_names: str = "underscore"
    max_sessions: int = 50
    session_idle_seconds: float = 30 * 60
    # At the session cap, the least recently used session idle this long is closed to
    # admit a new client (clients that never send DELETE would lock everyone out).
    session_reclaim_seconds: float = 30.0
    # "json" answers each request POST with one body: ~30 % more calls/s than an SSE
    # stream and half the 50-session p99 (bench/README.md). Our tools send nothing to the
    # client mid-request (no progress, logging or sampling), so nothing is lost; "sse" stays.
    http_response: str = "json"
    allowed_hosts: tuple[str, ...] = ()
    allowed_origins: tuple[str, ...] = ()
    token: str | None = field(default=None, repr=False)
    api_key: str | None = field(default=None, repr=False)
    api_secret: str | None = field(default=None, repr=False)
    # Trading (obcore.trading rails): off unless enabled; testnet unless told otherwise;
    # mainnet orders need the second opt-in as well.
    enable_trading: bool = False
    network: str = "testnet"
    allow_mainnet_trading: bool = False
    max_order_notional: str = "100"
    max_daily_notional: str = "500"
    trading_symbols: tuple[str, ...] = ("BTCUSDT", "ETHUSDT", "BNBUSDT")
    audit_log: Path | None = None

    def __post_init__(self) -> None:
        if self.network not in _NETWORKS:
            raise InvalidInputError(f"network {self.network!r}: expected one of {_NETWORKS}")
        for name in ("max_order_notional", "max_daily_notional"):
            raw = str(getattr(self, name))
            try:
                ok = Decimal(raw) > 0
            except ArithmeticError:
                ok = False
            if not ok:
                raise InvalidInputError(f"{name} {raw!r}: expected a positive decimal amount of the quote asset")
        if self.mode not in _MODES:
            raise InvalidInputError(f"mode {self.mode!r}: expected one of {_MODES}")
        if self.tool_names not in _TOOL_NAME_STYLES:
            raise InvalidInputError(f"tool names {self.tool_names!r}: expected one of {_TOOL_NAME_STYLES}")
        if self.http_response not in HTTP_RESPONSE_MODES:
            raise InvalidInputError(f"http response {self.http_response!r}: expected one of {HTTP_RESPONSE_MODES}")
        if not 0 <= self.port <= 65535:
            raise InvalidInputError(f"port {self.port}: expected 0..65535")
        if not 1 <= self.max_symbols <= 1024:
            raise InvalidInputError(f"max symbols {self.max_symbols}: expected 1..1024")
        if not 1 << 20 <= self.store_max_bytes <= 1 << 50:
            raise InvalidInputError(f"store max bytes {self.store_max_bytes}: expected 1 MiB..1 PiB")
        if not 1 / 24 <= self.store_retention_days <= 3650:
            raise InvalidInputError(f"store retention {self.store_retention_days} days: expected 1 hour (1/24)..3650 days")
        if not 1 <= self.max_sessions <= 100_000:
            raise InvalidInputError(f"max sessions {self.max_sessions}: expected 1..100000")
        if not self.session_idle_seconds > 0:
            raise InvalidInputError(f"session idle timeout {self.session_idle_seconds}: expected > 0 seconds")
        if not 0 <= self.session_reclaim_seconds < float("inf"):
            raise InvalidInputError(f"session reclaim grace {self.session_reclaim_seconds}: expected >= 0 seconds")
        parse_source(self.source)
        if self.mode == "http" and self.token is not None and len(self.token) < MIN_TOKEN_LENGTH:
            raise InvalidInputError(
                f"OBMCP_TOKEN has {len(self.token)} characters: expected at least {MIN_TOKEN_LENGTH} "
                "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))')"
            )
        # Anyone who can reach a non-loopback address could drive the server: demand a token.
        if self.mode == "http" and not is_loopback(self.host) and not self.token:
            raise InvalidInputError(
                f"host {self.host!r} is not a loopback address: set OBMCP_TOKEN so every request "
                "must carry 'Authorization: Bearer <token>'"
            )

    @property
    def source_kind(self) -> str:
        """``live``, ``emulator`` or ``replay``."""
        return parse_source(self.source)[0]

    @property
    def source_paths(self) -> tuple[Path, ...]:
        """Recording files replayed by the in-process emulator (empty for ``live``)."""
        return parse_source(self.source)[1]

    @property
    def audit_path(self) -> Path:
        """Where the trading audit log goes: ``audit_log``, else DATA_DIR/audit.jsonl, else ~/.obmcp/audit.jsonl."""
        if self.audit_log is not None:
            return self.audit_log
        if self.data_dir is not None:
            return self.data_dir / "audit.jsonl"
        return Path.home() / ".obmcp" / "audit.jsonl"

    def tool_name(self, name: str) -> str:
        """The wire name of tool ``name``: ``binance_<name>`` or ``binance.<name>``."""
        return f"binance.{name}" if self.tool_names == "dotted" else f"binance_{name}"


def _int(env: Mapping[str, str], key: str, default: int) -> int:
    raw = env.get(key)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise InvalidInputError(f"{key}={raw!r}: expected an integer") from None


def _float(env: Mapping[str, str], key: str, default: float) -> float:
    raw = env.get(key)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise InvalidInputError(f"{key}={raw!r}: expected a number of seconds") from None


def _flag(env: Mapping[str, str], key: str) -> bool:
    raw = (env.get(key) or "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise InvalidInputError(f"{key}={raw!r}: expected 1/true/yes/on or 0/false/no/off")


def _list(env: Mapping[str, str], key: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in env.get(key, "").split(",") if part.strip())


def read_env_file(path: Path) -> dict[str, str]:
    """Read a ``.env`` file: ``KEY=VALUE`` lines, ``#`` comments, blank lines, optional ``export``.

    A value may be quoted (``'…'`` or ``"…"``, taken as written); an unquoted value ends at
    `` #``. No interpolation, no escapes.

    Raises
    ------
    InvalidInputError
        A line that is not ``KEY=VALUE``, named by file and line number (never its text:
        it may hold a secret).
    """
    values: dict[str, str] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :].lstrip()
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key or not (key.replace("_", "a").isalnum() and key.isascii() and not key[0].isdigit()):
            raise InvalidInputError(f"{path}:{number}: expected KEY=VALUE (a variable name, '=', a value)")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif value[:1] in ("'", '"'):
            raise InvalidInputError(f"{path}:{number}: {key}: the quoted value has no closing quote")
        else:
            value = value.split(" #", 1)[0].rstrip()
        values[key] = value
    return values


def settings_from_env(env: Mapping[str, str] | None = None, **overrides: object) -> ServerSettings:
    """Build settings from the environment, then apply non-None ``overrides`` (the flags).

    Parameters
    ----------
    env : mapping, optional
        Defaults to ``os.environ``.
    **overrides
        Field values from the command line; ``None`` means "not given".
    """
    env = os.environ if env is None else env
    values: dict[str, object] = {
        "host": env.get("HOST") or "127.0.0.1",
        "port": _int(env, "PORT", 8000),
        "max_sessions": _int(env, "OBMCP_MAX_SESSIONS", 50),
        "store_max_bytes": _int(env, "OBMCP_STORE_MAX_BYTES", 1 << 30),
        "store_retention_days": _float(env, "OBMCP_STORE_RETENTION_DAYS", 7.0),
        "session_idle_seconds": _float(env, "OBMCP_SESSION_IDLE_SECONDS", 30 * 60),
        "session_reclaim_seconds": _float(env, "OBMCP_SESSION_RECLAIM_SECONDS", 30.0),
        "allowed_hosts": _list(env, "OBMCP_ALLOWED_HOSTS"),
        "allowed_origins": _list(env, "OBMCP_ALLOWED_ORIGINS"),
        "http_response": env.get("OBMCP_HTTP_RESPONSE") or "json",
        "token": env.get("OBMCP_TOKEN") or None,
        "api_key": env.get("BINANCE_API_KEY") or None,
        "api_secret": env.get("BINANCE_API_SECRET") or None,
        "enable_trading": _flag(env, "OBMCP_ENABLE_TRADING"),
        "network": env.get("OBMCP_NETWORK") or "testnet",
        "allow_mainnet_trading": _flag(env, "OBMCP_ALLOW_MAINNET_TRADING"),
        "max_order_notional": env.get("OBMCP_MAX_ORDER_NOTIONAL") or "100",
        "max_daily_notional": env.get("OBMCP_MAX_DAILY_NOTIONAL") or "500",
    }
    if env.get("OBMCP_TRADING_SYMBOLS"):
        values["trading_symbols"] = _list(env, "OBMCP_TRADING_SYMBOLS")
    if env.get("OBMCP_AUDIT_LOG"):
        values["audit_log"] = Path(env["OBMCP_AUDIT_LOG"]).expanduser()
    if env.get("OBMCP_DATA_DIR"):
        values["data_dir"] = Path(env["OBMCP_DATA_DIR"]).expanduser()
    for key, value in overrides.items():
        if value is not None:
            values[key] = Path(value).expanduser() if key in ("data_dir", "audit_log") else value
    return ServerSettings(**values)  # type: ignore[arg-type]
