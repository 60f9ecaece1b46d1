// Backpressure in both directions over real sockets.
//
// Sending: a raw TCP client completes the handshake and stops reading (socket.pause()); the
// server's send() then reports 'success' → 'backpressure', bufferedAmount counts exactly the
// frame bytes waiting, `drain` fires when the client reads again, and maxBackpressure drops or
// closes. Everything that was not dropped arrives intact and in order (including payloads that
// were borrowed, not copied, while queued).
//
// Receiving: a server consumer that stops pulling from `for await (const m of ws)` makes the
// socket stop reading, so the flooding peer is slowed down by TCP itself instead of the server
// buffering what it sends.
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';

import { Cleanup, gcFunction, KERNEL_BUFFER_TIMING, loadPackage, next, parseFrame, RawPeer, type RawFrame, waitUntil, within } from './helpers';

const lib = loadPackage();
type WS = import('sockudo-ws').WebSocket;

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

const KiB = 1024;
const MiB = 1024 * KiB;

async function server(options: Record<string, unknown> = {}) {
  const wss = cleanup.add(new lib.WebSocketServer({ port: 0, host: '127.0.0.1', ...options }), (s) => s.close());
  await next(wss, 'listening');
  const port = (wss.address() as { port: number }).port;
  return { wss, port, url: `ws://127.0.0.1:${port}` };
}

/** A raw client that completed the upgrade and then stopped reading, and the server's end. */
async function stalledPeer(options: Record<string, unknown> = {}) {
  const s = await server(options);
  const conn = next<[WS]>(s.wss, 'connection');
  const { peer } = await RawPeer.upgraded(s.port, cleanup);
  peer.sock.pause();
  const [ws] = await conn;
  return { ...s, peer, ws };
}

/** Size on the wire of an unmasked server frame with this payload length. */
const frameSize = (n: number) => n + (n < 126 ? 2 : n < 65536 ? 4 : 10);

/** Parses every complete frame in `bytes` (which must end on a frame boundary). */
function frames(bytes: Buffer): RawFrame[] {
  const out: RawFrame[] = [];
  let off = 0;
  while (off < bytes.length) {
    const r = parseFrame(bytes.subarray(off));
    if (r === null) throw new Error(`incomplete frame at ${off} of ${bytes.length}`);
    out.push(r.frame);
    off += r.size;
  }
  return out;
}

/** 8-byte id at the start of a binary payload. */
function tagged(id: number, size: number): Buffer {
  const b = Buffer.alloc(size, id & 255);
  b.writeUInt32BE(id, 0);
  b.writeUInt32BE(size, 4);
  return b;
}

