#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Incremental build: BPF objects, the native addon, then TypeScript.
set -euo pipefail
cd "$(dirname "$0")/.."
make -s -C bpf
make -s -C native
npx --no-install tsc -b
