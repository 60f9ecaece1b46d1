// Our HTTP/3 client (connectHttp3, connect({ http3 })) against our HTTP/3 server: WebSockets as
// QUIC streams of one connection, flow control per stream, closes both ways, certificate checks,
// and the fallback to TCP when the server has no QUIC (an independent server, aioquic, is in
// test/interop/http3.test.ts).
import type * as net from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';

import { Cleanup, loadPackage, next, waitUntil, within } from './helpers';
import { opensslMissing, tlsFixtures } from './tls-fixtures';

const lib = loadPackage();
const cleanup = new Cleanup();
afterEach(() => cleanup.run());
type Ws = import('sockudo-ws').WebSocket;

async function server(options: Record<string, unknown> = {}) {
  const f = tlsFixtures();
  const wss = cleanup.add(new lib.WebSocketServer({ port: 0, host: '127.0.0.1', tls: { key: f.server.key, cert: f.server.cert }, ...options }),
    (s) => s.close());
  await next(wss, 'listening');
  return { wss, port: (wss.address() as net.AddressInfo).port, ca: f.ca.cert };
}

function echo(wss: import('sockudo-ws').WebSocketServer) {
  const sockets: Ws[] = [];
  wss.on('connection', (ws) => {
    sockets.push(ws);
    ws.on('message', (d, b) => ws.send(d, { binary: b }));
  });
  return sockets;
}

async function roundTrip(ws: Ws, data: string | Buffer): Promise<string | Buffer> {
  const reply = next<[string | Buffer]>(ws, 'message', 10_000);
  ws.send(data);
  return (await reply)[0];
}

