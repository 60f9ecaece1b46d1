// server.publish(topic, data, { exclude }): one subscriber left out natively (the Pusher HTTP
// API's socket_id), the others get the message framed once; typed errors for a bad `exclude`.
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';

import { Cleanup, loadPackage, next, waitUntil } from './helpers';

const lib = loadPackage();
type Socket = import('sockudo-ws').WebSocket;

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

async function setup(n: number) {
  const wss = cleanup.add(new lib.WebSocketServer({ port: 0, host: '127.0.0.1' }), (s) => s.close());
  await next(wss, 'listening');
  const conns: Socket[] = [];
  wss.on('connection', (ws) => conns.push(ws));
  const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
  const clients = await Promise.all(Array.from({ length: n }, async () => {
    const socket = cleanup.add(await lib.connect(url), (c) => c.terminate());
    const got: string[] = [];
    socket.on('message', (m) => got.push(String(m)));
    return { socket, got };
  }));
  await waitUntil(() => conns.length === n, 'connections');
  return { wss, conns, clients };
}

describe('publish with exclude', () => {
  it('every subscriber but the excluded one gets the message; the count says so', async () => {
    const { wss, conns, clients } = await setup(4);
    for (const c of conns) c.subscribe('room');
    const excluded = conns[1]!;
    expect(wss.publish('room', 'one', { exclude: excluded })).toBe(3);
    expect(wss.publish('room', 'two')).toBe(4);
    await waitUntil(() => clients.reduce((n, c) => n + c.got.length, 0) === 7, 'deliveries');
    // Which client is conns[1]? The one that got only "two".
    const counts = clients.map((c) => c.got.join(',')).sort();
    expect(counts).toEqual(['one,two', 'one,two', 'one,two', 'two']);
    // Binary and compress options still apply next to exclude.
    expect(wss.publish('room', Buffer.from('bin'), { exclude: conns[0]!, binary: true })).toBe(3);
  });

  it('excluding a socket that is not subscribed, or has closed, excludes nobody', async () => {
    const { wss, conns, clients } = await setup(3);
    conns[0]!.subscribe('room');
    conns[1]!.subscribe('room');
    expect(wss.publish('room', 'x', { exclude: conns[2]! })).toBe(2);
    const closing = conns[1]!;
    const closed = next(closing, 'close');
    closing.terminate();
    await closed;
    expect(wss.publish('room', 'y', { exclude: closing })).toBe(1);
    await waitUntil(() => clients[0]!.got.length === 2, 'deliveries');
  });

  it('exclude must be a WebSocket or a key (typed error), other option names are still refused', async () => {
    const { wss } = await setup(1);
    expect(() => wss.publish('room', 'x', { exclude: {} as never })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => wss.publish('room', 'x', { exclude: undefined, bogus: 1 } as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    // A key needs resolveExclude.
    expect(() => wss.publish('room', 'x', { exclude: 'some-id' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
  });

  it('exclude as a connection key, resolved by the resolveExclude option (unknown keys exclude nobody)', async () => {
    const byKey = new Map<string, Socket>();
    const wss = cleanup.add(new lib.WebSocketServer({ port: 0, host: '127.0.0.1', resolveExclude: (key) => byKey.get(key) }), (s) => s.close());
    await next(wss, 'listening');
    let n = 0;
    wss.on('connection', (ws) => { byKey.set(`k${n++}`, ws); ws.subscribe('room'); });
    const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
    const clients = [];
    for (let i = 0; i < 3; i++) {
      const socket = cleanup.add(await lib.connect(url), (c) => c.terminate());
      const got: string[] = [];
      socket.on('message', (m) => got.push(String(m)));
      clients.push(got);
      await waitUntil(() => n === i + 1, 'connection');
    }
    expect(wss.publish('room', 'a', { exclude: 'k1' })).toBe(2);
    expect(wss.publish('room', 'b', { exclude: 'nobody' })).toBe(3);
    await waitUntil(() => clients.flat().length === 5, 'deliveries');
    expect(clients).toEqual([['a', 'b'], ['b'], ['a', 'b']]);
  });
});
