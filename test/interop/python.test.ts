// Interop with Python peers nobody here wrote: `websockets` (asyncio, Debian python3-websockets)
// and `wsproto` (sans-IO state machine, Debian python3-wsproto), each as a client of our server
// and as a server for our client. The peers run in /usr/bin/python3 child processes driven by
// JSON lines (test/interop/peers/); they report every message with its length and sha256, and
// every protocol violation their library detects ("fail" events) — every test ends by asserting
// there was none and that the process exited 0.
import * as net from 'node:net';
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';

import { Cleanup, loadPackage, next, randomUtf8, within } from '../js/helpers';
import { PeerProcess, pattern, pythonModuleMissing, sha256, skipReason, UTF8_SAMPLES, type PeerEvent } from './peer-process';

const lib = loadPackage();
type Ws = import('sockudo-ws').WebSocket;
const cleanup = new Cleanup();
afterEach(() => cleanup.run());

const PEERS = [
  { name: 'websockets', script: 'websockets_peer.py', module: 'websockets', apt: 'python3-websockets', reportsFrames: false, reportsPings: false },
  { name: 'wsproto', script: 'wsproto_peer.py', module: 'wsproto', apt: 'python3-wsproto', reportsFrames: true, reportsPings: true },
] as const;

const MiB = 1024 * 1024;
const BINARY_SIZES = [0, 1, 125, 126, 127, 65535, 65536, 65537, MiB];
const BIG_TEXT = randomUtf8(MiB, 4242).toString('utf8');

/** What a peer's message event must say about `data`. */
function digest(data: string | Buffer) {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  return { type: typeof data === 'string' ? 'text' : 'binary', len: bytes.length, sha256: sha256(bytes) };
}

function expectMessage(event: PeerEvent, data: string | Buffer) {
  expect({ type: event.type, len: event.len, sha256: event.sha256 }).toEqual(digest(data));
}

/** The send command that makes a peer send `data`. */
function sendCommand(data: string | Buffer, extra: Record<string, unknown> = {}) {
  return typeof data === 'string' ? { op: 'send', text: data, ...extra } : { op: 'send', hex: data.toString('hex'), ...extra };
}

function expectSame(got: unknown, want: string | Buffer) {
  if (typeof want === 'string') {
    expect(typeof got).toBe('string');
    expect(got === want).toBe(true);
  } else {
    expect(Buffer.isBuffer(got)).toBe(true);
    expect((got as Buffer).length).toBe(want.length);
    expect((got as Buffer).equals(want)).toBe(true);
  }
}

const BURST = { count: 240, sizes: [0, 1, 60, 125, 126, 4000, 40_000, 2] };
/** Message i of a peer's {"op": "burst"}. */
function burstMessage(i: number): string {
  return `${i}:${'é'.repeat(BURST.sizes[i % BURST.sizes.length]!)}`;
}

/** No violation detected by the peer's library, no script error; then the exit status. */
async function expectCleanExit(peer: PeerProcess) {
  const status = await peer.finish();
  expect(peer.problems(), peer.transcript()).toEqual([]);
  expect(status, peer.transcript()).toBe(0);
}

async function ourServer(options: Record<string, unknown> = {}) {
  const wss = cleanup.add(new lib.WebSocketServer({ port: 0, host: '127.0.0.1', ...options }), (s) => s.close());
  await next(wss, 'listening');
  return { wss, port: (wss.address() as { port: number }).port };
}

/** Server-side view of one connection: every message in order, echoed back. */
function echoAndRecord(ws: Ws) {
  const received: (string | Buffer)[] = [];
  ws.on('message', (data, isBinary) => {
    received.push(data);
    ws.send(data, { binary: isBinary });
  });
  return received;
}

