// WebSocket over HTTP/3 (RFC 9220) with a peer nobody here wrote: aioquic (QUIC + HTTP/3, Debian
// trixie's python3-aioquic unpacked by scripts/peers/aioquic.sh) with wsproto framing, as a client
// of our server (test/interop/peers/h3_websocket.py). Every process is started here, talks to
// 127.0.0.1 only and is killed by PID.
import { spawnSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import type * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket as WsClient } from 'ws';

import { Cleanup, loadPackage, next, waitUntil, within } from '../js/helpers';
import { opensslMissing, tlsFixtures } from '../js/tls-fixtures';
import { aioquicMissing, PeerProcess, skipReason } from './peer-process';

const lib = loadPackage();
type Request = import('sockudo-ws').UpgradeRequest;
type Server = import('sockudo-ws').WebSocketServer;
const cleanup = new Cleanup();
afterEach(() => cleanup.run());

const aioquicSkip = skipReason(opensslMissing() ?? aioquicMissing());
if (aioquicSkip) console.warn(`HTTP/3 interop with aioquic skipped: ${aioquicSkip}`);

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
/** What the Python client sends on each stream (h3_websocket.py payloads()). */
const PY_PAYLOADS = [Buffer.alloc(0), Buffer.alloc(125, 'x'), Buffer.from(Array.from({ length: 65536 }, (_, i) => i & 255)),
  Buffer.alloc(1024 * 1024 + 3, 0xab), Buffer.from('ünïcödé ✓')];

type StreamResult = { status: number; protocol: string; echoed: { len: number; same: boolean; sha256: string }[]; closed: number | null; reset: number | null };

async function h3Server(options: Record<string, unknown> = {}): Promise<{ wss: Server; port: number; requests: Request[]; closes: [number, string][] }> {
  const f = tlsFixtures();
  const wss = cleanup.add(new lib.WebSocketServer({ port: 0, host: '127.0.0.1', http3: true, tls: { key: f.server.key, cert: f.server.cert },
    handleProtocols: (p: Set<string>) => [...p][0] ?? false, ...options }), (s) => s.close());
  await next(wss, 'listening');
  const requests: Request[] = [];
  const closes: [number, string][] = [];
  wss.on('connection', (ws, req) => {
    requests.push(req);
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    ws.on('close', (code, reason) => closes.push([code, String(reason)]));
  });
  return { wss, port: (wss.address() as net.AddressInfo).port, requests, closes };
}

