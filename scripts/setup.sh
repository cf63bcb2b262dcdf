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

packages=("${RUNTIME_PACKAGES[@]}")
if [ "${MAXPRO_SETUP_TEST_DEPS:-1}" = 1 ]; then packages+=("${TEST_PACKAGES[@]}"); fi

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
