// permessage-deflate through the public API: option validation, what each mode costs in zlib-ng
// memory (measured by the addon's own allocation count, per connection), the per-send
// `compress` flag, every transport (native listener, adopted fd, TLS Duplex), and per-thread
// state. Wire-level rules (negotiation strings, RSV1, bombs) are in test/conformance and
// test/interop/compression.test.ts.
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import WS from 'ws';

import { Cleanup, loadPackage, nativeBinding, next, RawPeer, root, selfSignedCert, upgradeRequest, waitUntil, within } from './helpers';

const lib = loadPackage();
const native = nativeBinding();
type Socket = import('sockudo-ws').WebSocket;

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

const compressible = (n: number) => JSON.stringify(Array.from({ length: Math.ceil(n / 20) + 1 }, (_, i) => ({ id: i % 7, room: 'lobby' }))).slice(0, n);

async function echoServer(options: Record<string, unknown>) {
  const wss = cleanup.add(new lib.WebSocketServer({ port: 0, host: '127.0.0.1', ...options }), (s) => s.close());
  await next(wss, 'listening');
  wss.on('connection', (ws) => ws.on('message', (d, isBinary) => ws.send(d, { binary: isBinary })));
  return { wss, url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}` };
}

async function roundTrip(ws: Socket | WS, text: string): Promise<void> {
  const got = new Promise<string>((resolve) => (ws as WS).once('message', (d: Buffer | string) => resolve(d.toString())));
  ws.send(text);
  expect(await within(got, 5000, 'echo')).toBe(text);
}

async function settle(): Promise<void> {
  await waitUntil(() => native.socketCount() === 0, 'native sockets closed', 5000).catch(() => {});
}

describe('options', () => {
  const make = (o: Record<string, unknown>) => () => cleanup.add(new lib.WebSocketServer({ noServer: true, ...o }), (s) => s.close());
  it('accepts the modes and the detailed form, rejects everything else with a typed error', async () => {
    for (const c of ['disabled', 'dedicated', 'shared', {}, { compressor: 'shared' }, { windowBits: 8, memLevel: 1, level: 0, decompressorWindowBits: 9 }]) {
      expect(make({ compression: c })).not.toThrow();
    }
    const bad: [unknown, string][] = [
      ['gzip', 'ERR_INVALID_ARG_VALUE'], [true, 'ERR_INVALID_ARG_VALUE'], [{ compressor: 'big' }, 'ERR_INVALID_ARG_VALUE'],
      [{ windowBits: 7 }, 'ERR_OUT_OF_RANGE'], [{ windowBits: 16 }, 'ERR_OUT_OF_RANGE'], [{ memLevel: 0 }, 'ERR_OUT_OF_RANGE'],
      [{ level: 10 }, 'ERR_OUT_OF_RANGE'], [{ decompressorWindowBits: 7.5 }, 'ERR_OUT_OF_RANGE'], [{ threshold: 1 }, 'ERR_INVALID_ARG_VALUE'],
      [{ windowBits: '15' }, 'ERR_INVALID_ARG_TYPE'],
    ];
    for (const [c, code] of bad) expect(make({ compression: c }), JSON.stringify(c)).toThrow(expect.objectContaining({ code }));
    expect(make({ compressionThreshold: -1 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    // ws's option name points to ours.
    expect(make({ perMessageDeflate: true })).toThrow(/see compression/);
    await expect(lib.connect('ws://127.0.0.1:1', { compression: 'zstd' } as never)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
  });

  it('disabled by default: a client offer is declined and nothing is compressed', async () => {
    const { url } = await echoServer({});
    const c = cleanup.add(new WS(url, { perMessageDeflate: { threshold: 0 } }), (w) => w.terminate());
    await next(c, 'open');
    expect(c.extensions).toBe('');
    await roundTrip(c, compressible(1000));
    expect(native.deflateMemory().bytes).toBe(0);
  });
});

describe('memory per connection (zlib-ng allocations, counted by the addon)', () => {
  async function measure(mode: 'dedicated' | 'shared', connections: number) {
    await settle();
    const before = native.deflateMemory();
    const { wss, url } = await echoServer({ compression: mode });
    const clients = [];
    for (let i = 0; i < connections; i++) {
      const c = cleanup.add(await lib.connect(url, { compression: mode }), (w) => w.terminate());
      await roundTrip(c, compressible(2000));  // both directions compressed at least once
      clients.push(c);
    }
    await waitUntil(() => wss.clients.size === connections, 'server connections', 5000);
    const after = native.deflateMemory();
    for (const c of clients) c.close();
    await settle();
    return { before, after, released: native.deflateMemory() };
  }

  it('dedicated: each side keeps a deflater and an inflater; all freed on close', async () => {
    const m = await measure('dedicated', 4);
    // 4 connections × (server + client) × (deflater + inflater).
    expect(m.after.deflaters - m.before.deflaters).toBe(8);
    expect(m.after.inflaters - m.before.inflaters).toBe(8);
    const perConnectionSide = (m.after.bytes - m.before.bytes) / 8;
    expect(perConnectionSide).toBeGreaterThan(300 * 1024);  // zlib-ng: ≈336 KiB deflate + ≈40 KiB inflate
    // Closed: the dedicated streams are gone (pooled inflaters of shared mode are not involved).
    expect(m.released.deflaters).toBe(m.before.deflaters);
    expect(m.released.inflaters).toBe(m.before.inflaters);
    expect(m.released.bytes).toBe(m.before.bytes);
  });

  it('shared: connections hold nothing between messages; memory does not grow with their number', async () => {
    const one = await measure('shared', 1);
    const many = await measure('shared', 12);
    // One shared deflater for the loop (both roles use the same settings) and a few pooled inflaters.
    expect(many.after.deflaters).toBeLessThanOrEqual(1);
    expect(many.after.inflaters).toBeLessThanOrEqual(2);
    expect(many.after.bytes).toBeLessThanOrEqual(Math.max(one.after.bytes, 1) * 1.01);
    expect(many.after.bytes).toBeLessThan(500 * 1024);
  });

  it('the dedicated sides of a connection allocate only when they first compress or inflate', async () => {
    await settle();
    const before = native.deflateMemory();
    const { url } = await echoServer({ compression: 'dedicated' });
    const c = cleanup.add(await lib.connect(url, { compression: 'dedicated' }), (w) => w.terminate());
    expect(c.extensions).toBe('permessage-deflate');
    await roundTrip(c, 'tiny');  // below compressionThreshold: nothing compressed, nothing allocated
    expect(native.deflateMemory().bytes).toBe(before.bytes);
  });
});

describe('sending', () => {
  it('compress: false and compressionThreshold leave messages uncompressed (RSV1 seen on the wire)', async () => {
    const wss = cleanup.add(new lib.WebSocketServer({ port: 0, host: '127.0.0.1', compression: 'dedicated', compressionThreshold: 100 }), (s) => s.close());
    await next(wss, 'listening');
    const conn = next<[Socket]>(wss, 'connection');
    const peer = await RawPeer.connect((wss.address() as AddressInfo).port, cleanup);
    peer.write(upgradeRequest('/', 'Sec-WebSocket-Extensions: permessage-deflate\r\n'));
    expect(await peer.head()).toMatch(/\r\nSec-WebSocket-Extensions: permessage-deflate\r\n/i);
    const [server] = await conn;
    expect(server.extensions).toBe('permessage-deflate');
    server.send(compressible(99));
    server.send(compressible(100));
    server.send(compressible(5000), { compress: false });
    server.send(compressible(5000));
    const rsv1: boolean[] = [];
    for (let i = 0; i < 4; i++) rsv1.push(((await peer.frame()).rsv & 4) !== 0);
    expect(rsv1).toEqual([false, true, false, true]);
  });
});

describe('every transport', () => {
  it('TLS through handleUpgrade (the JS Duplex path) negotiates and compresses', async () => {
    const tls = selfSignedCert();
    const server = cleanup.add(https.createServer(tls), (s) => s.close());
    const wss = cleanup.add(new lib.WebSocketServer({ noServer: true, compression: 'shared' }), (s) => s.close());
    server.on('upgrade', (req, socket, head) => {
      wss.handleUpgrade(req, socket, head).then((ws) => ws.on('message', (d, b) => ws.send(d, { binary: b })), () => socket.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const c = cleanup.add(new WS(`wss://127.0.0.1:${(server.address() as AddressInfo).port}`, { rejectUnauthorized: false, perMessageDeflate: { threshold: 0 } }),
      (w) => w.terminate());
    const answered = new Promise<string | undefined>((resolve) => c.once('upgrade', (res) => resolve(res.headers['sec-websocket-extensions'] as string)));
    const accepted = new Promise<Socket>((resolve) => wss.once('connection', resolve));
    await next(c, 'open');
    expect(await answered).toBe('permessage-deflate; server_no_context_takeover; client_no_context_takeover');
    expect((await accepted).extensions).toBe('permessage-deflate; server_no_context_takeover; client_no_context_takeover');
    for (const n of [10, 3000, 200_000]) await roundTrip(c, compressible(n));
  });

  it('an http server whose sockets are adopted (fd path) negotiates too', async () => {
    const { createServer } = await import('node:http');
    const server = cleanup.add(createServer(), (s) => s.close());
    const wss = cleanup.add(new lib.WebSocketServer({ server, compression: 'dedicated' }), (s) => s.close());
    wss.on('connection', (ws) => ws.on('message', (d, b) => ws.send(d, { binary: b })));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const c = cleanup.add(new WS(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`, { perMessageDeflate: { threshold: 0 } }), (w) => w.terminate());
    await next(c, 'open');
    expect(c.extensions).toBe('permessage-deflate');
    for (const n of [10, 3000, 200_000]) await roundTrip(c, compressible(n));
  });
});

describe('worker_threads', () => {
  it('each environment has its own compressors and pool', async () => {
    await settle();
    const before = native.deflateMemory();
    const code = `
      const { parentPort } = require('node:worker_threads');
      const lib = require(${JSON.stringify(root)});
      const native = require(${JSON.stringify(`${root}/dist/cjs/native.js`)}).native;
      (async () => {
        const wss = new lib.WebSocketServer({ port: 0, host: '127.0.0.1', compression: 'shared' });
        await new Promise((r) => wss.on('listening', r));
        wss.on('connection', (ws) => ws.on('message', (d) => ws.send(d)));
        const c = await lib.connect('ws://127.0.0.1:' + wss.address().port, { compression: 'shared' });
        const text = 'worker '.repeat(500);
        const got = await new Promise((r) => { c.once('message', (d) => r(d)); c.send(text); });
        const mem = native.deflateMemory();
        c.close(); wss.close();
        parentPort.postMessage({ ok: got === text, deflaters: mem.deflaters, extensions: c.extensions });
      })();`;
    const w = new Worker(code, { eval: true });
    const result = await within(new Promise<{ ok: boolean; deflaters: number; extensions: string }>((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    }), 10_000, 'worker');
    await w.terminate();
    expect(result).toEqual({ ok: true, deflaters: 1, extensions: 'permessage-deflate; server_no_context_takeover; client_no_context_takeover' });
    expect(native.deflateMemory().deflaters).toBe(before.deflaters);  // the worker's compressor was never ours
  });
});
