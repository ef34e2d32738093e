# Sourced by scripts/test.sh and scripts/load.sh: starts `porchlight serve` on a free loopback
# port with a fresh database and a new tenant, and stops it on exit.
# Needs: $bin (the porchlight binary), $1 = tenant name. Sets: work, port, key, server_pid.
work=$(mktemp -d)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
key=$("$bin" --db "$work/porchlight.db" tenants create "$1" | tail -n 1)
"$bin" --db "$work/porchlight.db" --log-format json serve --listen "127.0.0.1:$port" ${SERVE_ARGS:-} >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
  python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null && break
  sleep 0.1
done
