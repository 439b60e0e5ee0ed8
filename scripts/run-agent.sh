#!/usr/bin/env bash
# Builds sonde and runs the agent on its embedded store. Extra arguments go to
# `sonde agent` (e.g. --listen, --retention-age). Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release --locked -p sonde
exec target/release/sonde agent --data-dir "${SONDE_DATA_DIR:-/var/lib/sonde}" "$@"
