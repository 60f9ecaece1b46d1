// A chat server on N worker threads sharing one port (reusePort: the kernel spreads connections
// over them), joined into one cluster by Redis: a message published on any worker reaches every
// subscriber on every worker — and on other machines running the same script against the same
// Redis. Each worker's topics are native (per thread); the adapter carries one copy of each
// publish between workers.
//
//   REDIS_URL=redis://127.0.0.1:6379 node examples/cluster-redis.mjs [port] [workers]
//
// Clients send "join <room>" and then "<room> <text>"; everyone in the room gets "<text>".
// The first message of every connection says which worker serves it. Needs `npm install ioredis`.
import { isMainThread, Worker, workerData, threadId } from 'node:worker_threads';
import { WebSocketServer, redisAdapter } from 'sockudo-ws';

const port = Number(process.argv[2] ?? process.env.PORT ?? 8080);
const workers = Number(process.argv[3] ?? 2);
const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

if (isMainThread) {
  let up = 0;
  const threads = Array.from({ length: workers }, () => new Worker(new URL(import.meta.url), { workerData: { port } }));
  for (const t of threads) {
    t.on('message', (m) => {
      if (m.listening && ++up === workers) console.log(`chat cluster: ${workers} workers listening on ws://127.0.0.1:${m.port}, Redis ${url}`);
    });
    t.on('error', (e) => { console.error(`worker: ${e.message}`); process.exit(1); });
  }
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, async () => {
      await Promise.all(threads.map((t) => new Promise((resolve) => { t.once('exit', resolve); t.postMessage('close'); })));
      process.exit(0);
    });
  }
} else {
  const { parentPort } = await import('node:worker_threads');
  const adapter = redisAdapter({ url });
  adapter.on('error', (e) => console.error(`worker ${threadId}: ${e.message}`));
  const wss = new WebSocketServer({ port: workerData.port, host: '127.0.0.1', reusePort: true, adapter });
  wss.on('listening', () => parentPort.postMessage({ listening: true, port: wss.address().port }));
  wss.on('connection', (ws) => {
    ws.send(`worker ${threadId}`);
    ws.on('message', (data) => {
      const text = String(data);
      if (text.startsWith('join ')) {
        ws.subscribe(text.slice(5));
        ws.send(`joined ${text.slice(5)}`);
        return;
      }
      const space = text.indexOf(' ');
      if (space > 0) wss.publish(text.slice(0, space), text.slice(space + 1));
    });
  });
  parentPort.on('message', async (m) => {
    if (m === 'close') {
      await wss.close();
      process.exit(0);
    }
  });
}
