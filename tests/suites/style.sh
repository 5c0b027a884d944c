#!/bin/sh
# Style suite: banned functions, raw allocation, include direction (scripts/check-style).
exec sh "$(dirname "$0")/../../scripts/check-style"
