// Regressions from the review and hostile-peer trial (issue 13): each test failed before its fix.
// Numbers in the describe names are the item numbers.
import { once } from 'node:events';
import { createRequire } from 'node:module';
import * as https from 'node:https';
import * as net from 'node:net';
import * as tlsMod from 'node:tls';
import { Duplex } from 'node:stream';
import * as zlib from 'node:zlib';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket as WsClient } from 'ws';

import { Cleanup, clientFrame, gcFunction, loadPackage, next, selfSignedCert, upgradeRequest, waitUntil, within } from './helpers';

const lib = loadPackage();
const { WebSocketServer } = lib;
type WS = InstanceType<typeof lib.WebSocket>;
type Server = InstanceType<typeof WebSocketServer>;

const require = createRequire(__filename);
const cleanup = new Cleanup();
afterEach(() => cleanup.run());

let cert: { key: Buffer; cert: Buffer };
beforeAll(() => {
  cert = selfSignedCert();
});

const MiB = 1024 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function listen(options: Record<string, unknown> = {}): Promise<{ wss: Server; port: number; url: string }> {
  const wss = cleanup.add(new WebSocketServer({ port: 0, host: '127.0.0.1', ...options }), (s) => s.close());
  await once(wss, 'listening');
  const port = (wss.address() as net.AddressInfo).port;
  return { wss, port, url: `ws://127.0.0.1:${port}` };
}

