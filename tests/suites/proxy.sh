#!/bin/sh
# Proxy suite: the official openai client against a real `mnemo serve` whose upstream is a
# local stub (tests/proxy/run.mjs). The client is pinned in tests/package.json and installed
# by scripts/setup. Ends with "proxy: N passed, N failed".
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
if ! command -v node >/dev/null 2>&1; then
    echo "FAIL node is not installed (scripts/setup installs it)"
    echo "proxy: 0 passed, 1 failed"
    exit 1
fi
if [ ! -f tests/node_modules/openai/package.json ]; then
    echo "FAIL tests/node_modules/openai is missing: run scripts/setup (npm ci in tests/)"
    echo "proxy: 0 passed, 1 failed"
    exit 1
fi
MNEMO_BIN=${MNEMO_BIN:-bin/mnemo} node tests/proxy/run.mjs
