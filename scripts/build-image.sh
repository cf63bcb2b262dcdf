#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the maxpro container image from the Containerfile without a container daemon: buildah with
# chroot isolation, on a local Debian 12 + Node 20 base (debootstrap plus this machine's Node), into
# an OCI image layout. Idempotent and keyed by content: a rerun with the same sources returns at once.
#
#   bash scripts/build-image.sh          build (when needed); prints the image reference <layout>:<tag>
#   bash scripts/build-image.sh --ref    prints the reference of this tree's image; exit 1 when not built
#
# Environment:
#   MAXPRO_IMAGE_CACHE   cache directory (default ~/.cache/maxpro/image): buildah storage and the layout
#   MAXPRO_IMAGE_NODE    the Node >= 20 binary copied into the base, with its npm and headers from the
#                        same prefix (default: the `node` on PATH)
#   MAXPRO_DEBIAN_MIRROR Debian mirror for debootstrap (default: the first one apt uses here)
#   MAXPRO_SIGNING_KEY   release key (cosign.key) that signs the image's BPF objects, with COSIGN_PASSWORD
#                        when encrypted; passed as build secrets (default: a key made for this build)
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'build-image: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

CACHE=${MAXPRO_IMAGE_CACHE:-$HOME/.cache/maxpro/image}
LAYOUT=$CACHE/oci
VERSION=$(node -p "require('./package.json').version")
# Bumped when the way the base is made changes.
BASE_REV=1
SUITE=bookworm
KEEP_TAGS=3

NODE_BIN=$(readlink -f "${MAXPRO_IMAGE_NODE:-$(command -v node || true)}")
[ -x "$NODE_BIN" ] || die "no Node binary (set MAXPRO_IMAGE_NODE)"
NODE_VERSION=$("$NODE_BIN" --version)
NODE_PREFIX=$(dirname "$(dirname "$NODE_BIN")")
BASE_TAG="$SUITE-node${NODE_VERSION#v}-r$BASE_REV"
BASE_IMAGE=localhost/maxpro-base:$BASE_TAG

# The key: every file of the build context (what .dockerignore lets in), the Containerfile and the
# base's tag. The same list as the context, so a change that cannot alter the image does not rebuild.
context_files() {
  {
    printf '%s\n' package.json package-lock.json tsconfig.json Containerfile .dockerignore scripts/sign-bpf.mjs
    find bin bpf native src -type f ! -path 'bpf/.output/*' ! -path 'native/build/*'
  } | LC_ALL=C sort
}
key=$( { echo "$BASE_TAG"; context_files | xargs -d "\n" sha256sum; } | sha256sum | cut -c1-16)
TAG="$VERSION-$key"

has_tag() { [ -f "$LAYOUT/index.json" ] && grep -q "\"org.opencontainers.image.ref.name\":\"$1\"" "$LAYOUT/index.json"; }

if [ "${1:-}" = --ref ]; then
  echo "$LAYOUT:$TAG"
  has_tag "$TAG"
  exit
