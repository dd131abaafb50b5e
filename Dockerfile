# HFI control plane image: `hfi server` (node cli/bin/hfi.js server).
#   npm run docker:build:server            (tags hfi/hfi-control-plane:dev)
# TypeScript runs through tsx (a runtime dependency), so the image holds the
# sources, not a build output. Configuration comes from HFI_* env vars
# (server/config.ts); the Kubernetes manifests in k8s/ set them.
FROM node:20-slim

ENV NODE_ENV=production \
    NPM_CONFIG_UPDATE_NOTIFIER=false
WORKDIR /app

# Dependencies first so source edits reuse this layer.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# What `hfi` imports at run time: the proto contract (loader + generated
# types), the server, the CLI and the filter's Node host (for `hfi sidecar`).
COPY tsconfig.json ./
COPY proto/ proto/
COPY server/ server/
COPY cli/ cli/
COPY filter/host/ filter/host/

# Files stay root-owned and read-only; the process runs as the image's
# unprivileged "node" user (uid 1000, matching runAsUser in k8s/). tsx keeps
# its transpile cache in /tmp (an emptyDir when the root fs is read-only).
USER 1000:1000
EXPOSE 9090 8080
ENTRYPOINT ["node", "cli/bin/hfi.js", "server"]
