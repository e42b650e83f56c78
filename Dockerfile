# syntax=docker/dockerfile:1
# vcnet's image: `vcnet serve` on Node.js 24, which runs the TypeScript sources directly (type
# stripping, https://nodejs.org/api/typescript.html), so there is no build step and no compiler in
# the image. Build from the repository root: docker build -t vcnet:dev .
#
# The base is the official Node.js 24 image on Debian bookworm (glibc, security updates), slim
# variant. Pin it to a digest in release builds: --build-arg NODE_IMAGE=node:24-bookworm-slim@sha256:...
ARG NODE_IMAGE=node:24-bookworm-slim

# Stage 1: production dependencies only. Kept apart so the npm cache and lockfile tooling stay out
# of the final image, and so this layer is reused until package-lock.json changes.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# --omit=dev: no TypeScript, tap or the `node` devDependency (the base image supplies Node.js).
# --ignore-scripts: no dependency of vcnet needs an install script, so none may run.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force

# Stage 2: the runtime.
FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
# Owned by root and not writable by the process: the code cannot be changed by what it runs.
COPY --from=deps /app/node_modules ./node_modules
# package.json is read at run time (the version, and "type": "module" for the .ts sources).
COPY package.json ./
COPY src ./src
# The image's `node` user (uid 1000), given by number so the kubelet can verify runAsNonRoot
# without a passwd lookup (https://kubernetes.io/docs/tasks/configure-pod-container/security-context/).
USER 1000:1000
# 8443: the TLS proxy (controlPlane.proxy.port). 8080: health, readiness and metrics (vcnet.observability.port).
EXPOSE 8443 8080
# No HEALTHCHECK: Kubernetes ignores it and probes /livez and /readyz itself (manifests/deployment.yaml).
ENTRYPOINT ["node", "src/cli/main.ts"]
CMD ["serve", "--config", "/etc/vcnet/vcnet.yaml"]
