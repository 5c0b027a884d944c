#!/bin/sh
# Scale-out benchmark: starts a PostgreSQL (scripts/pg-tmp) and a Redis (scripts/redis-tmp),
# then bench/scaleout/load.mjs measures single-node SQLite, one node on PostgreSQL and two
# nodes on PostgreSQL + Redis in the same run, and writes bench/results/scaleout.md (the
# closing note there is written by hand). Usage: sh bench/scaleout/run.sh [load.mjs options]
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
[ -x "${MNEMO_BIN:-bin/mnemo}" ] || make all
export MNEMO_BIN=${MNEMO_BIN:-bin/mnemo}
exec sh scripts/pg-tmp sh scripts/redis-tmp node bench/scaleout/load.mjs "$@"
