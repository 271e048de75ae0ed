#!/usr/bin/env bash
# The browser test: the echo_server example's page in headless Chromium.
#
#   tests/browser/run.sh
#
# Installs Debian's chromium if /usr/bin/chromium is missing (needs root, as
# in CI), playwright-core from tests/browser/package-lock.json (npm ci,
# skipped while up to date), builds and starts the echo_server example on a
# free loopback port, and runs browser_test.js against it. The screenshot
# lands in target/browser/echo.png, the server's output in
# target/browser/server.log. Exit status 0 only when the page connected,
# echoed and closed with 1000. Run from anywhere.
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

# --- the server --------------------------------------------------------------
cargo build -q --example echo_server
log=$out/server.log
cargo run -q --example echo_server -- 127.0.0.1:0 >"$log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true' EXIT
port=
for _ in $(seq 300); do
  port=$(sed -n 's/^LISTENING \([0-9][0-9]*\)$/\1/p' "$log" | head -n1)
  [ -n "$port" ] && break
  kill -0 "$server" 2>/dev/null || { cat "$log" >&2; say "the server exited"; exit 1; }
  sleep 0.1
done
[ -n "$port" ] || { cat "$log" >&2; say "the server did not say LISTENING"; exit 1; }
say "echo_server listening on 127.0.0.1:$port"

# --- the page ----------------------------------------------------------------
rm -f "$out/echo.png"
status=0
timeout --kill-after=10s 180s node "$dir/browser_test.js" "http://127.0.0.1:$port/" "$out/echo.png" || status=$?
if [ "$status" != 0 ]; then
  say "server log:"
  sed 's/^/  /' "$log" >&2
fi
[ -f "$out/echo.png" ] && say "screenshot: $out/echo.png"
exit "$status"
