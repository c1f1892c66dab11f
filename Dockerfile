# kosmi-relay container image (issue 2 §7). Build: `docker compose build`; run: `docker compose up -d`.
#
# Two stages on the same base: the build stage compiles TypeScript and then prunes the dev
# dependencies, the runtime stage gets dist/ and the production node_modules only.

FROM node:24-bookworm-slim AS build
WORKDIR /app
# The repo's .npmrc sets ignore-scripts=true: no dependency runs an install script (matrix-bot-sdk's
# optional native crypto module would try to download a binary).
COPY package.json package-lock.json .npmrc ./
# npm ci first; npm install when npm ci's strict lock check refuses a lock file that lacks the
# entries of platform packages the registry did not serve (see scripts/test-all.sh).
RUN npm ci --no-audit --no-fund || npm install --no-audit --no-fund
# Matrix end-to-end encryption needs the native crypto module's binary, which its install script
# downloads from GitHub (docs/matrix.md): `docker compose build --build-arg MATRIX_E2EE=true`.
ARG MATRIX_E2EE=false
RUN if [ "$MATRIX_E2EE" = true ]; then npm rebuild @matrix-org/matrix-sdk-crypto-nodejs --ignore-scripts=false; fi
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:24-bookworm-slim
# Debian's Chromium for the Kosmi email login (Playwright drives it; no browser download).
# Docker's default seccomp profile denies the user namespaces Chromium's sandbox needs when it
# runs as a non-root user, so Chromium would abort with "No usable sandbox". Debian's
# /usr/bin/chromium wrapper reads /etc/chromium.d/*: turn the sandbox off there; the container is
# the boundary, and the browser only ever opens the configured Kosmi web_url.
RUN apt-get update \
 && apt-get install -y --no-install-recommends chromium \
 && rm -rf /var/lib/apt/lists/* \
 && echo 'export CHROMIUM_FLAGS="$CHROMIUM_FLAGS --no-sandbox"' > /etc/chromium.d/kosmi-relay-no-sandbox
ENV NODE_ENV=production \
    CHROMIUM_PATH=/usr/bin/chromium \
    RELAY_DATA_DIR=/app/data
WORKDIR /app
COPY --from=build /app/package.json /app/.npmrc ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# `kosmi-relay` on PATH (dist/main.js has a shebang), e.g.
# `docker compose run --rm relay kosmi-relay kosmi-login`.
RUN chmod 0755 dist/main.js \
 && ln -s /app/dist/main.js /usr/local/bin/kosmi-relay \
 && mkdir -p /app/data \
 && chown node:node /app/data \
 && chmod 0700 /app/data
USER node
VOLUME /app/data
# /healthz answers only when general.http_listen is set: relay.toml's Docker setting is
# http_listen = "0.0.0.0:9090". No curl in the slim image, so node asks.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9090/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/main.js", "--config", "/app/relay.toml"]
