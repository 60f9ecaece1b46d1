// Echo through our server at every frame-length class (RFC 6455 §5.2: 7-bit, 16-bit and 64-bit
// lengths, and the boundaries between them) up to 16 MiB (its server sets maxFrameSize 16 MiB), text and
// binary, with two clients: ours and the `ws` package. Contents are random (binary) or random
// multi-byte UTF-8 with 4-byte code points (text), and are checked byte for byte on the server
// (what it received) and on the client (what came back).
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket as WsClient } from 'ws';

import { Cleanup, loadPackage, next, randomUtf8, within } from './helpers';

const lib = loadPackage();
type WS = import('sockudo-ws').WebSocket;

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

const MiB = 1024 * 1024;
const sizes = [0, 125, 126, 65535, 65536, MiB, 16 * MiB];
type Kind = 'binary' | 'utf8 text' | 'ascii text';
const kinds: Kind[] = ['binary', 'utf8 text', 'ascii text'];

/** An echo server that also records what it received (to tell a receive bug from a send bug). */
async function echoServer() {
  // The defaults already allow 64 MiB frames and messages; stated explicitly so the test
  // keeps meaning the same thing if a default changes.
  const wss = cleanup.add(new lib.WebSocketServer({ port: 0, host: '127.0.0.1', maxPayloadLength: 32 * MiB, maxFrameSize: 16 * MiB }), (s) => s.close());
  await next(wss, 'listening');
  const received: { data: string | Buffer; isBinary: boolean }[] = [];
  wss.on('connection', (ws) => ws.on('message', (data, isBinary) => {
    received.push({ data, isBinary });
    const status = ws.send(data, { binary: isBinary });
    if (status === 'dropped') received.push({ data: 'SEND DROPPED', isBinary: false });
  }));
  return { wss, received, url: `ws://127.0.0.1:${(wss.address() as { port: number }).port}` };
}

/** Exactly `size` bytes: random bytes, random UTF-8 (1–4 byte code points) or random printable ASCII. */
function payload(kind: Kind, size: number, seed: number): Buffer {
  if (kind === 'binary') return randomBytes(size);
  if (kind === 'utf8 text') return randomUtf8(size, seed);
  const b = randomBytes(size);
  for (let i = 0; i < size; i++) b[i] = 0x20 + (b[i]! % 95);
  return b;
}

/** Compares without printing megabytes on failure. */
function expectSameBytes(actual: Buffer, expected: Buffer, what: string) {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  if (!actual.equals(expected)) {
    let i = 0;
    while (actual[i] === expected[i]) i++;
    expect.fail(`${what}: first difference at byte ${i} of ${expected.length}`);
  }
}

const cases = sizes.flatMap((size) => kinds.map((kind) => [kind, size] as const));

describe('our server ↔ our client', () => {
  it.each(cases)('%s, %i bytes', async (kind, size) => {
    const { received, url } = await echoServer();
    const c = cleanup.add(await within(lib.connect(url, { maxPayloadLength: 32 * MiB }), 5000, 'connect'), (x: WS) => x.terminate());
    const bytes = payload(kind, size, size + 7);
    const text = kind === 'binary' ? undefined : bytes.toString('utf8');
    if (text !== undefined) expect(Buffer.byteLength(text)).toBe(size); // the generator produced valid UTF-8
    const echoed = next<[string | Buffer, boolean]>(c, 'message', 20_000);
    expect(c.send(text ?? bytes)).not.toBe('dropped');
    const [data, isBinary] = await echoed;

    expect(received).toHaveLength(1);
    expect(received[0]!.isBinary).toBe(kind === 'binary');
    expect(isBinary).toBe(kind === 'binary');
    if (text === undefined) {
      expect(Buffer.isBuffer(received[0]!.data)).toBe(true);
      expect(Buffer.isBuffer(data)).toBe(true);
      expectSameBytes(received[0]!.data as Buffer, bytes, 'server received');
      expectSameBytes(data as Buffer, bytes, 'client received');
    } else {
      expect(typeof received[0]!.data).toBe('string');
      expect(typeof data).toBe('string');
      expectSameBytes(Buffer.from(received[0]!.data as string), bytes, 'server received');
      expectSameBytes(Buffer.from(data as string), bytes, 'client received');
      expect(data === text).toBe(true);
    }
  }, 40_000);
});

describe('our server ↔ ws client', () => {
  it.each(cases)('%s, %i bytes', async (kind, size) => {
    const { received, url } = await echoServer();
    const c = cleanup.add(new WsClient(url, { maxPayload: 32 * MiB }), (x) => x.terminate());
    await next(c, 'open');
    const bytes = payload(kind, size, size + 11);
    const echoed = next<[Buffer, boolean]>(c, 'message', 20_000);
    if (kind === 'binary') c.send(bytes, { binary: true });
    else c.send(bytes.toString('utf8')); // ws encodes the string as UTF-8: exactly `bytes`
    const [data, isBinary] = await echoed;

    expect(received).toHaveLength(1);
    expect(received[0]!.isBinary).toBe(kind === 'binary');
    expect(typeof received[0]!.data).toBe(kind === 'binary' ? 'object' : 'string');
    const got = received[0]!.data;
    expectSameBytes(typeof got === 'string' ? Buffer.from(got) : got, bytes, 'server received');
    expect(isBinary).toBe(kind === 'binary');
    expectSameBytes(Buffer.from(data), bytes, 'ws client received');
  }, 40_000);
});

