#!/bin/sh
# CLI suite: runs bin/mnemo as a user would, on a temporary database, and checks output,
# exit codes and error messages. Ends with "cli: N passed, N failed".
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${MNEMO_BIN:-$top/bin/mnemo}
case $BIN in /*) ;; *) BIN=$top/$BIN ;; esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
pass=0
fail=0

ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && echo "$2" | sed 's/^/     /'; }

# expect NAME EXPECTED_EXIT PATTERN -- command...   (PATTERN grep -E on stdout+stderr)
expect() {
    name=$1 want=$2 pat=$3
    shift 4
    out=$("$@" 2>&1)
    rc=$?
    if [ "$rc" != "$want" ]; then bad "$name" "exit $rc, wanted $want: $out"; return; fi
    if [ -n "$pat" ] && ! printf '%s\n' "$out" | grep -Eq -- "$pat"; then
        bad "$name" "output lacks /$pat/: $out"; return
    fi
    ok "$name"
}

expect "add prints the id" 0 '^added memory [0-9]+$' -- "$BIN" add --user alice --text "I am allergic to peanuts"
"$BIN" add --user alice --text "My favourite colour is blue" >/dev/null
"$BIN" add --user alice --text "I work as a nurse in Boston" >/dev/null
"$BIN" add --user alice --text "We adopted a puppy named Max last spring" >/dev/null
"$BIN" add --user alice --text "The meeting is moved to Thursday" --role assistant >/dev/null
"$BIN" add --user bob --text "Peanuts are my favourite snack" >/dev/null

out=$("$BIN" search --user alice --query "what food should I avoid" 2>&1)
first=$(printf '%s\n' "$out" | sed -n 2p)
case $first in *peanuts*) ok "README example: peanut memory ranks first" ;;
*) bad "README example: peanut memory ranks first" "$out" ;; esac
expect "search never returns another user's memories" 0 '' -- sh -c "! \"$BIN\" search --user alice --query peanuts --k 10 | grep -q snack"
expect "search --json gives JSON lines with scores" 0 '^\{"score":[0-9.]+,.*"user_id":"alice"' -- "$BIN" search --user alice --query peanuts --json
expect "keyword mode" 0 'peanuts' -- "$BIN" search --user alice --query peanuts --mode keyword
expect "context holds the dated peanut memory" 0 '^- \[[0-9]+ [A-Z][a-z]+ [0-9]{4}\] I am allergic to peanuts$' -- "$BIN" context --user alice --query "Am I allergic to peanuts?"
expect "context never holds another user's memories" 0 '' -- sh -c "! \"$BIN\" context --user alice --query 'peanuts' --min-score 0 | grep -q snack"
expect "context --json has the token counts" 0 '"tokens":\{"used":[0-9]+,"budget":300,"estimated":false,"encoding":"cl100k_base"\}' -- "$BIN" context --user alice --query peanuts --max-tokens 300 --json
expect "context with a budget below the question" 2 'question alone is' -- "$BIN" context --user alice --query "what food should I avoid" --max-tokens 3
expect "get one memory" 0 'allergic' -- "$BIN" get --user alice --id 1
expect "get of another user's id is not found" 1 'not found' -- "$BIN" get --user bob --id 1
expect "list shows the count" 0 '\(5 of 5\)' -- "$BIN" list --user alice
expect "info" 0 'memories +6' -- "$BIN" info

# --as-of: "last week" counts back from the time the question is asked
"$BIN" add --user dan --text "I went running along the river" --time 2023-08-01T10:00:00Z >/dev/null
"$BIN" add --user dan --text "I went running along the river, it was cold and windy" --time 2024-05-15T10:00:00Z >/dev/null
expect "search: asked now, the closer text first" 0 '^[0-9]+ +2023-08-01' -- sh -c "\"$BIN\" search --user dan --query 'running along the river last week' | sed -n 2p"
expect "search --as-of: last week's remark first" 0 '^[0-9]+ +2024-05-15' -- sh -c "\"$BIN\" search --user dan --query 'running along the river last week' --as-of 2024-05-20 | sed -n 2p"
expect "bad --as-of" 2 'as-of must be a date' -- "$BIN" context --user dan --query x --as-of someday

# bad input: clear message, non-zero exit, nothing stored
expect "empty text" 2 'text is empty' -- "$BIN" add --user alice --text ""
expect "missing --user" 2 'user is required' -- "$BIN" add --text hi
expect "unknown option" 2 "unknown option '--nope'" -- "$BIN" add --user a --text b --nope
expect "k out of range" 2 'k must be an integer from 1 to 1000' -- "$BIN" search --user alice --query x --k 0
expect "bad mode" 2 'mode must be' -- "$BIN" search --user alice --query x --mode fuzzy
expect "bad metadata" 2 'metadata' -- "$BIN" add --user alice --text hi --metadata '[1]'
expect "invalid UTF-8" 2 'UTF-8' -- "$BIN" add --user alice --text "$(printf 'bad \303\050')"
expect "bad time" 2 'must be a date' -- "$BIN" add --user alice --text hi --time yesterday
expect "unknown command" 2 "unknown command 'frobnicate'" -- "$BIN" frobnicate
expect "nothing half-written" 0 '\(5 of 5\)' -- "$BIN" list --user alice

# export / import / forget
"$BIN" export --user alice --out alice.ndjson
expect "export wrote 5 lines" 0 '^5$' -- sh -c "wc -l < alice.ndjson | tr -d ' '"
expect "import into another tenant" 0 'imported 5 memories' -- "$BIN" import --tenant t2 alice.ndjson
expect "imported memories are searchable" 0 'peanuts' -- "$BIN" search --tenant t2 --user alice --query "peanut allergy"
printf '{"user_id":"x","text":"ok"}\n{"user_id":"x","text":""}\n' > bad.ndjson
expect "import of a bad file names the line" 2 'line 2' -- "$BIN" import bad.ndjson
expect "bad import stored nothing" 0 '\(0 of 0\)' -- "$BIN" list --user x
expect "forget one memory" 0 'deleted memory 2' -- "$BIN" forget --user alice --id 2
expect "forget a user" 0 "forgot user 'alice': 4 memories deleted" -- "$BIN" forget --user alice
expect "bob is untouched" 0 '\(1 of 1\)' -- "$BIN" list --user bob
expect "other tenant untouched" 0 '\(5 of 5\)' -- "$BIN" list --tenant t2 --user alice

# a missing model is not fatal: keyword search still works and says so
expect "no model: keyword only with a note" 0 'note: vector search is off' -- env MNEMO_MODEL=/nonexistent "$BIN" search --db nomodel.db --user bob --query peanuts --embedder none

echo "cli: $pass passed, $fail failed"
[ "$fail" = 0 ]
