#!/usr/bin/env bash
# Builds a local stand-in for `node:24-bookworm-slim`, the base image of the project's Dockerfile,
# for machines that cannot reach Docker Hub (test/container/image.test.ts). Skips when an image of
# that name already exists, so it runs once per machine and the engine's cache keeps it.
#
# What the real image has and the stand-in copies: Debian bookworm (debootstrap minbase from the
# apt mirror this machine uses, with the same suites as the image's debian.sources), the apt and
# dpkg settings of Debian's slim images (no .deb cache, no docs, man pages or translations; the
# files debuerreotype writes), Node 24 and npm in /usr/local, and the user `node` with uid and gid
# 1000, so image sizes measured on it are close to the real ones. What it adds: this machine's CA
# bundle and NODE_EXTRA_CA_CERTS, so npm inside the build trusts the TLS proxy machines like this
# one go through. It never becomes part of the project's Dockerfile.
#
# Usage: test/container/base-image.sh [docker-binary]   (root; needs debootstrap and a running engine)
# Environment: NODE24_BIN, a Node 24 binary (default: npx node@24); BASE_IMAGE (default node:24-bookworm-slim).
set -euo pipefail

DOCKER=${1:-/usr/bin/docker}
IMAGE=${BASE_IMAGE:-node:24-bookworm-slim}
NPM_SPEC=npm@11 # the npm major that Node 24 ships with
# Bump when the stand-in changes: an older stand-in is rebuilt, a real image (no label) is kept.
STAND_IN_VERSION=2
LABEL=org.kosmi-relay.stand-in

if "$DOCKER" image inspect "$IMAGE" >/dev/null 2>&1; then
  have=$("$DOCKER" image inspect -f "{{index .Config.Labels \"$LABEL\"}}" "$IMAGE" 2>/dev/null || true)
  if [ -z "$have" ] || [ "$have" = "<no value>" ] || [ "$have" = "$STAND_IN_VERSION" ]; then
    echo "base image $IMAGE exists; not rebuilding"
    exit 0
  fi
  echo "base image $IMAGE is stand-in version $have; rebuilding as version $STAND_IN_VERSION"
fi

# The first Debian mirror and security mirror in this machine's apt sources, in either format
# (one-line sources.list or deb822 .sources).
apt_uris() { # suite-regex
  local files=()
  [ -r /etc/apt/sources.list ] && files+=(/etc/apt/sources.list)
  for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do [ -r "$f" ] && files+=("$f"); done
  [ ${#files[@]} -gt 0 ] || return 0
  awk -v re="$1" '
    /^[[:space:]]*deb[[:space:]]/ { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { if ($(i + 1) ~ re) print $i; break } }
    /^URIs:/ { uris = $2 }
    /^Suites:/ { for (i = 2; i <= NF; i++) if ($i ~ re) { print uris; break } }
    /^[[:space:]]*$/ { uris = "" }
  ' "${files[@]}"
}
MIRROR=$(apt_uris '^bookworm$' | head -n 1)
SECURITY=$(apt_uris '^bookworm-security$' | head -n 1)
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SECURITY=${SECURITY:-${MIRROR%/debian}/debian-security}
echo "Debian mirror: $MIRROR; security: $SECURITY"

if [ -z "${NODE24_BIN:-}" ]; then
  # The registry's `node` package fetches its binary in an install script (see scripts/test-all.sh).
  NODE24_BIN=$(cd / && npx -y --ignore-scripts=false node@24 -p process.execPath </dev/null | tail -n 1)
fi
NODE_VERSION=$("$NODE24_BIN" -v)
case "$NODE_VERSION" in v24.*) ;; *) echo "need Node 24, $NODE24_BIN is $NODE_VERSION" >&2; exit 1 ;; esac

WORK=$(mktemp -d "${TMPDIR:-/tmp}/kosmi-relay-base.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
ROOTFS=$WORK/rootfs

echo "debootstrap --variant=minbase bookworm (a few minutes)"
debootstrap --variant=minbase bookworm "$ROOTFS" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 || {
  tail -n 30 "$WORK/debootstrap.log" >&2
  exit 1
}

# apt sources as in the real image: bookworm, bookworm-updates and bookworm-security.
rm -f "$ROOTFS/etc/apt/sources.list"
cat >"$ROOTFS/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $MIRROR
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $SECURITY
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/debootstrap

# Debian's slim images (debuerreotype): apt keeps no .deb files or package caches, fetches no
# translations, and dpkg installs no docs, man pages or locales.
cat >"$ROOTFS/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
echo 'Acquire::Languages "none";' >"$ROOTFS/etc/apt/apt.conf.d/docker-no-languages"
echo 'Acquire::GzipIndexes "true";' >"$ROOTFS/etc/apt/apt.conf.d/docker-gzip-indexes"
echo 'Apt::AutoRemove::SuggestsImportant "false";' >"$ROOTFS/etc/apt/apt.conf.d/docker-autoremove-suggests"
mkdir -p "$ROOTFS/etc/dpkg/dpkg.cfg.d"
cat >"$ROOTFS/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/man/*
EOF
find "$ROOTFS/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
find "$ROOTFS/usr/share/doc" -mindepth 1 -type d -empty -delete
rm -rf "$ROOTFS"/usr/share/groff/* "$ROOTFS"/usr/share/info/* "$ROOTFS"/usr/share/lintian/* \
  "$ROOTFS"/usr/share/locale/* "$ROOTFS"/usr/share/man/*

# Node and npm where the official image has them.
install -m 0755 "$NODE24_BIN" "$ROOTFS/usr/local/bin/node"
mkdir -p "$ROOTFS/usr/local/lib/node_modules/npm"
(cd "$WORK" && npm pack --silent "$NPM_SPEC" >npm-tarball.txt </dev/null)
tar -xzf "$WORK/$(tail -n 1 "$WORK/npm-tarball.txt")" -C "$ROOTFS/usr/local/lib/node_modules/npm" --strip-components=1
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$ROOTFS/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$ROOTFS/usr/local/bin/npx"

# The user and group `node` (1000:1000), as in the official image.
echo 'node:x:1000:' >>"$ROOTFS/etc/group"
echo 'node:x:1000:1000::/home/node:/bin/bash' >>"$ROOTFS/etc/passwd"
echo 'node:*:19000:0:99999:7:::' >>"$ROOTFS/etc/shadow"
mkdir -p "$ROOTFS/home/node" && chown 1000:1000 "$ROOTFS/home/node"

# This machine's CA bundle, including the TLS proxy's CA.
mkdir -p "$ROOTFS/etc/ssl/certs"
cp /etc/ssl/certs/ca-certificates.crt "$ROOTFS/etc/ssl/certs/ca-certificates.crt"

ROOTFS_TAG="kosmi-relay-test/bookworm-rootfs:$NODE_VERSION"
tar -C "$ROOTFS" -c . | "$DOCKER" import - "$ROOTFS_TAG" >/dev/null
cat >"$WORK/Dockerfile" <<EOF
FROM $ROOTFS_TAG
LABEL $LABEL=$STAND_IN_VERSION
ENV NODE_VERSION=${NODE_VERSION#v} \\
    NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt \\
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
CMD ["node"]
EOF
"$DOCKER" build --quiet --network host -t "$IMAGE" "$WORK" >/dev/null
"$DOCKER" rmi "$ROOTFS_TAG" >/dev/null
echo "built $IMAGE (stand-in: Debian bookworm minbase + Node $NODE_VERSION)"
"$DOCKER" image ls "$IMAGE"
