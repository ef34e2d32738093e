#!/usr/bin/env bash
# Coverage-guided fuzzing of every reader of outside input (porchlight::fuzzing), offline, with
# libFuzzer through cargo fuzz on the nightly toolchain:
#   scripts/fuzz.sh [RUNS] [TARGET...]
# RUNS executions per target (default 10,000,000), every target when none is named. New
# inputs that reach new code are added to fuzz/corpus/<target>/ (minimise them with
# `cargo +nightly fuzz cmin <target>` before committing); a crash, timeout (10 s) or memory
# blow-up (2 GB) fails the target (the others still run), with the input kept in
# fuzz/artifacts/<target>/. Prints each target's executions, their rate and the corpus size.
# `cargo test` replays the committed corpora. FUZZ_SANITIZER=none builds without
# AddressSanitizer (2 to 3 times the executions; the readers are safe Rust, so what it adds is
# a check of the unsafe code in their dependencies); FUZZ_MAX_LEN (default 65536) caps inputs.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${1:-10000000}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(sed -n 's/^name = "\([a-z_]*\)"$/\1/p' fuzz/Cargo.toml | grep -v '^porchlight-fuzz$')
fi

rustup toolchain list | grep -q '^nightly' || { echo "error: the nightly toolchain is required (rustup toolchain install nightly)" >&2; exit 1; }
tools=/var/cache/porchlight/tools
if [ ! -x "$tools/bin/cargo-fuzz" ]; then
  CARGO_TARGET_DIR=/var/cache/porchlight/tools-target cargo install --locked --root "$tools" cargo-fuzz
fi
export PATH="$tools/bin:$PATH"
sanitizer=${FUZZ_SANITIZER:-address}
max_len=${FUZZ_MAX_LEN:-65536}
target_dir=/var/cache/porchlight/fuzz-target
[ "$sanitizer" = address ] || target_dir="$target_dir-$sanitizer"

cargo +nightly fuzz build --release --sanitizer "$sanitizer" --target-dir "$target_dir"
bin_dir="$target_dir/$(rustc -vV | sed -n 's/^host: //p')/release"
mkdir -p fuzz/artifacts
failed=()
for target in "${targets[@]}"; do
  log=$(mktemp)
  start=$(date +%s)
  mkdir -p "fuzz/artifacts/$target"
  if ! "$bin_dir/$target" "fuzz/corpus/$target" -runs="$runs" -timeout=10 -rss_limit_mb=2048 -max_len="$max_len" \
      -print_final_stats=1 -artifact_prefix="fuzz/artifacts/$target/" >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "error: $target failed; its input is in fuzz/artifacts/$target/" >&2
    failed+=("$target")
    continue
  fi
  seconds=$(( $(date +%s) - start ))
  executed=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  corpus=$(find "fuzz/corpus/$target" -type f | wc -l)
  printf '%-20s %12s executions %7s s %9s/s  corpus %s\n' "$target" "$executed" "$seconds" \
    "$(( executed / (seconds > 0 ? seconds : 1) ))" "$corpus"
  rm -f "$log"
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "error: failed: ${failed[*]}" >&2
  exit 1
fi
