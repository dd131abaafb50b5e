# HFI control plane image: `hfi server` from the compiled JavaScript.
#   npm run docker:build:server            (tags hfi/hfi-control-plane:dev, prints the size)
# Without Docker, `npm run image:server` (scripts/k8s/server-image.ts) builds
# the same layout (same Node version, /app, user, entry point) on Debian's C
# libraries instead of Alpine's; test/k8s/images.test.ts keeps the two in step.
# Stage 1 compiles (npm run build:js needs the dev dependencies) and then drops
# the dev dependencies; stage 2 is Alpine with only the node binary (no npm,
# yarn or corepack), dist/, the bin and the production node_modules.
# Configuration comes from HFI_* env vars (server/config.ts); the Kubernetes
# manifests in k8s/ set them.
FROM node:26.12.1-alpine AS build
ENV NPM_CONFIG_UPDATE_NOTIFIER=false
WORKDIR /src
COPY package.json package-lock.json ./
RUN apk add --no-cache bash binutils && npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build.sh scripts/bundle-cli.ts scripts/
COPY proto/ proto/
COPY policy/ policy/
COPY server/ server/
COPY cli/ cli/
COPY filter/host/ filter/host/
# The filter link is for `hfi sidecar` in a checkout; the symbol table and
# debug info of node are read only by native debuggers.
RUN bash scripts/build.sh && npm prune --omit=dev --no-audit --no-fund \
 && rm -f dist/filter/build && strip --strip-all /usr/local/bin/node

FROM alpine:3.23
# The node binary needs the C++ runtime; everything else comes from stage 1.
# User hfi (uid/gid 1000) as in the daemonless image's /etc/passwd.
RUN apk add --no-cache libstdc++ libgcc \
 && addgroup -g 1000 hfi && adduser -D -H -u 1000 -G hfi -h /nonexistent -s /sbin/nologin hfi
COPY --from=build /usr/local/bin/node /usr/local/bin/node
ENV NODE_ENV=production
# glibc malloc settings of the daemonless image (scripts/k8s/runtime-env.ts), kept
# for parity; Alpine's musl ignores them.
ENV MALLOC_ARENA_MAX=2
ENV MALLOC_TRIM_THRESHOLD_=131072
ENV MALLOC_MMAP_THRESHOLD_=131072
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules/ node_modules/
COPY --from=build /src/dist/ dist/
COPY --from=build /src/cli/bin/hfi.js cli/bin/hfi.js
# Files stay root-owned and read-only; the process runs unprivileged
# (uid 1000, matching runAsUser in k8s/).
USER 1000:1000
EXPOSE 9090 8080
ENTRYPOINT ["node", "cli/bin/hfi.js", "server"]
