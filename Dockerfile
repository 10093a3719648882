# syntax=docker/dockerfile:1

# Build: type-check the sources and bundle them with their production dependencies into dist/.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# The project's bundled Node (for Node 20 machines) is not needed on a Node 24 image; esbuild's binary
# comes as an optional dependency, without an install script.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json build.ts ./
COPY src ./src
RUN npx tsc -p tsconfig.build.json && npx tsx build.ts

# Runtime: non-root, no build tools, no node_modules (dist/ holds every dependency), every connector in
# one image. Without a command it runs the connector the environment asks for, as the Python images do
# (see the README); with one, that connector.
FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production
# The health endpoints are on in the image (its HEALTHCHECK asks them); outside it they are off by
# default, so that connectors run side by side on one host.
ENV CONNECTOR_EXPOSE_HEALTH=true
WORKDIR /app
COPY --from=build --chown=node:node /app/dist ./dist
COPY --chown=node:node package.json ./
USER node
EXPOSE 9095
# Alive while the health server answers; with the server off (CONNECTOR_METRICS_PORT=0, or neither health
# nor metrics exposed) there is nothing to ask.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "const env = process.env; const on = (name) => /^(true|yes|1)$/i.test(env[name] || ''); const port = env.CONNECTOR_METRICS_PORT || '9095'; if (port === '0' || !(on('CONNECTOR_EXPOSE_HEALTH') || on('CONNECTOR_EXPOSE_METRICS'))) process.exit(0); fetch('http://127.0.0.1:' + port + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "dist/main.js"]

# One target per connector (docker build --target stream-export), each running its connector by default.
FROM runtime AS s3-import
CMD ["s3-import"]

FROM runtime AS stream-export
CMD ["stream-export"]

FROM runtime AS stream-import
CMD ["stream-import"]

# The default target: the connector the environment asks for.
FROM runtime AS connector
