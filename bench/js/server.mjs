// The benchmark server: the load generator's full contract (bench/loadgen/README.md: echo,
// `__flood__ N`, broadcast of every text message starting with "B" to every connected client),
// written once per library with that library's public API.
//   node bench/js/server.mjs <impl>
//     sockudo        our native listener; broadcast = server.publish() to a topic every connection joined
//     sockudo-http   a Node http server whose 'upgrade' handler calls our handleUpgrade(); same broadcast
//     sockudo-buf    our native listener with textAsBuffer: text arrives as a Buffer and is echoed as one
//     sockudo-loop   our native listener; broadcast = a hand-written ws.send() loop over server.clients
//     sockudo-uring  our native listener on the io_uring transport (transport: 'io_uring'); fails if the
//                    kernel has none
//     ws             `ws` with bufferutil (the process fails if bufferutil does not load)
//     ws-nobuf       `ws` with WS_NO_BUFFER_UTIL=1: its JavaScript masking
//     sockudo-tls    our native listener serving wss:// (native TLS); the certificate and key are
//                    the PEM files named by SOCKUDO_BENCH_TLS_CERT / SOCKUDO_BENCH_TLS_KEY (also below)
//     sockudo-https  a Node https server whose 'upgrade' handler calls our handleUpgrade() (the
//                    TLSSocket is a Duplex: Node's TLS, our engine)
//     ws-https       `ws` (with bufferutil) on a Node https server
//     sockudo-h2     our native listener with `http2: true, http2Cleartext: true` (WebSocket over
//                    HTTP/2 by prior knowledge, HTTP/1.1 upgrades on the same port)
//     sockudo-h2-tls our native wss:// listener with `http2: true` (ALPN h2 or http/1.1)
//     sockudo-h3     our native wss:// listener with `http3: true` (WebSocket over HTTP/3: QUIC
//                    on the same port number; TCP still answers HTTP/1.1)
//     uws            uWebSockets.js from UWS_PATH (a built uws_*.node, or a directory holding uws.js);
//                    broadcast = app.publish() to a topic every connection joined
// Every server: 127.0.0.1, port 0, no compression, no idle timeout or automatic pings, 64 MiB of
// backpressure allowed per connection (a flood of 100,000 messages must not be dropped).
// Prints "listening <port>". With an IPC channel it answers:
//   {cmd: 'memory'}                     → {rss, heapUsed, external, arrayBuffers, topics, connections} after a GC (--expose-gc)
//   {cmd: 'subscribe', topics, perConnection} → joins each connection to that many of `topics` topics, round robin
//   {cmd: 'publish-cost', count, size}  → CPU µs per broadcast of `size` bytes to every connection, writes included
//   {cmd: 'count'}                      → {messages}: messages received so far (bench/js/instructions.mjs)
import { createRequire } from 'node:module';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const impl = process.argv[2];
const require = createRequire(import.meta.url);
const ready = (port) => console.log(`listening ${port}`);
const HELLO = 'Hello, World!';
const BACKPRESSURE = 64 * 1024 * 1024;
const TOPIC = 'all';
const TEXT = { binary: false };

/** What each implementation provides to the shared contract handler and the IPC commands. */
let api;
let received = 0;

function flood(send, n) {
  for (let i = 0; i < n; i++) send(HELLO, false);
}

/**
 * The contract for one message. `data` is what the library delivers: a string (ours, text), a
 * Buffer (ws) or an ArrayBuffer (uWS). It is echoed as delivered, never converted here, so the
 * echo measures the library. `send(data, isBinary)` answers the sender.
 */
function onMessage(send, data, isBinary) {
  received++;
  if (typeof data === 'string') {  // ours delivers text as a string (decoded natively)
    if (data.charCodeAt(0) === 0x42 /* B */) return api.broadcast(data);
    if (data.startsWith('__flood__ ')) return flood(send, Number(data.slice(10)));
  } else if (!isBinary) {
    const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
    if (bytes[0] === 0x42 /* B */) return api.broadcast(data);
    if (bytes[0] === 0x5f /* _ */ && bytes.length > 10) {
      const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1');
      if (text.startsWith('__flood__ ')) return flood(send, Number(text.slice(10)));
    }
  }
  return send(data, isBinary);
}

