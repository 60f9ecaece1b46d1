// Pub/sub with publish-once fan-out: the API and its events, per-subscriber order across
// publishes and direct sends, sender exclusion, cleanup when connections close, a slow
// subscriber among fast ones, many topics, compression once per publish in shared mode, large
// (borrowed, fragmented) messages, and per-thread topic trees.
import type { AddressInfo } from 'node:net';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';

import { Cleanup, KERNEL_BUFFER_TIMING, loadPackage, nativeBinding, next, RawPeer, root, upgradeRequest, waitUntil, within } from './helpers';

const lib = loadPackage();
const native = nativeBinding();
type Socket = import('sockudo-ws').WebSocket;
type Server = import('sockudo-ws').WebSocketServer;

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

async function server(options: Record<string, unknown> = {}): Promise<{ wss: Server; url: string; port: number; conns: Socket[] }> {
  const wss = cleanup.add(new lib.WebSocketServer({ port: 0, host: '127.0.0.1', ...options }), (s) => s.close());
  await next(wss, 'listening');
  const conns: Socket[] = [];
  wss.on('connection', (ws) => conns.push(ws));
  const port = (wss.address() as AddressInfo).port;
  return { wss, url: `ws://127.0.0.1:${port}`, port, conns };
}

async function clients(url: string, n: number, options: Record<string, unknown> = {}): Promise<{ socket: Socket; got: string[] }[]> {
  return Promise.all(Array.from({ length: n }, async () => {
    const socket = cleanup.add(await lib.connect(url, options), (c) => c.terminate());
    const got: string[] = [];
    socket.on('message', (m) => got.push(String(m)));
    return { socket, got };
  }));
}

describe('API', () => {
  it('subscribe / unsubscribe / isSubscribed / topics, with subscription events (topic, new, old)', async () => {
    const { wss, url, conns } = await server();
    const events: [string, number, number][] = [];
    wss.on('subscription', (topic, n, o) => events.push([topic, n, o]));
    await clients(url, 2);
    await waitUntil(() => conns.length === 2, 'two connections');
    const [a, b] = conns as [Socket, Socket];
    expect(a.subscribe('news')).toBe(true);
    expect(a.subscribe('news')).toBe(false);  // already
    expect(b.subscribe('news')).toBe(true);
    expect(a.subscribe('sport')).toBe(true);
    expect(a.isSubscribed('news')).toBe(true);
    expect(b.isSubscribed('sport')).toBe(false);
    expect(a.topics.sort()).toEqual(['news', 'sport']);
    expect(wss.numSubscribers('news')).toBe(2);
    expect(wss.numSubscribers('nobody')).toBe(0);
    expect(a.unsubscribe('news')).toBe(true);
    expect(a.unsubscribe('news')).toBe(false);
    expect(wss.numSubscribers('news')).toBe(1);
    expect(events).toEqual([['news', 1, 0], ['news', 2, 1], ['sport', 1, 0], ['news', 1, 2]]);
  });

  it('topics are validated (typed errors); client connections cannot subscribe', async () => {
    const { wss, url, conns } = await server();
    const [{ socket: client }] = await clients(url, 1);
    await waitUntil(() => conns.length === 1, 'connection');
    const ws = conns[0]!;
    expect(() => ws.subscribe('')).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => ws.subscribe('x'.repeat(1025))).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => ws.subscribe('é'.repeat(513))).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));  // 1026 bytes
    expect(ws.subscribe('x'.repeat(1024))).toBe(true);
    expect(() => ws.subscribe(42 as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => wss.publish(null as never, 'x')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => wss.publish('t', {} as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => wss.publish('t', Buffer.from([0xff]), { binary: false })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => client.subscribe('t')).toThrow(expect.objectContaining({ code: 'ERR_SOCKUDO_WS_INVALID_STATE' }));
    expect(() => client.publish('t', 'x')).toThrow(expect.objectContaining({ code: 'ERR_SOCKUDO_WS_INVALID_STATE' }));
    expect(client.topics).toEqual([]);
  });
});

