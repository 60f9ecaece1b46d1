import { it } from 'vitest';
import { Cleanup, loadPackage, next } from './helpers';
import { H2WebSocket, h2Connect } from './h2-peer';
const lib = loadPackage();
it('dbg', async () => {
  const cleanup = new Cleanup();
  const wss = new lib.WebSocketServer({ port: 0, host: '127.0.0.1', http2: true, http2Cleartext: true, http2WindowSize: 16 * 1024 * 1024, http2ConnectionWindowSize: 64 * 1024 * 1024 });
  await next(wss, 'listening');
  const port = (wss.address() as any).port;
  wss.on('connection', (ws) => {
    ws.on('message', (d, b) => console.log('DBG msg', (d as Buffer).length, ws.send(d, { binary: b }), ws.bufferedAmount));
    ws.on('close', (c, r) => console.log('DBG close', c, r));
  });
  const h = await h2Connect(`http://127.0.0.1:${port}`, cleanup, { settings: { initialWindowSize: 16 * 1024 * 1024 } });
  h.session.setLocalWindowSize(64 * 1024 * 1024);
  const ws = await H2WebSocket.open(h, `127.0.0.1:${port}`, '/');
  ws.send(2, Buffer.alloc(5 * 1024 * 1024 + 3, 9));
  try { const f = await ws.frame(5000); console.log('DBG got', f.payload.length); } catch (e) { console.log('DBG fail', String(e)); }
  await cleanup.run(); wss.close();
});
