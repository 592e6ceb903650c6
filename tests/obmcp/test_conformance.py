"""The official MCP conformance harness against our HTTP server (scripts/conformance.sh).

The script installs node 22 and @modelcontextprotocol/conformance from the npm registry
into ~/.cache on first use (about 240 MB, once), starts ``obmcp serve --mode http`` on
127.0.0.1 and runs the fixture-independent server scenarios.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = (
    "server-initialize", "ping", "tools-list", "resources-list", "prompts-list",
    "server-sse-multiple-streams", "dns-rebinding-protection",
)  # fmt: skip


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_official_conformance_scenarios_pass():
    assert shutil.which("npm"), "npm is needed to install the conformance harness"
    env = dict(os.environ, PYTHON=sys.executable, OBMCP_CONFORMANCE_PORT=str(_free_port()))
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "conformance.sh")],
        env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    summary = next(line for line in output.splitlines() if line.startswith("conformance passed"))
    for scenario in SCENARIOS:
        assert scenario in summary, (scenario, summary)
