// sockudo-ws/whatwg (the browser's WebSocket class) against undici's WebSocket — the
// implementation behind Node's global WebSocket — differentially: every script runs with both
// classes against the same `ws` server, and the transcripts (events in order, readyState,
// message data types and contents, close codes, reasons and wasClean, DOMException names) must be
// equal. Then pusher-js (Node build) runs on our class through its Runtime's WebSocket hook.
import { once } from 'node:events';
import type * as net from 'node:net';
import * as path from 'node:path';
import { createRequire } from 'node:module';

import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer as WsServer } from 'ws';

import { Cleanup, requireFromRoot, within } from './helpers';
import { setup } from './pusher-helpers';

const requireHere = createRequire(__filename);
type Ctor = typeof import('undici').WebSocket;
const UNDICI = (requireHere('undici') as typeof import('undici')).WebSocket;
const OURS = (requireHere(path.join(__dirname, '..', '..', 'dist', 'cjs', 'whatwg.js')) as { WebSocket: Ctor }).WebSocket;
const IMPLS: [string, Ctor][] = [['undici', UNDICI], ['sockudo-ws/whatwg', OURS]];

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

/** A `ws` server: echoes, and acts on a few commands ("close", "terminate", "protocol?"). */
async function wsServer(options: Record<string, unknown> = {}) {
  const wss = new WsServer({ port: 0, host: '127.0.0.1', ...options });
  cleanup.add(wss, (s) => new Promise<void>((resolve) => {
    for (const c of s.clients) c.terminate();
    s.close(() => resolve());
  }));
  await once(wss, 'listening');
  wss.on('connection', (ws) => {
    ws.on('message', (data, isBinary) => {
      const text = isBinary ? '' : data.toString();
      if (text === 'close') ws.close(4001, 'server says bye');
      else if (text === 'terminate') ws.terminate();
      else ws.send(data, { binary: isBinary });
    });
  });
  return { wss, port: (wss.address() as net.AddressInfo).port };
}

async function describeData(data: unknown): Promise<string> {
  if (typeof data === 'string') return `string:${data}`;
  if (data instanceof ArrayBuffer) return `ArrayBuffer:${Buffer.from(data).toString('hex')}`;
  if (data instanceof Blob) return `Blob(${data.size}):${Buffer.from(await data.arrayBuffer()).toString('hex')}`;
  return `other:${String(data)}`;
}

/** Records a socket's events (type, readyState at the time, and their fields) into `log`. */
function record(ws: InstanceType<Ctor>, log: string[]): Promise<void> {
  const pending: Promise<void>[] = [];
  ws.addEventListener('open', () => log.push(`open ${ws.readyState} protocol="${ws.protocol}" extensions="${ws.extensions}"`));
  ws.addEventListener('message', (e) => {
    const entry = log.length;
    log.push('message …');
    pending.push(describeData(e.data).then((d) => { log[entry] = `message ${d} ${e.origin.startsWith('ws://127.0.0.1:')}`; }));
  });
  ws.addEventListener('error', (e) => log.push(`error ${e.constructor.name} ${ws.readyState}`));
  return new Promise((resolve) => ws.addEventListener('close', (e) => {
    log.push(`close ${e.code} "${e.reason}" ${e.wasClean} ${ws.readyState}`);
    void Promise.all(pending).then(() => resolve());
  }));
}

async function same(script: (WebSocket: Ctor, log: string[]) => Promise<void>): Promise<string[]> {
  const logs: string[][] = [];
  for (const [, WebSocket] of IMPLS) {
    const log: string[] = [];
    await within(script(WebSocket, log), 15_000, 'script');
    await cleanup.run();
    logs.push(log);
  }
  expect(logs[1], 'sockudo-ws/whatwg against undici').toEqual(logs[0]);
  return logs[0]!;
}

const name = (f: () => unknown): string => {
  try {
    f();
    return 'ok';
  } catch (e) {
    return `${(e as Error).constructor.name}/${(e as Error).name}`;
  }
};

