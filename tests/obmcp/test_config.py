"""Tests for obmcp.config: environment parsing, flags over the environment, validation
errors naming the bad value, the token rule off loopback, and ``parse_source``."""

from __future__ import annotations

from pathlib import Path

import pytest

from obcore.errors import InvalidInputError

from obmcp.config import BUNDLED_RECORDING, ServerSettings, is_loopback, parse_source, settings_from_env

TOKEN = "0123456789abcdef0123456789abcdef"  # 32 characters, the minimum


def test_defaults_from_an_empty_environment() -> None:
    settings = settings_from_env({})
    assert settings == ServerSettings()
    assert (settings.host, settings.port, settings.max_sessions) == ("127.0.0.1", 8000, 50)
    assert settings.session_idle_seconds == 1800
    assert settings.http_response == "json"
    assert settings.store_max_bytes == 1 << 30 and settings.store_retention_days == 7
    assert settings.token is None and settings.api_key is None and settings.data_dir is None


def test_environment_is_parsed(tmp_path: Path) -> None:
    env = {
        "HOST": "0.0.0.0",
        "PORT": "9123",
        "OBMCP_DATA_DIR": str(tmp_path),
        "OBMCP_TOKEN": TOKEN,
        "OBMCP_MAX_SESSIONS": "7",
        "OBMCP_SESSION_IDLE_SECONDS": "2.5",
        "OBMCP_ALLOWED_HOSTS": " a.example , b.example:80,, ",
        "OBMCP_ALLOWED_ORIGINS": "https://x.example",
        "OBMCP_HTTP_RESPONSE": "sse",
        "OBMCP_STORE_MAX_BYTES": "2097152",
        "OBMCP_STORE_RETENTION_DAYS": "0.5",
        "BINANCE_API_KEY": "key",
        "BINANCE_API_SECRET": "secret",
    }
    settings = settings_from_env(env, mode="http")
    assert settings.host == "0.0.0.0" and settings.port == 9123
    assert settings.data_dir == tmp_path
    assert settings.token == TOKEN
    assert settings.max_sessions == 7 and settings.session_idle_seconds == 2.5
    assert settings.allowed_hosts == ("a.example", "b.example:80")
    assert settings.allowed_origins == ("https://x.example",)
    assert settings.http_response == "sse"
    assert settings.store_max_bytes == 2 << 20 and settings.store_retention_days == 0.5
    assert (settings.api_key, settings.api_secret) == ("key", "secret")


def test_empty_environment_values_mean_default() -> None:
    env = {"HOST": "", "PORT": "", "OBMCP_MAX_SESSIONS": "", "OBMCP_SESSION_IDLE_SECONDS": "", "OBMCP_TOKEN": ""}
    settings = settings_from_env(env)
    assert (settings.host, settings.port, settings.max_sessions, settings.token) == ("127.0.0.1", 8000, 50, None)


def test_flags_override_environment(tmp_path: Path) -> None:
    env = {"HOST": "127.0.0.2", "PORT": "9000", "OBMCP_MAX_SESSIONS": "3", "OBMCP_DATA_DIR": "/nonexistent/env"}
    settings = settings_from_env(env, host="127.0.0.3", port=9001, max_sessions=4, data_dir=str(tmp_path))
    assert (settings.host, settings.port, settings.max_sessions) == ("127.0.0.3", 9001, 4)
    assert settings.data_dir == tmp_path


def test_none_flags_leave_environment_in_place() -> None:
    settings = settings_from_env({"PORT": "9002"}, port=None, host=None)
    assert settings.port == 9002 and settings.host == "127.0.0.1"