/** The benchmark certificate (PEM files named by the driver: bench/js/tls.mjs makes them). */
function tlsFiles() {
  const cert = process.env.SOCKUDO_BENCH_TLS_CERT;
  const key = process.env.SOCKUDO_BENCH_TLS_KEY;
  if (!cert || !key) throw new Error('TLS servers need SOCKUDO_BENCH_TLS_CERT and SOCKUDO_BENCH_TLS_KEY');
  return { cert: readFileSync(cert), key: readFileSync(key) };
}

function sockudo(mode) {
  const { WebSocketServer } = require('../../dist/cjs/index.js');
  const { native } = require('../../dist/cjs/native.js');
  const options = { autoPing: false, idleTimeout: 0, maxBackpressure: BACKPRESSURE, compression: 'disabled', textAsBuffer: mode === 'buf' };
  let wss;
  if (mode === 'https') {
    const https = require('node:https');
    wss = new WebSocketServer({ noServer: true, ...options });
    const server = https.createServer(tlsFiles(), (_req, res) => { res.writeHead(426); res.end(); });
    server.on('upgrade', (req, socket, head) => { wss.handleUpgrade(req, socket, head).catch(() => {}); });
    server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => ready(server.address().port));
  } else if (mode === 'tls') {
    wss = new WebSocketServer({ port: 0, host: '127.0.0.1', backlog: 4096, tls: tlsFiles(), ...options });
    wss.on('listening', () => ready(wss.address().port));
  } else if (mode === 'h3') {
    wss = new WebSocketServer({ port: 0, host: '127.0.0.1', backlog: 4096, http3: true, http3MaxStreams: 10_000, tls: tlsFiles(), ...options });
    wss.on('listening', () => ready(wss.address().port));
  } else if (mode === 'h2-tls') {
    wss = new WebSocketServer({ port: 0, host: '127.0.0.1', backlog: 4096, http2: true, tls: tlsFiles(), ...options });
    wss.on('listening', () => ready(wss.address().port));
  } else if (mode === 'h2') {
    wss = new WebSocketServer({ port: 0, host: '127.0.0.1', backlog: 4096, http2: true, http2Cleartext: true, ...options });
    wss.on('listening', () => ready(wss.address().port));
  } else if (mode === 'http') {
    const http = require('node:http');
    wss = new WebSocketServer({ noServer: true, ...options });
    const server = http.createServer((_req, res) => { res.writeHead(426); res.end(); });
    server.on('upgrade', (req, socket, head) => { wss.handleUpgrade(req, socket, head).catch(() => {}); });
    server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => ready(server.address().port));
  } else {
    const transport = mode === 'uring' ? { transport: 'io_uring' } : {};
    wss = new WebSocketServer({ port: 0, host: '127.0.0.1', backlog: 4096, ...transport, ...options });
    if (mode === 'uring' && wss.transport.name !== 'io_uring') throw new Error(`no io_uring here: ${wss.transport.reason}`);
    wss.on('listening', () => ready(wss.address().port));
  }
  const loop = mode === 'loop';
  wss.on('connection', (ws) => {
    if (!loop) ws.subscribe(TOPIC);
    const send = (d, b) => ws.send(d, { binary: b });
    ws.on('message', (d, b) => onMessage(send, d, b));
  });
  return {
    broadcast: loop ? (data) => { for (const c of wss.clients) c.send(data, TEXT); } : (data) => wss.publish(TOPIC, data, TEXT),
    connections: () => wss.clients.size,
    topicStats: () => native.pubsubStats(),
    uringStats: () => native.uringStats(),
    subscribeMany: (topics, per) => {
      let k = 0;
      for (const c of wss.clients) for (let j = 0; j < per; j++) c.subscribe(`topic-${(k++) % topics}`);
      return k;
    },
  };
}

