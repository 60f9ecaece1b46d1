// WebSocket over HTTP/2 (RFC 8441) with peers nobody here wrote: Python's h2 + wsproto as a
// client of our server and as a server for our client (test/interop/peers/h2_websocket.py), and
// nghttpx (Debian nghttp2-proxy) bridging the `ws` package's HTTP/1.1 client to our h2 server
// over TLS, and Hypercorn 0.17 (Debian trixie's python3-hypercorn: an ASGI server with RFC 8441
// on its h2 stack, wsproto framing) as a server for our client (test/interop/peers/hypercorn_server.py).
// Every process is started here, bound to 127.0.0.1 and killed by PID.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import type * as net from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket as WsClient } from 'ws';

import { Cleanup, closedPort, loadPackage, next, waitUntil, within } from '../js/helpers';
import { opensslMissing, tlsFixtures } from '../js/tls-fixtures';
import { aioquicMissing, killPid, PeerProcess, pythonModuleMissing, skipReason } from './peer-process';

const lib = loadPackage();
type Request = import('sockudo-ws').UpgradeRequest;
const cleanup = new Cleanup();
afterEach(() => cleanup.run());

const pythonSkip = skipReason(pythonModuleMissing('h2', 'python3-h2') ?? pythonModuleMissing('wsproto', 'python3-wsproto'));
const NGHTTPX = '/usr/sbin/nghttpx';
const nghttpxSkip = skipReason(fs.existsSync(NGHTTPX) ? opensslMissing() : `${NGHTTPX} is absent (apt-get install nghttp2-proxy)`);
if (pythonSkip) console.warn(`HTTP/2 interop with Python h2 skipped: ${pythonSkip}`);
// Hypercorn 0.17 (trixie's, unpacked with aioquic by scripts/peers/aioquic.sh): bookworm's 0.13
// drops the whole connection on a client's END_STREAM that comes with its close frame.
const hypercornSkip = skipReason(pythonModuleMissing('h2', 'python3-h2') ?? opensslMissing() ?? aioquicMissing());
if (hypercornSkip) console.warn(`HTTP/2 interop with Hypercorn skipped: ${hypercornSkip}`);
if (nghttpxSkip) console.warn(`HTTP/2 interop with nghttpx skipped: ${nghttpxSkip}`);

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
/** What the Python client sends on each stream (h2_websocket.py payloads()). */
const PY_PAYLOADS = [Buffer.alloc(0), Buffer.alloc(125, 'x'), Buffer.from(Array.from({ length: 65536 }, (_, i) => i & 255)),
  Buffer.alloc(1024 * 1024 + 3, 0xab), Buffer.from('ünïcödé ✓')];

describe.skipIf(pythonSkip !== null)('Python h2 + wsproto', () => {
  it('as a client: three WebSockets on one h2c connection to our server, every echo identical, closes 1000', async () => {
    const wss = cleanup.add(new lib.WebSocketServer({ port: 0, host: '127.0.0.1', http2: true, http2Cleartext: true,
      handleProtocols: (p: Set<string>) => [...p][0] ?? false }), (s) => s.close());
    await next(wss, 'listening');
    const requests: Request[] = [];
    const closes: number[] = [];
    wss.on('connection', (ws, req) => {
      requests.push(req);
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
      ws.on('close', (code) => closes.push(code));
    });
    const peer = PeerProcess.python('h2_websocket.py', ['client', String((wss.address() as net.AddressInfo).port), '3'], cleanup);
    expect((await peer.take('settings')).enable_connect_protocol).toBe(true);
    const done = await peer.take('done', 30_000);
    const streams = done.streams as { status: number; protocol: string; echoed: { len: number; same: boolean; sha256: string }[]; closed: number; reset: number | null }[];
    expect(streams).toHaveLength(3);
    for (const s of streams) {
      expect(s.status).toBe(200);
      expect(s.protocol).toBe('py');
      expect(s.reset).toBeNull();
      expect(s.closed).toBe(1000);
      expect(s.echoed).toEqual(PY_PAYLOADS.map((p) => ({ len: p.length, same: true, sha256: sha(p) })));
    }
    expect(requests.map((r) => [r.httpVersion, r.method, r.path])).toEqual([['2', 'CONNECT', '/py/0'], ['2', 'CONNECT', '/py/1'], ['2', 'CONNECT', '/py/2']]);
    expect(new Set(requests.map((r) => r.remotePort)).size).toBe(1);
    await waitUntil(() => closes.length === 3, 'three closes');
    expect(closes).toEqual([1000, 1000, 1000]);
    await within(peer.exit, 10_000, 'the peer to exit');
    expect(peer.exitCode).toBe(0);
  });

  it('as a server: our connectHttp2 opens two WebSockets, echoes sizes by sha256, closes; a 403 refusal carries its body', async () => {
    const peer = PeerProcess.python('h2_websocket.py', ['server'], cleanup);
    const port = (await peer.take('listening')).port as number;
    const session = await lib.connectHttp2(`http://127.0.0.1:${port}`);
    const a = await session.websocket('/a', { protocols: ['first', 'second'] });
    const b = await session.websocket('/b');
    expect(a.protocol).toBe('first');
    for (const [ws, data] of [[a, 'hello from a ✓'], [b, Buffer.alloc(300_000, 7)], [a, Buffer.alloc(0)], [b, 'x'.repeat(70_000)]] as const) {
      const reply = next<[string | Buffer, boolean]>(ws, 'message', 10_000);
      ws.send(data);
      const [got] = await reply;
      expect(sha(got as Buffer | string)).toBe(sha(data));
    }
    const refused = await session.websocket('/refuse').then(() => null, (e: unknown) => e as import('sockudo-ws').HandshakeError);
    expect(refused?.status).toBe(403);
    expect(String(refused?.body)).toBe('nope');
    const closedA = next<[number, string]>(a, 'close');
    a.close(1000, 'from node');
    expect((await closedA)[0]).toBe(1000);
    const closedB = next<[number, string]>(b, 'close');
    b.close(4000);
    expect((await closedB)[0]).toBe(4000);
    const reqs = peer.events.filter((e) => e.ev === 'request').map((e) => e.headers as Record<string, string>);
    expect(reqs[0]![':protocol']).toBe('websocket');
    expect(reqs[0]!['sec-websocket-key']).toBeUndefined();
    expect(reqs[0]!['sec-websocket-version']).toBe('13');
    await session.close();
  });
});

