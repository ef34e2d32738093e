# Sourced: makes sure the test venv (beside the cargo target cache) holds the pinned Python
# packages (scripts/requirements-test.txt: the moto AWS emulator, aws-sam-translator, cfn-lint),
# starts moto's server (scripts/moto_server.py) on a free loopback port and stops it on exit.
# Sets: venv, AWS_ENDPOINT_URL, dummy credentials and region (exported), moto_pid.
venv="${PORCHLIGHT_VENV:-$(dirname "$CARGO_TARGET_DIR")/venv}"
requirements="$(dirname "${BASH_SOURCE[0]}")/requirements-test.txt"
wanted=$(sha256sum "$requirements" | cut -d' ' -f1)
if [ "$(cat "$venv/.porchlight-requirements" 2>/dev/null)" != "$wanted" ]; then
  echo "installing the test venv into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
  echo "$wanted" > "$venv/.porchlight-requirements"
fi
moto_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
moto_log=$(mktemp)
# Where moto's request recorder writes (the lifecycle test reads the SMS SNS was asked for).
moto_recording=$(mktemp)
# One request at a time (see moto_server.py: moto's backends are not thread-safe).
MOTO_RECORDER_FILEPATH="$moto_recording" "$venv/bin/python" "$(dirname "${BASH_SOURCE[0]}")/moto_server.py" 127.0.0.1 "$moto_port" \
  >"$moto_log" 2>&1 &
moto_pid=$!
trap 'kill "$moto_pid" 2>/dev/null || true; wait "$moto_pid" 2>/dev/null || true; rm -f "$moto_log" "$moto_recording"' EXIT
for _ in $(seq 1 100); do
  python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$moto_port/moto-api/', timeout=0.5)" 2>/dev/null && break
  kill -0 "$moto_pid" 2>/dev/null || { echo "error: moto_server did not start:" >&2; cat "$moto_log" >&2; exit 1; }
  sleep 0.2
done
export AWS_ENDPOINT_URL="http://127.0.0.1:$moto_port"
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
unset AWS_PROFILE AWS_SESSION_TOKEN
