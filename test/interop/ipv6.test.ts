// Our server and our client over IPv6 loopback (::1), plus the `ws` package across ::1 in both
// directions. Skipped, with the reason, when this machine cannot bind ::1. (Dual-stack "::" and
// ipv6Only are not tested here: they need a wildcard bind, and these tests bind loopback only.)
import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket as WsClient, WebSocketServer as WsServer } from 'ws';

import { Cleanup, loadPackage, next, within } from '../js/helpers';

const lib = loadPackage();
type Ws = import('sockudo-ws').WebSocket;
const cleanup = new Cleanup();
afterEach(() => cleanup.run());

/** Why ::1 cannot be used here, or null when a socket can listen on it and connect to it. */
async function ipv6Unavailable(): Promise<string | null> {
  const server = net.createServer((s) => s.destroy());
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '::1', resolve);
    });
    const port = (server.address() as net.AddressInfo).port;
    await new Promise<void>((resolve, reject) => {
      const c = net.connect(port, '::1', () => { c.destroy(); resolve(); });
      c.once('error', reject);
    });
    return null;
  } catch (e) {
    return `IPv6 loopback unavailable: ${(e as Error).message}`;
  } finally {
    server.close();
  }
}

const unavailable = await ipv6Unavailable();
if (unavailable) console.warn(`IPv6 interop skipped: ${unavailable}`);

const MiB = 1024 * 1024;

async function ourServer(options: Record<string, unknown>) {
  const wss = cleanup.add(new lib.WebSocketServer({ port: 0, ...options }), (s) => s.close());
  await next(wss, 'listening');
  return { wss, port: (wss.address() as net.AddressInfo).port };
}

describe.skipIf(unavailable !== null)('IPv6 loopback (::1)', () => {
  it('our client ↔ our server: echo of text, UTF-8 and 1 MiB binary, addresses, close code both ways', async () => {
    const { wss, port } = await ourServer({ host: '::1' });
    expect(wss.address()).toMatchObject({ address: '::1', family: 'IPv6', port });
    const conn = next<[Ws, { remoteAddress: string | undefined; headers: Record<string, string> }]>(wss, 'connection');
    const c = cleanup.add(await within(lib.connect(`ws://[::1]:${port}/v6`), 5000, 'connect'), (x) => x.terminate());
    const [s, request] = await conn;
    expect(request.remoteAddress).toBe('::1');
    expect(s.remoteAddress).toBe('::1');
    expect(request.headers.host).toBe(`[::1]:${port}`);
    expect(c.remoteAddress).toBe('::1');
    expect(c.remotePort).toBe(port);
    s.on('message', (d, isBinary) => s.send(d, { binary: isBinary }));
    for (const data of ['v6 ✓ 漢字 😀', Buffer.alloc(MiB, 0x5a), '']) {
      const echo = next<[string | Buffer, boolean]>(c, 'message');
      c.send(data);
      const [got, isBinary] = await echo;
      expect(isBinary).toBe(typeof data !== 'string');
      if (typeof data === 'string') expect(got).toBe(data);
      else expect((got as Buffer).equals(data)).toBe(true);
    }
    const serverClosed = next<[number, string]>(s, 'close');
    const clientClosed = next<[number, string]>(c, 'close');
    c.close(4003, 'v6 bye ✓');
    expect(await serverClosed).toEqual([4003, 'v6 bye ✓']);
    expect((await clientClosed)[0]).toBe(4003);

    const conn2 = next<[Ws]>(wss, 'connection');
    const c2 = cleanup.add(await lib.connect(`ws://[::1]:${port}`), (x) => x.terminate());
    const [s2] = await conn2;
    const closed2 = next<[number, string]>(c2, 'close');
    s2.close(4004, 'from the v6 server');
    expect(await closed2).toEqual([4004, 'from the v6 server']);
  });

  it('a ws client reaches our server on ::1, and our client a ws server on ::1', async () => {
    const { wss, port } = await ourServer({ host: '::1' });
    wss.on('connection', (ws: Ws) => ws.on('message', (d, isBinary) => ws.send(d, { binary: isBinary })));
    const theirs = cleanup.add(new WsClient(`ws://[::1]:${port}`), (x) => x.terminate());
    await next(theirs, 'open');
    theirs.send('über ::1');
    expect((await next<[Buffer, boolean]>(theirs, 'message'))[0].toString()).toBe('über ::1');
    const closed = next<[number, Buffer]>(theirs, 'close');
    theirs.close(4005, 'ws done');
    expect((await closed)[0]).toBe(4005);

    const ws6 = cleanup.add(new WsServer({ port: 0, host: '::1' }), (s) => new Promise((r) => {
      for (const c of s.clients) c.terminate();
      s.close(r);
    }));
    await next(ws6, 'listening');
    let remote = '';
    ws6.on('connection', (sock, req) => {
      remote = req.socket.remoteAddress ?? '';
      sock.on('message', (d, isBinary) => sock.send(d, { binary: isBinary }));
    });
    const ours = cleanup.add(await lib.connect(`ws://[::1]:${(ws6.address() as net.AddressInfo).port}`), (x) => x.terminate());
    const echo = next<[string | Buffer]>(ours, 'message');
    ours.send(Buffer.from([1, 2, 3]));
    expect(Buffer.from((await echo)[0] as Buffer)).toEqual(Buffer.from([1, 2, 3]));
    expect(remote).toBe('::1');
  });
});