describe('delivery', () => {
  it('each subscriber sees publishes and direct sends in the order they were made', async () => {
    const { wss, url, conns } = await server();
    const cs = await clients(url, 3);
    await waitUntil(() => conns.length === 3, 'connections');
    // Each server connection introduces itself first, so client k can be matched to conns[k].
    const expected: string[][] = conns.map((ws, k) => {
      ws.send(`id${k}`);
      ws.subscribe('t');
      return [`id${k}`];
    });
    for (let i = 0; i < 200; i++) {
      wss.publish('t', `p${i}`);
      for (const e of expected) e.push(`p${i}`);
      conns[i % 3]!.send(`d${i}`);
      expected[i % 3]!.push(`d${i}`);
      if (i % 50 === 49) await new Promise((r) => setImmediate(r));
    }
    const total = expected.reduce((n, e) => n + e.length, 0);
    await waitUntil(() => cs.reduce((n, c) => n + c.got.length, 0) === total, 'all messages', 10_000);
    const byId = cs.map((c) => c.got).sort((x, y) => x[0]!.localeCompare(y[0]!));
    expect(byId).toEqual(expected);
  });

  it('ws.publish excludes the sender; server.publish reaches everyone; returns the recipients', async () => {
    const { wss, url, conns } = await server();
    const cs = await clients(url, 4);
    await waitUntil(() => conns.length === 4, 'connections');
    for (const ws of conns) ws.subscribe('room');
    expect(conns[0]!.publish('room', 'from 0')).toBe(3);
    expect(wss.publish('room', 'from server')).toBe(4);
    expect(wss.publish('empty', 'nobody')).toBe(0);
    await waitUntil(() => cs.reduce((n, c) => n + c.got.length, 0) === 7, '7 deliveries');
    const counts = cs.map((c) => c.got.join('|')).sort();
    expect(counts).toEqual(['from 0|from server', 'from 0|from server', 'from 0|from server', 'from server']);
  });

  it('binary, empty and large (borrowed, fragmented at maxFrameSize) messages arrive intact', async () => {
    const { wss, url, conns } = await server({ maxFrameSize: 4096 });
    const subs = await Promise.all(Array.from({ length: 5 }, async () => {
      const socket = cleanup.add(await lib.connect(url), (c) => c.terminate());
      const got: Buffer[] = [];
      socket.on('message', (m) => got.push(Buffer.isBuffer(m) ? m : Buffer.from(m)));
      return got;
    }));
    await waitUntil(() => conns.length === 5, 'connections');
    for (const ws of conns) ws.subscribe('blob');
    const big = Buffer.alloc(1 << 20);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 255;
    wss.publish('blob', big);
    wss.publish('blob', Buffer.alloc(0));
    wss.publish('blob', 'text ✓');
    await waitUntil(() => subs.every((g) => g.length === 3), 'three messages each', 10_000);
    for (const g of subs) {
      expect(g[0]!.equals(big)).toBe(true);
      expect(g[1]!.length).toBe(0);
      expect(g[2]!.toString()).toBe('text ✓');
    }
  });
});