/** An https server whose upgrades go to a noServer WebSocketServer (TLS sockets are Duplex links). */
async function tlsServer(options: Record<string, unknown> = {}) {
  const server = https.createServer(cert);
  cleanup.add(server, (s) => { s.closeAllConnections(); return new Promise((r) => s.close(() => r(undefined))); });
  const wss = cleanup.add(new WebSocketServer({ noServer: true, ...options }), (s) => s.close());
  const sockets: Duplex[] = [];
  server.on('upgrade', (req, socket: Duplex, head: Buffer) => {
    sockets.push(socket);
    wss.handleUpgrade(req, socket, head).catch(() => {});
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  return { wss, port, sockets, url: `wss://127.0.0.1:${port}` };
}

/** A raw client socket that has completed the upgrade (the 101 is consumed). */
async function rawUpgraded(port: number, extra = ''): Promise<{ sock: net.Socket; rest: Buffer[]; head: string }> {
  const sock = cleanup.add(net.connect(port, '127.0.0.1'), (s) => s.destroy());
  await once(sock, 'connect');
  sock.write(upgradeRequest('/', extra));
  let buf = Buffer.alloc(0);
  const rest: Buffer[] = [];
  const head = await within(new Promise<string>((resolve) => {
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      sock.off('data', onData);
      if (buf.length > end + 4) rest.push(buf.subarray(end + 4));
      sock.on('data', (more: Buffer) => rest.push(more));
      resolve(buf.subarray(0, end).toString('latin1'));
    };
    sock.on('data', onData);
  }), 5000, '101');
  return { sock, rest, head };
}

/** A permessage-deflate payload (RFC 7692 §7.2.1: raw DEFLATE, sync flush, tail removed). */
function deflatePayload(data: Buffer): Buffer {
  const out = zlib.deflateRawSync(data, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  return out.subarray(0, out.length - 4);
}

/** A masked client frame with RSV1 set (a compressed message). */
function compressedFrame(opcode: number, data: Buffer): Buffer {
  const f = clientFrame(opcode, deflatePayload(data));
  f[0] = f[0]! | 0x40;
  return f;
}

describe('1. inflate work is bounded per connection per loop turn', () => {
  it('a decompression bomb is inflated over many loop turns: timers and other sockets run meanwhile, then 1009', async () => {
    const { port, wss } = await listen({ compression: 'dedicated' });
    let serverError = '';
    wss.on('connection', (ws: WS) => ws.on('error', (e) => { serverError = (e as { code: string }).code; }));
    const { sock, rest } = await rawUpgraded(port, 'Sec-WebSocket-Extensions: permessage-deflate\r\n');
    // 63 MiB of zeros: about 63 KiB compressed, just under the default 64 MiB maxPayloadLength,
    // so all of it is inflated (and then 1009 comes from a second bomb that goes over).
    const bomb = compressedFrame(0x2, Buffer.alloc(63 * MiB));
    const over = compressedFrame(0x2, Buffer.alloc(65 * MiB));
    let turns = 0;
    let stop = false;
    const tick = () => { turns++; if (!stop) setImmediate(tick); };
    sock.write(Buffer.concat([bomb, over]));
    setImmediate(tick);
    await within(once(sock, 'close'), 20_000, 'the server closes the bombing connection');
    stop = true;
    const frames = Buffer.concat(rest);
    // The server's close frame: opcode 8, code 1009.
    const at = frames.indexOf(Buffer.from([0x88, 0x02, 0x03, 0xf1]));
    expect(at).toBeGreaterThanOrEqual(0);
    expect(serverError).toBe('WS_ERR_UNSUPPORTED_MESSAGE_LENGTH');
    // 128 MiB of inflate in 256 KiB slices is hundreds of loop turns; unbounded, it was one.
    expect(turns).toBeGreaterThan(100);
  });

  it('a large compressed message still arrives whole and in order with what follows it', async () => {
    const { port, wss } = await listen({ compression: 'shared' });
    const got: (string | Buffer)[] = [];
    wss.on('connection', (ws: WS) => ws.on('message', (d) => got.push(d as string | Buffer)));
    const { sock } = await rawUpgraded(port, 'Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover\r\n');
    const big = Buffer.alloc(5 * MiB);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7 + (i >> 12)) & 0xff;
    sock.write(Buffer.concat([compressedFrame(0x2, big), clientFrame(0x1, 'after'), compressedFrame(0x1, Buffer.from('z'.repeat(100_000)))]));
    await waitUntil(() => got.length === 3, 'three messages', 10_000);
    expect(Buffer.isBuffer(got[0]) && (got[0] as Buffer).equals(big)).toBe(true);
    expect(got[1]).toBe('after');
    expect(got[2]).toBe('z'.repeat(100_000));
  });
});

describe('2. a paused socket is not killed by its own liveness timers', () => {
  it('pause() with pingInterval/pongTimeout: the connection with a live peer stays open, and works after resume()', async () => {
    const { wss, url } = await listen({ pingInterval: 300, pongTimeout: 200, idleTimeout: 600 });
    const conn = next<[WS]>(wss, 'connection');
    const c = cleanup.add(new WsClient(url), (x) => x.terminate());
    await next(c, 'open');
    const [ws] = await conn;
    ws.pause();
    let closed: number | null = null;
    ws.on('close', (code) => { closed = code; });
    c.send('sent while paused');
    await sleep(1500);
    expect(closed).toBeNull();
    expect(ws.readyState).toBe(ws.OPEN);
    const msg = next<[string]>(ws, 'message');
    ws.resume();
    expect((await msg)[0]).toBe('sent while paused');
    // After resume() the liveness clocks run again: a silent (non-answering) peer is detected.
    expect(closed).toBeNull();
  });

  it('the async iterator pausing a slow consumer does not let idleTimeout close the connection', async () => {
    const { wss, url } = await listen({ idleTimeout: 500, autoPing: false });
    const conn = next<[WS]>(wss, 'connection');
    const c = cleanup.add(new WsClient(url), (x) => x.terminate());
    await next(c, 'open');
    const [ws] = await conn;
    let closed: number | null = null;
    ws.on('close', (code) => { closed = code; });
    for (let i = 0; i < 40; i++) c.send(`m${i}`);
    const seen: string[] = [];
    for await (const m of ws) {
      seen.push(m as string);
      if (seen.length === 1) await sleep(1200);  // the queue fills: the socket is paused for longer than idleTimeout
      if (seen.length === 40) break;
    }
    expect(seen).toEqual(Array.from({ length: 40 }, (_, i) => `m${i}`));
    expect(closed).toBeNull();
    expect(ws.readyState).toBe(ws.OPEN);
  });
});

describe('3. publish honours maxBackpressure on Duplex (TLS) connections, without JS per message', () => {
  it('a wss subscriber that stops reading: later publishes are dropped, bufferedAmount stays bounded', async () => {
    const { wss, url } = await tlsServer({ maxBackpressure: MiB });
    const conn = next<[WS]>(wss, 'connection');
    const c = cleanup.add(new WsClient(url, { rejectUnauthorized: false }), (x) => x.terminate());
    await next(c, 'open');
    const [ws] = await conn;
    ws.subscribe('feed');
    (c as unknown as { _socket: net.Socket })._socket.pause();
    const payload = Buffer.alloc(MiB, 7);
    let delivered = 0;
    for (let i = 0; i < 300; i++) {
      delivered += wss.publish('feed', payload);
      if (i % 10 === 9) await new Promise((r) => setImmediate(r));
    }
    expect(delivered).toBeLessThan(300);
    // What waits natively is bounded by maxBackpressure (+ the message that crossed it), plus
    // what the TLS socket itself held at the last write.
    expect(ws.bufferedAmount).toBeLessThan(3 * MiB);
    expect(ws.send(payload)).toBe('dropped');
    // Reading again drains everything that was accepted, in order, and the connection still works.
    (c as unknown as { _socket: net.Socket })._socket.resume();
    let received = 0;
    c.on('message', () => { received++; });
    await waitUntil(() => received === delivered, `${delivered} messages`, 20_000);
    ws.send('after');
    await waitUntil(() => received === delivered + 1, 'one more', 5000);
  });
});

describe('4. re-entrant receive: a WebSocket tunnelled over a WebSocket', () => {
  it('bytes fed to a Duplex connection from inside another connection\'s message handler do not corrupt it', async () => {
    const inner = cleanup.add(new WebSocketServer({ noServer: true, closeTimeout: 100 }), (s) => s.close());
    const innerMessages: string[] = [];
    inner.on('connection', (ws: WS) => ws.on('message', (d) => innerMessages.push(String(d))));
    const { port, wss } = await listen({ compression: 'shared' });
    const outerMessages: string[] = [];
    let outerError = '';
    wss.on('connection', (outer: WS) => {
      // The tunnel: the inner connection's bytes travel as binary messages of the outer one.
      const tunnel = new Duplex({
        read() {},
        write(chunk: Buffer, _enc, cb) { outer.send(chunk, { compress: false }); cb(); },
      });
      const req = { method: 'GET', url: '/', httpVersion: '1.1', rawHeaders: upgradeRequest().split('\r\n').slice(1, -2).flatMap((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)]) };
      inner.handleUpgrade(req as never, tunnel).catch(() => {});
      outer.on('message', (d, isBinary) => {
        if (isBinary) tunnel.push(d as Buffer);  // synchronously into the inner connection
        else outerMessages.push(d as string);
      });
      outer.on('error', (e) => { outerError = (e as { code: string }).code; });
    });
    const { sock, rest } = await rawUpgraded(port, 'Sec-WebSocket-Extensions: permessage-deflate\r\n');
    await waitUntil(() => Buffer.concat(rest).includes('101 Switching Protocols'), 'the inner 101 through the tunnel');
    // One read: a compressed outer message carrying 16 KiB of inner frames (inflated over the
    // loop's receive buffer, where the outer frame after it still waits), then a plain outer text.
    const innerBytes = clientFrame(0x1, 'i'.repeat(16 * 1024));
    sock.write(Buffer.concat([compressedFrame(0x2, innerBytes), clientFrame(0x1, 'outer after the tunnel')]));
    await waitUntil(() => outerMessages.length === 1 && innerMessages.length === 1, 'both messages', 5000).catch(() => {});
    expect(outerError).toBe('');
    expect(outerMessages).toEqual(['outer after the tunnel']);
    expect(innerMessages).toEqual(['i'.repeat(16 * 1024)]);
  });
});

