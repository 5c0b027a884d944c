#!/bin/sh
# Secrets suite: API keys only as hashes in the file, never in logs or replies; one tenant's
# memory text never in another's replies, memory text never in the log
# (tests/abuse/secrets.mjs). Ends with "secrets: N passed, N failed".
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
if ! command -v node >/dev/null 2>&1; then
    echo "FAIL node is not installed (scripts/setup installs it)"
    echo "secrets: 0 passed, 1 failed"
    exit 1
fi
MNEMO_BIN=${MNEMO_BIN:-bin/mnemo} exec node tests/abuse/secrets.mjs
