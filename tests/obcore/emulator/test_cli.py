"""``python -m obcore.emulator``: bad arguments exit 2 with ``error: ...``; credentials from the environment."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import httpx
import orjson
import pytest

from obcore.emulator.__main__ import parse_args
from tests.obcore.emulator.helpers import KEY, SECRET, signed_query

SRC = Path(__file__).resolve().parents[3] / "src"
ENV = {"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"}


def _run(*args: str, timeout: float = 20) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "obcore.emulator", *args], capture_output=True, text=True,
                          env=ENV, timeout=timeout)


@pytest.mark.parametrize(("args", "named"), [
    (["--scenario", "bogus:BTCUSDT"], "'bogus'"),
    (["--scenario", "calm"], "'calm'"),
    (["--replay", "/nonexist"], "/nonexist"),
    (["--speed", "-3", "--scenario", "calm:BTCUSDT"], "-3"),
    (["--port", "99999"], "99999"),
    (["--ws-port", "-1"], "-1"),
    (["--port", "http"], "'http'"),
])
def test_bad_argument_exits_2_naming_the_value(args, named):
    proc = _run(*args)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "error:" in proc.stderr and named in proc.stderr
    assert proc.stdout == ""


def test_port_in_use_exits_2():
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        proc = _run("--scenario", "calm:BTCUSDT", "--port", str(port))
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: ") and str(port) in proc.stderr


def test_credentials_from_environment_and_flags_override(monkeypatch):
    monkeypatch.setenv("OBCORE_EMULATOR_API_KEY", "envKey")
    monkeypatch.setenv("OBCORE_EMULATOR_API_SECRET", "envSecret")
    args = parse_args([])
    assert (args.api_key, args.api_secret) == ("envKey", "envSecret")
    args = parse_args(["--api-key", "flagKey", "--api-secret", "flagSecret"])
    assert (args.api_key, args.api_secret) == ("flagKey", "flagSecret")
    monkeypatch.delenv("OBCORE_EMULATOR_API_KEY")
    monkeypatch.delenv("OBCORE_EMULATOR_API_SECRET")
    assert (parse_args([]).api_key, parse_args([]).api_secret) == ("emulatorApiKey", "emulatorApiSecret")


def test_help_mentions_environment_variables():
    proc = _run("--help")
    assert proc.returncode == 0
    assert "OBCORE_EMULATOR_API_KEY" in proc.stdout and "OBCORE_EMULATOR_API_SECRET" in proc.stdout


def test_server_accepts_secret_from_environment_only():
    proc = subprocess.Popen([sys.executable, "-m", "obcore.emulator", "--scenario", "calm:BTCUSDT"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**ENV, "OBCORE_EMULATOR_API_KEY": KEY, "OBCORE_EMULATOR_API_SECRET": SECRET})
    try:
        urls = orjson.loads(proc.stdout.readline())
        with httpx.Client(base_url=urls["rest_url"], headers={"X-MBX-APIKEY": KEY}, timeout=10) as c:
            assert c.get("/api/v3/account?" + signed_query({})).status_code == 200
            bad = c.get("/api/v3/account?" + signed_query({}, secret="emulatorApiSecret"))
            assert bad.json()["code"] == -1022
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
        proc.stdout.close()
        proc.stderr.close()
