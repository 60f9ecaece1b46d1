// The native load generator (bench/loadgen) against `ws` servers in this process that implement the
// bench server contract (echo; "__flood__ N"; "B..." broadcast to every client): every scenario runs
// briefly and reports numbers that match what the server saw; a corrupted echo, a wrong
// Sec-WebSocket-Accept, a silent server and a non-loopback host each make it fail as documented.
// With --tls the same servers run on Node's https (a test certificate from tlsFixtures()).
import { spawn, spawnSync } from 'node:child_process';
import type { IncomingMessage } from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import type { TLSSocket } from 'node:tls';
import * as path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer, type ServerOptions, type WebSocket } from 'ws';

import { Cleanup, root, within } from './helpers';
import { opensslMissing, tlsFixtures } from './tls-fixtures';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

let exe = '';
beforeAll(() => {
  const r = spawnSync(process.execPath, [path.join(root, 'scripts', 'build-bench.js')], { cwd: root, encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) throw new Error(`scripts/build-bench.js failed:\n${r.stderr}`);
  exe = r.stdout.trim().split('\n').pop()!;
}, 300_000);

type Json = Record<string, number | string | boolean | null>;
interface Outcome { code: number | null; lines: Json[]; result: Json; stderr: string }

/** Runs the generator to completion (the servers live in this process, so never spawnSync). */
function loadgen(args: string[], onLine: (line: Json) => void = () => {}): Promise<Outcome> {
  const child = cleanup.add(spawn(exe, args, { stdio: ['ignore', 'pipe', 'pipe'] }), (c) => { if (c.exitCode === null) c.kill(); });
  let stdout = '', stderr = '';
  const lines: Json[] = [];
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
    let nl;
    while ((nl = stdout.indexOf('\n')) >= 0) {
      const line = JSON.parse(stdout.slice(0, nl)) as Json;
      stdout = stdout.slice(nl + 1);
      lines.push(line);
      onLine(line);
    }
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  return within(new Promise<Outcome>((resolve) => child.on('close', (code) => {
    resolve({ code, lines, result: lines[lines.length - 1] ?? {}, stderr });
  })), 20_000, `sockudo-loadgen ${args.join(' ')}`);
}

interface ContractServer {
  wss: WebSocketServer;
  port: number;
  received: number;          // messages the server received
  payloadBytes: number;      // their (decompressed) payload bytes
  sockets: { ws: WebSocket; req: IncomingMessage }[];
  maxClients: number;
  pongs: number;
}

interface Misbehaviour {
  corruptNth?: number;  // alter one byte of the echo of the server's n-th message
  fragment?: boolean;   // echo as two fragments with a ping between them (RFC 6455 §5.4, §5.5.2)
}

/** A ws server implementing the contract of bench/loadgen/README.md; with `tls`, ws on Node's https (wss://). */
async function contractServer(options: ServerOptions = {}, { corruptNth = 0, fragment = false }: Misbehaviour = {},
  { tls = false } = {}): Promise<ContractServer> {
  let listening: Promise<unknown>;
  let wss: WebSocketServer;
  if (tls) {
    const f = tlsFixtures();
    const httpsServer = cleanup.add(https.createServer({ key: f.server.key, cert: f.server.cert }), (s) => new Promise((r) => {
      s.closeAllConnections();
      s.close(r);
    }));
    wss = new WebSocketServer({ server: httpsServer, perMessageDeflate: false, ...options });
    listening = new Promise<void>((r) => httpsServer.listen(0, '127.0.0.1', r));
  } else {
    wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false, ...options });
    listening = new Promise((r) => wss.once('listening', r));
  }
  cleanup.add(wss, (s) => new Promise((r) => {
    for (const c of s.clients) c.terminate();
    s.close(r);
  }));
  const server: ContractServer = { wss, port: 0, received: 0, payloadBytes: 0, sockets: [], maxClients: 0, pongs: 0 };
  wss.on('connection', (ws, req) => {
    server.sockets.push({ ws, req });
    server.maxClients = Math.max(server.maxClients, wss.clients.size);
    ws.on('pong', () => server.pongs++);
    ws.on('message', (data: Buffer, isBinary) => {
      server.received++;
      server.payloadBytes += data.length;
      if (!isBinary && data.length >= 10 && data.toString('latin1', 0, 10) === '__flood__ ') {
        const n = Number(data.toString('latin1', 10));
        for (let i = 0; i < n; i++) ws.send('Hello, World!');
      } else if (!isBinary && data[0] === 0x42 /* B */) {
        for (const c of wss.clients) c.send(data, { binary: false });
      } else if (server.received === corruptNth) {
        const bad = Buffer.from(data);
        const at = bad.length >> 1;
        bad[at] = bad[at]! ^ 1; // ASCII stays ASCII: still valid UTF-8
        ws.send(bad, { binary: isBinary });
      } else if (fragment) {
        const cut = data.length >> 1;
        ws.send(data.subarray(0, cut), { binary: isBinary, fin: false });
        ws.ping('between fragments');
        ws.send(data.subarray(cut), { binary: isBinary, fin: true });
      } else {
        ws.send(data, { binary: isBinary });
      }
    });
  });
  await within(listening, 5000, 'listening');
  server.port = (wss.address() as net.AddressInfo).port;
  return server;
}

