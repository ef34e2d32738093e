#!/usr/bin/env bash
# Schemathesis (PyPI, in the test venv) against `porchlight serve --demo` on a free loopback port:
# every operation of /openapi.json (the tracking, returns, /porchlight/v1 and admin APIs, the
# public pages and webhooks) with a valid API key and admin token, every check on (the default),
# in the examples, coverage, fuzzing and stateful phases (the last follows the document's links
# and those schemathesis infers: a created resource read, changed and deleted by the id the
# server handed out; SCHEMATHESIS_PHASES picks others). Fails on any 5xx, any answer the document does
# not describe, and any request answered against the document (tests/schemathesis/ lists the
# rules the document cannot express). Needs: $bin (the porchlight binary), $venv.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
admin_token="schemathesis-admin-token-$(python3 -c 'import secrets; print(secrets.token_hex(8))')"
# Limits per address and key stay out of the way: the run is one client making thousands of calls.
"$bin" --db "$work/porchlight.db" --log-format json serve --demo --listen "127.0.0.1:$port" \
  --admin-token "$admin_token" --page-lookups-per-minute 1000000 --page-views-per-minute 1000000 \
  --webhooks-per-minute 1000000 >"$work/server.out" 2>"$work/server.log" &
server_pid=$!
for _ in $(seq 1 100); do
  grep -q '^plk_' "$work/server.out" 2>/dev/null && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
  sleep 0.1
done
key=$(grep '^plk_' "$work/server.out" | tail -n 1)
# Two passes: the merchant APIs, pages and webhooks first, then the operator's admin API (whose
# generated requests may set the merchant's own rate limit to 1 a second).
for pass in "--exclude-path-regex ^/admin/" "--include-path-regex ^/admin/"; do
  status=0
  # shellcheck disable=SC2086
  "$venv/bin/schemathesis" --config-file tests/schemathesis/schemathesis.toml run \
    "http://127.0.0.1:$port/openapi.json" -H "as-api-key: $key" -H "x-porchlight-admin-token: $admin_token" \
    $pass --phases "${SCHEMATHESIS_PHASES:-examples,coverage,fuzzing,stateful}" --seed "${SCHEMATHESIS_SEED:-20261201}" --workers 1 --no-color \
    >"$work/schemathesis.log" 2>&1 || status=$?
  sed -n '/= SUMMARY =/,$p' "$work/schemathesis.log"
  if [ "$status" -ne 0 ]; then
    sed -n '/= \(ERRORS\|FAILURES\) =/,/= SUMMARY =/p' "$work/schemathesis.log" >&2
    echo "error: schemathesis found problems (above)" >&2
    exit 1
  fi
done
if grep -q '"level": *"ERROR"\|"level":"ERROR"' "$work/server.log"; then
  echo "error: serve logged errors during the run:" >&2
  grep '"level": *"ERROR"\|"level":"ERROR"' "$work/server.log" | head -n 20 >&2
  exit 1
fi
