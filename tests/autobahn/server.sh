#!/usr/bin/env bash
# Runs the Autobahn|Testsuite fuzzing client against our server role.
#
#   tests/autobahn/server.sh [--compression] [--cases '1.*,2.*']
#
# Builds examples/autobahn_server.rs (release), starts it on a free loopback
# port, points `wstest -m fuzzingclient` at it and checks the report. Cases
# 12.* and 13.* (permessage-deflate) are left out unless --compression is
# given. The HTML and JSON reports land in $AUTOBAHN_SERVER_REPORTS (default
# target/autobahn/server), the server's output in server.log beside them.
# Exit status 0 only when every case ran and none has the behaviour FAILED,
# UNIMPLEMENTED or a missing result; the summary is printed last.
#
# wstest comes from ../shared/autobahn/install.sh (beside the repository, or
# $AUTOBAHN_INSTALL), which returns at once when it is installed already.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
compression=0
cases='*'
while [ $# -gt 0 ]; do
  case "$1" in
    --compression) compression=1; shift ;;
    --cases) cases="$2"; shift 2 ;;
    *) echo "usage: tests/autobahn/server.sh [--compression] [--cases LIST]" >&2; exit 2 ;;
  esac
done

"${AUTOBAHN_INSTALL:-$root/../shared/autobahn/install.sh}"
target_dir=${CARGO_TARGET_DIR:-target}
cargo build -q --release --example autobahn_server
reports=${AUTOBAHN_SERVER_REPORTS:-target/autobahn/server}
mkdir -p "$reports"
reports=$(cd "$reports" && pwd)
agent=${AUTOBAHN_AGENT:-wsock}

log=$reports/server.log
server_args=(127.0.0.1:0)
[ "$compression" = 1 ] && server_args+=(--deflate)
"$target_dir/release/examples/autobahn_server" "${server_args[@]}" >"$log" 2>&1 &
server=$!
work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
port=
for _ in $(seq 100); do
  port=$(sed -n 's/^LISTENING \([0-9][0-9]*\)$/\1/p' "$log" | head -n1)
  [ -n "$port" ] && break
  kill -0 "$server" 2>/dev/null || { cat "$log" >&2; echo "autobahn: the server exited" >&2; exit 1; }
  sleep 0.1
done
[ -n "$port" ] || { cat "$log" >&2; echo "autobahn: the server did not say LISTENING" >&2; exit 1; }

python3 - "$work/fuzzingclient.json" "$port" "$reports" "$cases" "$compression" "$agent" <<'PY'
import json, sys
path, port, reports, cases, compression, agent = sys.argv[1:]
exclude = [] if compression == "1" else ["12.*", "13.*"]
json.dump({"outdir": reports,
           "servers": [{"agent": agent, "url": "ws://127.0.0.1:%s" % port}],
           "cases": [c.strip() for c in cases.split(",")],
           "exclude-cases": exclude, "exclude-agent-cases": {}}, open(path, "w"))
PY

rm -f "$reports/index.json"
status=0
(cd "$work" && /usr/bin/python2.7 /opt/autobahn/bin/wstest -m fuzzingclient -s fuzzingclient.json >"$work/client.log" 2>&1) || status=$?
[ "$status" = 0 ] || { tail -n 20 "$work/client.log" >&2; echo "autobahn: wstest exited with status $status" >&2; }
kill -0 "$server" 2>/dev/null || { echo "autobahn: the server died during the run; its log:" >&2; tail -n 20 "$log" >&2; }

python3 - "$reports/index.json" "$agent" "$work/client.log" <<'PY'
import collections, json, os, sys
path, agent, log = sys.argv[1:]
expected = None
for line in open(log):
    if "will run" in line and "test cases" in line:
        expected = int(line.split("will run")[1].split()[0])
if not os.path.exists(path):
    print("autobahn: no report was written")
    sys.exit(1)
cases = json.load(open(path)).get(agent, {})
count = collections.Counter(v["behavior"] for v in cases.values())
close = collections.Counter(v["behaviorClose"] for v in cases.values())
bad = sorted((k for k, v in cases.items()
              if v["behavior"] in ("FAILED", "UNIMPLEMENTED") or v["behaviorClose"] in ("FAILED", "UNIMPLEMENTED")),
             key=lambda k: [int(p) for p in k.split(".")])
missing = (expected or 0) - len(cases)
for k in bad:
    print("  %s: %s / close %s" % (k, cases[k]["behavior"], cases[k]["behaviorClose"]))
print("autobahn server %s: %d cases of %s; behaviour %s; close %s; %d failing, %d missing" % (
    agent, len(cases), expected, dict(count), dict(close), len(bad), max(missing, 0)))
sys.exit(1 if bad or missing > 0 or not cases or expected is None else 0)
PY
