// Listening socket options that need behaviour, not just validation: reusePort lets several
// servers (workers) bind one port; without it the second bind fails with EADDRINUSE.
import { afterEach, expect, it } from 'vitest';

import { requireFromRoot } from './helpers';

const { WebSocketServer, connect } = requireFromRoot('sockudo-ws') as typeof import('sockudo-ws');
type Server = InstanceType<typeof WebSocketServer>;
const servers: Server[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

function listen(options: ConstructorParameters<typeof WebSocketServer>[0]): Promise<Server> {
  const s = new WebSocketServer(options);
  servers.push(s);
  return new Promise((resolve, reject) => {
    s.once('listening', () => resolve(s));
    s.once('error', reject);
  });
}

it('reusePort: two servers share one port and both receive connections', async () => {
  const a = await listen({ port: 0, host: '127.0.0.1', reusePort: true });
  const port = a.address()!.port;
  const b = await listen({ port, host: '127.0.0.1', reusePort: true });
  expect(b.address()!.port).toBe(port);
  const hits = { a: 0, b: 0 };
  a.on('connection', (ws) => { hits.a++; ws.send('a'); });
  b.on('connection', (ws) => { hits.b++; ws.send('b'); });
  // The kernel spreads connections by a hash of the 4-tuple: with enough of them both servers get some.
  const clients = await Promise.all(Array.from({ length: 64 }, () => connect(`ws://127.0.0.1:${port}`)));
  await new Promise((r) => setTimeout(r, 100));
  expect(hits.a + hits.b).toBe(64);
  expect(hits.a).toBeGreaterThan(0);
  expect(hits.b).toBeGreaterThan(0);
  for (const c of clients) c.terminate();
});

it('without reusePort a second bind on the same port fails with EADDRINUSE', async () => {
  const a = await listen({ port: 0, host: '127.0.0.1' });
  await expect(listen({ port: a.address()!.port, host: '127.0.0.1' })).rejects.toMatchObject({ code: 'EADDRINUSE' });
});