describe('5. Duplex bytes during an async upgrade decision', () => {
  it('frames that arrive while the upgrade hook is pending are delivered after accept, not dropped', async () => {
    const { wss, port } = await tlsServer({
      upgrade: async () => { await sleep(300); return { accept: true }; },
    });
    const got: string[] = [];
    wss.on('connection', (ws: WS) => ws.on('message', (d) => got.push(String(d))));
    const sock = cleanup.add(tlsMod.connect({ port, host: '127.0.0.1', rejectUnauthorized: false }), (s) => s.destroy());
    await once(sock, 'secureConnect');
    sock.write(upgradeRequest());
    await sleep(100);  // the request head is in, the decision pending: now the first frames
    sock.write(Buffer.concat([clientFrame(0x1, 'early one'), clientFrame(0x1, 'early two')]));
    await waitUntil(() => got.length === 2, 'the early messages', 5000).catch(() => {});
    expect(got).toEqual(['early one', 'early two']);
  });

  it('a peer that floods during the decision is paused (bounded), and nothing is lost', async () => {
    let decide: () => void = () => {};
    const { wss, port, sockets } = await tlsServer({
      upgrade: () => new Promise((resolve) => { decide = () => resolve({ accept: true }); }),
    });
    let bytes = 0;
    let count = 0;
    wss.on('connection', (ws: WS) => ws.on('message', (d) => { bytes += (d as Buffer).length; count++; }));
    const sock = cleanup.add(tlsMod.connect({ port, host: '127.0.0.1', rejectUnauthorized: false }), (s) => s.destroy());
    await once(sock, 'secureConnect');
    sock.write(upgradeRequest());
    await waitUntil(() => sockets.length === 1, 'the upgrade');
    const frame = clientFrame(0x2, Buffer.alloc(64 * 1024, 1));
    for (let i = 0; i < 64; i++) sock.write(frame);  // 4 MiB while the application decides
    await waitUntil(() => sockets[0]!.isPaused(), 'the server stops reading the TLS socket', 5000);
    decide();
    await waitUntil(() => count === 64, '64 messages', 10_000);
    expect(bytes).toBe(64 * 64 * 1024);
  });
});