describe.skipIf(aioquicSkip !== null)('aioquic + wsproto as a client of our HTTP/3 server', () => {
  it('three WebSockets on one QUIC connection: SETTINGS_ENABLE_CONNECT_PROTOCOL, every echo identical (0 B to 1 MiB), closes 1000 with a clean end', async () => {
    const { port, requests, closes } = await h3Server();
    const peer = PeerProcess.python('h3_websocket.py', ['client', String(port), '3'], cleanup);
    expect((await peer.take('settings', 15_000)).enable_connect_protocol).toBe(true);
    const done = await peer.take('done', 60_000);
    const streams = done.streams as StreamResult[];
    expect(streams).toHaveLength(3);
    for (const s of streams) {
      expect(s.status).toBe(200);
      expect(s.protocol).toBe('py');
      expect(s.reset).toBeNull();
      expect(s.closed).toBe(1000);
      expect(s.echoed).toEqual(PY_PAYLOADS.map((p) => ({ len: p.length, same: true, sha256: sha(p) })));
    }
    expect(requests.map((r) => [r.httpVersion, r.method, r.path])).toEqual([['3', 'CONNECT', '/h3/0'], ['3', 'CONNECT', '/h3/1'], ['3', 'CONNECT', '/h3/2']]);
    expect(new Set(requests.map((r) => r.remotePort)).size).toBe(1);
    expect(done.retries).toBe(0);  // few handshakes in progress: no address validation round trip
    await waitUntil(() => closes.length === 3, 'three closes');
    expect(closes).toEqual([[1000, 'py done'], [1000, 'py done'], [1000, 'py done']]);
    await within(peer.exit, 10_000, 'the peer to exit');
    expect(peer.exitCode).toBe(0);
  });

  it.each([
    ['rebind', 'a NAT rebinding: a new client port, the same connection ID'],
    ['migrate', 'an active migration: a new client port and a new connection ID (one we issued)'],
  ])('connection migration (RFC 9000 §9), %s — %s: path validated, the WebSocket goes on, every echo arrives', async (mode) => {
    // It once failed: every packet went to the address the connection started from.
    const { port, requests, closes } = await h3Server();
    const peer = PeerProcess.python('h3_websocket.py', ['client', String(port), '1', mode], cleanup);
    const moved = await peer.take('moved', 30_000);
    const done = await peer.take('done', 30_000);
    const [stream] = done.streams as StreamResult[];
    expect(stream!.reset).toBeNull();
    expect(stream!.echoed).toEqual(PY_PAYLOADS.map((p) => ({ len: p.length, same: true, sha256: sha(p) })));
    expect(stream!.closed).toBe(1000);
    expect(moved.port).not.toBe(requests[0]!.remotePort);
    await waitUntil(() => closes.length === 1, 'the close');
    expect(closes).toEqual([[1000, 'py done']]);
  });

  it('http3RetryAbove: 0: the client answers a Retry first (RFC 9000 §8.1.2; aioquic checks retry_source_connection_id), then echoes as usual', async () => {
    const { port, requests } = await h3Server({ http3RetryAbove: 0 });
    const peer = PeerProcess.python('h3_websocket.py', ['client', String(port), '1'], cleanup);
    const done = await peer.take('done', 60_000);
    expect(done.retries).toBe(1);
    const [s] = done.streams as StreamResult[];
    expect(s!.closed).toBe(1000);
    expect(s!.echoed.every((e) => e.same)).toBe(true);
    expect(requests).toHaveLength(1);
  });

  it('RESET_STREAM + STOP_SENDING from the peer: that WebSocket closes 1006; the server goes on serving new connections', async () => {
    const { wss, port, closes } = await h3Server();
    const peer = PeerProcess.python('h3_websocket.py', ['client', String(port), '1', 'reset'], cleanup);
    await peer.take('done', 60_000);
    await waitUntil(() => closes.length === 1, 'the reset WebSocket to close');
    expect(closes[0]![0]).toBe(1006);
    // The server still serves a new connection afterwards.
    const again = PeerProcess.python('h3_websocket.py', ['client', String(port), '1'], cleanup);
    const streams = (await again.take('done', 60_000)).streams as StreamResult[];
    expect(streams[0]!.closed).toBe(1000);
    expect(wss.clients.size).toBe(0);
  });

  it('CONNECTION_CLOSE from the peer closes every WebSocket of that connection with 1006', async () => {
    const { port, closes } = await h3Server();
    const peer = PeerProcess.python('h3_websocket.py', ['client', String(port), '2', 'abort'], cleanup);
    await peer.take('done', 60_000);
    await waitUntil(() => closes.length === 2, 'both WebSockets to close');
    expect(closes.map((c) => c[0])).toEqual([1006, 1006]);
  });

  it('server.close(): each WebSocket gets a 1001 close frame, the streams end, the server emits close', async () => {
    const { wss, port, requests } = await h3Server();
    const peer = PeerProcess.python('h3_websocket.py', ['client', String(port), '2', 'hold'], cleanup);
    await waitUntil(() => requests.length === 2 && wss.clients.size === 2, 'two WebSockets');
    await new Promise((r) => setTimeout(r, 300));  // the echoes run
    await within(wss.close(), 10_000, 'the server to close');
    const streams = (await peer.take('done', 30_000)).streams as StreamResult[];
    expect(streams.map((s) => s.closed)).toEqual([1001, 1001]);
    // RFC 9220 §3: the close handshake done, our stream ends with a FIN (it once reset with
    // H3_REQUEST_CANCELLED when our close frame had been acknowledged before the peer's arrived).
    expect(streams.map((s) => s.reset)).toEqual([null, null]);
  });
});

