#!/bin/sh
# HTTP suite: runs tests/http/run.mjs (node, no npm packages) against real `mnemo serve`
# processes on ephemeral loopback ports. Ends with "http: N passed, N failed".
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
if ! command -v node >/dev/null 2>&1; then
    echo "FAIL node is not installed (scripts/setup installs it)"
    echo "http: 0 passed, 1 failed"
    exit 1
fi
MNEMO_BIN=${MNEMO_BIN:-bin/mnemo} node tests/http/run.mjs
