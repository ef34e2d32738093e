#!/usr/bin/env bash
# Load test of the embedded server on 127.0.0.1 with wrk (Debian package `wrk`):
#   POST /trackings (a unique tracking number per request) into a fresh SQLite file,
#   then GET /trackings/{id} over the shipments just created.
# Usage: scripts/load.sh [seconds per phase (default 10)] [connections (default 32)]
# Everything binds to loopback and stops by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-10}"
connections="${2:-32}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/cache/porchlight/target}"
command -v wrk >/dev/null || { apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }; }

cargo build --release --locked -p porchlight-local
bin="$CARGO_TARGET_DIR/release/porchlight"
SERVE_ARGS="--webhook-secret testing-courier=load-secret"
source scripts/serve-for-tests.sh "Load test shop"
export API_KEY="$key"

echo "== POST /tracking/2026-07/trackings: ${duration}s, ${connections} connections, 1 wrk thread"
wrk -t1 -c"$connections" -d"${duration}s" --latency -s benches/load/post_trackings.lua "http://127.0.0.1:$port" \
  | grep -E 'Requests/sec|Latency|50%|90%|99%|requests in|Non-2xx|Socket errors'

python3 - "$port" "$work/ids.txt" <<'PY'
import json, os, sys, urllib.request
port, out = sys.argv[1], sys.argv[2]
ids, cursor = [], ""
while len(ids) < 5000:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/tracking/2026-07/trackings?limit=200&fields=id&cursor={cursor}",
        headers={"as-api-key": os.environ["API_KEY"]})
    data = json.load(urllib.request.urlopen(request))["data"]
    ids += [t["id"] for t in data["trackings"]]
    if not data["pagination"]["has_next_page"]:
        break
    cursor = data["pagination"]["next_cursor"]
open(out, "w").write("\n".join(ids) + "\n")
print(f"== {len(ids)} ids collected for the read phase")
PY

echo "== GET /tracking/2026-07/trackings/{id}: ${duration}s, ${connections} connections, 1 wrk thread"
IDS_FILE="$work/ids.txt" wrk -t1 -c"$connections" -d"${duration}s" --latency -s benches/load/get_tracking.lua \
  "http://127.0.0.1:$port" | grep -E 'Requests/sec|Latency|50%|90%|99%|requests in|Non-2xx|Socket errors'

export BODY='{"tracking_number":"TC-DELIVERED-5-LOAD","events":[{"occurred_at":"2026-01-01T00:00:00Z","code":"PUP","description":"Picked up"}]}'
export SIGNATURE=$(python3 -c 'import base64,hashlib,hmac,os; print(base64.b64encode(hmac.new(b"load-secret", os.environ["BODY"].encode(), hashlib.sha256).digest()).decode())')
echo "== POST /webhooks/carriers/testing-courier: ${duration}s, ${connections} connections, 1 wrk thread"
wrk -t1 -c"$connections" -d"${duration}s" --latency -s benches/load/webhook.lua "http://127.0.0.1:$port" \
  | grep -E 'Requests/sec|Latency|50%|90%|99%|requests in|Non-2xx|Socket errors'

# The shopper's tracking page, on the demo shop's parcels (up to 10 checkpoints over two legs),
# served by a second `serve --demo` whose lookup limit is lifted: every request comes from
# 127.0.0.1.
page_work=$(mktemp -d)
page_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$bin" --db "$page_work/demo.db" serve --demo --listen "127.0.0.1:$page_port" --page-lookups-per-minute 1000000000 \
  >"$page_work/stdout" 2>"$page_work/stderr" &
page_pid=$!
trap 'kill "$page_pid" 2>/dev/null || true; wait "$page_pid" 2>/dev/null || true; rm -rf "$page_work"; cleanup' EXIT
for _ in $(seq 1 100); do grep -q '^plk_' "$page_work/stdout" 2>/dev/null && break; sleep 0.1; done
export DEMO_KEY=$(grep '^plk_' "$page_work/stdout" | tail -n 1)
python3 - "$page_port" "$page_work/paths.txt" <<'PY'
import json, os, sys, urllib.parse, urllib.request
port, out = sys.argv[1], sys.argv[2]
request = urllib.request.Request(f"http://127.0.0.1:{port}/tracking/2026-07/trackings?limit=200",
                                 headers={"as-api-key": os.environ["DEMO_KEY"]})
trackings = json.load(urllib.request.urlopen(request))["data"]["trackings"]
paths = [urllib.parse.urlparse(t["aftership_tracking_url"]).path for t in trackings]
open(out, "w").write("\n".join(paths) + "\n")
print(f"== {len(paths)} demo parcels' pages")
PY
echo "== GET /t/{slug}/{tracking_number}: ${duration}s, ${connections} connections, 1 wrk thread"
PATHS_FILE="$page_work/paths.txt" wrk -t1 -c"$connections" -d"${duration}s" --latency -s benches/load/get_page.lua \
  "http://127.0.0.1:$page_port" | grep -E 'Requests/sec|Latency|50%|90%|99%|requests in|Non-2xx|Socket errors'
