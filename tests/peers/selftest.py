#!/usr/bin/env python3
"""Checks both echo peers against their contract (tests/peers/README.md).

Run with the peers' venv after setup.sh:
    target/peers/venv/bin/python tests/peers/selftest.py [python|node ...]
Prints one line per peer and flavour, then a summary; exits 1 on any failure.
"""

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import traceback

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COMMANDS = {
    "python": [os.path.join(ROOT, "target/peers/venv/bin/python"), "tests/peers/python/echo_server.py"],
    "node": ["node", "tests/peers/node/echo_server.js"],
}


def spawn(kind, deflate):
    argv = COMMANDS[kind] + (["--deflate"] if deflate else []) + ["0"]
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()  # the contract: first line is "LISTENING <port>"
    assert line.startswith("LISTENING "), f"{kind}: unexpected first line {line!r}"
    return proc, int(line.split()[1])


async def expect_close(ws, code, reason):
    try:
        message = await ws.recv()
    except ConnectionClosed as closed:
        assert (closed.rcvd.code, closed.rcvd.reason) == (code, reason), closed.rcvd
    else:
        raise AssertionError(f"expected close {code}, got message {message!r}")


async def check(port, deflate):
    base = f"ws://127.0.0.1:{port}"

    async with connect(base + "/echo", max_size=None) as ws:
        extensions = ws.response.headers.get("Sec-WebSocket-Extensions") or ""
        assert ("permessage-deflate" in extensions) == deflate, extensions
        assert ws.subprotocol is None
        for message in ["héllo ✓", "", b"\x00\xff" * 7, b"", os.urandom(5 << 20), "x" * (1 << 20)]:
            await ws.send(message)
            echoed = await ws.recv()
            assert type(echoed) is type(message) and echoed == message, (type(echoed), len(echoed))

    async with connect(base + "/anything/else?x=1") as ws:
        await ws.send("still echo")
        assert await ws.recv() == "still echo"

    async with connect(base + "/close?code=4000&reason=bye") as ws:
        await expect_close(ws, 4000, "bye")
    async with connect(base + "/close") as ws:
        await expect_close(ws, 1000, "")
    async with connect(base + "/close?code=1005") as ws:
        await expect_close(ws, 1011, "invalid close code")

    async with connect(base + "/fragments") as ws:
        assert [f async for f in ws.recv_streaming()] == ["Hel", "lo, ", "world"]
        assert [f async for f in ws.recv_streaming()] == [b"\x01\x02\x03", b"\x04\x05\x06"]
        await ws.send(b"after")
        assert await ws.recv() == b"after"
    async with connect(base + "/fragments?empty_last=1") as ws:
        assert [f async for f in ws.recv_streaming()] == ["Hel", "lo, ", "world", ""]
        assert [f async for f in ws.recv_streaming()] == [b"\x01\x02\x03", b"\x04\x05\x06", b""]

    async with connect(base + "/ping?await_pong=1") as ws:
        assert await ws.recv() == "pong received"
        await ws.send("after ping")
        assert await ws.recv() == "after ping"
    async with connect(base + "/ping") as ws:
        await ws.send("plain ping")
        assert await ws.recv() == "plain ping"

    for offered, chosen in [(["superchat", "chat"], "chat"), (["superchat"], "superchat"), (["other"], None)]:
        async with connect(base + "/subprotocol", subprotocols=offered) as ws:
            assert ws.subprotocol == chosen, (offered, ws.subprotocol)
            await ws.send("sub")
            assert await ws.recv() == "sub"

    async with connect(base + "/headers", additional_headers={"X-Wsock-Test": "1"}) as ws:
        headers = json.loads(await ws.recv())
        assert headers["x-wsock-test"] == "1" and headers["upgrade"] == "websocket", headers
        await ws.send("after headers")
        assert await ws.recv() == "after headers"


def main():
    kinds = sys.argv[1:] or list(COMMANDS)
    passed = failed = 0
    for kind in kinds:
        for deflate in (False, True):
            name = f"{kind}{' --deflate' if deflate else ''}"
            started = time.monotonic()
            proc = None
            try:
                proc, port = spawn(kind, deflate)
                asyncio.run(asyncio.wait_for(check(port, deflate), 60))
                proc.send_signal(signal.SIGTERM)
                assert proc.wait(10) == 0, f"exit status {proc.returncode} after SIGTERM"
            except Exception as error:  # report every peer, then fail
                failed += 1
                print(f"FAIL {name}: {type(error).__name__}: {error}", flush=True)
                traceback.print_exc()
            else:
                passed += 1
                print(f"ok   {name} ({time.monotonic() - started:.1f}s)", flush=True)
            finally:
                if proc and proc.poll() is None:
                    proc.kill()
                    proc.wait()
    print(f"peer self-test: {passed} of {passed + failed} peer flavours ok")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
