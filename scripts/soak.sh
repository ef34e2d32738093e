#!/usr/bin/env bash
# Soak and crash recovery of `porchlight serve` on 127.0.0.1 (benches/load/soak.py says how):
#   scripts/soak.sh [minutes (default 30)] [operations/s (default 1000)] [kill -9 count (default 0)]
# A mixed load (API reads and writes, carrier pushes, the pollers' work, notifications, page
# views) at a fixed rate; with kills, serve is killed with SIGKILL at random moments and started
# again. Prints per minute the operations, errors, p50/p99 and memory, then whether every
# acknowledged push and import row was processed and every email sent exactly once.
# Everything binds to loopback and stops by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
minutes="${1:-30}"
rate="${2:-1000}"
kills="${3:-0}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/cache/porchlight/target}"
cargo build --release --locked -p porchlight-local
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 benches/load/soak.py "$CARGO_TARGET_DIR/release/porchlight" "$work" "$minutes" "$rate" "$kills"
