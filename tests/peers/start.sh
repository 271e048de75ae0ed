#!/usr/bin/env bash
# Starts one echo peer in the background for manual use or shell scripts:
#   port=$(bash tests/peers/start.sh python|node [--deflate])
# prints the port it listens on (127.0.0.1) on stdout; its pid and log file
# go to stderr. Stop it with: kill PID. Needs setup.sh to have run.
# Rust tests spawn the peers themselves: see tests/peers/README.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
kind=${1:-}
shift || true
case "$kind" in
  python) cmd=(target/peers/venv/bin/python tests/peers/python/echo_server.py) ;;
  node) cmd=(node tests/peers/node/echo_server.js) ;;
  *) echo "usage: start.sh python|node [--deflate]" >&2; exit 2 ;;
esac
for arg in "$@"; do
  [ "$arg" = --deflate ] || { echo "start.sh: unknown option $arg" >&2; exit 2; }
done
[ "$kind" != python ] || [ -x "${cmd[0]}" ] || { echo "start.sh: run tests/peers/setup.sh first" >&2; exit 1; }

mkdir -p target/peers/logs
log=$(mktemp "target/peers/logs/$kind-XXXXXX.log")
# The server's output goes to the log, not to our stdout, so that $(start.sh)
# returns once the port is printed. --detach: it must outlive this script.
nohup "${cmd[@]}" --detach "$@" 0 >"$log" 2>&1 </dev/null &
pid=$!
for _ in $(seq 200); do
  if port=$(sed -n 's/^LISTENING \([0-9]*\)$/\1/p' "$log") && [ -n "$port" ]; then
    echo "start.sh: $kind peer pid $pid on 127.0.0.1:$port, log $log" >&2
    echo "$port"
    exit 0
  fi
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
echo "start.sh: the $kind peer did not start; its log:" >&2
cat "$log" >&2
kill "$pid" 2>/dev/null || true
exit 1
