// Fastify and WebSockets on one port: sockudo-ws listens to the upgrade events of Fastify's own
// http server (the `server` option) and accepts those for /ws; Fastify keeps its routes.
//
//   node examples/fastify.mjs [port]      (GET /health, WebSocket echo on /ws)
import Fastify from 'fastify';
import { WebSocketServer } from 'sockudo-ws';

const port = Number(process.argv[2] ?? process.env.PORT ?? 3000);
const app = Fastify();
const wss = new WebSocketServer({ server: app.server, path: '/ws' });

app.get('/health', async () => ({ ok: true, connections: wss.clients.size }));

wss.on('connection', (ws, request) => {
  ws.send(`hello ${request.remoteAddress}`);
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});

await app.listen({ port, host: '127.0.0.1' });
const { address, port: bound } = app.server.address();
console.log(`fastify listening on http://${address}:${bound} (WebSocket: ws://${address}:${bound}/ws)`);

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, async () => {
    await wss.close();
    await app.close();
    process.exit(0);
  });
}
