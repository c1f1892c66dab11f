# kosmi-relay container image (issue 2 §7). Build: `docker compose build`; run: `docker compose up -d`.
#
# Two stages on the same base: the build stage compiles TypeScript and then prunes the dev
# dependencies, the runtime stage gets dist/ and the production node_modules only.

FROM node:24-bookworm-slim AS build
WORKDIR /app
# The repo's .npmrc sets ignore-scripts=true: no dependency runs an install script (matrix-bot-sdk's
# optional native crypto module would try to download a binary).
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
# Matrix end-to-end encryption needs the native crypto module's binary, which its install script
# downloads from GitHub (docs/matrix.md): `docker compose build --build-arg MATRIX_E2EE=true`.
ARG MATRIX_E2EE=false
RUN if [ "$MATRIX_E2EE" = true ]; then npm rebuild @matrix-org/matrix-sdk-crypto-nodejs --ignore-scripts=false; fi
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:24-bookworm-slim
# The Kosmi email login drives Debian's chromium-headless-shell through Playwright (no browser
# download): the headless build of Chromium, without the GTK desktop browser of the `chromium`
# package. Its chromium-common depends on x11-utils (xdpyinfo & co., for the desktop browser),
# which pulls in Mesa, LLVM and ICU, about 210 MB that a headless browser with --disable-gpu never
# loads: an empty placeholder package satisfies that dependency instead; and dpkg leaves out the
# Vulkan validation layer (23 MB, a debugging aid Chromium loads only when asked to). Sizes and build times:
# bench/results/image-size.md. The sandbox is off through Playwright (src/auth/chromium.ts says why).
# tini is PID 1: it reaps the processes Chromium leaves behind after each login, which Node as PID
# 1 never would (they stayed as zombies), and forwards docker stop's SIGTERM to the relay.
RUN echo 'path-exclude /usr/lib/chromium/libVkLayer_khronos_validation.so*' > /etc/dpkg/dpkg.cfg.d/kosmi-relay \
 && mkdir -p /tmp/x11-utils/DEBIAN \
 && printf '%s\n' 'Package: x11-utils' 'Version: 99:0+kosmi-relay' 'Architecture: all' \
      'Maintainer: kosmi-relay' 'Description: empty placeholder for chromium-common (see the Dockerfile)' \
      > /tmp/x11-utils/DEBIAN/control \
 && dpkg-deb --build /tmp/x11-utils /tmp/x11-utils.deb >/dev/null \
 && dpkg -i /tmp/x11-utils.deb \
 && rm -rf /tmp/x11-utils /tmp/x11-utils.deb \
 && apt-get update \
 && apt-get install -y --no-install-recommends chromium-headless-shell tini \
 && rm -rf /var/lib/apt/lists/*
# --max-semi-space-size=1 (MiB): under load V8 grows its young generation up to two 32 MiB
# semi-spaces (Node 24, 64-bit), and in the bench gave none of it back after the traffic. Its young
# objects (a line, its pieces, a JSON body) die within milliseconds, and 1 MiB semi-spaces hold them
# as well: about 30 MiB less peak RSS with every bridge on, and the same latency and CPU (bench
# memory and scale, bench/results/memory.md). V8 sizes its heap before any JS runs, so the daemon
# cannot set this itself; bench/scenarios/memory.ts reads the value from here.
ENV NODE_ENV=production \
    NODE_OPTIONS="--max-semi-space-size=1" \
    CHROMIUM_PATH=/usr/lib/chromium/chromium-headless-shell \
    RELAY_DATA_DIR=/app/data
WORKDIR /app
COPY --from=build /app/package.json /app/.npmrc ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY scripts/docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
# `kosmi-relay` on PATH (dist/main.js has a shebang), e.g.
# `docker compose run --rm relay kosmi-relay kosmi-login`.
RUN chmod 0755 dist/main.js /usr/local/bin/docker-entrypoint.sh \
 && ln -s /app/dist/main.js /usr/local/bin/kosmi-relay \
 && mkdir -p /app/data \
 && chown node:node /app/data \
 && chmod 0700 /app/data
VOLUME /app/data
# The image starts as root only for docker-entrypoint.sh, which gives a root-owned ./data to node
# and then runs the command as node (uid 1000); `docker run --user 1000` skips that step.
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/docker-entrypoint.sh"]
# /healthz answers only when general.http_listen is set: relay.toml's Docker setting is
# http_listen = "0.0.0.0:9090". No curl in the slim image, so node asks.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9090/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/main.js", "--config", "/app/relay.toml"]