describe('a peer that stops reading', () => {
  it.runIf(KERNEL_BUFFER_TIMING)('send() goes "success" → "backpressure"; bufferedAmount is exact; drain brings it to 0; everything arrives intact', async () => {
    const { peer, ws } = await stalledPeer({ maxBackpressure: 256 * MiB });
    const statuses: string[] = [];
    const sent: { payload: Buffer | string; binary: boolean }[] = [];
    // A fresh connection's kernel buffer takes a small message whole.
    const first = randomBytes(1024);
    statuses.push(ws.send(first));
    sent.push({ payload: first, binary: true });
    // Then enough to fill the kernel's buffers on both sides whatever their autotuned size.
    let i = 0;
    while (!statuses.includes('backpressure') && i < 200) {
      const payload = randomBytes(MiB);
      statuses.push(ws.send(payload));
      sent.push({ payload, binary: true });
      i++;
    }
    expect(statuses[0]).toBe('success');
    expect(statuses.at(-1)).toBe('backpressure');
    expect(statuses.slice(0, -1).every((s) => s === 'success')).toBe(true);
    // The first queued frame was partly taken by the kernel: less than a whole frame waits.
    expect(ws.bufferedAmount).toBeGreaterThan(0);
    expect(ws.bufferedAmount).toBeLessThanOrEqual(frameSize(MiB));

    // From now on every send queues its whole frame: the count grows by exactly the frame size,
    // for each length class, for text and binary, for strings, Buffers and views with offsets.
    const backing = randomBytes(300 * KiB);
    const more: [Buffer | string | Uint8Array, boolean][] = [
      [randomBytes(0), true], [randomBytes(125), true], [randomBytes(126), true], [randomBytes(65535), true], [randomBytes(65536), true],
      ['é'.repeat(40_000), false], ['ascii '.repeat(30_000), false], ['x', false],
      [new Uint8Array(backing.buffer, backing.byteOffset + 1000, 200 * KiB), true],
      [randomBytes(2 * MiB), true],
    ];
    let expected = ws.bufferedAmount;
    for (const [payload, binary] of more) {
      const before = ws.bufferedAmount;
      expect(ws.send(payload, { binary })).toBe('backpressure');
      const len = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.byteLength;
      expect(ws.bufferedAmount - before, `frame of ${len}`).toBe(frameSize(len));
      expected += frameSize(len);
      sent.push({ payload: typeof payload === 'string' ? payload : Buffer.from(payload), binary });
    }
    expect(ws.bufferedAmount).toBe(expected);
    // Across loop turns the kernel may take a little more (late ACKs free its send buffer), never all of it.
    await new Promise((r) => setTimeout(r, 100));
    expect(ws.bufferedAmount).toBeGreaterThan(0);
    expect(ws.bufferedAmount).toBeLessThanOrEqual(expected);

    let drainedAt = -1;
    const drained = new Promise<void>((resolve) => ws.once('drain', () => { drainedAt = ws.bufferedAmount; resolve(); }));
    const total = sent.reduce((n, m) => n + frameSize(typeof m.payload === 'string' ? Buffer.byteLength(m.payload) : m.payload.length), 0);
    peer.sock.resume();
    await within(drained, 15_000, 'drain');
    expect(drainedAt).toBe(0);
    expect(ws.bufferedAmount).toBe(0);
    await waitUntil(() => peer.received >= total, 'every byte at the client', 15_000);

    const got = frames(peer.buffered);
    expect(got).toHaveLength(sent.length);
    got.forEach((f, k) => {
      const m = sent[k]!;
      expect(f.opcode, `message ${k}`).toBe(m.binary ? 2 : 1);
      expect(f.fin).toBe(true);
      const bytes = typeof m.payload === 'string' ? Buffer.from(m.payload) : m.payload;
      expect(f.payload.equals(bytes), `message ${k} content`).toBe(true);
    });
    expect(ws.send('after drain')).toBe('success');
  }, 40_000);

  it('queued payloads are kept alive by the socket: dropping every reference and collecting garbage does not corrupt them', async () => {
    const gc = gcFunction();
    const { peer, ws } = await stalledPeer({ maxBackpressure: 256 * MiB });
    const seed = randomBytes(16);
    const pattern = (k: number) => {
      const b = Buffer.alloc(MiB);
      for (let j = 0; j < b.length; j += 16) seed.copy(b, j);
      b.writeUInt32BE(k, 0);
      return b;
    };
    let k = 0;
    while (ws.send(pattern(k)) !== 'backpressure') k++;
    for (let j = 0; j < 8; j++) expect(ws.send(pattern(++k))).toBe('backpressure');
    const count = k + 1;
    // Only the socket references the queued Buffers now.
    for (let round = 0; round < 3; round++) {
      gc?.();
      const junk: Buffer[] = [];
      for (let j = 0; j < 64; j++) junk.push(Buffer.alloc(MiB, 0xee)); // reuse freed memory, if any was freed
      junk.length = 0;
      await new Promise((r) => setImmediate(r));
    }
    const drained = next(ws, 'drain', 15_000);
    peer.sock.resume();
    await drained;
    await waitUntil(() => peer.received >= count * frameSize(MiB), 'every byte at the client', 15_000);
    const got = frames(peer.buffered);
    expect(got).toHaveLength(count);
    got.forEach((f, j) => expect(f.payload.equals(pattern(j)), `message ${j}`).toBe(true));
  }, 40_000);

  it.runIf(KERNEL_BUFFER_TIMING)('maxBackpressure (closeOnBackpressureLimit false): sends beyond it are "dropped", the connection stays open, only the others arrive', async () => {
    const limit = 256 * KiB;
    const { peer, ws } = await stalledPeer({ maxBackpressure: limit });
    const kept: number[] = [];
    const statuses: string[] = [];
    let id = 0;
    while (statuses.filter((s) => s === 'dropped').length < 5 && id < 10_000) {
      const st = ws.send(tagged(id, 64 * KiB));
      statuses.push(st);
      if (st !== 'dropped') kept.push(id);
      expect(ws.bufferedAmount).toBeLessThanOrEqual(limit);
      id++;
    }
    expect(statuses).toContain('backpressure');
    expect(statuses.at(-1)).toBe('dropped');
    expect(ws.readyState).toBe(1);
    // Small messages that still fit are taken; the limit is about bytes, not a latch.
    const room = limit - ws.bufferedAmount;
    if (room >= frameSize(10)) {
      expect(ws.send(tagged(id, 10))).toBe('backpressure');
      kept.push(id);
      id++;
    }
    await new Promise((r) => setTimeout(r, 50));
    expect(ws.readyState).toBe(1);

    const drained = next(ws, 'drain', 15_000);
    peer.sock.resume();
    await drained;
    expect(ws.bufferedAmount).toBe(0);
    expect(ws.send(tagged(id, 64 * KiB))).toBe('success');
    kept.push(id);
    await waitUntil(() => {
      try { return frames(peer.buffered).length === kept.length; } catch { return false; }
    }, `${kept.length} messages at the client`, 15_000);
    const ids = frames(peer.buffered).map((f) => f.payload.readUInt32BE(0));
    expect(ids).toEqual(kept);
    for (const f of frames(peer.buffered)) {
      const size = f.payload.readUInt32BE(4);
      expect(f.payload.length).toBe(size);
    }
  }, 40_000);

  it('maxBackpressure with closeOnBackpressureLimit true: the send beyond it closes the connection', async () => {
    const limit = 256 * KiB;
    const { peer, ws } = await stalledPeer({ maxBackpressure: limit, closeOnBackpressureLimit: true });
    const closed = next<[number, string]>(ws, 'close', 5000);
    const statuses: string[] = [];
    for (let id = 0; id < 10_000 && ws.readyState === 1; id++) statuses.push(ws.send(tagged(id, 64 * KiB)));
    expect(statuses).toContain('backpressure');
    expect(statuses.at(-1)).toBe('dropped');
    expect((await closed)[0]).toBe(1006);
    expect(ws.readyState).toBe(3);
    expect(ws.send('late')).toBe('dropped');
    expect(ws.bufferedAmount).toBe(0);
    peer.sock.resume();
    await peer.end(5000); // the TCP connection is gone too
  });

  it.runIf(KERNEL_BUFFER_TIMING)('server writable stream waits for drain instead of growing the buffer past maxBackpressure', async () => {
    const limit = 512 * KiB;
    const { peer, ws } = await stalledPeer({ maxBackpressure: limit });
    // 16 MiB: more than the kernel's send and receive buffers on loopback can absorb however far
    // they autotune (4 MiB wmem + 6 MiB rmem by default), so the writer must wait.
    const WRITES = 256;
    const writer = ws.writable.getWriter();
    let written = 0;
    let maxBuffered = 0;
    const writing = (async () => {
      for (let k = 0; k < WRITES; k++) {
        await writer.write(tagged(k, 64 * KiB));
        written++;
        maxBuffered = Math.max(maxBuffered, ws.bufferedAmount);
      }
    })();
    await new Promise((r) => setTimeout(r, 300));
    expect(written).toBeLessThan(WRITES);
    expect(ws.bufferedAmount).toBeLessThanOrEqual(limit);
    peer.sock.resume();
    await within(writing, 15_000, 'all writes');
    expect(maxBuffered).toBeLessThanOrEqual(limit);
    await waitUntil(() => peer.received >= WRITES * frameSize(64 * KiB), 'all bytes', 15_000);
    expect(frames(peer.buffered).map((f) => f.payload.readUInt32BE(0))).toEqual([...Array(WRITES).keys()]);
  }, 40_000);
});

