#!/bin/sh
# MCP suite: the official @modelcontextprotocol/sdk client driving `mnemo mcp` over stdio
# (tests/mcp/run.mjs). The SDK is pinned in tests/package.json and installed by scripts/setup.
# Ends with "mcp: N passed, N failed".
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
if ! command -v node >/dev/null 2>&1; then
    echo "FAIL node is not installed (scripts/setup installs it)"
    echo "mcp: 0 passed, 1 failed"
    exit 1
fi
if [ ! -f tests/node_modules/@modelcontextprotocol/sdk/package.json ]; then
    echo "FAIL tests/node_modules/@modelcontextprotocol/sdk is missing: run scripts/setup (npm ci in tests/)"
    echo "mcp: 0 passed, 1 failed"
    exit 1
fi
MNEMO_BIN=${MNEMO_BIN:-bin/mnemo} node tests/mcp/run.mjs
