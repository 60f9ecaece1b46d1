// Bring your own server: handleUpgrade() from Node's http server (the TCP socket's fd is adopted
// by the native transport) and https server (the TLS socket is fed through the engine as a
// Duplex), the `server` option, and the Express / Fastify examples.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as path from 'node:path';
import { PassThrough, Duplex } from 'node:stream';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket as WsClient } from 'ws';

import { Cleanup, clientFrame, gcFunction, loadPackage, next, root, selfSignedCert, upgradeRequest, within } from './helpers';

const lib = loadPackage();
const { WebSocketServer, connect } = lib;
type WS = InstanceType<typeof lib.WebSocket>;
type UpgradeErr = InstanceType<typeof lib.UpgradeError>;

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

let tls: { key: Buffer; cert: Buffer };
beforeAll(() => {
  tls = selfSignedCert();
});

function closeHttp(server: http.Server | https.Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** An http(s) server whose upgrades go to a noServer WebSocketServer; results of handleUpgrade() are collected. */
async function byo(kind: 'http' | 'https', options: Record<string, unknown> = {}) {
  const server = kind === 'http' ? http.createServer((_req, res) => res.end('plain http')) : https.createServer(tls, (_req, res) => res.end('plain https'));
  cleanup.add(server, closeHttp);
  const wss = cleanup.add(new WebSocketServer({ noServer: true, ...options }), (s) => s.close());
  const results: Promise<WS>[] = [];
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    const p = wss.handleUpgrade(req, socket, head);
    p.catch(() => {});
    results.push(p);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  return { server, wss, results, port, url: `${kind === 'http' ? 'ws' : 'wss'}://127.0.0.1:${port}` };
}

async function wsClient(url: string) {
  const c = cleanup.add(new WsClient(url, { rejectUnauthorized: false }), (x) => x.terminate());
  await next(c, 'open');
  return c;
}

/** Sends a raw request (and optional first bytes) and collects the whole answer until the peer closes. */
async function rawExchange(port: number, request: string, extra = Buffer.alloc(0)): Promise<string> {
  const sock = cleanup.add(net.connect(port, '127.0.0.1'), (s) => s.destroy());
  await once(sock, 'connect');
  sock.write(Buffer.concat([Buffer.from(request), extra]));
  let out = '';
  sock.on('data', (d: Buffer) => { out += d.toString('latin1'); });
  await next(sock, 'close');
  return out;
}

describe('handleUpgrade() with an http server (fd adoption)', () => {
  it('resolves with the open WebSocket, emits "connection" with the IncomingMessage, and echoes', async () => {
    const { wss, results, url } = await byo('http');
    const conn = next<[WS, import('sockudo-ws').UpgradeRequest]>(wss, 'connection');
    const c = cleanup.add(await connect(`${url}/room?id=3`), (x) => x.terminate());
    const ws = await within(results[0]!, 5000, 'handleUpgrade');
    const [sameWs, req] = await conn;
    expect(sameWs).toBe(ws);
    expect(req.incoming).toBeInstanceOf(http.IncomingMessage);
    expect(req.incoming?.url).toBe('/room?id=3');
    expect(req.query.get('id')).toBe('3');
    expect(req.remoteAddress).toBe('127.0.0.1');
    expect(ws.remoteAddress).toBe('127.0.0.1');
    expect(wss.clients.has(ws)).toBe(true);
    ws.on('message', (d, b) => ws.send(d, { binary: b }));
    for (const size of [0, 126, 65536, 1024 * 1024]) {
      c.send(Buffer.alloc(size, 5));
      expect((await next<[Buffer]>(c, 'message'))[0].equals(Buffer.alloc(size, 5))).toBe(true);
    }
    const closed = next<[number, string]>(ws, 'close');
    c.close(4000, 'done');
    expect(await closed).toEqual([4000, 'done']);
  });

  it('the adopted connection no longer depends on Node\'s socket: plain HTTP keeps working beside it', async () => {
    const { results, url, port } = await byo('http');
    const c = cleanup.add(await connect(url), (x) => x.terminate());
    const ws = await results[0]!;
    ws.on('message', (d) => ws.send(d));
    const body = await new Promise<string>((resolve, reject) => {
      http.get(`http://127.0.0.1:${port}/`, (res) => { let b = ''; res.on('data', (d) => { b += d; }); res.on('end', () => resolve(b)); }).on('error', reject);
    });
    expect(body).toBe('plain http');
    c.send('still here');
    expect((await next<[string]>(c, 'message'))[0]).toBe('still here');
  });

  it('once accepted, an adopted connection keeps neither the IncomingMessage nor Node\'s socket alive', async () => {
    const gc = gcFunction();
    expect(gc, 'a gc() function (v8 --expose-gc)').toBeDefined();
    const server = http.createServer();
    cleanup.add(server, closeHttp);
    const wss = cleanup.add(new WebSocketServer({ noServer: true }), (x) => x.close());
    let refs: { request: WeakRef<object>; socket: WeakRef<object> } | undefined;
    server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      refs = { request: new WeakRef(req), socket: new WeakRef(socket) };
      wss.handleUpgrade(req, socket, head).catch(() => {});
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const conn = new Promise<WS>((resolve) => wss.once('connection', (w: WS) => resolve(w)));  // not the request
    const c = cleanup.add(await connect(`ws://127.0.0.1:${(server.address() as net.AddressInfo).port}/`), (x) => x.terminate());
    const ws = await conn;
    ws.on('message', (d) => ws.send(d));
    for (let i = 0; i < 20 && (refs!.request.deref() !== undefined || refs!.socket.deref() !== undefined); i++) {
      await new Promise((r) => setImmediate(r));
      gc!();
    }
    expect(refs!.request.deref()).toBeUndefined();
    expect(refs!.socket.deref()).toBeUndefined();
    c.send('still open');  // the connection itself is alive and served natively
    expect((await next<[string]>(c, 'message'))[0]).toBe('still open');
  });

  it('bytes that arrive together with the request head are not lost', async () => {
    const { wss, port } = await byo('http');
    const got = new Promise<string>((resolve) => wss.on('connection', (ws) => ws.on('message', (d) => resolve(d as string))));
    const sock = cleanup.add(net.connect(port, '127.0.0.1'), (s) => s.destroy());
    await once(sock, 'connect');
    sock.write(Buffer.concat([Buffer.from(upgradeRequest('/')), clientFrame(0x1, 'with the head')]));
    expect(await within(got, 5000, 'first frame')).toBe('with the head');
  });

  it('rejections reject the promise with UpgradeError: hook (status), path (400), invalid request (answered natively)', async () => {
    const { results, port, url } = await byo('http', { path: '/ws', upgrade: (req: import('sockudo-ws').UpgradeRequest) => (req.query.has('deny') ? { accept: false, status: 403, body: 'denied' } : { accept: true }) });
    const denied = await connect(`${url}/ws?deny`).catch((e: unknown) => e) as { status: number };
    expect(denied.status).toBe(403);
    const e1 = await results[0]!.catch((e: unknown) => e) as UpgradeErr;
    expect(e1).toBeInstanceOf(lib.UpgradeError);
    expect(e1).toMatchObject({ code: 'ERR_SOCKUDO_WS_UPGRADE_REJECTED', status: 403 });

    expect((await connect(`${url}/elsewhere`).catch((e: unknown) => e) as { status: number }).status).toBe(400);
    expect(await results[1]!.catch((e: unknown) => e)).toMatchObject({ code: 'ERR_SOCKUDO_WS_UPGRADE_REJECTED', status: 400 });

    const answer = await rawExchange(port, 'GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(await results[2]!.catch((e: unknown) => e)).toMatchObject({ code: 'ERR_SOCKUDO_WS_INVALID_UPGRADE' });
  });

  it('after close(), handleUpgrade() answers 503 and rejects', async () => {
    const { wss, results, url } = await byo('http');
    await wss.close();
    expect((await connect(url).catch((e: unknown) => e) as { status: number }).status).toBe(503);
    expect(await results[0]!.catch((e: unknown) => e)).toMatchObject({ code: 'ERR_SOCKUDO_WS_UPGRADE_REJECTED', status: 503 });
  });

  it('server.close() closes adopted connections with 1001', async () => {
    const { wss, url } = await byo('http');
    const c = cleanup.add(await connect(url), (x) => x.terminate());
    const closed = next<[number]>(c, 'close');
    await within(wss.close(), 8000, 'server close');
    expect((await closed)[0]).toBe(1001);
  });

  // ws 8: handleUpgrade(req, socket, head, cb) calls cb(ws, req) instead of emitting 'connection'
  // (ws's own docs have cb emit it: (ws) => wss.emit('connection', ws, req)); on failure ws answers
  // the request and never calls cb.
  it('handleUpgrade(req, socket, head, cb): cb(ws, req) on success instead of "connection"; on failure no cb and no unhandled rejection', async () => {
    const server = cleanup.add(http.createServer(), closeHttp);
    const wss = cleanup.add(new WebSocketServer({ noServer: true, path: '/ws' }), (s) => s.close());
    const calls: [WS, http.IncomingMessage][] = [];
    let connections = 0;
    wss.on('connection', () => connections++);
    const returned: unknown[] = [];
    server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      returned.push(wss.handleUpgrade(req, socket, head, (ws, request) => {
        calls.push([ws, request]);
        ws.on('message', (d) => ws.send(`echo ${String(d)}`)); // attached in cb: sees the first message
      }));
    });
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    cleanup.add(onUnhandled, (h) => process.off('unhandledRejection', h));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `ws://127.0.0.1:${(server.address() as net.AddressInfo).port}`;

    const c = cleanup.add(await connect(`${url}/ws?x=1`), (x) => x.terminate());
    const echo = next<[string]>(c, 'message');
    c.send('hi');
    expect((await echo)[0]).toBe('echo hi');
    expect(calls).toHaveLength(1);
    expect(calls[0]![1]).toBeInstanceOf(http.IncomingMessage);
    expect(calls[0]![1].url).toBe('/ws?x=1');
    expect(await returned[0]).toBe(calls[0]![0]);
    expect(connections).toBe(0);

    expect((await connect(`${url}/elsewhere`).catch((e: unknown) => e) as { status: number }).status).toBe(400);
    await expect(returned[1]).rejects.toMatchObject({ code: 'ERR_SOCKUDO_WS_UPGRADE_REJECTED', status: 400 });
    await new Promise((r) => setTimeout(r, 50));
    expect(calls).toHaveLength(1);
    expect(unhandled).toEqual([]);
  });

  it('rejects misuse with typed errors', async () => {
    const { wss } = await byo('http');
    await expect(wss.handleUpgrade({} as never, new PassThrough())).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    const req = { rawHeaders: [], httpVersion: '1.1' } as unknown as http.IncomingMessage;
    await expect(wss.handleUpgrade(req, {} as never)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    await expect(wss.handleUpgrade(req, new PassThrough(), 'head' as never)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    await expect(wss.handleUpgrade(req, new PassThrough(), Buffer.alloc(0), 'cb' as never)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE', message: expect.stringMatching(/callback/) });
  });
});

describe('handleUpgrade() with an https server (TLS socket as a Duplex)', () => {
  it('accepts, echoes text and binary (up to 1 MiB) and closes cleanly', async () => {
    const { wss, results, url } = await byo('https');
    const conn = next<[WS, import('sockudo-ws').UpgradeRequest]>(wss, 'connection');
    const c = await wsClient(`${url}/secure`);
    const ws = await within(results[0]!, 5000, 'handleUpgrade');
    const [, req] = await conn;
    expect(req.secure).toBe(true);
    expect(req.url).toBe('/secure');
    expect(req.remoteAddress).toBe('127.0.0.1');
    expect(ws.remoteAddress).toBe('127.0.0.1');
    ws.on('message', (d, b) => ws.send(d, { binary: b }));
    for (const size of [0, 125, 65536, 1024 * 1024]) {
      c.send(Buffer.alloc(size, 9));
      const [d, b] = await next<[Buffer, boolean]>(c, 'message');
      expect(b).toBe(true);
      expect(d.equals(Buffer.alloc(size, 9))).toBe(true);
    }
    c.send('tls text');
    const [t, tb] = await next<[Buffer, boolean]>(c, 'message');
    expect([t.toString(), tb]).toEqual(['tls text', false]);
    const serverClosed = next<[number, string]>(ws, 'close');
    const clientClosed = next<[number]>(c, 'close');
    c.close(1000, 'bye');
    expect(await serverClosed).toEqual([1000, 'bye']);
    expect((await clientClosed)[0]).toBe(1000);
  });

  it('the server ends the TLS connection right after the closing handshake (RFC 6455 §7.1.1), for a client that waits for it', async () => {
    // Before the fix the server waited for the Duplex's own buffer to be reported empty, which a
    // TLS socket does only through 'drain': the connection stayed open until closeTimeout.
    const { server, results, port } = await byo('https', { closeTimeout: 20_000 });
    const { connect: tlsConnect } = await import('node:tls');
    const sock = cleanup.add(tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false }), (s) => s.destroy());
    await once(sock, 'secureConnect');
    const upgraded = next(server, 'upgrade');
    sock.write(upgradeRequest('/'));
    let received = Buffer.alloc(0);
    sock.on('data', (d: Buffer) => { received = Buffer.concat([received, d]); });
    await upgraded;
    const ws = await within(results[0]!, 5000, 'handleUpgrade');
    const serverClosed = next<[number, string]>(ws, 'close');
    sock.write(clientFrame(0x8, Buffer.from([0x03, 0xe8])));  // close 1000; our side stays open
    expect(await serverClosed).toEqual([1000, '']);
    await within(once(sock, 'end'), 3000, "the server's end of the TLS connection");
    const head = received.indexOf('\r\n\r\n');
    expect(received.subarray(head + 4).toString('hex')).toBe('880203e8');  // the close reply came first
  });

  it('server-initiated close and server.close() (1001) over TLS', async () => {
    const { wss, results, url } = await byo('https');
    const c1 = await wsClient(url);
    const ws1 = await results[0]!;
    const closed1 = next<[number, Buffer]>(c1, 'close');
    ws1.close(4004, 'tls bye');
    const [code, reason] = await closed1;
    expect([code, reason.toString()]).toEqual([4004, 'tls bye']);
    const c2 = await wsClient(url);
    await results[1]!;
    const closed2 = next<[number]>(c2, 'close');
    await within(wss.close(), 8000, 'server close');
    expect((await closed2)[0]).toBe(1001);
  });

  it('a hook rejection and an invalid request are answered over TLS', async () => {
    const { results, url, port } = await byo('https', { upgrade: () => ({ accept: false, status: 401, headers: { 'WWW-Authenticate': 'Bearer' } }) });
    const c = cleanup.add(new WsClient(url, { rejectUnauthorized: false }), (x) => x.terminate());
    c.on('error', () => {});
    const [, res] = await next<[unknown, http.IncomingMessage]>(c, 'unexpected-response');
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer');
    res.destroy();
    expect(await results[0]!.catch((e: unknown) => e)).toMatchObject({ code: 'ERR_SOCKUDO_WS_UPGRADE_REJECTED', status: 401 });

    const answer = await new Promise<string>((resolve, reject) => {
      const req = https.request({ host: '127.0.0.1', port, path: '/', rejectUnauthorized: false, headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13' } });
      req.on('response', (r) => resolve(String(r.statusCode)));
      req.on('upgrade', () => reject(new Error('unexpected upgrade')));
      req.on('error', reject);
      req.end();
    });
    expect(answer).toBe('400');
    expect(await results[1]!.catch((e: unknown) => e)).toMatchObject({ code: 'ERR_SOCKUDO_WS_INVALID_UPGRADE' });
  });

  it('the `server` option works with an https server', async () => {
    const server = cleanup.add(https.createServer(tls), closeHttp);
    const wss = cleanup.add(new WebSocketServer({ server, path: '/ws' }), (s) => s.close());
    wss.on('connection', (ws) => ws.on('message', (d) => ws.send(`echo:${String(d)}`)));
    const listening = next(wss, 'listening'); // forwarded from the https server
    server.listen(0, '127.0.0.1');
    await listening;
    const port = (wss.address() as net.AddressInfo).port;
    const c = await wsClient(`wss://127.0.0.1:${port}/ws`);
    c.send('x');
    expect(String((await next<[Buffer]>(c, 'message'))[0])).toBe('echo:x');
  });
});

describe('the examples', () => {
  async function start(file: string): Promise<{ child: ChildProcess; base: string }> {
    const child = cleanup.add(spawn(process.execPath, [path.join(root, 'examples', file), '0'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] }), (c) => {
      if (c.exitCode === null) c.kill('SIGKILL');
    });
    let out = '';
    let err = '';
    child.stderr!.on('data', (d) => { err += d; });
    const line = await within(new Promise<string>((resolve, reject) => {
      child.stdout!.on('data', (d) => {
        out += d;
        if (out.includes('\n')) resolve(out);
      });
      child.once('exit', (code) => reject(new Error(`${file} exited with ${code}: ${err}`)));
    }), 15_000, `${file} start`);
    const m = /(?:ws|http):\/\/127\.0\.0\.1:(\d+)/.exec(line);
    expect(m, line).not.toBeNull();
    return { child, base: `127.0.0.1:${m![1]}` };
  }

  async function stop(child: ChildProcess): Promise<number | null> {
    const exited = next<[number | null]>(child, 'exit', 10_000);
    child.kill('SIGTERM');
    return (await exited)[0];
  }

  const get = (url: string) => new Promise<{ status: number; body: string }>((resolve, reject) => {
    http.get(url, (res) => { let b = ''; res.on('data', (d) => { b += d; }); res.on('end', () => resolve({ status: res.statusCode!, body: b })); }).on('error', reject);
  });

  it('echo-server.mjs prints its address, echoes, and closes clients with 1001 on SIGTERM', async () => {
    const { child, base } = await start('echo-server.mjs');
    const c = cleanup.add(await connect(`ws://${base}/`), (x) => x.terminate());
    c.send('ping?');
    expect((await next<[string]>(c, 'message'))[0]).toBe('ping?');
    const closed = next<[number]>(c, 'close');
    expect(await stop(child)).toBe(0);
    expect((await closed)[0]).toBe(1001);
  }, 30_000);

  it('express.mjs: Express routes and WebSockets on one port (handleUpgrade)', async () => {
    const { child, base } = await start('express.mjs');
    const health = await get(`http://${base}/health`);
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toEqual({ ok: true, connections: 0 });
    const c = cleanup.add(await connect(`ws://${base}/ws?name=ana`), (x) => x.terminate());
    expect((await next<[string]>(c, 'message'))[0]).toBe('hello ana');
    c.send(Buffer.from([1, 2]));
    expect((await next<[Buffer]>(c, 'message'))[0]).toEqual(Buffer.from([1, 2]));
    expect(JSON.parse((await get(`http://${base}/health`)).body).connections).toBe(1);
    expect((await connect(`ws://${base}/ws`).catch((e: unknown) => e) as { status: number }).status).toBe(400);
    expect(await stop(child)).toBe(0);
  }, 30_000);

  it('fastify.mjs: Fastify routes and WebSockets on one port (server option)', async () => {
    const { child, base } = await start('fastify.mjs');
    expect(JSON.parse((await get(`http://${base}/health`)).body)).toEqual({ ok: true, connections: 0 });
    const c = cleanup.add(await connect(`ws://${base}/ws`), (x) => x.terminate());
    expect((await next<[string]>(c, 'message'))[0]).toBe('hello 127.0.0.1');
    c.send('fast');
    expect((await next<[string]>(c, 'message'))[0]).toBe('fast');
    expect((await connect(`ws://${base}/nope`).catch((e: unknown) => e) as { status: number }).status).toBe(400);
    expect(await stop(child)).toBe(0);
  }, 30_000);
});