describe.skipIf(aioquicSkip !== null)('our HTTP/3 client against aioquic and Hypercorn 0.17 as servers', () => {
  const SIZES = [0, 125, 65_536, 1024 * 1024 + 5];

  async function echoes(ws: import('sockudo-ws').WebSocket) {
    for (const n of SIZES) {
      for (const data of ['é'.repeat(n >> 1), Buffer.alloc(n, n & 255)]) {
        const reply = next<[string | Buffer, boolean]>(ws, 'message', 15_000);
        ws.send(data);
        const [got, isBinary] = await reply;
        expect(isBinary).toBe(typeof data !== 'string');
        expect(sha(got as Buffer | string)).toBe(sha(data));
      }
    }
  }

  it('aioquic: connectHttp3, two WebSockets on one connection, subprotocol, every size echoed, a 403 with its body, the server\'s 4002, our 1000', async () => {
    const f = tlsFixtures();
    const peer = PeerProcess.python('h3_websocket.py', ['server', f.files.serverCert, f.files.serverKey], cleanup);
    const port = (await peer.take('listening', 20_000)).port as number;
    const session = await lib.connectHttp3(`https://localhost:${port}`, { ca: f.ca.cert });
    cleanup.add(session, (s) => s.close());
    const a = await session.websocket('/echo?x=1', { protocols: ['chat', 'other'] });
    const b = await session.websocket('/echo');
    expect([a.protocol, b.protocol, a.httpVersion]).toEqual(['chat', '', '3']);
    await echoes(a);
    await echoes(b);
    const refused = await session.websocket('/refuse').then(() => null, (e: unknown) => e as import('sockudo-ws').HandshakeError);
    expect(refused?.status).toBe(403);
    expect(String(refused?.body)).toBe('nope');
    const c = await session.websocket('/server-close');
    const [[bye], [code, reason]] = await Promise.all([next<[string]>(c, 'message'), next<[number, string]>(c, 'close', 10_000)]);
    expect([bye, code, reason]).toEqual(['bye soon', 4002, 'server bye']);
    const closed = next<[number]>(a, 'close');
    a.close(1000);
    expect((await closed)[0]).toBe(1000);
    expect((await peer.take('closed', 10_000, (e) => e.code === 1000)).path).toBe('/echo?x=1');
    const requests = peer.events.filter((e) => e.ev === 'request');
    expect(requests.map((r) => [r.method, r.protocol, r.scheme, r.path, r.version, r.key])).toEqual([
      ['CONNECT', 'websocket', 'https', '/echo?x=1', '13', null], ['CONNECT', 'websocket', 'https', '/echo', '13', null],
      ['CONNECT', 'websocket', 'https', '/refuse', '13', null], ['CONNECT', 'websocket', 'https', '/server-close', '13', null]]);
    expect(requests[0]!.authority).toBe(`localhost:${port}`);
    b.terminate();
  });

  it('Hypercorn 0.17 with quic_bind: connect(wss://, { http3: true }) goes over h3, echoes every size, closes 1000', async () => {
    const f = tlsFixtures();
    const peer = PeerProcess.python('hypercorn_server.py', [f.files.serverCert, f.files.serverKey, '--quic'], cleanup);
    const listening = await peer.take('listening', 20_000);
    expect(listening.quic).toBe(true);
    const ws = await lib.connect(`wss://127.0.0.1:${listening.port as number}/echo`, { ca: f.ca.cert, http3: true, protocols: ['chat'] });
    cleanup.add(ws, (w) => w.terminate());
    expect([ws.httpVersion, ws.protocol]).toEqual(['3', 'chat']);
    await echoes(ws);
    const request = await peer.take('request');
    expect([request.http_version, request.scheme, request.path]).toEqual(['3', 'wss', '/echo']);
    const closed = next<[number]>(ws, 'close', 10_000);
    ws.close(1000);
    expect((await closed)[0]).toBe(1000);
    // Not checked: Hypercorn 0.17's h3 protocol drops StreamClosed (`pass  # ??` in
    // hypercorn/protocol/h3.py), so its app never sees websocket.disconnect over HTTP/3.
  });
});

