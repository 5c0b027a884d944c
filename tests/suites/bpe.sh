#!/bin/sh
# BPE suite: builds the driver tests/bpe/bpe_dump.c against the library and compares its
# token ids with js-tiktoken (tests/node_modules, installed by scripts/setup-bpe) on a
# generated corpus, for cl100k_base and o200k_base. Ends with "bpe: N passed, N failed".
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
O=${O:-build}
lib=$O/lib/libmnemo.a
drv=$O/tests/bpe_dump

fail_all() {
    echo "$1"
    echo "bpe: 0 passed, 1 failed"
    exit 1
}

[ -f "$lib" ] || fail_all "$lib is missing: run make first"
command -v node >/dev/null 2>&1 || fail_all "node is missing: run scripts/setup-bpe"
sh scripts/setup-bpe --check || fail_all "rank tables or js-tiktoken missing: run scripts/setup-bpe"

# A sanitized build directory (build-address-undefined) needs the same flags at link time.
san=
case $O in
*build-*) san="-fsanitize=$(basename "$O" | sed 's/^build-//; s/-/,/g')" ;;
esac
mkdir -p "$(dirname "$drv")"
# shellcheck disable=SC2046,SC2086
cc -std=c11 -D_GNU_SOURCE -O2 -g $san -Iinclude $(pkg-config --cflags libutf8proc) \
    -o "$drv" tests/bpe/bpe_dump.c "$lib" \
    $(pkg-config --libs sqlite3 libutf8proc libxxhash libcjson) -lstemmer -lpthread -lm ||
    fail_all "cannot build $drv"

MNEMO_BPE_DIR="$top/models" node tests/bpe/compare.js "$drv"
