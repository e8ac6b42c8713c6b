# syntax=docker/dockerfile:1
# flowd image. Build: docker build -t flowd .   Run: see ops/README.md.
ARG NODE_IMAGE=node:22-slim

FROM ${NODE_IMAGE} AS base
WORKDIR /app

# better-sqlite3 compiles from source when no prebuilt binary matches; keep the
# toolchain in build-only stages so the runtime image carries no compilers.
FROM base AS toolchain
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./

# --ignore-scripts: the package's `prepare` (the build, for installs from git or a tarball) would
# run before the sources are copied; the build runs explicitly below. No native module is needed
# to compile TypeScript.
FROM toolchain AS build
RUN --mount=type=cache,target=/root/.npm npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# Production dependencies only, compiled against the same base image as the runtime. Scripts are
# skipped for the same reason as above, then better-sqlite3's own install (its native build) runs.
FROM toolchain AS deps
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --ignore-scripts && npm rebuild better-sqlite3

FROM base AS runtime
ENV HOST=0.0.0.0 \
    PORT=3000 \
    METRICS_PORT=9464 \
    FLOWS_DIR=/app/flows \
    DATA_DIR=/app/data
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
# Baked-in flows (the examples); mount a directory at /app/flows to serve your own
# (docs/own-project.md: docker run -v "$PWD/flows:/app/flows:ro" …).
COPY flows ./flows
COPY scripts ./scripts
# The data dir must exist and belong to the non-root user before VOLUME, so a fresh
# named volume inherits that ownership.
RUN mkdir -p /app/data && chown node:node /app/data
VOLUME ["/app/data"]
USER node
EXPOSE 3000 9464
# slim has no curl; Node's fetch does the probe. Readiness, not liveness, so the
# container is only "healthy" once flows are loaded and the store is reachable.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health/ready',{signal:AbortSignal.timeout(2500)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# node directly, not npm start: npm start rebuilds, and npm would sit between
# the container's stop signal and the graceful shutdown. --max-semi-space-size=32 (MB, as in
# npm start and the benchmark): a larger young generation means fewer scavenges for the many
# short-lived objects of an execution (bench/README.md, "V8 flags").
CMD ["node", "--max-semi-space-size=32", "dist/src/server.js"]
