// Native TLS (wss://): our server and client against each other, `ws` over https both ways, Node's
// own `tls` as an independent peer (ALPN, SNI, resumption, renegotiation, close_notify, mTLS),
// certificate verification failures with Node's codes, option validation, and hostile peers
// (garbage instead of TLS, a ClientHello trickled or cut, resets mid-handshake) that must affect
// only their own connection. Certificates come from tls-fixtures.ts (made per run).
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import * as https from 'node:https';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { promisify } from 'node:util';

import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket as WsClient, WebSocketServer as WsServer } from 'ws';

import { Cleanup, loadPackage, nativeBinding, next, root, upgradeRequest, waitUntil, within } from './helpers';
import { opensslMissing, tlsFixtures } from './tls-fixtures';

const lib = loadPackage();
const execFileAsync = promisify(execFile);
const cleanup = new Cleanup();
afterEach(() => cleanup.run());

type Options = Record<string, unknown>;
type Ws = import('sockudo-ws').WebSocket;
type HandshakeErr = import('sockudo-ws').HandshakeError;

// Skipped without the openssl CLI (it makes the certificates), except under CI, where that is a failure.
const missing = opensslMissing();
const skip = missing !== null && !process.env.CI ? missing : null;
if (skip) console.warn(`TLS tests skipped: ${skip}`);

