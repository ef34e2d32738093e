#!/usr/bin/env bash
# Load test of notifications on the embedded server, on 127.0.0.1: a status change's email in
# the outbox while status changes arrive at a fixed rate (benches/load/notify_load.py says how).
# Usage: scripts/notify-load.sh [changes per second (default 1000)] [seconds (default 15)]
# Everything binds to loopback and stops by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
rate="${1:-1000}"
seconds="${2:-15}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/cache/porchlight/target}"
# PORCHLIGHT_BIN runs another build (the `profiling` profile, under perf).
if [ -z "${PORCHLIGHT_BIN:-}" ]; then cargo build --release --locked -p porchlight-local; fi
bin="${PORCHLIGHT_BIN:-$CARGO_TARGET_DIR/release/porchlight}"
outbox=$(mktemp -d)
SERVE_ARGS="--webhook-secret testing-courier=load-secret --admin-token load-admin-token --outbox $outbox --public-url https://track.example"
source scripts/serve-for-tests.sh "Load test shop"
trap 'cleanup; rm -rf "$outbox"' EXIT
python3 benches/load/notify_load.py "$port" "$key" load-admin-token "$outbox" "$rate" "$seconds"
