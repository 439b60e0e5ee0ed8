#!/usr/bin/env bash
# The whole test suite, on the real kernel. Run as root: tests that load
# eBPF programs skip (saying why) without it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo test --workspace --all-targets --locked