describe('lifetime', () => {
  it('subscriptions vanish when a connection closes (events with the new counts), and the tree empties', async () => {
    const before = native.pubsubStats();
    const { wss, url, conns } = await server();
    const cs = await clients(url, 3);
    await waitUntil(() => conns.length === 3, 'connections');
    for (const ws of conns) { ws.subscribe('a'); ws.subscribe('b'); }
    expect(native.pubsubStats().subscriptions - before.subscriptions).toBe(6);
    const events: [string, number, number][] = [];
    wss.on('subscription', (topic, n, o) => events.push([topic, n, o]));
    const closed = next(conns[0]!, 'close');
    cs[0]!.socket.close();
    await closed;
    expect(events.sort()).toEqual([['a', 2, 3], ['b', 2, 3]]);
    expect(wss.numSubscribers('a')).toBe(2);
    expect(conns[0]!.topics).toEqual([]);
    cs[1]!.socket.terminate();
    cs[2]!.socket.terminate();
    await waitUntil(() => wss.clients.size === 0, 'all closed');
    const after = native.pubsubStats();
    expect([after.topics, after.subscriptions]).toEqual([before.topics, before.subscriptions]);
    expect(wss.publish('a', 'x')).toBe(0);
  });

  it('a slow subscriber over maxBackpressure misses messages; the fast ones get every one, undelayed', async () => {
    const { wss, url, port, conns } = await server({ maxBackpressure: 256 * 1024 });
    const fast = await clients(url, 3);
    // The slow one never reads: its socket buffers fill, then its backpressure buffer.
    const slow = await RawPeer.connect(port, cleanup);
    slow.sock.pause();
    slow.write(upgradeRequest());
    await waitUntil(() => conns.length === 4, 'connections');
    for (const ws of conns) ws.subscribe('feed');
    const chunk = 'x'.repeat(64 * 1024);
    let dropped = 0;
    for (let i = 0; i < 200; i++) {
      const r = wss.publish('feed', `${i}:${chunk}`);
      if (r < 4) dropped++;
      if (i % 20 === 19) await new Promise((res) => setImmediate(res));  // let the fast ones drain
    }
    expect(dropped).toBeGreaterThan(0);
    await waitUntil(() => fast.every((c) => c.got.length === 200), 'every fast subscriber got all 200', 20_000);
    for (const c of fast) expect(c.got.map((m) => Number(m.slice(0, m.indexOf(':'))))).toEqual(Array.from({ length: 200 }, (_, i) => i));
  });

  it.runIf(KERNEL_BUFFER_TIMING)('closeOnBackpressureLimit: the slow subscriber is closed instead, and leaves the topic', async () => {
    const { wss, url, port, conns } = await server({ maxBackpressure: 128 * 1024, closeOnBackpressureLimit: true });
    const fast = await clients(url, 2);
    const slow = await RawPeer.connect(port, cleanup);
    slow.sock.pause();
    slow.write(upgradeRequest());
    await waitUntil(() => conns.length === 3, 'connections');
    for (const ws of conns) ws.subscribe('feed');
    const chunk = 'y'.repeat(64 * 1024);
    let published = 0;
    for (let i = 0; i < 100 && wss.numSubscribers('feed') === 3; i++) {
      wss.publish('feed', `${i}:${chunk}`);
      published++;
      if (i % 10 === 9) await new Promise((res) => setImmediate(res));
    }
    expect(wss.numSubscribers('feed')).toBe(2);
    expect(published).toBeGreaterThan(1); // the slow one was closed by the limit, not at once
    expect(wss.publish('feed', 'after')).toBe(2);
    await waitUntil(() => fast.every((c) => c.got.at(-1) === 'after'), 'fast ones still served', 20_000);
    // The fast subscribers missed nothing: every publish, in order, then 'after'.
    const expected = [...Array.from({ length: published }, (_, i) => String(i)), 'after'];
    for (const c of fast) expect(c.got.map((m) => (m === 'after' ? m : m.slice(0, m.indexOf(':'))))).toEqual(expected);
  });
});

describe('scale', () => {
  it('2,000 topics × 20 connections: counts, targeted publishes, bulk unsubscribe, empty tree after close', async () => {
    const before = native.pubsubStats();
    const { wss, url, conns } = await server();
    const cs = await clients(url, 20);
    await waitUntil(() => conns.length === 20, 'connections');
    for (let t = 0; t < 2000; t++) for (let k = 0; k < 20; k++) if ((t + k) % 4 === 0) conns[k]!.subscribe(`topic-${t}`);
    const stats = native.pubsubStats();
    expect(stats.topics - before.topics).toBe(2000);
    expect(stats.subscriptions - before.subscriptions).toBe(10_000);
    expect(stats.bytes).toBeGreaterThan(0);
    for (let t = 0; t < 2000; t += 97) expect(wss.numSubscribers(`topic-${t}`)).toBe(5);
    expect(wss.publish('topic-3', 'three')).toBe(5);
    await waitUntil(() => cs.reduce((n, c) => n + c.got.length, 0) === 5, 'five deliveries');
    for (let t = 0; t < 2000; t++) for (let k = 0; k < 20; k++) if ((t + k) % 4 === 0 && k % 2 === 0) conns[k]!.unsubscribe(`topic-${t}`);
    expect(native.pubsubStats().subscriptions - before.subscriptions).toBe(5000);
    for (const c of cs) c.socket.terminate();
    await waitUntil(() => wss.clients.size === 0, 'closed');
    const after = native.pubsubStats();
    expect([after.topics, after.subscriptions]).toEqual([before.topics, before.subscriptions]);
  });
});

