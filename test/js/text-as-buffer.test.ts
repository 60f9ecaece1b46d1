// textAsBuffer: text messages reach JavaScript as Buffers of their UTF-8 (validated by the core),
// and a Buffer sent back as text is validated by the native send and sent without re-encoding.
// Also: sockets that became readable in one loop turn are read together in the check phase
// (native/transport/event_loop.h), which must still honour a pause() made by another socket's
// handler in that turn.
import * as http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';

import { Cleanup, loadPackage, randomUtf8, runNode, waitUntil, within } from './helpers';

const { WebSocketServer, connect } = loadPackage();
type WS = import('sockudo-ws').WebSocket;
type ServerOptions = import('sockudo-ws').ServerCommonOptions<unknown> & Record<string, unknown>;

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

async function listen(options: ServerOptions = {}) {
  const wss = cleanup.add(new WebSocketServer({ port: 0, host: '127.0.0.1', ...options } as never), (s) => s.close());
  await new Promise((r) => wss.once('listening', r));
  return { wss, url: `ws://127.0.0.1:${(wss.address() as { port: number }).port}` };
}

async function client(url: string, options?: import('sockudo-ws').ClientOptions): Promise<WS> {
  return cleanup.add(await connect(url, options), (c) => c.terminate());
}

function collect(ws: WS, n: number): Promise<[unknown, boolean][]> {
  const got: [unknown, boolean][] = [];
  return within(new Promise((resolve) => ws.on('message', (d, b) => { got.push([d, b]); if (got.length === n) resolve(got); })), 5000, `${n} messages`);
}

const TEXTS = ['', 'plain ascii', 'héllo wörld €💩', randomUtf8(20_000, 7).toString('utf8'), 'x'.repeat(70_000)];

