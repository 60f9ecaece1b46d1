// sockudo-ws/ws as a client, differentially against the real `ws` client: every scenario runs once
// with `new ws.WebSocket(...)` and once with sockudo-ws/ws's, against servers that are plain Node
// http / https / net servers or the real `ws` server (never the implementation under test), bound
// to 127.0.0.1 or a unix socket only. The transcripts — events in order, their arguments, status
// codes, header values, error messages and codes, close codes — must be equal.
// WS_DROPIN_ONLY_WS=1 runs every scenario with the real `ws` alone (validates the scenarios).
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import { createRequire } from 'node:module';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type * as stream from 'node:stream';

import { afterEach, describe, expect, it } from 'vitest';

import { Cleanup, within } from './helpers';
import { opensslMissing, tlsFixtures } from './tls-fixtures';

const requireHere = createRequire(__filename);
type WsModule = typeof import('ws');
type Client = InstanceType<WsModule['WebSocket']>;
type Options = ConstructorParameters<WsModule['WebSocket']>[2];
const WS = requireHere('ws') as WsModule;
const IMPLS: [string, () => WsModule][] = [['ws', () => WS]];
if (process.env.WS_DROPIN_ONLY_WS !== '1') {
  IMPLS.push(['sockudo-ws/ws', () => requireHere(path.join(__dirname, '..', '..', 'dist', 'cjs', 'ws', 'main.js')) as WsModule]);
}

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

type Log = string[];
const show = (d: unknown): string => {
  if (Buffer.isBuffer(d)) return `Buffer(${d.length}):${d.toString('hex').slice(0, 40)}`;
  if (typeof d === 'string') return `string:${d.slice(0, 40)}`;
  return String(d);
};
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** Runs `scenario` once per implementation and expects equal transcripts (server lines compared apart). */
async function same(scenario: (impl: WsModule, log: Log) => Promise<void>): Promise<Log> {
  const logs: Log[] = [];
  for (const [name, load] of IMPLS) {
    const log: Log = [];
    try {
      await within(scenario(load(), log), 10_000, 'scenario');
    } catch (e) {
      // The reference must finish; for the implementation under test the diff shows where it stopped.
      if (name === 'ws') throw e;
      log.push(`scenario failed: ${(e as Error).message}`);
    } finally {
      await cleanup.run();
    }
    logs.push(log);
  }
  if (logs.length < 2) return logs[0]!;
  const side = (log: Log, server: boolean) => log.filter((l) => l.startsWith('server ') === server);
  const sides = (log: Log) => ({ server: side(log, true), client: side(log, false) });
  expect(sides(logs[1]!), 'sockudo-ws/ws client against ws client').toEqual(sides(logs[0]!));
  return logs[0]!;
}

/** The next `event` of `emitter` as its arguments (unlike events.once, an 'error' does not reject). */
function next(emitter: NodeJS.EventEmitter, event: string): Promise<unknown[]> {
  return new Promise((resolve) => emitter.once(event, (...args: unknown[]) => resolve(args)));
}

/** A client of `impl`, terminated after the test; logs its upgrade / open / error / close events. */
function client(impl: WsModule, log: Log, url: string, protocols?: string[], options?: Options): Client {
  const c = new impl.WebSocket(url, protocols, options);
  cleanup.add(c, (x) => {
    x.on('error', () => { /* terminate() while connecting emits one */ });
    x.terminate();
  });
  c.on('upgrade', (res) => log.push(`upgrade ${res.statusCode} readyState ${c.readyState}`));
  c.on('open', () => log.push(`open "${c.protocol}"`));
  c.on('error', (e: Error & { code?: string }) => log.push(`error ${e.constructor.name} ${e.code} ${e.message} readyState ${c.readyState}`));
  c.on('close', (code, reason) => log.push(`close ${code} "${String(reason)}" readyState ${c.readyState}`));
  return c;
}

