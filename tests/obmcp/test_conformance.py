"""The official MCP conformance harness against our HTTP server (scripts/conformance.sh).

The script installs node 22 and @modelcontextprotocol/conformance (the version pinned in
it) from the npm registry into ~/.cache on first use (about 250 MB, once), starts
``obmcp serve --mode http`` on 127.0.0.1 and runs the fixture-independent server
scenarios of both revisions served: 2025-11-25 (sessions) and 2026-07-28 (stateless).
The few server-stateless checks that need the harness's own fixture tools are baselined
one by one in scripts/conformance-baseline.yml; every other check must pass.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS_2025 = (
    "server-initialize", "server-session-lifecycle", "ping", "tools-list", "resources-list",
    "prompts-list", "server-sse-multiple-streams", "dns-rebinding-protection",
)  # fmt: skip
SCENARIOS_2026 = (
    "server-stateless", "http-header-validation", "tools-list", "resources-list", "prompts-list",
    "server-sse-multiple-streams", "dns-rebinding-protection", "caching", "sep-2164-resource-not-found",
)  # fmt: skip
SCENARIOS = (*(f"{s}@2025-11-25" for s in SCENARIOS_2025), *(f"{s}@2026-07-28" for s in SCENARIOS_2026))


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
    assert summary.startswith(f"conformance passed ({len(SCENARIOS)}/{len(SCENARIOS)},"), summary
    for scenario in SCENARIOS:
        assert f" {scenario}" in summary, (scenario, summary)
