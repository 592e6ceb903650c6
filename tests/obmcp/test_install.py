"""A normal (non-editable) install runs its own demo (issue 10 item 1).

Builds a wheel of this checkout (``pip wheel --no-deps``; the isolated build environment
comes from the local package index pip is configured with, no internet;
``OBCORE_NO_EXTENSIONS=1`` so the build skips the Cython compile and stays fast: the
plain-Python twins are used, which changes nothing about where data files are found),
installs it into a fresh venv in a temporary directory, and starts the installed
``obmcp serve --mode stdio --source emulator`` from a directory outside the checkout:
initialize, tools/list and a REST tool call answered by the emulator replaying the
recording shipped in the wheel.

The venv gets the third-party dependencies from the project's venv through a ``.pth``
line (no index needed); obcore/obmcp themselves come only from the wheel.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def _run(*cmd: str | Path, **kw) -> subprocess.CompletedProcess[str]:
    run = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=180, **kw)
    assert run.returncode == 0, (cmd, run.stdout[-2000:], run.stderr[-4000:])
    return run


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("install")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["OBCORE_NO_EXTENSIONS"] = "1"
    # Build from a copy of the sources: setuptools writes build/ and *.egg-info next to them.
    src = tmp / "src-copy"
    archive = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-co", "--exclude-standard"],
                             capture_output=True, text=True, check=True).stdout.split()
    for name in archive:
        if name.startswith(("data/", "tests/", "bench/")):
            continue  # not part of the package; leaving data/ out proves the wheel carries its own
        target = src / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if (ROOT / name).is_file():
            target.write_bytes((ROOT / name).read_bytes())
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", tmp / "dist", src,
         env=env)
    (wheel,) = (tmp / "dist").glob("obcore-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
    assert "obmcp/data/binance-ethusdt-2024-08-09/ethusdt_20240808.gz" in names, names
    assert "obmcp/data/NOTICE.md" in names
    venv = tmp / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv, env=env)
    purelib = Path(subprocess.run([str(venv / "bin" / "python"), "-c",
                                   "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                  capture_output=True, text=True, check=True).stdout.strip())
    deps = sysconfig.get_paths()["purelib"]
    (purelib / "_project_deps.pth").write_text(deps + "\n")
    _run(sys.executable, "-m", "pip", "--python", venv / "bin" / "python", "install", "-q", "--no-deps",
         "--no-index", wheel, env=env)
    return venv


def test_wheel_install_serves_the_bundled_demo_over_stdio(installed: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    where = subprocess.run([str(installed / "bin" / "python"), "-c", "import obmcp, obcore; print(obmcp.__file__)"],
                           capture_output=True, text=True, cwd=tmp_path, env=env, check=True).stdout.strip()
    assert where.startswith(str(installed)), where  # the wheel's copy, not the checkout
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
    lines = [init, {"jsonrpc": "2.0", "method": "notifications/initialized"},
             {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
             {"jsonrpc": "2.0", "id": 3, "method": "tools/call",
              "params": {"name": "binance_get_orderbook", "arguments": {"symbol": "ETHUSDT", "limit": 5}}}]
    proc = subprocess.Popen([str(installed / "bin" / "obmcp"), "serve", "--mode", "stdio", "--source", "emulator"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=tmp_path, env=env)
    answers: dict[int, dict] = {}
    try:
        assert proc.stdin is not None and proc.stdout is not None
        for message in lines:
            proc.stdin.write(json.dumps(message) + "\n")
            proc.stdin.flush()
            if "id" in message:
                answer = json.loads(proc.stdout.readline() or "{}")
                assert answer, proc.stderr.read() if proc.poll() is not None else "no answer"
                answers[answer["id"]] = answer
        proc.stdin.close()
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert answers[1]["result"]["serverInfo"]["name"] == "obmcp"
    assert "binance_orderbook_l1" in {tool["name"] for tool in answers[2]["result"]["tools"]}
    call = answers[3]["result"]
    assert call["isError"] is False, call
    book = call["structuredContent"]
    assert 2000 < float(book["bids"][0][0]) < float(book["asks"][0][0]) < 3000  # ETHUSDT, 2024-08-09


def test_wheel_install_demo_help(installed: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    run = _run(installed / "bin" / "python", "-m", "obmcp.demo", "--help", cwd=tmp_path, env=env)
    assert "--port" in run.stdout