describe('text that is ASCII except for one character (the ASCII fast path must not miss it)', () => {
  const chars = ['\u0080', 'é', '€', '😀'];
  const textCases = [65536, MiB, 16 * MiB].flatMap((size) => ['start', 'middle', 'end'].map((where, k) => [size, where, chars[(k + size) % 4]!] as const));
  it.each(textCases)('%i bytes, non-ASCII at the %s (%s)', async (size, where, ch) => {
    const { received, url } = await echoServer();
    const c = cleanup.add(await within(lib.connect(url, { maxPayloadLength: 32 * MiB }), 5000, 'connect'), (x: WS) => x.terminate());
    const fill = size - Buffer.byteLength(ch);
    const at = where === 'start' ? 0 : where === 'middle' ? fill >> 1 : fill;
    const ascii = Buffer.alloc(fill, 'abcdefghijklmnopqrstuvwxyz0123456789 \x00\x7f').toString('latin1');
    const text = ascii.slice(0, at) + ch + ascii.slice(at);
    expect(Buffer.byteLength(text)).toBe(size);
    const echoed = next<[string, boolean]>(c, 'message', 20_000);
    c.send(text);
    const [data, isBinary] = await echoed;
    expect(isBinary).toBe(false);
    expect(received[0]!.data === text, 'server received').toBe(true);
    expect(data === text, 'client received').toBe(true);
  }, 40_000);
});

describe('strings that are not well-formed UTF-16', () => {
  it('lone surrogates are sent as U+FFFD (valid UTF-8), never as invalid bytes the peer would refuse', async () => {
    const { wss, received, url } = await echoServer();
    const conn = next<[WS]>(wss, 'connection');
    const w = cleanup.add(new WsClient(url), (x) => x.terminate());
    const got: string[] = [];
    w.on('message', (m: Buffer) => got.push(m.toString()));
    const closed: number[] = [];
    w.on('close', (code: number) => closed.push(code));
    await next(w, 'open');
    const [ws] = await conn;
    for (const s of ['a\uD800b', '\uDC00', `${'x'.repeat(200)}\uD83D`, `\uDE00${'y'.repeat(70_000)}`]) expect(ws.send(s)).toBe('success');
    await within((async () => { while (got.length < 4) await new Promise((r) => setTimeout(r, 5)); })(), 5000, 'four messages');
    expect(got.slice(0, 4)).toEqual(['a\uFFFDb', '\uFFFD', `${'x'.repeat(200)}\uFFFD`, `\uFFFD${'y'.repeat(70_000)}`]);
    expect(closed).toEqual([]);
    // and from our client to our server
    const c = cleanup.add(await within(lib.connect(url), 5000, 'connect'), (x: WS) => x.terminate());
    const echoed = next<[string]>(c, 'message');
    c.send('q\uD800');
    expect((await echoed)[0]).toBe('q\uFFFD');
    expect(received.at(-1)!.data).toBe('q\uFFFD');
  });
});

describe('messages above the default frame size', () => {
  // Regression test for a bug this suite found (/tmp/repro-20mib-message.js): maxPayloadLength
  // defaults to 64 MiB ("largest message accepted") but send() wrote every message as a single
  // frame while the receiver's default maxFrameSize is 16 MiB, so the library's own client and
  // server, both with default options, could not exchange any message between 16 and 64 MiB
  // (WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH). Outgoing messages are now fragmented at maxFrameSize,
  // and maxFrameSize now defaults to maxPayloadLength, so with default options this 20 MiB message
  // travels as one frame (fragmentation itself: protocol-behaviour.test.ts).
  it.each(['binary', 'utf8 text'] as const)('a 20 MiB %s message, our client → our server and back, with default options', async (kind) => {
    const wss = cleanup.add(new lib.WebSocketServer({ port: 0, host: '127.0.0.1' }), (s) => s.close());
    await next(wss, 'listening');
    wss.on('connection', (ws) => ws.on('message', (d, isBinary) => ws.send(d, { binary: isBinary })));
    const c = cleanup.add(await within(lib.connect(`ws://127.0.0.1:${(wss.address() as { port: number }).port}`), 5000, 'connect'), (x: WS) => x.terminate());
    // Text fragments split 4-byte code points at frame boundaries: the receiver validates across them.
    const bytes = kind === 'binary' ? randomBytes(20 * MiB) : randomUtf8(20 * MiB, 20);
    const outcome = within(new Promise<{ data?: string | Buffer; code?: number }>((resolve) => {
      c.once('message', (data) => resolve({ data }));
      c.once('close', (code) => resolve({ code }));
    }), 20_000, 'echo or close');
    c.send(kind === 'binary' ? bytes : bytes.toString('utf8'));
    const { data, code } = await outcome;
    expect(code, 'the connection closed instead of echoing').toBeUndefined();
    expect(typeof data).toBe(kind === 'binary' ? 'object' : 'string');
    expectSameBytes(typeof data === 'string' ? Buffer.from(data) : data!, bytes, 'echo');
  }, 40_000);
});