for (const spec of PEERS) {
  const skip = skipReason(pythonModuleMissing(spec.module, spec.apt));
  if (skip) console.warn(`interop with Python ${spec.name} skipped: ${skip}`);

  describe.skipIf(skip !== null)(`Python ${spec.name} client, our server`, () => {
    async function start(port: number, args: string[] = [], path = '/') {
      const peer = PeerProcess.python(spec.script, ['--role', 'client', '--url', `ws://127.0.0.1:${port}${path}`, ...args], cleanup);
      const hello = await peer.take('hello');
      expect(hello.library).toBe(spec.name);
      return peer;
    }

    async function connected(options: Record<string, unknown> = {}, args: string[] = []) {
      const { wss, port } = await ourServer(options);
      const conn = next<[Ws, { url: string; headers: Record<string, string> }]>(wss, 'connection', 10_000);
      const peer = await start(port, args);
      const [ws, request] = await conn;
      const open = await peer.take('open');
      return { wss, ws, request, peer, open };
    }

    it('echoes binary of every length class, text, multi-byte UTF-8 and 1 MiB messages exactly', async () => {
      const { ws, peer } = await connected();
      const received = echoAndRecord(ws);
      const cases: (string | Buffer)[] = [
        ...BINARY_SIZES.map(pattern),
        '', 'hello', 'ü'.repeat(63), 'x'.repeat(65536),
        ...UTF8_SAMPLES,
        '😀'.repeat(MiB / 4), BIG_TEXT,
      ];
      for (const data of cases) {
        if (Buffer.isBuffer(data) && data.length > 4096) peer.send({ op: 'send', pattern: data.length });
        else peer.send(sendCommand(data));
        const echo = await peer.take('message');
        expectMessage(echo, data);
        if (typeof data === 'string' && echo.text !== undefined) expect(echo.text).toBe(data);
        if (spec.reportsFrames) expect(echo.frames).toBe(1);
      }
      expect(received.length).toBe(cases.length);
      cases.forEach((data, i) => expectSame(received[i], data));
      const closed = next<[number, string]>(ws, 'close');
      peer.send({ op: 'close', code: 1000, reason: '' });
      expect(await closed).toEqual([1000, '']);
      expect(await peer.take('closed')).toMatchObject({ code: 1000 });
      await expectCleanExit(peer);
    });

    it('selects the subprotocol and declines permessage-deflate (not implemented yet)', async () => {
      const { ws, request, peer, open } = await connected(
        { handleProtocols: (p: Set<string>) => (p.has('chat') ? 'chat' : false) },
        ['--protocols', 'x,chat', '--offer-deflate'],
      );
      expect(request.url).toBe('/');
      expect(request.headers['sec-websocket-protocol']).toBe('x, chat');
      expect(request.headers['sec-websocket-extensions']).toMatch(/^permessage-deflate/);
      expect(open).toMatchObject({ subprotocol: 'chat', extensions: [] });
      expect(ws.protocol).toBe('chat');
      expect(ws.extensions).toBe('');
      peer.send({ op: 'close', code: 1000 });
      await peer.take('closed');
      await expectCleanExit(peer);
    });

    it('ping/pong both ways with payloads up to 125 bytes', async () => {
      const { ws, peer } = await connected();
      const theirPing = next<[Buffer]>(ws, 'ping');
      peer.send({ op: 'ping', data: 'p1 ü' });
      expect((await theirPing)[0].toString()).toBe('p1 ü');
      expect((await peer.take('pong')).hex).toBe(Buffer.from('p1 ü').toString('hex'));

      const max = 'm'.repeat(125);
      peer.send({ op: 'ping', data: max });
      expect((await peer.take('pong')).hex).toBe(Buffer.from(max).toString('hex'));

      const ourPong = next<[Buffer]>(ws, 'pong');
      ws.ping('p2');
      expect((await ourPong)[0].toString()).toBe('p2');
      if (spec.reportsPings) expect((await peer.take('ping')).hex).toBe(Buffer.from('p2').toString('hex'));
      peer.send({ op: 'close', code: 1000 });
      await peer.take('closed');
      await expectCleanExit(peer);
    });

    it('reassembles fragmented messages with a ping between the fragments', async () => {
      const { ws, peer } = await connected();
      const received = echoAndRecord(ws);
      const pings: string[] = [];
      ws.on('ping', (d) => pings.push(d.toString()));
      const text = UTF8_SAMPLES.join(' | ').repeat(40);
      peer.send(sendCommand(text, { fragments: 7, ping_between: 'between' }));
      expectMessage(await peer.take('message'), text);
      peer.send({ op: 'send', pattern: 300_000, fragments: 5, ping_between: 'b2' });
      expectMessage(await peer.take('message'), pattern(300_000));
      expect(pings).toEqual(['between', 'b2']);
      expectSame(received[0], text);
      expectSame(received[1], pattern(300_000));
      peer.send({ op: 'close', code: 1000 });
      await peer.take('closed');
      await expectCleanExit(peer);
    });

    it('with maxFrameSize 64 KiB: 1 MiB arrives in 16 fragments and is echoed in 16 frames', async () => {
      const { ws, peer } = await connected({ maxFrameSize: 65536 });
      const received = echoAndRecord(ws);
      peer.send({ op: 'send', pattern: MiB, fragments: 16 });
      const echo = await peer.take('message');
      expectMessage(echo, pattern(MiB));
      if (spec.reportsFrames) expect(echo.frames).toBe(16);
      peer.send(sendCommand(BIG_TEXT, { fragments: 64 }));
      const textEcho = await peer.take('message');
      expectMessage(textEcho, BIG_TEXT);
      if (spec.reportsFrames) expect(textEcho.frames).toBe(16);
      expectSame(received[0], pattern(MiB));
      expectSame(received[1], BIG_TEXT);
      peer.send({ op: 'close', code: 1000 });
      await peer.take('closed');
      await expectCleanExit(peer);
    });

    it('a frame above maxFrameSize from the peer is refused with 1009 (the peer sees our close frame)', async () => {
      const { ws, peer } = await connected({ maxFrameSize: 1000 });
      ws.on('error', () => {});
      const closed = next<[number, string]>(ws, 'close');
      peer.send({ op: 'send', pattern: 1001 });
      expect((await closed)[0]).toBe(1006);
      const peerClosed = await peer.take('closed');
      expect((peerClosed.rcvd as { code: number } | null)?.code).toBe(1009);
      await peer.finish();
      expect(peer.events.filter((e) => e.ev === 'fail')).toEqual([]);
    });

    it('close initiated by the peer: code and UTF-8 reason reach us, the code comes back', async () => {
      const { ws, peer } = await connected();
      const closed = next<[number, string]>(ws, 'close');
      peer.send({ op: 'close', code: 4321, reason: 'bye ✓ 漢字 😀' });
      expect(await closed).toEqual([4321, 'bye ✓ 漢字 😀']);
      const peerClosed = await peer.take('closed');
      expect(peerClosed.code).toBe(4321);
      expect(peerClosed.sent).toEqual({ code: 4321, reason: 'bye ✓ 漢字 😀' });
      await expectCleanExit(peer);
    });

    it('close initiated by our server: the peer sees code and reason', async () => {
      const { ws, peer } = await connected();
      const closed = next<[number, string]>(ws, 'close');
      ws.close(4000, 'from us ü');
      const peerClosed = await peer.take('closed');
      expect(peerClosed).toMatchObject({ code: 4000, reason: 'from us ü', rcvd: { code: 4000, reason: 'from us ü' } });
      expect((await closed)[0]).toBe(4000);
      await expectCleanExit(peer);
    });

    it('server.close() closes the peer with 1001', async () => {
      const { wss, peer } = await connected();
      await within(wss.close(), 8000, 'server close');
      expect(await peer.take('closed')).toMatchObject({ code: 1001 });
      await expectCleanExit(peer);
    });

    it('a burst of 240 back-to-back messages of mixed sizes is received and echoed in order', async () => {
      const { ws, peer } = await connected({ maxBackpressure: 64 * MiB });
      const received: (string | Buffer)[] = [];
      const statuses = new Set<string>();
      ws.on('message', (data, isBinary) => {
        received.push(data);
        statuses.add(ws.send(data, { binary: isBinary }));
      });
      peer.send({ op: 'burst', ...BURST });
      for (let i = 0; i < BURST.count; i++) expectMessage(await peer.take('message'), burstMessage(i));
      expect(received.length).toBe(BURST.count);
      received.forEach((d, i) => expect(d === burstMessage(i)).toBe(true));
      expect(statuses.has('dropped')).toBe(false);
      peer.send({ op: 'close', code: 1000 });
      await peer.take('closed');
      await expectCleanExit(peer);
    });

    it('messages sent right before the close frame all arrive before "close"', async () => {
      const { ws, peer } = await connected();
      const events: string[] = [];
      ws.on('message', (d) => events.push(d as string));
      const closed = next<[number, string]>(ws, 'close', 10_000);
      ws.on('close', (code) => events.push(`close ${code}`));
      peer.send({ op: 'burst', ...BURST });
      peer.send({ op: 'close', code: 4444, reason: 'after the burst' });
      expect(await closed).toEqual([4444, 'after the burst']);
      expect(events.length).toBe(BURST.count + 1);
      events.slice(0, -1).forEach((d, i) => expect(d === burstMessage(i)).toBe(true));
      expect(events.at(-1)).toBe('close 4444');
      expect(await peer.take('closed')).toMatchObject({ code: 4444 });
      await expectCleanExit(peer);
    });

    it('a peer process that dies without a close frame is reported as 1006', async () => {
      const { ws, peer } = await connected();
      const closed = next<[number, string]>(ws, 'close', 10_000);
      peer.child.kill('SIGKILL');
      expect(await closed).toEqual([1006, '']);
      expect(ws.readyState).toBe(3);
    });

    it('close reasons of the maximum 123 bytes, both ways', async () => {
      const reason = `${'ü'.repeat(60)}abc`; // 123 bytes
      expect(Buffer.byteLength(reason)).toBe(123);
      const first = await connected();
      const closed = next<[number, string]>(first.ws, 'close');
      first.peer.send({ op: 'close', code: 4999, reason });
      expect(await closed).toEqual([4999, reason]);
      await first.peer.take('closed');
      await expectCleanExit(first.peer);

      const second = await connected();
      second.ws.close(3000, reason);
      expect(await second.peer.take('closed')).toMatchObject({ code: 3000, reason });
      await expectCleanExit(second.peer);
    });

    // Only wsproto can send a close frame without a status code (websockets always sends one).
    if (spec.name === 'wsproto') it('a close frame without a status code is reported as 1005', async () => {
      const { ws, peer } = await connected();
      const closed = next<[number, string]>(ws, 'close');
      peer.send({ op: 'close', code: null });
      expect(await closed).toEqual([1005, '']);
      const peerClosed = await peer.take('closed');
      expect([1000, 1005]).toContain(peerClosed.code);
      await expectCleanExit(peer);
    });

    it('autoPing: the peer answers our idle pings and the connection outlives several pong timeouts', async () => {
      const { ws, peer } = await connected({ pingInterval: 100, pongTimeout: 500 });
      let closedEarly: unknown[] | null = null;
      ws.on('close', (...args) => { closedEarly = args; });
      const pongs: Buffer[] = [];
      ws.on('pong', (d) => pongs.push(d));
      await new Promise((r) => setTimeout(r, 1600));
      expect(closedEarly).toBeNull();
      expect(ws.readyState).toBe(1);
      if (spec.reportsPings) expect(peer.events.filter((e) => e.ev === 'ping').length).toBeGreaterThanOrEqual(3);
      const echo = next<[string]>(ws, 'message');
      peer.send({ op: 'send', text: 'still here' });
      expect((await echo)[0]).toBe('still here');
      peer.send({ op: 'close', code: 1000 });
      await peer.take('closed');
      await expectCleanExit(peer);
    });

    it('self-check: the peer reports a violation (invalid UTF-8 in a text frame from a raw server) as a failure', async () => {
      // Proves the "no fail events" assertions above can fail.
      const server = cleanup.add(net.createServer((sock) => {
        sock.on('error', () => {});
        let head = '';
        sock.on('data', (d) => {
          if (head === 'done') {
            sock.end(); // the peer's close frame: finish quickly (a real server would answer it)
            return;
          }
          head += d.toString('latin1');
          if (!head.includes('\r\n\r\n')) return;
          const key = /sec-websocket-key:\s*(\S+)/i.exec(head)![1]!;
          const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
          sock.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
          sock.write(Buffer.from([0x81, 0x02, 0xc3, 0x28]));
          head = 'done';
        });
      }), (s) => s.close());
      server.listen(0, '127.0.0.1');
      await next(server, 'listening');
      const peer = await start((server.address() as net.AddressInfo).port);
      await peer.take('open');
      const fail = await peer.take('fail');
      expect(fail.code).toBe(1007);
      peer.child.stdin!.end();
      await within(peer.exit, 10_000, 'peer exit');
    });
  });

  describe.skipIf(skip !== null)(`Python ${spec.name} server, our client`, () => {
    async function startServer(args: string[] = []) {
      const peer = PeerProcess.python(spec.script, ['--role', 'server', ...args], cleanup);
      expect((await peer.take('hello')).library).toBe(spec.name);
      const { port } = await peer.take('listening');
      return { peer, url: `ws://127.0.0.1:${port as number}` };
    }

    async function connected(args: string[] = [], path = '/', options: Record<string, unknown> = {}) {
      const { peer, url } = await startServer(args);
      const ws = cleanup.add(await within(lib.connect(`${url}${path}`, options), 10_000, 'connect'), (x) => x.terminate());
      const request = await peer.take('request');
      const open = await peer.take('open');
      return { peer, ws, request, open };
    }

    it('echoes binary of every length class, text, multi-byte UTF-8 and 1 MiB; path and headers reach the server', async () => {
      const { peer, ws, request } = await connected(['--echo'], '/path?q=1', { headers: { 'X-Test': 'ok' }, origin: 'http://o.test' });
      expect(request.path).toBe('/path?q=1');
      const headers = request.headers as Record<string, string>;
      expect(headers['x-test']).toBe('ok');
      expect(headers.origin).toBe('http://o.test');
      const cases: (string | Buffer)[] = [...BINARY_SIZES.map(pattern), '', 'hello', 'x'.repeat(65536), ...UTF8_SAMPLES, BIG_TEXT];
      for (const data of cases) {
        const echo = next<[string | Buffer, boolean]>(ws, 'message', 10_000);
        expect(ws.send(data)).not.toBe('dropped');
        const [got, isBinary] = await echo;
        expect(isBinary).toBe(typeof data !== 'string');
        expectSame(got, data);
        const seen = await peer.take('message');
        expectMessage(seen, data);
        if (spec.reportsFrames) expect(seen.frames).toBe(1);
      }
      const closed = next<[number, string]>(ws, 'close');
      ws.close(1000);
      expect((await closed)[0]).toBe(1000);
      expect(await peer.take('closed')).toMatchObject({ code: 1000 });
      await expectCleanExit(peer);
    });

    it('the client reports the subprotocol the server selected', async () => {
      const { peer, ws, request, open } = await connected(['--select', 'chat'], '/', { protocols: ['x', 'chat'] });
      expect(request.subprotocols).toEqual(['x', 'chat']);
      expect(open.subprotocol).toBe('chat');
      expect(ws.protocol).toBe('chat');
      ws.close(1000);
      await peer.take('closed');
      await expectCleanExit(peer);
    });

    it('ping/pong both ways', async () => {
      const { peer, ws } = await connected();
      const pong = next<[Buffer]>(ws, 'pong');
      ws.ping('p1 ✓');
      expect((await pong)[0].toString()).toBe('p1 ✓');
      if (spec.reportsPings) expect((await peer.take('ping')).hex).toBe(Buffer.from('p1 ✓').toString('hex'));
      const ping = next<[Buffer]>(ws, 'ping');
      peer.send({ op: 'ping', data: 'p2' });
      expect((await ping)[0].toString()).toBe('p2');
      expect((await peer.take('pong')).hex).toBe(Buffer.from('p2').toString('hex'));
      ws.close(1000);
      await peer.take('closed');
      await expectCleanExit(peer);
    });

    it('reassembles fragmented messages from the server with a ping between fragments', async () => {
      const { peer, ws } = await connected();
      const pings: string[] = [];
      ws.on('ping', (d) => pings.push(d.toString()));
      const text = UTF8_SAMPLES.join(' | ').repeat(40);
      const m1 = next<[string | Buffer, boolean]>(ws, 'message');
      peer.send(sendCommand(text, { fragments: 9, ping_between: 'between' }));
      expectSame((await m1)[0], text);
      const m2 = next<[string | Buffer, boolean]>(ws, 'message');
      peer.send({ op: 'send', pattern: MiB, fragments: 4, ping_between: 'b2' });
      expectSame((await m2)[0], pattern(MiB));
      expect(pings).toEqual(['between', 'b2']);
      ws.close(1000);
      await peer.take('closed');
      await expectCleanExit(peer);
    });

    it('with maxFrameSize 64 KiB our client sends 1 MiB in 16 masked frames and takes it back in 16 fragments', async () => {
      const { peer, ws } = await connected([], '/', { maxFrameSize: 65536 });
      ws.send(pattern(MiB));
      const seen = await peer.take('message');
      expectMessage(seen, pattern(MiB));
      if (spec.reportsFrames) expect(seen.frames).toBe(16);
      const back = next<[string | Buffer, boolean]>(ws, 'message');
      peer.send({ op: 'send', pattern: MiB, fragments: 16 });
      expectSame((await back)[0], pattern(MiB));
      ws.close(1000);
      await peer.take('closed');
      await expectCleanExit(peer);
    });

    it('close initiated by our client: the server sees code and UTF-8 reason', async () => {
      const { peer, ws } = await connected();
      const closed = next<[number, string]>(ws, 'close');
      ws.close(4100, 'ours ✓ 漢字');
      expect(await peer.take('closed')).toMatchObject({ code: 4100, reason: 'ours ✓ 漢字', rcvd: { code: 4100, reason: 'ours ✓ 漢字' } });
      expect((await closed)[0]).toBe(4100);
      await expectCleanExit(peer);
    });

    it('close initiated by the server: our client sees code and reason', async () => {
      const { peer, ws } = await connected();
      const closed = next<[number, string]>(ws, 'close');
      peer.send({ op: 'close', code: 4200, reason: 'theirs 😀' });
      expect(await closed).toEqual([4200, 'theirs 😀']);
      expect(await peer.take('closed')).toMatchObject({ code: 4200 });
      await expectCleanExit(peer);
    });

    it('a message the server sends right after the 101 is seen after await connect()', async () => {
      const greeting = 'welcome ✓ 漢字 😀';
      const { peer, url } = await startServer(['--greet', greeting]);
      const ws = cleanup.add(await within(lib.connect(url), 10_000, 'connect'), (x) => x.terminate());
      const got: string[] = []; // the listener is attached right after `await connect()` resumes
      ws.on('message', (d) => got.push(d as string));
      await within((async () => { while (got.length === 0) await new Promise((r) => setTimeout(r, 5)); })(), 5000, 'the greeting');
      expect(got).toEqual([greeting]);
      ws.close(1000);
      await peer.take('closed');
      await expectCleanExit(peer);
    });

    it('a burst of 240 back-to-back messages from our client is echoed in order', async () => {
      const { peer, ws } = await connected(['--echo']);
      const got: string[] = [];
      ws.on('message', (d) => got.push(d as string));
      const statuses = new Set<string>();
      for (let i = 0; i < BURST.count; i++) statuses.add(ws.send(burstMessage(i)));
      expect(statuses.has('dropped')).toBe(false);
      for (let i = 0; i < BURST.count; i++) expectMessage(await peer.take('message'), burstMessage(i));
      await within((async () => { while (got.length < BURST.count) await new Promise((r) => setTimeout(r, 5)); })(), 10_000, 'all echoes');
      got.forEach((d, i) => expect(d === burstMessage(i)).toBe(true));
      ws.close(1000);
      await peer.take('closed');
      await expectCleanExit(peer);
    });

    it('autoPing from our client: the server answers and the connection outlives several pong timeouts', async () => {
      const { peer, ws } = await connected([], '/', { pingInterval: 100, pongTimeout: 500 });
      let closedEarly: unknown[] | null = null;
      ws.on('close', (...args) => { closedEarly = args; });
      await new Promise((r) => setTimeout(r, 1600));
      expect(closedEarly).toBeNull();
      expect(ws.readyState).toBe(1);
      if (spec.reportsPings) expect(peer.events.filter((e) => e.ev === 'ping').length).toBeGreaterThanOrEqual(3);
      ws.close(1000);
      await peer.take('closed');
      await expectCleanExit(peer);
    });

    it('self-check: the server reports an unmasked client frame (raw socket) as a failure', async () => {
      const { peer, url } = await startServer();
      const port = Number(new URL(url).port);
      const sock = cleanup.add(net.connect(port, '127.0.0.1'), (s) => s.destroy());
      sock.on('error', () => {});
      await next(sock, 'connect');
      sock.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
      await peer.take('open');
      let upgraded = false;
      sock.on('data', (d: Buffer) => {
        if (upgraded) sock.end(); // the peer's close frame
        else upgraded = d.includes('\r\n\r\n');
      });
      sock.write(Buffer.from([0x81, 0x02, 0x68, 0x69]));
      expect((await peer.take('fail')).code).toBe(1002);
      peer.child.stdin!.end();
      await within(peer.exit, 10_000, 'peer exit');
    });
  });
}