/** A wss:// echo server of ours on 127.0.0.1. */
async function tlsServer(tlsOptions: Options = {}, options: Options = {}) {
  const f = tlsFixtures();
  const wss = cleanup.add(new lib.WebSocketServer({ port: 0, host: '127.0.0.1', tls: { key: f.server.key, cert: f.server.cert, ...tlsOptions }, ...options }),
    (s) => s.close());
  await next(wss, 'listening');
  const requests: import('sockudo-ws').UpgradeRequest[] = [];
  wss.on('connection', (ws, req) => {
    requests.push(req);
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
  return { wss, port: (wss.address() as net.AddressInfo).port, requests };
}

async function echo(ws: Ws, data: string | Buffer): Promise<string | Buffer> {
  const reply = next<[string | Buffer, boolean]>(ws, 'message', 10_000);
  ws.send(data);
  return (await reply)[0];
}

/** A raw TLS connection from Node's tls module (an independent TLS stack: Node's OpenSSL). */
async function tlsConnect(port: number, options: tls.ConnectionOptions = {}): Promise<tls.TLSSocket> {
  const f = tlsFixtures();
  const sock = cleanup.add(tls.connect({ host: '127.0.0.1', port, ca: f.ca.cert, servername: 'localhost', ...options }), (s) => s.destroy());
  await within(once(sock, 'secureConnect'), 5000, 'TLS handshake');
  return sock;
}

/** Reads from `sock` until `pattern` appears in what arrived (latin1). */
async function readUntil(sock: net.Socket, pattern: RegExp, ms = 5000): Promise<string> {
  let text = '';
  return within(new Promise<string>((resolve, reject) => {
    const onData = (d: Buffer) => {
      text += d.toString('latin1');
      if (pattern.test(text)) {
        sock.off('data', onData);
        resolve(text);
      }
    };
    sock.on('data', onData);
    sock.once('close', () => reject(new Error(`closed before ${pattern}: ${JSON.stringify(text)}`)));
  }), ms, `${pattern}`);
}

describe.skipIf(skip !== null)('wss:// between our server and our client', () => {
  it('echoes text and binary of every size class; the request says secure', async () => {
    const f = tlsFixtures();
    const { port, requests } = await tlsServer();
    const ws = cleanup.add(await lib.connect(`wss://localhost:${port}/x?y=1`, { ca: f.ca.cert }), (w) => w.terminate());
    expect(await echo(ws, 'hello over TLS')).toBe('hello over TLS');
    for (const size of [0, 1, 125, 126, 16 * 1024 - 1, 16 * 1024 + 7, 65_536, 1024 * 1024 + 3, 8 * 1024 * 1024]) {
      const payload = Buffer.alloc(size, size & 0xff);
      for (let i = 0; i < size; i += 4093) payload[i] = i & 0xff;
      const back = await echo(ws, payload) as Buffer;
      expect(back.length).toBe(size);
      expect(back.equals(payload)).toBe(true);
    }
    const req = requests[0]!;
    expect(req.secure).toBe(true);
    expect(req.url).toBe('/x?y=1');
    expect(req.httpVersion).toBe('1.1');
    expect(req.authority).toBe(`localhost:${port}`);
    expect(req.method).toBe('GET');
    expect(req.extensions).toEqual([]);
  });

  it('many small messages in one burst arrive complete and in order', async () => {
    const f = tlsFixtures();
    const { port } = await tlsServer();
    const ws = cleanup.add(await lib.connect(`wss://127.0.0.1:${port}/`, { ca: f.ca.cert }), (w) => w.terminate());
    const got: string[] = [];
    ws.on('message', (d) => got.push(String(d)));
    for (let i = 0; i < 5000; i++) ws.send(`m${i}`);
    await waitUntil(() => got.length === 5000, '5000 echoes', 10_000);
    expect(got.every((m, i) => m === `m${i}`)).toBe(true);
  });

  it('backpressure: a peer that stops reading makes sends report it, and drain follows once it reads again', async () => {
    const f = tlsFixtures();
    const wss = cleanup.add(new lib.WebSocketServer({ port: 0, host: '127.0.0.1', tls: { key: f.server.key, cert: f.server.cert }, maxBackpressure: 64 * 1024 * 1024 }),
      (s) => s.close());
    await next(wss, 'listening');
    const port = (wss.address() as net.AddressInfo).port;
    const serverSide = next<[Ws]>(wss, 'connection');
    const client = cleanup.add(await lib.connect(`wss://127.0.0.1:${port}/`, { ca: f.ca.cert }), (w) => w.terminate());
    const [ws] = await serverSide;
    client.pause();
    const chunk = Buffer.alloc(256 * 1024, 1);
    let sent = 0;
    let status = 0;
    while (sent < 256 && status !== 1) {
      status = ws.send(chunk) as unknown as number;
      sent++;
      await new Promise((r) => setImmediate(r));
    }
    expect(ws.bufferedAmount).toBeGreaterThan(0);
    const drained = next(ws, 'drain', 10_000);
    let received = 0;
    client.on('message', () => received++);
    client.resume();
    await drained;
    await waitUntil(() => received === sent, 'every message received', 10_000);
  });

  // Regression: input that arrived while our output waited for the kernel flushed the waiting
  // ciphertext in passing, so the socket never heard it could write again: the echo stalled.
  it('output blocked by a paused peer resumes after the peer sends pings and reads again', async () => {
    const { wss, port } = await tlsServer({}, { maxBackpressure: 64 * 1024 * 1024 });
    const sock = await tlsConnect(port);
    sock.write(upgradeRequest('/'));
    await readUntil(sock, /\r\n\r\n/);
    let received = 0;
    sock.on('data', (d: Buffer) => { received += d.length; });
    sock.pause();
    const n = 16 * 1024 * 1024;
    const header = Buffer.from([0x82, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    header.writeUInt32BE(n, 6); // masked with a zero key
    await new Promise((r) => sock.write(Buffer.concat([header, Buffer.alloc(n, 3)]), r));
    const [ws] = [...wss.clients];
    await waitUntil(() => ws!.bufferedAmount > 0, 'the echo to wait for the peer', 10_000);
    for (let i = 0; i < 6; i++) sock.write(Buffer.from([0x89, 0x82, 0, 0, 0, 0, 0x70, 0x30 + i]));
    await new Promise((r) => setTimeout(r, 50));
    sock.resume();
    await waitUntil(() => received >= n + 10 + 6 * 4, 'the whole echo and six pongs', 15_000);
    expect(ws!.bufferedAmount).toBe(0);
  });

  it('close handshake over TLS: codes and reasons both ways', async () => {
    const f = tlsFixtures();
    const wss = cleanup.add(new lib.WebSocketServer({ port: 0, host: '127.0.0.1', tls: { key: f.server.key, cert: f.server.cert } }), (s) => s.close());
    await next(wss, 'listening');
    const port = (wss.address() as net.AddressInfo).port;
    const serverSide = next<[Ws]>(wss, 'connection');
    const client = await lib.connect(`wss://127.0.0.1:${port}/`, { ca: f.ca.cert });
    const [ws] = await serverSide;
    const serverClosed = next<[number, string]>(ws, 'close');
    const clientClosed = next<[number, string]>(client, 'close');
    client.close(4001, 'bye');
    expect(await serverClosed).toEqual([4001, 'bye']);
    expect((await clientClosed)[0]).toBe(4001);
  });

  it('pub/sub over TLS reaches every subscriber', async () => {
    const f = tlsFixtures();
    const wss = cleanup.add(new lib.WebSocketServer({ port: 0, host: '127.0.0.1', tls: { key: f.server.key, cert: f.server.cert } }), (s) => s.close());
    await next(wss, 'listening');
    const port = (wss.address() as net.AddressInfo).port;
    wss.on('connection', (ws) => ws.subscribe('news'));
    const clients = await Promise.all([0, 1, 2].map(() => lib.connect(`wss://127.0.0.1:${port}/`, { ca: f.ca.cert })));
    for (const c of clients) cleanup.add(c, (w) => w.terminate());
    await waitUntil(() => wss.numSubscribers('news') === 3, 'subscriptions');
    const got = clients.map((c) => next<[string]>(c, 'message'));
    expect(wss.publish('news', 'flash')).toBe(3);
    expect((await Promise.all(got)).map((m) => String(m[0]))).toEqual(['flash', 'flash', 'flash']);
  });

  it('a certificate with an encrypted key (passphrase) and a PKCS#12 bundle both serve', async () => {
    const f = tlsFixtures();
    for (const t of [{ key: f.encryptedKey, cert: f.server.cert, passphrase: f.passphrase }, { pfx: f.pfx, passphrase: f.passphrase }]) {
      const wss = cleanup.add(new lib.WebSocketServer({ port: 0, host: '127.0.0.1', tls: t }), (s) => s.close());
      await next(wss, 'listening');
      wss.on('connection', (ws) => ws.on('message', (d) => ws.send(d)));
      const ws = cleanup.add(await lib.connect(`wss://localhost:${(wss.address() as net.AddressInfo).port}/`, { ca: f.ca.cert }), (w) => w.terminate());
      expect(String(await echo(ws, 'ok'))).toBe('ok');
    }
  });
});

describe.skipIf(skip !== null)('independent peers: ws over https both ways, Node tls', () => {
  it('a ws client connects to our wss:// server and echoes', async () => {
    const f = tlsFixtures();
    const { port } = await tlsServer();
    const c = cleanup.add(new WsClient(`wss://localhost:${port}/`, { ca: f.ca.cert }), (w) => w.terminate());
    await next(c, 'open');
    const got = next<[Buffer, boolean]>(c, 'message');
    c.send('from ws');
    expect(String((await got)[0])).toBe('from ws');
    const big = Buffer.alloc(3 * 1024 * 1024 + 1, 9);
    const got2 = next<[Buffer, boolean]>(c, 'message', 10_000);
    c.send(big);
    expect((await got2)[0].equals(big)).toBe(true);
  });

  it('our client connects to a ws server on Node https and echoes', async () => {
    const f = tlsFixtures();
    const server = cleanup.add(https.createServer({ key: f.server.key, cert: f.server.cert }), (s) => {
      s.closeAllConnections();
      return new Promise((r) => s.close(r));
    });
    const wss = new WsServer({ server });
    wss.on('connection', (s) => s.on('message', (d, isBinary) => s.send(d, { binary: isBinary })));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as net.AddressInfo).port;
    const ws = cleanup.add(await lib.connect(`wss://localhost:${port}/`, { ca: f.ca.cert }), (w) => w.terminate());
    expect(await echo(ws, 'to ws')).toBe('to ws');
    const big = Buffer.alloc(2 * 1024 * 1024, 3);
    expect((await echo(ws, big) as Buffer).equals(big)).toBe(true);
    ws.close();
    await next(ws, 'close');
    for (const c of wss.clients) c.terminate();
  });

  it('ALPN: http/1.1 is chosen from a browser-like offer; no ALPN when nothing matches', async () => {
    const { port } = await tlsServer();
    const a = await tlsConnect(port, { ALPNProtocols: ['h2', 'http/1.1'] });
    expect(a.alpnProtocol).toBe('http/1.1');
    const b = await tlsConnect(port, { ALPNProtocols: ['something-else'] });
    expect(b.alpnProtocol).toBe(false);
    // ... and the connection still carries a WebSocket upgrade.
    b.write(upgradeRequest('/'));
    expect(await readUntil(b, /\r\n\r\n/)).toMatch(/^HTTP\/1\.1 101 /);
  });

  it('SNI picks the certificate for the name asked; other names get the default', async () => {
    const f = tlsFixtures();
    const { port } = await tlsServer({ sni: { '*.sni.test': { key: f.sni.key, cert: f.sni.cert } } });
    const a = await tlsConnect(port, { servername: 'www.sni.test' });
    expect(a.getPeerCertificate().subject.CN).toBe('sni.test');
    const b = await tlsConnect(port, { servername: 'localhost' });
    expect(b.getPeerCertificate().subject.CN).toBe('localhost');
    const ws = cleanup.add(await lib.connect(`wss://127.0.0.1:${port}/`, { ca: f.ca.cert, servername: 'x.sni.test' }), (w) => w.terminate());
    expect(await echo(ws, 'sni')).toBe('sni');
  });

  it('setSecureContext() rotates the certificate for new connections; open ones keep working', async () => {
    const f = tlsFixtures();
    const { wss, port } = await tlsServer();
    const before = cleanup.add(await lib.connect(`wss://localhost:${port}/`, { ca: f.ca.cert }), (w) => w.terminate());
    wss.setSecureContext({ key: f.sni.key, cert: f.sni.cert });
    const a = await tlsConnect(port, { servername: 'sni.test' });
    expect(a.getPeerCertificate().subject.CN).toBe('sni.test');
    expect(await echo(before, 'still here')).toBe('still here');
    const err = await lib.connect(`wss://localhost:${port}/`, { ca: f.ca.cert }).catch((e: unknown) => e) as HandshakeErr;
    expect(err.code).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
    expect(() => wss.setSecureContext({ key: Buffer.from('nope'), cert: f.server.cert })).toThrow(lib.TlsContextError);
    // A failed rotation leaves the last good certificates in use.
    const b = await tlsConnect(port, { servername: 'sni.test' });
    expect(b.getPeerCertificate().subject.CN).toBe('sni.test');
  });

  it('session resumption: a TLS 1.3 ticket and a TLS 1.2 session are accepted on reconnect', async () => {
    const { port } = await tlsServer();
    for (const maxVersion of ['TLSv1.3', 'TLSv1.2'] as const) {
      const f = tlsFixtures();
      const first = cleanup.add(tls.connect({ host: '127.0.0.1', port, ca: f.ca.cert, servername: 'localhost', maxVersion }), (x) => x.destroy());
      const ticket = within(once(first, 'session'), 5000, 'a session ticket');
      await within(once(first, 'secureConnect'), 5000, 'TLS handshake');
      first.write(upgradeRequest('/'));
      await readUntil(first, /\r\n\r\n/);
      const [session] = await ticket as [Buffer];
      const second = await tlsConnect(port, { maxVersion, session });
      expect(second.isSessionReused(), maxVersion).toBe(true);
    }
  });

  it('renegotiation is refused (TLS 1.2)', async () => {
    const { port } = await tlsServer();
    const sock = await tlsConnect(port, { maxVersion: 'TLSv1.2' });
    const result = await within(new Promise<Error | null>((resolve) => {
      sock.once('error', resolve);
      sock.once('close', () => resolve(new Error('closed')));
      if (!sock.renegotiate({}, (e) => resolve(e ?? null))) resolve(new Error('renegotiate() refused locally'));
    }), 5000, 'the renegotiation outcome');
    expect(result).not.toBeNull();
  });

  it('mutual TLS: a client certificate signed by the CA is accepted; none is refused', async () => {
    const f = tlsFixtures();
    const { wss, port } = await tlsServer({ requestCert: true, ca: f.ca.cert });
    const ws = cleanup.add(await lib.connect(`wss://localhost:${port}/`, { ca: f.ca.cert, cert: f.client.cert, key: f.client.key }), (w) => w.terminate());
    expect(await echo(ws, 'mtls')).toBe('mtls');
    const reported = next<[import('sockudo-ws').TlsClientError]>(wss, 'tlsClientError');
    const err = await lib.connect(`wss://localhost:${port}/`, { ca: f.ca.cert }).catch((e: unknown) => e) as HandshakeErr;
    expect(err).toBeInstanceOf(lib.HandshakeError);
    expect(err.code).toMatch(/^(ERR_SSL_|ECONNRESET)/);
    expect((await reported)[0].code).toMatch(/^ERR_SSL_/);  // the server saw no client certificate
    // Node's tls client with the certificate too (an independent TLS stack).
    const sock = await tlsConnect(port, { cert: f.client.cert, key: f.client.key });
    sock.write(upgradeRequest('/'));
    expect(await readUntil(sock, /\r\n\r\n/)).toMatch(/^HTTP\/1\.1 101 /);
  });

  it('our close sends close_notify before the TCP FIN (the peer sees a clean TLS end)', async () => {
    const { wss, port } = await tlsServer();
    const sock = await tlsConnect(port);
    sock.write(upgradeRequest('/'));
    await readUntil(sock, /\r\n\r\n/);
    let sawEnd = false;
    const errors: Error[] = [];
    sock.on('end', () => { sawEnd = true; });
    sock.on('error', (e) => errors.push(e));
    sock.resume();
    const [ws] = [...wss.clients];
    ws!.terminate();
    await within(once(sock, 'close'), 5000, 'close');
    expect(errors).toEqual([]);
    expect(sawEnd).toBe(true);
  });
});

describe.skipIf(skip !== null)('our client verifies the server by default', () => {
  async function serveWith(pem: { key: Buffer; cert: Buffer }) {
    const wss = cleanup.add(new lib.WebSocketServer({ port: 0, host: '127.0.0.1', tls: pem }), (s) => s.close());
    await next(wss, 'listening');
    return (wss.address() as net.AddressInfo).port;
  }
  async function failure(url: string, options: Options = {}): Promise<HandshakeErr> {
    const e = await lib.connect(url, options).catch((x: unknown) => x) as HandshakeErr;
    expect(e).toBeInstanceOf(lib.HandshakeError);
    return e;
  }

  it('an unknown CA (the default roots) is refused with UNABLE_TO_VERIFY_LEAF_SIGNATURE', async () => {
    const port = await serveWith(tlsFixtures().server);
    expect((await failure(`wss://localhost:${port}/`)).code).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });

  it('an expired certificate is refused with CERT_HAS_EXPIRED', async () => {
    const f = tlsFixtures();
    const port = await serveWith(f.expired);
    expect((await failure(`wss://localhost:${port}/`, { ca: f.ca.cert })).code).toBe('CERT_HAS_EXPIRED');
  });

  it('a certificate for another host is refused with ERR_TLS_CERT_ALTNAME_INVALID', async () => {
    const f = tlsFixtures();
    const port = await serveWith(f.wrongHost);
    const e = await failure(`wss://localhost:${port}/`, { ca: f.ca.cert });
    expect(e.code).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
    expect(e.message).toMatch(/certificate/);
    // An address is checked against the certificate's IP SANs (no SNI is sent for it).
    expect((await failure(`wss://127.0.0.1:${port}/`, { ca: f.ca.cert })).code).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
  });

  it('a self-signed certificate is refused with DEPTH_ZERO_SELF_SIGNED_CERT', async () => {
    const port = await serveWith(tlsFixtures().selfSigned);
    expect((await failure(`wss://localhost:${port}/`)).code).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');
  });

  it('rejectUnauthorized: false connects anyway; an explicit ca trusts it', async () => {
    const f = tlsFixtures();
    const port = await serveWith(f.selfSigned);
    const a = cleanup.add(await lib.connect(`wss://localhost:${port}/`, { rejectUnauthorized: false }), (w) => w.terminate());
    a.close();
    const b = cleanup.add(await lib.connect(`wss://localhost:${port}/`, { ca: f.selfSigned.cert }), (w) => w.terminate());
    b.close();
  });

  it('NODE_EXTRA_CA_CERTS is trusted like Node trusts it', async () => {
    const f = tlsFixtures();
    const port = await serveWith(f.server);
    const code = `require('sockudo-ws').connect('wss://localhost:${port}/').then((ws) => { console.log('open'); ws.terminate(); }, (e) => console.log(e.code));`;
    // Asynchronously: the server runs in this process.
    const run = async (extra: string | undefined) => {
      const env = { ...process.env, NODE_EXTRA_CA_CERTS: extra };
      if (extra === undefined) delete env.NODE_EXTRA_CA_CERTS;
      const r = await within(execFileAsync(process.execPath, ['-e', code], { cwd: root, env, timeout: 20_000 }), 25_000, 'the child');
      return r.stdout.trim();
    };
    expect(await run(f.files.caCert)).toBe('open');
    expect(await run(undefined)).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });

  it('a server that does not speak TLS fails with a TLS code; a silent one with ETIMEDOUT', async () => {
    const plain = cleanup.add(new lib.WebSocketServer({ port: 0, host: '127.0.0.1' }), (s) => s.close());
    await next(plain, 'listening');
    const e = await failure(`wss://127.0.0.1:${(plain.address() as net.AddressInfo).port}/`, { rejectUnauthorized: false });
    expect(e.code).toMatch(/^ERR_SSL_/);
    const silent = cleanup.add(net.createServer(() => { /* never answers */ }), (s) => new Promise((r) => s.close(r)));
    const held: net.Socket[] = [];
    silent.on('connection', (s) => held.push(s));
    cleanup.add(held, (h) => h.forEach((s) => s.destroy()));
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    const t = await failure(`wss://127.0.0.1:${(silent.address() as net.AddressInfo).port}/`, { handshakeTimeout: 300 });
    expect(t.code).toBe('ETIMEDOUT');
  });
});

describe.skipIf(skip !== null)('hostile TLS peers affect only their own connection', () => {
  it('garbage instead of a ClientHello, a cut-off record and a reset mid-handshake: each closed, a healthy connection untouched, no native socket left', async () => {
    const f = tlsFixtures();
    const { wss, port } = await tlsServer({}, { handshakeTimeout: 500 });
    const tlsErrors: import('sockudo-ws').TlsClientError[] = [];
    wss.on('tlsClientError', (e) => tlsErrors.push(e));
    const base = nativeBinding().socketCount();
    const healthy = cleanup.add(await lib.connect(`wss://localhost:${port}/`, { ca: f.ca.cert }), (w) => w.terminate());
    const closed: Promise<unknown>[] = [];
    // 1. Plain HTTP on the TLS port.
    const g = cleanup.add(net.connect(port, '127.0.0.1'), (s) => s.destroy());
    g.on('error', () => {});
    g.write(upgradeRequest('/'));
    closed.push(within(once(g, 'close'), 5000, 'garbage closed'));
    // 2. A TLS record header announcing 16 KiB, then silence (stops mid-record).
    const cut = cleanup.add(net.connect(port, '127.0.0.1'), (s) => s.destroy());
    cut.on('error', () => {});
    cut.write(Buffer.from([0x16, 0x03, 0x01, 0x40, 0x00, 0x01, 0x00]));
    closed.push(within(once(cut, 'close'), 5000, 'cut record closed by the handshake timeout'));
    // 3. Half a real ClientHello, then a reset.
    const hello = await new Promise<Buffer>((resolve) => {
      const capture = net.createServer((s) => s.once('data', (d) => { resolve(d); s.destroy(); }));
      capture.listen(0, '127.0.0.1', () => {
        const c = tls.connect({ port: (capture.address() as net.AddressInfo).port, host: '127.0.0.1', rejectUnauthorized: false });
        c.on('error', () => { c.destroy(); capture.close(); });
      });
    });
    const reset = net.connect(port, '127.0.0.1');
    reset.on('error', () => {});
    await once(reset, 'connect');
    reset.write(hello.subarray(0, hello.length >> 1));
    await new Promise((r) => setTimeout(r, 20));
    reset.resetAndDestroy();
    await Promise.all(closed);
    expect(await echo(healthy, 'unaffected')).toBe('unaffected');
    await waitUntil(() => nativeBinding().socketCount() === base + 1, 'only the healthy socket left', 5000);
    // The plain HTTP request was reported as the TLS error it is (the others were cut or reset).
    expect(tlsErrors.length).toBeGreaterThanOrEqual(1);
    expect(tlsErrors[0]).toBeInstanceOf(lib.TlsClientError);
    expect(tlsErrors[0]!.code).toMatch(/^ERR_SSL_/);
    expect(tlsErrors[0]!.remoteAddress).toBe('127.0.0.1');
    expect(tlsErrors[0]!.remotePort).toBeGreaterThan(0);
  });

  it('a ClientHello trickled one byte at a time is cut at handshakeTimeout', async () => {
    const { port } = await tlsServer({}, { handshakeTimeout: 400 });
    const sock = cleanup.add(net.connect(port, '127.0.0.1'), (s) => s.destroy());
    sock.on('error', () => {});
    await once(sock, 'connect');
    const started = Date.now();
    const bytes = Buffer.from([0x16, 0x03, 0x01, 0x00, 0xc8, 0x01, 0x00, 0x00, 0xc4, 0x03, 0x03]);
    let i = 0;
    const timer = setInterval(() => { if (i < bytes.length && !sock.destroyed) sock.write(bytes.subarray(i, ++i)); }, 30);
    cleanup.add(timer, clearInterval);
    await within(once(sock, 'close'), 3000, 'the trickling peer closed');
    expect(Date.now() - started).toBeLessThan(1500);
  });
});

describe.skipIf(skip !== null)('the TLS handshake\'s own limits', () => {
  it('tls.handshakeTimeout cuts a stalled TLS handshake sooner than handshakeTimeout', async () => {
    const { port } = await tlsServer({ handshakeTimeout: 200 }, { handshakeTimeout: 5000 });
    const sock = cleanup.add(net.connect(port, '127.0.0.1'), (s) => s.destroy());
    sock.on('error', () => {});
    await once(sock, 'connect');
    const started = Date.now();
    sock.resume();
    sock.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x40]));  // a record header, then nothing
    await within(once(sock, 'close'), 3000, 'the stalled handshake closed');
    expect(Date.now() - started).toBeLessThan(1500);
    // A handshake that completes is not affected, however long the connection then lives.
    const f = tlsFixtures();
    const ws = cleanup.add(await lib.connect(`wss://localhost:${port}/`, { ca: f.ca.cert }), (w) => w.terminate());
    await new Promise((r) => setTimeout(r, 400));
    expect(await echo(ws, 'after the TLS deadline')).toBe('after the TLS deadline');
  });

  it('a ClientHello announcing a giant message is refused at once (OpenSSL\'s message size cap), reported as tlsClientError', async () => {
    const { wss, port } = await tlsServer({}, { handshakeTimeout: 5000 });
    const reported = next<[import('sockudo-ws').TlsClientError]>(wss, 'tlsClientError');
    const sock = cleanup.add(net.connect(port, '127.0.0.1'), (s) => s.destroy());
    sock.on('error', () => {});
    await once(sock, 'connect');
    const started = Date.now();
    const body = Buffer.alloc(16 * 1024);
    body.set([0x01, 0xff, 0xff, 0xff]);  // handshake type ClientHello, length 16 MiB − 1
    sock.resume();  // read the alert, so the FIN after it ends the socket
    sock.write(Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x40, 0x00]), body]));
    await within(once(sock, 'close'), 3000, 'the oversized ClientHello closed');
    expect(Date.now() - started).toBeLessThan(1000);
    expect((await reported)[0].code).toMatch(/^ERR_SSL_/);
  });
});

