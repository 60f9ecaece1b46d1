// Interop with the `ws` package (an independent implementation) in both directions: our server
// with a ws client, a ws server with our client.
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket as WsClient, WebSocketServer as WsServer } from 'ws';

import { Cleanup, loadPackage, next, within } from './helpers';

const lib = loadPackage();
const cleanup = new Cleanup();
afterEach(() => cleanup.run());

async function ourServer(options: Record<string, unknown> = {}) {
  const wss = cleanup.add(new lib.WebSocketServer({ port: 0, host: '127.0.0.1', ...options }), (s) => s.close());
  await next(wss, 'listening');
  return { wss, url: `ws://127.0.0.1:${(wss.address() as { port: number }).port}` };
}

async function wsClient(url: string, protocols?: string[]) {
  const c = cleanup.add(new WsClient(url, protocols), (x) => x.terminate());
  await next(c, 'open');
  return c;
}

async function theirServer(options: ConstructorParameters<typeof WsServer>[0] = {}) {
  const wss = cleanup.add(new WsServer({ port: 0, host: '127.0.0.1', ...options }), (s) => new Promise((r) => {
    for (const c of s.clients) c.terminate();
    s.close(r);
  }));
  await next(wss, 'listening');
  return { wss, url: `ws://127.0.0.1:${(wss.address() as { port: number }).port}` };
}

describe('our server, ws client', () => {
  it('echoes text and binary of every size class', async () => {
    const { wss, url } = await ourServer();
    wss.on('connection', (ws) => ws.on('message', (d, isBinary) => ws.send(d, { binary: isBinary })));
    const c = await wsClient(url);
    for (const size of [0, 125, 126, 65535, 65536, 1024 * 1024]) {
      const bin = Buffer.alloc(size, size & 255);
      c.send(bin);
      const [data, isBinary] = await next<[Buffer, boolean]>(c, 'message');
      expect(isBinary).toBe(true);
      expect(Buffer.compare(data, bin)).toBe(0);
      const text = 'ü'.repeat(size >> 1);
      c.send(text);
      const [t, tb] = await next<[Buffer, boolean]>(c, 'message');
      expect(tb).toBe(false);
      expect(t.toString()).toBe(text);
    }
  });

  it('negotiates the subprotocol and passes per-socket data', async () => {
    const { wss, url } = await ourServer({ upgrade: () => ({ accept: true, data: 7 }), handleProtocols: (p: Set<string>) => (p.has('b') ? 'b' : false) });
    const conn = next<[InstanceType<typeof lib.WebSocket>]>(wss, 'connection');
    const c = await wsClient(url, ['a', 'b']);
    expect(c.protocol).toBe('b');
    const [s] = await conn;
    expect(s.protocol).toBe('b');
    expect(s.data).toBe(7);
  });

  it('close codes both ways, and ping/pong', async () => {
    const { wss, url } = await ourServer();
    const conn = next<[InstanceType<typeof lib.WebSocket>]>(wss, 'connection');
    const c = await wsClient(url);
    const [s] = await conn;
    const ping = next<[Buffer]>(s, 'ping');
    const pong = next<[Buffer]>(c, 'pong');
    c.ping('p1');
    expect((await ping)[0].toString()).toBe('p1');
    expect((await pong)[0].toString()).toBe('p1');
    const theirPing = next<[Buffer]>(c, 'ping');
    const ourPong = next<[Buffer]>(s, 'pong');
    s.ping('p2');
    expect((await theirPing)[0].toString()).toBe('p2');
    expect((await ourPong)[0].toString()).toBe('p2');

    const serverClosed = next<[number, string]>(s, 'close');
    const clientClosed = next<[number, Buffer]>(c, 'close');
    c.close(4321, 'from ws');
    expect(await serverClosed).toEqual([4321, 'from ws']);
    expect((await clientClosed)[0]).toBe(4321);

    const conn2 = next<[InstanceType<typeof lib.WebSocket>]>(wss, 'connection');
    const c2 = await wsClient(url);
    const [s2] = await conn2;
    const closed2 = next<[number, Buffer]>(c2, 'close');
    s2.close(4000, 'from us');
    const [code, reason] = await closed2;
    expect(code).toBe(4000);
    expect(reason.toString()).toBe('from us');
  });

  it('server.close() sends 1001 to ws clients', async () => {
    const { wss, url } = await ourServer();
    const c = await wsClient(url);
    const closed = next<[number]>(c, 'close');
    await within(wss.close(), 8000, 'server close');
    expect((await closed)[0]).toBe(1001);
  });

  // ws (and browsers) send every message as one frame, so the frame limit must follow the
  // message limit unless it is set: a 17 MiB message to a server allowing 100 MiB messages.
  it('a 17 MiB single-frame message from a ws client reaches a server with maxPayloadLength 100 MiB (maxFrameSize follows it)', async () => {
    const { wss, url } = await ourServer({ maxPayloadLength: 100 * 1024 * 1024 });
    const got = new Promise<{ length?: number; equal?: boolean; closeCode?: number }>((resolve) => wss.on('connection', (ws) => {
      ws.on('message', (d) => resolve({ length: (d as Buffer).length, equal: (d as Buffer).equals(big) }));
      ws.on('close', (closeCode) => resolve({ closeCode }));
    }));
    const big = Buffer.alloc(17 * 1024 * 1024, 0x5a);
    const c = await wsClient(url);
    c.send(big);
    expect(await within(got, 20_000, '17 MiB message')).toEqual({ length: big.length, equal: true });
  }, 30_000);

  it('a rejecting upgrade hook is an "unexpected-response" for ws', async () => {
    const { url } = await ourServer({ upgrade: () => ({ accept: false, status: 403, body: 'forbidden' }) });
    const c = cleanup.add(new WsClient(url), (x) => x.terminate());
    c.on('error', () => {});
    const [, res] = await next<[unknown, import('node:http').IncomingMessage]>(c, 'unexpected-response');
    expect(res.statusCode).toBe(403);
    res.destroy();
  });
});

