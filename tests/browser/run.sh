#!/usr/bin/env bash
# The browser test: the echo_server example's page in headless Chromium.
#
#   tests/browser/run.sh
#
# Installs Debian's chromium if /usr/bin/chromium is missing (needs root, as
# in CI), playwright-core from tests/browser/package-lock.json (npm ci,
# skipped while up to date), builds and starts the echo_server example on a
# free loopback port, and runs browser_test.js against it: over http://
# (HTTP/1.1), then over https:// with a certificate made here by openssl
# (HTTP/2: page and socket over one h2 connection). The screenshots land in
# target/browser/echo-{http,https}.png, the server's output in
# target/browser/server-{http,https}.log. Exit status 0 only when the page
# connected, echoed and closed with 1000 both times, and the server's log
# shows the socket over HTTP/1.1, then over HTTP/2. Run from anywhere.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
out=$root/target/browser
mkdir -p "$out"
say() { printf 'browser: %s\n' "$*"; }

# --- Chromium from Debian ----------------------------------------------------
if ! [ -x /usr/bin/chromium ]; then
  say "installing chromium (apt)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
say "$(/usr/bin/chromium --version 2>/dev/null || echo 'chromium: version unknown')"

# --- playwright-core from the lock file --------------------------------------
dir=tests/browser
stamp=$dir/node_modules/.wsock-browser.stamp
want="$(cat "$dir/package.json" "$dir/package-lock.json" | sha256sum | cut -d' ' -f1) $(node --version)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  say "npm ci in $dir"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$want" >"$stamp"
fi

# --- the runs ---------------------------------------------------------------
# Twice: over http:// (HTTP/1.1), then over https:// with a self-signed
# certificate, where Chromium picks h2 by ALPN and opens the socket as an
# extended CONNECT on that connection (RFC 8441); the server's log says
# which HTTP version each socket ran over.
if ! command -v openssl >/dev/null; then
  say "installing openssl (apt)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openssl >/dev/null
fi
cargo build -q --example echo_server
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=localhost" \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
  -keyout "$out/key.pem" -out "$out/cert.pem" 2>/dev/null

server=
trap 'if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi' EXIT

# run SCHEME HTTP-VERSION-IN-THE-LOG [SERVER FLAGS...]
run() {
  local scheme=$1 version=$2
  shift 2
  local log=$out/server-$scheme.log
  cargo run -q --example echo_server -- 127.0.0.1:0 "$@" >"$log" 2>&1 &
  server=$!
  local port=
  for _ in $(seq 300); do
    port=$(sed -n 's/^LISTENING \([0-9][0-9]*\)$/\1/p' "$log" | head -n1)
    [ -n "$port" ] && break
    kill -0 "$server" 2>/dev/null || { cat "$log" >&2; say "the server exited"; exit 1; }
    sleep 0.1
  done
  [ -n "$port" ] || { cat "$log" >&2; say "the server did not say LISTENING"; exit 1; }
  say "echo_server listening on $scheme://127.0.0.1:$port/"
  local shot=$out/echo-$scheme.png status=0
  rm -f "$shot"
  timeout --kill-after=10s 180s node "$dir/browser_test.js" "$scheme://127.0.0.1:$port/" "$shot" || status=$?
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  server=
  if [ "$status" = 0 ] && ! grep -q "^SOCKET .* over $version\$" "$log"; then
    say "the socket did not run over $version"
    status=1
  fi
  if [ "$status" != 0 ]; then
    say "server log:"
    sed 's/^/  /' "$log" >&2
    exit "$status"
  fi
  say "$scheme: $(grep -m1 '^SOCKET ' "$log")"
  [ -f "$shot" ] && say "screenshot: $shot"
}

run http HTTP/1.1
run https HTTP/2 --cert "$out/cert.pem" --key "$out/key.pem"