describe('client side', () => {
  it('our client: bufferedAmount counts masked frames exactly (header + 4-byte key + payload); drain follows when the server reads again', async () => {
    const { wss, url } = await server();
    const conn = next<[WS]>(wss, 'connection');
    const c = cleanup.add(await within(lib.connect(url, { maxBackpressure: 256 * MiB }), 5000, 'connect'), (x) => x.terminate());
    const [ws] = await conn;
    ws.pause(); // the server stops reading: the client's data backs up
    const received: Buffer[] = [];
    ws.on('message', (m) => received.push(m as Buffer));
    const sent: Buffer[] = [];
    let st: string = 'success';
    for (let k = 0; k < 200 && st !== 'backpressure'; k++) {
      const b = tagged(k, MiB);
      st = c.send(b);
      sent.push(b);
    }
    expect(st).toBe('backpressure');
    let expected = c.bufferedAmount;
    for (const size of [0, 125, 126, 65535, 65536, 300_000]) {
      const b = tagged(sent.length, Math.max(size, 8)).subarray(0, size);
      const before = c.bufferedAmount;
      expect(c.send(b)).toBe('backpressure');
      expect(c.bufferedAmount - before, `frame of ${size}`).toBe(frameSize(size) + 4);
      expected += frameSize(size) + 4;
      sent.push(Buffer.from(b));
    }
    expect(c.bufferedAmount).toBe(expected);
    const drained = next(c, 'drain', 15_000);
    ws.resume();
    await drained;
    expect(c.bufferedAmount).toBe(0);
    await waitUntil(() => received.length === sent.length, 'every message at the server', 15_000);
    received.forEach((m, k) => expect(m.equals(sent[k]!), `message ${k}`).toBe(true));
  }, 40_000);
});

