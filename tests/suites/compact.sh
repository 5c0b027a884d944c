#!/bin/sh
# Compaction suite: tests/compact/run.mjs drives real `mnemo serve` processes (LoCoMo dev
# data from ../shared/data, the LLM stub of tests/stub). Ends with "compact: N passed, N
# failed".
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
if ! command -v node >/dev/null 2>&1; then
    echo "FAIL node is not installed (scripts/setup installs it)"
    echo "compact: 0 passed, 1 failed"
    exit 1
fi
MNEMO_BIN=${MNEMO_BIN:-bin/mnemo} node tests/compact/run.mjs