const num = (j: Json, k: string) => {
  expect(typeof j[k], `field ${k}`).toBe('number');
  return j[k] as number;
};

describe('echo', () => {
  it('text, 4 connections × pipeline 2 × 512 B: messages > 0, no errors, ordered round-trip percentiles', async () => {
    const s = await contractServer();
    const { code, result: r } = await loadgen(['--scenario', 'echo', '--port', String(s.port), '--connections', '4', '--pipeline', '2',
      '--size', '512', '--warmup', '0.2', '--seconds', '1']);
    expect(code).toBe(0);
    expect(r).toMatchObject({ scenario: 'echo', ok: true, errors: 0, connections: 4, pipeline: 2, size: 512 });
    expect(num(r, 'messages')).toBeGreaterThan(0);
    expect(num(r, 'messages')).toBeLessThanOrEqual(s.received);
    expect(num(r, 'rate')).toBeGreaterThan(0);
    expect(num(r, 'rtt_p50_us')).toBeLessThanOrEqual(num(r, 'rtt_p99_us'));
    expect(s.maxClients).toBe(4);
  });

  it('binary 70000 B (64-bit frame lengths) echoes verify', async () => {
    const s = await contractServer();
    const { code, result: r } = await loadgen(['--scenario', 'echo', '--port', String(s.port), '--connections', '2', '--size', '70000',
      '--binary', '--warmup', '0', '--seconds', '0.5']);
    expect(code).toBe(0);
    expect(r).toMatchObject({ ok: true, errors: 0, binary: true });
    expect(num(r, 'messages')).toBeGreaterThan(0);
    expect(s.payloadBytes % 70000).toBe(0);
  });

  it('fragmented echoes with a ping between the fragments verify, and every ping gets its pong', async () => {
    const s = await contractServer({}, { fragment: true });
    const { code, result: r } = await loadgen(['--scenario', 'echo', '--port', String(s.port), '--connections', '2', '--size', '300',
      '--warmup', '0', '--seconds', '0.5']);
    expect(code).toBe(0);
    expect(r).toMatchObject({ ok: true, errors: 0 });
    expect(num(r, 'messages')).toBeGreaterThan(0);
    await within((async () => { while (s.pongs < num(r, 'messages')) await new Promise((res) => setTimeout(res, 10)); })(), 5000, 'pongs');
  });

  it('a server that alters one byte of one echo makes the run report errors (exit 1)', async () => {
    const s = await contractServer({}, { corruptNth: 5 });
    const { code, result: r, stderr } = await loadgen(['--scenario', 'echo', '--port', String(s.port), '--connections', '2',
      '--size', '64', '--warmup', '0', '--seconds', '0.5']);
    expect(code).toBe(1);
    expect(r.ok).toBe(false);
    expect(num(r, 'errors')).toBe(1);
    expect(stderr).toContain('echo content differs');
  });
});

