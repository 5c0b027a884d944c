#!/bin/sh
# PostgreSQL restart suite: two nodes under write load while the server restarts (fast, then
# crash), on a PostgreSQL started by scripts/pg-tmp (tests/scaleout/pgrestart.mjs). A missing
# server fails the suite. Ends with "pgrestart: N passed, N failed".
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
if ! command -v node >/dev/null 2>&1 || ! command -v psql >/dev/null 2>&1; then
    echo "FAIL node and psql are needed (scripts/setup installs them)"
    echo "pgrestart: 0 passed, 1 failed"
    exit 1
fi
MNEMO_BIN=${MNEMO_BIN:-bin/mnemo} sh scripts/pg-tmp node tests/scaleout/pgrestart.mjs
rc=$?
if [ $rc -ne 0 ] && [ $rc -ne 1 ]; then
    echo "FAIL PostgreSQL did not start (exit $rc)"
    echo "pgrestart: 0 passed, 1 failed"
fi
exit $rc
