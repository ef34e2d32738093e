#!/usr/bin/env bash
# Runs every shell example of the README's "Using the API" section, as written, against
# `porchlight serve --demo` on a free loopback port with a fresh database: each curl must
# answer 2xx. Called by scripts/test.sh; needs $bin (the porchlight binary) or builds it.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${bin:-${CARGO_TARGET_DIR:-target}/debug/porchlight}"
examples=$(mktemp -d)
trap 'kill "$demo_pid" 2>/dev/null || true; wait "$demo_pid" 2>/dev/null || true; rm -rf "$examples"' EXIT
demo_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$bin" --db "$examples/demo.db" serve --demo --listen "127.0.0.1:$demo_port" >"$examples/stdout" 2>"$examples/stderr" &
demo_pid=$!
for _ in $(seq 1 100); do
  python3 -c "import socket; socket.create_connection(('127.0.0.1', $demo_port), 0.2)" 2>/dev/null && break
  sleep 0.1
done
KEY=$(grep '^plk_' "$examples/stdout" | tail -n 1)
[ -n "$KEY" ] || { echo "error: serve --demo printed no key" >&2; cat "$examples/stdout" "$examples/stderr" >&2; exit 1; }
export KEY

# The ```sh blocks between "## Using the API" and the next section, on this server's port.
python3 - README.md "$demo_port" >"$examples/examples.sh" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
section = text.split("## Using the API", 1)[1].split("\n## ", 1)[0]
blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
if not blocks:
    sys.exit("the README's Using the API section has no sh examples")
print("\n".join(blocks).replace("127.0.0.1:8080", f"127.0.0.1:{sys.argv[2]}"))
PY
count=$(grep -c '^curl\|curl -s' "$examples/examples.sh")
# Every curl fails on a non-2xx answer, showing what came back.
curl() { command curl --fail-with-body --show-error "$@"; echo; }
export -f curl
if ! bash -euo pipefail "$examples/examples.sh" >"$examples/out" 2>&1; then
  echo "error: a README example failed:" >&2; cat "$examples/out" >&2; exit 1
fi
echo "$count README examples ran as written against serve --demo"
