#!/bin/sh
# Disk-full suite: the server's database on a small filesystem that fills up
# (tests/abuse/diskfull.mjs). A 4 MiB tmpfs when mounting is permitted (root), else a
# loop-mounted ext4 image, else RLIMIT_FSIZE (ulimit -f) as the last resort; the first
# line says which. Ends with "diskfull: N passed, N failed".
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
O=${O:-build}
fail_all() {
    echo "FAIL $1"
    echo "diskfull: 0 passed, 1 failed"
    exit 1
}
command -v node >/dev/null 2>&1 || fail_all "node is not installed (scripts/setup installs it)"
mkdir -p "$O/tests"
# shellcheck disable=SC2046
cc -std=c11 -O1 -o "$O/tests/dbcheck" tests/crash/dbcheck.c $(pkg-config --cflags --libs sqlite3) ||
    fail_all "cannot build tests/crash/dbcheck.c"
work=$(mktemp -d)
mnt=$work/fs
mkdir "$mnt"
mounted=
cleanup() {
    [ -n "$mounted" ] && umount "$mnt" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT INT TERM
want=${DISKFULL_MODE:-any} # tmpfs, loop-ext4 or ulimit: to test a fallback
if [ "$want" = any ] || [ "$want" = tmpfs ] &&
    mount -t tmpfs -o size=4m,mode=0700 tmpfs "$mnt" 2>/dev/null; then
    mode=tmpfs
    mounted=1
elif [ "$want" != ulimit ] && command -v mkfs.ext4 >/dev/null 2>&1 && truncate -s 6M "$work/fs.img" &&
    mkfs.ext4 -q -F "$work/fs.img" >/dev/null 2>&1 && mount -o loop "$work/fs.img" "$mnt" 2>/dev/null; then
    mode=loop-ext4
    mounted=1
else
    mode=ulimit
fi
MNEMO_BIN=${MNEMO_BIN:-bin/mnemo} node tests/abuse/diskfull.mjs --dir "$mnt" --mode "$mode" \
    --dbcheck "$O/tests/dbcheck"
