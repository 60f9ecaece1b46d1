// Our HTTP/2 WebSocket client (connectHttp2 + session.websocket, RFC 8441): against our server,
// and against Node's http2 server speaking WebSocket frames by hand (an independent peer for both
// the HTTP/2 layer and the WebSocket framing): many WebSockets on one connection, negotiation,
// refusals with status and body, resets, GOAWAY, ALPN and SETTINGS failures.
import { once } from 'node:events';
import * as http2 from 'node:http2';
import type * as net from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';

import { Cleanup, closedPort, loadPackage, next, parseFrame, waitUntil, within } from './helpers';
import { opensslMissing, tlsFixtures } from './tls-fixtures';

const lib = loadPackage();
const cleanup = new Cleanup();
afterEach(() => cleanup.run());

type Options = Record<string, unknown>;
type Ws = import('sockudo-ws').WebSocket;
type Request = import('sockudo-ws').UpgradeRequest;

async function ourServer(options: Options = {}) {
  const wss = cleanup.add(new lib.WebSocketServer({ port: 0, host: '127.0.0.1', http2: true, http2Cleartext: true, ...options }), (s) => s.close());
  await next(wss, 'listening');
  const requests: Request[] = [];
  const sockets: Ws[] = [];
  wss.on('connection', (ws, req) => {
    requests.push(req);
    sockets.push(ws);
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
  return { wss, port: (wss.address() as net.AddressInfo).port, requests, sockets };
}

/** An unmasked server frame (RFC 6455 §5.2). */
function serverFrame(opcode: number, payload: Buffer): Buffer {
  const n = payload.length;
  let head: Buffer;
  if (n < 126) head = Buffer.from([0x80 | opcode, n]);
  else if (n < 65536) head = Buffer.from([0x80 | opcode, 126, n >> 8, n & 255]);
  else {
    head = Buffer.alloc(10);
    head[0] = 0x80 | opcode;
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(n), 2);
  }
  return Buffer.concat([head, payload]);
}

/**
 * Node's http2 server answering extended CONNECT by `answer` and, for a 200, echoing WebSocket
 * frames by hand (client frames must be masked; a close is answered and the stream ended).
 */
async function nodeH2(answer: (headers: http2.IncomingHttpHeaders) => { status: number; headers?: Record<string, string>; body?: string } = () => ({ status: 200 }),
  settings: http2.Settings = { enableConnectProtocol: true }) {
  const seen: http2.IncomingHttpHeaders[] = [];
  const unmasked: boolean[] = [];
  /** Per stream as it closed: whether our END_STREAM arrived, after which frame, and the RST_STREAM code (0: none). */
  const ends: { ended: boolean; lastOpcode: number | null; rstCode: number }[] = [];
  const sessions = new Set<http2.ServerHttp2Session>();
  const server = http2.createServer({ settings });
  server.on('session', (s) => sessions.add(s));
  server.on('stream', (stream, headers) => {
    seen.push(headers);
    const a = answer(headers);
    if (a.status !== 200) {
      stream.respond({ ':status': a.status, ...a.headers }, { endStream: !a.body });
      if (a.body) stream.end(a.body);
      return;
    }
    stream.respond({ ':status': 200, ...a.headers });
    let buf = Buffer.alloc(0);
    let ended = false;
    let lastOpcode: number | null = null;
    let closeSent = false;
    stream.on('end', () => { ended = true; });
    stream.on('close', () => ends.push({ ended, lastOpcode, rstCode: stream.rstCode ?? 0 }));
    stream.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (let r = parseFrame(buf); r !== null; r = parseFrame(buf)) {
        buf = buf.subarray(r.size);
        unmasked.push(!r.frame.masked);
        lastOpcode = r.frame.opcode;
        if (r.frame.opcode === 8) {
          if (closeSent) stream.end();
          else stream.end(serverFrame(8, r.frame.payload));
          return;
        }
        if (r.frame.opcode === 1 && r.frame.payload.toString() === 'close me') {
          // The server closes first (its close frame, END_STREAM only after the client's answer).
          closeSent = true;
          stream.write(serverFrame(8, Buffer.from([0x0f, 0xa2, ...Buffer.from('node bye')])));
          continue;
        }
        stream.write(serverFrame(r.frame.opcode, r.frame.payload));
      }
    });
    stream.on('error', () => {});
  });
  cleanup.add(server, (x) => new Promise<void>((resolve) => {
    for (const s of sessions) s.destroy();
    x.close(() => resolve());
  }));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as net.AddressInfo).port, seen, unmasked, ends };
}