describe('textAsBuffer', () => {
  it('a server with textAsBuffer gets text as Buffers of its UTF-8 (isBinary false), binary as before; echoed as text they arrive as the same strings', async () => {
    const { wss, url } = await listen({ textAsBuffer: true });
    const seen: [unknown, boolean][] = [];
    wss.on('connection', (ws) => ws.on('message', (d, isBinary) => {
      seen.push([d, isBinary]);
      ws.send(d, { binary: isBinary });
    }));
    const c = await client(url);
    const echoes = collect(c, TEXTS.length + 1);
    for (const t of TEXTS) c.send(t);
    c.send(Buffer.from([0, 1, 0xff]));
    const got = await echoes;
    expect(seen.map(([d]) => Buffer.isBuffer(d))).toEqual(TEXTS.map(() => true).concat(true));
    expect(seen.map(([, b]) => b)).toEqual(TEXTS.map(() => false).concat(true));
    expect(seen.slice(0, TEXTS.length).map(([d]) => d)).toEqual(TEXTS.map((t) => Buffer.from(t, 'utf8')));
    // The default client receives the echoed Buffers as text: strings again, byte for byte.
    expect(got.slice(0, TEXTS.length)).toEqual(TEXTS.map((t) => [t, false]));
    expect(got[TEXTS.length]).toEqual([Buffer.from([0, 1, 0xff]), true]);
  });

  it('a client with textAsBuffer gets Buffers from events and from the async iterator', async () => {
    const { wss, url } = await listen();
    wss.on('connection', (ws) => { ws.send('één'); ws.send('twee'); ws.send(Buffer.from('drie'), { binary: false }); });
    const c = await client(url, { textAsBuffer: true });
    const events = collect(c, 3);
    const fromIterator: unknown[] = [];
    for await (const m of c) { fromIterator.push(m); if (fromIterator.length === 3) break; }
    expect(await events).toEqual([[Buffer.from('één'), false], [Buffer.from('twee'), false], [Buffer.from('drie'), false]]);
    expect(fromIterator).toEqual([Buffer.from('één'), Buffer.from('twee'), Buffer.from('drie')]);
  });

  it('handleUpgrade() connections follow the option too', async () => {
    const wss = cleanup.add(new WebSocketServer({ noServer: true, textAsBuffer: true }), (s) => s.close());
    const server = cleanup.add(http.createServer(), (s) => s.close());
    server.on('upgrade', (req, socket, head) => { wss.handleUpgrade(req, socket, head).catch(() => {}); });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const received = new Promise<[unknown, boolean]>((resolve) => wss.on('connection', (ws) => ws.once('message', (d, b) => resolve([d, b]))));
    const c = await client(`ws://127.0.0.1:${(server.address() as { port: number }).port}`);
    c.send('über');
    expect(await within(received, 5000, 'the message')).toEqual([Buffer.from('über'), false]);
  });

  it('bytes that are not UTF-8 sent as text throw ERR_INVALID_ARG_VALUE, send nothing, and the connection carries on', async () => {
    const { wss, url } = await listen({ textAsBuffer: true });
    wss.on('connection', (ws) => ws.on('message', (d, b) => ws.send(d, { binary: b })));
    const c = await client(url);
    const got = collect(c, 1);
    for (const bad of [Buffer.from([0xff]), Buffer.from([0xe2, 0x82]), Buffer.from('abc\xed\xa0\x80', 'latin1')]) {
      expect(() => c.send(bad, { binary: false })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    }
    expect(c.bufferedAmount).toBe(0);
    c.send(new Uint8Array(Buffer.from('still here')), { binary: false });
    expect(await got).toEqual([['still here', false]]);
    c.close(1000);
    await new Promise((r) => c.once('close', r));
    // After the close, the check is still made (in JavaScript now).
    expect(() => c.send(Buffer.from([0xff]), { binary: false })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
  });

  it('textAsBuffer must be a boolean', async () => {
    expect(() => new WebSocketServer({ noServer: true, textAsBuffer: 'yes' } as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    await expect(connect('ws://127.0.0.1:1', { textAsBuffer: 1 } as never)).rejects.toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
  });
});

describe('small byte messages are views of a shared pool', () => {
  it('an empty binary message as the very first message of a process arrives (the first message makes the pool)', () => {
    // A fresh process: in a shared test worker another test may have made the pool already.
    const r = runNode(`
      const { WebSocketServer, connect } = require('sockudo-ws');
      const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
      wss.on('listening', async () => {
        wss.on('connection', (ws) => ws.on('message', (d, b) => ws.send(d, { binary: b })));
        const c = await connect('ws://127.0.0.1:' + wss.address().port);
        const got = [];
        c.on('message', (d, b) => { got.push([Buffer.isBuffer(d), d.length, b]); if (got.length === 2) { console.log(JSON.stringify(got)); c.close(); wss.close(); } });
        c.send(Buffer.alloc(0));
        c.send(Buffer.from([7]));
      });
      setTimeout(() => { console.log('timeout'); process.exit(3); }, 10000).unref();
    `);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([[true, 0, true], [true, 1, true]]);
  });

  it('pooled Buffers keep their bytes while later messages arrive, and the pool cannot be transferred away', async () => {
    const { wss, url } = await listen();
    const kept: Buffer[] = [];
    wss.on('connection', (ws) => ws.on('message', (d) => kept.push(d as Buffer)));
    const c = await client(url);
    // 3,000 messages of 1 to 2,048 bytes: several pools, each message a different byte.
    const sizes = Array.from({ length: 3000 }, (_, i) => 1 + ((i * 977) % 2048));
    sizes.forEach((n, i) => c.send(Buffer.alloc(n, i & 0xff)));
    await waitUntil(() => kept.length === sizes.length, 'every message', 10_000);
    kept.forEach((b, i) => { expect(b.length).toBe(sizes[i]); expect(b.every((x) => x === (i & 0xff))).toBe(true); });
    // Untransferable: Node 20 copies it instead (later versions throw DataCloneError); either way
    // the pool is not detached under the other messages.
    const { port1 } = new MessageChannel();
    try { port1.postMessage(kept[0], [kept[0]!.buffer as ArrayBuffer]); } catch { /* DataCloneError */ }
    port1.close();
    expect(kept[0]!.buffer.byteLength).toBeGreaterThan(0);
    expect(kept[0]!.every((x) => x === 0) && kept[1]!.every((x) => x === 1)).toBe(true);
  });
});

describe('sockets read together in one loop turn', () => {
  it('pause() of a connection from another connection\'s handler holds its messages back, even when both were readable in the same turn', async () => {
    const { wss, url } = await listen();
    const conns: WS[] = [];
    wss.on('connection', (ws) => conns.push(ws));
    const a = await client(url);
    const b = await client(url);
    await waitUntil(() => conns.length === 2, 'two connections');
    const [sa, sb] = conns as [WS, WS];
    for (let round = 0; round < 20; round++) {
      const log: string[] = [];
      let paused = false;
      const onA = (d: unknown) => { log.push(`a:${d}`); if (!paused) { paused = true; sb.pause(); } };
      const onB = (d: unknown) => { log.push(`b:${d}`); if (paused) log.push('b while paused'); };
      sa.on('message', onA);
      sb.on('message', onB);
      // Written back to back: the server usually finds both sockets readable in one poll.
      a.send(`${round}`);
      b.send(`${round}`);
      await waitUntil(() => log.includes(`a:${round}`), 'a\'s message');
      await new Promise((r) => setTimeout(r, 10));
      expect(log).not.toContain('b while paused');
      sb.resume();
      await waitUntil(() => log.includes(`b:${round}`), 'b\'s message after resume');
      sa.off('message', onA);
      sb.off('message', onB);
    }
  });
});