describe('pipelined', () => {
  it('send / echo / recv phases of 2000 messages each, all accounted for on both sides', async () => {
    const s = await contractServer();
    const { code, result: r } = await loadgen(['--scenario', 'pipelined', '--port', String(s.port), '--count', '2000']);
    expect(code).toBe(0);
    expect(r).toMatchObject({ ok: true, errors: 0, count: 2000 });
    for (const k of ['send_ms', 'echo_ms', 'recv_ms']) expect(num(r, k)).toBeGreaterThan(0);
    expect(num(r, 'total_ms')).toBeCloseTo(num(r, 'send_ms') + num(r, 'echo_ms') + num(r, 'recv_ms'), 1);
    // 2000 + "__sync__", 2000, "__flood__ 2000"
    expect(s.received).toBe(4002);
  });
});

describe('broadcast', () => {
  it('closed loop, 5 subscribers: deliveries = publishes × subscribers', async () => {
    const s = await contractServer();
    const { code, result: r } = await loadgen(['--scenario', 'broadcast', '--port', String(s.port), '--subscribers', '5',
      '--warmup', '0.2', '--seconds', '1']);
    expect(code).toBe(0);
    expect(r).toMatchObject({ ok: true, errors: 0, subscribers: 5 });
    expect(num(r, 'publishes')).toBeGreaterThan(0);
    expect(num(r, 'deliveries')).toBe(num(r, 'publishes') * 5);
    expect(num(r, 'latency_p50_us')).toBeLessThanOrEqual(num(r, 'latency_p999_us'));
    expect(s.maxClients).toBe(6);
  });

  it('open loop at 200 msgs/s for 1 s publishes ~200 messages, each to every subscriber', async () => {
    const s = await contractServer();
    const { code, result: r } = await loadgen(['--scenario', 'broadcast', '--port', String(s.port), '--subscribers', '3',
      '--size', '100', '--rate', '200', '--warmup', '0', '--seconds', '1']);
    expect(code).toBe(0);
    expect(r).toMatchObject({ ok: true, errors: 0, rate: 200 });
    expect(num(r, 'publishes')).toBeGreaterThanOrEqual(180);
    expect(num(r, 'publishes')).toBeLessThanOrEqual(202);
    expect(num(r, 'deliveries')).toBe(num(r, 'publishes') * 3);
  });
});

describe('connections', () => {
  it('opens 200, prints the idle line while all are open (server count and RSS), then closes them', async () => {
    const s = await contractServer();
    let clientsAtIdle = -1;
    const { code, lines, result: r } = await loadgen(['--scenario', 'connections', '--port', String(s.port), '--connections', '200',
      '--concurrency', '50', '--hold', '0.5', '--pid', String(process.pid)], (line) => {
      if (line.phase === 'idle') clientsAtIdle = s.wss.clients.size;
    });
    expect(code).toBe(0);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ scenario: 'connections', phase: 'idle', connections: 200 });
    expect(num(lines[0]!, 'rss_bytes')).toBeGreaterThan(0);
    expect(clientsAtIdle).toBe(200);
    expect(r).toMatchObject({ phase: 'done', ok: true, errors: 0, opened: 200, failed: 0, open_after_hold: 200 });
    expect(num(r, 'handshakes_per_sec')).toBeGreaterThan(0);
    expect(num(r, 'rss_idle_bytes')).toBeGreaterThan(0);
    await within((async () => { while (s.wss.clients.size > 0) await new Promise((res) => setTimeout(res, 20)); })(), 5000, 'server-side closes');
  });
});

