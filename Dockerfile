# dockgate's container image: node, getent and dockgate on an empty base (no shell, no package manager),
# running as uid 65532, serving TCP 2375 on the container's network like Tecnativa's
# docker-socket-proxy, and working with read_only: true, cap_drop: [ALL] and no-new-privileges.
#
#   docker build -t dockgate .                  where a registry is reachable
#   scripts/build-image.sh dockgate             anywhere: makes the build base locally when
#                                               no registry answers (see the script)
#
# The build works with the legacy builder and BuildKit alike.

# The base of the build stages: node 24 and npm on glibc. Replaceable by a locally made stand-in.
ARG NODE_IMAGE=node:24-bookworm-slim

# Production dependencies and the runtime's root filesystem: they change only with
# package-lock.json and the base, so this stage stays cached while src/ changes.
FROM ${NODE_IMAGE} AS runtime
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund
# The node binary, getent (dockgate resolves socket owner and group names through NSS with it;
# glibc's files source is built into libc), the shared libraries the dynamic loader lists for them
# (glibc, libstdc++, libgcc_s), and the users. Nothing else: node needs no shell.
RUN set -eu; \
    node_bin="$(command -v node)"; \
    getent_bin="$(command -v getent)"; \
    ld=; for f in /lib64/ld-linux-*.so.* /lib/ld-linux-*.so.*; do if [ -e "$f" ]; then ld="$f"; break; fi; done; \
    [ -n "$ld" ] || { echo "no glibc dynamic loader in the build base" >&2; exit 1; }; \
    mkdir -p /rootfs/usr/local/bin /rootfs/usr/bin /rootfs/etc /rootfs/run/dockgate; \
    cp "$node_bin" /rootfs/usr/local/bin/node; \
    cp "$getent_bin" /rootfs/usr/bin/getent; \
    for bin in "$node_bin" "$getent_bin"; do "$ld" --list "$bin"; done \
      | sed -n -e 's/^.* => \(\/[^ ]*\) (0x[0-9a-f]*)$/\1/p' -e 's/^[[:space:]]*\(\/[^ ]*\) (0x[0-9a-f]*)$/\1/p' \
      | sort -u | while read -r lib; do mkdir -p "/rootfs${lib%/*}"; cp -L "$lib" "/rootfs$lib"; done; \
    printf 'root:x:0:0:root:/root:/sbin/nologin\ndockgate:x:65532:65532:dockgate:/nonexistent:/sbin/nologin\n' >/rootfs/etc/passwd; \
    printf 'root:x:0:\ndockgate:x:65532:\n' >/rootfs/etc/group; \
    chown 65532:65532 /rootfs/run/dockgate; \
    chmod 0755 /rootfs/run/dockgate

# The TypeScript build, with the development dependencies.
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
# The peer-credential addon (native/peercred.c: uid/gid/pid of unix-socket clients) is built here
# with node-gyp, which needs a C toolchain; only its .node file reaches the final image. A build
# base made by scripts/build-image.sh has no toolchain: it carries the addon, built from this
# checkout on the host, in /opt/dockgate-prebuilt.
COPY binding.gyp ./
COPY native ./native
COPY scripts/build-native.mjs ./scripts/
RUN if [ -f /opt/dockgate-prebuilt/peercred.node ]; then \
      mkdir -p build/Release && cp /opt/dockgate-prebuilt/peercred.node build/Release/; \
    else \
      if ! command -v g++ >/dev/null || ! command -v make >/dev/null || ! command -v python3 >/dev/null; then \
        apt-get update && apt-get install -y --no-install-recommends g++ make python3 && rm -rf /var/lib/apt/lists/*; \
      fi; \
      DOCKGATE_NATIVE_REQUIRED=1 npm run build:native; \
    fi
COPY tsconfig.json ./
COPY src ./src
# npm run build also writes dist/presets.json from the presets (scripts/build-presets.mjs).
COPY policies ./policies
COPY scripts/build-presets.mjs ./scripts/
RUN npm run build

FROM scratch
COPY --from=runtime /rootfs/ /
WORKDIR /app
COPY --from=runtime /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/build/Release/peercred.node ./build/Release/peercred.node
COPY package.json ./
COPY policies ./policies
USER 65532:65532
# - DOCKGATE_DEFAULT_LISTEN: TCP 2375 on every interface of the container's network, unless
#   --listen, DOCKGATE_LISTEN or a config file names listeners. dockgate logs that it is plaintext.
# - EVENTS PING VERSION: with no policy and no other variable, behave like Tecnativa's image
#   (events, ping and version only).
# - /run/dockgate (owned by dockgate) is where a unix socket goes: mount a volume there, e.g.
#   DOCKGATE_LISTEN=tcp://0.0.0.0:2375,unix:///run/dockgate/docker.sock
ENV NODE_ENV=production \
    DOCKGATE_DEFAULT_LISTEN=tcp://0.0.0.0:2375 \
    EVENTS=1 \
    PING=1 \
    VERSION=1
EXPOSE 2375
# Checks the engine and GET /_ping through every listener (the admin listener is not needed).
HEALTHCHECK --interval=30s --timeout=20s --start-period=30s --retries=3 \
    CMD ["/usr/local/bin/node", "/app/dist/cli.js", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/node", "/app/dist/cli.js"]
