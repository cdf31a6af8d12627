# dockgate container image.
# The base image is a build argument so that it can be replaced by a locally made stand-in where
# no registry is reachable (see docs/testing.md): docker build --build-arg NODE_IMAGE=... .
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev --ignore-scripts

FROM ${NODE_IMAGE}
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
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
