"""A WebSocket client over HTTP/2 (RFC 8441) built on hyper-h2, independent
of wsock: it opens extended CONNECT streams on one connection, sends masked
frames written here and checks the echoes. tests/http2_server_peers.rs runs it
against our server role.

    h2_ws_client.py PORT [--tls CA.pem] [--streams N] [--path /ws]
                    [--header NAME:VALUE]... [--expect-status CODE]

Over TLS it offers ALPN h2 only and fails unless the server picks it;
without --tls it speaks h2c with prior knowledge. It checks that the
server announces SETTINGS_ENABLE_CONNECT_PROTOCOL, then opens N streams
(default 1) at once. With --expect-status it checks the CONNECT's answer
status and stops there; else each stream must answer 200, echo a text, a
binary and an empty message, and answer a close with 1000. Prints one
line per check and "PASSED" at the end; exits non-zero on any failure.
Every read has a time limit, so a broken server fails the run.
"""

import argparse
import os
import socket
import ssl
import struct
import sys

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings

TIMEOUT = 20.0


def fail(why):
    print(f"FAILED: {why}", flush=True)
    sys.exit(1)


def frame(opcode, payload):
    """A final, masked client frame."""
    head = bytes([0x80 | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", n)
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def parse_frame(buf):
    """(first byte, payload, bytes used) of a server frame, or None."""
    if len(buf) < 2:
        return None
    if buf[1] & 0x80:
        fail("a server frame was masked")
    n, used = buf[1] & 0x7F, 2
    if n == 126:
        if len(buf) < 4:
            return None
        n, used = struct.unpack("!H", buf[2:4])[0], 4
    elif n == 127:
        if len(buf) < 10:
            return None
        n, used = struct.unpack("!Q", buf[2:10])[0], 10
    if len(buf) < used + n:
        return None
    return buf[0], bytes(buf[used : used + n]), used + n


class Client:
    def __init__(self, sock):
        self.sock = sock
        config = h2.config.H2Configuration(client_side=True, header_encoding="utf-8")
        self.conn = h2.connection.H2Connection(config=config)
        self.conn.initiate_connection()
        self.flush()
        self.connect_enabled = None
        self.responses = {}
        self.data = {}
        self.ended = set()
        self.reset = {}

    def flush(self):
        out = self.conn.data_to_send()
        if out:
            self.sock.sendall(out)

    def pump(self):
        """Reads once from the socket and handles what came."""
        chunk = self.sock.recv(65536)
        if not chunk:
            fail("the server closed the connection")
        for event in self.conn.receive_data(chunk):
            if isinstance(event, h2.events.RemoteSettingsChanged):
                code = h2.settings.SettingCodes.ENABLE_CONNECT_PROTOCOL
                if code in event.changed_settings:
                    self.connect_enabled = event.changed_settings[code].new_value
                elif self.connect_enabled is None:
                    self.connect_enabled = 0
            elif isinstance(event, h2.events.ResponseReceived):
                self.responses[event.stream_id] = dict(event.headers)
            elif isinstance(event, h2.events.DataReceived):
                self.data.setdefault(event.stream_id, bytearray()).extend(event.data)
                self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, h2.events.StreamEnded):
                self.ended.add(event.stream_id)
            elif isinstance(event, h2.events.StreamReset):
                self.reset[event.stream_id] = event.error_code
            elif isinstance(event, h2.events.ConnectionTerminated):
                fail(f"GOAWAY from the server ({event.error_code})")
        self.flush()

    def until(self, done, what):
        while not done():
            try:
                self.pump()
            except socket.timeout:
                fail(f"timed out waiting for {what}")

    def open(self, path, authority, scheme, headers):
        sid = self.conn.get_next_available_stream_id()
        self.conn.send_headers(
            sid,
            [
                (":method", "CONNECT"),
                (":protocol", "websocket"),
                (":scheme", scheme),
                (":path", path),
                (":authority", authority),
            ]
            + headers,
        )
        self.flush()
        return sid

    def send(self, sid, data):
        # As the server's flow control windows allow.
        while data:
            n = min(len(data), self.conn.local_flow_control_window(sid), 16384)
            if n == 0:
                self.flush()
                self.until(lambda: self.conn.local_flow_control_window(sid) > 0, "window")
                continue
            self.conn.send_data(sid, data[:n])
            data = data[n:]
        self.flush()

    def next_frame(self, sid):
        def ready():
            return parse_frame(self.data.get(sid, b"")) is not None or sid in self.ended

        self.until(ready, f"a frame on stream {sid}")
        parsed = parse_frame(self.data.get(sid, b""))
        if parsed is None:
            return None
        b0, payload, used = parsed
        del self.data[sid][:used]
        return b0, payload


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("--tls")
    ap.add_argument("--streams", type=int, default=1)
    ap.add_argument("--path", default="/ws")
    ap.add_argument("--header", action="append", default=[])
    ap.add_argument("--expect-status", type=int)
    args = ap.parse_args()

    sock = socket.create_connection(("127.0.0.1", args.port), timeout=TIMEOUT)
    scheme = "http"
    if args.tls:
        ctx = ssl.create_default_context(cafile=args.tls)
        ctx.set_alpn_protocols(["h2"])
        sock = ctx.wrap_socket(sock, server_hostname="localhost")
        if sock.selected_alpn_protocol() != "h2":
            fail(f"ALPN chose {sock.selected_alpn_protocol()!r}, not h2")
        print("alpn: h2", flush=True)
        scheme = "https"
    client = Client(sock)
    client.until(lambda: client.connect_enabled is not None, "the server's SETTINGS")
    if client.connect_enabled != 1:
        fail("the server does not announce SETTINGS_ENABLE_CONNECT_PROTOCOL")
    print("settings: SETTINGS_ENABLE_CONNECT_PROTOCOL = 1", flush=True)

    headers = [("sec-websocket-version", "13")]
    for h in args.header:
        name, _, value = h.partition(":")
        headers.append((name.strip().lower(), value.strip()))
    authority = f"localhost:{args.port}"
    sids = [client.open(args.path, authority, scheme, headers) for _ in range(args.streams)]
    client.until(lambda: all(s in client.responses or s in client.reset for s in sids), "the answers")
    for sid in sids:
        # A reset after a whole answer (NO_ERROR: "send no more of the
        # request") is allowed; one instead of an answer is not.
        if sid not in client.responses:
            fail(f"stream {sid} was reset ({client.reset[sid]})")
        status = int(client.responses[sid][":status"])
        if args.expect_status is not None:
            if status != args.expect_status:
                fail(f"stream {sid} answered {status}, not {args.expect_status}")
            continue
        if status != 200:
            fail(f"stream {sid} answered {status}")
        if "sec-websocket-accept" in client.responses[sid]:
            fail("a 200 with Sec-WebSocket-Accept")
    if args.expect_status is not None:
        print(f"status: {args.expect_status}", flush=True)
        print("PASSED", flush=True)
        return
    print(f"open: {len(sids)} streams answered 200", flush=True)

    for sid in sids:
        client.send(sid, frame(0x1, f"hello {sid}".encode()))
    for sid in reversed(sids):
        got = client.next_frame(sid)
        if got != (0x81, f"hello {sid}".encode()):
            fail(f"stream {sid} echoed {got!r}")
    for sid in sids:
        client.send(sid, frame(0x2, bytes(range(256)) * 300))
        client.send(sid, frame(0x1, b""))
    for sid in sids:
        if client.next_frame(sid) != (0x82, bytes(range(256)) * 300):
            fail(f"stream {sid}: the binary echo differs")
        if client.next_frame(sid) != (0x81, b""):
            fail(f"stream {sid}: the empty echo differs")
    print("echo: text, binary and empty on every stream", flush=True)

    for sid in sids:
        client.send(sid, frame(0x8, struct.pack("!H", 1000)))
    for sid in sids:
        got = client.next_frame(sid)
        if got is None or got[0] != 0x88 or got[1][:2] != struct.pack("!H", 1000):
            fail(f"stream {sid}: no close 1000 answered ({got!r})")
        # The server may have ended the stream (END_STREAM, then a reset
        # since this side's half was still open) already.
        if sid not in client.reset:
            try:
                client.conn.end_stream(sid)
            except h2.exceptions.StreamClosedError:
                pass
            client.flush()
    client.until(lambda: all(s in client.ended for s in sids), "the ends")
    resets = {code for code in client.reset.values()}
    print(f"close: 1000 answered, every stream ended (resets after the end: {resets or 'none'})", flush=True)
    client.conn.close_connection()
    client.flush()
    print("PASSED", flush=True)


if __name__ == "__main__":
    main()