describe('sockudo-ws/whatwg against undici (Node\'s global WebSocket), differential', () => {
  it('open, text and binary messages (Blob by default, ArrayBuffer after binaryType), sends of every kind, close 1000 with a reason', async () => {
    const log = await same(async (WebSocket, log) => {
      const { port } = await wsServer();
      const ws = new WebSocket(`ws://127.0.0.1:${port}/path?q=1`);
      cleanup.add(ws, (w) => w.close());
      log.push(`constructed ${ws.readyState} ${ws.url.replace(String(port), 'PORT')} ${ws.binaryType} ${ws.bufferedAmount} "${ws.protocol}"`);
      const closed = record(ws, log);
      await new Promise((r) => ws.addEventListener('open', r));
      const nextMessage = () => new Promise((r) => ws.addEventListener('message', r, { once: true }));
      for (const data of ['héllo ✓', new Uint8Array([1, 2, 3]), new Uint16Array([0x0102]).buffer, new DataView(new Uint8Array([9, 9]).buffer), new Blob(['blob text'])]) {
        ws.send(data as never);
        await nextMessage();
      }
      ws.binaryType = 'arraybuffer';
      log.push(`binaryType ${ws.binaryType}`);
      ws.send(new Uint8Array([4, 5]));
      await nextMessage();
      ws.close(1000, 'done ✓');
      log.push(`after close() ${ws.readyState}`);
      await closed;
    });
    expect(log.length).toBeGreaterThan(8);
  });

  it('a Blob sent before a string still arrives first (sends keep their order)', async () => {
    await same(async (WebSocket, log) => {
      const { port } = await wsServer();
      const ws = new WebSocket(`ws://127.0.0.1:${port}`);
      const closed = record(ws, log);
      await new Promise((r) => ws.addEventListener('open', r));
      let n = 0;
      const three = new Promise((r) => ws.addEventListener('message', () => ++n === 3 && r(undefined)));
      ws.send(new Blob([new Uint8Array(100_000).fill(1)]));
      ws.send('after the blob');
      ws.send(new Uint8Array([7]));
      await three;
      ws.close();
      await closed;
    });
  });

  it('argument checks: the constructor (SyntaxError), send() while connecting (InvalidStateError), close() codes (InvalidAccessError) and reasons (SyntaxError)', async () => {
    await same(async (WebSocket, log) => {
      const { port } = await wsServer();
      for (const url of ['not a url', 'ftp://127.0.0.1/', `ws://127.0.0.1:${port}/#frag`]) log.push(`new ${url.replace(String(port), 'PORT')}: ${name(() => new WebSocket(url))}`);
      log.push(`duplicate protocols: ${name(() => new WebSocket(`ws://127.0.0.1:${port}`, ['a', 'a']))}`);
      log.push(`invalid protocol: ${name(() => new WebSocket(`ws://127.0.0.1:${port}`, ['a b']))}`);
      const ws = new WebSocket(`ws://127.0.0.1:${port}`);
      const closed = record(ws, log);
      log.push(`send while connecting: ${name(() => ws.send('x'))}`);
      await new Promise((r) => ws.addEventListener('open', r));
      for (const code of [999, 1001, 1005, 2999, 5000]) log.push(`close(${code}): ${name(() => ws.close(code))}`);
      log.push(`long reason: ${name(() => ws.close(1000, 'x'.repeat(124)))}`);
      log.push(`state ${ws.readyState}`);
      ws.close(4000);
      await closed;
    });
  });

  it('the server closes 4001 with a reason (clean); the server drops the connection (close 1006, not clean, no error event)', async () => {
    await same(async (WebSocket, log) => {
      const { port } = await wsServer();
      for (const command of ['close', 'terminate']) {
        const ws = new WebSocket(`ws://127.0.0.1:${port}`);
        const closed = record(ws, log);
        await new Promise((r) => ws.addEventListener('open', r));
        ws.send(command);
        await closed;
      }
    });
  });
});

// Where undici 6 (Node 20's global WebSocket: 6.24) departs from the standard, ours follows the
// standard and these say what it requires (undici fires no close event after a failed connection,
// fires error twice for close() while connecting, resets binaryType on an invalid value and does
// not count sends after closing in bufferedAmount).
describe('sockudo-ws/whatwg where undici 6 departs from the WebSockets Standard', () => {
  it('a connection that fails (nothing listens) fires error, then close 1006, not clean ("fail the WebSocket connection")', async () => {
    const log: string[] = [];
    await within(record(new OURS('ws://127.0.0.1:1'), log), 10_000, 'close');
    expect(log).toEqual(['error Event 3', 'close 1006 "" false 3']);
  });

  it('close() while connecting: readyState CLOSING at once, then error and close 1006 once each', async () => {
    const { port } = await wsServer();
    const ws = new OURS(`ws://127.0.0.1:${port}`);
    const log: string[] = [];
    const closed = record(ws, log);
    ws.close();
    expect(ws.readyState).toBe(2);
    await within(closed, 10_000, 'close');
    await new Promise((r) => setTimeout(r, 50));
    expect(log).toEqual(['error Event 3', 'close 1006 "" false 3']);
  });

  it('an invalid binaryType is ignored (WebIDL enum); sends after closing count in bufferedAmount', async () => {
    const { port } = await wsServer();
    const ws = new OURS(`ws://127.0.0.1:${port}`);
    const closed = record(ws, []);
    await new Promise((r) => ws.addEventListener('open', r));
    ws.binaryType = 'arraybuffer';
    ws.binaryType = 'nonsense' as never;
    expect(ws.binaryType).toBe('arraybuffer');
    ws.close();
    await closed;
    ws.send('after close');
    expect(ws.bufferedAmount).toBe(11);
  });
});

describe('sockudo-ws/whatwg, more', () => {
  it('close() right after send(Blob): the Blob still goes out before the close frame; bufferedAmount counts it meanwhile', async () => {
    const received: string[] = [];
    const { wss, port } = await wsServer();
    wss.on('connection', (s) => {
      s.on('message', (d, isBinary) => received.push(`${isBinary ? 'binary' : 'text'} ${(d as Buffer).length}`));
      s.on('close', (code) => received.push(`close ${code}`));
    });
    const ws = new OURS(`ws://127.0.0.1:${port}`);
    cleanup.add(ws, (w) => w.close());
    await new Promise((r) => ws.addEventListener('open', r));
    ws.send(new Blob([new Uint8Array(200_000).fill(3)]));
    expect(ws.bufferedAmount).toBeGreaterThanOrEqual(200_000);
    ws.send('then text');
    ws.close(4002);
    await new Promise((r) => ws.addEventListener('close', r));
    await within(new Promise<void>((r) => { const t = setInterval(() => { if (received.length >= 3) { clearInterval(t); r(); } }, 10); }), 5000, 'server saw all');
    expect(received).toEqual(['binary 200000', 'text 9', 'close 4002']);
  });

  it('a Blob that cannot be read fails the connection: error, then close 1006 (not clean)', async () => {
    const fs = await import('node:fs');
    const os = await import('node:os');
    const openAsBlob = (fs as unknown as { openAsBlob?: (p: string) => Promise<Blob> }).openAsBlob;
    if (openAsBlob === undefined) return;
    const file = path.join(os.tmpdir(), `sockudo-ws-whatwg-blob-${process.pid}`);
    fs.writeFileSync(file, 'x'.repeat(64));
    cleanup.add(file, (f) => fs.rmSync(f, { force: true }));
    const blob = await openAsBlob(file);
    fs.writeFileSync(file, 'x'.repeat(32));  // now it cannot be read (NotReadableError)
    const { port } = await wsServer();
    const ws = new OURS(`ws://127.0.0.1:${port}`);
    cleanup.add(ws, (w) => w.close());
    const log: string[] = [];
    const closed = record(ws, log);
    await new Promise((r) => ws.addEventListener('open', r));
    ws.send(blob as never);
    await within(closed, 5000, 'close');
    expect(log).toEqual(['open 1 protocol="" extensions=""', 'error Event 3', 'close 1006 "" false 3']);
  });

  it('subprotocols: the one the server chose is `protocol`; on* attributes replace each other', async () => {
    await same(async (WebSocket, log) => {
      const { port } = await wsServer({ handleProtocols: (set: Set<string>) => [...set][1] ?? false });
      const ws = new WebSocket(`ws://127.0.0.1:${port}`, ['one', 'two']);
      const closed = record(ws, log);
      ws.onmessage = () => log.push('first onmessage');
      ws.onmessage = (e) => log.push(`second onmessage ${typeof (e as MessageEvent).data}`);
      log.push(`onmessage is a function: ${typeof ws.onmessage}; onclose ${ws.onclose}`);
      await new Promise((r) => ws.addEventListener('open', r));
      ws.send('x');
      await new Promise((r) => ws.addEventListener('message', r, { once: true }));
      ws.onmessage = null;
      ws.close(1000);
      await closed;
    });
  });
});

describe('pusher-js (its Node build) on sockudo-ws/whatwg', () => {
  it('connects to our Pusher-compatible server, subscribes and receives an event through our WebSocket class (Runtime.getWebSocketAPI)', async () => {
    const s = await setup(cleanup);
    const Pusher = requireFromRoot('pusher-js') as { Runtime: { getWebSocketAPI(): unknown } };
    const created: unknown[] = [];
    const original = Pusher.Runtime.getWebSocketAPI;
    Pusher.Runtime.getWebSocketAPI = () => class extends OURS {
      constructor(url: string) {
        super(url);
        created.push(this);
      }
    };
    cleanup.add(null, () => { Pusher.Runtime.getWebSocketAPI = original; });
    const client = s.client();
    await s.connected(client);
    const channel = client.subscribe('news');
    await within(new Promise<void>((resolve) => channel.bind('pusher:subscription_succeeded', () => resolve())), 5000, 'subscribed');
    const got = new Promise((resolve) => channel.bind('headline', resolve));
    await s.sdk.trigger('news', 'headline', { text: 'sockudo' });
    expect(await within(got, 5000, 'the event')).toEqual({ text: 'sockudo' });
    expect(created).toHaveLength(1);
    expect(created[0]).toBeInstanceOf(OURS);
  });
});