/** After 'open': one echo, then a normal close. */
async function converse(c: Client, log: Log): Promise<void> {
  if (c.readyState !== 1) await next(c, 'open');
  c.send('hé ✓');
  const [data, isBinary] = await next(c, 'message');
  log.push(`message ${show(data)} ${isBinary}`);
  c.close(1000, 'done');
  await next(c, 'close');
}

/** Listens `server` on 127.0.0.1 (or `where`, a unix socket path); its sockets, upgraded or not, are destroyed after the test. */
async function listen<S extends net.Server>(server: S, where?: string): Promise<number> {
  const sockets = new Set<net.Socket>();
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  if (where === undefined) server.listen(0, '127.0.0.1');
  else server.listen(where);
  await once(server, 'listening');
  cleanup.add(server, (s) => new Promise<void>((resolve) => {
    for (const x of sockets) x.destroy();
    s.close(() => resolve());
  }));
  const address = server.address();
  return typeof address === 'object' && address !== null ? address.port : 0;
}

/** An http server (or `server`) whose upgrade requests go to `onUpgrade`. */
async function upgradeServer(onUpgrade: (req: http.IncomingMessage, socket: stream.Duplex, head: Buffer) => void,
  server: http.Server = http.createServer((_q, r) => r.end('plain'))): Promise<number> {
  server.on('upgrade', onUpgrade);
  return listen(server);
}

/** A real ws server (noServer) that echoes; `accept` hands it an upgrade request. */
function echoWss() {
  const wss = new WS.WebSocketServer({ noServer: true });
  cleanup.add(wss, (s) => new Promise<void>((resolve) => {
    for (const c of s.clients) c.terminate();
    s.close(() => resolve());
  }));
  const accept = (req: http.IncomingMessage, socket: stream.Duplex, head: Buffer) => wss.handleUpgrade(req, socket, head, (ws) => {
    ws.on('message', (d, b) => ws.send(d, { binary: b }));
    wss.emit('connection', ws, req);
  });
  return { wss, accept };
}

