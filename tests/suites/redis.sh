#!/bin/sh
# Redis suite: nodes on one PostgreSQL (scripts/pg-tmp) sharing one Redis (scripts/redis-tmp):
# shared query-embedding cache, jobs on a Redis stream, a job surviving its node's death,
# Redis down and back (tests/scaleout/redis.mjs). A missing server fails the suite. Ends with
# "redis: N passed, N failed".
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
for c in node psql redis-cli; do
    if ! command -v $c >/dev/null 2>&1; then
        echo "FAIL $c is needed (scripts/setup installs it)"
        echo "redis: 0 passed, 1 failed"
        exit 1
    fi
done
MNEMO_BIN=${MNEMO_BIN:-bin/mnemo} sh scripts/pg-tmp sh scripts/redis-tmp node tests/scaleout/redis.mjs
rc=$?
if [ $rc -ne 0 ] && [ $rc -ne 1 ]; then
    echo "FAIL PostgreSQL or Redis did not start (exit $rc)"
    echo "redis: 0 passed, 1 failed"
fi
exit $rc