describe('14. terminate() inside "connection"', () => {
  it('the client still sees the 101 (open), then 1006 — not a failed handshake', async () => {
    const { wss, url } = await listen();
    wss.on('connection', (ws: WS) => ws.terminate());
    const c = cleanup.add(new WsClient(url), (x) => x.terminate());
    const events: string[] = [];
    c.on('open', () => events.push('open'));
    c.on('error', (e) => events.push(`error ${e.message}`));
    c.on('unexpected-response', () => events.push('unexpected-response'));
    const [code] = await next<[number]>(c, 'close');
    expect(events).toEqual(['open']);
    expect(code).toBe(1006);
  });
});

describe('6. a queued borrowed payload cannot be freed under us', () => {
  it('transferring the ArrayBuffer of a message waiting under backpressure does not change what is sent', async () => {
    const gc = gcFunction();
    const { wss, url } = await listen({ maxBackpressure: 64 * MiB });
    const conn = next<[WS]>(wss, 'connection');
    const c = cleanup.add(new WsClient(url), (x) => x.terminate());
    await next(c, 'open');
    const [ws] = await conn;
    const sock = (c as unknown as { _socket: net.Socket })._socket;
    sock.pause();
    // Fill the kernel buffers so the next messages wait in the output queue.
    const filler = Buffer.alloc(MiB, 1);
    while (ws.send(filler) !== 'backpressure') { /* until the kernel refuses */ }
    const sent: Buffer[] = [];
    for (let i = 0; i < 4; i++) {
      const ab = new ArrayBuffer(MiB);
      const view = new Uint8Array(ab);
      view.fill(0x40 + i);
      sent.push(Buffer.from(view));  // the expected bytes (a copy)
      expect(ws.send(view)).toBe('backpressure');
      // The application gives the memory away (a worker postMessage transfer does the same).
      const moved = structuredClone(ab, { transfer: [ab] });
      expect(ab.byteLength).toBe(0);
      new Uint8Array(moved).fill(0xee);  // the memory now holds something else, then is freed
    }
    gc?.();
    // Reuse freed memory with other bytes.
    const junk = Array.from({ length: 8 }, () => Buffer.alloc(MiB, 0xdd));
    expect(junk.length).toBe(8);
    const got: Buffer[] = [];
    c.on('message', (d: Buffer) => { if (d[0] !== 1) got.push(d); });
    sock.resume();
    await waitUntil(() => got.length === 4, 'the four messages', 20_000);
    for (let i = 0; i < 4; i++) expect(got[i]!.equals(sent[i]!)).toBe(true);
  });
});