const redirect = (socket: stream.Duplex, location: string, status = '302 Found') =>
  socket.end(`HTTP/1.1 ${status}\r\nLocation: ${location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);

describe('sockudo-ws/ws as a client against ws / node servers, differential', () => {
  it("'upgrade': emitted before 'open' with the 101 as an http.IncomingMessage, headers added by the server's 'headers' event", async () => {
    await same(async (impl, log) => {
      const { wss, accept } = echoWss();
      wss.on('headers', (headers: string[]) => headers.push('Set-Cookie: a=1; Path=/', 'X-Extra: yes'));
      const port = await upgradeServer(accept);
      const c = client(impl, log, `ws://127.0.0.1:${port}/up`);
      c.on('upgrade', (res) => {
        log.push(`upgrade res ${res instanceof http.IncomingMessage} ${res.statusMessage} ${res.headers.upgrade} ${res.headers['x-extra']} ${JSON.stringify(res.headers['set-cookie'])}`);
      });
      await converse(c, log);
    });
  });

  it("'unexpected-response': (ClientRequest, IncomingMessage) with the body and no error; req.destroy() there; without a listener an error and 1006", async () => {
    const deny = (socket: stream.Duplex) =>
      socket.write('HTTP/1.1 401 Unauthorized\r\nContent-Type: text/plain\r\nWWW-Authenticate: Basic\r\nContent-Length: 4\r\n\r\nnope');
    await same(async (impl, log) => {
      const port = await upgradeServer((_req, socket) => deny(socket));
      const c = client(impl, log, `ws://127.0.0.1:${port}/`);
      const reqClosed = new Promise<void>((resolve) => c.on('unexpected-response', (req, res) => {
        log.push(`unexpected-response ${req instanceof http.ClientRequest} ${res instanceof http.IncomingMessage} ${res.statusCode} ${res.statusMessage}`);
        log.push(`headers ${res.headers['content-type']} ${res.headers['www-authenticate']} readyState ${c.readyState}`);
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => { body += d; });
        res.on('end', () => {
          log.push(`body ${body}`);
          req.on('close', () => resolve());
          req.destroy();
        });
      }));
      await reqClosed;
      await new Promise((r) => setTimeout(r, 100));
      log.push(`after req.destroy() readyState ${c.readyState}`);
      c.terminate();
      await next(c, 'close');
    });
    await same(async (impl, log) => {
      const port = await upgradeServer((_req, socket) => deny(socket));
      await next(client(impl, log, `ws://127.0.0.1:${port}/`), 'close');
    });
  });

  it('followRedirects: a relative Location, maxRedirects, no following without it, Authorization/Cookie dropped across hosts, the redirect listener', async () => {
    const servers = async (log: Log) => {
      const { accept } = echoWss();
      const final = (req: http.IncomingMessage, socket: stream.Duplex, head: Buffer, who: string) => {
        log.push(`server ${who} ${req.url} auth=${req.headers.authorization} cookie=${req.headers.cookie} x-added=${req.headers['x-added']}`);
        accept(req, socket, head);
      };
      const pb = await upgradeServer((req, socket, head) => final(req, socket, head, 'B'));
      const pa = await upgradeServer((req, socket, head) => {
        if (req.url === '/start') redirect(socket, '/foo');
        else if (req.url === '/loop') redirect(socket, '/loop', '307 Temporary Redirect');
        else if (req.url === '/cross') redirect(socket, `ws://127.0.0.1:${pb}/final`);
        else if (req.url === '/same') redirect(socket, `http://127.0.0.1:${pa}/final`);
        else final(req, socket, head, 'A');
      });
      const names = (s: string) => s.replaceAll(String(pa), 'PA').replaceAll(String(pb), 'PB');
      return { pa, names };
    };
    await same(async (impl, log) => {
      const { pa, names } = await servers(log);
      const c = client(impl, log, `ws://127.0.0.1:${pa}/start`, undefined, { followRedirects: true });
      c.on('redirect', (url: string, req) => log.push(`redirect ${names(url)} ${req instanceof http.ClientRequest} ${names(c.url)} readyState ${c.readyState}`));
      await next(c, 'open');
      log.push(`url after open ${names(c.url)}`);
      await converse(c, log);

      const loop = client(impl, log, `ws://127.0.0.1:${pa}/loop`, undefined, { followRedirects: true, maxRedirects: 2 });
      loop.on('redirect', (url: string) => log.push(`loop redirect ${names(url)}`));
      await next(loop, 'close');

      const plain = client(impl, log, `ws://127.0.0.1:${pa}/start`);
      await next(plain, 'close');
    });
    await same(async (impl, log) => {
      const { pa, names } = await servers(log);
      const headers = { Authorization: 'Bearer t', Cookie: 'c=1' };
      for (const p of ['/cross', '/same']) {
        const c = client(impl, log, `ws://127.0.0.1:${pa}${p}`, undefined, { followRedirects: true, headers });
        await next(c, 'open');
        log.push(`${p} at ${names(c.url)}`);
        c.close();
        await next(c, 'close');
      }
      const c = client(impl, log, `ws://127.0.0.1:${pa}/cross`, undefined, { followRedirects: true, headers });
      c.on('redirect', (url: string, req) => {
        log.push(`redirect ${names(url)} ${req.getHeader('authorization')} ${req.getHeader('cookie')}`);
        req.setHeader('x-added', '1');
        req.removeHeader('cookie');
      });
      await next(c, 'open');
      c.close();
      await next(c, 'close');
    });
  });

  it('ws+unix: URLs reach a ws server on a unix socket with the path after the colon; "ws+unix:" alone throws', async () => {
    await same(async (impl, log) => {
      const socketPath = path.join(os.tmpdir(), `sockudo-ws-dropin-${process.pid}.sock`);
      fs.rmSync(socketPath, { force: true });
      const httpServer = http.createServer();
      await listen(httpServer, socketPath);
      cleanup.add(socketPath, (p) => fs.rmSync(p, { force: true }));
      const wss = new WS.WebSocketServer({ server: httpServer });
      cleanup.add(wss, (s) => new Promise<void>((resolve) => { for (const x of s.clients) x.terminate(); s.close(() => resolve()); }));
      wss.on('connection', (ws, req) => {
        log.push(`server connection ${req.url}`);
        ws.on('message', (d, b) => ws.send(d, { binary: b }));
      });
      for (const url of [`ws+unix:${socketPath}:/path?q=1`, `ws+unix:${socketPath}`]) {
        const c = client(impl, log, url);
        log.push(`url ${c.url.replace(socketPath, 'SOCK')}`);
        await converse(c, log);
      }
      for (const url of ['ws+unix:', 'ws+unix:?x=1']) {
        try {
          client(impl, log, url);
          log.push(`${url} constructed`);
        } catch (e) {
          log.push(`${url} ${(e as Error).constructor.name}: ${(e as Error).message}`);
        }
      }
    });
  });

  it('handshakeTimeout: a TCP server that never answers → "Opening handshake has timed out", close 1006', async () => {
    await same(async (impl, log) => {
      const server = net.createServer((s) => s.resume());
      const port = await listen(server);
      const c = client(impl, log, `ws://127.0.0.1:${port}/`, undefined, { handshakeTimeout: 200 });
      await next(c, 'close');
    });
  });

  it.skipIf(opensslMissing() !== null)('wss://: with ca (or rejectUnauthorized: false) open and echo; without, the TLS error then 1006', async () => {
    const fx = tlsFixtures();
    await same(async (impl, log) => {
      const { accept } = echoWss();
      const port = await upgradeServer(accept, https.createServer({ key: fx.server.key, cert: fx.server.cert }));
      const self = await upgradeServer(accept, https.createServer({ key: fx.selfSigned.key, cert: fx.selfSigned.cert }));
      const c = client(impl, log, `wss://127.0.0.1:${port}/tls`, undefined, { ca: fx.ca.cert });
      log.push(`url ${c.url.replace(String(port), 'PORT')}`);
      await converse(c, log);
      const lax = client(impl, log, `wss://127.0.0.1:${self}/`, undefined, { rejectUnauthorized: false });
      await converse(lax, log);
      // handshakeTimeout bounds the opening only: an open connection idle for longer lives on.
      const idle = client(impl, log, `wss://127.0.0.1:${port}/idle`, undefined, { ca: fx.ca.cert, handshakeTimeout: 150 });
      await next(idle, 'open');
      await new Promise((r) => setTimeout(r, 400));
      await converse(idle, log);
      for (const p of [port, self]) await next(client(impl, log, `wss://127.0.0.1:${p}/`), 'close');
    });
  });

  it('http.request options pass through: headers (case kept), origin, URL userinfo → Basic auth, localAddress, family, agent: false, lookup, createConnection, finishRequest', async () => {
    await same(async (impl, log) => {
      const { wss, accept } = echoWss();
      const port = await upgradeServer(accept);
      wss.on('connection', (_ws, req: http.IncomingMessage) => {
        const raw = req.rawHeaders.filter((_h, i) => i % 2 === 0 && /^x-/i.test(req.rawHeaders[i]!));
        log.push(`server ${req.url} host=${req.headers.host?.replace(String(port), 'PORT')} raw=${raw.join(',')} x=${req.headers['x-mixed-case']} finished=${req.headers['x-finished']}`);
        log.push(`server origin=${req.headers.origin} auth=${req.headers.authorization} remote=${req.socket.remoteAddress}`);
      });
      // When lookup runs (synchronously in the constructor or later) is not ws's contract: logged after the echo.
      const lookups: string[] = [];
      const lookup = (hostname: string, opts: { family?: number; all?: boolean }, cb: (...a: unknown[]) => void) => {
        lookups.push(`lookup ${hostname}`);
        if (opts.all) cb(null, [{ address: '127.0.0.1', family: 4 }]);
        else cb(null, '127.0.0.1', 4);
      };
      const cases: [string, Options][] = [
        [`ws://127.0.0.1:${port}/headers`, { headers: { 'X-Mixed-Case': 'v', 'x-lower': 'w' }, origin: 'http://o.test', localAddress: '127.0.0.1', family: 4, agent: false }],
        [`ws://us%20er:p%40ss@127.0.0.1:${port}/userinfo`, {}],
        [`ws://example.invalid:${port}/lookup`, { lookup: lookup as never, family: 4 }],
        [`ws://example.invalid:${port}/lookup-any`, { lookup: lookup as never }],
      ];
      for (const [url, options] of cases) {
        const c = client(impl, log, url, undefined, options);
        log.push(`url ${c.url.replace(String(port), 'PORT')}`);
        await converse(c, log);
        log.push(...lookups.splice(0));
      }
      // createConnection: the request goes over the socket it returns (here to the real port, for a made-up host).
      const viaOwn = client(impl, log, 'ws://made-up.invalid:22/own-connection', undefined, {
        createConnection: ((o: { host?: string; port?: number | string }) => {
          log.push(`createConnection ${o.host}:${o.port}`);
          return net.createConnection({ host: '127.0.0.1', port });
        }) as never,
      });
      await converse(viaOwn, log);
      // finishRequest: the caller ends the request itself, and may add to it first.
      const finishing = client(impl, log, `ws://127.0.0.1:${port}/finish`, undefined, {
        finishRequest: ((req: http.ClientRequest, ws: unknown) => {
          log.push(`finishRequest ${req instanceof http.ClientRequest} ${ws instanceof impl.WebSocket}`);
          req.setHeader('X-Finished', 'yes');
          req.end();
        }) as never,
      });
      await converse(finishing, log);
    });
  });

  it("bad 101 answers: a drop right after a valid 101 → 1006; ws's errors for Sec-WebSocket-Accept, Upgrade, subprotocol and extension mismatches", async () => {
    await same(async (impl, log) => {
      const port = await upgradeServer((req, socket) => {
        const key = req.headers['sec-websocket-key'];
        const good = createHash('sha1').update(`${key}${GUID}`).digest('base64');
        const url = req.url ?? '';
        const lines = [
          'HTTP/1.1 101 Switching Protocols',
          `Upgrade: ${url === '/bad-upgrade' ? 'foo' : 'websocket'}`,
          'Connection: Upgrade',
          `Sec-WebSocket-Accept: ${url === '/bad-accept' ? createHash('sha1').update('x').digest('base64') : good}`,
        ];
        if (url === '/unrequested-protocol' || url === '/other-protocol') lines.push('Sec-WebSocket-Protocol: b');
        if (url === '/unrequested-extension') lines.push('Sec-WebSocket-Extensions: permessage-deflate');
        if (url === '/unknown-extension') lines.push('Sec-WebSocket-Extensions: x-foo');
        log.push(`server ${url} protocol=${req.headers['sec-websocket-protocol']} extensions=${req.headers['sec-websocket-extensions'] !== undefined}`);
        socket.write(`${lines.join('\r\n')}\r\n\r\n`);
        if (url === '/drop') socket.end();
      });
      const cases: [string, string[] | undefined, Options][] = [
        ['/drop', undefined, {}],
        ['/bad-accept', undefined, {}],
        ['/bad-upgrade', undefined, {}],
        ['/unrequested-protocol', undefined, {}],
        ['/no-protocol', ['a'], {}],
        ['/other-protocol', ['a'], {}],
        ['/unrequested-extension', undefined, { perMessageDeflate: false }],
        ['/unknown-extension', undefined, {}],
      ];
      for (const [p, protocols, options] of cases) {
        log.push(`case ${p}`);
        await next(client(impl, log, `ws://127.0.0.1:${port}${p}`, protocols, options), 'close');
      }
    });
  });
});
