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
