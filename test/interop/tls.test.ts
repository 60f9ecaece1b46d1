// wss:// interop with a TLS stack nobody here wrote: Python `websockets` over the `ssl` module
// (CPython's OpenSSL) as a client of our TLS server and as a TLS server for our client, mutual TLS
// both ways (Chromium over wss:// is in chromium-tls.test.ts). Certificates
// come from test/js/tls-fixtures.ts (made per run with the openssl CLI, never committed). Every
// exchange is checked on both sides: exact bytes / sha256 of every echo, close codes, the TLS
// facts the peer reports (version, verified peer name), no protocol violation reported by the
// peer and a clean exit of its process.
import { afterEach, describe, expect, it } from 'vitest';

import { Cleanup, loadPackage, next, randomUtf8, waitUntil, within } from '../js/helpers';
import { opensslMissing, tlsFixtures } from '../js/tls-fixtures';
import { PeerProcess, pattern, pythonModuleMissing, skipReason, type PeerEvent } from './peer-process';
import { digest, expectSame } from './tls-common';

const lib = loadPackage();
type Ws = import('sockudo-ws').WebSocket;
type Request = import('sockudo-ws').UpgradeRequest;
type HandshakeErr = import('sockudo-ws').HandshakeError;

const MiB = 1024 * 1024;

const opensslSkip = skipReason(opensslMissing());
const pythonSkip = opensslSkip ?? skipReason(pythonModuleMissing('websockets', 'python3-websockets'));
if (pythonSkip) console.warn(`wss:// interop with Python websockets skipped: ${pythonSkip}`);

/** Text and binary messages of 0, 125, 65536 and 1 MiB+ bytes (text: random multi-byte UTF-8 of exactly that many bytes). */
const SIZES = [0, 125, 65536, MiB + 7];
const CASES: (string | Buffer)[] = [
  ...SIZES.map(pattern),
  ...SIZES.map((n, i) => randomUtf8(n, 700 + i).toString('utf8')),
];


/** A peer's "message" event describes exactly `data` (type, byte length, sha256). */
function expectMessage(event: PeerEvent, data: string | Buffer) {
  expect({ type: event.type, len: event.len, sha256: event.sha256 }).toEqual(digest(data));
}

/** The command making the Python peer send `data` (binary as its byte pattern, which pattern() reproduces). */
function sendCommand(data: string | Buffer) {
  return typeof data === 'string' ? { op: 'send', text: data } : { op: 'send', pattern: data.length };
}

