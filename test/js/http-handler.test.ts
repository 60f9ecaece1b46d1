// The httpHandler option: plain HTTP on the native listener's port. Requests that are not
// upgrades are handed (fd + the bytes already read) to a Node http.Server; WebSocket upgrades
// stay native. Covers keep-alive, pipelining, large bodies, requests arriving in pieces, an
// upgrade after HTTP on one keep-alive connection, close(), and option validation.
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';

import { Cleanup, loadPackage, next, upgradeRequest, within } from './helpers';

const lib = loadPackage();
type Server = import('sockudo-ws').WebSocketServer;

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

/** An echo handler: method, url, body length and sha256 as JSON. */
function echoHandler(req: http.IncomingMessage, res: http.ServerResponse): void {
  const hash = createHash('sha256');
  let length = 0;
  req.on('data', (chunk: Buffer) => {
    hash.update(chunk);
    length += chunk.length;
  });
  req.on('end', () => {
    const body = JSON.stringify({ method: req.method, url: req.url, length, sha256: hash.digest('hex') });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
}

async function server(options: Record<string, unknown> = {}): Promise<{ wss: Server; port: number }> {
  const wss = cleanup.add(new lib.WebSocketServer({ port: 0, host: '127.0.0.1', httpHandler: echoHandler, ...options }), (s) => s.close());
  await next(wss, 'listening');
  return { wss, port: (wss.address() as AddressInfo).port };
}

function request(port: number, options: http.RequestOptions & { body?: Buffer | string } = {}): Promise<{ status: number; body: string; socket: net.Socket }> {
  return within(new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, ...options }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), socket: req.socket as net.Socket }));
    });
    req.on('error', reject);
    req.end(options.body);
  }), 10_000, 'http request');
}

/** A raw TCP peer: write bytes, read until `until(text)` holds. */
async function raw(port: number): Promise<{ socket: net.Socket; read(until: (text: string) => boolean): Promise<string> }> {
  const socket = cleanup.add(net.connect(port, '127.0.0.1'), (s) => s.destroy());
  await once(socket, 'connect');
  let text = '';
  const waiters: (() => void)[] = [];
  socket.on('data', (c: Buffer) => {
    text += c.toString('latin1');
    for (const w of waiters.splice(0)) w();
  });
  return {
    socket,
    read: (until) => within(new Promise<string>((resolve) => {
      const check = () => (until(text) ? resolve(text) : waiters.push(check));
      check();
    }), 10_000, 'raw read'),
  };
}

const count = (text: string, needle: string) => text.split(needle).length - 1;

describe('httpHandler', () => {
  it('serves GET and POST on the WebSocket port; upgrades stay native', async () => {
    const { wss, port } = await server();
    const get = await request(port, { path: '/health?x=1' });
    expect(get.status).toBe(200);
    expect(JSON.parse(get.body)).toMatchObject({ method: 'GET', url: '/health?x=1', length: 0 });
    const post = await request(port, { method: 'POST', path: '/data', body: 'hello' });
    expect(JSON.parse(post.body)).toMatchObject({ method: 'POST', length: 5, sha256: createHash('sha256').update('hello').digest('hex') });
    const opened = next(wss, 'connection');
    const ws = cleanup.add(await lib.connect(`ws://127.0.0.1:${port}/ws`), (c) => c.terminate());
    await opened;
    const echoed = next<[unknown]>(ws, 'message');
    wss.clients.forEach((c) => c.send('native'));
    expect(String((await echoed)[0])).toBe('native');
  });

  it('without httpHandler a plain request is still answered 426 by the native core', async () => {
    const { port } = await server({ httpHandler: undefined });
    const r = await request(port);
    expect(r.status).toBe(426);
  });

  it('keep-alive: several requests on one connection', async () => {
    const { port } = await server();
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    cleanup.add(agent, (a) => a.destroy());
    const sockets = new Set<net.Socket>();
    for (let i = 0; i < 5; i++) {
      const r = await request(port, { agent, path: `/k${i}` });
      expect(JSON.parse(r.body).url).toBe(`/k${i}`);
      sockets.add(r.socket);
    }
    expect(sockets.size).toBe(1);
  });

  it('pipelined requests arriving with the first one are all answered, in order', async () => {
    const { port } = await server();
    const peer = await raw(port);
    const reqs = [0, 1, 2, 3].map((i) => `GET /p${i} HTTP/1.1\r\nHost: x\r\n\r\n`).join('');
    peer.socket.write(reqs + 'POST /p4 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc');
    const text = await peer.read((t) => count(t, 'HTTP/1.1 200') === 5 && t.includes('"/p4"'));
    const urls = [...text.matchAll(/"url":"(\/p\d)"/g)].map((m) => m[1]);
    expect(urls).toEqual(['/p0', '/p1', '/p2', '/p3', '/p4']);
    expect(text).toContain('"length":3');
  });

  it('a large body (8 MiB) arrives whole', async () => {
    const { port } = await server();
    const body = Buffer.alloc(8 * 1024 * 1024);
    for (let i = 0; i < body.length; i += 4096) body[i] = i & 0xff;
    const r = await request(port, { method: 'PUT', path: '/big', body, headers: { 'content-length': body.length } });
    expect(JSON.parse(r.body)).toMatchObject({ length: body.length, sha256: createHash('sha256').update(body).digest('hex') });
  });

  it('a request arriving in pieces (head split byte by byte, body in chunks)', async () => {
    const { port } = await server();
    const peer = await raw(port);
    const head = 'POST /pieces HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n';
    for (const ch of head) {
      peer.socket.write(ch);
      await new Promise((r) => setTimeout(r, 2));
    }
    peer.socket.write('01234');
    await new Promise((r) => setTimeout(r, 30));
    peer.socket.write('56789');
    const text = await peer.read((t) => t.includes('"length"'));
    expect(text).toContain('"url":"/pieces"');
    expect(text).toContain('"length":10');
    expect(text).toContain(createHash('sha256').update('0123456789').digest('hex'));
  });

  it('a WebSocket upgrade after an HTTP request on the same keep-alive connection is accepted', async () => {
    const { wss, port } = await server();
    const peer = await raw(port);
    peer.socket.write('GET /first HTTP/1.1\r\nHost: x\r\n\r\n');
    await peer.read((t) => t.includes('"/first"'));
    const opened = next(wss, 'connection');
    peer.socket.write(upgradeRequest('/ws'));
    await peer.read((t) => t.includes('101 Switching Protocols'));
    await opened;
  });

  it('an http.Server may be given (its own options apply); close() ends idle keep-alive connections', async () => {
    const httpServer = http.createServer((req, res) => res.end(`served ${req.url}`));
    const { wss, port } = await server({ httpHandler: httpServer });
    const peer = await raw(port);
    peer.socket.write('GET /a HTTP/1.1\r\nHost: x\r\n\r\n');
    await peer.read((t) => t.includes('served /a'));
    const closed = once(peer.socket, 'close');
    await within(wss.close(), 5000, 'close');
    await within(closed, 5000, 'keep-alive connection closed by server.close()');
  });

  it('options are validated with typed errors', () => {
    expect(() => new lib.WebSocketServer({ port: 0, httpHandler: 42 as never })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => new lib.WebSocketServer({ noServer: true, httpHandler: echoHandler } as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    const listening = http.createServer();
    listening.listen(0, '127.0.0.1');
    cleanup.add(listening, (s) => s.close());
    return once(listening, 'listening').then(() => {
      expect(() => new lib.WebSocketServer({ port: 0, httpHandler: listening })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    });
  });
});
