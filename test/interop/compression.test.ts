// permessage-deflate (RFC 7692) interop with independent implementations, both directions where
// the peer has both roles:
//   - Python `websockets` (Debian python3-websockets; peers/websockets_deflate_peer.py) as a client
//     of our server and as a server for our client, with its factories' parameters,
//   - headless Chromium (Debian chromium via playwright-core, launched as in chromium.test.ts),
//   - Node's built-in WebSocket (undici; peers/node-websocket-client.mjs),
//   - the `ws` package (devDependency), in-process, with several perMessageDeflate configurations.
// Every connection runs through a transparent TCP relay in this process (`sniff`) that parses the
// frames each way, so each test asserts on the wire that compression really happened: RSV1 on the
// first frame of the compressible messages (and on no later frame), the compressed size, RSV1
// clear where our side must not compress. The negotiated Sec-WebSocket-Extensions value is asserted
// exactly on both sides (our `ws.extensions`, the peer's own view).
// Under CI=true a missing peer fails the run instead of skipping it (skipReason).
import { randomBytes } from 'node:crypto';
import * as http from 'node:http';
import * as net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type PerMessageDeflateOptions, WebSocket as WsWebSocket, WebSocketServer as WsServer } from 'ws';

import { Cleanup, loadPackage, next, waitUntil, within } from '../js/helpers';
import { chromiumSkip, openBrowserPage, PAGE_HELPERS, type BrowserPage } from './browser';
import { killPid, PeerProcess, pattern, pythonModuleMissing, runNodeWebSocketClient, sha256, skipReason, type PeerEvent } from './peer-process';

const lib = loadPackage();
type Ws = import('sockudo-ws').WebSocket;
const cleanup = new Cleanup();
afterEach(() => cleanup.run());

const KiB = 1024;
const MiB = 1024 * 1024;

// --- the wire, seen by a relay ---------------------------------------------------------------------

/** One data message on the wire: RSV1 of its first frame, the RSV bits of later frames OR-ed, its compressed size. */
interface SniffedMessage {
  opcode: number;
  rsv1: boolean;
  /** RSV bits of the first frame other than RSV1 plus all RSV bits of continuation frames (must stay 0). */
  otherRsv: number;
  frames: number;
  wire: number;
}

/** A frame parser for one direction of a relayed connection (HTTP head first, then frames; payloads skipped). */
class Direction {
  head = '';
  readonly messages: SniffedMessage[] = [];
  readonly control: { opcode: number; rsv: number }[] = [];
  #headBuf: Buffer | null = Buffer.alloc(0);
  #pending = Buffer.alloc(0);
  #skip = 0;
  #current: SniffedMessage | null = null;

