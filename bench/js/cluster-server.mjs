// One node of the cluster benchmark: a WebSocketServer on 127.0.0.1:0, with redisAdapter() when
// REDIS_URL is set. Clients send "sub <topic>" (answered "ok") and "pub <topic> <text>"
// (ws.publish: every other subscriber, on every node). Prints "listening <port>"; on SIGUSR2
// prints "stats <json>" (the adapter's counters).
//   REDIS_URL=redis://127.0.0.1:PORT node bench/js/cluster-server.mjs node
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { WebSocketServer, redisAdapter } = require('sockudo-ws');
const adapter = process.env.REDIS_URL ? redisAdapter({ url: process.env.REDIS_URL, prefix: 'bench' }) : undefined;
adapter?.on('error', (e) => console.error(e.message));
const start = () => {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', ...(adapter ? { adapter } : {}) });
  wss.on('listening', () => console.log(`listening ${wss.address().port}`));
  wss.on('connection', (ws) => ws.on('message', (m) => {
    const text = String(m);
    if (text.startsWith('sub ')) { ws.subscribe(text.slice(4)); ws.send('ok'); }
    else if (text.startsWith('pub ')) { const i = text.indexOf(' ', 4); ws.publish(text.slice(4, i), text.slice(i + 1)); }
  }));
};
if (adapter) adapter.once('ready', start); else start();
process.on('SIGUSR2', () => console.log(`stats ${JSON.stringify(adapter?.stats ?? {})}`));
process.on('SIGTERM', () => process.exit(0));
