#!/bin/sh
# run.sh - runs libFuzzer targets one after the other (the machine's other work goes on:
# one fuzzer at a time, niced). Usage: fuzz/run.sh BUILD_DIR SECONDS TARGET...
# The working corpus grows in BUILD_DIR/fuzz/work/<target>, seeded from fuzz/corpus/<target>;
# a crash, leak or hang is written to fuzz/corpus/<target>/ (crash-*, leak-*, timeout-*),
# where `make test` replays it until it is fixed. Prints one line per target with the
# executions and findings, and exits non-zero when a target found something.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
O=$1
secs=$2
shift 2
found=0
for t in "$@"; do
    bin=$O/fuzz/$t-fuzz
    [ -x "$bin" ] || { echo "fuzz: $bin is missing"; exit 1; }
    work=$O/fuzz/work/$t
    seeds=fuzz/corpus/$t
    mkdir -p "$work" "$seeds"
    dict=
    [ -f "fuzz/$t.dict" ] && dict="-dict=fuzz/$t.dict"
    before=$(ls "$seeds" | grep -cE '^(crash|leak|timeout|oom)-')
    log=$O/fuzz/$t.log
    t0=$(date +%s)
    # shellcheck disable=SC2086
    nice -n 10 "$bin" -max_total_time="$secs" -timeout=20 -rss_limit_mb=2048 -max_len=16384 \
        -print_final_stats=1 -artifact_prefix="$seeds/" $dict "$work" "$seeds" >"$log" 2>&1
    rc=$?
    took=$(($(date +%s) - t0))
    after=$(ls "$seeds" | grep -cE '^(crash|leak|timeout|oom)-')
    execs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}')
    rate=$(grep -E '^stat::average_exec_per_sec' "$log" | awk '{print $2}')
    cov=$(grep -E '^#[0-9]+' "$log" | tail -n 1 | sed -nE 's/.*cov: ([0-9]+).*/\1/p')
    echo "fuzz $t: ${took}s, ${execs:-?} executions (${rate:-?}/s), coverage ${cov:-?}, findings $((after - before)), exit $rc"
    if [ "$rc" != 0 ] || [ "$after" != "$before" ]; then
        found=1
        grep -E 'ERROR|runtime error|fuzz:|SUMMARY' "$log" | head -n 5 | sed 's/^/    /'
    fi
done
exit $found
