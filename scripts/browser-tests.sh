#!/usr/bin/env bash
# Opens the demo shop's tracking page in Debian's headless Chromium (tests/browser: playwright-core
# drives it, axe-core checks it) against `porchlight serve --demo` on a free loopback port with a
# fresh database. Screenshots go to ./screenshots (not committed) for a person to look at.
# Installs what it needs idempotently: Debian's chromium and a CJK font (apt, as root or through
# sudo), the npm packages. Called by scripts/test.sh; needs $bin (the porchlight binary).
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${bin:-${CARGO_TARGET_DIR:-target}/debug/porchlight}"

missing=()
command -v chromium >/dev/null || missing+=(chromium)
# Chinese and Japanese pages need a font that has their characters, or screenshots show boxes.
fc-list 2>/dev/null | grep -qi "wenquanyi\|noto sans cjk" || missing+=(fonts-wqy-zenhei)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]} from Debian"
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get install -y -q "${missing[@]}" >/dev/null \
    || { $sudo apt-get update -q >/dev/null && $sudo apt-get install -y -q "${missing[@]}" >/dev/null; }
fi
command -v chromium >/dev/null || { echo "error: chromium could not be installed" >&2; exit 1; }

(
  cd tests/browser
  if [ ! -d node_modules/playwright-core ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --no-audit --no-fund --loglevel=error
  fi
)

browser_work=$(mktemp -d)
trap 'kill "$page_pid" 2>/dev/null || true; wait "$page_pid" 2>/dev/null || true; rm -rf "$browser_work"' EXIT
page_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# Dozens of page loads from one address: the lookup limit is raised for the test. The returns
# portal test tracks a sandbox return shipment (polled every second) and receives webhooks on
# loopback.
"$bin" --db "$browser_work/demo.db" serve --demo --listen "127.0.0.1:$page_port" --page-lookups-per-minute 100000 \
  --console-sign-ins-per-minute 100000 \
  --poll-every 1 --poll-interval testing-courier=1 --allow-private-webhooks \
  >"$browser_work/stdout" 2>"$browser_work/stderr" &
page_pid=$!
for _ in $(seq 1 100); do
  grep -q '^plk_' "$browser_work/stdout" 2>/dev/null \
    && python3 -c "import socket; socket.create_connection(('127.0.0.1', $page_port), 0.2)" 2>/dev/null && break
  sleep 0.1
done
key=$(grep '^plk_' "$browser_work/stdout" | tail -n 1)
page_url=$(grep '^demo tracking page: ' "$browser_work/stdout" | sed 's/^demo tracking page: //')
[ -n "$key" ] && [ -n "$page_url" ] || { echo "error: serve --demo printed no key or page" >&2; cat "$browser_work"/std* >&2; exit 1; }

# The console's admin, agent and viewer, added as an operator adds members (while serve runs).
tenant=$(grep '^demo tenant: ' "$browser_work/stdout" | sed 's/.*(\(.*\))$/\1/')
console_password="browser-test-$(python3 -c 'import secrets; print(secrets.token_hex(8))')"
for role in admin agent viewer; do
  printf '%s\n' "$console_password" \
    | "$bin" --db "$browser_work/demo.db" users add "$tenant" "$role@demo.example" --role "$role" --password-stdin >/dev/null
done

rm -rf screenshots
(cd tests/browser && PORCHLIGHT_URL="http://127.0.0.1:$page_port" PORCHLIGHT_API_KEY="$key" \
  PAGE_SLUG="${page_url##*/t/}" SCREENSHOT_DIR="$PWD/../../screenshots" \
  CONSOLE_ADMIN="admin@demo.example" CONSOLE_AGENT="agent@demo.example" CONSOLE_VIEWER="viewer@demo.example" CONSOLE_PASSWORD="$console_password" \
  node --test) || {
  echo "server log:" >&2; cat "$browser_work/stderr" >&2; exit 1
}
echo "$(ls screenshots | wc -l) screenshots in ./screenshots"
