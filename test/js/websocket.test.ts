// The WebSocket API over real sockets on 127.0.0.1: our server with our client (and raw TCP
// peers where a misbehaving or silent peer is needed).
import { once } from 'node:events';
import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';

import { Cleanup, clientFrame, loadPackage, next, runNode, upgradeRequest, within } from './helpers';

const lib = loadPackage();
const { WebSocketServer, WebSocket, connect } = lib;
type WS = InstanceType<typeof WebSocket>;
type ServerOptions = import('sockudo-ws').ServerCommonOptions<unknown> & Record<string, unknown>;

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

/** A server on 127.0.0.1 with an ephemeral port. */
async function listen(options: ServerOptions = {}) {
  const wss = cleanup.add(new WebSocketServer({ port: 0, host: '127.0.0.1', ...options } as never), (s) => s.close());
  await next(wss, 'listening');
  const port = (wss.address() as { port: number }).port;
  return { wss, port, url: `ws://127.0.0.1:${port}` };
}

async function echoServer(options: ServerOptions = {}) {
  const s = await listen(options);
  s.wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
  return s;
}

async function client(url: string, options?: import('sockudo-ws').ClientOptions): Promise<WS> {
  return cleanup.add(await within(connect(url, options), 5000, `connect ${url}`), (c) => c.terminate());
}

/** A raw TCP peer that has completed the upgrade handshake (the 101 head is consumed). */
async function rawPeer(port: number, path = '/', extra = '', firstBytes = Buffer.alloc(0)) {
  const sock = cleanup.add(net.connect(port, '127.0.0.1'), (s) => s.destroy());
  await once(sock, 'connect');
  sock.write(Buffer.concat([Buffer.from(upgradeRequest(path, extra)), firstBytes]));
  let buf = Buffer.alloc(0);
  while (!buf.includes('\r\n\r\n')) buf = Buffer.concat([buf, (await next<[Buffer]>(sock, 'data'))[0]]);
  const end = buf.indexOf('\r\n\r\n') + 4;
  return { sock, head: buf.subarray(0, end).toString('latin1'), rest: buf.subarray(end) };
}

