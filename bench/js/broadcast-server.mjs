// Servers for the load generator's full contract (bench/loadgen/README.md): echo, `__flood__ N`,
// and broadcast of every text message starting with "B" to every connected client.
//   node bench/js/broadcast-server.mjs sockudo|sockudo-loop|ws
//     sockudo       broadcast = server.publish() to a topic every connection joined (native fan-out)
//     sockudo-loop  broadcast = a hand-written loop of ws.send() over server.clients
//     ws            broadcast = a hand-written loop of ws.send() over wss.clients (ws#617 style)
// Prints "listening <port>". With an IPC channel it also answers {cmd: 'memory'} (RSS, topic tree
// stats), {cmd: 'subscribe', topics, perConnection} (joins each connection to that many of
// `topics` distinct topics, round robin) and {cmd: 'publish-cost', count, size} (CPU time of
// `count` broadcasts of `size` bytes to every connection, including the writes, in µs).
import { createRequire } from 'node:module';

const impl = process.argv[2];
const require = createRequire(import.meta.url);
const ready = (port) => console.log(`listening ${port}`);
const HELLO = 'Hello, World!';
let broadcast;
let clients;
let topicStats = () => null;
let subscribeMany = () => 0;

function onMessage(ws, data, isBinary) {
  if (!isBinary) {
    const text = typeof data === 'string' ? data : data.toString();
    if (text.startsWith('B')) return broadcast(ws, text);
    if (text.startsWith('__flood__ ')) {
      const n = Number(text.slice(10));
      for (let i = 0; i < n; i++) ws.send(HELLO);
      return undefined;
    }
    return ws.send(text);
  }
  return ws.send(data, { binary: true });
}

if (impl === 'sockudo' || impl === 'sockudo-loop') {
  const { WebSocketServer } = require('../../dist/cjs/index.js');
  const native = require('../../dist/cjs/native.js').native;
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', autoPing: false, idleTimeout: 0, backlog: 4096, maxBackpressure: 64 * 1024 * 1024 });
  wss.on('connection', (ws) => {
    if (impl === 'sockudo') ws.subscribe('all');
    ws.on('message', (d, b) => onMessage(ws, d, b));
  });
  wss.on('listening', () => ready(wss.address().port));
  broadcast = impl === 'sockudo' ? (_ws, text) => wss.publish('all', text) : (_ws, text) => { for (const c of wss.clients) c.send(text); };
  clients = () => wss.clients;
  topicStats = () => native.pubsubStats();
  subscribeMany = (topics, per) => {
    let k = 0;
    for (const c of wss.clients) for (let j = 0; j < per; j++) c.subscribe(`topic-${(k++) % topics}`);
    return k;
  };
} else if (impl === 'ws') {
  const { WebSocketServer } = require('ws');
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', backlog: 4096, perMessageDeflate: false });
  wss.on('connection', (ws) => ws.on('message', (d, b) => onMessage(ws, b ? d : d.toString(), b)));
  wss.on('listening', () => ready(wss.address().port));
  broadcast = (_ws, text) => { for (const c of wss.clients) c.send(text); };
  clients = () => wss.clients;
} else {
  console.error('usage: broadcast-server.mjs sockudo|sockudo-loop|ws');
  process.exit(2);
}

process.on('message', async (m) => {
  if (m.cmd === 'memory') {
    globalThis.gc?.();
    process.send({ rss: process.memoryUsage().rss, topics: topicStats(), connections: clients().size });
  } else if (m.cmd === 'subscribe') {
    process.send({ subscriptions: subscribeMany(m.topics, m.perConnection) });
  } else if (m.cmd === 'publish-cost') {
    const text = 'B' + 'x'.repeat(m.size - 1);
    const start = process.cpuUsage();
    for (let i = 0; i < m.count; i++) {
      broadcast(null, text);
      await new Promise((r) => setImmediate(r));  // the writes happen in the loop turn after each publish
    }
    const used = process.cpuUsage(start);
    process.send({ usPerBroadcast: (used.user + used.system) / m.count, connections: clients().size });
  }
});