describe('connectHttp2 against our server', () => {
  it('opens many WebSockets on one connection, each echoing on its own', async () => {
    const s = await ourServer();
    const session = cleanup.add(await lib.connectHttp2(`http://127.0.0.1:${s.port}`), (x) => x.close());
    const sockets = await Promise.all(Array.from({ length: 10 }, (_, i) => session.websocket(`/s${i}?n=${i}`)));
    sockets.forEach((ws) => cleanup.add(ws, (w) => w.terminate()));
    expect(s.requests.map((r) => r.httpVersion)).toEqual(Array(10).fill('2'));
    expect(new Set(s.requests.map((r) => r.remotePort)).size).toBe(1);  // one TCP connection
    const replies = await Promise.all(sockets.map((ws, i) => {
      const reply = next<[string]>(ws, 'message');
      ws.send(`to ${i}`);
      return reply;
    }));
    replies.forEach(([m], i) => expect(m).toBe(`to ${i}`));
    const closed = next<[number, string]>(s.sockets[3]!, 'close');
    sockets[3]!.close(4003, 'just me');
    expect(await closed).toEqual([4003, 'just me']);
    const still = next<[string]>(sockets[4]!, 'message');
    sockets[4]!.send('others go on');
    expect((await still)[0]).toBe('others go on');
  });

  it('negotiates the subprotocol and permessage-deflate; compressed messages both ways', async () => {
    const s = await ourServer({ compression: 'dedicated', compressionThreshold: 0 });
    const session = cleanup.add(await lib.connectHttp2(`http://127.0.0.1:${s.port}`, { compression: 'dedicated', compressionThreshold: 0 }), (x) => x.close());
    const ws = cleanup.add(await session.websocket('/', { protocols: ['v2', 'v1'], headers: { 'X-Who': 'me' } }), (w) => w.terminate());
    expect(ws.protocol).toBe('v2');
    expect(ws.extensions).toMatch(/^permessage-deflate/);
    expect(s.requests[0]!.headers['x-who']).toBe('me');
    const text = 'squeeze '.repeat(1000);
    const reply = next<[string]>(ws, 'message');
    ws.send(text);
    expect((await reply)[0]).toBe(text);
    expect(lib.deflateMemory?.().compressions ?? 1).toBeGreaterThan(0);
  });

  it('a refusal rejects with the status, headers and body; the session stays usable', async () => {
    const s = await ourServer({ upgrade: (req: Request) => (req.path === '/no' ? { accept: false, status: 403, headers: { 'X-Why': 'policy' }, body: 'not you' } : { accept: true }) });
    const session = cleanup.add(await lib.connectHttp2(`http://127.0.0.1:${s.port}`), (x) => x.close());
    const refused = await session.websocket('/no').then(() => null, (e: unknown) => e as import('sockudo-ws').HandshakeError);
    expect(refused).toBeInstanceOf(lib.HandshakeError);
    expect(refused!.status).toBe(403);
    expect(refused!.headers['x-why']).toBe('policy');
    expect(String(refused!.body)).toBe('not you');
    const ok = cleanup.add(await session.websocket('/yes'), (w) => w.terminate());
    expect(ok.readyState).toBe(1);
  });

  it('session.close() sends GOAWAY: open WebSockets go on until closed, then the session ends; no native object is left', async () => {
    const { nativeBinding } = await import('./helpers');
    const base = nativeBinding().socketCount();
    const s = await ourServer();
    const session = await lib.connectHttp2(`http://127.0.0.1:${s.port}`);
    const ws = await session.websocket('/');
    const closing = session.close();
    await expect(session.websocket('/late')).rejects.toThrow();
    const reply = next<[string]>(ws, 'message');
    ws.send('still open');
    expect((await reply)[0]).toBe('still open');
    ws.close(1000);
    await within(closing, 5000, 'the session to end');
    expect(session.closed).toBe(true);
    await s.wss.close();
    // ≤: connections of earlier tests may still be finishing when `base` was read.
    await waitUntil(() => nativeBinding().socketCount() <= base, 'native sockets and sessions gone');
  });

  it('over TLS: ALPN h2 with a verified certificate; a server without http2 fails with ERR_SOCKUDO_WS_HTTP2_NOT_NEGOTIATED', async () => {
    if (opensslMissing() !== null && !process.env.CI) return;
    const f = tlsFixtures();
    const s = await ourServer({ http2Cleartext: undefined, tls: { key: f.server.key, cert: f.server.cert } });
    const session = cleanup.add(await lib.connectHttp2(`https://localhost:${s.port}`, { ca: f.ca.cert }), (x) => x.close());
    const ws = cleanup.add(await session.websocket('/tls'), (w) => w.terminate());
    const reply = next<[string]>(ws, 'message');
    ws.send('encrypted');
    expect((await reply)[0]).toBe('encrypted');
    expect(s.requests[0]!.secure).toBe(true);
    const plain = cleanup.add(new lib.WebSocketServer({ port: 0, host: '127.0.0.1', tls: { key: f.server.key, cert: f.server.cert } }), (x) => x.close());
    await next(plain, 'listening');
    const port = (plain.address() as net.AddressInfo).port;
    await expect(lib.connectHttp2(`https://localhost:${port}`, { ca: f.ca.cert })).rejects.toMatchObject({ code: 'ERR_SOCKUDO_WS_HTTP2_NOT_NEGOTIATED' });
    await expect(lib.connectHttp2(`https://localhost:${s.port}`)).rejects.toMatchObject({ code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
  });

  it('connect failures: refused, and a server that never answers (handshakeTimeout)', async () => {
    await expect(lib.connectHttp2(`http://127.0.0.1:${await closedPort()}`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    const net = await import('node:net');
    const silent = net.createServer((c) => c.on('error', () => {}));
    cleanup.add(silent, (x) => new Promise<void>((r) => x.close(() => r())));
    const conns: net.Socket[] = [];
    silent.on('connection', (c) => conns.push(c));
    cleanup.add(conns, (list) => list.forEach((c) => c.destroy()));
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    await expect(lib.connectHttp2(`http://127.0.0.1:${(silent.address() as net.AddressInfo).port}`, { handshakeTimeout: 300 })).rejects.toMatchObject({ code: 'ETIMEDOUT' });
  });
});

describe('connect(url, { http2: true })', () => {
  it('uses HTTP/2 when the server accepts extended CONNECT (ws.httpVersion 2); the connection closes with the WebSocket', async () => {
    const s = await ourServer();
    const ws = await lib.connect(`ws://127.0.0.1:${s.port}/over?h=2`, { http2: true, protocols: ['p'] });
    expect(ws.httpVersion).toBe('2');
    expect(s.requests[0]!.httpVersion).toBe('2');
    expect(s.requests[0]!.url).toBe('/over?h=2');
    expect(s.sockets[0]!.httpVersion).toBe('2');
    const reply = next<[string]>(ws, 'message');
    ws.send('via h2');
    expect((await reply)[0]).toBe('via h2');
    ws.close(1000);
    await next(ws, 'close');
  });

  it('falls back to HTTP/1.1 when the server does not speak HTTP/2 (cleartext preface refused, or ALPN http/1.1)', async () => {
    const plain = cleanup.add(new lib.WebSocketServer({ port: 0, host: '127.0.0.1' }), (x) => x.close());
    await next(plain, 'listening');
    plain.on('connection', (c) => c.on('message', (m) => c.send(m)));
    const ws = cleanup.add(await lib.connect(`ws://127.0.0.1:${(plain.address() as net.AddressInfo).port}/`, { http2: true }), (w) => w.terminate());
    expect(ws.httpVersion).toBe('1.1');
    const reply = next<[string]>(ws, 'message');
    ws.send('via h1');
    expect((await reply)[0]).toBe('via h1');
    if (opensslMissing() !== null && !process.env.CI) return;
    const f = tlsFixtures();
    const tlsPlain = cleanup.add(new lib.WebSocketServer({ port: 0, host: '127.0.0.1', tls: { key: f.server.key, cert: f.server.cert } }), (x) => x.close());
    await next(tlsPlain, 'listening');
    const wss = cleanup.add(await lib.connect(`wss://localhost:${(tlsPlain.address() as net.AddressInfo).port}/`, { http2: true, ca: f.ca.cert }), (w) => w.terminate());
    expect(wss.httpVersion).toBe('1.1');
  });
});

describe('connectHttp2 against Node\'s http2 server with hand-made frames (an independent peer)', () => {
  it('sends a valid extended CONNECT and masked frames; echo and close work', async () => {
    const n = await nodeH2((h) => ({ status: 200, headers: h['sec-websocket-protocol'] ? { 'sec-websocket-protocol': 'b' } : {} }));
    const session = cleanup.add(await lib.connectHttp2(`http://127.0.0.1:${n.port}`), (x) => x.close());
    const ws = await session.websocket('/x?y=1', { protocols: ['a', 'b'], origin: 'http://o.test' });
    expect(ws.protocol).toBe('b');
    const h = n.seen[0]!;
    expect(h[':method']).toBe('CONNECT');
    expect(h[':protocol']).toBe('websocket');
    expect(h[':scheme']).toBe('http');
    expect(h[':path']).toBe('/x?y=1');
    expect(h[':authority']).toBe(`127.0.0.1:${n.port}`);
    expect(h['sec-websocket-version']).toBe('13');
    expect(h['sec-websocket-protocol']).toBe('a, b');
    expect(h.origin).toBe('http://o.test');
    expect(h['sec-websocket-key']).toBeUndefined();
    const reply = next<[Buffer, boolean]>(ws, 'message');
    ws.send(Buffer.alloc(70_000, 3));
    const [data, isBinary] = await reply;
    expect(isBinary).toBe(true);
    expect((data as Buffer).equals(Buffer.alloc(70_000, 3))).toBe(true);
    expect(n.unmasked).toEqual([false]);  // our client masks (RFC 6455 §5.3)
    const closed = next<[number, string]>(ws, 'close');
    ws.close(4321, 'bye');
    expect(await closed).toEqual([4321, 'bye']);
  });

  it.each([
    ['we close: our END_STREAM goes with our close frame', 'ours', 4321],
    ['the server closes: our END_STREAM goes with our answer', 'theirs', 4002],
  ])('a clean close ends the stream with END_STREAM both ways, never RST_STREAM (%s)', async (_name, who, code) => {
    // RFC 8441 §5: END_STREAM is the TCP close. Our client's stream once ended with RST_STREAM
    // CANCEL after every close whose frames had been acknowledged.
    const n = await nodeH2();
    const session = cleanup.add(await lib.connectHttp2(`http://127.0.0.1:${n.port}`), (x) => x.close());
    const ws = await session.websocket('/');
    const closed = next<[number, string]>(ws, 'close');
    if (who === 'ours') ws.close(4321, 'bye');
    else ws.send('close me');
    expect((await closed)[0]).toBe(code);
    await waitUntil(() => n.ends.length === 1, 'the server stream to close');
    expect(n.ends).toEqual([{ ended: true, lastOpcode: 8, rstCode: 0 }]);
  });

  it('rejects a 2xx that selects a subprotocol we did not offer, and a server without extended CONNECT', async () => {
    const n = await nodeH2(() => ({ status: 200, headers: { 'sec-websocket-protocol': 'zzz' } }));
    const session = cleanup.add(await lib.connectHttp2(`http://127.0.0.1:${n.port}`), (x) => x.close());
    await expect(session.websocket('/', { protocols: ['a'] })).rejects.toMatchObject({ code: 'WS_ERR_HANDSHAKE_BAD_PROTOCOL', status: 200 });
    const plain = await nodeH2(undefined, {});
    await expect(lib.connectHttp2(`http://127.0.0.1:${plain.port}`)).rejects.toMatchObject({ code: 'ERR_SOCKUDO_WS_HTTP2_NO_EXTENDED_CONNECT' });
  });

  it('a stream reset by the server closes that WebSocket with 1006', async () => {
    let streamRef: http2.ServerHttp2Stream | undefined;
    const n = await nodeH2(() => ({ status: 200 }));
    n.server.on('stream', (s) => { streamRef = s; });
    const session = cleanup.add(await lib.connectHttp2(`http://127.0.0.1:${n.port}`), (x) => x.close());
    const ws = await session.websocket('/');
    const closed = next<[number, string]>(ws, 'close');
    streamRef!.close(http2.constants.NGHTTP2_CANCEL);
    expect((await closed)[0]).toBe(1006);
    const again = cleanup.add(await session.websocket('/'), (w) => w.terminate());
    expect(again.readyState).toBe(1);
  });
});