describe('echo round trip (our server, our client)', () => {
  const sizes = [0, 125, 126, 65535, 65536, 1024 * 1024, 16 * 1024 * 1024];

  it.each(sizes)('binary message of %i bytes', async (size) => {
    const { url } = await echoServer();
    const c = await client(url);
    const payload = Buffer.alloc(size);
    for (let i = 0; i < size; i += 4093) payload[i] = i & 255;
    payload.fill(7, Math.max(0, size - 10));
    expect(c.send(payload)).not.toBe('dropped');
    const [data, isBinary] = await next<[Buffer, boolean]>(c, 'message', 15_000);
    expect(isBinary).toBe(true);
    expect(Buffer.isBuffer(data)).toBe(true);
    expect(data.equals(payload)).toBe(true);
  }, 30_000);

  it.each(sizes.slice(0, 6))('text message of %i characters (ASCII and multi-byte)', async (size) => {
    const { url } = await echoServer();
    const c = await client(url);
    const text = 'a'.repeat(Math.max(0, size - 4)) + (size >= 4 ? 'é€😀'.slice(0, 4) : '');
    c.send(text);
    const [data, isBinary] = await next<[string, boolean]>(c, 'message', 15_000);
    expect(isBinary).toBe(false);
    expect(typeof data).toBe('string');
    expect(data).toBe(text);
  }, 30_000);

  it('sends every byte source: ArrayBuffer, TypedArrays (with offsets), DataView; strings as binary, bytes as text', async () => {
    const { url } = await echoServer();
    const c = await client(url);
    const backing = new ArrayBuffer(16);
    new Uint8Array(backing).forEach((_, i, a) => { a[i] = i; });
    const sent: [unknown, boolean][] = [
      [new Uint8Array([1, 2, 3]).buffer, true],
      [new Uint16Array([0x0102, 0x0304]), true],
      [new Float64Array(backing, 8, 1), true],
      [new DataView(backing, 2, 3), true],
      [Buffer.from('héllo'), false],
    ];
    c.send(sent[0]![0] as ArrayBuffer);
    c.send(sent[1]![0] as Uint16Array);
    c.send(sent[2]![0] as Float64Array);
    c.send(sent[3]![0] as DataView);
    c.send(sent[4]![0] as Buffer, { binary: false });
    c.send('as binary', { binary: true });
    const got: [unknown, boolean][] = [];
    c.on('message', (d, b) => got.push([d, b]));
    await within(new Promise<void>((r) => { const t = setInterval(() => { if (got.length === 6) { clearInterval(t); r(); } }, 5); }), 5000, '6 echoes');
    expect(got[0]).toEqual([Buffer.from([1, 2, 3]), true]);
    expect(got[1]).toEqual([Buffer.from(new Uint16Array([0x0102, 0x0304]).buffer), true]);
    expect(got[2]).toEqual([Buffer.from(backing, 8, 8), true]);
    expect(got[3]).toEqual([Buffer.from([2, 3, 4]), true]);
    expect(got[4]).toEqual(['héllo', false]);
    expect(got[5]).toEqual([Buffer.from('as binary'), true]);
  });

  it('received Buffers belong to JS: they stay intact after later traffic', async () => {
    const { url } = await echoServer();
    const c = await client(url);
    const kept: Buffer[] = [];
    c.on('message', (d) => kept.push(d as Buffer));
    for (let i = 0; i < 50; i++) c.send(Buffer.alloc(1000, i));
    await within(new Promise<void>((r) => { const t = setInterval(() => { if (kept.length === 50) { clearInterval(t); r(); } }, 5); }), 5000, '50 echoes');
    kept.forEach((b, i) => expect(b.equals(Buffer.alloc(1000, i))).toBe(true));
  });

  it('refuses to send invalid UTF-8 as text, and non-byte data at all', async () => {
    const { url } = await echoServer();
    const c = await client(url);
    expect(() => c.send(Buffer.from([0xff, 0xfe]), { binary: false })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => c.send(42 as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => c.send({} as never)).toThrow(TypeError);
    expect(() => c.send('x', { binary: 'yes' } as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(c.send('x', { compress: true })).toBe('success'); // accepted, ignored until permessage-deflate
  });
});

describe('connection events and the upgrade pipeline', () => {
  it('connection(ws, request): request fields, remote address, protocol, data from the hook', async () => {
    const { wss, url } = await listen({
      upgrade: (req) => ({ accept: true, data: { user: req.query.get('user') }, headers: { 'X-Server': ['a', 'b'] } }),
      handleProtocols: (set) => (set.has('v2') ? 'v2' : false),
    });
    const connected = next<[WS, import('sockudo-ws').UpgradeRequest]>(wss, 'connection');
    const c = await client(`${url}/chat?user=ana`, { protocols: ['v1', 'v2'], headers: { 'X-Custom': 'yes' }, origin: 'http://example.test' });
    const [ws, req] = await connected;
    expect(req).toBeInstanceOf(lib.UpgradeRequest);
    expect(req.method).toBe('GET');
    expect(req.url).toBe('/chat?user=ana');
    expect(req.path).toBe('/chat');
    expect(req.query.get('user')).toBe('ana');
    expect(req.headers['x-custom']).toBe('yes');
    expect(req.headers.origin).toBe('http://example.test');
    expect(req.rawHeaders).toContain('X-Custom');
    expect(req.protocols).toEqual(['v1', 'v2']);
    expect(req.remoteAddress).toBe('127.0.0.1');
    expect(req.secure).toBe(false);
    expect(req.incoming).toBeUndefined();
    expect(ws.protocol).toBe('v2');
    expect(ws.data).toEqual({ user: 'ana' });
    expect(ws.remoteAddress).toBe('127.0.0.1');
    expect(ws.remotePort).toBeGreaterThan(0);
    expect(ws.remotePort).not.toBe(c.remotePort); // the client's ephemeral port vs the server's
    expect(ws.url).toBeUndefined();
    expect(ws.extensions).toBe('');
    expect(ws.readyState).toBe(WebSocket.OPEN);
    expect(wss.clients.has(ws)).toBe(true);
    expect(c.url).toBe(`${url}/chat?user=ana`);
    expect(c.readyState).toBe(1);
    expect(c.remoteAddress).toBe('127.0.0.1');
  });

  it('the first offered subprotocol is selected by default; handleProtocols() → false selects none', async () => {
    const a = await listen();
    const got = next<[WS]>(a.wss, 'connection');
    await client(a.url, { protocols: ['first', 'second'] });
    expect((await got)[0].protocol).toBe('first');
    const b = await listen({ handleProtocols: () => false });
    const got2 = next<[WS]>(b.wss, 'connection');
    await client(b.url, { protocols: ['x'] });
    expect((await got2)[0].protocol).toBe('');
  });

  it('the raw 101 response carries the selected protocol and the hook\'s extra headers', async () => {
    const { port } = await listen({ upgrade: () => ({ accept: true, headers: { 'X-Extra': 1 }, protocol: 'p2' }) });
    const { head } = await rawPeer(port, '/', 'Sec-WebSocket-Protocol: p1, p2\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 101 /);
    expect(head).toMatch(/\r\nSec-WebSocket-Protocol: p2\r\n/i);
    expect(head).toMatch(/\r\nX-Extra: 1\r\n/);
  });

  it('an async hook can reject with status, headers and body', async () => {
    const { url } = await listen({
      upgrade: async (req) => {
        await new Promise((r) => setTimeout(r, 10));
        return req.headers.authorization === 'Bearer ok' ? { accept: true } : { accept: false, status: 401, headers: { 'WWW-Authenticate': 'Bearer' }, body: 'no' };
      },
    });
    const error = await connect(url).catch((e: unknown) => e) as import('sockudo-ws').HandshakeError;
    expect(error).toBeInstanceOf(lib.HandshakeError);
    expect(error.code).toBe('WS_ERR_HANDSHAKE_BAD_STATUS');
    expect(error.status).toBe(401);
    expect(error.headers['www-authenticate']).toBe('Bearer');
    const ok = await client(url, { headers: { Authorization: 'Bearer ok' } });
    expect(ok.readyState).toBe(1);
  });

  it('a hook that throws or returns garbage answers 500 and reports the error on the server', async () => {
    let n = 0;
    const { wss, url } = await listen({
      upgrade: () => {
        n++;
        if (n === 1) throw new Error('hook exploded');
        if (n === 2) return Promise.reject(new Error('async hook exploded'));
        return { nonsense: true } as never;
      },
    });
    const errors: Error[] = [];
    wss.on('error', (e) => errors.push(e));
    for (let i = 0; i < 3; i++) {
      const e = await connect(url).catch((x: unknown) => x) as import('sockudo-ws').HandshakeError;
      expect(e.status).toBe(500);
    }
    expect(errors.map((e) => e.message)).toEqual(['hook exploded', 'async hook exploded', expect.stringMatching(/decision/)]);
  });

  it('path: other paths get 400', async () => {
    const { url } = await listen({ path: '/ws' });
    expect((await connect(`${url}/other`).catch((e: unknown) => e) as { status: number }).status).toBe(400);
    expect((await client(`${url}/ws?x=1`)).readyState).toBe(1);
  });

  it('messages that arrive with the handshake are delivered to listeners attached in "connection"', async () => {
    const { wss, port } = await listen();
    const got = new Promise<string>((resolve) => wss.on('connection', (ws) => ws.on('message', (d) => resolve(d as string))));
    await rawPeer(port, '/', '', clientFrame(0x1, 'in the same segment'));
    expect(await within(got, 5000, 'first message')).toBe('in the same segment');
  });

  it('a client sees messages the server sent right away, when it attaches listeners after await connect()', async () => {
    const { wss, url } = await listen();
    wss.on('connection', (ws) => { ws.send('welcome'); ws.send(Buffer.from([1])); });
    const c = await connect(url);
    cleanup.add(c, (x) => x.terminate());
    const got: unknown[] = [];
    c.on('message', (d) => got.push(d));
    await within(new Promise<void>((r) => { const t = setInterval(() => { if (got.length === 2) { clearInterval(t); r(); } }, 5); }), 5000, 'welcome');
    expect(got).toEqual(['welcome', Buffer.from([1])]);
  });

  it('clients is the set of open connections', async () => {
    const { wss, url } = await listen();
    const c1 = await client(url);
    await client(url);
    await within((async () => { while (wss.clients.size < 2) await new Promise((r) => setTimeout(r, 5)); })(), 5000, '2 clients');
    c1.close(1000);
    await within((async () => { while (wss.clients.size > 1) await new Promise((r) => setTimeout(r, 5)); })(), 5000, '1 client');
    expect(wss.clients.size).toBe(1);
  });
});

describe('closing', () => {
  it('client-initiated close: code and reason reach the server; both end CLOSED', async () => {
    const { wss, url } = await listen();
    const conn = next<[WS]>(wss, 'connection');
    const c = await client(url);
    const [s] = await conn;
    const serverClosed = next<[number, string]>(s, 'close');
    const clientClosed = next<[number, string]>(c, 'close');
    c.close(4001, 'bye now');
    expect(c.readyState).toBe(WebSocket.CLOSING);
    expect(await serverClosed).toEqual([4001, 'bye now']);
    expect((await clientClosed)[0]).toBe(4001);
    expect(c.readyState).toBe(WebSocket.CLOSED);
    expect(s.readyState).toBe(WebSocket.CLOSED);
  });

  it('server-initiated close: code and reason reach the client', async () => {
    const { wss, url } = await listen();
    wss.on('connection', (ws) => ws.close(1008, 'policy'));
    const c = await client(url);
    expect(await next(c, 'close')).toEqual([1008, 'policy']);
  });

  it('close() without a code sends an empty close frame (peer sees 1005); a reason alone implies 1000', async () => {
    const { wss, url } = await listen();
    const conn = next<[WS]>(wss, 'connection');
    const c = await client(url);
    const [s] = await conn;
    const closed = next(s, 'close');
    c.close();
    expect(await closed).toEqual([1005, '']);
    const conn2 = next<[WS]>(wss, 'connection');
    const c2 = await client(url);
    const [s2] = await conn2;
    const closed2 = next(s2, 'close');
    c2.close(undefined, 'just a reason');
    expect(await closed2).toEqual([1000, 'just a reason']);
  });

  it('terminate(): 1006 on both sides, no closing handshake', async () => {
    const { wss, url } = await listen();
    const conn = next<[WS]>(wss, 'connection');
    const c = await client(url);
    const [s] = await conn;
    const serverClosed = next(s, 'close');
    const clientClosed = next(c, 'close');
    c.terminate();
    expect((await clientClosed)[0]).toBe(1006);
    expect((await serverClosed)[0]).toBe(1006);
  });

  it.each([1012, 1013, 1014])('close(%i) (IANA: service restart, try again later, bad gateway) reaches the peer as sent', async (code) => {
    // They were refused as local codes once; ws sends them, and servers under load use 1013.
    const { wss, url } = await listen();
    wss.on('connection', (ws) => ws.close(code, 'later'));
    const c = await client(url);
    expect(await next<[number, string]>(c, 'close')).toEqual([code, 'later']);
  });

  it('echoCloseReason: the automatic answer to a close carries the peer\'s reason too (as ws does); without it, the code alone', async () => {
    for (const echo of [true, false]) {
      const { wss, url } = await listen({ echoCloseReason: echo } as ServerOptions);
      wss.on('connection', () => {});
      const c = await client(url);
      c.close(4321, 'see you');
      expect(await next<[number, string]>(c, 'close')).toEqual([4321, echo ? 'see you' : '']);
    }
  });

  it('close() validates code and reason (RangeError / TypeError), even on an open socket', async () => {
    const { url } = await listen();
    const c = await client(url);
    for (const code of [999, 1004, 1005, 1006, 1015, 2000, 2999, 5000, 1000.5]) {
      expect(() => c.close(code), String(code)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    }
    expect(() => c.close('1000' as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => c.close(1000, 'x'.repeat(124))).toThrow(RangeError);
    expect(() => c.close(1000, 'é'.repeat(62))).toThrow(RangeError); // 124 bytes
    expect(() => c.close(1000, 5 as never)).toThrow(TypeError);
    expect(c.readyState).toBe(1);
    c.close(1000, 'é'.repeat(61)); // 122 bytes: fine
  });

  it('a closed socket never throws and never crashes: sends are "dropped"', async () => {
    const { url } = await listen();
    const c = await client(url);
    const closed = next(c, 'close');
    c.terminate();
    await closed;
    expect(c.readyState).toBe(3);
    expect(c.send('x')).toBe('dropped');
    expect(c.send(Buffer.alloc(100_000))).toBe('dropped');
    expect(c.ping()).toBe('dropped');
    expect(c.pong('x')).toBe('dropped');
    expect(c.bufferedAmount).toBe(0);
    expect(() => { c.close(); c.close(1000, 'again'); c.terminate(); c.pause(); c.resume(); }).not.toThrow();
    expect(c.cork(() => 42)).toBe(42);
  });

  it('server.close(): 1001 to every client, messages sent before it are not lost, then "close" and resolve', async () => {
    const { wss, url } = await listen();
    wss.on('connection', (ws) => { for (let i = 0; i < 200; i++) ws.send(`m${i}`); });
    const clients = await Promise.all([client(url), client(url), client(url)]);
    const results = clients.map((c) => new Promise<{ n: number; code: number }>((resolve) => {
      let n = 0;
      c.on('message', () => n++);
      c.on('close', (code) => resolve({ n, code }));
    }));
    await within((async () => { while (wss.clients.size < 3) await new Promise((r) => setTimeout(r, 5)); })(), 5000, '3 clients');
    const serverClose = next(wss, 'close');
    await within(wss.close(), 8000, 'server close');
    await serverClose;
    expect(wss.clients.size).toBe(0);
    for (const r of await Promise.all(results)) expect(r).toEqual({ n: 200, code: 1001 });
    expect(wss.close()).toBe(wss.close()); // idempotent: the same promise
  });

  it('server.close() with a silent peer finishes after closeTimeout', async () => {
    const { wss, port } = await listen({ closeTimeout: 300 });
    const conn = next<[WS]>(wss, 'connection');
    await rawPeer(port); // never answers the close frame
    const [s] = await conn;
    const started = Date.now();
    const closed = next<[number]>(s, 'close', 5000);
    await within(wss.close(), 5000, 'server close');
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect((await closed)[0]).toBe(1006);
  });
});

describe('control frames, cork, errors', () => {
  it('ping/pong events carry the payload; payloads over 125 bytes are a RangeError', async () => {
    const { wss, url } = await listen();
    const conn = next<[WS]>(wss, 'connection');
    const c = await client(url);
    const [s] = await conn;
    const pinged = next<[Buffer]>(s, 'ping');
    const ponged = next<[Buffer]>(c, 'pong');
    expect(c.ping('are you there')).toBe('success');
    expect((await pinged)[0].toString()).toBe('are you there');
    expect((await ponged)[0].toString()).toBe('are you there');
    const unsolicited = next<[Buffer]>(c, 'pong');
    s.pong(new Uint8Array([9, 9]));
    expect([...(await unsolicited)[0]]).toEqual([9, 9]);
    expect(() => c.ping(Buffer.alloc(126))).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => c.ping(7 as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
  });

  it('cork(fn) returns fn\'s value and sends what it queued, in order', async () => {
    const { url } = await echoServer();
    const c = await client(url);
    const got: unknown[] = [];
    c.on('message', (d) => got.push(d));
    const r = c.cork(() => { c.send('a'); c.send('b'); c.send('c'); return 'ret'; });
    expect(r).toBe('ret');
    await within((async () => { while (got.length < 3) await new Promise((x) => setTimeout(x, 5)); })(), 5000, 'echo');
    expect(got).toEqual(['a', 'b', 'c']);
    expect(() => c.cork('no' as never)).toThrow(TypeError);
  });

  it('a protocol violation by the peer: typed "error" (code, closeCode) then "close"', async () => {
    const { wss, port } = await listen();
    const conn = next<[WS]>(wss, 'connection');
    const { sock } = await rawPeer(port);
    const [s] = await conn;
    const events: unknown[] = [];
    s.on('error', (e) => events.push(['error', e.name, e.code, e.closeCode, e instanceof lib.WebSocketError]));
    const closed = new Promise<void>((r) => s.on('close', (code) => { events.push(['close', code]); r(); }));
    sock.write(clientFrame(0x1, 'unmasked', { masked: false }));
    await within(closed, 5000, 'close after violation');
    expect(events[0]).toEqual(['error', 'WebSocketError', 'WS_ERR_EXPECTED_MASK', 1002, true]);
    // README (Errors): the peer gets the close frame with 1002; locally 'close' reports 1006.
    expect(events[1]).toEqual(['close', 1006]);
  });

  it('maxPayloadLength: a bigger message closes with 1009 (peer sees 1009, local error says so)', async () => {
    const { wss, url } = await listen({ maxPayloadLength: 1000 });
    const conn = next<[WS]>(wss, 'connection');
    const c = await client(url);
    const [s] = await conn;
    const error = next<[import('sockudo-ws').WebSocketError]>(s, 'error');
    const clientClosed = next<[number]>(c, 'close');
    c.send(Buffer.alloc(1001));
    expect((await error)[0]).toMatchObject({ code: 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', closeCode: 1009 });
    expect((await clientClosed)[0]).toBe(1009);
  });

  it('without an "error" listener a peer\'s violation does not crash the process', () => {
    // In a child process, so an 'error' emitted without a listener (which throws) would show as
    // a crash: a non-zero exit and the stack on stderr, instead of 'alive'.
    const r = runNode(`
      const net = require('node:net');
      const { WebSocketServer } = require('sockudo-ws');
      const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
      wss.on('connection', (ws) => ws.on('close', (code) => {
        console.log('closed', code, ws.listenerCount('error'));
        setTimeout(() => { console.log('alive'); wss.close(); sock.destroy(); }, 100);
      }));
      let sock;
      wss.on('listening', () => {
        sock = net.connect(wss.address().port, '127.0.0.1', () => sock.write(${JSON.stringify(upgradeRequest())}));
        let head = '';
        sock.on('data', (d) => {
          if (head.includes('\\r\\n\\r\\n')) return;
          head += d.toString('latin1');
          if (head.includes('\\r\\n\\r\\n')) sock.write(Buffer.from([0x83, 0x80, 0, 0, 0, 0])); // reserved opcode 3
        });
        sock.on('error', () => {});
      });`);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('closed 1006 0\nalive\n');
    expect(r.status).toBe(0);
  });

  it('idleTimeout closes a silent connection with WS_ERR_IDLE_TIMEOUT', async () => {
    const { wss, port } = await listen({ idleTimeout: 300, autoPing: false });
    const conn = next<[WS]>(wss, 'connection');
    await rawPeer(port);
    const [s] = await conn;
    const error = next<[import('sockudo-ws').WebSocketError]>(s, 'error', 5000);
    const closed = next<[number]>(s, 'close', 5000);
    expect((await error)[0].code).toBe('WS_ERR_IDLE_TIMEOUT');
    expect((await closed)[0]).toBe(1006);
  });
});

describe('send backpressure (basic API behaviour)', () => {
  it('a peer that stops reading: send() → "backpressure", then "drain"; beyond maxBackpressure → "dropped"', async () => {
    const { wss, port } = await listen({ maxBackpressure: 2 * 1024 * 1024 });
    const conn = next<[WS]>(wss, 'connection');
    const { sock } = await rawPeer(port);
    sock.pause();
    const [s] = await conn;
    const chunk = Buffer.alloc(64 * 1024);
    const statuses = new Set<string>();
    for (let i = 0; i < 400 && !statuses.has('dropped'); i++) statuses.add(s.send(chunk));
    expect(statuses.has('backpressure')).toBe(true);
    expect(statuses.has('dropped')).toBe(true);
    expect(s.bufferedAmount).toBeGreaterThan(0);
    expect(s.bufferedAmount).toBeLessThanOrEqual(2 * 1024 * 1024 + chunk.length);
    const drained = next(s, 'drain', 10_000);
    sock.resume();
    await drained;
    expect(s.bufferedAmount).toBe(0);
    expect(s.send('after drain')).toBe('success');
  });
});

describe('no public constructor', () => {
  const expectIllegal = (fn: () => unknown) => {
    let thrown: unknown;
    try {
      fn();
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(TypeError);
    expect(thrown).toMatchObject({ name: 'IllegalConstructorError', code: 'ERR_ILLEGAL_CONSTRUCTOR', message: expect.stringMatching(/connect\(/) });
    expect(thrown).toBeInstanceOf(lib.IllegalConstructorError);
  };

  it('new WebSocket(url) throws IllegalConstructorError (ERR_ILLEGAL_CONSTRUCTOR) naming connect(), never a half-built object', () => {
    const Ctor = WebSocket as unknown as new (...args: unknown[]) => WS;
    expectIllegal(() => new Ctor('ws://127.0.0.1:1'));
    expectIllegal(() => new Ctor());
    // Not even with an object shaped like the library's own internal one, nor through a subclass.
    expectIllegal(() => new Ctor({ socket: null, protocol: '', link: null, onClosed: null, onSubscription: null }));
    expectIllegal(() => new (class extends Ctor {})('ws://127.0.0.1:1'));
  });

  it('the default export (import WebSocket from "sockudo-ws", require("sockudo-ws")) is the module; constructing or calling it throws the same typed error', () => {
    const r = runNode(`
      const cjs = require('sockudo-ws');
      const attempt = (fn) => { try { fn(); return 'no error'; } catch (e) { return [e.name, e.code, /connect\\(/.test(e.message), e instanceof cjs.IllegalConstructorError].join(' '); } };
      import('sockudo-ws').then((esm) => {
        const WebSocket = esm.default;
        console.log(JSON.stringify({
          same: WebSocket === cjs && typeof WebSocket.connect === 'function' && WebSocket.connect === esm.connect,
          esmNew: attempt(() => new WebSocket('ws://127.0.0.1:1')),
          cjsNew: attempt(() => new cjs('ws://127.0.0.1:1')),
          cjsCall: attempt(() => cjs('ws://127.0.0.1:1')),
        }));
      });`);
    expect(r.status, r.stderr).toBe(0);
    const expected = 'IllegalConstructorError ERR_ILLEGAL_CONSTRUCTOR true true';
    expect(JSON.parse(r.stdout)).toEqual({ same: true, esmNew: expected, cjsNew: expected, cjsCall: expected });
  });
});

// ws 8's argument forms that used to be ignored or refused with a misleading error.
describe('send(data, options?, callback?) and server.close(callback) (ws 8 forms)', () => {
  it('send(data, cb) and send(data, options, cb): cb() once the message was handed to the transport, never synchronously', async () => {
    const { url } = await echoServer();
    const c = await client(url);
    const events: unknown[] = [];
    const echoed: unknown[] = [];
    c.on('message', (d) => echoed.push(d));
    events.push(['status', c.send('a', (error) => events.push(['cb a', error]))]);
    events.push(['status', c.send(Buffer.from('b'), { binary: false }, (error) => events.push(['cb b', error]))]);
    events.push('returned');
    await within((async () => { while (echoed.length < 2) await new Promise((r) => setTimeout(r, 5)); })(), 5000, 'echoes');
    expect(events).toEqual([['status', 'success'], ['status', 'success'], 'returned', ['cb a', undefined], ['cb b', undefined]]);
    expect(echoed).toEqual(['a', 'b']);
  });

  it('the callback gets an InvalidStateError when the message is not sent: socket closed, or dropped over maxBackpressure', async () => {
    const { wss, port, url } = await listen({ maxBackpressure: 256 * 1024 });
    const c = await client(url);
    const closed = next(c, 'close');
    c.terminate();
    await closed;
    const afterClose = new Promise<unknown[]>((resolve) => expect(c.send('x', (...args: unknown[]) => resolve(args))).toBe('dropped'));
    const [closedError] = await within(afterClose, 5000, 'callback after close');
    expect(closedError).toBeInstanceOf(lib.InvalidStateError);
    expect(closedError).toMatchObject({ code: 'ERR_SOCKUDO_WS_INVALID_STATE', message: expect.stringMatching(/not open/) });

    const conn = next<[WS]>(wss, 'connection');
    const { sock } = await rawPeer(port);
    sock.pause();
    const [s] = await conn;
    const results: Promise<unknown>[] = [];
    let status = '';
    for (let i = 0; i < 400 && status !== 'dropped'; i++) {
      results.push(new Promise((resolve) => { status = s.send(Buffer.alloc(64 * 1024), (error) => resolve(error)); }));
    }
    expect(status).toBe('dropped');
    const errors = await within(Promise.all(results), 5000, 'callbacks');
    expect(errors.slice(0, -1).every((e) => e === undefined)).toBe(true);
    expect(errors.at(-1)).toMatchObject({ code: 'ERR_SOCKUDO_WS_INVALID_STATE', message: expect.stringMatching(/maxBackpressure/) });
  });

  it('fin: false (fragmentation), unknown send options and a callback that is not a function are refused loudly', async () => {
    const { wss, url } = await listen();
    const conn = next<[WS]>(wss, 'connection');
    const c = await client(url);
    const [s] = await conn;
    const code = (fn: () => unknown) => {
      try {
        fn();
        return 'no error';
      } catch (error) {
        return `${(error as Error).name} ${(error as { code?: string }).code} ${(error as Error).message}`;
      }
    };
    expect(code(() => c.send('x', { fin: false } as never))).toMatch(/^InvalidArgumentValueError ERR_INVALID_ARG_VALUE .*fin.*not supported/);
    expect(code(() => c.send('x', { fin: 1 } as never))).toMatch(/^InvalidArgumentTypeError ERR_INVALID_ARG_TYPE /);
    expect(code(() => c.send('x', { fin: true } as never))).toBe('no error'); // a whole message: what every send is
    expect(code(() => c.send('x', { mask: false } as never))).toMatch(/^InvalidArgumentValueError ERR_INVALID_ARG_VALUE .*options\.mask.*not a known option/);
    expect(code(() => c.send('x', { binray: true } as never))).toMatch(/^InvalidArgumentValueError ERR_INVALID_ARG_VALUE .*options\.binray/);
    expect(code(() => c.send('x', {}, 'cb' as never))).toMatch(/^InvalidArgumentTypeError ERR_INVALID_ARG_TYPE .*callback/);
    expect(code(() => c.send('x', (() => {}) as never, (() => {}) as never))).toMatch(/^InvalidArgumentTypeError ERR_INVALID_ARG_TYPE /);
    expect(code(() => wss.publish('t', 'x', { fin: false } as never))).toMatch(/^InvalidArgumentValueError ERR_INVALID_ARG_VALUE .*fin/);
    expect(code(() => s.publish('t', 'x', { compres: false } as never))).toMatch(/^InvalidArgumentValueError ERR_INVALID_ARG_VALUE .*compres/);
  });

  it('server.close(cb): cb() once closed (after the clients\' close); called again when closed: cb(InvalidStateError "not running")', async () => {
    const { wss, url } = await listen();
    const c = await client(url);
    const order: unknown[] = [];
    c.on('close', (code) => order.push(['client close', code]));
    wss.on('close', () => order.push('server close'));
    const promise = wss.close((...args: unknown[]) => order.push(['cb', ...args]));
    expect(promise).toBeInstanceOf(Promise);
    await within(promise, 8000, 'server close');
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual([['client close', 1001], 'server close', ['cb']]);
    const [again] = await within(new Promise<unknown[]>((resolve) => void wss.close((...args: unknown[]) => resolve(args))), 5000, 'second close');
    expect(again).toBeInstanceOf(lib.InvalidStateError);
    expect(again).toMatchObject({ code: 'ERR_SOCKUDO_WS_INVALID_STATE', message: expect.stringMatching(/not running/) });
    await expect(wss.close('cb' as never)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
  });
});