describe('8. pings cross into JS only when someone listens', () => {
  it('a ping flood with no "ping" listener emits no ping events; a listener still gets every one', async () => {
    const { wss, port } = await listen();
    const conn = next<[WS]>(wss, 'connection');
    const { sock, rest } = await rawUpgraded(port);
    const [ws] = await conn;
    let emitted = 0;
    const emit = ws.emit.bind(ws);
    (ws as unknown as { emit: (e: string, ...a: unknown[]) => boolean }).emit = (e: string, ...a: unknown[]) => {
      if (e === 'ping' || e === 'pong') emitted++;
      return (emit as (e: string, ...a: unknown[]) => boolean)(e, ...a);
    };
    // Each flood ends with a text message: once it arrives, every control frame before it was handled.
    let syncs = 0;
    ws.on('message', () => { syncs++; });
    const flood = Buffer.concat([...Array.from({ length: 1000 }, () => Buffer.concat([clientFrame(0x9, 'p'), clientFrame(0xa, 'q')])), clientFrame(0x1, 'sync')]);
    sock.write(flood);
    await waitUntil(() => syncs === 1, 'the first flood');
    expect(emitted).toBe(0);
    await waitUntil(() => rest.length > 0, 'automatic pongs (native, listener or not)');
    const pings: string[] = [];
    const onPing = (d: Buffer) => pings.push(d.toString());
    ws.on('ping', onPing);
    let pongs = 0;
    ws.once('pong', () => { pongs++; });
    sock.write(flood);
    await waitUntil(() => syncs === 2, 'the second flood');
    expect(pings.length).toBe(1000);
    expect(pongs).toBe(1);
    ws.off('ping', onPing);
    const before = emitted;
    sock.write(flood);
    await waitUntil(() => syncs === 3, 'the third flood');
    expect(emitted).toBe(before);
  });
});

describe('13. size errors name the option and the numbers', () => {
  it('maxPayloadLength and maxFrameSize violations', async () => {
    const { wss, port } = await listen({ maxPayloadLength: 65536, maxFrameSize: 50_000 });
    const errors: string[] = [];
    wss.on('connection', (ws: WS) => ws.on('error', (e) => errors.push(e.message)));
    const a = await rawUpgraded(port);
    a.sock.write(Buffer.concat([clientFrame(0x2, Buffer.alloc(40_000), { fin: false }), clientFrame(0x0, Buffer.alloc(30_000))]));
    await waitUntil(() => errors.length === 1, 'the message error');
    const b = await rawUpgraded(port);
    b.sock.write(clientFrame(0x2, Buffer.alloc(60_000)));
    await waitUntil(() => errors.length === 2, 'the frame error');
    expect(errors).toEqual(['maxPayloadLength 65536 exceeded: 70000 bytes', 'maxFrameSize 50000 exceeded: a frame of 60000 bytes']);
  });

  it('a compressed message that inflates past maxPayloadLength says so', async () => {
    const { wss, port } = await listen({ maxPayloadLength: 1000, compression: 'shared' });
    const errors: string[] = [];
    wss.on('connection', (ws: WS) => ws.on('error', (e) => errors.push(e.message)));
    const { sock } = await rawUpgraded(port, 'Sec-WebSocket-Extensions: permessage-deflate\r\n');
    sock.write(compressedFrame(0x2, Buffer.alloc(5000)));
    await waitUntil(() => errors.length === 1, 'the error');
    expect(errors[0]).toBe('maxPayloadLength 1000 exceeded: the compressed message inflates to more than 1000 bytes');
  });
});