describe('a server consumer that stops pulling', () => {
  it('for await stalled: the socket stops reading, the flooding client hits backpressure, memory stays bounded, nothing is lost', async () => {
    const gc = gcFunction();
    const { wss, url } = await server();
    let release!: () => void;
    const stall = new Promise<void>((r) => { release = r; });
    const consumed: number[] = [];
    let delivered = 0;
    let deliveredBytes = 0;
    let serverWs: WS | undefined;
    const consumer = new Promise<void>((resolve, reject) => {
      wss.on('connection', async (ws) => {
        serverWs = ws;
        ws.on('message', (m) => { delivered++; deliveredBytes += (m as Buffer).length; });
        try {
          for await (const m of ws) {
            if ((m as Buffer).length === 1) break; // the end marker
            consumed.push((m as Buffer).readUInt32BE(0));
            if (consumed.length === 1) await stall; // stops pulling
          }
          resolve();
        } catch (error) {
          reject(error);
        }
      });
    });
    const c = cleanup.add(await within(lib.connect(url), 5000, 'connect'), (x) => x.terminate());
    await waitUntil(() => serverWs !== undefined, 'connection');

    gc?.();
    const rssBefore = process.memoryUsage().rss;
    const chunk = 64 * KiB;
    const accepted: number[] = [];
    const statusCount: Record<string, number> = { success: 0, backpressure: 0, dropped: 0 };
    let attempted = 0;
    let maxClientBuffered = 0;
    const started = Date.now();
    let id = 0;
    // A dropped message was not taken, so its Buffer is reused for the next id (this keeps the
    // test's own allocations out of the RSS figure; were a dropped Buffer still referenced by
    // the socket, the ids received below would show it).
    let current = tagged(id, chunk);
    while (Date.now() - started < 1000) {
      for (let k = 0; k < 16; k++) {
        current.writeUInt32BE(id, 0);
        const st = c.send(current);
        statusCount[st]!++;
        attempted += chunk;
        if (st !== 'dropped') {
          accepted.push(id);
          current = tagged(id + 1, chunk);
        }
        id++;
      }
      maxClientBuffered = Math.max(maxClientBuffered, c.bufferedAmount);
      await new Promise((r) => setImmediate(r));
    }
    const acceptedBytes = accepted.length * chunk;
    const deliveredWhileStalled = deliveredBytes;
    gc?.();
    const rssGrowth = process.memoryUsage().rss - rssBefore;

    // TCP backpressure reached the sender: it had to queue, then drop.
    expect(statusCount.backpressure).toBeGreaterThan(0);
    expect(c.bufferedAmount).toBeGreaterThan(0);
    expect(maxClientBuffered).toBeLessThanOrEqual(lib.defaults.maxBackpressure);
    expect(serverWs!.isPaused).toBe(true);
    // The server took at most its queue bound (16 messages / 1 MiB) plus what a few reads hold.
    expect(consumed).toEqual([0]);
    expect(deliveredWhileStalled).toBeLessThanOrEqual(3 * MiB);
    // The client got rid of only what the kernel buffers hold plus its own backlog.
    expect(acceptedBytes).toBeLessThan(48 * MiB);
    expect(attempted).toBeGreaterThan(acceptedBytes);
    // And the process did not keep what the peer tried to send (RSS is noisy: a generous bound).
    expect(rssGrowth).toBeLessThan(48 * MiB);
    expect(rssGrowth).toBeLessThan(attempted / 4);

    // Resume: every accepted message arrives, in order, and nothing else.
    release();
    const drained = c.bufferedAmount === 0 ? Promise.resolve() : next(c, 'drain', 20_000);
    await drained;
    expect(c.send(Buffer.from([0xff]))).not.toBe('dropped'); // end marker (length 1)
    await within(consumer, 20_000, 'consumer to finish');
    expect(consumed).toEqual(accepted);
    expect(delivered).toBe(accepted.length + 1);
  }, 40_000);
});
