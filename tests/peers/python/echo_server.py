#!/usr/bin/env python3
"""Independent WebSocket echo peer for wsock's tests (Python `websockets`).

Usage: echo_server.py [--deflate] [--detach] [PORT]

Binds 127.0.0.1:PORT (0 or absent = a free port), prints "LISTENING <port>"
on stdout once it accepts connections, and serves until killed (SIGTERM or
SIGINT end it with status 0). Unless --detach is given it also exits when
its parent process goes away, so a crashed test leaves no server behind.

The request path selects the behaviour; tests/peers/README.md has the full
contract, which tests/peers/node/echo_server.js implements identically.
"""

import argparse
import asyncio
import json
import os
import signal
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed, ProtocolError

SUBPROTOCOLS = ["chat", "superchat"]
PING_PAYLOAD = b"wsock-ping"
PONG_WAIT_SECONDS = 5.0
TEXT_FRAGMENTS = [b"Hel", b"lo, ", b"world"]
BINARY_FRAGMENTS = [b"\x01\x02\x03", b"\x04\x05\x06"]


def select_subprotocol(_connection, offered):
    """The first of SUBPROTOCOLS the client offered; no subprotocol otherwise."""
    for name in SUBPROTOCOLS:
        if name in offered:
            return name
    return None


def request_headers(request):
    """Header names lower-cased, repeated headers joined with ", "."""
    headers = {}
    for name, value in request.headers.raw_items():
        key = name.lower()
        headers[key] = headers[key] + ", " + value if key in headers else value
    return headers


async def send_fragments(ws, fragments, text):
    """Sends exactly these frames: websockets' own send(iterable) would end the
    message with an extra empty frame, so this goes through the sans-I/O layer
    the way Connection.send does."""
    for i, data in enumerate(fragments):
        fin = i == len(fragments) - 1
        async with ws.send_context():
            if i > 0:
                ws.protocol.send_continuation(data, fin=fin)
            elif text:
                ws.protocol.send_text(data, fin=fin)
            else:
                ws.protocol.send_binary(data, fin=fin)


async def echo(ws):
    async for message in ws:  # str for text, bytes for binary
        await ws.send(message)


async def report_pong(ws, pong_waiter):
    try:
        await asyncio.wait_for(pong_waiter, PONG_WAIT_SECONDS)
    except asyncio.TimeoutError:
        await ws.close(4001, "no pong")
    except ConnectionClosed:
        pass
    else:
        try:
            await ws.send("pong received")
        except ConnectionClosed:
            pass


async def handler(ws):
    url = urlsplit(ws.request.path)
    query = {k: v[-1] for k, v in parse_qs(url.query).items()}
    try:
        if url.path == "/close":
            try:
                code = int(query.get("code", "1000"))
                await ws.close(code, query.get("reason", ""))
            except (ValueError, ProtocolError):
                await ws.close(1011, "invalid close code")
            return
        if url.path == "/fragments":
            last = [b""] if query.get("empty_last") == "1" else []
            await send_fragments(ws, TEXT_FRAGMENTS + last, text=True)
            await send_fragments(ws, BINARY_FRAGMENTS + last, text=False)
        elif url.path == "/headers":
            await ws.send(json.dumps(request_headers(ws.request), sort_keys=True))
        elif url.path == "/ping":
            pong_waiter = await ws.ping(PING_PAYLOAD)
            if query.get("await_pong") == "1":
                task = asyncio.create_task(report_pong(ws, pong_waiter))
                try:
                    await echo(ws)
                finally:
                    task.cancel()
                return
        await echo(ws)
    except ConnectionClosed:
        pass


async def watch_parent(stop):
    parent = os.getppid()
    while os.getppid() == parent:
        await asyncio.sleep(1)
    if not stop.done():
        stop.set_result(None)


async def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("port", nargs="?", type=int, default=0)
    parser.add_argument("--deflate", action="store_true", help="offer permessage-deflate")
    parser.add_argument("--detach", action="store_true", help="keep running when the parent exits")
    args = parser.parse_args()

    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    if not args.detach:
        watcher = asyncio.create_task(watch_parent(stop))

    async with serve(
        handler,
        "127.0.0.1",
        args.port,
        compression="deflate" if args.deflate else None,
        subprotocols=SUBPROTOCOLS,
        select_subprotocol=select_subprotocol,
        max_size=None,
        ping_interval=None,
    ) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"LISTENING {port}", flush=True)
        await stop
    if not args.detach:
        watcher.cancel()


if __name__ == "__main__":
    asyncio.run(main())
