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

// Like net.Server.listen(port, host): a host name is resolved with dns.lookup() (one address,
// the resolver's first) before binding; 'listening' follows the bind.
it('host: a name ("localhost") is resolved like net.Server.listen does, then "listening" fires and clients connect', async () => {
  const expected = await (await import('node:dns/promises')).lookup('localhost');
  const s = await listen({ port: 0, host: 'localhost' });
  const address = s.address() as import('node:net').AddressInfo;
  expect(address.address).toBe(expected.address);
  s.on('connection', (ws) => ws.send('hi'));
  const c = await connect(`ws://localhost:${address.port}`);
  const [message] = await new Promise<unknown[]>((resolve) => c.once('message', (...args) => resolve(args)));
  expect(message).toBe('hi');
  c.terminate();
});

it('host: a name that does not resolve is an "error" event with the resolver\'s code; no "listening"', async () => {
  const s = new WebSocketServer({ port: 0, host: 'does-not-exist.invalid' });
  servers.push(s);
  let listened = false;
  s.on('listening', () => { listened = true; });
  const error = await new Promise<NodeJS.ErrnoException>((resolve) => s.once('error', resolve));
  expect(error).toMatchObject({ code: 'ENOTFOUND', syscall: 'getaddrinfo', hostname: 'does-not-exist.invalid' });
  expect(listened).toBe(false);
  expect(s.address()).toBeNull();
});

it('host: close() while the name is being resolved: it never listens, and "close" fires', async () => {
  const s = new WebSocketServer({ port: 0, host: 'localhost' });
  const events: string[] = [];
  s.on('listening', () => events.push('listening'));
  s.on('error', (e) => events.push(`error ${(e as NodeJS.ErrnoException).code}`));
  s.on('close', () => events.push('close'));
  await s.close();
  await new Promise((r) => setTimeout(r, 100)); // past the lookup
  expect(events).toEqual(['close']);
  expect(s.address()).toBeNull();
});
