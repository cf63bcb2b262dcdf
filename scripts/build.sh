#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Incremental build: BPF objects, the native addon, then TypeScript; then the BPF objects are
# signed (scripts/sign-bpf.mjs; docs/supply-chain.md), since the agent loads only signed objects.
set -euo pipefail
cd "$(dirname "$0")/.."
make -s -C bpf
make -s -C native
npx --no-install tsc -b
node scripts/sign-bpf.mjs --dir bpf/.output
node scripts/sign-bpf.mjs --dir bpf/.output/testdata --quiet