describe('latency', () => {
  it('500 msgs/s over 4 connections: all echoed, percentiles ordered', async () => {
    const s = await contractServer();
    const { code, result: r } = await loadgen(['--scenario', 'latency', '--port', String(s.port), '--connections', '4',
      '--rate', '500', '--warmup', '0.2', '--seconds', '1']);
    expect(code).toBe(0);
    expect(r).toMatchObject({ ok: true, errors: 0 });
    expect(num(r, 'sent')).toBe(500);
    expect(num(r, 'received')).toBe(500);
    const [p50, p99, p999] = [num(r, 'latency_p50_us'), num(r, 'latency_p99_us'), num(r, 'latency_p999_us')];
    expect(p50).toBeGreaterThan(0);
    expect(p50).toBeLessThanOrEqual(p99);
    expect(p99).toBeLessThanOrEqual(p999);
  });
});

describe('permessage-deflate', () => {
  it('--deflate against ws (threshold 0): negotiated, the server receives compressed frames, echoes verify', async () => {
    const s = await contractServer({ perMessageDeflate: { threshold: 0 } });
    const { code, result: r } = await loadgen(['--scenario', 'echo', '--port', String(s.port), '--connections', '2', '--size', '1024',
      '--deflate', '--warmup', '0', '--seconds', '0.5']);
    expect(code).toBe(0);
    expect(r).toMatchObject({ ok: true, errors: 0, deflate_offered: true, deflate_connections: 2 });
    expect(num(r, 'messages')).toBeGreaterThan(0);
    expect(num(r, 'compressed_messages_received')).toBeGreaterThanOrEqual(num(r, 'messages'));
    expect(s.sockets.map((x) => x.ws.extensions)).toEqual(['permessage-deflate', 'permessage-deflate']);
    // The JSON-like payload compresses well: far fewer bytes on the wire than the server decoded.
    const wire = s.sockets.reduce((n, x) => n + x.req.socket.bytesRead, 0);
    expect(s.payloadBytes).toBeGreaterThan(0);
    expect(wire).toBeLessThan(s.payloadBytes / 3);
  });

  it('pipelined and broadcast also run compressed', async () => {
    const s = await contractServer({ perMessageDeflate: { threshold: 0 } });
    const p = await loadgen(['--scenario', 'pipelined', '--port', String(s.port), '--count', '300', '--deflate']);
    expect(p.code).toBe(0);
    expect(p.result).toMatchObject({ ok: true, count: 300, deflate_connections: 1 });
    const b = await loadgen(['--scenario', 'broadcast', '--port', String(s.port), '--subscribers', '3', '--deflate', '--warmup', '0', '--seconds', '0.3']);
    expect(b.code).toBe(0);
    expect(b.result).toMatchObject({ ok: true, deflate_connections: 4 });
    expect(num(b.result, 'deliveries')).toBe(num(b.result, 'publishes') * 3);
  });
});

const noOpenssl = opensslMissing();

