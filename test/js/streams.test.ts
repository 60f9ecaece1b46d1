// Pull-style consumers: async iteration, ws.readable and ws.writable (the split API), with
// bounded receive buffering that pauses the socket.
import { once } from 'node:events';
import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';

import { Cleanup, clientFrame, loadPackage, next, upgradeRequest, within } from './helpers';

const lib = loadPackage();
const { WebSocketServer, connect } = lib;
type WS = InstanceType<typeof lib.WebSocket>;

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

/** A server and one connected client; resolves with both ends. */
async function pair(options: Record<string, unknown> = {}) {
  const wss = cleanup.add(new WebSocketServer({ port: 0, host: '127.0.0.1', ...options }), (s) => s.close());
  await next(wss, 'listening');
  const conn = next<[WS]>(wss, 'connection');
  const c = cleanup.add(await connect(`ws://127.0.0.1:${(wss.address() as { port: number }).port}/`), (x) => x.terminate());
  const [s] = await conn;
  return { wss, server: s, client: c };
}

const waitUntil = (cond: () => boolean, what: string, ms = 5000) =>
  within((async () => { while (!cond()) await new Promise((r) => setTimeout(r, 5)); })(), ms, what);

describe('async iteration', () => {
  it('yields messages in order (text as strings, binary as Buffers) and ends when the connection closes', async () => {
    const { server, client } = await pair();
    const received = (async () => {
      const out: unknown[] = [];
      for await (const m of client) out.push(m);
      return out;
    })();
    server.send('one');
    server.send(Buffer.from([2]));
    server.send('three');
    server.close(1000);
    expect(await within(received, 5000, 'iteration')).toEqual(['one', Buffer.from([2]), 'three']);
  });

  it('break leaves the connection open; messages keep flowing as events; a new iterator can start', async () => {
    const { server, client } = await pair();
    server.send('a');
    server.send('b');
    for await (const m of client) {
      expect(m).toBe('a');
      break;
    }
    expect(client.readyState).toBe(1);
    const ev = next<[string]>(client, 'message');
    server.send('c');
    expect((await ev)[0]).toBe('c');
    const it2 = client[Symbol.asyncIterator]();
    server.send('d');
    expect(await it2.next()).toEqual({ value: 'd', done: false });
    await it2.return!();
  });

  it('throws the WebSocketError when the peer breaks the protocol (after earlier messages)', async () => {
    const wss = cleanup.add(new WebSocketServer({ port: 0, host: '127.0.0.1' }), (s) => s.close());
    await next(wss, 'listening');
    const result = new Promise<{ got: unknown[]; error: unknown }>((resolve) => {
      wss.on('connection', async (ws) => {
        const got: unknown[] = [];
        try {
          for await (const m of ws) got.push(m);
          resolve({ got, error: null });
        } catch (error) {
          resolve({ got, error });
        }
      });
    });
    const sock = cleanup.add(net.connect((wss.address() as { port: number }).port, '127.0.0.1'), (s) => s.destroy());
    await once(sock, 'connect');
    sock.write(upgradeRequest());
    sock.write(Buffer.concat([clientFrame(0x1, 'fine'), clientFrame(0x1, Buffer.from([0xc3, 0x28]))])); // invalid UTF-8
    const { got, error } = await within(result, 5000, 'iteration result');
    expect(got).toEqual(['fine']);
    expect(error).toBeInstanceOf(lib.WebSocketError);
    expect(error).toMatchObject({ code: 'WS_ERR_INVALID_UTF8', closeCode: 1007 });
  });

  it('on an already closed socket, iteration ends at once', async () => {
    const { client } = await pair();
    const closed = next(client, 'close');
    client.terminate();
    await closed;
    const out: unknown[] = [];
    for await (const m of client) out.push(m);
    expect(out).toEqual([]);
  });

  it('bounded buffering: a consumer that does not pull pauses the socket; pulling resumes it', async () => {
    const { server, client } = await pair();
    const it = client[Symbol.asyncIterator]();
    const chunk = Buffer.alloc(100 * 1024);
    for (let i = 0; i < 40; i++) server.send(chunk); // 4 MiB, far beyond the 16 message / 1 MiB mark
    await waitUntil(() => client.isPaused, 'reading paused by the full queue');
    let n = 0;
    while (n < 40) {
      const r = await within(it.next(), 5000, `message ${n}`);
      expect((r.value as Buffer).length).toBe(chunk.length);
      n++;
    }
    expect(client.isPaused).toBe(false);
    await it.return!();
  });

  it('pause()/resume() stop and restart reading independently of consumers', async () => {
    const { server, client } = await pair();
    const got: unknown[] = [];
    client.on('message', (m) => got.push(m));
    client.pause();
    expect(client.isPaused).toBe(true);
    server.send('held');
    await new Promise((r) => setTimeout(r, 100));
    expect(got).toEqual([]);
    client.resume();
    await waitUntil(() => got.length === 1, 'message after resume');
    expect(got).toEqual(['held']);
  });
});