function ws(withBufferutil, overHttps = false) {
  if (withBufferutil) require('bufferutil');  // fail loudly rather than measure the fallback under this name
  else process.env.WS_NO_BUFFER_UTIL = '1';
  const { WebSocketServer } = require('ws');
  let wss;
  if (overHttps) {
    const server = require('node:https').createServer(tlsFiles());
    wss = new WebSocketServer({ server, perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });
    server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => ready(server.address().port));
  } else {
    wss = new WebSocketServer({ port: 0, host: '127.0.0.1', backlog: 4096, perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });
    wss.on('listening', () => ready(wss.address().port));
  }
  wss.on('connection', (c) => {
    const send = (d, b) => c.send(d, { binary: b });
    c.on('message', (d, b) => onMessage(send, d, b));
  });
  return {
    broadcast: (data) => { for (const c of wss.clients) c.send(data, TEXT); },
    connections: () => wss.clients.size,
  };
}

/** UWS_PATH: a uws_<platform>_<arch>_<modules>.node file, or a directory with uws.js (the package's loader). */
function loadUws() {
  const p = process.env.UWS_PATH;
  if (!p) throw new Error('uws: set UWS_PATH to a built uws_*.node (uWebSockets.js is not on npm)');
  if (statSync(p).isDirectory()) {
    const loader = join(p, 'uws.js');
    if (existsSync(loader)) return require(loader);
    return require(join(p, `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`));
  }
  return require(p);
}

function uws() {
  const uWS = loadUws();
  let open = 0;
  const sockets = new Set();
  const app = uWS.App().ws('/*', {
    compression: uWS.DISABLED,
    maxPayloadLength: 64 * 1024 * 1024,
    maxBackpressure: BACKPRESSURE,
    idleTimeout: 0,
    sendPingsAutomatically: false,
    open: (s) => { open++; sockets.add(s); s.subscribe(TOPIC); },
    close: (s) => { open--; sockets.delete(s); },
    // uWS hands out an ArrayBuffer valid only during the callback; send() copies it.
    message: (s, message, isBinary) => onMessage((d, b) => s.send(d, b), message, isBinary),
  });
  app.listen('127.0.0.1', 0, (token) => {
    if (!token) { console.error('uws: listen failed'); process.exit(1); }
    ready(uWS.us_socket_local_port(token));
  });
  return {
    broadcast: (data) => app.publish(TOPIC, data, false),
    connections: () => open,
    subscribeMany: (topics, per) => {
      let k = 0;
      for (const s of sockets) for (let j = 0; j < per; j++) s.subscribe(`topic-${(k++) % topics}`);
      return k;
    },
  };
}

const impls = {
  sockudo: () => sockudo('native'),
  'sockudo-http': () => sockudo('http'),
  'sockudo-buf': () => sockudo('buf'),
  'sockudo-loop': () => sockudo('loop'),
  'sockudo-uring': () => sockudo('uring'),
  'sockudo-tls': () => sockudo('tls'),
  'sockudo-h2': () => sockudo('h2'),
  'sockudo-h2-tls': () => sockudo('h2-tls'),
  'sockudo-h3': () => sockudo('h3'),
  'sockudo-https': () => sockudo('https'),
  'ws-https': () => ws(true, true),
  ws: () => ws(true),
  'ws-nobuf': () => ws(false),
  uws,
};
if (!impls[impl]) {
  console.error(`usage: server.mjs ${Object.keys(impls).join('|')}`);
  process.exit(2);
}
api = impls[impl]();

process.on('message', async (m) => {
  if (m.cmd === 'memory') {
    globalThis.gc?.();
    const u = process.memoryUsage();
    process.send({ rss: u.rss, heapUsed: u.heapUsed, external: u.external, arrayBuffers: u.arrayBuffers, topics: api.topicStats?.() ?? null,
      uring: api.uringStats?.() ?? null, connections: api.connections() });
  } else if (m.cmd === 'count') {
    process.send({ messages: received });
  } else if (m.cmd === 'subscribe') {
    process.send({ subscriptions: api.subscribeMany ? api.subscribeMany(m.topics, m.perConnection) : 0 });
  } else if (m.cmd === 'publish-cost') {
    const text = Buffer.from('B' + 'x'.repeat(m.size - 1));
    const start = process.cpuUsage();
    for (let i = 0; i < m.count; i++) {
      api.broadcast(text);
      await new Promise((r) => setImmediate(r));  // the writes happen in the loop turn after each publish
    }
    const used = process.cpuUsage(start);
    process.send({ usPerBroadcast: (used.user + used.system) / m.count, connections: api.connections() });
  }
});