describe.skipIf(skip !== null)('TLS option validation', () => {
  it('unusable keys and certificates throw TlsContextError with OpenSSL codes', () => {
    const f = tlsFixtures();
    const make = (t: Options) => new lib.WebSocketServer({ port: 0, tls: t });
    const err = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        return e as import('sockudo-ws').TlsContextError;
      }
      throw new Error('did not throw');
    };
    const badPem = err(() => make({ key: 'not a key', cert: f.server.cert }));
    expect(badPem).toBeInstanceOf(lib.TlsContextError);
    expect(badPem.code).toMatch(/^ERR_OSSL_/);
    const wrongPass = err(() => make({ key: f.encryptedKey, cert: f.server.cert, passphrase: 'wrong' }));
    expect(wrongPass.code).toMatch(/^ERR_OSSL_/);
    const mismatch = err(() => make({ key: f.client.key, cert: f.server.cert }));
    expect(mismatch.code).toMatch(/^ERR_OSSL_|^ERR_SSL_/);
    expect(err(() => make({ key: f.server.key, cert: f.server.cert, ciphers: 'NOT-A-CIPHER' })).code).toMatch(/^ERR_SSL_|^ERR_OSSL_/);
  });

  it('wrong shapes are usage errors', () => {
    const f = tlsFixtures();
    expect(() => new lib.WebSocketServer({ port: 0, tls: { key: f.server.key } } as never)).toThrow(lib.InvalidArgumentValueError);
    expect(() => new lib.WebSocketServer({ port: 0, tls: { key: f.server.key, cert: f.server.cert, nope: 1 } } as never)).toThrow(lib.InvalidArgumentValueError);
    expect(() => new lib.WebSocketServer({ port: 0, tls: { key: 5, cert: f.server.cert } } as never)).toThrow(lib.InvalidArgumentTypeError);
    expect(() => new lib.WebSocketServer({ port: 0, tls: { key: f.server.key, cert: f.server.cert, minVersion: 'SSLv3' } } as never)).toThrow(lib.InvalidArgumentValueError);
    expect(() => new lib.WebSocketServer({ port: 0, tls: { key: f.server.key, cert: f.server.cert, handshakeTimeout: -1 } })).toThrow(lib.OutOfRangeError);
    expect(() => new lib.WebSocketServer({ noServer: true, tls: { key: f.server.key, cert: f.server.cert } } as never)).toThrow(lib.InvalidArgumentValueError);
    const plain = cleanup.add(new lib.WebSocketServer({ noServer: true }), (s) => s.close());
    expect(() => plain.setSecureContext({ key: f.server.key, cert: f.server.cert })).toThrow(lib.InvalidStateError);
  });
});
