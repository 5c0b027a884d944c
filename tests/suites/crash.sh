#!/bin/sh
# Crash suite: a few rounds of kill -9 under HTTP load (tests/crash/crash.mjs); the long
# form (`make test-long`) runs 25. Ends with "crash: N passed, N failed".
exec sh "$(dirname "$0")/../crash/run.sh" "${CRASH_ROUNDS:-3}"
