#!/bin/sh
# PostgreSQL suite: the store conformance suite (tests/unit/store_conformance.c) on a real
# PostgreSQL started by scripts/pg-tmp. A missing or broken server fails the suite; it is
# never skipped. Ends with "pg: N passed, N failed".
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
O=${O:-build}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if [ ! -x "$O/test-unit" ]; then
    echo "FAIL $O/test-unit is not built (make $O/test-unit)"
    echo "pg: 0 passed, 1 failed"
    exit 1
fi
sh scripts/pg-tmp "$O/test-unit" pg_store_ 2>&1 | tee "$log"
line=$(grep -E '^unit: [0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
if [ -z "$line" ]; then
    echo "FAIL PostgreSQL did not start, or the conformance suite did not run"
    echo "pg: 0 passed, 1 failed"
    exit 1
fi
p=$(echo "$line" | sed -E 's/.* ([0-9]+) passed.*/\1/')
f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
if [ "$p" -lt 20 ]; then
    echo "FAIL only $p PostgreSQL conformance tests ran"
    f=$((f + 1))
fi
echo "pg: $p passed, $f failed"
[ "$f" = 0 ]
