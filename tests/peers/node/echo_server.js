#!/usr/bin/env node
// Independent WebSocket echo peer for wsock's tests (Node.js `ws`).
//
// Usage: node echo_server.js [--deflate] [--detach] [PORT]
//
// Binds 127.0.0.1:PORT (0 or absent = a free port), prints "LISTENING <port>"
// on stdout once it accepts connections, and serves until killed (SIGTERM or
// SIGINT end it with status 0). Unless --detach is given it also exits when
// its parent process goes away, so a crashed test leaves no server behind.
//
// The request path selects the behaviour; tests/peers/README.md has the full
// contract, which tests/peers/python/echo_server.py implements identically.
'use strict';

const { WebSocketServer } = require('ws');

const SUBPROTOCOLS = ['chat', 'superchat'];
const PING_PAYLOAD = Buffer.from('wsock-ping');
const PONG_WAIT_MS = 5000;
const TEXT_FRAGMENTS = ['Hel', 'lo, ', 'world'];
const BINARY_FRAGMENTS = [Buffer.from([1, 2, 3]), Buffer.from([4, 5, 6])];

function usage(message) {
  process.stderr.write(`${message}\nusage: echo_server.js [--deflate] [--detach] [PORT]\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const args = { port: 0, deflate: false, detach: false };
  let sawPort = false;
  for (const arg of argv) {
    if (arg === '--deflate') args.deflate = true;
    else if (arg === '--detach') args.detach = true;
    else if (/^\d+$/.test(arg) && !sawPort && Number(arg) <= 65535) {
      args.port = Number(arg);
      sawPort = true;
    } else usage(`unexpected argument: ${arg}`);
  }
  return args;
}

// Header names lower-cased, repeated headers joined with ", ", keys sorted.
function requestHeaders(req) {
  const headers = {};
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const key = req.rawHeaders[i].toLowerCase();
    const value = req.rawHeaders[i + 1];
    headers[key] = key in headers ? `${headers[key]}, ${value}` : value;
  }
  const sorted = {};
  for (const key of Object.keys(headers).sort()) sorted[key] = headers[key];
  return sorted;
}

// Python's json.dumps separators, so both peers send the same bytes.
function pythonJson(object) {
  const items = Object.entries(object).map(
    ([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`,
  );
  return `{${items.join(', ')}}`;
}

function sendFragments(ws, fragments, binary) {
  fragments.forEach((fragment, i) => {
    ws.send(fragment, { binary, fin: i === fragments.length - 1 });
  });
}

function onConnection(ws, req) {
  const url = new URL(req.url, 'http://peer');
  const query = url.searchParams;
  ws.on('error', () => {}); // a misbehaving client only ends its own connection

  if (url.pathname === '/close') {
    try {
      ws.close(Number(query.get('code') ?? 1000), query.get('reason') ?? '');
    } catch {
      ws.close(1011, 'invalid close code');
    }
    return;
  }

  ws.on('message', (data, isBinary) => {
    ws.send(data, { binary: isBinary });
  });

  if (url.pathname === '/fragments') {
    const emptyLast = query.get('empty_last') === '1';
    sendFragments(ws, emptyLast ? [...TEXT_FRAGMENTS, ''] : TEXT_FRAGMENTS, false);
    sendFragments(ws, emptyLast ? [...BINARY_FRAGMENTS, Buffer.alloc(0)] : BINARY_FRAGMENTS, true);
  } else if (url.pathname === '/headers') {
    ws.send(pythonJson(requestHeaders(req)));
  } else if (url.pathname === '/ping') {
    ws.ping(PING_PAYLOAD);
    if (query.get('await_pong') === '1') {
      const timer = setTimeout(() => ws.close(4001, 'no pong'), PONG_WAIT_MS);
      const onPong = (payload) => {
        if (!payload.equals(PING_PAYLOAD)) return;
        clearTimeout(timer);
        ws.off('pong', onPong);
        ws.send('pong received');
      };
      ws.on('pong', onPong);
      ws.on('close', () => clearTimeout(timer));
    }
  }
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  const wss = new WebSocketServer({
    host: '127.0.0.1',
    port: args.port,
    // threshold 0: compress every message, as the Python peer does.
    perMessageDeflate: args.deflate ? { threshold: 0 } : false,
    maxPayload: 0, // no limit
    handleProtocols: (offered) => SUBPROTOCOLS.find((p) => offered.has(p)) ?? false,
  });
  wss.on('listening', () => {
    process.stdout.write(`LISTENING ${wss.address().port}\n`);
  });
  wss.on('connection', onConnection);
  wss.on('error', (err) => {
    process.stderr.write(`echo_server.js: ${err.message}\n`);
    process.exit(1);
  });

  const stop = () => {
    for (const client of wss.clients) client.terminate();
    wss.close(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  if (!args.detach) {
    const parent = process.ppid;
    setInterval(() => {
      if (process.ppid !== parent) stop();
    }, 1000).unref();
  }
}

main();
