#!/usr/bin/env bash
# Installs the independent WebSocket peers the tests talk to:
#   target/peers/venv           Python venv with tests/peers/python/requirements.txt
#   tests/peers/node/node_modules   `npm ci` from tests/peers/node/package-lock.json
# Idempotent: each half is skipped while its stamp (a hash of what it was
# installed from, plus the interpreter's version) still matches.
# Run from anywhere; paths are relative to the repository root.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
venv=target/peers/venv
py_stamp=target/peers/python.stamp
node_dir=tests/peers/node
node_stamp=$node_dir/node_modules/.wsock-peers.stamp

say() { printf 'peers: %s\n' "$*"; }
hash_of() { cat "$@" | sha256sum | cut -d' ' -f1; }

# --- Python: websockets (and pproxy, a SOCKS5 proxy) in a venv ---------------
py_want="$(hash_of tests/peers/python/requirements.txt) $(python3 --version 2>&1)"
if [ -x "$venv/bin/python" ] && [ "$(cat "$py_stamp" 2>/dev/null)" = "$py_want" ] \
   && "$venv/bin/python" -c 'import websockets, pproxy, hypercorn, h2' 2>/dev/null; then
  say "python venv up to date"
else
  say "creating $venv"
  rm -rf "$venv" "$py_stamp"
  mkdir -p target/peers
  if ! python3 -m venv "$venv" 2>/dev/null; then
    # Debian's own python3 ships venv/ensurepip separately.
    rm -rf "$venv"
    if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
      say "python3 -m venv failed; installing python3-venv"
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
      python3 -m venv "$venv"
    else
      echo "peers: python3 -m venv failed; install python3-venv" >&2
      exit 1
    fi
  fi
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -r tests/peers/python/requirements.txt
  echo "$py_want" >"$py_stamp"
fi

# --- Node: ws from the lock file ---------------------------------------------
command -v node >/dev/null && command -v npm >/dev/null || {
  echo "peers: node and npm are needed for tests/peers/node" >&2
  exit 1
}
node_want="$(hash_of "$node_dir/package.json" "$node_dir/package-lock.json") $(node --version)"
if [ "$(cat "$node_stamp" 2>/dev/null)" = "$node_want" ]; then
  say "node_modules up to date"
else
  say "npm ci in $node_dir"
  (cd "$node_dir" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$node_want" >"$node_stamp"
fi

say "python peer: $root/$venv/bin/python $root/tests/peers/python/echo_server.py 0 ($("$venv/bin/python" -c 'import websockets; print("websockets", websockets.__version__)'))"
say "socks5 proxy: $root/$venv/bin/pproxy -l socks5://127.0.0.1:PORT (pproxy $("$venv/bin/pproxy" --version 2>&1 | cut -d' ' -f2))"
say "node peer:   node $root/$node_dir/echo_server.js 0 (ws $(node -p 'require("./'"$node_dir"'/node_modules/ws/package.json").version'))"