describe.skipIf(opensslMissing() !== null)('HTTP/3 on the TCP side', () => {
  it('a wss:// upgrade over TCP to an http3 server is answered with Alt-Svc: h3=":port" (RFC 7838, RFC 9114 §3.1.1)', async () => {
    const { port } = await h3Server();
    const f = tlsFixtures();
    const client = new WsClient(`wss://127.0.0.1:${port}/`, { ca: f.ca.cert });
    cleanup.add(client, (c) => c.terminate());
    const [res] = await next<[import('node:http').IncomingMessage]>(client, 'upgrade', 10_000);
    expect(res.headers['alt-svc']).toBe(`h3=":${port}"`);
    await waitUntil(() => client.readyState === WsClient.OPEN, 'the TCP WebSocket to open');
  });
});

describe.skipIf(aioquicSkip !== null)('hostile HTTP/3 peers (aioquic, or raw datagrams)', () => {
  it('a header block past maxHeaderSize (5 KB against 4 KiB): 431 on that stream', async () => {
    const { port, requests } = await h3Server({ maxHeaderSize: 4096 });
    const peer = PeerProcess.python('h3_websocket.py', ['client', String(port), '1', 'bigheaders'], cleanup);
    const [s] = (await peer.take('done', 30_000)).streams as StreamResult[];
    expect(s!.status).toBe(431);
    expect(requests).toHaveLength(0);
  });

  it('150 CONNECTs in one flight: each is answered 200 or refused with H3_REQUEST_REJECTED (at most 100 new requests per loop turn); the connection survives', async () => {
    const { port, requests } = await h3Server({ http3MaxStreams: 200 });
    const peer = PeerProcess.python('h3_websocket.py', ['client', String(port), '150', 'burst'], cleanup);
    const streams = (await peer.take('done', 30_000)).streams as StreamResult[];
    expect(streams).toHaveLength(150);
    for (const s of streams) {
      if (s.status !== 200) expect(s.reset).toBe(0x10b);  // H3_REQUEST_REJECTED: the client may retry
    }
    const accepted = streams.filter((s) => s.status === 200).length;
    expect(accepted).toBeGreaterThanOrEqual(100);
    expect(requests.length).toBe(accepted);
  });

  it('a flood of 3,000 forged Initial packets (random IDs, 1,200 bytes, undecryptable): a real client is served during and after it', async () => {
    const { port, requests } = await h3Server();
    const dgram = await import('node:dgram');
    const sock = cleanup.add(dgram.createSocket('udp4'), (s) => s.close());
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
    let seed = 11;
    const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) & 255;
    const flood = (async () => {
      for (let i = 0; i < 3000; i++) {
        const pkt = Buffer.alloc(1200).map(() => rand());
        pkt[0] = 0xc0;                 // long header, Initial (type 0)
        pkt.writeUInt32BE(1, 1);       // QUIC v1
        pkt[5] = 8;                    // DCID length
        pkt[14] = 8;                   // SCID length
        pkt[23] = 0;                   // no token
        pkt.writeUInt16BE(0x4000 | 1100, 24);  // Length (varint, 2 bytes)
        await new Promise<void>((r) => sock.send(pkt, port, '127.0.0.1', () => r()));
        if (i % 100 === 0) await new Promise((r) => setImmediate(r));
      }
    })();
    const during = PeerProcess.python('h3_websocket.py', ['client', String(port), '1'], cleanup);
    await flood;
    const [s] = (await during.take('done', 60_000)).streams as StreamResult[];
    expect(s!.closed, JSON.stringify(s)).toBe(1000);
    expect(s!.echoed.every((e) => e.same), JSON.stringify(s)).toBe(true);
    const after = PeerProcess.python('h3_websocket.py', ['client', String(port), '2'], cleanup);
    const streams = (await after.take('done', 60_000)).streams as StreamResult[];
    expect(streams.map((x) => x.closed)).toEqual([1000, 1000]);
    expect(requests).toHaveLength(3);
  });

  /** A well-behaved client on the same server afterwards: one WebSocket, every echo, close 1000. */
  async function stillServes(port: number) {
    const peer = PeerProcess.python('h3_websocket.py', ['client', String(port), '1'], cleanup);
    const [s] = (await peer.take('done', 60_000)).streams as StreamResult[];
    expect(s!.closed, JSON.stringify(s)).toBe(1000);
    expect(s!.echoed.every((e) => e.same)).toBe(true);
  }

  it('before its address is validated, a client gets at most 3× the bytes it sent (RFC 9000 §8.1): one real Initial, never answered', async () => {
    // A certificate of about 8 KB (400 names), so the server's first flight alone is more than 3×
    // one Initial: only the limit keeps it in.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockudo-ws-bigcert-'));
    cleanup.add(dir, (d) => fs.rmSync(d, { recursive: true, force: true }));
    const names = Array.from({ length: 400 }, (_, i) => `DNS:name-${i}.sockudo-ws.test`).join(',');
    const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'k.pem', '-out', 'c.pem',
      '-days', '2', '-subj', '/CN=localhost', '-addext', `subjectAltName=DNS:localhost,${names}`], { cwd: dir, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const cert = fs.readFileSync(path.join(dir, 'c.pem'));
    expect(new X509Certificate(cert).raw.length).toBeGreaterThan(3 * 1200 + 1000);
    const { port, requests } = await h3Server({ tls: { key: fs.readFileSync(path.join(dir, 'k.pem')), cert } });
    const peer = PeerProcess.python('h3_hostile.py', ['amplification', String(port)], cleanup);
    const done = await peer.take('done', 30_000);
    expect(done.datagrams as number).toBeGreaterThan(0);  // the server did answer (its first flight, then probes)
    expect(done.received as number).toBeLessThanOrEqual(3 * (done.sent as number));
    expect(requests).toHaveLength(0);
    await stillServes(port);
  });

  it('more request streams than MAX_STREAMS allowed (http3MaxStreams 5, 12 opened): STREAM_LIMIT_ERROR for that connection only', async () => {
    const { port } = await h3Server({ http3MaxStreams: 5 });
    const peer = PeerProcess.python('h3_hostile.py', ['streams', String(port), '12'], cleanup);
    const end = await peer.take('terminated', 30_000);
    expect(end.error_code).toBe(0x4);  // STREAM_LIMIT_ERROR
    await peer.take('done', 30_000);
    await stillServes(port);
  });

  it('more data than the flow-control window allowed (http3WindowSize 64 KiB, 1 MiB sent): FLOW_CONTROL_ERROR for that connection only', async () => {
    const { wss, port, closes } = await h3Server({ http3WindowSize: 64 * 1024 });
    // A paused socket consumes nothing, so its stream's credit stays at 64 KiB (a reading one
    // extends it as it consumes, and the overrun may then never exceed what was granted).
    wss.once('connection', (ws) => ws.pause());
    const peer = PeerProcess.python('h3_hostile.py', ['flow', String(port), String(1024 * 1024)], cleanup);
    expect((await peer.take('stream', 30_000)).status).toBe(200);
    const end = await peer.take('terminated', 30_000);
    expect(end.error_code).toBe(0x3);  // FLOW_CONTROL_ERROR
    await waitUntil(() => closes.length === 1, 'the WebSocket to close');
    expect(closes[0]![0]).toBe(1006);
    await stillServes(port);
  });

  it('a QPACK bomb (one 3,000-byte table entry referred to 2,000 times: 6 MB decoded from 2 KB) gets 431 on that stream; the connection then serves a plain request', async () => {
    const { port, requests } = await h3Server();
    const peer = PeerProcess.python('h3_hostile.py', ['qpack', String(port), '2000'], cleanup);
    expect((await peer.take('stream', 30_000)).status).toBe(431);
    expect((await peer.take('stream', 30_000)).status).toBe(200);
    await peer.take('done', 30_000);
    expect(requests).toHaveLength(1);
    await stillServes(port);
  });
});