describe.skipIf(pythonSkip !== null)('Python websockets (ssl module) ↔ our native TLS', () => {
  const cleanup = new Cleanup();
  afterEach(() => cleanup.run());

  /** No violation detected by the peer's library, no script error; then exit status 0. */
  async function expectCleanExit(peer: PeerProcess) {
    const status = await peer.finish();
    expect(peer.problems(), peer.transcript()).toEqual([]);
    expect(status, peer.transcript()).toBe(0);
  }

  /** A peer that must fail to connect: it opens nothing, reports an error, exits 1. Returns the error text. */
  async function expectRefused(peer: PeerProcess): Promise<string> {
    await within(peer.exit, 15_000, 'the refused peer to exit').catch((e: Error) => {
      e.message += `\n${peer.transcript()}`;
      throw e;
    });
    expect(peer.events.filter((e) => e.ev === 'open'), peer.transcript()).toEqual([]);
    expect(peer.exitCode, peer.transcript()).toBe(1);
    const errors = peer.events.filter((e) => e.ev === 'error');
    expect(errors.length, peer.transcript()).toBe(1);
    return `${errors[0]!.msg as string} / cause: ${errors[0]!.cause as string}`;
  }

  /** Our wss:// server on 127.0.0.1 with the fixture server certificate; every connection recorded. */
  async function ourTlsServer(tlsExtra: Record<string, unknown> = {}) {
    const f = tlsFixtures();
    const wss = cleanup.add(new lib.WebSocketServer({ port: 0, host: '127.0.0.1', tls: { key: f.server.key, cert: f.server.cert, ...tlsExtra } }),
      (s) => s.close());
    await next(wss, 'listening');
    const connections: [Ws, Request][] = [];
    wss.on('connection', (ws: Ws, req: Request) => connections.push([ws, req]));
    return { wss, port: (wss.address() as { port: number }).port, connections };
  }

  function pythonClient(url: string, args: string[]) {
    return PeerProcess.python('websockets_peer.py', ['--role', 'client', '--url', url, ...args], cleanup);
  }

  describe('Python client, our wss:// server', () => {
    it('echoes text and binary of 0, 125, 65536 and 1 MiB+ bytes (sha256 both sides); the peer closes with 4000 and a reason', async () => {
      const f = tlsFixtures();
      const { port, connections } = await ourTlsServer();
      const peer = pythonClient(`wss://127.0.0.1:${port}/tls?x=1`, ['--cafile', f.files.caCert]);
      expect((await peer.take('hello')).library).toBe('websockets');
      const open = await peer.take('open');
      // The peer verified our certificate against the test CA (its CN is reported only when verified).
      expect(open.tls, peer.transcript()).toMatchObject({ version: expect.stringMatching(/^TLSv1\.[23]$/), peer: 'localhost' });
      await waitUntil(() => connections.length === 1, 'our connection event');
      const [ws, request] = connections[0]!;
      expect(request.secure).toBe(true);
      expect(request.url).toBe('/tls?x=1');
      const received: (string | Buffer)[] = [];
      ws.on('message', (data, isBinary) => {
        received.push(data);
        ws.send(data, { binary: isBinary });
      });
      for (const data of CASES) {
        peer.send(sendCommand(data));
        expectMessage(await peer.take('message', 15_000), data);
      }
      expect(received.length).toBe(CASES.length);
      CASES.forEach((data, i) => expectSame(received[i], data));
      const closed = next<[number, string]>(ws, 'close', 10_000);
      peer.send({ op: 'close', code: 4000, reason: 'bye over TLS ✓' });
      expect(await closed).toEqual([4000, 'bye over TLS ✓']);
      expect(await peer.take('closed')).toMatchObject({ code: 4000, sent: { code: 4000, reason: 'bye over TLS ✓' }, rcvd: { code: 4000 } });
      await expectCleanExit(peer);
    });

    it('takes 1 MiB+ pushes from our server and our close 4001 with a UTF-8 reason', async () => {
      const f = tlsFixtures();
      const { port, connections } = await ourTlsServer();
      const peer = pythonClient(`wss://localhost:${port}/`, ['--cafile', f.files.caCert]);
      expect((await peer.take('open')).tls).toMatchObject({ peer: 'localhost' });
      await waitUntil(() => connections.length === 1, 'our connection event');
      const [ws] = connections[0]!;
      const pushes = [pattern(MiB + 3), randomUtf8(MiB + 1, 77).toString('utf8'), Buffer.alloc(0), 'short ✓'];
      const statuses = pushes.map((d) => ws.send(d));
      expect(statuses).not.toContain('dropped');
      for (const data of pushes) expectMessage(await peer.take('message', 15_000), data);
      const closed = next<[number, string]>(ws, 'close', 10_000);
      ws.close(4001, 'server bye 漢字');
      expect(await peer.take('closed')).toMatchObject({ code: 4001, reason: 'server bye 漢字', rcvd: { code: 4001, reason: 'server bye 漢字' } });
      expect((await closed)[0]).toBe(4001);
      await expectCleanExit(peer);
    });

    it('the Python client refuses our server when it does not trust the test CA (verification failed); we see no connection', async () => {
      const { port, connections } = await ourTlsServer();
      const peer = pythonClient(`wss://127.0.0.1:${port}/`, []); // the system roots only
      const error = await expectRefused(peer);
      expect(error).toMatch(/CERTIFICATE_VERIFY_FAILED/);
      expect(connections.length).toBe(0);
    });

    it('mTLS (requestCert + ca): a Python client presenting the client certificate is accepted and echoes', async () => {
      const f = tlsFixtures();
      const { port, connections } = await ourTlsServer({ requestCert: true, ca: f.ca.cert });
      const peer = pythonClient(`wss://127.0.0.1:${port}/`, ['--cafile', f.files.caCert, '--certfile', f.files.clientCert, '--keyfile', f.files.clientKey]);
      expect((await peer.take('open')).tls).toMatchObject({ peer: 'localhost' });
      await waitUntil(() => connections.length === 1, 'our connection event');
      const [ws, request] = connections[0]!;
      expect(request.secure).toBe(true);
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
      for (const data of [pattern(65536), 'mtls ✓']) {
        peer.send(sendCommand(data));
        expectMessage(await peer.take('message'), data);
      }
      const closed = next<[number, string]>(ws, 'close');
      peer.send({ op: 'close', code: 4002, reason: 'mtls bye' });
      expect(await closed).toEqual([4002, 'mtls bye']);
      expect(await peer.take('closed')).toMatchObject({ code: 4002 });
      await expectCleanExit(peer);
    });

    it('mTLS: a Python client without a certificate is refused by our server; no connection event', async () => {
      const f = tlsFixtures();
      const { port, connections } = await ourTlsServer({ requestCert: true, ca: f.ca.cert });
      const peer = pythonClient(`wss://127.0.0.1:${port}/`, ['--cafile', f.files.caCert]);
      const error = await expectRefused(peer);
      // TLS 1.3: the client's handshake ends before the server checks its (absent) certificate, so
      // our certificate_required alert reaches it while it reads the HTTP response (TLS 1.2 would
      // fail the handshake itself with handshake_failure).
      expect(error).toMatch(/TLSV13_ALERT_CERTIFICATE_REQUIRED|SSLV3_ALERT_HANDSHAKE_FAILURE/);
      expect(connections.length).toBe(0);
    });
  });

  describe('Python wss:// server, our client', () => {
    async function pythonServer(args: string[]) {
      const f = tlsFixtures();
      const peer = PeerProcess.python('websockets_peer.py',
        ['--role', 'server', '--certfile', f.files.serverCert, '--keyfile', f.files.serverKey, ...args], cleanup);
      expect((await peer.take('hello')).library).toBe('websockets');
      const listening = await peer.take('listening');
      expect(listening.tls).toBe(true);
      return { peer, port: listening.port as number };
    }

    it('echoes text and binary of 0, 125, 65536 and 1 MiB+ bytes exactly; our close 4003 and reason reach the server', async () => {
      const f = tlsFixtures();
      const { peer, port } = await pythonServer(['--echo']);
      const ws = cleanup.add(await within(lib.connect(`wss://127.0.0.1:${port}/py?tls=1`, { ca: f.ca.cert }), 10_000, 'connect'), (w) => w.terminate());
      expect((await peer.take('request')).path).toBe('/py?tls=1');
      const open = await peer.take('open');
      expect(open.tls).toMatchObject({ version: expect.stringMatching(/^TLSv1\.[23]$/), peer: null }); // no client certificate
      for (const data of CASES) {
        const echo = next<[string | Buffer, boolean]>(ws, 'message', 15_000);
        expect(ws.send(data)).not.toBe('dropped');
        const [got, isBinary] = await echo;
        expect(isBinary).toBe(typeof data !== 'string');
        expectSame(got, data);
        expectMessage(await peer.take('message'), data);
      }
      const closed = next<[number, string]>(ws, 'close', 10_000);
      ws.close(4003, 'client bye ✓');
      expect(await peer.take('closed')).toMatchObject({ code: 4003, reason: 'client bye ✓', rcvd: { code: 4003, reason: 'client bye ✓' } });
      expect((await closed)[0]).toBe(4003);
      await expectCleanExit(peer);
    });

    it('takes 1 MiB+ pushes from the Python server and its close 4004 with a reason (servername localhost)', async () => {
      const f = tlsFixtures();
      const { peer, port } = await pythonServer([]);
      const ws = cleanup.add(await within(lib.connect(`wss://127.0.0.1:${port}/`, { ca: f.ca.cert, servername: 'localhost' }), 10_000, 'connect'),
        (w) => w.terminate());
      await peer.take('open');
      const got: (string | Buffer)[] = [];
      ws.on('message', (d) => got.push(d));
      const text = 'ü€漢字 😀 '.repeat(80_000); // > 1 MiB of UTF-8
      peer.send({ op: 'send', pattern: MiB + 9 });
      peer.send({ op: 'send', text });
      peer.send({ op: 'send', text: '' });
      await waitUntil(() => got.length === 3, 'three pushes', 15_000);
      expectSame(got[0], pattern(MiB + 9));
      expectSame(got[1], text);
      expectSame(got[2], '');
      const closed = next<[number, string]>(ws, 'close', 10_000);
      peer.send({ op: 'close', code: 4004, reason: 'server bye 😀' });
      expect(await closed).toEqual([4004, 'server bye 😀']);
      expect(await peer.take('closed')).toMatchObject({ code: 4004 });
      await expectCleanExit(peer);
    });

    it('our client refuses the Python server without the test CA (verification is on by default)', async () => {
      const { peer, port } = await pythonServer([]);
      const err = await within(lib.connect(`wss://127.0.0.1:${port}/`).then(() => null, (e: unknown) => e), 10_000, 'connect') as HandshakeErr;
      expect(err).toBeInstanceOf(lib.HandshakeError);
      expect(err.code).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
      const status = await peer.finish();
      expect(peer.events.filter((e) => e.ev === 'open' || e.ev === 'request')).toEqual([]);
      expect(status, peer.transcript()).toBe(0);
    });

    it('mTLS: a Python server requiring a client certificate accepts ours (it sees our CN) and refuses a client without one', async () => {
      const f = tlsFixtures();
      const { peer, port } = await pythonServer(['--echo', '--cafile', f.files.caCert]);
      const refused = await within(lib.connect(`wss://127.0.0.1:${port}/`, { ca: f.ca.cert }).then(() => null, (e: unknown) => e), 10_000, 'connect') as HandshakeErr;
      expect(refused).toBeInstanceOf(lib.HandshakeError);
      // Python's asyncio drops the connection without flushing its alert: a reset during our handshake.
      expect(refused.code).toMatch(/^(ERR_SSL_|ECONNRESET)/);
      expect(peer.events.filter((e) => e.ev === 'open')).toEqual([]);
      const ws = cleanup.add(await within(lib.connect(`wss://127.0.0.1:${port}/`, { ca: f.ca.cert, cert: f.client.cert, key: f.client.key }), 10_000, 'connect'),
        (w) => w.terminate());
      expect((await peer.take('open')).tls).toMatchObject({ peer: 'sockudo-ws test client' });
      const echo = next<[string | Buffer, boolean]>(ws, 'message');
      ws.send(pattern(65536));
      expectSame((await echo)[0], pattern(65536));
      expectMessage(await peer.take('message'), pattern(65536));
      ws.close(4005);
      expect(await peer.take('closed')).toMatchObject({ code: 4005 });
      await expectCleanExit(peer);
    });
  });
});

/** The page's data: pattern() (PAGE_HELPERS) for binary, makeText() for text; Node evaluates the same source. */