describe('ws server, our client', () => {
  it('echoes text and binary; headers, origin and protocols reach the server', async () => {
    const { wss, url } = await theirServer({ handleProtocols: (set) => (set.has('chat') ? 'chat' : false) });
    let seen: import('node:http').IncomingMessage | undefined;
    wss.on('connection', (ws, req) => {
      seen = req;
      ws.on('message', (d, isBinary) => ws.send(d, { binary: isBinary }));
    });
    const c = cleanup.add(await lib.connect(`${url}/path?q=1`, { protocols: ['x', 'chat'], headers: { 'X-Test': 'ok' }, origin: 'http://o.test' }), (x) => x.terminate());
    expect(seen?.url).toBe('/path?q=1');
    expect(seen?.headers['x-test']).toBe('ok');
    expect(seen?.headers.origin).toBe('http://o.test');
    expect(seen?.headers['sec-websocket-protocol']).toBe('x, chat');
    for (const size of [0, 126, 65536, 1024 * 1024]) {
      c.send(Buffer.alloc(size, 3));
      const [d, b] = await next<[Buffer, boolean]>(c, 'message');
      expect(b).toBe(true);
      expect(d.equals(Buffer.alloc(size, 3))).toBe(true);
      c.send('t'.repeat(size));
      expect((await next<[string]>(c, 'message'))[0]).toBe('t'.repeat(size));
    }
  });

  // Native contract gap (/tmp/repro-client-protocol.js): the native open(target) handler does not
  // report the subprotocol the server selected, so the client's ws.protocol stays ''.
  it('the client reports the subprotocol the server selected', async () => {
    const { url } = await theirServer({ handleProtocols: () => 'chat' });
    const c = cleanup.add(await lib.connect(url, { protocols: ['chat'] }), (x) => x.terminate());
    expect(c.protocol).toBe('chat');
  });

  it('close codes both ways', async () => {
    const { wss, url } = await theirServer();
    const conn = next<[WsClient]>(wss, 'connection');
    const c = cleanup.add(await lib.connect(url), (x) => x.terminate());
    const [s] = await conn;
    const theirClose = next<[number, Buffer]>(s, 'close');
    const ourClose = next<[number, string]>(c, 'close');
    c.close(4100, 'ours');
    const [code, reason] = await theirClose;
    expect(code).toBe(4100);
    expect(reason.toString()).toBe('ours');
    expect((await ourClose)[0]).toBe(4100);

    const conn2 = next<[WsClient]>(wss, 'connection');
    const c2 = cleanup.add(await lib.connect(url), (x) => x.terminate());
    const [s2] = await conn2;
    const closed = next<[number, string]>(c2, 'close');
    s2.close(4200, 'theirs');
    expect(await closed).toEqual([4200, 'theirs']);
  });

  it('a ws server that refuses the upgrade gives a HandshakeError with status and headers', async () => {
    const { url } = await theirServer({
      verifyClient: (_info, cb) => cb(false, 401, 'Unauthorized', { 'WWW-Authenticate': 'Basic' }),
    });
    const error = await lib.connect(url).catch((e: unknown) => e) as import('sockudo-ws').HandshakeError;
    expect(error).toBeInstanceOf(lib.HandshakeError);
    expect(error.code).toBe('WS_ERR_HANDSHAKE_BAD_STATUS');
    expect(error.status).toBe(401);
    expect(error.headers['www-authenticate']).toBe('Basic');
  });

  it('our client with maxPayloadLength 100 MiB takes a 17 MiB single-frame message from a ws server (maxFrameSize follows it)', async () => {
    const { wss, url } = await theirServer();
    const big = Buffer.alloc(17 * 1024 * 1024, 0xa5);
    wss.on('connection', (s) => s.send(big));
    const c = cleanup.add(await lib.connect(url, { maxPayloadLength: 100 * 1024 * 1024 }), (x) => x.terminate());
    const got = new Promise<{ length?: number; equal?: boolean; closeCode?: number }>((resolve) => {
      c.on('message', (d) => resolve({ length: (d as Buffer).length, equal: (d as Buffer).equals(big) }));
      c.on('close', (closeCode) => resolve({ closeCode }));
    });
    expect(await within(got, 20_000, '17 MiB message')).toEqual({ length: big.length, equal: true });
  }, 30_000);

  it('ws server pings are answered automatically and surface as "ping" events', async () => {
    const { wss, url } = await theirServer();
    const conn = next<[WsClient]>(wss, 'connection');
    const c = cleanup.add(await lib.connect(url), (x) => x.terminate());
    const [s] = await conn;
    const ping = next<[Buffer]>(c, 'ping');
    const pong = next<[Buffer]>(s, 'pong');
    s.ping('hb');
    expect((await ping)[0].toString()).toBe('hb');
    expect((await pong)[0].toString()).toBe('hb');
  });
});
