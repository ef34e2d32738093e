#!/usr/bin/env bash
# The AWS cost model (aws/examples/cost_model.rs): simulated shipments through the real
# handlers against the moto emulator, every AWS request counted and priced.
#   scripts/cost-model.sh [shipments]     (default 100)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/cache/porchlight/target}"
source scripts/moto.sh
cargo build --quiet --locked --release -p porchlight-aws --example cost_model
"$CARGO_TARGET_DIR/release/examples/cost_model" "${1:-100}"