  feed(chunk: Buffer): void {
    let d = chunk;
    if (this.#headBuf !== null) {
      const all = Buffer.concat([this.#headBuf, d]);
      const end = all.indexOf('\r\n\r\n');
      if (end < 0) {
        this.#headBuf = all;
        return;
      }
      this.head = all.subarray(0, end + 4).toString('latin1');
      this.#headBuf = null;
      d = all.subarray(end + 4);
    }
    while (d.length > 0) {
      if (this.#skip > 0) {
        const n = Math.min(this.#skip, d.length);
        this.#skip -= n;
        d = d.subarray(n);
        continue;
      }
      const buf = this.#pending.length > 0 ? Buffer.concat([this.#pending, d]) : d;
      this.#pending = Buffer.alloc(0);
      const len7 = buf.length >= 2 ? buf[1]! & 0x7f : 0;
      const headerSize = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (buf.length >= 2 && buf[1]! & 0x80 ? 4 : 0);
      if (buf.length < 2 || buf.length < headerSize) {
        this.#pending = Buffer.from(buf);
        return;
      }
      const length = len7 < 126 ? len7 : len7 === 126 ? buf.readUInt16BE(2) : Number(buf.readBigUInt64BE(2));
      this.#frame(buf[0]! & 0x80 ? true : false, (buf[0]! >> 4) & 7, buf[0]! & 0x0f, length);
      this.#skip = length;
      d = buf.subarray(headerSize);
    }
  }

  #frame(fin: boolean, rsv: number, opcode: number, length: number): void {
    if (opcode >= 8) {
      this.control.push({ opcode, rsv });
      return;
    }
    if (opcode !== 0) this.#current = { opcode, rsv1: (rsv & 4) !== 0, otherRsv: rsv & 3, frames: 1, wire: length };
    else if (this.#current) {
      this.#current.frames++;
      this.#current.wire += length;
      this.#current.otherRsv |= rsv;
    }
    if (fin && this.#current) {
      this.messages.push(this.#current);
      this.#current = null;
    }
  }
}

interface Relayed {
  /** Client → server. */
  c2s: Direction;
  /** Server → client. */
  s2c: Direction;
}

/** A transparent TCP relay on 127.0.0.1 in front of `targetPort`, recording every connection's frames. */
async function sniff(targetPort: number) {
  const sockets = new Set<net.Socket>();
  const conns: Relayed[] = [];
  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    const upstream = net.connect({ port: targetPort, host: '127.0.0.1', allowHalfOpen: true });
    const rec: Relayed = { c2s: new Direction(), s2c: new Direction() };
    conns.push(rec);
    for (const [from, to, dir] of [[client, upstream, rec.c2s], [upstream, client, rec.s2c]] as const) {
      sockets.add(from);
      from.setNoDelay(true);
      from.on('data', (d: Buffer) => {
        dir.feed(d);
        to.write(d);
      });
      from.on('end', () => to.end());
      from.on('error', () => to.destroy());
      from.on('close', () => {
        sockets.delete(from);
        if (!to.writableEnded) to.end();
      });
    }
  });
  cleanup.add(server, (srv) => new Promise<void>((resolve) => {
    for (const s of sockets) s.destroy();
    srv.close(() => resolve());
  }));
  server.listen(0, '127.0.0.1');
  await next(server, 'listening');
  return { port: (server.address() as net.AddressInfo).port, conns };
}

/** A relay in front of a listening server whose port is `port`; `url` goes through it. */
async function relayed(port: number, urlPath = '/') {
  const relay = await sniff(port);
  return { relay, url: `ws://127.0.0.1:${relay.port}${urlPath}` };
}

/** Asserts the wire shape of `messages`: RSV1 as `compressed` says (true / false / undefined: either), no other RSV bit, and compressible ones small. */
function expectWire(messages: SniffedMessage[], want: { compressed?: boolean; size: number; maxRatio?: number }[], what: string) {
  expect(messages.length, `${what}: message count`).toBe(want.length);
  messages.forEach((m, i) => {
    const w = want[i]!;
    expect(m.otherRsv, `${what} #${i}: RSV2/RSV3, or RSV1 on a continuation frame`).toBe(0);
    if (w.compressed !== undefined) expect(m.rsv1, `${what} #${i} (${w.size} bytes): RSV1`).toBe(w.compressed);
    if (w.maxRatio !== undefined) expect(m.wire, `${what} #${i} (${w.size} bytes): compressed size`).toBeLessThan(w.size * w.maxRatio);
  });
}

// --- shared test data ------------------------------------------------------------------------------

/** ~100 KB of compressible multi-byte text. */
const TEXT_100K = 'ü€😀 漢字 compressible text, over and over: permessage-deflate. '.repeat(1400);
const RANDOM_3K = randomBytes(3000);

async function ourServer(options: Record<string, unknown> = {}) {
  const wss = cleanup.add(new lib.WebSocketServer({ port: 0, host: '127.0.0.1', ...options }), (s) => s.close());
  await next(wss, 'listening');
  return { wss, port: (wss.address() as { port: number }).port };
}

/** Echoes every message and records it; resolves the connection's WebSocket. */
function echoServer(wss: InstanceType<typeof lib.WebSocketServer>) {
  const received: (string | Buffer)[] = [];
  const sockets: Ws[] = [];
  wss.on('connection', (ws: Ws) => {
    sockets.push(ws);
    ws.on('message', (data, isBinary) => {
      received.push(data);
      ws.send(data, { binary: isBinary });
    });
  });
  return { received, sockets };
}

function byteLength(d: string | Buffer): number {
  return typeof d === 'string' ? Buffer.byteLength(d) : d.length;
}

/**
 * How our endpoint must send `d` (default compressionThreshold 64): RSV1 set when ≥ 64 bytes and
 * compressible (everything here but RANDOM_3K); 100 KB texts in under a tenth, 100 KB binary
 * patterns (period 256) in under half (zlib's level 1 reaches ~35% with a 10-bit window).
 */
function ourWire(d: string | Buffer) {
  const size = byteLength(d);
  return { compressed: size >= 64 && d !== RANDOM_3K, size, maxRatio: size < 100_000 ? undefined : typeof d === 'string' ? 0.1 : 0.5 };
}

// =================================================================================================
// Python websockets
// =================================================================================================

const pySkip = skipReason(pythonModuleMissing('websockets', 'python3-websockets'));
if (pySkip) console.warn(`permessage-deflate interop with Python websockets skipped: ${pySkip}`);

describe.skipIf(pySkip !== null)('Python websockets (permessage-deflate factories)', () => {
  /** No violation detected by the peer's library, no script error; exit status 0. */
  async function expectCleanExit(peer: PeerProcess) {
    const status = await peer.finish();
    expect(peer.problems(), peer.transcript()).toEqual([]);
    expect(status, peer.transcript()).toBe(0);
  }

  function expectDigest(event: PeerEvent, data: string | Buffer) {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    expect({ type: event.type, len: event.len, sha256: event.sha256 }).toEqual({ type: typeof data === 'string' ? 'text' : 'binary', len: bytes.length, sha256: sha256(bytes) });
  }

  // The client factory's parameters → its offer; our answer for 'dedicated' and for 'shared'.
  const CLIENT_CONFIGS: [string, Record<string, unknown>, string, string, string][] = [
    ['default', {}, 'permessage-deflate; client_max_window_bits',
      'permessage-deflate', 'permessage-deflate; server_no_context_takeover; client_no_context_takeover'],
    ['server_no_context_takeover', { server_no_context_takeover: true }, 'permessage-deflate; server_no_context_takeover; client_max_window_bits',
      'permessage-deflate; server_no_context_takeover', 'permessage-deflate; server_no_context_takeover; client_no_context_takeover'],
    ['client_no_context_takeover', { client_no_context_takeover: true }, 'permessage-deflate; client_no_context_takeover; client_max_window_bits',
      'permessage-deflate; client_no_context_takeover', 'permessage-deflate; server_no_context_takeover; client_no_context_takeover'],
    ['server_max_window_bits=10', { server_max_window_bits: 10 }, 'permessage-deflate; server_max_window_bits=10; client_max_window_bits',
      'permessage-deflate; server_max_window_bits=10', 'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10'],
    ['client_max_window_bits=10', { client_max_window_bits: 10 }, 'permessage-deflate; client_max_window_bits=10',
      'permessage-deflate; client_max_window_bits=10', 'permessage-deflate; server_no_context_takeover; client_no_context_takeover; client_max_window_bits=10'],
    ['all of them', { server_no_context_takeover: true, client_no_context_takeover: true, server_max_window_bits: 10, client_max_window_bits: 10 },
      'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=10',
      'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=10',
      'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=10'],
  ];

  /** What the answer means to the Python client (remote = our server, local = the client). */
  function pythonView(answer: string) {
    const bits = (name: string) => Number(new RegExp(`${name}=(\\d+)`).exec(answer)?.[1] ?? 15);
    return {
      remote_no_context_takeover: answer.includes('server_no_context_takeover'),
      local_no_context_takeover: answer.includes('client_no_context_takeover'),
      remote_max_window_bits: bits('server_max_window_bits'),
      local_max_window_bits: bits('client_max_window_bits'),
    };
  }

  describe.each(['dedicated', 'shared'] as const)('Python client → our server (compression %s)', (mode) => {
    it.each(CLIENT_CONFIGS)('factory %s: exact answer, both sides agree, text and binary up to 100 KB round-trip compressed', async (_name, params, offer, dedicated, shared) => {
      const answer = mode === 'dedicated' ? dedicated : shared;
      const { wss, port } = await ourServer({ compression: mode });
      const { received, sockets } = echoServer(wss);
      const { relay, url } = await relayed(port);
      const peer = PeerProcess.python('websockets_deflate_peer.py', ['--role', 'client', '--url', url, '--deflate', JSON.stringify(params)], cleanup);
      expect((await peer.take('hello')).library).toBe('websockets');
      const open = await peer.take('open');
      expect(open.offer).toBe(offer);
      expect(open.header).toBe(answer);
      expect(open.deflate).toEqual(pythonView(answer));
      await waitUntil(() => sockets.length === 1, 'the server connection');
      expect(sockets[0]!.extensions).toBe(answer);

      const cases: (string | Buffer)[] = ['hello', TEXT_100K, '', pattern(100_000), RANDOM_3K, Buffer.alloc(0), TEXT_100K, 'ü€😀'.repeat(300), pattern(100_000)];
      for (const data of cases) {
        peer.send(typeof data === 'string' ? { op: 'send', text: data } : data.length === 100_000 ? { op: 'send', pattern: 100_000 } : { op: 'send', hex: data.toString('hex') });
        expectDigest(await peer.take('message'), data);
      }
      expect(received.map((d) => (typeof d === 'string' ? d : d.toString('hex')))).toEqual(cases.map((d) => (typeof d === 'string' ? d : d.toString('hex'))));
      peer.send({ op: 'close', code: 1000 });
      expect(await peer.take('closed')).toMatchObject({ code: 1000 });
      await expectCleanExit(peer);

      const [conn] = relay.conns;
      // websockets compresses every data message; our server only those ≥ 64 bytes that shrink.
      expectWire(conn!.c2s.messages, cases.map((d) => ({ compressed: true, size: byteLength(d) })), 'Python → our server');
      expectWire(conn!.s2c.messages, cases.map(ourWire), 'our server → Python');
    });
  });

  // The server factory's parameters → its answer to the offers of our client's modes.
  const SERVER_CONFIGS: [string, Record<string, unknown> | 'default', string, string, string][] = [
    ['library default (server_max_window_bits=12, client_max_window_bits=12)', 'default',
      'permessage-deflate; server_max_window_bits=12; client_max_window_bits=12',
      'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=12; client_max_window_bits=12',
      'permessage-deflate; server_max_window_bits=11; client_max_window_bits=10'],
    ['no parameters', {}, 'permessage-deflate', 'permessage-deflate; server_no_context_takeover; client_no_context_takeover',
      'permessage-deflate; server_max_window_bits=11; client_max_window_bits=10'],
    ['server_no_context_takeover', { server_no_context_takeover: true }, 'permessage-deflate; server_no_context_takeover',
      'permessage-deflate; server_no_context_takeover; client_no_context_takeover',
      'permessage-deflate; server_no_context_takeover; server_max_window_bits=11; client_max_window_bits=10'],
    ['client_no_context_takeover', { client_no_context_takeover: true }, 'permessage-deflate; client_no_context_takeover',
      'permessage-deflate; server_no_context_takeover; client_no_context_takeover',
      'permessage-deflate; client_no_context_takeover; server_max_window_bits=11; client_max_window_bits=10'],
    ['server_max_window_bits=10', { server_max_window_bits: 10 }, 'permessage-deflate; server_max_window_bits=10',
      'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10',
      'permessage-deflate; server_max_window_bits=10; client_max_window_bits=10'],
    ['client_max_window_bits=10', { client_max_window_bits: 10 }, 'permessage-deflate; client_max_window_bits=10',
      'permessage-deflate; server_no_context_takeover; client_no_context_takeover; client_max_window_bits=10',
      'permessage-deflate; server_max_window_bits=11; client_max_window_bits=10'],
    ['all of them', { server_no_context_takeover: true, client_no_context_takeover: true, server_max_window_bits: 10, client_max_window_bits: 10 },
      'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=10',
      'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=10',
      'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=10'],
  ];
  const CLIENT_MODES: [string, NonNullable<import('sockudo-ws').ClientOptions['compression']>, string][] = [
    ['dedicated', 'dedicated', 'permessage-deflate; client_max_window_bits'],
    ['shared', 'shared', 'permessage-deflate; server_no_context_takeover; client_no_context_takeover; client_max_window_bits'],
    ['windowBits 10, decompressorWindowBits 11', { windowBits: 10, decompressorWindowBits: 11 }, 'permessage-deflate; server_max_window_bits=11; client_max_window_bits=10'],
  ];

  it.each(SERVER_CONFIGS)('Python server with factory %s → our client in each mode: exact answer, both sides agree, messages round-trip compressed', async (_name, params, ...answers) => {
    const peer = PeerProcess.python('websockets_deflate_peer.py', ['--role', 'server', '--echo', '--deflate', params === 'default' ? 'default' : JSON.stringify(params)], cleanup);
    expect((await peer.take('hello')).library).toBe('websockets');
    const { port } = await peer.take('listening');
    const { relay, url } = await relayed(port as number);
    for (let i = 0; i < CLIENT_MODES.length; i++) {
      const [, compression, offer] = CLIENT_MODES[i]!;
      const answer = answers[i]!;
      const ws = cleanup.add(await within(lib.connect(url, { compression }), 10_000, 'connect'), (x) => x.terminate());
      expect(ws.extensions).toBe(answer);
      const open = await peer.take('open');
      expect({ offer: open.offer, header: open.header }).toEqual({ offer, header: answer });
      // Python's view as the server: remote = our client.
      const bits = (name: string) => Number(new RegExp(`${name}=(\\d+)`).exec(answer)?.[1] ?? 15);
      expect(open.deflate).toEqual({
        remote_no_context_takeover: answer.includes('client_no_context_takeover'),
        local_no_context_takeover: answer.includes('server_no_context_takeover'),
        remote_max_window_bits: bits('client_max_window_bits'),
        local_max_window_bits: bits('server_max_window_bits'),
      });
      const cases: (string | Buffer)[] = ['hi', TEXT_100K, '', pattern(100_000), RANDOM_3K, Buffer.alloc(0), TEXT_100K, pattern(100_000)];
      for (const data of cases) {
        const echo = next<[string | Buffer, boolean]>(ws, 'message', 10_000);
        expect(ws.send(data)).toBe('success');
        expectDigest(await peer.take('message'), data);
        const [got] = await echo;
        expect(typeof got === 'string' ? got === data : Buffer.isBuffer(data) && got.equals(data)).toBe(true);
      }
      const closed = next<[number, string]>(ws, 'close');
      ws.close(1000);
      expect((await closed)[0]).toBe(1000);
      expect(await peer.take('closed')).toMatchObject({ code: 1000 });
      const conn = relay.conns[i]!;
      expectWire(conn.c2s.messages, cases.map(ourWire), `our client (${CLIENT_MODES[i]![0]}) → Python`);
      expectWire(conn.s2c.messages, cases.map((d) => ({ compressed: true, size: byteLength(d) })), 'Python → our client');
    }
    await expectCleanExit(peer);
  });
});

// =================================================================================================
// Chromium
// =================================================================================================

if (chromiumSkip) console.warn(`permessage-deflate interop with Chromium skipped: ${chromiumSkip}`);

const PAGE = String.raw`<!doctype html>
<meta charset="utf-8">
<title>sockudo-ws deflate interop</title>
<script>
'use strict';
${PAGE_HELPERS}
function random(n) { const b = new Uint8Array(n); for (let i = 0; i < n; i += 65536) crypto.getRandomValues(b.subarray(i, i + 65536)); return b.buffer; }
function text(n) { let s = ''; while (s.length < n) s += 'ü€😀漢字 compressible browser text ' + (s.length % 97) + ' '; return s.slice(0, n); }
function make(kind, n) { return kind === 'text' ? text(n) : kind === 'binary' ? pattern(n) : random(n); }

/** Sends each [kind, size] case, compares every echo exactly; closes with 4000. */
async function deflateExchange(url, cases) {
  const ws = new WebSocket(url);
  ws.binaryType = 'arraybuffer';
  const queue = [];
  let wake = null;
  ws.onmessage = (e) => { queue.push(e.data); if (wake) { const w = wake; wake = null; w(); } };
  const closed = new Promise((resolve) => { ws.onclose = (e) => { if (wake) wake(); resolve({ code: e.code, reason: e.reason, wasClean: e.wasClean }); }; });
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = () => reject(new Error('WebSocket error before open'));
    setTimeout(() => reject(new Error('open timed out')), 10000);
  });
  const results = [];
  for (const [kind, n] of cases) {
    const data = make(kind, n);
    ws.send(data);
    const until = Date.now() + 15000;
    while (queue.length === 0) {
      if (Date.now() > until) throw new Error('no echo for ' + kind + ' ' + n);
      await new Promise((r) => { wake = r; setTimeout(r, 100); });
    }
    const echo = queue.shift();
    results.push({ kind, n, ok: typeof data === 'string' ? echo === data : bytesEqual(echo, data) });
  }
  const extensions = ws.extensions;
  ws.close(4000, 'bye');
  return { results, extensions, close: await closed };
}
</script>
<p>sockudo-ws deflate interop page</p>
`;

describe.skipIf(chromiumSkip !== null)('headless Chromium → our server', () => {
  let browser: BrowserPage;
  let pageErrors: string[] = [];
  let evaluate: BrowserPage['evaluate'];

  beforeAll(async () => {
    browser = await openBrowserPage(PAGE);
    ({ pageErrors, evaluate } = browser);
    expect(await browser.page.title()).toBe('sockudo-ws deflate interop');
  }, 60_000);

  afterAll(async () => browser?.close(), 30_000);

  const CASES: [string, number][] = [['text', 5], ['text', 20_000], ['binary', 64 * KiB], ['random', 100_000], ['text', MiB], ['binary', MiB], ['text', 20_000]];

  it.each([
    ['dedicated', 'dedicated', 'permessage-deflate'],
    ['shared', 'shared', 'permessage-deflate; server_no_context_takeover; client_no_context_takeover'],
    ['windowBits 10, decompressorWindowBits 10', { windowBits: 10, decompressorWindowBits: 10 }, 'permessage-deflate; server_max_window_bits=10; client_max_window_bits=10'],
  ] as [string, unknown, string][])('compression %s: negotiated with Chromium\'s offer; text, binary and 1 MB messages round-trip compressed', async (_name, compression, answer) => {
    const { wss, port } = await ourServer({ compression, maxBackpressure: 8 * MiB });
    const { received, sockets } = echoServer(wss);
    let offer: string | undefined;
    wss.on('connection', (_ws: Ws, req: { headers: Record<string, string> }) => { offer = req.headers['sec-websocket-extensions']; });
    const { relay, url } = await relayed(port, '/ws');
    const result = await evaluate<{ results: { kind: string; n: number; ok: boolean }[]; extensions: string; close: { code: number; wasClean: boolean } }>(
      `deflateExchange(${JSON.stringify(url)}, ${JSON.stringify(CASES)})`, 45_000);
    expect(offer).toBe('permessage-deflate; client_max_window_bits');
    expect(result.extensions).toBe(answer);
    expect(sockets[0]!.extensions).toBe(answer);
    expect(result.results.filter((r) => !r.ok)).toEqual([]);
    expect(result.results).toHaveLength(CASES.length);
    expect(result.close).toMatchObject({ code: 4000, wasClean: true });
    expect(received.map((d) => [typeof d, d.length])).toEqual(CASES.map(([kind, n]) => [kind === 'text' ? 'string' : 'object', n]));
    expect(pageErrors).toEqual([]);
    const [conn] = relay.conns;
    const sizes = received.map(byteLength);
    // Chromium compresses what it sends (its own heuristics for tiny and random messages).
    expectWire(conn!.c2s.messages, CASES.map(([kind], i) => ({
      compressed: kind === 'random' || sizes[i]! < 64 ? undefined : true, size: sizes[i]!, maxRatio: sizes[i]! < MiB ? undefined : kind === 'text' ? 0.1 : 0.5,
    })), 'Chromium → our server');
    expectWire(conn!.s2c.messages, CASES.map(([kind], i) => ({
      compressed: kind !== 'random' && sizes[i]! >= 64, size: sizes[i]!, maxRatio: sizes[i]! < MiB ? undefined : kind === 'text' ? 0.1 : 0.5,
    })), 'our server → Chromium');
  }, 60_000);
});

// =================================================================================================
// Node's built-in WebSocket (undici)
// =================================================================================================

describe(`Node ${process.version} built-in WebSocket (undici ${process.versions.undici ?? '?'}) → our server`, () => {
  const runClient = (url: string, mode: string) => runNodeWebSocketClient(url, mode, (pid) => cleanup.add(pid, killPid));

  // undici 6.x (Node 20.20) offers "permessage-deflate; client_max_window_bits" and inflates what it
  // receives; it sends its own messages uncompressed (RSV1 clear), which the RFC allows, so only
  // our direction is compressed. (An undici that offers nothing must still connect, uncompressed,
  // with extensions '' on both sides: the test checks whichever case this Node is.)
  it.each([
    ['dedicated', 'permessage-deflate'],
    ['shared', 'permessage-deflate; server_no_context_takeover; client_no_context_takeover'],
  ] as const)('compression %s: negotiated; echoes of text, UTF-8 and 1 MiB messages decode in undici', async (compression, answer) => {
    const { wss, port } = await ourServer({ compression, handleProtocols: (p: Set<string>) => (p.has('chat') ? 'chat' : false) });
    const { received, sockets } = echoServer(wss);
    let offer: string | undefined;
    wss.on('connection', (_ws: Ws, req: { headers: Record<string, string> }) => { offer = req.headers['sec-websocket-extensions']; });
    const { relay, url } = await relayed(port);
    const { status, result, stderr } = await runClient(url, 'echo');
    expect(result.error, stderr).toBeUndefined();
    expect(status).toBe(0);
    const negotiated = offer !== undefined;
    if (negotiated) expect(offer).toBe('permessage-deflate; client_max_window_bits');
    expect(result.extensions).toBe(negotiated ? answer : '');
    expect(sockets[0]!.extensions).toBe(negotiated ? answer : '');
    expect((result.results as { name: string; ok: boolean }[]).filter((r) => !r.ok)).toEqual([]);
    expect(result.close).toEqual({ code: 4000, reason: '', wasClean: true });
    const sizes = received.map(byteLength);
    expect(sizes).toEqual([17, 0, Buffer.byteLength('ü € 😀 漢字 한국어 👩‍👩‍👧‍👦 𝄞'), 300, 10, MiB, Buffer.byteLength('😀漢a'.repeat(150_000))]);
    const [conn] = relay.conns;
    expectWire(conn!.c2s.messages, sizes.map((size) => ({ compressed: negotiated ? undefined : false, size })), 'undici → our server');
    expectWire(conn!.s2c.messages, sizes.map((size) => ({ compressed: negotiated && size >= 64, size, maxRatio: negotiated && size >= MiB ? 0.5 : undefined })),
      'our server → undici');
  });
});

// =================================================================================================
// ws (npm)
// =================================================================================================

describe('ws (npm) perMessageDeflate', () => {
  const CONFIGS: [string, PerMessageDeflateOptions][] = [
    ['{ threshold: 0 }', { threshold: 0 }],
    ['{ serverNoContextTakeover: true }', { serverNoContextTakeover: true, threshold: 0 }],
    ['{ clientNoContextTakeover: true }', { clientNoContextTakeover: true, threshold: 0 }],
    ['{ serverMaxWindowBits: 10, clientMaxWindowBits: 10 }', { serverMaxWindowBits: 10, clientMaxWindowBits: 10, threshold: 0 }],
    ['{ zlibDeflateOptions: { level: 9 } }', { zlibDeflateOptions: { level: 9 } }],
  ];

  const CASES: (string | Buffer)[] = ['hi', TEXT_100K, '', pattern(100_000), RANDOM_3K, Buffer.alloc(0), 'x'.repeat(2000), TEXT_100K];

  /**
   * What ws compresses (ws/lib/sender.js): everything, random data included — except that when its
   * own side agreed *_no_context_takeover, messages below `threshold` (default 1024) go as they are.
   */
  function wsCompresses(config: PerMessageDeflateOptions, answer: string, side: 'server' | 'client', d: string | Buffer): boolean {
    return !answer.includes(`${side}_no_context_takeover`) || byteLength(d) >= (config.threshold ?? 1024);
  }

  // ws client configuration → its offer; our answers for 'dedicated' and 'shared'.
  const OFFERS: Record<string, [string, string, string]> = {
    '{ threshold: 0 }': ['permessage-deflate; client_max_window_bits', 'permessage-deflate',
      'permessage-deflate; server_no_context_takeover; client_no_context_takeover'],
    '{ serverNoContextTakeover: true }': ['permessage-deflate; server_no_context_takeover; client_max_window_bits',
      'permessage-deflate; server_no_context_takeover', 'permessage-deflate; server_no_context_takeover; client_no_context_takeover'],
    '{ clientNoContextTakeover: true }': ['permessage-deflate; client_no_context_takeover; client_max_window_bits',
      'permessage-deflate; client_no_context_takeover', 'permessage-deflate; server_no_context_takeover; client_no_context_takeover'],
    '{ serverMaxWindowBits: 10, clientMaxWindowBits: 10 }': ['permessage-deflate; server_max_window_bits=10; client_max_window_bits=10',
      'permessage-deflate; server_max_window_bits=10; client_max_window_bits=10',
      'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=10'],
    '{ zlibDeflateOptions: { level: 9 } }': ['permessage-deflate; client_max_window_bits', 'permessage-deflate',
      'permessage-deflate; server_no_context_takeover; client_no_context_takeover'],
  };

  describe.each(['dedicated', 'shared'] as const)('ws client → our server (compression %s)', (mode) => {
    it.each(CONFIGS)('ws client %s: exact answer, ws agrees, messages round-trip compressed', async (name, config) => {
      const [offer, dedicated, shared] = OFFERS[name]!;
      const answer = mode === 'dedicated' ? dedicated : shared;
      const { wss, port } = await ourServer({ compression: mode });
      const { received, sockets } = echoServer(wss);
      let seenOffer: string | undefined;
      wss.on('connection', (_ws: Ws, req: { headers: Record<string, string> }) => { seenOffer = req.headers['sec-websocket-extensions']; });
      const { relay, url } = await relayed(port);
      const client = cleanup.add(new WsWebSocket(url, { perMessageDeflate: config, maxPayload: 64 * MiB }), (c) => c.terminate());
      const upgrade = next<[http.IncomingMessage]>(client, 'upgrade');
      await next(client, 'open');
      const answered = (await upgrade)[0].headers['sec-websocket-extensions'];
      expect(seenOffer).toBe(offer);
      expect(answered).toBe(answer);
      expect(client.extensions).toBe('permessage-deflate');
      expect(sockets[0]!.extensions).toBe(answer);
      for (const data of CASES) {
        const echo = next<[Buffer, boolean]>(client, 'message', 10_000);
        client.send(data);
        const [got, isBinary] = await echo;
        expect(isBinary).toBe(typeof data !== 'string');
        expect(got.equals(Buffer.from(data))).toBe(true);
      }
      expect(received.map((d) => Buffer.from(d).toString('hex'))).toEqual(CASES.map((d) => Buffer.from(d).toString('hex')));
      const closed = next<[number]>(client, 'close');
      client.close(1000);
      expect((await closed)[0]).toBe(1000);
      const [conn] = relay.conns;
      expectWire(conn!.c2s.messages, CASES.map((d) => ({ compressed: wsCompresses(config, answer, 'client', d), size: byteLength(d) })), 'ws → our server');
      expectWire(conn!.s2c.messages, CASES.map(ourWire), 'our server → ws');
    });
  });

  // ws server configuration → its answer to the offers of our client's 'dedicated' and 'shared' modes.
  const ANSWERS: Record<string, [string, string]> = {
    '{ threshold: 0 }': ['permessage-deflate', 'permessage-deflate; server_no_context_takeover; client_no_context_takeover'],
    '{ serverNoContextTakeover: true }': ['permessage-deflate; server_no_context_takeover', 'permessage-deflate; server_no_context_takeover; client_no_context_takeover'],
    '{ clientNoContextTakeover: true }': ['permessage-deflate; client_no_context_takeover', 'permessage-deflate; server_no_context_takeover; client_no_context_takeover'],
    '{ serverMaxWindowBits: 10, clientMaxWindowBits: 10 }': ['permessage-deflate; client_max_window_bits=10; server_max_window_bits=10',
      'permessage-deflate; server_no_context_takeover; client_no_context_takeover; client_max_window_bits=10; server_max_window_bits=10'],
    '{ zlibDeflateOptions: { level: 9 } }': ['permessage-deflate', 'permessage-deflate; server_no_context_takeover; client_no_context_takeover'],
  };

  describe.each(['dedicated', 'shared'] as const)('our client (compression %s) → ws server', (mode) => {
    it.each(CONFIGS)('ws server %s: exact answer, ws agrees, messages round-trip compressed', async (name, config) => {
      const answer = ANSWERS[name]![mode === 'dedicated' ? 0 : 1];
      const server = new WsServer({ port: 0, host: '127.0.0.1', perMessageDeflate: config, maxPayload: 64 * MiB });
      cleanup.add(server, (s) => new Promise<void>((resolve) => {
        for (const c of s.clients) c.terminate();
        s.close(() => resolve());
      }));
      await next(server, 'listening');
      let sentAnswer: string | undefined;
      server.on('headers', (headers: string[]) => { sentAnswer = headers.find((h) => /^sec-websocket-extensions:/i.test(h))?.replace(/^[^:]+:\s*/, ''); });
      const serverSide = new Promise<WsWebSocket>((resolve) => server.on('connection', (c: WsWebSocket) => {
        c.on('message', (data: Buffer, isBinary: boolean) => c.send(data, { binary: isBinary }));
        resolve(c);
      }));
      const { relay, url } = await relayed((server.address() as net.AddressInfo).port);
      const ws = cleanup.add(await within(lib.connect(url, { compression: mode }), 10_000, 'connect'), (x) => x.terminate());
      const theirs = await within(serverSide, 5000, 'the ws connection');
      expect(sentAnswer).toBe(answer);
      expect(ws.extensions).toBe(answer);
      expect(theirs.extensions).toBe('permessage-deflate');
      for (const data of CASES) {
        const echo = next<[string | Buffer, boolean]>(ws, 'message', 10_000);
        expect(ws.send(data)).toBe('success');
        const [got, isBinary] = await echo;
        expect(isBinary).toBe(typeof data !== 'string');
        expect(typeof got === 'string' ? got === data : Buffer.isBuffer(data) && got.equals(data)).toBe(true);
      }
      const closed = next<[number]>(ws, 'close');
      ws.close(1000);
      expect((await closed)[0]).toBe(1000);
      const [conn] = relay.conns;
      expectWire(conn!.c2s.messages, CASES.map(ourWire), `our client (${mode}) → ws`);
      expectWire(conn!.s2c.messages, CASES.map((d) => ({ compressed: wsCompresses(config, answer, 'server', d), size: byteLength(d) })), 'ws → our client');
    });
  });
});