describe.skipIf(opensslMissing() !== null)('HTTP/3 client', () => {
  it('connectHttp3: three WebSockets on one QUIC connection echo text and binary up to 2 MiB; httpVersion 3, transport quic', async () => {
    const { wss, port, ca } = await server({ http3: true });
    const requests: import('sockudo-ws').UpgradeRequest[] = [];
    wss.on('connection', (_ws, req) => requests.push(req));
    echo(wss);
    const session = await lib.connectHttp3(`https://localhost:${port}`, { ca });
    cleanup.add(session, (s) => s.close());
    expect(session.httpVersion).toBe('3');
    const sockets = await Promise.all(['/a', '/b', '/c'].map((p) => session.websocket(p)));
    for (const ws of sockets) cleanup.add(ws, (w) => w.terminate());
    for (const ws of sockets) {
      expect(ws.httpVersion).toBe('3');
      expect(ws.transport.name).toBe('quic');
    }
    const big = Buffer.alloc(2 * 1024 * 1024 + 7, 0x5a);
    const results = await Promise.all(sockets.map(async (ws, i) => [await roundTrip(ws, `hello ${i} ✓`), await roundTrip(ws, big)] as const));
    for (const [i, [text, bin]] of results.entries()) {
      expect(text).toBe(`hello ${i} ✓`);
      expect(Buffer.compare(bin as Buffer, big)).toBe(0);
    }
    expect(requests.map((r) => [r.httpVersion, r.path])).toEqual([['3', '/a'], ['3', '/b'], ['3', '/c']]);
    expect(new Set(requests.map((r) => r.remotePort)).size).toBe(1);
  });

  it('closes both ways: the client closes 1000 with a reason, the server closes 4001; the session ends on close()', async () => {
    const { wss, port, ca } = await server({ http3: true });
    const serverCloses: [number, string][] = [];
    const serverSockets: Ws[] = [];
    wss.on('connection', (ws) => {
      serverSockets.push(ws);
      ws.on('close', (c, r) => serverCloses.push([c, String(r)]));
    });
    const session = await lib.connectHttp3(`https://127.0.0.1:${port}`, { ca });
    const a = await session.websocket('/a');
    const b = await session.websocket('/b');
    const aClosed = next<[number, string]>(a, 'close');
    a.close(1000, 'client done');
    expect((await aClosed)[0]).toBe(1000);
    await waitUntil(() => serverCloses.length === 1, 'the server to see the close');
    expect(serverCloses[0]).toEqual([1000, 'client done']);
    const bClosed = next<[number, string]>(b, 'close');
    serverSockets[1]!.close(4001, 'server done');
    expect(await bClosed).toEqual([4001, 'server done']);
    await within(session.close(), 5000, 'the session to close');
    expect(session.closed).toBe(true);
  });

  it('http3IdleTimeout: a connection silent for longer ends (RFC 9000 §10.1: the smaller of both sides\' idle timeouts), its WebSockets closing 1006 on both sides', async () => {
    const { wss, port, ca } = await server({ http3: true, http3IdleTimeout: 1000, autoPing: false });
    const serverCloses: number[] = [];
    wss.on('connection', (ws) => ws.on('close', (c) => serverCloses.push(c)));
    const session = await lib.connectHttp3(`https://127.0.0.1:${port}`, { ca, autoPing: false });
    cleanup.add(session, (s) => s.close());
    const ws = await session.websocket('/idle');
    const started = Date.now();
    const [code] = await within(next<[number, string]>(ws, 'close', 10_000), 10_000, 'the idle close');
    expect(code).toBe(1006);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    await waitUntil(() => serverCloses.length === 1, 'the server side to close');
    expect(serverCloses).toEqual([1006]);
  });

  it('flow control per stream: a paused server socket stops its stream (the client sees backpressure) while a sibling stream keeps echoing', async () => {
    const { wss, port, ca } = await server({ http3: true, http3WindowSize: 64 * 1024 });
    const got = new Map<string, number>();
    wss.on('connection', (ws, req) => {
      if (req.path === '/slow') ws.pause();
      ws.on('message', (d, b) => {
        got.set(req.path, (got.get(req.path) ?? 0) + (d as Buffer).length);
        if (req.path === '/fast') ws.send(d, { binary: b });
      });
    });
    const session = await lib.connectHttp3(`https://127.0.0.1:${port}`, { ca });
    cleanup.add(session, (s) => s.close());
    const slow = cleanup.add(await session.websocket('/slow'), (w) => w.terminate());
    const fast = cleanup.add(await session.websocket('/fast'), (w) => w.terminate());
    const chunk = Buffer.alloc(32 * 1024, 1);
    for (let i = 0; i < 24; i++) expect(slow.send(chunk)).not.toBe('dropped');  // 768 KiB into a 64 KiB window (maxBackpressure: 1 MiB)
    await new Promise((r) => setTimeout(r, 300));
    expect(slow.bufferedAmount).toBeGreaterThan(512 * 1024);  // held on our side: the stream's credit ran out
    for (let i = 0; i < 5; i++) expect(((await roundTrip(fast, chunk)) as Buffer).length).toBe(chunk.length);
    expect(got.get('/slow') ?? 0).toBe(0);
    for (const ws of wss.clients) ws.resume();
    await waitUntil(() => got.get('/slow') === 24 * chunk.length, 'every byte of the paused stream after resume', 10_000);
    await waitUntil(() => slow.bufferedAmount === 0, 'the client side to drain');
  });

  it('http3ConnectionWindowSize bounds what all streams of a connection may have unread: with two paused sockets, the second stream waits although its own window has room', async () => {
    const { wss, port, ca } = await server({ http3: true, http3WindowSize: 1024 * 1024, http3ConnectionWindowSize: 128 * 1024 });
    const got = new Map<string, number>();
    const byPath = new Map<string, Ws>();
    wss.on('connection', (ws, req) => {
      ws.pause();
      byPath.set(req.path, ws);
      ws.on('message', (d) => got.set(req.path, (got.get(req.path) ?? 0) + (d as Buffer).length));
    });
    const session = await lib.connectHttp3(`https://127.0.0.1:${port}`, { ca });
    cleanup.add(session, (s) => s.close());
    const a = cleanup.add(await session.websocket('/a'), (w) => w.terminate());
    const b = cleanup.add(await session.websocket('/b'), (w) => w.terminate());
    await waitUntil(() => wss.clients.size === 2, 'two server sockets');
    const chunk = Buffer.alloc(16 * 1024, 2);
    for (let i = 0; i < 6; i++) a.send(chunk);  // 96 KiB of the connection's 128 KiB
    await new Promise((r) => setTimeout(r, 200));
    for (let i = 0; i < 6; i++) b.send(chunk);  // 96 KiB more: only about 32 KiB fit
    await new Promise((r) => setTimeout(r, 300));
    expect(b.bufferedAmount).toBeGreaterThan(48 * 1024);  // held back by the connection's window, not its stream's 1 MiB
    expect(got.get('/b') ?? 0).toBe(0);
    byPath.get('/a')!.resume();  // consuming /a gives the connection credit back
    await waitUntil(() => got.get('/a') === 6 * chunk.length, 'the first stream to arrive', 10_000);
    byPath.get('/b')!.resume();
    await waitUntil(() => got.get('/b') === 6 * chunk.length, 'the second stream after credit came back', 10_000);
    await waitUntil(() => b.bufferedAmount === 0, 'the client side to drain');
  });

  it('connect({ http3: true }) uses QUIC when the server has it, and falls back to TCP at once when nothing listens on UDP (ECONNREFUSED)', async () => {
    const h3 = await server({ http3: true });
    echo(h3.wss);
    const ws = await lib.connect(`wss://127.0.0.1:${h3.port}/q`, { http3: true, ca: h3.ca });
    cleanup.add(ws, (w) => w.terminate());
    expect(ws.httpVersion).toBe('3');
    expect(await roundTrip(ws, 'over quic')).toBe('over quic');
    const tcp = await server();
    echo(tcp.wss);
    const started = Date.now();
    const ws1 = await lib.connect(`wss://127.0.0.1:${tcp.port}/t`, { http3: true, ca: tcp.ca });
    cleanup.add(ws1, (w) => w.terminate());
    expect(ws1.httpVersion).toBe('1.1');
    expect(Date.now() - started).toBeLessThan(2000);  // not the 3 s QUIC attempt bound
    const tcp2 = await server({ http2: true });
    echo(tcp2.wss);
    const ws2 = await lib.connect(`wss://127.0.0.1:${tcp2.port}/t`, { http3: true, http2: true, ca: tcp2.ca });
    cleanup.add(ws2, (w) => w.terminate());
    expect(ws2.httpVersion).toBe('2');
    expect(await roundTrip(ws2, 'over h2')).toBe('over h2');
  });

  it('the server certificate is verified: untrusted → a certificate code and no fallback; rejectUnauthorized: false connects; ws: URLs are refused', async () => {
    const { wss, port } = await server({ http3: true });
    echo(wss);
    let error: { code?: string } | undefined;
    try {
      await lib.connectHttp3(`https://localhost:${port}`);
    } catch (e) {
      error = e as { code?: string };
    }
    expect(error?.code).toMatch(/UNABLE_TO_GET_ISSUER_CERT_LOCALLY|SELF_SIGNED|UNABLE_TO_VERIFY_LEAF_SIGNATURE/);
    await expect(lib.connect(`wss://localhost:${port}/`, { http3: true })).rejects.toMatchObject({ code: error!.code });
    const session = await lib.connectHttp3(`https://localhost:${port}`, { rejectUnauthorized: false });
    cleanup.add(session, (s) => s.close());
    const ws = cleanup.add(await session.websocket('/'), (w) => w.terminate());
    expect(await roundTrip(ws, 'ok')).toBe('ok');
    await expect(lib.connectHttp3(`http://localhost:${port}`)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
  });

  it('SNI over QUIC picks the certificate by server name; setSecureContext() replaces it for new QUIC connections while open ones go on', async () => {
    const f = tlsFixtures();
    const { wss, port, ca } = await server({ http3: true, tls: { key: f.server.key, cert: f.server.cert, sni: { '*.sni.test': { key: f.sni.key, cert: f.sni.cert } } } });
    echo(wss);
    const open = async (servername: string) => {
      const session = await lib.connectHttp3(`https://127.0.0.1:${port}`, { ca, servername });
      cleanup.add(session, (s) => s.close());
      const ws = cleanup.add(await session.websocket('/'), (w) => w.terminate());
      expect(ws.transport.name).toBe('quic');
      expect(await roundTrip(ws, servername)).toBe(servername);
      return ws;
    };
    const failure = async (servername: string) => {
      try {
        await lib.connectHttp3(`https://127.0.0.1:${port}`, { ca, servername });
      } catch (e) {
        return (e as { code?: string }).code;
      }
      return 'connected';
    };
    // Each certificate verifies only for its own names, so a connection proves which one was sent.
    await open('www.sni.test');   // the SNI context's *.sni.test
    const before = await open('localhost');  // the default context
    expect(await failure('other.test')).toMatch(/HOSTNAME|ALTNAME|CERT/);
    wss.setSecureContext({ key: f.sni.key, cert: f.sni.cert });
    await open('a.sni.test');     // the new default
    expect(await failure('localhost')).toMatch(/HOSTNAME|ALTNAME|CERT/);
    expect(await roundTrip(before, 'still open')).toBe('still open');  // its connection keeps its handshake
  });
});