fi
[ $# -eq 0 ] || die "unknown argument $1 (usage: build-image.sh [--ref])"

if has_tag "$TAG"; then
  log "up to date: $LAYOUT:$TAG"
  echo "$LAYOUT:$TAG"
  exit 0
fi

[ "$(id -u)" = 0 ] || die "needs root (debootstrap, buildah storage, chroot)"
missing=()
for tool in buildah:buildah debootstrap:debootstrap umoci:umoci; do
  command -v "${tool%%:*}" >/dev/null || missing+=("${tool#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null ||
    { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; }
fi

mkdir -p "$CACHE"
# Private storage: nothing outside the cache is touched, and another buildah user here is unaffected.
B=(buildah --root "$CACHE/storage" --runroot "$CACHE/run" --storage-driver overlay)
# One build at a time per cache.
exec 9>"$CACHE/.lock"
flock 9

node_major=${NODE_VERSION#v}; node_major=${node_major%%.*}
[ "$node_major" -ge 20 ] || die "Node $NODE_VERSION at $NODE_BIN: the image needs Node >= 20 (set MAXPRO_IMAGE_NODE)"

if ! "${B[@]}" inspect --type image "$BASE_IMAGE" >/dev/null 2>&1; then
  [ -f "$NODE_PREFIX/lib/node_modules/npm/bin/npm-cli.js" ] || die "no npm next to $NODE_BIN ($NODE_PREFIX/lib/node_modules/npm)"
  [ -f "$NODE_PREFIX/include/node/node_api.h" ] || die "no Node headers next to $NODE_BIN ($NODE_PREFIX/include/node)"
  mirror=${MAXPRO_DEBIAN_MIRROR:-}
  if [ -z "$mirror" ]; then
    mirror=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\/debian\)$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)
    [ -n "$mirror" ] || mirror=$(awk '$1 == "deb" && $2 ~ /\/debian\/?$/ { print $2; exit }' /etc/apt/sources.list 2>/dev/null || true)
    [ -n "$mirror" ] || mirror=http://deb.debian.org/debian
  fi
  rootfs=$CACHE/base-rootfs
  rm -rf "$rootfs"
  log "base $BASE_IMAGE: debootstrap $SUITE from $mirror"
  nice -n 10 debootstrap --variant=minbase "$SUITE" "$rootfs" "$mirror" >"$CACHE/debootstrap.log" 2>&1 ||
    die "debootstrap failed (log: $CACHE/debootstrap.log)"
  cat >"$rootfs/etc/apt/sources.list" <<EOF
deb $mirror $SUITE main
deb $mirror $SUITE-updates main
deb ${mirror%/debian}/debian-security $SUITE-security main
EOF
  # Like Debian's slim images: no documentation, manual pages or translations from later installs.
  cat >"$rootfs/etc/dpkg/dpkg.cfg.d/slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
EOF
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc/*/[!c]* \
    "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/*
  # Node where the official node images have it (NODE_IMAGE in the Containerfile).
  install -D -m 0755 "$NODE_BIN" "$rootfs/usr/local/bin/node"
  mkdir -p "$rootfs/usr/local/lib/node_modules" "$rootfs/usr/local/include"
  cp -a "$NODE_PREFIX/lib/node_modules/npm" "$rootfs/usr/local/lib/node_modules/"
  cp -a "$NODE_PREFIX/include/node" "$rootfs/usr/local/include/"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
  tar -C "$rootfs" --numeric-owner -cf "$CACHE/base-rootfs.tar" .
  rm -rf "$rootfs"
  ctr=$("${B[@]}" from --quiet scratch)
  "${B[@]}" add --quiet "$ctr" "$CACHE/base-rootfs.tar" / >/dev/null
  "${B[@]}" config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --env NODE_VERSION="${NODE_VERSION#v}" --cmd node \
    --label org.opencontainers.image.description="Debian $SUITE (debootstrap minbase) with Node $NODE_VERSION" "$ctr"
  "${B[@]}" commit --quiet --rm "$ctr" "$BASE_IMAGE" >/dev/null
  rm -f "$CACHE/base-rootfs.tar"
fi

# The CA bundle this machine trusts, for npm ci in the build stage (a TLS-intercepting proxy).
ca=${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}
secret=()
[ -f "$ca" ] && secret=(--secret "id=ca-certificates,src=$ca")
# A release signing key for the BPF objects (docs/supply-chain.md); without one the build makes its own.
if [ -n "${MAXPRO_SIGNING_KEY:-}" ]; then
  secret+=(--secret "id=signing-key,src=$MAXPRO_SIGNING_KEY")
  if [ -n "${COSIGN_PASSWORD:-}" ]; then
    pwfile=$(mktemp); chmod 600 "$pwfile"; trap 'rm -f "$pwfile"' EXIT
    printf '%s' "$COSIGN_PASSWORD" >"$pwfile"
    secret+=(--secret "id=cosign-password,src=$pwfile")
  fi
fi
log "building localhost/maxpro:$TAG (Containerfile, NODE_IMAGE=$BASE_IMAGE)"
start=$(date +%s)
nice -n 10 "${B[@]}" bud --quiet --layers --isolation chroot --pull-never "${secret[@]}" \
  --build-arg NODE_IMAGE="$BASE_IMAGE" --build-arg VERSION="$VERSION" \
  -f Containerfile -t "localhost/maxpro:$TAG" . >/dev/null
"${B[@]}" push --quiet "localhost/maxpro:$TAG" "oci:$LAYOUT:$TAG"
log "built in $(( $(date +%s) - start ))s: $LAYOUT:$TAG"

# Bounded cache: the newest KEEP_TAGS images stay (layout and storage); the layer cache of the
# build stage stays in storage for the next build.
mapfile -t old < <("${B[@]}" images --format '{{.Tag}}' --filter reference=localhost/maxpro | grep -E '^[0-9][^-]*-[0-9a-f]{16}$' | grep -vx "$TAG" | tail -n +"$KEEP_TAGS")
for t in "${old[@]}"; do
  "${B[@]}" rmi --force "localhost/maxpro:$t" >/dev/null 2>&1 || true
  umoci rm --image "$LAYOUT:$t" 2>/dev/null || true
done
[ ${#old[@]} -eq 0 ] || umoci gc --layout "$LAYOUT"
echo "$LAYOUT:$TAG"
