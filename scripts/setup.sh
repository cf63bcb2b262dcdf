#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# One idempotent set-up for a fresh Debian 12 machine (run as root):
# apt packages, bpffs/tracefs mounts, npm ci, then the build (BPF, addon, TypeScript).
# Each step is skipped when it is already done.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'setup: %s\n' "$*" >&2; }

# Needed to build and run MaxPro.
RUNTIME_PACKAGES=(clang llvm libbpf-dev libelf-dev zlib1g-dev bpftool pkg-config make g++ iproute2)
# Needed by the test suite and benchmarks: real peers and real Prometheus; openssl makes the test
# control plane's certificates.
TEST_PACKAGES=(bpftrace libbpf-tools prometheus linux-perf nftables procps openssl)

# The arm64 cross build and its checks (scripts/build-arch.sh, docs/architectures.md): Debian's
# aarch64 toolchain, arm64 libbpf/libelf/zlib (multiarch), qemu-user and the libraries Debian's arm64
# Node links. Only with MAXPRO_SETUP_ARM64=1 (CI sets it): running MaxPro on amd64 needs none of it.
ARM64_PACKAGES=(gcc-aarch64-linux-gnu libbpf-dev:arm64 libelf-dev:arm64 zlib1g-dev:arm64 qemu-user-static
  libstdc++6:arm64 libuv1:arm64 libicu72:arm64 libssl3:arm64 libc-ares2:arm64 libnghttp2-14:arm64 libbrotli1:arm64)
arm64="${MAXPRO_SETUP_ARM64:-0}"

packages=("${RUNTIME_PACKAGES[@]}")
if [ "${MAXPRO_SETUP_TEST_DEPS:-1}" = 1 ]; then packages+=("${TEST_PACKAGES[@]}"); fi
if [ "$arm64" = 1 ]; then packages+=("${ARM64_PACKAGES[@]}"); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    log "missing packages: ${missing[*]}; run as root or: apt-get install ${missing[*]}"
    exit 1
  fi
  log "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if [ "$arm64" = 1 ] && ! dpkg --print-foreign-architectures | grep -qx arm64; then
    log "adding the arm64 architecture to dpkg"; dpkg --add-architecture arm64
  fi
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

# bpffs holds pinned maps and links; tracefs gives tracepoint ids to perf_event_open.
if [ "$(id -u)" = 0 ]; then
  if ! grep -qs ' /sys/fs/bpf bpf ' /proc/mounts; then
    log "mounting bpffs at /sys/fs/bpf"; mount -t bpf bpf /sys/fs/bpf
  fi
  if [ ! -e /sys/kernel/tracing/events ] && [ ! -e /sys/kernel/debug/tracing/events ]; then
    log "mounting tracefs at /sys/kernel/tracing"; mount -t tracefs tracefs /sys/kernel/tracing
  fi
fi

# npm ci only when the lock file changed since the last install.
lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f node_modules/.maxpro-lock-hash ] || [ "$(cat node_modules/.maxpro-lock-hash)" != "$lock_hash" ]; then
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_hash" > node_modules/.maxpro-lock-hash
fi

bash scripts/build.sh

if [ "$arm64" = 1 ]; then
  # Debian's arm64 kernel BTF and Node into a cache outside the clone (seconds when warm); without
  # them the tests that need them skip and say why. Then the arm64 objects and addon.
  bash scripts/fetch-arm64.sh || log "fetching the arm64 kernel BTF or Node failed (above); the tests that need them skip"
  bash scripts/build-arch.sh arm64
fi
