# syntax=docker/dockerfile:1
# The native image of the app: the input of sconify.sh and, as it is, a TDX app on iExec v9.
#   docker build -t <docker-user>/iexec-counter-app:1.0.0 .
# Base images are pinned by version; for a reproducible MRENCLAVE also pin their digests
# (docker buildx imagetools inspect node:22.14.0-alpine3.21 → FROM node:22.14.0-alpine3.21@sha256:…).

# Build stage, on the builder's own platform: the bundle is plain JavaScript.
FROM --platform=$BUILDPLATFORM node:22.14.0-alpine3.21 AS build
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY tools/ tools/
COPY src/ src/
RUN npm run build -- --quiet

# Final stage: the Node image sconify supports (Alpine 3.21, musl 1.2.5), holding only app.js:
# the bundle and V8's code cache for it, made here by this stage's node with the entrypoint's
# flags (a cache is valid only for them); the build fails if a fresh process rejects it.
FROM --platform=linux/amd64 node:22.14.0-alpine3.21
RUN --mount=type=bind,from=build,source=/build/dist,target=/build/dist \
    ["node", "--disable-wasm-trap-handler", "--v8-pool-size=1", "--disable-sigusr1", "/build/dist/code-cache.cjs", "/build/dist/app.js", "/app/app.js"]
# Exec form, equal to tee.env's APP_ENTRYPOINT and iexec.json's mrenclave.entrypoint.
ENTRYPOINT ["node", "--disable-wasm-trap-handler", "--v8-pool-size=1", "--disable-sigusr1", "/app/app.js"]
# The base image's CMD ["node"] would be appended to the entrypoint as an argument.
CMD []
