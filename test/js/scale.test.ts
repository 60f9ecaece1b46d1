// Many connections, several environments, and a graceful shutdown under load:
// - 1,000 concurrent connections to one server, each exchanging a message, all closed cleanly,
//   and the native socket count back to its baseline;
// - two worker_threads each running a WebSocketServer (per-environment native state), talked to
//   from inside the worker and from the main thread, then one closed gracefully (the worker exits
//   by itself: nothing native keeps its loop alive) and one terminated with connections open;
// - server.close() right after queueing N messages per client loses none of them.
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket as WsClient } from 'ws';

import { Cleanup, loadPackage, nativeBinding, next, RawPeer, root, upgradeRequest, waitUntil, within } from './helpers';

const lib = loadPackage();
const native = nativeBinding();
type WS = import('sockudo-ws').WebSocket;

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

/** Native sockets of earlier tests are released a loop turn after their close events: wait for that. */
async function settledBaseline(): Promise<number> {
  await waitUntil(() => native.socketCount() === 0, 'no native sockets from earlier tests', 5000).catch(() => {});
  return native.socketCount();
}

async function echoServer(options: Record<string, unknown> = {}) {
  const wss = cleanup.add(new lib.WebSocketServer({ port: 0, host: '127.0.0.1', ...options }), (s) => s.close());
  await next(wss, 'listening');
  wss.on('connection', (ws) => ws.on('message', (d, isBinary) => ws.send(d, { binary: isBinary })));
  return { wss, url: `ws://127.0.0.1:${(wss.address() as { port: number }).port}` };
}

describe('1,000 concurrent connections', () => {
  it('all open at once, each echoes one message, all close cleanly (1000 on both sides), native sockets back to baseline', async () => {
    const baseline = await settledBaseline();
    const { wss, url } = await echoServer();
    const N = 1000;
    // All at once: more than the listen backlog (511), so the accept loop has to keep up (and the
    // kernel's SYN retries cover what does not fit; hence the generous handshake timeout).
    const attempts = await within(Promise.allSettled(Array.from({ length: N }, () => lib.connect(url, { handshakeTimeout: 30_000 }))), 45_000, `${N} connects`);
    const clients: WS[] = [];
    for (const a of attempts) if (a.status === 'fulfilled') clients.push(cleanup.add(a.value, (x) => x.terminate()));
    expect(attempts.filter((a) => a.status === 'rejected').map((a) => String((a as PromiseRejectedResult).reason))).toEqual([]);
    await waitUntil(() => wss.clients.size === N, `${N} server-side connections`, 10_000);
    expect(native.socketCount() - baseline).toBe(2 * N); // both ends live in this environment

    const serverSide = [...wss.clients];
    const serverClosed = Promise.all(serverSide.map((s) => next<[number, string]>(s, 'close', 30_000)));
    const echoed = await within(Promise.all(clients.map((c, i) => {
      const got = next<[string | Buffer]>(c, 'message', 30_000);
      c.send(i % 2 ? `client ${i} é😀` : Buffer.from(`client ${i}`));
      return got.then(([m]) => m);
    })), 30_000, 'all echoes');
    echoed.forEach((m, i) => expect(m).toEqual(i % 2 ? `client ${i} é😀` : Buffer.from(`client ${i}`)));

    const clientClosed = Promise.all(clients.map((c) => next<[number, string]>(c, 'close', 30_000)));
    for (const c of clients) c.close(1000, 'done');
    const codes = await within(Promise.all([clientClosed, serverClosed]), 30_000, 'all closes');
    expect(codes[0].every(([code]) => code === 1000)).toBe(true);
    expect(codes[1].every(([code, reason]) => code === 1000 && reason === 'done')).toBe(true);
    await waitUntil(() => wss.clients.size === 0, 'server clients empty');
    await within(wss.close(), 10_000, 'server close');
    await waitUntil(() => native.socketCount() === baseline, `native sockets back to ${baseline} (now ${native.socketCount()})`, 10_000);
  }, 90_000);
});