describe('compression', () => {
  it('shared mode: one publish to 30 subscribers runs the compressor once; dedicated subscribers each compress their own copy', async () => {
    const { wss, url, conns } = await server({ compression: 'shared', compressionThreshold: 0 });
    const shared = await clients(url, 30, { compression: 'shared' });
    await waitUntil(() => conns.length === 30, 'connections');
    for (const ws of conns) ws.subscribe('json');
    const text = JSON.stringify(Array.from({ length: 200 }, (_, i) => ({ id: i, room: 'lobby' })));
    const c0 = native.deflateMemory().compressions;
    expect(wss.publish('json', text)).toBe(30);
    expect(native.deflateMemory().compressions - c0).toBe(1);
    await waitUntil(() => shared.every((c) => c.got.length === 1), 'deliveries');
    for (const c of shared) expect(c.got[0]).toBe(text);
    // compress: false skips the compressor entirely.
    const c1 = native.deflateMemory().compressions;
    wss.publish('json', text, { compress: false });
    expect(native.deflateMemory().compressions).toBe(c1);
    await waitUntil(() => shared.every((c) => c.got.length === 2 && c.got[1] === text), 'plain deliveries');
  });

  it('the wire: shared subscribers get RSV1 frames, a subscriber without the extension plain ones, dedicated ones their own', async () => {
    const { wss, url, port, conns } = await server({ compression: 'dedicated', compressionThreshold: 0 });
    // A raw subscriber that negotiated server_no_context_takeover (the shared wire form), one that
    // offered nothing, and one with context takeover (its own compressor).
    const offers = ['permessage-deflate; server_no_context_takeover', '', 'permessage-deflate'];
    const peers: RawPeer[] = [];
    for (const offer of offers) {
      const p = await RawPeer.connect(port, cleanup);
      p.write(upgradeRequest('/', offer ? `Sec-WebSocket-Extensions: ${offer}\r\n` : ''));
      await p.head();
      peers.push(p);
    }
    await waitUntil(() => conns.length === 3, 'connections');
    for (const ws of conns) ws.subscribe('t');
    const text = 'compress me '.repeat(200);
    const c0 = native.deflateMemory().compressions;
    expect(wss.publish('t', text)).toBe(3);
    expect(native.deflateMemory().compressions - c0).toBe(2);  // one shared form + one dedicated connection
    const frames = await Promise.all(peers.map((p) => p.frame()));
    expect(frames.map((f) => (f.rsv & 4) !== 0)).toEqual([true, false, true]);
    expect(frames[1]!.payload.toString()).toBe(text);
    const { inflateRawSync, constants } = await import('node:zlib');
    for (const f of [frames[0]!, frames[2]!]) {
      expect(inflateRawSync(Buffer.concat([f.payload, Buffer.from([0, 0, 0xff, 0xff])]), { finishFlush: constants.Z_SYNC_FLUSH }).toString()).toBe(text);
    }
  });
});

describe('worker_threads', () => {
  it('each thread has its own topics', async () => {
    const { wss, url, conns } = await server();
    const [mine] = await clients(url, 1);
    await waitUntil(() => conns.length === 1, 'connection');
    conns[0]!.subscribe('shared-name');
    const code = `
      const { parentPort } = require('node:worker_threads');
      const lib = require(${JSON.stringify(root)});
      (async () => {
        const wss = new lib.WebSocketServer({ port: 0, host: '127.0.0.1' });
        await new Promise((r) => wss.on('listening', r));
        wss.on('connection', (ws) => ws.subscribe('shared-name'));
        const c = await lib.connect('ws://127.0.0.1:' + wss.address().port);
        const got = new Promise((r) => c.once('message', r));
        while (wss.numSubscribers('shared-name') === 0) await new Promise((r) => setTimeout(r, 5));
        const n = wss.publish('shared-name', 'worker says hi');
        const m = await got;
        c.terminate(); await wss.close();
        parentPort.postMessage({ n, m: String(m) });
      })();`;
    const w = new Worker(code, { eval: true });
    const result = await within(new Promise<{ n: number; m: string }>((resolve, reject) => { w.once('message', resolve); w.once('error', reject); }), 10_000, 'worker');
    await w.terminate();
    expect(result).toEqual({ n: 1, m: 'worker says hi' });  // only its own subscriber
    expect(wss.numSubscribers('shared-name')).toBe(1);
    expect(mine!.got).toEqual([]);
  });
});
