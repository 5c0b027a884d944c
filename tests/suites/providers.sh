#!/bin/sh
# Providers suite: tests/providers/run.mjs drives real `mnemo serve` processes with remote
# embedders pointed at the local stub (tests/stub/provider.mjs). Ends with
# "providers: N passed, N failed".
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
if ! command -v node >/dev/null 2>&1; then
    echo "FAIL node is not installed (scripts/setup installs it)"
    echo "providers: 0 passed, 1 failed"
    exit 1
fi
MNEMO_BIN=${MNEMO_BIN:-bin/mnemo} node tests/providers/run.mjs
