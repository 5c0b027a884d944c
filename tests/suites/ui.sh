#!/bin/sh
# UI suite: the memory inspector at /ui in headless Chromium (Debian package) driven by
# playwright-core (tests/node_modules) against a real `mnemo serve` (tests/ui/run.mjs).
# Never skips: a missing browser or package is a failure that names the setup step.
# Ends with "ui: N passed, N failed".
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
missing=""
command -v node >/dev/null 2>&1 || missing="node (scripts/setup installs it)"
if [ -z "$missing" ] && [ -z "${CHROMIUM:-}" ] && ! command -v chromium >/dev/null 2>&1; then
    missing="the chromium browser (scripts/setup installs the Debian package)"
fi
if [ -z "$missing" ] && [ ! -f tests/node_modules/playwright-core/package.json ]; then
    missing="playwright-core in tests/node_modules (scripts/setup runs npm ci)"
fi
if [ -n "$missing" ]; then
    echo "FAIL missing $missing"
    echo "ui: 0 passed, 1 failed"
    exit 1
fi
MNEMO_BIN=${MNEMO_BIN:-bin/mnemo} node tests/ui/run.mjs
