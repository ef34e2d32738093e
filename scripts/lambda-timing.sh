#!/usr/bin/env bash
# Times every Lambda function's bootstrap, from the zip `cargo lambda build` made, against a
# Lambda Runtime API on 127.0.0.1 (aws/examples/lambda_timing.rs) with DynamoDB and SQS on the
# moto emulator: init (process start to the first `next`) and warm handler time.
#   scripts/lambda-timing.sh [cold starts] [warm invocations]     (defaults: 20 and 500)
# Builds the zips first when they are missing; `--build` rebuilds them.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/cache/porchlight/target}"
build=false
if [ "${1:-}" = "--build" ]; then build=true; shift; fi
cold="${1:-20}" warm="${2:-500}"

source scripts/moto.sh
functions=$(for dir in functions/*/; do basename "$dir"; done)
for f in $functions; do
  [ -f "$CARGO_TARGET_DIR/lambda/$f/bootstrap.zip" ] || build=true
done
if $build; then
  PATH="$venv/bin:$PATH" cargo lambda build --profile lambda --output-format zip --x86-64 \
    $(for f in $functions; do printf -- '-p %s ' "$f"; done)
fi
cargo build --quiet --locked --release -p porchlight-aws --example lambda_timing
work=$(mktemp -d)
trap 'rm -rf "$work"; kill "$moto_pid" 2>/dev/null || true' EXIT
for f in $functions; do
  mkdir -p "$work/$f"
  "$venv/bin/python" -m zipfile -e "$CARGO_TARGET_DIR/lambda/$f/bootstrap.zip" "$work/$f"
  chmod +x "$work/$f/bootstrap"
  "$CARGO_TARGET_DIR/release/examples/lambda_timing" "$work/$f/bootstrap" "events/$f.json" "$cold" "$warm"
done