describe('14. a refused client can read the body the server sent', () => {
  it('HandshakeError.body: Content-Length bodies from the upgrade hook, and bodies ended by the close', async () => {
    const { url } = await listen({ upgrade: () => ({ accept: false, status: 401, headers: { 'X-Why': 'token' }, body: 'no token, no socket' }) });
    const err = await lib.connect(url).then(() => null, (e: unknown) => e as InstanceType<typeof lib.HandshakeError>);
    expect(err).toBeInstanceOf(lib.HandshakeError);
    expect(err!.status).toBe(401);
    expect(err!.headers['x-why']).toBe('token');
    expect(err!.body.toString()).toBe('no token, no socket');
    // A server that answers without Content-Length and closes: the body is what arrived.
    const raw = cleanup.add(net.createServer((s) => {
      s.once('data', () => { s.write('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\npart one, '); setTimeout(() => s.end('part two'), 50); });
    }), (s) => s.close());
    raw.listen(0, '127.0.0.1');
    await once(raw, 'listening');
    const err2 = await lib.connect(`ws://127.0.0.1:${(raw.address() as net.AddressInfo).port}`).then(() => null, (e: unknown) => e as InstanceType<typeof lib.HandshakeError>);
    expect(err2!.status).toBe(403);
    expect(err2!.body.toString()).toBe('part one, part two');
  });
});

describe('README: client masking keys come from the CSPRNG-fed pool (not a fixed or counting source)', () => {
  it('a real client\'s keys over 2,000 frames on 4 connections are distinct and evenly spread', async () => {
    const keys: Buffer[] = [];
    const raw = cleanup.add(net.createServer((s) => {
      let buf = Buffer.alloc(0);
      let open = false;
      s.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        if (!open) {
          const end = buf.indexOf('\r\n\r\n');
          if (end < 0) return;
          const key = /sec-websocket-key: *(\S+)/i.exec(buf.subarray(0, end).toString())![1]!;
          const accept = require('node:crypto').createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
          s.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
          buf = buf.subarray(end + 4);
          open = true;
        }
        // Frames of 1-byte text: 2 header bytes, 4 key bytes, 1 payload byte.
        while (buf.length >= 7) {
          keys.push(Buffer.from(buf.subarray(2, 6)));
          buf = buf.subarray(7);
        }
      });
    }), (s) => s.close());
    raw.listen(0, '127.0.0.1');
    await once(raw, 'listening');
    const port = (raw.address() as net.AddressInfo).port;
    for (let c = 0; c < 4; c++) {
      const ws = await lib.connect(`ws://127.0.0.1:${port}`);
      cleanup.add(ws, (w) => w.terminate());
      for (let i = 0; i < 500; i++) ws.send('x');
    }
    await waitUntil(() => keys.length === 2000, '2,000 frames');
    expect(new Set(keys.map((k) => k.toString('hex'))).size).toBeGreaterThan(1995);  // 2^32 keys: collisions are rare
    // Each of the 8,000 key bytes lands in one of 16 buckets about 500 times; a chi-square over
    // 15 degrees of freedom stays under 50 for any fair source (p < 1e-5 otherwise).
    const buckets = new Array(16).fill(0);
    for (const k of keys) for (const b of k) buckets[b >> 4]++;
    const chi = buckets.reduce((s, n) => s + (n - 500) ** 2 / 500, 0);
    expect(chi).toBeLessThan(50);
  });
});

describe('an exception thrown by an event handler', () => {
  it('reaches process "uncaughtException" (Node\'s rule for callbacks), and the connection goes on: the next message is delivered', async () => {
    const { spawnSync } = await import('node:child_process');
    const { root } = await import('./helpers');
    const script = `
      const { WebSocketServer, connect } = require('.');
      const seen = [];
      process.on('uncaughtException', (e) => seen.push('uncaught:' + e.message));
      const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
      wss.on('connection', (ws) => ws.on('message', (m) => {
        seen.push('message:' + m);
        if (String(m) === 'boom') throw new Error('handler failed');
      }));
      wss.on('listening', async () => {
        const c = await connect('ws://127.0.0.1:' + wss.address().port);
        c.send('boom'); c.send('after');
        setTimeout(async () => { console.log(JSON.stringify(seen)); c.terminate(); await wss.close(); }, 300);
      });`;
    const r = spawnSync(process.execPath, ['-e', script], { cwd: root, encoding: 'utf8', timeout: 20_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim().split('\n').pop()!)).toEqual(['message:boom', 'uncaught:handler failed', 'message:after']);
  });
});
