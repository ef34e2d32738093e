#!/usr/bin/env bash
# Runs every test Porchlight has, from a fresh clone or a warm machine:
#   formatting and lints, the Rust test suites (unit, property, store contract, API, CLI),
#   the AWS adapters against the moto emulator (PyPI moto[server], on 127.0.0.1),
#   then AfterShip's official Node SDK against a live `porchlight serve` on 127.0.0.1, the
#   README's examples and schemathesis against `porchlight serve --demo`, the dependency tree's
#   licences and bans (cargo-deny) with an SBOM, and the tracking page in Debian's
#   headless Chromium with axe-core (screenshots in ./screenshots).
# Installs what it needs (npm packages, a Python venv with moto, Debian's chromium)
# idempotently; fails, never skips, when something is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# Builds dominate: share one target folder outside the clone when the machine allows it.
if [ -z "${CARGO_TARGET_DIR:-}" ]; then
  if mkdir -p /var/cache/porchlight/target 2>/dev/null && [ -w /var/cache/porchlight/target ]; then
    export CARGO_TARGET_DIR=/var/cache/porchlight/target
  else
    export CARGO_TARGET_DIR="$PWD/target"
  fi
fi

step() { printf '\n==> %s\n' "$*"; }

# A shared target folder only grows (every change leaves new artifacts behind). When its disk
# runs low, drop what cargo can always rebuild: the incremental caches, and the crate's own
# artifacts not touched for two days, and test binaries of earlier builds.
mkdir -p "$CARGO_TARGET_DIR"
free_gb=$(df --output=avail -BG "$CARGO_TARGET_DIR" | tail -n 1 | tr -dc '0-9')
if [ "${free_gb:-0}" -lt 20 ]; then
  echo "only ${free_gb} GB free under $CARGO_TARGET_DIR: pruning build caches"
  rm -rf "$CARGO_TARGET_DIR"/debug/incremental "$CARGO_TARGET_DIR"/*/debug/incremental
  find "$CARGO_TARGET_DIR"/debug/deps -maxdepth 1 -type f -mtime +2 \
    \( -name 'porchlight*' -o -name 'libporchlight*' \) -delete 2>/dev/null || true
  # Test binaries (hundreds of MB each with debug info) of earlier builds, two hours old.
  find "$CARGO_TARGET_DIR"/debug/deps -maxdepth 1 -type f -executable -size +20M -mmin +120 -delete 2>/dev/null || true
fi

for tool in cargo node npm python3; do
  command -v "$tool" >/dev/null || { echo "error: $tool is required and not installed" >&2; exit 1; }
done

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "Supply chain: cargo deny (bans, licences, sources) and the CycloneDX SBOM"
bash scripts/supply-chain.sh

step "cargo test (unit, property, store contract, API, CLI, fuzz corpora; AWS adapters and handlers on moto)"
(
  source scripts/moto.sh
  # The SMTP messenger's test runs aiosmtpd (a real SMTP server) from the same venv.
  export PORCHLIGHT_TEST_PYTHON="$venv/bin/python"
  cargo test --workspace --locked
  step "SAM template: transform, cfn-lint, broken properties caught, deploy into moto"
  "$venv/bin/python" infra/check.py 2>&1 | grep -v "unpublished metrics"

  step "Lambda functions: cargo lambda build, x86_64 zips, each under 10 MB"
  functions=$(for dir in functions/*/; do basename "$dir"; done)
  # Built in two groups: features unify across the packages of one build, and only the page
  # functions take porchlight-aws's `blobs` (the S3 client); the others stay without it.
  plain=$(for f in $functions; do if ! grep -q '"blobs"' "functions/$f/Cargo.toml"; then echo "$f"; fi; done)
  with_blobs=$(for f in $functions; do if grep -q '"blobs"' "functions/$f/Cargo.toml"; then echo "$f"; fi; done)
  for members in "$plain" "$with_blobs"; do
    [ -n "$members" ] || continue
    PATH="$venv/bin:$PATH" cargo lambda build --profile lambda --output-format zip --x86-64 \
      $(for f in $members; do printf -- '-p %s ' "$f"; done)
  done
  for f in $functions; do
    zip="$CARGO_TARGET_DIR/lambda/$f/bootstrap.zip"
    size=$(stat -c %s "$zip")
    awk -v f="$f" -v s="$size" 'BEGIN { printf "%-18s %6.2f MB\n", f, s / 1048576 }'
    [ "$size" -lt 10485760 ] || { echo "error: $f's zip is $size bytes, over 10 MB" >&2; exit 1; }
  done

  step "Lambda functions: each zip's bootstrap answers its sample event under a Lambda Runtime API"
  cargo build --quiet --locked -p porchlight-aws --examples
  unpacked=$(mktemp -d)
  for f in $functions; do
    "$venv/bin/python" -m zipfile -e "$CARGO_TARGET_DIR/lambda/$f/bootstrap.zip" "$unpacked/$f"
    chmod +x "$unpacked/$f/bootstrap"
    "$CARGO_TARGET_DIR/debug/examples/lambda_timing" "$unpacked/$f/bootstrap" "events/$f.json" 1 3
  done
  rm -rf "$unpacked"
)

step "AfterShip Node SDK against porchlight serve"
cargo build --locked -p porchlight-local
bin="$CARGO_TARGET_DIR/debug/porchlight"
(
  cd tests/sdk
  # npm ci is the reproducible install; skip it when node_modules is newer than the lock file.
  if [ ! -d node_modules/@aftership/tracking-sdk ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --no-audit --no-fund --loglevel=error
  fi
)
source scripts/serve-for-tests.sh "SDK test shop"
(cd tests/sdk && PORCHLIGHT_URL="http://127.0.0.1:$port" PORCHLIGHT_API_KEY="$key" node --test) || {
  echo "server log:" >&2; cat "$work/server.log" >&2; exit 1
}
if grep -q 'ann@example.com' "$work/server.log"; then
  echo "error: a shopper's email reached the server log" >&2; exit 1
fi

step "Schemathesis: every operation of /openapi.json against porchlight serve --demo"
bin="$bin" venv="${PORCHLIGHT_VENV:-$(dirname "$CARGO_TARGET_DIR")/venv}" bash scripts/schemathesis.sh

step "README examples against porchlight serve --demo"
bin="$bin" bash scripts/readme-examples.sh

step "The tracking page in headless Chromium (360 and 1280 px, JavaScript on and off, six languages, axe-core)"
bin="$bin" bash scripts/browser-tests.sh

step "all tests passed"
