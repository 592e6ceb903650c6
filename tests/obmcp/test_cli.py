"""Tests for obmcp.cli: flags are parsed and mapped onto ServerSettings, and a bad value
exits with status 2 and a message naming it, all without starting a server."""

from __future__ import annotations

from pathlib import Path

import pytest

from obmcp import cli
from obmcp.config import ServerSettings

_ENV_KEYS = (
    "HOST", "PORT", "OBMCP_DATA_DIR", "OBMCP_TOKEN", "OBMCP_MAX_SESSIONS", "OBMCP_SESSION_IDLE_SECONDS",
    "OBMCP_ALLOWED_HOSTS", "OBMCP_ALLOWED_ORIGINS", "OBMCP_HTTP_RESPONSE", "BINANCE_API_KEY", "BINANCE_API_SECRET",
    "OBMCP_SESSION_RECLAIM_SECONDS", "OBMCP_STORE_MAX_BYTES", "OBMCP_STORE_RETENTION_DAYS",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # main() reads os.environ and ./.env; the developer's shell and checkout must not change the outcome.
    for key in _ENV_KEYS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> list[ServerSettings]:
    """Replace the serving coroutine so main() returns right after building settings."""
    seen: list[ServerSettings] = []

    async def fake_run(settings: ServerSettings) -> None:
        seen.append(settings)

    monkeypatch.setattr(cli, "run", fake_run)
    return seen


def test_parser_defaults() -> None:
    args = cli.build_parser().parse_args(["serve"])
    assert (args.command, args.mode, args.source, args.log_level) == ("serve", "stdio", "live", "WARNING")
    # Unset flags stay None so the environment (or the settings default) applies.
    assert args.host is None and args.port is None and args.max_sessions is None and args.http_response is None


def test_parser_reads_every_flag() -> None:
    args = cli.build_parser().parse_args(
        ["serve", "--mode", "http", "--host", "127.0.0.5", "--port", "8123", "--source", "emulator",
         "--max-symbols", "3", "--data-dir", "/tmp/x", "--tool-names", "dotted", "--max-sessions", "9",
         "--session-idle-seconds", "1.5", "--http-response", "sse", "--log-level", "DEBUG"]
    )
    assert args.mode == "http" and args.host == "127.0.0.5" and args.port == 8123
    assert args.source == "emulator" and args.max_symbols == 3 and args.data_dir == "/tmp/x"
    assert args.tool_names == "dotted" and args.max_sessions == 9 and args.session_idle_seconds == 1.5
    assert args.http_response == "sse" and args.log_level == "DEBUG"


def test_main_maps_flags_onto_settings(captured: list[ServerSettings], tmp_path: Path) -> None:
    status = cli.main(
        ["serve", "--mode", "http", "--port", "8124", "--source", "emulator", "--max-symbols", "4",
         "--data-dir", str(tmp_path), "--tool-names", "dotted", "--max-sessions", "11",
         "--session-idle-seconds", "60", "--http-response", "sse", "--store-max-bytes", "5000000",
         "--store-retention-days", "2"]
    )
    assert status == 0
    (settings,) = captured
    assert settings.mode == "http" and settings.host == "127.0.0.1" and settings.port == 8124
    assert settings.source_kind == "emulator" and settings.max_symbols == 4 and settings.data_dir == tmp_path
    assert settings.tool_names == "dotted" and settings.max_sessions == 11
    assert settings.session_idle_seconds == 60 and settings.http_response == "sse"
    assert settings.store_max_bytes == 5_000_000 and settings.store_retention_days == 2


def test_main_flags_win_over_environment(captured: list[ServerSettings], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "9001")
    monkeypatch.setenv("OBMCP_MAX_SESSIONS", "5")
    assert cli.main(["serve", "--port", "9002"]) == 0
    assert captured[0].port == 9002 and captured[0].max_sessions == 5


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["serve", "--port", "70000"], "70000"),
        (["serve", "--max-symbols", "0"], "max symbols 0"),
        (["serve", "--max-sessions", "0"], "max sessions 0"),
        (["serve", "--session-idle-seconds", "-1"], "-1"),
        (["serve", "--source", "kafka"], "'kafka'"),
        (["serve", "--source", "replay:/nonexistent/obmcp-test.gz"], "/nonexistent/obmcp-test.gz"),
        (["serve", "--mode", "http", "--host", "0.0.0.0"], "'0.0.0.0'"),
    ],
)
def test_main_bad_setting_exits_2_naming_it(
    argv: list[str], needle: str, captured: list[ServerSettings], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("obmcp: ") and needle in err
    assert captured == []  # nothing was served


def test_main_bad_environment_exits_2_naming_it(
    captured: list[ServerSettings], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PORT", "eighty")
    assert cli.main(["serve"]) == 2
    assert "PORT='eighty'" in capsys.readouterr().err
    assert captured == []


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["serve", "--mode", "grpc"], "'grpc'"),
        (["serve", "--port", "eighty"], "'eighty'"),
        (["serve", "--tool-names", "camel"], "'camel'"),
        (["serve", "--http-response", "xml"], "'xml'"),
        (["serve", "--session-idle-seconds", "soon"], "'soon'"),
        (["launch"], "'launch'"),
        ([], "command"),
    ],
)
def test_main_unparsable_flag_exits_2_naming_it(
    argv: list[str], needle: str, captured: list[ServerSettings], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    assert info.value.code == 2
    assert needle in capsys.readouterr().err
    assert captured == []


# --- .env (issue 10 item 9): flags > environment > .env ------------------------------------


def test_dotenv_in_the_working_directory_is_read(captured: list[ServerSettings], tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "# comment\n\nexport PORT=9005\nOBMCP_MAX_SESSIONS='12'\nHOST=\"127.0.0.2\"  \n"
        "OBMCP_SESSION_IDLE_SECONDS=90 # trailing comment\nOBMCP_TOKEN=\n"
    )
    assert cli.main(["serve", "--mode", "http"]) == 0
    (settings,) = captured
    assert (settings.port, settings.max_sessions, settings.host) == (9005, 12, "127.0.0.2")
    assert settings.session_idle_seconds == 90 and settings.token is None


def test_environment_wins_over_dotenv_and_flags_over_both(
    captured: list[ServerSettings], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text("PORT=9005\nOBMCP_MAX_SESSIONS=12\nOBMCP_SESSION_IDLE_SECONDS=90\n")
    monkeypatch.setenv("PORT", "9006")
    monkeypatch.setenv("OBMCP_MAX_SESSIONS", "13")
    assert cli.main(["serve", "--port", "9007"]) == 0
    (settings,) = captured
    assert (settings.port, settings.max_sessions, settings.session_idle_seconds) == (9007, 13, 90)


def test_explicit_env_file(captured: list[ServerSettings], tmp_path: Path) -> None:
    other = tmp_path / "prod.env"
    other.write_text("PORT=9010\n")
    (tmp_path / ".env").write_text("PORT=9005\n")
    assert cli.main(["serve", "--env-file", str(other)]) == 0
    assert captured[0].port == 9010


def test_missing_explicit_env_file_exits_2(captured: list[ServerSettings], capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["serve", "--env-file", "/nonexistent/obmcp.env"]) == 2
    assert "/nonexistent/obmcp.env" in capsys.readouterr().err and captured == []


def test_bad_dotenv_line_named_without_its_value(
    captured: list[ServerSettings], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / ".env").write_text("PORT=9005\nthis line has SECRETVALUE and no equals sign\n")
    assert cli.main(["serve"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("obmcp: ") and ".env:2" in err and "SECRETVALUE" not in err
    assert captured == []


def test_main_maps_the_trading_flags(captured: list[ServerSettings], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OBMCP_ENABLE_TRADING", raising=False)
    assert cli.main(["serve"]) == 0
    assert captured[-1].enable_trading is False and captured[-1].network == "testnet"
    status = cli.main(["serve", "--enable-trading", "--network", "mainnet", "--allow-mainnet-trading",
                       "--max-order-notional", "20", "--max-daily-notional", "60", "--audit-log", str(tmp_path / "a")])
    assert status == 0
    settings = captured[-1]
    assert settings.enable_trading and settings.network == "mainnet" and settings.allow_mainnet_trading
    assert (settings.max_order_notional, settings.max_daily_notional) == ("20", "60")
    assert settings.audit_path == tmp_path / "a"
