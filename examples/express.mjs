// Express and WebSockets on one port: Express serves HTTP, and the http server's 'upgrade' events
// for /ws are handed to sockudo-ws with handleUpgrade(). The TCP socket is taken over by the
// native transport, so the WebSocket runs at native speed next to the Express routes.
//
//   node examples/express.mjs [port]      (GET /health, WebSocket echo on /ws?name=...)
import http from 'node:http';

import express from 'express';
import { WebSocketServer } from 'sockudo-ws';

const port = Number(process.argv[2] ?? process.env.PORT ?? 3000);
const app = express();
app.get('/health', (_req, res) => res.json({ ok: true, connections: wss.clients.size }));

const server = http.createServer(app);
const wss = new WebSocketServer({
  noServer: true,
  // The upgrade hook sees the request before the 101: authenticate here, attach per-socket data.
  upgrade: (req) => (req.query.has('name')
    ? { accept: true, data: { name: req.query.get('name') } }
    : { accept: false, status: 400, body: 'name is required' }),
});

server.on('upgrade', async (req, socket, head) => {
  if (!req.url?.startsWith('/ws')) {
    socket.destroy();
    return;
  }
  try {
    const ws = await wss.handleUpgrade(req, socket, head);
    ws.send(`hello ${ws.data.name}`);
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  } catch {
    // Rejected (already answered with an HTTP error) or the client went away.
  }
});

server.listen(port, '127.0.0.1', () => {
  const { address, port: bound } = server.address();
  console.log(`express listening on http://${address}:${bound} (WebSocket: ws://${address}:${bound}/ws?name=you)`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, async () => {
    await wss.close();
    server.close();
    process.exit(0);
  });
}
