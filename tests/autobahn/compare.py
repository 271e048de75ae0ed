#!/usr/bin/env python3
"""Compares an Autobahn|Testsuite report with the committed expected results.

    compare.py REPORT_INDEX_JSON AGENT EXPECTED_JSON [--update]

run-client.sh already fails on FAILED, UNIMPLEMENTED or missing cases; this
also fails when any case got worse than the expected file says (an OK case
turning NON-STRICT, say), so a regression is noticed before it becomes a
failure. Cases that got better are listed, so the expected file can be
raised with --update.
"""
import json
import sys

RANK = {"OK": 0, "INFORMATIONAL": 0, "NON-STRICT": 1, "WRONG CODE": 1,
        "UNCLEAN": 1, "FAILED": 2, "UNIMPLEMENTED": 2}


def key(case):
    return [int(p) for p in case.split(".")]


def main():
    index, agent, expected_path = sys.argv[1:4]
    got = {case: [r["behavior"], r["behaviorClose"]]
           for case, r in json.load(open(index)).get(agent, {}).items()}
    if "--update" in sys.argv[4:]:
        lines = ["  %s: %s" % (json.dumps(c), json.dumps(got[c]))
                 for c in sorted(got, key=key)]
        with open(expected_path, "w") as f:
            f.write("{\n" + ",\n".join(lines) + "\n}\n")
        print("autobahn expected results written: %d cases" % len(got))
        return 0
    expected = json.load(open(expected_path))
    worse, better = [], []
    for case in sorted(set(expected) | set(got), key=key):
        e, g = expected.get(case), got.get(case)
        if g is None:
            worse.append("%s: expected %s, missing" % (case, e))
            continue
        if e is None:
            continue
        for what, a, b in (("behaviour", e[0], g[0]), ("close", e[1], g[1])):
            if RANK.get(b, 2) > RANK.get(a, 2):
                worse.append("%s %s: expected %s, got %s" % (case, what, a, b))
            elif RANK.get(b, 2) < RANK.get(a, 2):
                better.append("%s %s: %s -> %s" % (case, what, a, b))
    for line in better:
        print("  better: " + line)
    for line in worse:
        print("  WORSE:  " + line)
    print("autobahn vs expected: %d cases, %d worse, %d better" % (len(got), len(worse), len(better)))
    return 1 if worse else 0


if __name__ == "__main__":
    sys.exit(main())
