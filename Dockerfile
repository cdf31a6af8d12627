# dockgate container image.
# The base image is a build argument so that it can be replaced by a locally made stand-in where
# no registry is reachable (see docs/testing.md): docker build --build-arg NODE_IMAGE=... .
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
# The peer-credential addon (native/peercred.c: uid/gid/pid of unix-socket clients) is built here
# with node-gyp, which needs a C toolchain; only its .node file reaches the final image.
RUN if ! command -v g++ >/dev/null || ! command -v make >/dev/null || ! command -v python3 >/dev/null; then \
      apt-get update && apt-get install -y --no-install-recommends g++ make python3 && rm -rf /var/lib/apt/lists/*; \
    fi
COPY binding.gyp ./
COPY native ./native
COPY scripts/build-native.mjs ./scripts/
RUN DOCKGATE_NATIVE_REQUIRED=1 npm run build:native
COPY tsconfig.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev --ignore-scripts

FROM ${NODE_IMAGE}
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/build/Release/peercred.node ./build/Release/peercred.node
COPY package.json ./
COPY policies ./policies
# Runs as an unprivileged user; give it access to the engine socket with the host's docker group
# id (`group_add` in compose, `--group-add` with docker run). /run/dockgate holds the socket it
# serves, usually a volume that the client container mounts too.
RUN mkdir -p /run/dockgate && chown 1000:1000 /run/dockgate
USER 1000:1000
ENV DOCKGATE_LISTEN=unix:///run/dockgate/docker.sock \
    DOCKGATE_ADMIN=tcp://127.0.0.1:9102
HEALTHCHECK --interval=30s --timeout=3s CMD ["node", "-e", "require('http').get('http://127.0.0.1:9102/readyz', r => process.exit(r.statusCode === 200 ? 0 : 1)).on('error', () => process.exit(1))"]
ENTRYPOINT ["node", "/app/dist/cli.js"]
