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
COPY tools/build.ts tools/
COPY src/ src/
RUN npm run build -- --quiet

# Final stage: the Node image sconify supports (Alpine 3.21, musl 1.2.5), holding only the bundle.
FROM --platform=linux/amd64 node:22.14.0-alpine3.21
COPY --from=build /build/dist/app.js /app/app.js
# Exec form, equal to tee.env's APP_ENTRYPOINT and iexec.json's mrenclave.entrypoint.
ENTRYPOINT ["node", "--disable-wasm-trap-handler", "/app/app.js"]
# The base image's CMD ["node"] would be appended to the entrypoint as an argument.
CMD []
