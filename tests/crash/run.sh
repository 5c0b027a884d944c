#!/bin/sh
# run.sh - builds the file checker and runs the crash test. Usage: tests/crash/run.sh ROUNDS
# [SEED]. BUILD_DIR comes from $O (tests/run-all sets it), the server from $MNEMO_BIN.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
O=${O:-build}
rounds=${1:-3}
seed=${2:-${CRASH_SEED:-}}
fail_all() {
    echo "FAIL $1"
    echo "crash: 0 passed, 1 failed"
    exit 1
}
command -v node >/dev/null 2>&1 || fail_all "node is not installed (scripts/setup installs it)"
mkdir -p "$O/tests"
# shellcheck disable=SC2046
cc -std=c11 -O1 -o "$O/tests/dbcheck" tests/crash/dbcheck.c $(pkg-config --cflags --libs sqlite3) ||
    fail_all "cannot build tests/crash/dbcheck.c"
MNEMO_BIN=${MNEMO_BIN:-bin/mnemo} exec node tests/crash/crash.mjs --dbcheck "$O/tests/dbcheck" \
    --rounds "$rounds" ${seed:+--seed "$seed"}
