// WebSocket over HTTP/2 (RFC 8441) on the native server, against Node's http2 client (its own
// nghttp2: an independent peer): SETTINGS_ENABLE_CONNECT_PROTOCOL, extended CONNECT through the
// same upgrade hook and `connection` event as HTTP/1.1, many WebSockets on one connection,
// subprotocol and permessage-deflate by header, refusals and invalid requests, flow control as
// backpressure in both directions without stalling sibling streams, resets, GOAWAY and idle
// connections, and ALPN "h2" beside "http/1.1" on one TLS port.
import { once } from 'node:events';
import type * as net from 'node:net';
import * as zlib from 'node:zlib';

import { afterEach, describe, expect, it } from 'vitest';

import { Cleanup, closePayload, loadPackage, nativeBinding, next, waitUntil, within } from './helpers';
import { H2WebSocket, h2Connect } from './h2-peer';
import { connectBlock, FLAG, FRAME, frame, headerBlock, RawH2 } from './h2-raw';
import { opensslMissing, tlsFixtures } from './tls-fixtures';

const lib = loadPackage();
const cleanup = new Cleanup();
afterEach(() => cleanup.run());

type Options = Record<string, unknown>;
type Ws = import('sockudo-ws').WebSocket;
type Request = import('sockudo-ws').UpgradeRequest;