def test_data_dir_expands_user(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert settings_from_env({}, data_dir="~/snaps").data_dir == tmp_path / "snaps"
    assert settings_from_env({"OBMCP_DATA_DIR": "~/env"}).data_dir == tmp_path / "env"


@pytest.mark.parametrize(
    ("key", "raw"),
    [("PORT", "eighty"), ("OBMCP_MAX_SESSIONS", "1.5"), ("OBMCP_SESSION_IDLE_SECONDS", "soon"),
     ("OBMCP_STORE_MAX_BYTES", "1GB"), ("OBMCP_STORE_RETENTION_DAYS", "week")],
)
def test_unparsable_environment_names_key_and_value(key: str, raw: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        settings_from_env({key: raw})
    assert f"{key}={raw!r}" in str(info.value)


@pytest.mark.parametrize(
    ("field", "value", "needle"),
    [
        ("mode", "grpc", "'grpc'"),
        ("tool_names", "camel", "'camel'"),
        ("http_response", "xml", "'xml'"),
        ("port", 70000, "70000"),
        ("port", -1, "-1"),
        ("max_symbols", 0, "max symbols 0"),
        ("max_symbols", 1025, "1025"),
        ("max_sessions", 0, "max sessions 0"),
        ("max_sessions", 100_001, "100001"),
        ("session_idle_seconds", 0, "timeout 0"),
        ("session_idle_seconds", -2.5, "-2.5"),
        ("source", "kafka", "'kafka'"),
        ("store_max_bytes", 1000, "store max bytes 1000"),
        ("store_retention_days", 0.01, "0.01 days"),
        ("store_retention_days", 4000, "4000 days"),
    ],
)
def test_every_validation_error_names_the_bad_value(field: str, value: object, needle: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        ServerSettings(**{field: value})  # type: ignore[arg-type]
    assert needle in str(info.value)


@pytest.mark.parametrize(("field", "value"), [("port", 0), ("port", 65535), ("max_symbols", 1024), ("max_sessions", 1)])
def test_range_bounds_are_inclusive(field: str, value: int) -> None:
    assert getattr(ServerSettings(**{field: value}), field) == value  # type: ignore[arg-type]


def test_token_required_for_http_off_loopback() -> None:
    with pytest.raises(InvalidInputError) as info:
        ServerSettings(mode="http", host="0.0.0.0")
    assert "'0.0.0.0'" in str(info.value) and "OBMCP_TOKEN" in str(info.value)
    assert ServerSettings(mode="http", host="0.0.0.0", token=TOKEN).token == TOKEN


@pytest.mark.parametrize("host", ["127.0.0.1", "127.1.2.3", "localhost", "::1"])
def test_no_token_needed_on_loopback(host: str) -> None:
    assert ServerSettings(mode="http", host=host).token is None


@pytest.mark.parametrize("host", ["127.attacker.example", "127.0.0.1.nip.io", "localhost.evil.example"])
def test_a_name_that_looks_like_loopback_needs_a_token(host: str) -> None:
    with pytest.raises(InvalidInputError, match="OBMCP_TOKEN"):
        ServerSettings(mode="http", host=host)


@pytest.mark.parametrize("length", [1, 8, 31])
def test_short_token_refused_without_echoing_it(length: int) -> None:
    token = "Z" * length
    with pytest.raises(InvalidInputError) as info:
        ServerSettings(mode="http", host="0.0.0.0", token=token)
    message = str(info.value)
    assert "32" in message and f"{length} characters" in message and token not in message
    with pytest.raises(InvalidInputError, match="32"):
        ServerSettings(mode="http", token=token)  # a short token is refused on loopback too
    assert ServerSettings(mode="http", host="0.0.0.0", token="k" * 32).token == "k" * 32


def test_stdio_needs_no_token_whatever_the_host() -> None:
    assert ServerSettings(mode="stdio", host="0.0.0.0").host == "0.0.0.0"


def test_token_required_via_environment() -> None:
    with pytest.raises(InvalidInputError, match="'192.168.1.5'"):
        settings_from_env({"HOST": "192.168.1.5"}, mode="http")
    assert settings_from_env({"HOST": "192.168.1.5", "OBMCP_TOKEN": TOKEN}, mode="http").token == TOKEN


@pytest.mark.parametrize(
    ("host", "expected"),
    [("127.0.0.1", True), ("127.9.9.9", True), ("localhost", True), ("::1", True),
     ("0.0.0.0", False), ("10.0.0.1", False), ("::", False), ("example.com", False),
     ("127.attacker.example", False), ("127.0.0.1.nip.io", False), ("localhost.evil.example", False),
     ("127.0.0.1 ", False), ("", False)],
)
def test_is_loopback(host: str, expected: bool) -> None:
    assert is_loopback(host) is expected


def test_secrets_are_kept_out_of_repr() -> None:
    settings = ServerSettings(token="tok-SECRET", api_key="key-SECRET", api_secret="sec-SECRET")
    assert "SECRET" not in repr(settings)


def test_tool_name_styles() -> None:
    assert ServerSettings().tool_name("ticker") == "binance_ticker"
    assert ServerSettings(tool_names="dotted").tool_name("ticker") == "binance.ticker"


def test_parse_source_live_and_emulator() -> None:
    assert parse_source("live") == ("live", ())
    assert parse_source("emulator") == ("emulator", BUNDLED_RECORDING)


def test_parse_source_replay(tmp_path: Path) -> None:
    first, second = tmp_path / "a.gz", tmp_path / "b.gz"
    first.write_bytes(b"")
    second.write_bytes(b"")
    assert parse_source(f"replay:{first},{second}") == ("replay", (first, second))
    # Empty parts (a trailing comma) are ignored.
    assert parse_source(f"replay:{first},") == ("replay", (first,))


def test_parse_source_replay_missing_file_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope.gz"
    with pytest.raises(InvalidInputError) as info:
        parse_source(f"replay:{missing}")
    assert repr(str(missing)) in str(info.value)


def test_parse_source_replay_refuses_a_directory(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="does not exist"):
        parse_source(f"replay:{tmp_path}")


@pytest.mark.parametrize("text", ["replay:", "replay:,,"])
def test_parse_source_replay_without_files(text: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        parse_source(text)
    assert repr(text) in str(info.value) and "at least one file" in str(info.value)


@pytest.mark.parametrize("text", ["", "LIVE", "replay", "file:a.gz"])
def test_parse_source_unknown_kind_named(text: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        parse_source(text)
    assert repr(text) in str(info.value)


def test_source_properties(tmp_path: Path) -> None:
    recording = tmp_path / "r.gz"
    recording.write_bytes(b"")
    settings = ServerSettings(source=f"replay:{recording}")
    assert settings.source_kind == "replay" and settings.source_paths == (recording,)
    assert ServerSettings().source_kind == "live" and ServerSettings().source_paths == ()


def test_trading_settings_default_off_testnet_and_checked(tmp_path):
    from obmcp.config import ServerSettings, settings_from_env

    default = settings_from_env({})
    assert (default.enable_trading, default.network, default.allow_mainnet_trading) == (False, "testnet", False)
    on = settings_from_env({"OBMCP_ENABLE_TRADING": "1", "OBMCP_NETWORK": "demo", "OBMCP_TRADING_SYMBOLS": "ETHUSDT, btcusdt",
                            "OBMCP_MAX_ORDER_NOTIONAL": "25.5", "OBMCP_AUDIT_LOG": str(tmp_path / "a.jsonl")})
    assert on.enable_trading and on.network == "demo" and on.trading_symbols == ("ETHUSDT", "btcusdt")
    assert on.max_order_notional == "25.5" and on.audit_path == tmp_path / "a.jsonl"
    assert settings_from_env({}, data_dir=str(tmp_path)).audit_path == tmp_path / "audit.jsonl"
    for env, needle in [({"OBMCP_NETWORK": "prod"}, "network"), ({"OBMCP_ENABLE_TRADING": "maybe"}, "OBMCP_ENABLE_TRADING"),
                        ({"OBMCP_MAX_DAILY_NOTIONAL": "-1"}, "max_daily_notional"),
                        ({"OBMCP_MAX_ORDER_NOTIONAL": "lots"}, "max_order_notional")]:
        with pytest.raises(InvalidInputError, match=needle):
            settings_from_env(env)
    assert ServerSettings(network="mainnet", allow_mainnet_trading=True).allow_mainnet_trading
