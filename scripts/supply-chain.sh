#!/usr/bin/env bash
# The dependency tree's checks and bill of materials, offline:
#   scripts/supply-chain.sh [SBOM_DIR]
# cargo-deny checks bans (one version of each crate but the documented exceptions, no OpenSSL),
# licences (permissive only) and sources (crates.io only) against deny.toml; cargo-cyclonedx
# writes a CycloneDX 1.5 SBOM per package into SBOM_DIR (default $CARGO_TARGET_DIR/sbom).
# Advisories need RustSec's database, which this network cannot fetch: docs/supply-chain.md.
# Installs both tools (pinned) beside the target folder the first time.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-$PWD/target}"
tools="$(dirname "$target")/tools"
for tool in cargo-deny@0.20.2 cargo-cyclonedx@0.5.9; do
  if [ ! -x "$tools/bin/${tool%@*}" ]; then
    CARGO_TARGET_DIR="$(dirname "$target")/tools-target" cargo install --quiet --locked --root "$tools" "$tool"
  fi
done
export PATH="$tools/bin:$PATH"

cargo deny --offline check bans licenses sources

out="${1:-$target/sbom}"
mkdir -p "$out"
cargo cyclonedx --format json --all-features --spec-version 1.5 -q
for bom in common/*.cdx.json aws/*.cdx.json local/*.cdx.json functions/*/*.cdx.json; do
  mv "$bom" "$out/"
done
python3 - "$out" <<'PY'
import json, pathlib, sys
boms = sorted(pathlib.Path(sys.argv[1]).glob("*.cdx.json"))
assert boms, "no SBOM was written"
for bom in boms:
    document = json.loads(bom.read_text())
    assert document["bomFormat"] == "CycloneDX", bom
    components = document.get("components", [])
    assert len(components) > 20, f"{bom.name} lists {len(components)} components"
    print(f"{bom.name:40} {len(components):4} components")
PY
