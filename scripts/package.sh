#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Packs the release artifact of one architecture: an npm package tarball with its native parts
# prebuilt, dist-release/maxpro-<version>-linux-<arch>.tgz (MAXPRO_RELEASE_DIR overrides the folder).
#   package/package.json            the project's, with os/cpu set and the build-only fields dropped
#   package/bin, package/dist/src   the CLI and the compiled JavaScript (the same on every arch)
#   package/bpf/.output/            that architecture's BPF objects, their .sig/.sigstore.json and
#                                   the signed manifest.json
#   package/native/build/maxpro.node  the addon built for it (links libbpf.so.1 and libc)
#   package/deploy/                 the systemd unit and the Helm chart
# Install on the target with `npm install -g <tgz>` (npm fetches the JavaScript dependencies for that
# machine). Usage: scripts/package.sh amd64|arm64, after scripts/build.sh (and build-arch.sh arm64).
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
  amd64|x86|x64) arch=amd64 bpf_arch=x86 cpu=x64 machine=62 ;;
  arm64|aarch64) arch=arm64 bpf_arch=arm64 cpu=arm64 machine=183 ;;
  *) echo "usage: package.sh amd64|arm64" >&2; exit 2 ;;
esac
host=$(node -p 'process.arch')
if [ "$cpu" = "$host" ]; then obj_dir=bpf/.output addon=native/build/maxpro.node
else obj_dir="bpf/.output/$bpf_arch" addon="native/build/$bpf_arch/maxpro.node"; fi
fail() { echo "package: $*" >&2; exit 1; }
[ -f "$addon" ] || fail "$addon is missing: run scripts/build.sh$( [ "$cpu" = "$host" ] || echo " and scripts/build-arch.sh $bpf_arch")"
[ -f "$obj_dir/manifest.json" ] || fail "$obj_dir has no signed manifest.json: build (and sign) it first"
[ -f dist/src/cli/main.js ] || fail "dist/src is missing: run npx tsc -b"
# The addon must be an ELF for that machine (e_machine at offset 18: 62 x86-64, 183 AArch64).
got=$(od -An -tu2 -j18 -N2 "$addon" | tr -d ' ')
[ "$got" = "$machine" ] || fail "$addon has ELF machine $got, expected $machine for $arch"

version=$(node -p "require('./package.json').version")
out_dir="${MAXPRO_RELEASE_DIR:-dist-release}"
mkdir -p "$out_dir"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
pkg="$stage/package"
mkdir -p "$pkg/bpf/.output" "$pkg/native/build" "$pkg/dist"
cp -a bin deploy "$pkg/"
cp -a dist/src "$pkg/dist/src"
find "$pkg/dist/src" -name '*.tsbuildinfo' -delete
for f in "$obj_dir"/*.bpf.o "$obj_dir"/*.bpf.o.sig "$obj_dir"/*.bpf.o.sigstore.json "$obj_dir"/manifest.json*; do cp "$f" "$pkg/bpf/.output/"; done
cp "$addon" "$pkg/native/build/maxpro.node"
cp README.md "$pkg/"
node -e '
  const p = require("./package.json");
  delete p.scripts; delete p.devDependencies;
  p.os = ["linux"]; p.cpu = [process.argv[1]];
  process.stdout.write(JSON.stringify(p, null, 2) + "\n");
' "$cpu" > "$pkg/package.json"
tgz="$out_dir/maxpro-$version-linux-$arch.tgz"
# Reproducible: sorted names, no owners, the last commit's time.
mtime=$(git log -1 --format=%ct 2>/dev/null || echo 0)
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$mtime" -C "$stage" -czf "$tgz.tmp" package
mv "$tgz.tmp" "$tgz"
echo "$tgz"