describe.skipIf(noOpenssl)('--tls (ws on Node https)', () => {
  const tlsServer = (options: ServerOptions = {}) => contractServer(options, {}, { tls: true });

  for (const size of [512, 16384]) {
    it(`echo, 4 connections × pipeline 2 × ${size} B: every echo verified through TLS 1.3`, async () => {
      const s = await tlsServer();
      const { code, result: r } = await loadgen(['--scenario', 'echo', '--tls', '--port', String(s.port), '--connections', '4',
        '--pipeline', '2', '--size', String(size), '--warmup', '0.2', '--seconds', '1']);
      expect(code).toBe(0);
      expect(r).toMatchObject({ scenario: 'echo', ok: true, errors: 0, connections: 4, size, tls: true, tls_resume_offered: false,
        tls_handshakes: 4, tls_resumed: 0, tls_protocol: 'TLSv1.3', tls_group: 'x25519' });
      expect(num(r, 'messages')).toBeGreaterThan(0);
      expect(num(r, 'messages')).toBeLessThanOrEqual(s.received);
      expect(s.payloadBytes % size).toBe(0);
      expect(s.sockets.every((x) => (x.req.socket as TLSSocket).encrypted && (x.req.socket as TLSSocket).alpnProtocol === 'http/1.1')).toBe(true);
      expect(s.sockets.map((x) => (x.req.socket as TLSSocket).servername)).toEqual(['localhost', 'localhost', 'localhost', 'localhost']);
      // Ciphertext on the wire: more than the payloads that went through.
      expect(num(r, 'bytes_sent')).toBeGreaterThan(num(r, 'messages') * size);
    });
  }

  it('echo of 1 MB binary messages, 8 in flight per connection: backpressure both ways never stalls', async () => {
    const s = await tlsServer();
    const { code, result: r } = await loadgen(['--scenario', 'echo', '--tls', '--port', String(s.port), '--connections', '2',
      '--pipeline', '8', '--size', String(1 << 20), '--binary', '--warmup', '0', '--seconds', '1', '--stall-timeout', '5']);
    expect(code).toBe(0);
    expect(r).toMatchObject({ ok: true, errors: 0, binary: true });
    expect(num(r, 'messages')).toBeGreaterThan(0);
  });

  it('pipelined: send / echo / recv phases of 2000 messages, all accounted for', async () => {
    const s = await tlsServer();
    const { code, result: r } = await loadgen(['--scenario', 'pipelined', '--tls', '--port', String(s.port), '--count', '2000']);
    expect(code).toBe(0);
    expect(r).toMatchObject({ ok: true, errors: 0, count: 2000, tls: true, tls_handshakes: 1 });
    expect(s.received).toBe(4002);
  });

  it('--deflate over TLS: negotiated and verified', async () => {
    const s = await tlsServer({ perMessageDeflate: { threshold: 0 } });
    const { code, result: r } = await loadgen(['--scenario', 'echo', '--tls', '--deflate', '--port', String(s.port), '--connections', '2',
      '--size', '1024', '--warmup', '0', '--seconds', '0.5']);
    expect(code).toBe(0);
    expect(r).toMatchObject({ ok: true, errors: 0, tls: true, deflate_connections: 2 });
    expect(num(r, 'compressed_messages_received')).toBeGreaterThanOrEqual(num(r, 'messages'));
  });

  it('connections: 200 full TLS handshakes, then 200 with --tls-resume (resumed ones reported), idle line and RSS', async () => {
    const s = await tlsServer();
    const args = ['--scenario', 'connections', '--tls', '--port', String(s.port), '--connections', '200', '--concurrency', '50',
      '--hold', '0.3', '--pid', String(process.pid)];
    let clientsAtIdle = -1;
    const full = await loadgen(args, (line) => {
      if (line.phase === 'idle') clientsAtIdle = s.wss.clients.size;
    });
    expect(full.code).toBe(0);
    expect(full.lines[0]).toMatchObject({ phase: 'idle', connections: 200 });
    expect(clientsAtIdle).toBe(200);
    expect(full.result).toMatchObject({ phase: 'done', ok: true, errors: 0, opened: 200, failed: 0, open_after_hold: 200,
      tls: true, tls_handshakes: 200, tls_resumed: 0 });
    expect(num(full.result, 'handshakes_per_sec')).toBeGreaterThan(0);
    expect(num(full.result, 'tls_handshake_p50_us')).toBeLessThanOrEqual(num(full.result, 'handshake_p50_us'));
    expect(num(full.result, 'rss_idle_bytes')).toBeGreaterThan(0);

    const resumed = await loadgen([...args, '--tls-resume']);
    expect(resumed.code).toBe(0);
    expect(resumed.result).toMatchObject({ ok: true, opened: 200, failed: 0, tls_resume_offered: true, tls_handshakes: 200 });
    // The first connection brings the session; every later one offers it, and Node's server accepts it.
    expect(num(resumed.result, 'tls_resumed')).toBeGreaterThan(0);
    expect(num(resumed.result, 'tls_resumed')).toBeLessThanOrEqual(199);
  });

  it('--tls against a plain ws:// server: each connection fails with the TLS reason (exit 3)', async () => {
    const s = await contractServer();
    const { code, result: r, stderr } = await loadgen(['--scenario', 'echo', '--tls', '--port', String(s.port), '--connections', '2',
      '--warmup', '0', '--seconds', '0.5']);
    expect(code).toBe(3);
    expect(r).toMatchObject({ ok: false, tls: true, tls_handshakes: 0 });
    expect(stderr).toContain('failed to open: TLS handshake failed: ');
    expect(stderr).toContain('wrong version number');
  });

  it('--tls-resume or --tls-groups without --tls, and an unknown group, are usage errors (exit 2, no JSON)', async () => {
    for (const [extra, message] of [[['--tls-resume'], '--tls-resume needs --tls'], [['--tls-groups', 'X25519'], '--tls-groups needs --tls'],
      [['--tls', '--tls-groups', 'no-such-group'], "--tls-groups 'no-such-group'"]] as const) {
      const { code, lines, stderr } = await loadgen(['--scenario', 'echo', '--port', '9', ...extra]);
      expect(code).toBe(2);
      expect(lines).toEqual([]);
      expect(stderr).toContain(message);
    }
  });
});

