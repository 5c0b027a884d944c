#!/bin/sh
# Ablation of the default ranking: runs bench/retrieval with one stage turned off at a time
# (through MNEMO_RANK) and prints hit@10 / recall@10 of the default mode on both datasets.
# Usage: sh bench/retrieval/ablation.sh [retrieval-binary]   (from the repo root)
set -u
BIN=${1:-build/bench/retrieval}
[ -x "$BIN" ] || { echo "build it first: make build/bench/retrieval" >&2; exit 2; }
row() {
    name=$1
    cfg=$2
    out=$(MNEMO_RANK="$cfg" "$BIN" 2>/dev/null | grep '^| mnemo default')
    l=$(echo "$out" | sed -n 1p | awk -F'|' '{printf "%s / %s", $4, $6}')
    m=$(echo "$out" | sed -n 2p | awk -F'|' '{printf "%s / %s", $4, $6}')
    echo "| $name | $l | $m |"
}
echo "| variant | LoCoMo hit@10 / recall@10 | LongMemEval hit@10 / recall@10 |"
echo "|---|---|---|"
row "default" ""
row "no neighbour scores" "neighbor=0"
row "no session scores" "session=0"
row "session share 0.25" "session=0.25"
row "no date words" "index_date=0"
row "no speaker in index text" "index_speaker=0"
row "no speaker boost" "w_speaker=0"
row "no asker-role boost" "w_role=1"
row "no time-expression window" "w_time=0"
row "keyword weight 0.3" "w_keyword=0.3"
row "keyword weight 0.7" "w_keyword=0.7"
row "BM25 b 0.75 (classic)" "b=0.75"
row "BM25 idf exponent 1 (classic)" "idf_pow=1"
row "BM25 idf exponent 2" "idf_pow=2"
row "reciprocal rank fusion (c 60)" "rrf_c=60"
row "none of the above (plain hybrid)" "neighbor=0,session=0,index_date=0,index_speaker=0,w_speaker=0,w_role=1,idf_pow=1,w_time=0"