describe('worker_threads', () => {
  const entry = path.join(root, 'dist', 'cjs', 'index.js');
  const nativeEntry = path.join(root, 'dist', 'cjs', 'native.js');
  const workerCode = `
    const { parentPort, workerData } = require('node:worker_threads');
    const lib = require(workerData.entry);
    const { native } = require(workerData.nativeEntry);
    const wss = new lib.WebSocketServer({ port: 0, host: '127.0.0.1' });
    wss.on('connection', (ws) => ws.on('message', (d, isBinary) => ws.send(isBinary ? d : workerData.id + ':' + d, { binary: isBinary })));
    let clients = [];
    wss.on('listening', async () => {
      try {
        const port = wss.address().port;
        clients = await Promise.all(Array.from({ length: 20 }, () => lib.connect('ws://127.0.0.1:' + port)));
        const answers = await Promise.all(clients.map((c, i) => new Promise((resolve) => {
          c.once('message', resolve);
          c.send('m' + i);
        })));
        parentPort.postMessage({ type: 'ready', port, answers, sockets: native.socketCount(), threadId: require('node:worker_threads').threadId });
      } catch (e) {
        parentPort.postMessage({ type: 'failed', error: String(e && e.stack || e) });
      }
    });
    parentPort.on('message', async (msg) => {
      if (msg !== 'close') return;
      const closes = clients.map((c) => new Promise((r) => c.once('close', (code) => r(code))));
      await wss.close(); // 1001 to every connection, including the main thread's
      const codes = await Promise.all(closes);
      const atClose = native.socketCount();
      // Native handles may be released a loop turn after the close events: allow that, bounded.
      const t0 = Date.now();
      while (native.socketCount() !== 0 && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 5));
      parentPort.postMessage({ type: 'closed', codes, atClose, sockets: native.socketCount(), waited: Date.now() - t0 });
      parentPort.unref(); // from here on nothing should keep this thread alive
    });`;

  function start(id: string) {
    const w = new Worker(workerCode, { eval: true, workerData: { entry, nativeEntry, id } });
    cleanup.add(w, (x) => x.terminate());
    const messages: Record<string, unknown>[] = [];
    const waiters: (() => void)[] = [];
    w.on('message', (m: Record<string, unknown>) => { messages.push(m); for (const f of waiters.splice(0)) f(); });
    const errors: unknown[] = [];
    w.on('error', (e) => errors.push(e));
    const exited = new Promise<number>((r) => w.once('exit', r));
    const message = (type: string, ms = 20_000) => within((async () => {
      for (;;) {
        const m = messages.find((x) => x.type === type || x.type === 'failed');
        if (m) {
          if (m.type === 'failed') throw new Error(`worker ${id}: ${String(m.error)}`);
          return m;
        }
        await new Promise<void>((r) => waiters.push(r));
      }
    })(), ms, `worker ${id}: ${type}`);
    return { w, message, exited, errors };
  }

  it('two workers each run a server; clients in the worker and in the main thread exchange messages; then one closes gracefully and exits by itself, the other is terminated', async () => {
    const baseline = await settledBaseline();
    const a = start('A');
    const b = start('B');
    const [ra, rb] = await Promise.all([a.message('ready'), b.message('ready')]);
    expect(ra.answers).toEqual(Array.from({ length: 20 }, (_, i) => `A:m${i}`));
    expect(rb.answers).toEqual(Array.from({ length: 20 }, (_, i) => `B:m${i}`));
    expect(ra.sockets).toBe(40); // 20 clients + 20 server sides in that worker's environment only
    expect(rb.sockets).toBe(40);
    expect(ra.port).not.toBe(rb.port);
    expect(native.socketCount()).toBe(baseline); // nothing of the workers' sockets is counted here

    // From the main thread: our client and a ws client to each worker's server.
    const ours: WS[] = [];
    const theirs: WsClient[] = [];
    for (const [id, port] of [['A', ra.port], ['B', rb.port]] as const) {
      const c = cleanup.add(await within(lib.connect(`ws://127.0.0.1:${port}`), 5000, 'connect'), (x) => x.terminate());
      ours.push(c);
      const got = next<[string]>(c, 'message');
      c.send('from main');
      expect((await got)[0]).toBe(`${id}:from main`);
      const bin = randomBytes(200_000);
      const gotBin = next<[Buffer]>(c, 'message');
      c.send(bin);
      expect((await gotBin)[0].equals(bin)).toBe(true);
      const w = cleanup.add(new WsClient(`ws://127.0.0.1:${port}`), (x) => x.terminate());
      w.on('error', () => {});
      await next(w, 'open');
      theirs.push(w);
      const wgot = next<[Buffer]>(w, 'message');
      w.send('ws');
      expect((await wgot)[0].toString()).toBe(`${id}:ws`);
    }

    // A: graceful close inside the worker. Its own clients and ours see 1001; then the worker's
    // event loop has nothing left and the thread exits with code 0 on its own.
    const oursA = next<[number]>(ours[0]!, 'close', 10_000);
    const theirsA = next<[number]>(theirs[0]!, 'close', 10_000);
    a.w.postMessage('close');
    const closed = await a.message('closed');
    expect((closed.codes as number[]).every((c) => c === 1001)).toBe(true);
    expect(closed.sockets).toBe(0);
    expect((await oursA)[0]).toBe(1001);
    expect((await theirsA)[0]).toBe(1001);
    expect(await within(a.exited, 10_000, 'worker A to exit by itself')).toBe(0);

    // B: terminated with 22 connections open. The main thread's clients see the TCP connection
    // go away (1006), and the process carries on.
    const oursB = next<[number]>(ours[1]!, 'close', 10_000);
    const theirsB = next<[number]>(theirs[1]!, 'close', 10_000);
    await within(b.w.terminate(), 10_000, 'worker B terminate');
    expect(await b.exited).toBe(1);
    expect((await oursB)[0]).toBe(1006);
    expect((await theirsB)[0]).toBe(1006);
    expect(a.errors).toEqual([]);
    expect(b.errors).toEqual([]);

    // The main environment still works and its own sockets are accounted for.
    const { url } = await echoServer();
    const c = cleanup.add(await lib.connect(url), (x) => x.terminate());
    const got = next<[string]>(c, 'message');
    c.send('still alive');
    expect((await got)[0]).toBe('still alive');
    c.terminate();
    await waitUntil(() => native.socketCount() === baseline, `main-thread sockets back to ${baseline}`, 10_000);
  }, 60_000);
});

