#!/bin/sh
# Abuse suite: slowloris (headers, bodies and request lines trickled), too many connections,
# oversized headers and a request flood from one key against a real server, while an honest
# client keeps being served (tests/abuse/abuse.mjs). Ends with "abuse: N passed, N failed".
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
if ! command -v node >/dev/null 2>&1; then
    echo "FAIL node is not installed (scripts/setup installs it)"
    echo "abuse: 0 passed, 1 failed"
    exit 1
fi
MNEMO_BIN=${MNEMO_BIN:-bin/mnemo} exec node tests/abuse/abuse.mjs
