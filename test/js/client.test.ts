// connect(): name resolution, failures as typed errors, the handshake timeout, AbortSignal.
import { once } from 'node:events';
import * as http from 'node:http';
import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';

import { Cleanup, closedPort, loadPackage, next, within } from './helpers';

const lib = loadPackage();
const { WebSocketServer, connect } = lib;
type HandshakeErr = InstanceType<typeof lib.HandshakeError>;

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

/** A TCP server that accepts and never answers (a stalled handshake). */
async function silentServer(): Promise<number> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => { sockets.add(s); s.on('error', () => {}); });
  cleanup.add(server, (s) => { for (const x of sockets) x.destroy(); return new Promise((r) => s.close(r)); });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as net.AddressInfo).port;
}

/** A port nothing listens on. */
async function echo() {
  const wss = cleanup.add(new WebSocketServer({ port: 0, host: '127.0.0.1' }), (s) => s.close());
  await next(wss, 'listening');
  wss.on('connection', (ws, req) => {
    ws.send(JSON.stringify({ url: req.url, host: req.headers.host, authorization: req.headers.authorization ?? null }));
  });
  return (wss.address() as net.AddressInfo).port;
}

describe('connect()', () => {
  it('resolves host names in JS (localhost) and sends the URL\'s host, path and query', async () => {
    const port = await echo();
    const c = cleanup.add(await connect(`ws://localhost:${port}/a/b?c=d`), (x) => x.terminate());
    const info = JSON.parse((await next<[string]>(c, 'message'))[0]);
    expect(info).toEqual({ url: '/a/b?c=d', host: `localhost:${port}`, authorization: null });
    expect(c.url).toBe(`ws://localhost:${port}/a/b?c=d`);
    expect(c.remoteAddress).toBe('127.0.0.1');
    expect(c.remotePort).toBe(port);
  });

  it('accepts URL objects and http:// (mapped to ws://); credentials in the URL become Basic auth', async () => {
    const port = await echo();
    const c = cleanup.add(await connect(new URL(`http://us%40er:p%3Ass@127.0.0.1:${port}/`)), (x) => x.terminate());
    const info = JSON.parse((await next<[string]>(c, 'message'))[0]);
    expect(info.authorization).toBe(`Basic ${Buffer.from('us@er:p:ss').toString('base64')}`);
    expect(c.url!.startsWith('ws://')).toBe(true);
  });

  it('a non-101 response rejects with HandshakeError (status, headers)', async () => {
    const server = cleanup.add(http.createServer((_req, res) => { res.writeHead(404, { 'X-Reason': 'no ws here' }); res.end('not found'); }), (s) => {
      s.closeAllConnections();
      return new Promise((r) => s.close(r));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const error = await connect(`ws://127.0.0.1:${(server.address() as net.AddressInfo).port}/`).catch((e: unknown) => e) as HandshakeErr;
    expect(error).toBeInstanceOf(lib.HandshakeError);
    expect(error.name).toBe('HandshakeError');
    expect(error.code).toBe('WS_ERR_HANDSHAKE_BAD_STATUS');
    expect(error.status).toBe(404);
    expect(error.headers['x-reason']).toBe('no ws here');
    expect(error.message).toMatch(/404/);
  });

  it('an unresolvable host rejects with a HandshakeError carrying the resolver code', async () => {
    const error = await connect('ws://does-not-exist.invalid/').catch((e: unknown) => e) as HandshakeErr;
    expect(error).toBeInstanceOf(lib.HandshakeError);
    expect(['ENOTFOUND', 'EAI_AGAIN']).toContain(error.code);
    expect(error.status).toBe(0);
  });

  it('a refused connection rejects with a HandshakeError', async () => {
    const error = await connect(`ws://127.0.0.1:${await closedPort()}/`).catch((e: unknown) => e) as HandshakeErr;
    expect(error).toBeInstanceOf(lib.HandshakeError);
    expect(error.status).toBe(0);
  });

  // Native bug (/tmp/repro-connect-refused.js): a refused connect is reported as EBADF, because
  // libuv reports POLLERR as UV_EBADF and the transport does not read SO_ERROR in that case.
  it('a refused connection is reported as ECONNREFUSED', async () => {
    const error = await connect(`ws://127.0.0.1:${await closedPort()}/`).catch((e: unknown) => e) as HandshakeErr;
    expect(error.code).toBe('ECONNREFUSED');
  });

  it('handshakeTimeout bounds a server that never answers (ETIMEDOUT)', async () => {
    const port = await silentServer();
    const started = Date.now();
    const error = await within(connect(`ws://127.0.0.1:${port}/`, { handshakeTimeout: 300 }).catch((e: unknown) => e), 5000, 'timeout') as HandshakeErr;
    expect(error).toBeInstanceOf(lib.HandshakeError);
    expect(error.code).toBe('ETIMEDOUT');
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  it('an AbortSignal aborts a pending handshake with AbortError (the socket is closed)', async () => {
    const port = await silentServer();
    const controller = new AbortController();
    const pending = connect(`ws://127.0.0.1:${port}/`, { signal: controller.signal }).catch((e: unknown) => e);
    setTimeout(() => controller.abort(new Error('user gave up')), 50);
    const error = await within(pending, 5000, 'abort') as Error;
    expect(error).toBeInstanceOf(lib.AbortError);
    expect((error.cause as Error).message).toBe('user gave up');
  });

  it('AbortSignal.timeout() works as a connect deadline; a signal that fires after open does nothing', async () => {
    const port = await silentServer();
    const error = await within(connect(`ws://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(100) }).catch((e: unknown) => e), 5000, 'abort') as Error;
    expect(error.name).toBe('AbortError');

    const ok = await echo();
    const controller = new AbortController();
    const c = cleanup.add(await connect(`ws://127.0.0.1:${ok}/`, { signal: controller.signal }), (x) => x.terminate());
    controller.abort();
    await next(c, 'message');
    expect(c.readyState).toBe(1);
  });
});