describe('reusePort', () => {
  it('two workers listen on one port (SO_REUSEPORT); connections are spread over both; both close and exit by themselves', async () => {
    const entry = path.join(root, 'dist', 'cjs', 'index.js');
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      const lib = require(workerData.entry);
      const wss = new lib.WebSocketServer({ port: workerData.port, host: '127.0.0.1', reusePort: true });
      wss.on('error', (e) => parentPort.postMessage({ type: 'error', error: String(e) }));
      wss.on('connection', (ws) => ws.on('message', (d) => ws.send(workerData.id + ':' + d)));
      wss.on('listening', () => parentPort.postMessage({ type: 'ready', port: wss.address().port }));
      parentPort.on('message', async () => {
        await wss.close();
        parentPort.postMessage({ type: 'closed' });
        parentPort.unref();
      });`;
    const spawn = (port: number, id: string) => {
      const w = cleanup.add(new Worker(code, { eval: true, workerData: { entry, port, id } }), (x) => x.terminate());
      const exited = new Promise<number>((r) => w.once('exit', r));
      const first = within(new Promise<{ type: string; port: number; error?: string }>((r) => w.once('message', r)), 20_000, `worker ${id} ready`);
      return { w, exited, first };
    };
    const a = spawn(0, 'A');
    const ra = await a.first;
    expect(ra.type).toBe('ready');
    const b = spawn(ra.port, 'B');
    const rb = await b.first;
    expect(rb).toEqual({ type: 'ready', port: ra.port });

    const clients = await within(Promise.all(Array.from({ length: 40 }, () => lib.connect(`ws://127.0.0.1:${ra.port}`))), 20_000, '40 connects');
    for (const c of clients) cleanup.add(c, (x) => x.terminate());
    const answers = await within(Promise.all(clients.map((c, i) => {
      const got = next<[string]>(c, 'message', 10_000);
      c.send(`m${i}`);
      return got.then(([m]) => m);
    })), 15_000, 'answers');
    answers.forEach((m, i) => expect(m).toMatch(new RegExp(`^[AB]:m${i}$`)));
    const byWorker = new Set(answers.map((m) => m[0]));
    expect(byWorker).toEqual(new Set(['A', 'B'])); // 40 connections all hashed to one socket: p = 2^-39

    const closes = Promise.all(clients.map((c) => next<[number]>(c, 'close', 10_000).then(([code]) => code)));
    a.w.postMessage('close');
    b.w.postMessage('close');
    expect(await within(Promise.all([a.exited, b.exited]), 15_000, 'both workers exit by themselves')).toEqual([0, 0]);
    expect(new Set(await closes)).toEqual(new Set([1001]));
  }, 60_000);
});

