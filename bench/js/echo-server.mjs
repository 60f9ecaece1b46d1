// Echo servers for the benchmark, one per implementation, each using its library's public API:
//   node bench/js/echo-server.mjs sockudo|ws   → prints "listening <port>" and echoes until killed
import { createRequire } from 'node:module';

const impl = process.argv[2];
const require = createRequire(import.meta.url);
const ready = (port) => console.log(`listening ${port}`);

if (impl === 'sockudo') {
  const { WebSocketServer } = require('../../dist/cjs/index.js');
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', autoPing: false, idleTimeout: 0 });
  wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
  wss.on('listening', () => ready(wss.address().port));
} else if (impl === 'ws') {
  const { WebSocketServer } = require('ws');
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
  wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
  wss.on('listening', () => ready(wss.address().port));
} else {
  console.error('usage: echo-server.mjs sockudo|ws');
  process.exit(2);
}