describe.skipIf(nghttpxSkip !== null)('nghttpx bridging the ws package (HTTP/1.1) to our HTTP/2 server', () => {
  it('an HTTP/1.1 WebSocket arrives as an extended CONNECT stream over TLS; echo and close pass through', async () => {
    const f = tlsFixtures();
    const wss = cleanup.add(new lib.WebSocketServer({ port: 0, host: '127.0.0.1', http2: true, tls: { key: f.server.key, cert: f.server.cert } }), (s) => s.close());
    await next(wss, 'listening');
    const requests: Request[] = [];
    wss.on('connection', (ws, req) => {
      requests.push(req);
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    });
    const front = await closedPort();
    const proxy = spawn(NGHTTPX, ['--conf=/dev/null', `-f127.0.0.1,${front};no-tls`, `-b127.0.0.1,${(wss.address() as net.AddressInfo).port};;proto=h2;tls`,
      '-k', '-n1', '--no-ocsp', '--log-level=WARN', '--errorlog-file=/dev/stderr', '--accesslog-file=/dev/null'], { stdio: ['ignore', 'ignore', 'pipe'] });
    cleanup.add(proxy.pid, killPid);
    let stderr = '';
    proxy.stderr!.on('data', (d: Buffer) => { stderr += String(d); });
    // nghttpx is ready once its frontend accepts connections: retry the client until then.
    let ws: WsClient | undefined;
    for (let i = 0; i < 50 && ws === undefined; i++) {
      const attempt = new WsClient(`ws://127.0.0.1:${front}/bridged?x=1`);
      try {
        await within(new Promise<void>((resolve, reject) => { attempt.once('open', resolve); attempt.once('error', reject); }), 2000, 'open');
        ws = attempt;
      } catch {
        attempt.terminate();
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    expect(ws, `nghttpx did not come up: ${stderr}`).toBeDefined();
    cleanup.add(ws!, (w) => w.terminate());
    expect(requests[0]!.httpVersion).toBe('2');
    expect(requests[0]!.url).toBe('/bridged?x=1');
    expect(requests[0]!.secure).toBe(true);
    for (const data of ['text through the bridge', Buffer.alloc(200_000, 5)]) {
      const reply = new Promise<Buffer>((resolve) => ws!.once('message', (m: Buffer) => resolve(m)));
      ws!.send(data);
      expect(sha(await within(reply, 10_000, 'echo'))).toBe(sha(data));
    }
    const closed = new Promise<number>((resolve) => ws!.once('close', (code: number) => resolve(code)));
    ws!.close(1000);
    expect(await within(closed, 10_000, 'close')).toBe(1000);
  });
});

describe.skipIf(hypercornSkip !== null)('Hypercorn (an RFC 8441 server) for our client', () => {
  /** Hypercorn on 127.0.0.1 (TLS with our test certificate unless `cleartext`); stdin's end stops it. */
  async function hypercorn(cleartext = false) {
    const f = tlsFixtures();
    const peer = PeerProcess.python('hypercorn_server.py', [...(cleartext ? [] : [f.files.serverCert, f.files.serverKey]), '--trixie'], cleanup);
    const listening = await peer.take('listening', 20_000);
    expect(listening.hypercorn).toBe('0.17');
    const port = listening.port as number;
    return { peer, port, ca: f.ca.cert };
  }
  const SIZES = [0, 125, 65_536, 1024 * 1024 + 5];

  it('connectHttp2 over TLS (ALPN h2): two WebSockets on one connection, subprotocol chosen, every size echoed by sha256, a 403 with its body, our closes 1000 and 4000, the server\'s 4002', async () => {
    const { peer, port, ca } = await hypercorn();
    const session = await lib.connectHttp2(`https://127.0.0.1:${port}`, { ca });
    const a = await session.websocket('/echo?room=1', { protocols: ['chat', 'other'] });
    const b = await session.websocket('/echo');
    expect(a.protocol).toBe('chat');
    expect([a.httpVersion, b.httpVersion]).toEqual(['2', '2']);
    for (const n of SIZES) {
      for (const [ws, data] of [[a, 'é'.repeat(n >> 1)], [b, Buffer.alloc(n, n & 255)]] as const) {
        const reply = next<[string | Buffer, boolean]>(ws, 'message', 15_000);
        ws.send(data);
        const [got, isBinary] = await reply;
        expect(isBinary).toBe(typeof data !== 'string');
        expect(sha(got as Buffer | string)).toBe(sha(data));
      }
    }
    const refused = await session.websocket('/refuse').then(() => null, (e: unknown) => e as import('sockudo-ws').HandshakeError);
    expect(refused?.status).toBe(403);
    expect(String(refused?.body)).toBe('nope');
    const closedA = next<[number, string]>(a, 'close');
    a.close(1000, 'from node');
    expect((await closedA)[0]).toBe(1000);
    expect((await peer.take('disconnect', 10_000, (e) => e.path === '/echo')).ev).toBe('disconnect');
    const closedB = next<[number, string]>(b, 'close');
    b.close(4000);
    expect((await closedB)[0]).toBe(4000);
    // Last on this connection: Hypercorn (0.13 and 0.17) forgets a stream once it has sent its own close, so
    // the client's close reply (DATA on that half-closed stream, as RFC 9113 §5.1 allows) makes it
    // drop the whole connection.
    const c = await session.websocket('/server-close');
    const [[bye], [code, reason]] = await Promise.all([next<[string]>(c, 'message'), next<[number, string]>(c, 'close', 10_000)]);
    expect([bye, code, reason]).toEqual(['bye soon', 4002, 'server bye']);
    const requests = peer.events.filter((e) => e.ev === 'request');
    expect(requests.map((r) => [r.path, r.http_version, r.scheme])).toEqual([
      ['/echo', '2', 'wss'], ['/echo', '2', 'wss'], ['/refuse', '2', 'wss'], ['/server-close', '2', 'wss']]);
    expect(requests[0]!.query).toBe('room=1');
    expect(requests[0]!.subprotocols).toEqual(['chat', 'other']);
    const headers = requests[0]!.headers as Record<string, string>;
    expect(headers['sec-websocket-key']).toBeUndefined();
    expect(headers['sec-websocket-version']).toBe('13');
    await session.close();
    expect(peer.problems()).toEqual([]);
  });

  it('connect(wss://, { http2: true }) takes h2 from Hypercorn and negotiates permessage-deflate with its wsproto by header', async () => {
    const { peer, port, ca } = await hypercorn();
    const ws = await lib.connect(`wss://127.0.0.1:${port}/deflate`, { ca, http2: true, compression: 'dedicated' });
    expect(ws.httpVersion).toBe('2');
    expect(ws.extensions).toMatch(/^permessage-deflate/);
    const text = 'compressible text over h2 '.repeat(8000);
    const reply = next<[string]>(ws, 'message', 10_000);
    ws.send(text);
    expect((await reply)[0]).toBe(text);
    const request = await peer.take('request');
    expect((request.headers as Record<string, string>)['sec-websocket-extensions']).toMatch(/permessage-deflate/);
    const closed = next<[number]>(ws, 'close');
    ws.close(1000);
    expect((await closed)[0]).toBe(1000);
  });

  it('connectHttp2 over cleartext (prior knowledge) reaches Hypercorn\'s h2 stack too', async () => {
    const { peer, port } = await hypercorn(true);
    const session = await lib.connectHttp2(`http://127.0.0.1:${port}`);
    const ws = await session.websocket('/plain');
    const reply = next<[Buffer]>(ws, 'message', 10_000);
    ws.send(Buffer.from([1, 2, 3]));
    expect([...(await reply)[0]]).toEqual([1, 2, 3]);
    expect((await peer.take('request')).http_version).toBe('2');
    await session.close();
  });
});
