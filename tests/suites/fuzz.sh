#!/bin/sh
# Fuzz corpus suite: replays every input of fuzz/corpus/<target>/ (seeds and every crash
# the fuzzers ever found) through the target built without libFuzzer ($O/fuzz/<t>-replay,
# built by `make test`). One check per target: it must exit 0 without a sanitizer report.
# Ends with "fuzz: N passed, N failed".
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
O=${O:-build}
pass=0
fail=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for src in fuzz/fuzz_*.c; do
    t=$(basename "$src" .c)
    t=${t#fuzz_}
    bin=$O/fuzz/$t-replay
    if [ ! -x "$bin" ]; then
        echo "FAIL $t: $bin is missing (make fuzz-replay)"
        fail=$((fail + 1))
        continue
    fi
    n=$(ls "fuzz/corpus/$t" 2>/dev/null | wc -l)
    if "$bin" "fuzz/corpus/$t" >"$log" 2>&1 && ! grep -qE 'runtime error|Sanitizer' "$log"; then
        echo "ok   $t: $n inputs replayed"
        pass=$((pass + 1))
    else
        echo "FAIL $t: replay of fuzz/corpus/$t"
        tail -n 15 "$log" | sed 's/^/     /'
        fail=$((fail + 1))
    fi
done
echo "fuzz: $pass passed, $fail failed"
[ "$fail" = 0 ]
