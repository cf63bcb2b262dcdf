#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Fetches what the arm64 checks need from Debian's archive into a cache outside the clone, keyed by
# the versions in tools/arm64/versions.env:
#   kernel-<version>/vmlinux.btf  the raw BTF of Debian's arm64 kernel (from its /boot/vmlinuz),
#                                 checked against ARM64_KERNEL_BTF_SHA256
#   node-<version>/               Debian's arm64 nodejs + libnode and the scripts it loads, unpacked
#                                 (not installed: it would replace the host's Node); run with
#                                 qemu-aarch64-static -L <that dir>
# Needs `dpkg --add-architecture arm64` and apt-get update (scripts/setup.sh does both). An entry is
# complete or absent. A version no longer in the archive fails here; the tests that need it skip.
# With --header it also rewrites bpf/vmlinux/arm64/vmlinux.h from that BTF (after a version change).
#   MAXPRO_ARM64_CACHE   cache root (default ~/.cache/maxpro/arm64)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=../tools/arm64/versions.env
. tools/arm64/versions.env
cache="${MAXPRO_ARM64_CACHE:-$HOME/.cache/maxpro/arm64}"
mkdir -p "$cache"
log() { printf 'fetch-arm64: %s\n' "$*" >&2; }

kernel_dir="$cache/kernel-$ARM64_KERNEL_VERSION"
if [ ! -f "$kernel_dir/vmlinux.btf" ]; then
  tmp=$(mktemp -d "$cache/.kernel-XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  log "downloading $ARM64_KERNEL_PACKAGE:arm64=$ARM64_KERNEL_VERSION"
  (cd "$tmp" && apt-get download -q "$ARM64_KERNEL_PACKAGE:arm64=$ARM64_KERNEL_VERSION" 2>&1 | grep -v 'unsandboxed' >&2 || true)
  deb=$(ls "$tmp"/*.deb 2>/dev/null | head -1)
  [ -n "$deb" ] || { log "could not download $ARM64_KERNEL_PACKAGE=$ARM64_KERNEL_VERSION"; exit 1; }
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" --wildcards './boot/vmlinuz-*'
  node scripts/extract-btf.mjs "$tmp"/boot/vmlinuz-* "$tmp/vmlinux.btf" >/dev/null
  got=$(sha256sum "$tmp/vmlinux.btf" | cut -d' ' -f1)
  if [ "$got" != "$ARM64_KERNEL_BTF_SHA256" ]; then
    log "BTF of $ARM64_KERNEL_PACKAGE has SHA-256 $got, expected $ARM64_KERNEL_BTF_SHA256"; exit 1
  fi
  mkdir -p "$tmp/out" && mv "$tmp/vmlinux.btf" "$tmp/out/" && sha256sum "$deb" | sed "s|$tmp/||" > "$tmp/out/package.sha256"
  rm -rf "$kernel_dir" && mv "$tmp/out" "$kernel_dir"
  rm -rf "$tmp"; trap - EXIT
fi

node_dir="$cache/node-$ARM64_NODE_VERSION"
if [ ! -x "$node_dir/usr/bin/node" ]; then
  tmp=$(mktemp -d "$cache/.node-XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  log "downloading nodejs:arm64=$ARM64_NODE_VERSION"
  # libnode's externalized builtins (acorn, cjs-module-lexer, undici) are architecture-independent packages.
  (cd "$tmp" && apt-get download -q "nodejs:arm64=$ARM64_NODE_VERSION" "libnode108:arm64=$ARM64_NODE_VERSION" \
    node-acorn node-cjs-module-lexer node-undici 2>&1 | grep -v 'unsandboxed' >&2 || true)
  [ "$(ls "$tmp"/*.deb 2>/dev/null | wc -l)" = 5 ] || { log "could not download Node $ARM64_NODE_VERSION for arm64"; exit 1; }
  mkdir "$tmp/root"
  for deb in "$tmp"/*.deb; do dpkg-deb -x "$deb" "$tmp/root"; done
  rm -rf "$node_dir" && mv "$tmp/root" "$node_dir"
  rm -rf "$tmp"; trap - EXIT
fi
if [ "${1:-}" = --header ]; then
  {
    printf '/* arm64 kernel types for CO-RE: `bpftool btf dump file vmlinux.btf format c` of the BTF in\n'
    printf ' * Debian 12'"'"'s %s:arm64 %s (/boot/vmlinuz; BTF SHA-256 %s).\n' "$ARM64_KERNEL_PACKAGE" "$ARM64_KERNEL_VERSION" "$ARM64_KERNEL_BTF_SHA256"
    printf ' * Made by scripts/fetch-arm64.sh --header; see docs/architectures.md. */\n'
    bpftool btf dump file "$kernel_dir/vmlinux.btf" format c
  } > bpf/vmlinux/arm64/vmlinux.h.tmp
  mv bpf/vmlinux/arm64/vmlinux.h.tmp bpf/vmlinux/arm64/vmlinux.h
  log "wrote bpf/vmlinux/arm64/vmlinux.h"
fi
log "arm64 kernel BTF: $kernel_dir/vmlinux.btf; arm64 Node: $node_dir/usr/bin/node"
