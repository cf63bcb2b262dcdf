#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the BPF objects and the native addon for another architecture beside the host's build:
#   bpf/.output/<arch>/ (probes, testdata/), signed as scripts/build.sh signs the host's
#   native/build/<arch>/maxpro.node, cross-compiled with Debian's toolchain against that
#   architecture's libbpf and libelf (multiarch packages)
# Usage: scripts/build-arch.sh arm64. Needs the compiled TypeScript (for signing) and the cross
# packages, which `MAXPRO_SETUP_ARM64=1 bash scripts/setup.sh` installs. Incremental.
set -euo pipefail
cd "$(dirname "$0")/.."
arch="${1:-}"
case "$arch" in
  arm64) triplet=aarch64-linux-gnu ;;
  *) echo "usage: build-arch.sh arm64" >&2; exit 2 ;;
esac
pc_dir="/usr/lib/$triplet/pkgconfig"
if ! command -v "$triplet-gcc" >/dev/null || [ ! -f "$pc_dir/libbpf.pc" ] || [ ! -f "$pc_dir/libelf.pc" ]; then
  echo "build-arch: $arch needs $triplet-gcc and libbpf-dev:$arch, libelf-dev:$arch; run MAXPRO_SETUP_ARM64=1 bash scripts/setup.sh" >&2
  exit 1
fi
make -s -C bpf ARCH="$arch" OUT=".output/$arch"
make -s -C native CC="$triplet-gcc" OUT="build/$arch" \
  PKG_CONFIG="env PKG_CONFIG_LIBDIR=$pc_dir:/usr/share/pkgconfig pkg-config"
node scripts/sign-bpf.mjs --dir "bpf/.output/$arch" --arch "$arch" --quiet
node scripts/sign-bpf.mjs --dir "bpf/.output/$arch/testdata" --arch "$arch" --quiet
