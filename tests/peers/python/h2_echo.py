#!/usr/bin/env python3
"""Independent WebSocket-over-HTTP/2 peer for wsock's tests: hypercorn
(RFC 8441's extended CONNECT, and HTTP/1.1 upgrades) serving a small ASGI app.

Usage: h2_echo.py [--certfile F --keyfile F] [PORT]

Binds 127.0.0.1:PORT (0 or absent = a free port) and prints
"LISTENING <port>" on stdout once it accepts connections. With a certificate
it speaks TLS and offers h2 and http/1.1 in ALPN; without, plain TCP, where
hypercorn takes HTTP/2 with prior knowledge (h2c) as well as HTTP/1.1. It
exits when killed or when its parent process goes away.

Paths (WebSocket requests):
  /            echo every message back (text as text, binary as binary);
               the subprotocol "chat" is chosen when offered
  /count       sends one text message, the number of TCP connections that
               carried a WebSocket request so far (this one included), then
               closes: tells whether sockets shared a connection
  /version     sends the HTTP version of the request ("2" or "1.1"), closes
  /forbidden   refused before accepting: hypercorn answers 403
  /missing     refused with the ASGI denial response: 404, body "no such socket"
"""

import argparse
import asyncio
import os
import signal
import socket
import sys

from hypercorn.asyncio import serve
from hypercorn.config import Config

# (host, port) of every client connection that carried a WebSocket request.
connections = set()


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "websocket":
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        return
    connections.add(tuple(scope["client"]))
    path = scope["path"]
    connect = await receive()
    assert connect["type"] == "websocket.connect"
    if path == "/forbidden":
        await send({"type": "websocket.close"})
        return
    if path == "/missing":
        body = b"no such socket"
        await send({
            "type": "websocket.http.response.start",
            "status": 404,
            "headers": [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())],
        })
        await send({"type": "websocket.http.response.body", "body": body})
        return
    if path in ("/count", "/version"):
        await send({"type": "websocket.accept"})
        text = str(len(connections)) if path == "/count" else scope["http_version"]
        await send({"type": "websocket.send", "text": text})
        await send({"type": "websocket.close", "code": 1000})
        return
    subprotocol = "chat" if "chat" in scope.get("subprotocols", []) else None
    await send({"type": "websocket.accept", "subprotocol": subprotocol})
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        if message.get("text") is not None:
            await send({"type": "websocket.send", "text": message["text"]})
        else:
            await send({"type": "websocket.send", "bytes": message.get("bytes") or b""})


async def watch_parent(stop):
    parent = os.getppid()
    while os.getppid() == parent:
        await asyncio.sleep(0.5)
    stop.set()


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--certfile")
    parser.add_argument("--keyfile")
    parser.add_argument("port", nargs="?", type=int, default=0)
    args = parser.parse_args()

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    sock.listen(1024)
    sock.set_inheritable(True)

    config = Config()
    config.bind = [f"fd://{sock.fileno()}"]
    if args.certfile:
        config.certfile = args.certfile
        config.keyfile = args.keyfile
    # Room for the tests' 100 sockets and their /count on one connection,
    # and for 16 MiB messages.
    config.h2_max_concurrent_streams = 200
    config.websocket_max_message_size = 64 * 1024 * 1024
    config.accesslog = None
    config.errorlog = "-"

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    asyncio.create_task(watch_parent(stop))
    print(f"LISTENING {sock.getsockname()[1]}", flush=True)
    await serve(app, config, shutdown_trigger=stop.wait)


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)