describe('refusals and failures', () => {
  it('--host 10.0.0.1 is refused before anything is sent (exit 2, no JSON)', async () => {
    const { code, lines, stderr } = await loadgen(['--scenario', 'echo', '--host', '10.0.0.1', '--port', '80']);
    expect(code).toBe(2);
    expect(lines).toEqual([]);
    expect(stderr).toContain("refusing host '10.0.0.1'");
  });

  it('a 101 with a wrong Sec-WebSocket-Accept fails the connection (exit 3)', async () => {
    const server = cleanup.add(net.createServer((sock) => {
      sock.once('data', () => sock.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n'));
      sock.on('error', () => {});
    }), (s) => new Promise((r) => s.close(r)));
    await within(new Promise<void>((r) => server.listen(0, '127.0.0.1', r)), 5000, 'listen');
    const port = (server.address() as net.AddressInfo).port;
    const { code, result: r, stderr } = await loadgen(['--scenario', 'pipelined', '--port', String(port), '--count', '1']);
    expect(code).toBe(3);
    expect(r.ok).toBe(false);
    expect(stderr).toContain('Sec-WebSocket-Accept missing or wrong');
  });

  it('a server that never answers is a stall: exit 3 after --stall-timeout', async () => {
    const wss = cleanup.add(new WebSocketServer({ port: 0, host: '127.0.0.1' }), (s) => new Promise((r) => {
      for (const c of s.clients) c.terminate();
      s.close(r);
    }));
    await within(new Promise((r) => wss.once('listening', r)), 5000, 'listening');
    const port = (wss.address() as net.AddressInfo).port;
    const t0 = Date.now();
    const { code, result: r } = await loadgen(['--scenario', 'echo', '--port', String(port), '--connections', '1', '--warmup', '0',
      '--seconds', '5', '--stall-timeout', '0.5']);
    expect(code).toBe(3);
    expect(String(r.fatal)).toContain('no progress for 0.5 s');
    expect(Date.now() - t0).toBeLessThan(4000);
  });
});

describe('--http2 (WebSockets as extended CONNECT streams, RFC 8441)', () => {
  it('echo, 10 WebSockets on 2 HTTP/2 connections of our server: every echo verified', async () => {
    const lib = (await import('./helpers')).loadPackage();
    const wss = cleanup.add(new lib.WebSocketServer({ port: 0, host: '127.0.0.1', http2: true, http2Cleartext: true, autoPing: false, idleTimeout: 0 }),
      (x) => x.close());
    await new Promise((r) => wss.once('listening', r));
    const versions: string[] = [];
    const ports = new Set<number | undefined>();
    wss.on('connection', (ws, req) => {
      versions.push(req.httpVersion);
      ports.add(req.remotePort);
      ws.on('message', (d, b) => ws.send(d, { binary: b }));
    });
    const port = (wss.address() as net.AddressInfo).port;
    const { code, result: r } = await loadgen(['--scenario', 'echo', '--http2', '--streams', '5', '--port', String(port), '--connections', '10',
      '--pipeline', '2', '--size', '512', '--warmup', '0.2', '--seconds', '1']);
    expect(code).toBe(0);
    expect(r).toMatchObject({ scenario: 'echo', ok: true, errors: 0, connections: 10, http2: true, http2_connections: 2 });
    expect(num(r, 'messages')).toBeGreaterThan(0);
    expect(versions).toEqual(Array(10).fill('2'));
    expect(ports.size).toBe(2);
  });

  it.skipIf(noOpenssl)('with --tls: HTTP/2 over TLS with ALPN h2 to our wss:// server', async () => {
    const lib = (await import('./helpers')).loadPackage();
    const f = tlsFixtures();
    const wss = cleanup.add(new lib.WebSocketServer({ port: 0, host: '127.0.0.1', http2: true, tls: { key: f.server.key, cert: f.server.cert },
      autoPing: false, idleTimeout: 0 }), (x) => x.close());
    await new Promise((r) => wss.once('listening', r));
    const secure: boolean[] = [];
    wss.on('connection', (ws, req) => {
      secure.push(req.secure && req.httpVersion === '2');
      ws.on('message', (d, b) => ws.send(d, { binary: b }));
    });
    // 100 × 16 KiB in flight on one connection: more than the 1 MiB of ciphertext the generator
    // lets wait, which once stalled it after the first round (0 messages measured).
    const { code, result: r } = await loadgen(['--scenario', 'echo', '--http2', '--tls', '--streams', '100', '--port', String((wss.address() as net.AddressInfo).port),
      '--connections', '100', '--size', '16384', '--binary', '--warmup', '0.2', '--seconds', '0.5']);
    expect(code).toBe(0);
    expect(r).toMatchObject({ ok: true, errors: 0, http2: true, http2_connections: 1, tls: true });
    expect(num(r, 'messages')).toBeGreaterThan(1000);
    expect(secure).toEqual(Array(100).fill(true));
  });

  it('echo against Node\'s http2 server echoing frames by hand (a peer independent of our server)', async () => {
    const http2 = await import('node:http2');
    const server = http2.createServer({ settings: { enableConnectProtocol: true } });
    const sessions = new Set<import('node:http2').ServerHttp2Session>();
    server.on('session', (x) => sessions.add(x));
    let streams = 0;
    server.on('stream', (stream, headers) => {
      if (headers[':method'] !== 'CONNECT' || headers[':protocol'] !== 'websocket') {
        stream.respond({ ':status': 400 }, { endStream: true });
        return;
      }
      streams++;
      stream.respond({ ':status': 200 });
      let buf = Buffer.alloc(0);
      stream.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        for (;;) {  // unmask each client frame and send it back unmasked (RFC 6455 §5.2), small frames only
          if (buf.length < 2) return;
          const len = buf[1]! & 0x7f;
          const ext = len === 126 ? 2 : len === 127 ? 8 : 0;
          const n = len === 126 ? buf.readUInt16BE(2) : len === 127 ? Number(buf.readBigUInt64BE(2)) : len;
          const head = 2 + ext + 4;
          if (buf.length < head + n) return;
          const key = buf.subarray(2 + ext, head);
          const payload = Buffer.from(buf.subarray(head, head + n)).map((b, i) => b ^ key[i & 3]!);
          const out = Buffer.from(buf.subarray(0, 2 + ext));
          out[1] = out[1]! & 0x7f;
          stream.write(Buffer.concat([out, payload]));
          buf = buf.subarray(head + n);
        }
      });
      stream.on('error', () => {});
    });
    cleanup.add(server, (x) => new Promise<void>((r) => { for (const s of sessions) s.destroy(); x.close(() => r()); }));
    server.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const { code, result: r } = await loadgen(['--scenario', 'echo', '--http2', '--streams', '4', '--port', String((server.address() as net.AddressInfo).port),
      '--connections', '4', '--size', '300', '--warmup', '0', '--seconds', '0.5']);
    expect(code).toBe(0);
    expect(r).toMatchObject({ ok: true, errors: 0, http2: true, http2_connections: 1 });
    expect(num(r, 'messages')).toBeGreaterThan(0);
    expect(streams).toBe(4);
  });

  it('refuses --http2 with --deflate or --tls-resume, and --streams without --http2', () => {
    for (const args of [['--http2', '--tls', '--tls-resume'], ['--http2', '--deflate'], ['--streams', '4']]) {
      const r = spawnSync(exe, ['--scenario', 'echo', '--port', '1', ...args], { encoding: 'utf8' });
      expect(r.status, args.join(' ')).toBe(2);
    }
  });
});


