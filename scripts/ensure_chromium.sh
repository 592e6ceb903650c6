#!/usr/bin/env bash
# The status page is tested in a real headless browser (tests/obmcp/test_status.py).
# Chromium comes from the Debian packages; install it when it is missing and we may.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || [ -n "${CHROMIUM:-}" ]; then
    exit 0
fi
if [ "$(id -u)" = 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
else
    echo "ensure_chromium: chromium is missing and this user cannot install it;" \
         "run 'apt-get install -y chromium' (the status-page browser test needs it)" >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null 2>&1 || true
$SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
command -v chromium
