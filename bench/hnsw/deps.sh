#!/bin/sh
# deps.sh - installs the benchmark-only peer of bench/hnsw (hnswlib, Debian libhnswlib-dev)
# when it is missing. Idempotent; `make test` never needs it.
set -e
[ -f /usr/include/hnswlib/hnswlib.h ] && exit 0
SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
echo "bench-hnsw: installing libhnswlib-dev (benchmark only)"
$SUDO apt-get install -y libhnswlib-dev >/dev/null 2>&1 || {
    $SUDO apt-get update >/dev/null && $SUDO apt-get install -y libhnswlib-dev >/dev/null
}