describe('--http3 (WebSockets as extended CONNECT streams over QUIC, RFC 9220)', () => {
  // Regression: 100 busy streams on one connection once crashed our server (ngtcp2 asserted in
  // ngtcp2_conn_handle_expiry: a flush stopped while ngtcp2 was still filling a packet).
  it.skipIf(noOpenssl)('echo: 100 × 512 B and 100 × 16 KiB on one QUIC connection to our server, every echo verified; 20 connections of 5 streams', async () => {
    const lib = (await import('./helpers')).loadPackage();
    const f = tlsFixtures();
    const wss = cleanup.add(new lib.WebSocketServer({ port: 0, host: '127.0.0.1', http3: true, tls: { key: f.server.key, cert: f.server.cert },
      autoPing: false, idleTimeout: 0 }), (x) => x.close());
    await new Promise((r) => wss.once('listening', r));
    const versions = new Set<string>();
    wss.on('connection', (ws, req) => {
      versions.add(req.httpVersion);
      ws.on('message', (d, b) => ws.send(d, { binary: b }));
    });
    const port = String((wss.address() as net.AddressInfo).port);
    for (const size of ['512', '16384']) {
      const { code, result: r } = await loadgen(['--scenario', 'echo', '--http3', '--streams', '100', '--port', port,
        '--connections', '100', '--size', size, '--binary', '--warmup', '0.2', '--seconds', '0.5']);
      expect(code).toBe(0);
      expect(r).toMatchObject({ ok: true, errors: 0, http3: true, http3_connections: 1 });
      expect(num(r, 'messages')).toBeGreaterThan(500);
    }
    const { code, result: r } = await loadgen(['--scenario', 'echo', '--http3', '--streams', '5', '--port', port,
      '--connections', '100', '--size', '64', '--warmup', '0.1', '--seconds', '0.3']);
    expect(code).toBe(0);
    expect(r).toMatchObject({ ok: true, errors: 0, http3_connections: 20 });
    expect([...versions]).toEqual(['3']);
  });

  it.skipIf(noOpenssl)('connections: QUIC handshakes one per WebSocket (--streams 1) and streams of one connection', async () => {
    const lib = (await import('./helpers')).loadPackage();
    const f = tlsFixtures();
    const wss = cleanup.add(new lib.WebSocketServer({ port: 0, host: '127.0.0.1', http3: true, tls: { key: f.server.key, cert: f.server.cert },
      autoPing: false, idleTimeout: 0 }), (x) => x.close());
    await new Promise((r) => wss.once('listening', r));
    const port = String((wss.address() as net.AddressInfo).port);
    for (const streams of ['1', '100']) {
      const { code, result: r } = await loadgen(['--scenario', 'connections', '--http3', '--streams', streams, '--port', port,
        '--connections', '100', '--hold', '0']);
      expect(code).toBe(0);
      expect(r).toMatchObject({ ok: true, opened: 100, failed: 0 });
    }
  });
});
