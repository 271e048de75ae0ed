#!/bin/sh
# Installs the system packages the test suite runs against, when missing:
# tinyproxy (tests/proxy.rs starts it on a loopback port) and microsocks
# (a SOCKS5 server that answers refusals with their reply codes, for
# tests/socks5.rs). Idempotent: does nothing when everything is there.
# Needs root (or sudo) only to install.
set -eu

missing=""
command -v tinyproxy >/dev/null 2>&1 || missing="$missing tinyproxy"
command -v microsocks >/dev/null 2>&1 || missing="$missing microsocks"

if [ -z "$missing" ]; then
    echo "install-test-deps: nothing to install"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-test-deps: missing:$missing, and no apt-get to install it" >&2
    exit 1
fi

sudo=""
if [ "$(id -u)" != 0 ]; then
    sudo="sudo"
fi

echo "install-test-deps: installing$missing"
# shellcheck disable=SC2086 # the package list is meant to split
$sudo apt-get update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing
