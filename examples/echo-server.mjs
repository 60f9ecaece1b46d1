// A WebSocket echo server on the native listener (the fast path).
//
//   node examples/echo-server.mjs [port]        (or PORT=9001 node examples/echo-server.mjs; 0 = any free port)
//
// Prints the address it listens on; Ctrl-C closes every connection with 1001 and exits.
import { WebSocketServer } from 'sockudo-ws';

const port = Number(process.argv[2] ?? process.env.PORT ?? 8080);
const wss = new WebSocketServer({ port, host: '127.0.0.1' });

wss.on('listening', () => {
  const { address, port: bound } = wss.address();
  console.log(`echo server listening on ws://${address}:${bound}`);
});
wss.on('error', (error) => {
  console.error(`echo server: ${error.message}`);
  process.exit(1);
});
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, async () => {
    await wss.close();
    process.exit(0);
  });
}