/** An h2c-capable echo server of ours (HTTP/1.1 too) on 127.0.0.1. */
async function server(options: Options = {}) {
  const wss = cleanup.add(new lib.WebSocketServer({ port: 0, host: '127.0.0.1', http2: true, http2Cleartext: true, ...options }), (s) => s.close());
  await next(wss, 'listening');
  const port = (wss.address() as net.AddressInfo).port;
  const requests: Request[] = [];
  const sockets: Ws[] = [];
  wss.on('connection', (ws, req) => {
    requests.push(req);
    sockets.push(ws);
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
  return { wss, port, authority: `127.0.0.1:${port}`, url: `http://127.0.0.1:${port}`, requests, sockets };
}

describe('HTTP/2 extended CONNECT (RFC 8441)', () => {
  it('advertises SETTINGS_ENABLE_CONNECT_PROTOCOL and the configured limits', async () => {
    const s = await server({ http2MaxStreams: 7, http2WindowSize: 128 * 1024 });
    const h = await h2Connect(s.url, cleanup);
    expect(h.settings.enableConnectProtocol).toBe(true);
    expect(h.settings.maxConcurrentStreams).toBe(7);
    expect(h.settings.initialWindowSize).toBe(128 * 1024);
  });

  it('opens a WebSocket on a stream: the same upgrade hook and connection event, httpVersion 2, echo both ways, clean close', async () => {
    const hooked: Request[] = [];
    const s = await server({ upgrade: (req: Request) => { hooked.push(req); return { accept: true, data: { user: req.query.get('u') } }; } });
    const closed = new Promise<number>((resolve) => s.wss.on('connection', (ws) => ws.on('close', (code) => resolve(code))));
    const h = await h2Connect(s.url, cleanup);
    const ws = await H2WebSocket.open(h, s.authority, '/chat?u=ann', { origin: 'http://example.test', 'x-trace': 'abc' });
    expect(ws.status).toBe(200);
    expect(ws.response['sec-websocket-accept']).toBeUndefined();  // RFC 8441 §5: not used
    expect(hooked).toHaveLength(1);
    const req = s.requests[0]!;
    expect(req).toBe(hooked[0]);
    expect(req.httpVersion).toBe('2');
    expect(req.method).toBe('CONNECT');
    expect(req.url).toBe('/chat?u=ann');
    expect(req.path).toBe('/chat');
    expect(req.query.get('u')).toBe('ann');
    expect(req.authority).toBe(s.authority);
    expect(req.headers.origin).toBe('http://example.test');
    expect(req.headers['x-trace']).toBe('abc');
    expect(req.rawHeaders.some((v) => v.startsWith(':'))).toBe(false);
    expect(req.secure).toBe(false);
    expect((s.sockets[0]!.data as { user: string }).user).toBe('ann');

    ws.text('hello over h2');
    const echoed = await ws.frame();
    expect(echoed.opcode).toBe(1);
    expect(echoed.masked).toBe(false);
    expect(echoed.payload.toString()).toBe('hello over h2');
    const big = Buffer.alloc(300 * 1024, 7);  // several DATA frames and window updates
    ws.send(2, big);
    const back = await ws.frame(10_000);
    expect(back.opcode).toBe(2);
    expect(back.payload.equals(big)).toBe(true);

    expect(await ws.close(1000)).toBe(1000);
    expect(await within(closed, 5000, 'server close')).toBe(1000);
    await ws.finished();
    expect(ws.ended).toBe(true);  // our END_STREAM after the close frame
  });

  it.each([
    ['with its close frame', true],
    ['a moment after its close frame', false],
  ])('a close our server starts ends the stream with END_STREAM, never RST_STREAM, when the peer answers and ends %s', async (_name, endWithClose) => {
    // RFC 8441 §5: the orderly end of the stream (END_STREAM both ways) is the TCP close of RFC 6455.
    // It once ended with RST_STREAM CANCEL when our close frame had been acknowledged before the
    // peer's answer arrived (seen with Chromium: wasClean false on every server-initiated close).
    const s = await server();
    s.wss.on('connection', (ws) => ws.close(4001, 'server bye'));
    const closed = new Promise<[number, string]>((resolve) => s.wss.on('connection', (ws) => ws.on('close', (code, reason) => resolve([code, String(reason)]))));
    const h = await h2Connect(s.url, cleanup);
    const ws = await H2WebSocket.open(h, s.authority, '/');
    const f = await ws.frame();
    expect(f.opcode).toBe(8);
    expect(closePayload(f.payload)).toEqual({ code: 4001, reason: 'server bye' });
    await new Promise((r) => setTimeout(r, 50));  // our close frame is acknowledged (WINDOW_UPDATE) before the answer
    const answer = Buffer.alloc(2);
    answer.writeUInt16BE(4001);
    ws.send(8, answer);
    if (endWithClose) ws.stream.end();
    else setTimeout(() => ws.stream.end(), 100);
    await ws.finished();
    if (!ws.closed) await within(once(ws.stream, 'close'), 5000, 'the stream to close');
    expect(ws.stream.rstCode).toBe(0);  // NO_ERROR: both sides ended, no RST_STREAM
    expect(await within(closed, 5000, 'server close')).toEqual([4001, '']);  // the peer's answer, without a reason
  });

  it('a message far larger than one flush of the session (4 × 256 KiB) leaves in full', async () => {
    // Found by Chromium's 1 MiB echo: a flush that stopped after its rounds with more to frame
    // and a writable link did not schedule the next one, so the rest waited for unrelated input.
    const s = await server({ http2WindowSize: 16 * 1024 * 1024, http2ConnectionWindowSize: 64 * 1024 * 1024 });
    const h = await h2Connect(s.url, cleanup, { settings: { initialWindowSize: 16 * 1024 * 1024 } });
    h.session.setLocalWindowSize(64 * 1024 * 1024);
    const ws = await H2WebSocket.open(h, s.authority, '/');
    const big = Buffer.alloc(5 * 1024 * 1024 + 3, 9);
    ws.send(2, big);
    const back = await ws.frame(15_000);
    expect(back.payload.equals(big)).toBe(true);
  });

  it('an ArrayBuffer transferred right after send() still arrives intact (the stream link borrows a private copy)', async () => {
    const s = await server();
    const h = await h2Connect(s.url, cleanup);
    const ws = await H2WebSocket.open(h, s.authority, '/');
    await waitUntil(() => s.sockets.length === 1, 'socket');
    const ab = new ArrayBuffer(2 * 1024 * 1024);
    new Uint8Array(ab).fill(5);
    s.sockets[0]!.send(new Uint8Array(ab));
    structuredClone(ab, { transfer: [ab] });  // detached; its memory goes with the clone
    expect(ab.byteLength).toBe(0);
    const f = await ws.frame(10_000);
    expect(f.payload.length).toBe(2 * 1024 * 1024);
    expect(f.payload.every((b) => b === 5)).toBe(true);
  });

  it('carries many WebSockets on one connection, each with its own messages, and publishes to all of them', async () => {
    const s = await server();
    s.wss.on('connection', (ws) => ws.subscribe('news'));
    const h = await h2Connect(s.url, cleanup);
    const streams = await Promise.all(Array.from({ length: 20 }, (_, i) => H2WebSocket.open(h, s.authority, `/s${i}`)));
    expect(streams.every((w) => w.status === 200)).toBe(true);
    await waitUntil(() => s.sockets.length === 20, 'twenty sockets');
    streams.forEach((w, i) => w.text(`from ${i}`));
    const replies = await Promise.all(streams.map((w) => w.frame()));
    replies.forEach((f, i) => expect(f.payload.toString()).toBe(`from ${i}`));
    expect(s.wss.publish('news', 'to everyone')).toBe(20);
    const published = await Promise.all(streams.map((w) => w.frame()));
    expect(published.every((f) => f.payload.toString() === 'to everyone')).toBe(true);
    expect(s.wss.clients.size).toBe(20);
  });

  it('negotiates the subprotocol and permessage-deflate by header; compressed messages flow both ways', async () => {
    const s = await server({ compression: 'dedicated', compressionThreshold: 0, handleProtocols: (p: Set<string>) => (p.has('b') ? 'b' : false) });
    const h = await h2Connect(s.url, cleanup);
    const ws = await H2WebSocket.open(h, s.authority, '/', { 'sec-websocket-protocol': 'a, b', 'sec-websocket-extensions': 'permessage-deflate; client_max_window_bits' });
    expect(ws.response['sec-websocket-protocol']).toBe('b');
    expect(String(ws.response['sec-websocket-extensions'])).toMatch(/^permessage-deflate/);
    expect(s.sockets[0]!.protocol).toBe('b');
    const text = 'compress me '.repeat(200);
    const deflated = zlib.deflateRawSync(Buffer.from(text), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    ws.send(1, deflated.subarray(0, deflated.length - 4), { rsv1: true });  // RFC 7692 §7.2.1
    const f = await ws.frame();
    expect(f.rsv & 4).toBe(4);
    const inflated = zlib.inflateRawSync(Buffer.concat([f.payload, Buffer.from([0, 0, 0xff, 0xff])]), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    expect(inflated.toString()).toBe(text);
  });

  it('answers a refusal from the upgrade hook with its status, headers and body, and ends the stream', async () => {
    const s = await server({ upgrade: () => ({ accept: false, status: 403, headers: { 'X-Reason': 'nope' }, body: 'forbidden here' }) });
    const h = await h2Connect(s.url, cleanup);
    const ws = await H2WebSocket.open(h, s.authority, '/');
    expect(ws.status).toBe(403);
    expect(ws.response['x-reason']).toBe('nope');
    await ws.finished();
    expect(ws.body.toString()).toBe('forbidden here');
    expect(s.requests).toHaveLength(0);
    // The connection goes on: the next stream may be accepted by a later decision.
    expect(h.session.closed).toBe(false);
  });

  it('refuses invalid requests itself (RFC 8441 §4–5) without asking the application', async () => {
    const asked: Request[] = [];
    const s = await server({ upgrade: (req: Request) => { asked.push(req); return { accept: true }; } });
    const h = await h2Connect(s.url, cleanup);
    const noVersion = await H2WebSocket.open(h, s.authority, '/', { 'sec-websocket-version': '8' });
    expect(noVersion.status).toBe(400);
    expect(noVersion.response['sec-websocket-version']).toBe('13');
    const withKey = await H2WebSocket.open(h, s.authority, '/', { 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' });
    expect(withKey.status).toBe(400);
    const other = h.session.request({ ':method': 'CONNECT', ':protocol': 'webtransport', ':scheme': 'http', ':path': '/', ':authority': s.authority });
    const [otherHeaders] = await once(other, 'response') as [Record<string, unknown>];
    expect(otherHeaders[':status']).toBe(501);
    const get = h.session.request({ ':method': 'GET', ':path': '/' });
    const [getHeaders] = await once(get, 'response') as [Record<string, unknown>];
    expect(getHeaders[':status']).toBe(404);  // no resource here but WebSockets
    expect(asked).toHaveLength(0);
    // Still usable.
    const ok = await H2WebSocket.open(h, s.authority, '/');
    expect(ok.status).toBe(200);
  });

  it('path mismatches and a closing server are refused like on HTTP/1.1', async () => {
    const s = await server({ path: '/only' });
    const h = await h2Connect(s.url, cleanup);
    const wrong = await H2WebSocket.open(h, s.authority, '/elsewhere');
    expect(wrong.status).toBe(400);
    const right = await H2WebSocket.open(h, s.authority, '/only');
    expect(right.status).toBe(200);
  });

  it('a stream reset by the client closes only its WebSocket (1006); siblings and the connection go on', async () => {
    const s = await server();
    const codes: number[] = [];
    s.wss.on('connection', (ws) => ws.on('close', (code) => codes.push(code)));
    const h = await h2Connect(s.url, cleanup);
    const a = await H2WebSocket.open(h, s.authority, '/a');
    const b = await H2WebSocket.open(h, s.authority, '/b');
    a.stream.close(0x8);  // RST_STREAM CANCEL
    await waitUntil(() => codes.length === 1, 'the reset WebSocket closed');
    expect(codes[0]).toBe(1006);
    b.text('still here');
    expect((await b.frame()).payload.toString()).toBe('still here');
  });

  it('server close ends the WebSocket with a close frame and END_STREAM; the client may end its side', async () => {
    const s = await server();
    const h = await h2Connect(s.url, cleanup);
    const ws = await H2WebSocket.open(h, s.authority, '/');
    await waitUntil(() => s.sockets.length === 1, 'socket');
    const closed = next<[number]>(s.sockets[0]!, 'close');
    s.sockets[0]!.close(4000, 'bye');
    const f = await ws.frame();
    expect(f.opcode).toBe(8);
    expect(closePayload(f.payload)).toEqual({ code: 4000, reason: 'bye' });
    ws.send(8, f.payload);  // our reply
    await ws.finished();
    ws.stream.end();
    expect((await closed)[0]).toBe(4000);
  });

  it('flow control is backpressure: a client that stops reading closes its stream window; bufferedAmount, drain; a sibling is not stalled', async () => {
    const s = await server({ http2WindowSize: 65_535, maxBackpressure: 64 * 1024 * 1024 });
    const h = await h2Connect(s.url, cleanup, { settings: { initialWindowSize: 65_535 } });
    const slow = await H2WebSocket.open(h, s.authority, '/slow');
    const quick = await H2WebSocket.open(h, s.authority, '/quick');
    await waitUntil(() => s.sockets.length === 2, 'sockets');
    const server0 = s.sockets.find((_, i) => s.requests[i]!.path === '/slow')!;
    slow.stream.pause();
    const chunk = Buffer.alloc(16 * 1024, 1);
    let backpressured = false;
    for (let i = 0; i < 64; i++) if (server0.send(chunk) !== 'success') backpressured = true;  // 1 MiB against a 64 KiB window
    expect(backpressured).toBe(true);
    await new Promise((r) => setTimeout(r, 200));
    expect(server0.bufferedAmount).toBeGreaterThan(512 * 1024);
    // The sibling stream still echoes while the first one's window is shut.
    quick.text('not stalled');
    expect((await quick.frame()).payload.toString()).toBe('not stalled');
    const drained = next(server0, 'drain', 10_000);
    slow.stream.resume();
    let got = 0;
    while (got < 64) {
      const f = await slow.frame(10_000);
      expect(f.payload.length).toBe(chunk.length);
      got++;
    }
    await drained;
    expect(server0.bufferedAmount).toBe(0);
  });

  it('a paused server socket stops consuming its stream: the client feels it, a sibling does not, and everything arrives after resume', async () => {
    const s = await server({ http2WindowSize: 65_535 });
    const h = await h2Connect(s.url, cleanup);
    const held = await H2WebSocket.open(h, s.authority, '/held');
    const other = await H2WebSocket.open(h, s.authority, '/other');
    await waitUntil(() => s.sockets.length === 2, 'sockets');
    const ws0 = s.sockets.find((_, i) => s.requests[i]!.path === '/held')!;
    const received: number[] = [];
    ws0.removeAllListeners('message');
    ws0.on('message', (data) => received.push((data as Buffer).length));
    ws0.pause();
    for (let i = 0; i < 32; i++) held.send(2, Buffer.alloc(16 * 1024, i));  // 512 KiB against a 64 KiB window
    await new Promise((r) => setTimeout(r, 300));
    expect(received).toHaveLength(0);
    expect(held.stream.writableLength).toBeGreaterThan(256 * 1024);  // the client's stream waits for window
    other.text('sibling');
    expect((await other.frame()).payload.toString()).toBe('sibling');
    ws0.resume();
    await waitUntil(() => received.length === 32, 'all 32 messages after resume', 10_000);
    expect(received.every((n) => n === 16 * 1024)).toBe(true);
  });

  it('a connection that never starts a request is sent GOAWAY after handshakeTimeout, not the longer idle timeout', async () => {
    const s = await server({ handshakeTimeout: 200 });
    const raw = await RawH2.connect(s.port, cleanup);
    const started = Date.now();
    expect(await raw.closedWith(5000)).toBe(NO_ERROR);
    expect(Date.now() - started).toBeLessThan(4000);
  });

  it('closes an HTTP/2 connection without streams after http2IdleTimeout (GOAWAY)', async () => {
    const s = await server({ http2IdleTimeout: 200 });
    const h = await h2Connect(s.url, cleanup);
    const ws = await H2WebSocket.open(h, s.authority, '/');
    expect(await ws.close()).toBe(1000);
    await within(once(h.session, 'goaway'), 5000, 'GOAWAY after the idle timeout');
    await within(once(h.session, 'close'), 5000, 'the connection closed');
  });

  it('server.close() sends GOAWAY; the connection ends with its last WebSocket; no native object is left', async () => {
    const base = nativeBinding().socketCount();
    const s = await server();
    const h = await h2Connect(s.url, cleanup);
    const ws = await H2WebSocket.open(h, s.authority, '/');
    await waitUntil(() => s.sockets.length === 1, 'socket');
    const goaway = once(h.session, 'goaway');
    const done = new Promise<void>((resolve) => s.wss.close(() => resolve()));
    await within(goaway, 5000, 'GOAWAY');
    const f = await ws.frame();  // server.close() closes its sockets with 1001
    expect(f.opcode).toBe(8);
    expect(closePayload(f.payload).code).toBe(1001);
    ws.send(8, f.payload);
    ws.stream.end();
    await within(done, 10_000, 'server closed');
    await waitUntil(() => nativeBinding().socketCount() <= base, 'native sockets and sessions gone');  // ≤: earlier tests' connections may still be finishing
  });

  it('garbage after the preface ends only that connection', async () => {
    const s = await server();
    const h = await h2Connect(s.url, cleanup);
    const good = await H2WebSocket.open(h, s.authority, '/');
    const net = await import('node:net');
    const raw = cleanup.add(net.connect(s.port, '127.0.0.1'), (c) => c.destroy());
    await once(raw, 'connect');
    raw.write(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), Buffer.alloc(64, 0xff)]));
    raw.on('error', () => {});
    raw.resume();
    await within(once(raw, 'close'), 5000, 'the bad connection closed');
    good.text('fine');
    expect((await good.frame()).payload.toString()).toBe('fine');
  });

  it('HTTP/1.1 upgrades and HTTP/2 share the port', async () => {
    const s = await server();
    const ws = await lib.connect(`ws://127.0.0.1:${s.port}/`);
    cleanup.add(ws, (w) => w.terminate());
    const reply = next<[string]>(ws, 'message');
    ws.send('h1');
    expect((await reply)[0]).toBe('h1');
    expect(s.requests[0]!.httpVersion).toBe('1.1');
  });

  it('validates the http2 options', () => {
    expect(() => new lib.WebSocketServer({ port: 0, http2Cleartext: true })).toThrow(/http2: true/);
    expect(() => new lib.WebSocketServer({ noServer: true, http2: true })).toThrow(/only applies together with "port"/);
    expect(() => new lib.WebSocketServer({ port: 0, http2: true, http2WindowSize: 10 })).toThrow(/http2WindowSize/);
  });
});

describe('handleStream: WebSockets on streams of Node\'s own http2 server', () => {
  async function nodeH2(options: Options = {}, hook?: (stream: import('node:http2').ServerHttp2Stream, headers: Record<string, unknown>) => void) {
    const http2 = await import('node:http2');
    const wss = cleanup.add(new lib.WebSocketServer({ noServer: true, ...options }), (s) => s.close());
    const results: Promise<unknown>[] = [];
    const h2 = http2.createServer({ settings: { enableConnectProtocol: true } });
    h2.on('stream', (stream, headers) => {
      if (hook) return hook(stream, headers);
      const p = wss.handleStream(stream, headers);
      p.catch(() => { /* a test awaits the ones it cares about */ });
      results.push(p);
    });
    cleanup.add(h2, (x) => new Promise<void>((resolve) => { x.close(() => resolve()); }));
    h2.listen(0, '127.0.0.1');
    await once(h2, 'listening');
    const port = (h2.address() as net.AddressInfo).port;
    const sockets: Ws[] = [];
    const requests: Request[] = [];
    wss.on('connection', (ws, req) => {
      sockets.push(ws);
      requests.push(req);
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    });
    return { wss, port, url: `http://127.0.0.1:${port}`, authority: `127.0.0.1:${port}`, results, sockets, requests };
  }

  it('answers 200, emits connection with httpVersion 2 and echoes; a clean close ends the stream', async () => {
    const s = await nodeH2({ upgrade: (req: Request) => ({ accept: true, data: { path: req.path } }) });
    const h = await h2Connect(s.url, cleanup);
    const ws = await H2WebSocket.open(h, s.authority, '/node?x=1', { 'sec-websocket-protocol': 'chat' });
    expect(ws.status).toBe(200);
    expect(ws.response['sec-websocket-protocol']).toBe('chat');
    const opened = await within(s.results[0]!, 5000, 'handleStream') as Ws;
    expect(opened).toBe(s.sockets[0]);
    expect(s.requests[0]!.httpVersion).toBe('2');
    expect(s.requests[0]!.query.get('x')).toBe('1');
    expect((s.sockets[0]!.data as { path: string }).path).toBe('/node');
    ws.text('through node');
    expect((await ws.frame()).payload.toString()).toBe('through node');
    const closed = next<[number]>(s.sockets[0]!, 'close');
    expect(await ws.close(1000)).toBe(1000);
    expect((await closed)[0]).toBe(1000);
  });

  it('a refusal from the hook and an invalid request are answered on the stream; the promise rejects', async () => {
    const s = await nodeH2({ upgrade: (req: Request) => (req.path === '/no' ? { accept: false, status: 403, body: 'nope' } : { accept: true }) });
    const h = await h2Connect(s.url, cleanup);
    const refused = await H2WebSocket.open(h, s.authority, '/no');
    expect(refused.status).toBe(403);
    await refused.finished();
    expect(refused.body.toString()).toBe('nope');
    await expect(s.results[0]).rejects.toMatchObject({ status: 403 });
    const invalid = await H2WebSocket.open(h, s.authority, '/', { 'sec-websocket-version': '7' });
    expect(invalid.status).toBe(400);
    expect(invalid.response['sec-websocket-version']).toBe('13');
    await expect(s.results[1]).rejects.toMatchObject({ code: 'ERR_SOCKUDO_WS_INVALID_UPGRADE', status: 400 });
    expect(s.sockets).toHaveLength(0);
  });

  it('rejects what is not an http2 stream', async () => {
    const wss = cleanup.add(new lib.WebSocketServer({ noServer: true }), (x) => x.close());
    const { PassThrough } = await import('node:stream');
    await expect(wss.handleStream(new PassThrough(), {})).rejects.toThrow(/ServerHttp2Stream/);
  });
});

// RFC 9113 §7 error codes.
const NO_ERROR = 0;
const PROTOCOL_ERROR = 1;
const INTERNAL_ERROR = 2;
const ENHANCE_YOUR_CALM = 0xb;

describe('hostile HTTP/2 peers stay per-connection and bounded', () => {
  /** Our server plus one healthy WebSocket on its own connection that must keep working. */
  async function withBystander(options: Options = {}) {
    const s = await server(options);
    const h = await h2Connect(s.url, cleanup);
    const bystander = await H2WebSocket.open(h, s.authority, '/bystander');
    const stillFine = async () => {
      bystander.text('still fine');
      expect((await bystander.frame()).payload.toString()).toBe('still fine');
    };
    return { s, stillFine };
  }

  it('more streams than http2MaxStreams after SETTINGS were acknowledged: nghttp2 ends that connection (PROTOCOL_ERROR)', async () => {
    // RFC 9113 §5.1.2 allows a stream error (REFUSED_STREAM) or PROTOCOL_ERROR; nghttp2 treats a
    // peer that ignores the acknowledged limit as a connection error: GOAWAY naming the last
    // stream it processed.
    const { s, stillFine } = await withBystander({ http2MaxStreams: 2 });
    const raw = await RawH2.connect(s.port, cleanup);
    await raw.until((f) => f.type === FRAME.SETTINGS && (f.flags & FLAG.ACK) !== 0, 'our SETTINGS acknowledged');
    for (const id of [1, 3, 5]) raw.write(frame(FRAME.HEADERS, FLAG.END_HEADERS, id, connectBlock(s.authority)));
    expect(await raw.closedWith()).toBe(PROTOCOL_ERROR);
    const goaway = raw.frames.find((f) => f.type === FRAME.GOAWAY)!;
    expect(goaway.payload.readUInt32BE(0)).toBe(3);  // last stream processed
    await stillFine();
    await waitUntil(() => s.wss.clients.size === 1, 'only the bystander left');
  });

  it('rapid reset (CVE-2023-44487): HEADERS + RST_STREAM by the thousand ends that connection only', async () => {
    let upgrades = 0;
    const { s, stillFine } = await withBystander({ upgrade: () => { upgrades++; return { accept: true }; } });
    const raw = await RawH2.connect(s.port, cleanup);
    const burst: Buffer[] = [];
    for (let i = 0; i < 5000; i++) {
      const id = 1 + 2 * i;
      burst.push(frame(FRAME.HEADERS, FLAG.END_HEADERS, id, connectBlock(s.authority)), frame(FRAME.RST_STREAM, 0, id, Buffer.from([0, 0, 0, 8])));
    }
    raw.write(...burst);
    const code = await raw.closedWith();
    expect([ENHANCE_YOUR_CALM, INTERNAL_ERROR]).toContain(code);  // nghttp2's reset rate limit answers INTERNAL_ERROR
    // At most kMaxNewStreamsPerTurn requests per loop turn reach the application; nghttp2's reset
    // rate limit (a burst of 1000) ends the connection within a few turns.
    expect(upgrades).toBeLessThanOrEqual(1 + 1200);
    await stillFine();
    await waitUntil(() => s.wss.clients.size === 1, 'only the bystander left');
  });

  it('a CONTINUATION flood (CVE-2024-27316 class) ends that connection', async () => {
    const { s, stillFine } = await withBystander();
    const raw = await RawH2.connect(s.port, cleanup);
    const junk = headerBlock([['x-filler', 'a'.repeat(1000)]]);
    const flood = [frame(FRAME.HEADERS, 0, 1, connectBlock(s.authority))];
    for (let i = 0; i < 2000; i++) flood.push(frame(FRAME.CONTINUATION, 0, 1, junk));
    raw.write(...flood);
    expect(await raw.closedWith()).toBe(ENHANCE_YOUR_CALM);  // nghttp2's limit of 8 CONTINUATIONs
    await stillFine();
  });

  it('PING and SETTINGS floods whose answers are never read end that connection', async () => {
    const { s, stillFine } = await withBystander();
    for (const make of [(i: number) => frame(FRAME.PING, 0, 0, Buffer.alloc(8, i & 255)), () => frame(FRAME.SETTINGS, 0, 0)]) {
      const raw = await RawH2.connect(s.port, cleanup);
      raw.sock.pause();  // never read the acknowledgements
      const flood: Buffer[] = [];
      for (let i = 0; i < 50_000; i++) flood.push(make(i));
      raw.write(...flood);
      raw.sock.resume();
      const code = await raw.closedWith();
      expect(code).toBe(ENHANCE_YOUR_CALM);
    }
    await stillFine();
  });

  it('a header block over maxHeaderSize is refused (431) and the connection goes on', async () => {
    const { s, stillFine } = await withBystander({ maxHeaderSize: 4096 });
    const raw = await RawH2.connect(s.port, cleanup);
    raw.write(frame(FRAME.HEADERS, FLAG.END_HEADERS, 1, connectBlock(s.authority, '/', [['x-big', 'b'.repeat(8000)]])));
    const answer = await raw.until((f) => (f.type === FRAME.HEADERS || f.type === FRAME.RST_STREAM) && f.stream === 1, 'an answer to the big block');
    if (answer.type === FRAME.RST_STREAM) expect(answer.payload.readUInt32BE(0)).not.toBe(NO_ERROR);  // nghttp2 may refuse it first
    raw.write(frame(FRAME.HEADERS, FLAG.END_HEADERS, 3, connectBlock(s.authority)));
    await raw.until((f) => f.type === FRAME.HEADERS && f.stream === 3, 'the next stream answered');
    await stillFine();
  });

  it('a refused stream whose request keeps its side open is reset with NO_ERROR after the answer (RFC 9113 §8.1)', async () => {
    const s = await server({ upgrade: () => ({ accept: false, status: 401 }) });
    const raw = await RawH2.connect(s.port, cleanup);
    raw.write(frame(FRAME.HEADERS, FLAG.END_HEADERS, 1, connectBlock(s.authority)));
    await raw.until((f) => f.type === FRAME.HEADERS && f.stream === 1 && (f.flags & FLAG.END_STREAM) !== 0, 'the 401 with END_STREAM');
    const rst = await raw.until((f) => f.type === FRAME.RST_STREAM && f.stream === 1, 'RST_STREAM');
    expect(rst.payload.readUInt32BE(0)).toBe(NO_ERROR);
    raw.write(frame(FRAME.DATA, 0, 1, Buffer.from('ignored')));  // late data on a closed stream: ignored, not fatal
    raw.write(frame(FRAME.HEADERS, FLAG.END_HEADERS, 3, connectBlock(s.authority)));
    await raw.until((f) => f.type === FRAME.HEADERS && f.stream === 3, 'the next stream answered');
  });

  it('a peer that never opens its receive window holds at most maxBackpressure: sends are dropped, not queued forever', async () => {
    const s = await server({ maxBackpressure: 256 * 1024 });
    const h = await h2Connect(s.url, cleanup, { settings: { initialWindowSize: 0 } });
    const ws = await H2WebSocket.open(h, s.authority, '/');
    await waitUntil(() => s.sockets.length === 1, 'socket');
    const sock = s.sockets[0]!;
    const results: string[] = [];
    for (let i = 0; i < 100; i++) results.push(sock.send(Buffer.alloc(16 * 1024)));
    expect(results).toContain('dropped');
    expect(sock.bufferedAmount).toBeLessThanOrEqual(256 * 1024 + 16 * 1024 + 64);
    expect(ws.body.length).toBe(0);
  });
});

const missing = opensslMissing();
const skipTls = missing !== null && !process.env.CI ? missing : null;

describe.skipIf(skipTls)('HTTP/2 over TLS (ALPN h2)', () => {
  it('selects h2 by ALPN on the TLS port, beside http/1.1 clients', async () => {
    const f = tlsFixtures();
    const s = await server({ http2Cleartext: undefined, tls: { key: f.server.key, cert: f.server.cert } });
    const h = await h2Connect(`https://localhost:${s.port}`, cleanup, { ca: f.ca.cert });
    expect(h.session.alpnProtocol).toBe('h2');
    const ws = await H2WebSocket.open(h, `localhost:${s.port}`, '/secure', {}, 'https');
    expect(ws.status).toBe(200);
    ws.text('encrypted');
    expect((await ws.frame()).payload.toString()).toBe('encrypted');
    expect(s.requests[0]!.secure).toBe(true);
    expect(s.requests[0]!.httpVersion).toBe('2');
    const h1 = await lib.connect(`wss://localhost:${s.port}/`, { ca: f.ca.cert });
    cleanup.add(h1, (w) => w.terminate());
    const reply = next<[string]>(h1, 'message');
    h1.send('h1 over tls');
    expect((await reply)[0]).toBe('h1 over tls');
    expect(s.requests[1]!.httpVersion).toBe('1.1');
  });

  it('without http2, ALPN h2 is not offered', async () => {
    const f = tlsFixtures();
    const wss = cleanup.add(new lib.WebSocketServer({ port: 0, host: '127.0.0.1', tls: { key: f.server.key, cert: f.server.cert } }), (x) => x.close());
    await next(wss, 'listening');
    const tls = await import('node:tls');
    const sock = cleanup.add(tls.connect({ host: '127.0.0.1', port: (wss.address() as net.AddressInfo).port, ca: f.ca.cert, servername: 'localhost', ALPNProtocols: ['h2', 'http/1.1'] }), (x) => x.destroy());
    await once(sock, 'secureConnect');
    expect(sock.alpnProtocol).toBe('http/1.1');
  });
});
