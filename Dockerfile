# syntax=docker/dockerfile:1
# audiohook-realtime container: compile TypeScript in one stage, run the compiled JS with production
# dependencies only in another. Node 26, the Active LTS line since 2026-10-28: the same major as the repo's
# devDependency `node` that runs the tests (test/runtime.test.ts checks they agree). That dev binary never
# reaches the runtime image: `npm ci --omit=dev` leaves every devDependency out.

# ---- build: all dependencies, compile src/ (and web/console) to dist/ ----
FROM node:26-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the compiler is plain JS; install scripts would only fetch the dev Node binary
# (the `node` package) and esbuild's native binary, neither of which the build uses.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# The operations console's front end (compiled to dist/console-web by the build).
COPY web ./web
RUN npm run build

# ---- runtime: production dependencies and dist/ only ----
FROM node:26-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# The one writable place: the optional durable summary spool (SUMMARY_SPOOL_DIR); mount a volume
# here to keep undelivered summaries across container replacement. Everything else is read-only.
RUN mkdir -p /var/lib/audiohook-realtime/spool && chown -R node:node /var/lib/audiohook-realtime
# The image's unprivileged user; the app only reads /app (it logs to stdout).
USER node
EXPOSE 8080
# slim has no curl: probe with node itself. PORT is read at probe time (App Platform may set it).
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/healthz', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Exec form: node is PID 1 and receives SIGTERM directly; the server drains calls on it.
CMD ["node", "dist/cli/main.js", "serve"]
