# Production image of the Amplify-jobs GraphQL gateway. See docs/deploy.md.
#
# Base: Debian bookworm "slim" Node image, pinned to an exact Node 24 LTS release (one pin: change
# NODE_VERSION to upgrade). Debian/glibc rather than Alpine/musl because Node's official Linux
# binaries and the prebuilt binaries of npm packages target glibc (musl builds are "experimental"
# tier for Node itself), Debian ships security fixes for the base, and our CI stands in the same
# glibc userland when it builds this file without a registry (scripts/ci/make-node-base-image.sh).
# For fully reproducible builds, also pin the digest: FROM node:24.x.y-bookworm-slim@sha256:...
ARG NODE_VERSION=24.22.3

# ---- build: all dependencies, compile TypeScript, then drop devDependencies ----
FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
# Lockfile first so the dependency layer is reused while only sources change.
# patches/ too: npm ci's postinstall applies them (patch-package; see patches/README.md).
COPY package.json package-lock.json ./
COPY patches ./patches
COPY scripts/postinstall.mjs ./scripts/postinstall.mjs
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY scripts/build.ts scripts/bundle.ts ./scripts/
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund

# ---- runtime: compiled JavaScript and production dependencies only ----
FROM node:${NODE_VERSION}-bookworm-slim AS runtime
# jemalloc (Debian's libjemalloc2) as the process's malloc, through LD_PRELOAD below: after a mix
# of pipeline requests glibc's malloc kept 25-40 MB of freed memory it could not give back, and
# jemalloc also made a cached answer about 7% cheaper (docs/performance.md). Installed unless the
# base image already has it; without it the loader warns once and Node runs on glibc's malloc.
RUN for lib in /usr/lib/*-linux-gnu/libjemalloc.so.2; do [ -e "$lib" ] && exit 0; done; \
    apt-get update \
 && apt-get install -y --no-install-recommends libjemalloc2 \
 && rm -rf /var/lib/apt/lists/*
# Memory for the 256 MiB container of deploy/kubernetes/deployment.yaml (keep the two together):
# the old generation capped at 128 MiB (about 30 MiB of code and schema, the caches' default
# budgets, headroom under load) and a 4 MiB semi-space, the young generation's ceiling (a young
# collection every few thousand requests rather than every few hundred: docs/performance.md);
# jemalloc with two arenas, giving freed pages back after a second (MALLOC_CONF), and two glibc
# malloc arenas should jemalloc be missing. Idle RSS and peak RSS under load are measured with
# exactly these settings (npm run bench reads them from here). Raise them with the memory limit
# and CACHE_MAX_BYTES / RESPONSE_CACHE_MAX_BYTES (README, "Running in production").
#
# GraphiQL is off in production (as the Kubernetes ConfigMap has it): the page is a 9 MB bundle an
# API serving dashboards and routers does not need. GRAPHIQL=true at `docker run` turns it back on.
ENV NODE_ENV=production \
    PORT=4000 \
    GRAPHIQL=false \
    NODE_OPTIONS="--max-old-space-size=128 --max-semi-space-size=4 --expose-gc" \
    LD_PRELOAD=libjemalloc.so.2 \
    MALLOC_CONF="narenas:2,dirty_decay_ms:1000,muzzy_decay_ms:0" \
    MALLOC_ARENA_MAX=2
WORKDIR /app
# Files stay owned by root and read-only for the app user: the process cannot rewrite its own code,
# which is also what lets Kubernetes run it with readOnlyRootFilesystem.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
# The bundle only (scripts/bundle.ts): the rest of dist/ (the unbundled server, the demo, the local
# Amplify) is not run here.
COPY --from=build /app/dist/server ./dist/server
# uid/gid 1000 is the "node" user of the official image. Numeric, so Kubernetes' runAsNonRoot can
# verify it without reading /etc/passwd.
USER 1000:1000
EXPOSE 4000
# No curl in slim images: Node's own fetch asks /health (liveness). Exit 0 only on HTTP 2xx.
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||4000)+'/health',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Node is PID 1 and handles SIGTERM itself (graceful drain); no shell in between to swallow it.
CMD ["node", "dist/server/main.js"]
