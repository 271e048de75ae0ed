#!/usr/bin/env python3
"""Checks the declared MSRV (rust-version in Cargo.toml) against what the
build needs, where no older toolchain can be installed to try it: every
crate the library depends on (normal and build dependencies, all features
on) must declare a rust-version no newer than ours. Our own code is checked
by clippy's incompatible_msrv lint, which reads the same rust-version.
"""
import json
import subprocess
import sys


def version(v):
    parts = [int(x) for x in v.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


meta = json.loads(
    subprocess.check_output(
        ["cargo", "metadata", "--format-version", "1", "--all-features", "--locked"]
    )
)
packages = {p["id"]: p for p in meta["packages"]}
root = meta["resolve"]["root"]
ours = packages[root]["rust_version"]
nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}

# Reachable through normal and build dependencies only: dev-dependencies
# build the tests, not what users compile.
seen, todo = set(), [root]
while todo:
    node = nodes[todo.pop()]
    for dep in node["deps"]:
        kinds = {k["kind"] for k in dep["dep_kinds"]}
        if kinds & {None, "build"} and dep["pkg"] not in seen:
            seen.add(dep["pkg"])
            todo.append(dep["pkg"])

newer = []
for pid in sorted(seen, key=lambda i: packages[i]["name"]):
    p = packages[pid]
    rv = p.get("rust_version")
    if rv and version(rv) > version(ours):
        newer.append(f"{p['name']} {p['version']} needs Rust {rv}")
print(f"rust-version {ours}; {len(seen)} crates in the build")
if newer:
    print("newer than the declared MSRV:\n  " + "\n  ".join(newer))
    sys.exit(1)