describe('WHATWG streams', () => {
  it('readable delivers messages and closes with the connection', async () => {
    const { server, client } = await pair();
    const reader = client.readable.getReader();
    server.send('x');
    server.send(Buffer.from('y'));
    expect(await reader.read()).toEqual({ value: 'x', done: false });
    expect(await reader.read()).toEqual({ value: Buffer.from('y'), done: false });
    server.close(1000);
    expect(await within(reader.read(), 5000, 'end of stream')).toEqual({ value: undefined, done: true });
    expect(client.readable).toBe(client.readable);
  });

  it('cancelling the readable closes the connection with 1000', async () => {
    const { server, client } = await pair();
    const closed = next<[number]>(server, 'close');
    await client.readable.cancel();
    expect((await closed)[0]).toBe(1000);
  });

  it('writable: write() resolves, close() closes the connection, writes after close reject', async () => {
    const { server, client } = await pair();
    const got: unknown[] = [];
    server.on('message', (m) => got.push(m));
    const writer = client.writable.getWriter();
    await writer.write('one');
    await writer.write(new Uint8Array([2]));
    await waitUntil(() => got.length === 2, 'two messages');
    expect(got).toEqual(['one', Buffer.from([2])]);
    const serverClosed = next<[number]>(server, 'close');
    await within(writer.close(), 5000, 'writable close');
    expect(client.readyState).toBe(3);
    expect((await serverClosed)[0]).toBe(1000);

    const second = await pair();
    const w2 = second.client.writable.getWriter();
    second.client.terminate();
    await expect(w2.write('late')).rejects.toMatchObject({ code: 'ERR_SOCKUDO_WS_INVALID_STATE' });
  });

  it('writable waits for drain under backpressure instead of growing the send buffer', async () => {
    const { server, client } = await pair();
    server.pause(); // the server stops reading: the client's writes back up
    const writer = client.writable.getWriter();
    const chunk = Buffer.alloc(256 * 1024);
    let written = 0;
    const writing = (async () => {
      for (let i = 0; i < 64; i++) {
        await writer.write(chunk);
        written++;
      }
    })();
    await new Promise((r) => setTimeout(r, 300));
    expect(written).toBeLessThan(64);
    expect(client.bufferedAmount).toBeLessThanOrEqual(2 * 1024 * 1024);
    let total = 0;
    server.on('message', (m) => { total += (m as Buffer).length; });
    server.resume();
    await within(writing, 15_000, 'all writes');
    await waitUntil(() => total === 64 * chunk.length, 'all bytes at the server', 15_000);
  }, 30_000);

  it('the split API: readable piped into writable (a streams echo), used from different tasks', async () => {
    const { server, client } = await pair();
    void server.readable.pipeTo(server.writable).catch(() => {});
    const writer = client.writable.getWriter();
    const reading = (async () => {
      const out: unknown[] = [];
      for await (const m of client) {
        out.push(m);
        if (out.length === 3) break;
      }
      return out;
    })();
    await writer.write('a');
    await writer.write(Buffer.from('b'));
    await writer.write('c');
    expect(await within(reading, 5000, 'echoes')).toEqual(['a', Buffer.from('b'), 'c']);
  });

  it('only one reader: an async iterator and readable cannot be used together', async () => {
    const { client } = await pair();
    const it = client[Symbol.asyncIterator]();
    expect(() => client.readable).toThrow(expect.objectContaining({ code: 'ERR_SOCKUDO_WS_INVALID_STATE' }));
    await it.return!();
    expect(client.readable).toBeDefined(); // the iterator released the socket
    expect(() => client[Symbol.asyncIterator]()).toThrow(lib.InvalidStateError);
  });
});
