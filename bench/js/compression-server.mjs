// Compressed echo servers for bench/js/compression.mjs, one per configuration, each through its
// library's public API, every message compressed (threshold 0 on both):
//   node bench/js/compression-server.mjs sockudo-dedicated|sockudo-shared|sockudo-off|ws
// (sockudo-off declines the offer: the baseline cost of a connection without compression)
// Prints "listening <port>"; with an IPC channel, answers {memory: true} with its RSS and (ours)
// the addon's zlib-ng byte count.
import { createRequire } from 'node:module';

const impl = process.argv[2];
const require = createRequire(import.meta.url);
const ready = (port) => console.log(`listening ${port}`);
let deflateMemory = () => null;

if (impl === 'sockudo-dedicated' || impl === 'sockudo-shared' || impl === 'sockudo-off') {
  const { WebSocketServer } = require('../../dist/cjs/index.js');
  deflateMemory = () => require('../../dist/cjs/native.js').native.deflateMemory();
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', autoPing: false, idleTimeout: 0, backlog: 4096,
    compression: impl === 'sockudo-shared' ? 'shared' : impl === 'sockudo-off' ? 'disabled' : 'dedicated', compressionThreshold: 0 });
  wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
  wss.on('listening', () => ready(wss.address().port));
} else if (impl === 'ws') {
  const { WebSocketServer } = require('ws');
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', backlog: 4096, perMessageDeflate: { threshold: 0 } });
  wss.on('connection', (ws) => {
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    ws.on('error', () => {});  // a hostile peer's violation (bench/js/bomb.mjs) closes only its connection
  });
  wss.on('listening', () => ready(wss.address().port));
} else {
  console.error('usage: compression-server.mjs sockudo-dedicated|sockudo-shared|sockudo-off|ws');
  process.exit(2);
}

process.on('message', (m) => {
  if (m && m.memory) {
    globalThis.gc?.();
    process.send({ rss: process.memoryUsage().rss, deflate: deflateMemory() });
  }
});