describe('graceful close loses nothing', () => {
  async function run(options: { clients: number; n: number; size: (i: number) => number; maxBackpressure?: number }) {
    const wss = cleanup.add(new lib.WebSocketServer({ port: 0, host: '127.0.0.1', maxBackpressure: options.maxBackpressure ?? lib.defaults.maxBackpressure }), (s) => s.close());
    await next(wss, 'listening');
    const url = `ws://127.0.0.1:${(wss.address() as { port: number }).port}`;
    const conns: WS[] = [];
    wss.on('connection', (ws) => conns.push(ws));
    type Result = { got: (string | Buffer)[]; code: number };
    const results: Promise<Result>[] = [];
    for (let k = 0; k < options.clients; k++) {
      const got: (string | Buffer)[] = [];
      if (k === options.clients - 1) {
        const w = cleanup.add(new WsClient(url), (x) => x.terminate());
        w.on('error', () => {});
        w.on('message', (d: Buffer, isBinary: boolean) => got.push(isBinary ? d : d.toString()));
        results.push(new Promise((resolve) => w.on('close', (code: number) => resolve({ got, code }))));
        await next(w, 'open');
      } else {
        const c = cleanup.add(await within(lib.connect(url), 5000, 'connect'), (x) => x.terminate());
        c.on('message', (d) => got.push(d));
        results.push(new Promise((resolve) => c.on('close', (code) => resolve({ got, code }))));
      }
    }
    await waitUntil(() => conns.length === options.clients, 'all connections');

    // One synchronous block: N messages to every client, then close().
    const expected = Array.from({ length: options.n }, (_, i) => {
      const size = options.size(i);
      if (i % 3 === 0) return `m${i}:` + 'ü'.repeat(Math.max(0, (size >> 1) - 8));
      const b = randomBytes(size);
      if (size >= 4) b.writeUInt32BE(i, 0);
      return b;
    });
    const statuses = new Map<string, number>();
    for (const ws of conns) {
      for (const m of expected) {
        const st = ws.send(m);
        statuses.set(st, (statuses.get(st) ?? 0) + 1);
      }
    }
    const closing = wss.close();
    const all = await within(Promise.all(results), 30_000, 'every client closed');
    await within(closing, 30_000, 'server close');
    expect(statuses.get('dropped') ?? 0).toBe(0);
    for (const [k, r] of all.entries()) {
      expect(r.got.length, `client ${k}: messages`).toBe(options.n);
      r.got.forEach((m, i) => {
        const e = expected[i]!;
        if (typeof e === 'string') expect(m, `client ${k}, message ${i}`).toBe(e);
        else expect(Buffer.isBuffer(m) && m.equals(e), `client ${k}, message ${i}`).toBe(true);
      });
      expect(r.code, `client ${k}: close code`).toBe(1001);
    }
    return statuses;
  }

  it('1,000 small messages to each of 5 clients (4 ours, 1 ws), then close(): all arrive, then 1001', async () => {
    await run({ clients: 5, n: 1000, size: (i) => 1 + ((i * 37) % 200) });
  }, 60_000);

  it('1,000 × 8 KiB to each of 4 clients (beyond what the kernel takes at once), then close(): all arrive, then 1001', async () => {
    const statuses = await run({ clients: 4, n: 1000, size: () => 8 * 1024, maxBackpressure: 64 * 1024 * 1024 });
    expect(statuses.get('backpressure') ?? 0).toBeGreaterThan(0); // the close frame had to wait behind queued data
  }, 60_000);

  it('close() also ends pending handshakes and is bounded by closeTimeout when a peer stopped reading', async () => {
    const wss = cleanup.add(new lib.WebSocketServer({
      port: 0, host: '127.0.0.1', closeTimeout: 300, maxBackpressure: 64 * 1024 * 1024,
      upgrade: (req) => (req.headers['x-slow'] ? new Promise<{ accept: true }>(() => { /* never decides */ }) : { accept: true as const }),
    }), (s) => s.close());
    await next(wss, 'listening');
    const port = (wss.address() as { port: number }).port;
    const partial = await RawPeer.connect(port, cleanup);
    partial.write('GET / HT');
    const hookPending = await RawPeer.connect(port, cleanup);
    hookPending.write(upgradeRequest('/', 'X-Slow: 1\r\n'));
    const conn = next<[WS]>(wss, 'connection');
    const { peer: stalled } = await RawPeer.upgraded(port, cleanup);
    stalled.sock.pause();
    const [ws] = await conn;
    for (let i = 0; i < 64; i++) expect(ws.send(Buffer.alloc(128 * 1024))).not.toBe('dropped');
    expect(ws.bufferedAmount).toBeGreaterThan(0);
    const serverSideClosed = next<[number]>(ws, 'close', 10_000);
    await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    await within(wss.close(), 10_000, 'server close');
    expect(Date.now() - started).toBeGreaterThanOrEqual(250); // it did wait for the stalled peer, up to closeTimeout
    expect((await serverSideClosed)[0]).toBe(1006);
    await partial.end(5000);
    await hookPending.end(5000);
    stalled.sock.resume();
    await stalled.end(5000);
    await waitUntil(() => native.socketCount() === 0, `native sockets released (now ${native.socketCount()})`, 10_000);
  }, 30_000);
});
