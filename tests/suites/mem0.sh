#!/bin/sh
# mem0 suite: the official mem0ai MemoryClient against a real `mnemo serve` on a temporary
# database and a loopback port (tests/mem0/run.mjs). The client is pinned in
# tests/package.json and installed by scripts/setup. Ends with "mem0: N passed, N failed".
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
if ! command -v node >/dev/null 2>&1; then
    echo "FAIL node is not installed (scripts/setup installs it)"
    echo "mem0: 0 passed, 1 failed"
    exit 1
fi
if [ ! -f tests/node_modules/mem0ai/package.json ]; then
    echo "FAIL tests/node_modules/mem0ai is missing: run scripts/setup (npm ci in tests/)"
    echo "mem0: 0 passed, 1 failed"
    exit 1
fi
# no usage reports to the vendor from a test run
MEM0_TELEMETRY=false MNEMO_BIN=${MNEMO_BIN:-bin/mnemo} node tests/mem0/run.mjs
