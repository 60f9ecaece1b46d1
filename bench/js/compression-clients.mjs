// Opens N compressing `ws` clients to a server, sends one compressible message on each and waits
// for its echo, then prints "ready" and holds the connections until killed (bench/js/compression.mjs
// measures the server's memory meanwhile).
//   node bench/js/compression-clients.mjs --port P --connections N [--size 2048]
import { parseArgs } from 'node:util';
import WebSocket from 'ws';

const { values } = parseArgs({ options: { port: { type: 'string' }, connections: { type: 'string', default: '1000' }, size: { type: 'string', default: '2048' } } });
const n = Number(values.connections);
const text = JSON.stringify(Array.from({ length: Number(values.size) }, (_, i) => ({ id: i % 13, channel: 'presence-room' }))).slice(0, Number(values.size));
const sockets = [];
const deadline = setTimeout(() => { console.error('clients: timed out'); process.exit(1); }, 120_000);
let pending = 0;
let negotiated = '';
await new Promise((resolve, reject) => {
  let opened = 0;
  const next = () => {
    while (pending < 100 && opened < n) {
      opened++;
      pending++;
      const ws = new WebSocket(`ws://127.0.0.1:${values.port}`, { perMessageDeflate: { threshold: 0 } });
      sockets.push(ws);
      ws.on('error', reject);
      if (sockets.length === 1) ws.once('upgrade', (res) => (negotiated = res.headers['sec-websocket-extensions'] ?? ''));
      ws.once('open', () => ws.send(text));
      ws.once('message', (d) => {
        if (d.toString() !== text) reject(new Error('echo mismatch'));
        pending--;
        if (sockets.length === n && pending === 0) resolve();
        else next();
      });
    }
  };
  next();
});
clearTimeout(deadline);
console.log(`ready ${sockets.length} ${negotiated}`);
setInterval(() => {}, 1 << 30);
