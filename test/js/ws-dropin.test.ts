// sockudo-ws/ws against the real `ws` package, differentially: every scenario runs twice, once
// with `ws` and once with sockudo-ws/ws in the role under test (the other side is always the real
// `ws`, an independent peer), and the two transcripts — events in order, their arguments, close
// codes and reasons, error messages and codes, HTTP answers — must be equal. A scenario records
// only what `ws` documents as observable; where sockudo-ws/ws differs on purpose, the scenario
// says so and the README's "Coming from ws" lists it.
import { once } from 'node:events';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { createRequire } from 'node:module';

import { afterEach, describe, expect, it } from 'vitest';

import { Cleanup, within } from './helpers';

const requireHere = createRequire(__filename);
type WsModule = typeof import('ws');
const WS = requireHere('ws') as WsModule;
const OURS = requireHere(path.join(__dirname, '..', '..', 'dist', 'cjs', 'ws', 'main.js')) as WsModule;
const IMPLS: [string, WsModule][] = [['ws', WS], ['sockudo-ws/ws', OURS]];

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

type Log = string[];
const show = (d: unknown): string => {
  if (Buffer.isBuffer(d)) return `Buffer(${d.length}):${d.toString('hex').slice(0, 40)}`;
  if (d instanceof ArrayBuffer) return `ArrayBuffer(${d.byteLength}):${Buffer.from(d).toString('hex').slice(0, 40)}`;
  if (Array.isArray(d)) return `[${d.map(show).join(',')}]`;
  if (d instanceof Blob) return `Blob(${d.size})`;
  if (typeof d === 'string') return `string:${d.slice(0, 40)}`;
  return String(d);
};

/** A server of `impl` on 127.0.0.1 (port mode), closed after the test. */
async function serverOf(impl: WsModule, options: Record<string, unknown> = {}) {
  const wss = new impl.WebSocketServer({ port: 0, host: '127.0.0.1', ...options });
  cleanup.add(wss, (s) => new Promise<void>((resolve) => {
    for (const c of s.clients ?? []) c.terminate();
    s.close(() => resolve());
  }));
  await once(wss, 'listening');
  return { wss, port: (wss.address() as net.AddressInfo).port };
}

/** Runs `scenario` once per implementation and expects equal transcripts; returns them. */
async function same(scenario: (impl: WsModule, log: Log) => Promise<void>): Promise<Log> {
  const dbg = process.env.WS_DROPIN_SHOW === "1";
  const logs: Log[] = [];
  for (const [, impl] of IMPLS) {
    const log: Log = [];
    await within(scenario(impl, log), 15_000, 'scenario');
    await cleanup.run();
    logs.push(log);
  }
  // The two sides' events are compared each in its own order (which side logs first is a race).
  const side = (log: Log, server: boolean) => log.filter((l) => l.startsWith('server ') === server);
  expect(side(logs[1]!, true), 'sockudo-ws/ws against ws (server side)').toEqual(side(logs[0]!, true));
  expect(side(logs[1]!, false), 'sockudo-ws/ws against ws (the rest)').toEqual(side(logs[0]!, false));
  if (dbg) console.log(JSON.stringify(logs, null, 1));
  return logs[0]!;
}

/** A `ws` client to port; resolves once its close event fired, with what it saw. */
function wsClient(port: number, pathName = '/', protocols?: string[], options: Record<string, unknown> = {}) {
  const c = new WS.WebSocket(`ws://127.0.0.1:${port}${pathName}`, protocols, options);
  c.on('error', () => { /* a scenario that expects one listens itself */ });
  cleanup.add(c, (x) => x.terminate());
  return c;
}

/** The next `event` of `emitter` as its arguments (unlike events.once, an 'error' does not reject). */
function next(emitter: NodeJS.EventEmitter, event: string): Promise<unknown[]> {
  return new Promise((resolve) => emitter.once(event, (...args: unknown[]) => resolve(args)));
}

describe('sockudo-ws/ws as a server (the real ws as the client), differential', () => {
  it('echo: connection (url, headers), text and binary as Buffers with isBinary, every size; the client sees the same messages', async () => {
    await same(async (impl, log) => {
      const { wss, port } = await serverOf(impl);
      wss.on('connection', (ws, req) => {
        log.push(`connection ${req.url} ${req.headers['x-test']} ${ws.readyState} ${ws.protocol === ''} ${ws.extensions === ''}`);
        ws.on('message', (data, isBinary) => {
          log.push(`server message ${show(data)} ${isBinary}`);
          ws.send(data, { binary: isBinary });
        });
      });
      const c = wsClient(port, '/echo?a=1', undefined, { headers: { 'x-test': 'yes' } });
      await once(c, 'open');
      for (const m of ['', 'héllo ✓', Buffer.alloc(0), Buffer.from([1, 2, 3]), 'x'.repeat(70_000), Buffer.alloc(200_000, 7)]) {
        c.send(m);
        const [data, isBinary] = await once(c, 'message');
        log.push(`client message ${show(data)} ${isBinary}`);
      }
      c.close(1000);
      await once(c, 'close');
    });
  });

  it('perMessageDeflate: ws\'s options (threshold, context takeover, window bits) negotiate what ws negotiates; messages of every size round-trip; extensions names it', async () => {
    const configs: Record<string, unknown>[] = [
      { threshold: 0 },
      { threshold: 1024, serverNoContextTakeover: true, clientNoContextTakeover: true },
      { serverMaxWindowBits: 10, clientMaxWindowBits: 11 },
    ];
    for (const pmd of configs) {
      await same(async (impl, log) => {
        const { wss, port } = await serverOf(impl, { perMessageDeflate: pmd });
        wss.on('connection', (ws, req) => {
          log.push(`server extensions "${ws.extensions}" offer ${req.headers['sec-websocket-extensions']}`);
          ws.on('message', (d, isBinary) => ws.send(d, { binary: isBinary }));
        });
        const c = wsClient(port, '/', undefined, { perMessageDeflate: { clientMaxWindowBits: true } });
        // The negotiated parameters as a set (RFC 7692 gives their order no meaning; ws and we order them differently).
        c.on('upgrade', (res) => log.push(`101 extensions ${String(res.headers['sec-websocket-extensions']).split(';').map((p) => p.trim()).sort().join('; ')}`));
        await once(c, 'open');
        log.push(`client extensions "${c.extensions}"`);
        for (const m of ['', 'short', 'x'.repeat(2000), Buffer.alloc(300_000, 5), 'é'.repeat(50_000)]) {
          c.send(m);
          const [data, isBinary] = await once(c, 'message');
          log.push(`echo ${show(data)} ${(data as Buffer).length} ${isBinary}`);
        }
        c.close();
        await once(c, 'close');
      });
    }
  });

  it('binaryType nodebuffer / arraybuffer / fragments / blob on the server socket; an unknown value is ignored', async () => {
    await same(async (impl, log) => {
      const { wss, port } = await serverOf(impl);
      wss.on('connection', (ws) => {
        log.push(`default ${ws.binaryType}`);
        const types = ['arraybuffer', 'fragments', 'blob', 'nodebuffer'] as const;
        let i = 0;
        ws.on('message', (data, isBinary) => {
          log.push(`${ws.binaryType} ${show(data)} ${isBinary}`);
          ws.binaryType = types[i++ % 4]!;
          ws.binaryType = 'blob-nope' as never;
          ws.send('next');
        });
      });
      const c = wsClient(port);
      await once(c, 'open');
      for (const m of [Buffer.from('ab'), 'cd', Buffer.from('ef'), Buffer.from('gh'), 'ij', Buffer.from('kl')]) {
        c.send(m);
        await once(c, 'message');
      }
    });
  });

  it('closing: the server closes with a code and reason (client sees both; server close event has a Buffer reason); the client closes; no code → 1005', async () => {
    await same(async (impl, log) => {
      const { wss, port } = await serverOf(impl);
      wss.on('connection', (ws, req) => {
        ws.on('close', (code, reason) => log.push(`server close ${code} ${show(reason)} ${ws.readyState}`));
        if (req.url === '/server-closes') {
          ws.close(4001, 'server bye');
          log.push(`after close() ${ws.readyState}`);
        }
      });
      for (const [p, close] of [['/server-closes', null], ['/client-closes', 4002], ['/no-code', undefined]] as const) {
        const c = wsClient(port, p);
        await once(c, 'open');
        if (close !== null) c.close(close, close === undefined ? undefined : 'client bye');
        const [code, reason] = await once(c, 'close');
        log.push(`client close ${code} ${String(reason)}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    });
  });

  it('close() argument checks: invalid codes throw TypeError, a reason past 123 bytes RangeError, with ws\'s messages; 1012-1014 are accepted', async () => {
    await same(async (impl, log) => {
      const { wss, port } = await serverOf(impl);
      const done = new Promise<void>((resolve) => wss.on('connection', (ws) => {
        for (const code of [999, 1004, 1005, 1006, 1015, 2999, 5000, '1000']) {
          try {
            ws.close(code as number);
            log.push(`${code} ok`);
          } catch (e) {
            log.push(`${code} ${(e as Error).constructor.name}: ${(e as Error).message}`);
          }
        }
        try {
          ws.close(1000, 'x'.repeat(124));
        } catch (e) {
          log.push(`long reason ${(e as Error).constructor.name}: ${(e as Error).message}`);
        }
        ws.close(1013, 'try later');
        resolve();
      }));
      const c = wsClient(port);
      await done;
      const [code, reason] = await once(c, 'close');
      log.push(`client close ${code} ${String(reason)}`);
    });
  });

  it('send/ping/pong callbacks: called once without an error while open; with ws\'s error after close; send() before open throws (client)', async () => {
    await same(async (impl, log) => {
      const { wss, port } = await serverOf(impl);
      const closed = new Promise<void>((resolve) => wss.on('connection', (ws) => {
        ws.send('a', (e) => log.push(`send cb ${String(e)}`));
        ws.ping('p', undefined, (e) => log.push(`ping cb ${String(e)}`));
        ws.pong((e?: Error) => log.push(`pong cb ${String(e)}`));
        ws.on('close', () => {
          ws.send('late', (e) => log.push(`late send cb ${e?.message} ${ws.bufferedAmount}`));
          ws.ping(undefined, undefined, (e) => log.push(`late ping cb ${e?.message}`));
          resolve();
        });
      }));
      const c = wsClient(port);
      c.on('ping', (d) => log.push(`client ping ${show(d)}`));
      await once(c, 'message');
      c.close();
      await closed;
      await new Promise((r) => setTimeout(r, 50));
      const client = new impl.WebSocket(`ws://127.0.0.1:${port}`);
      cleanup.add(client, (x) => x.terminate());
      try {
        client.send('too early');
      } catch (e) {
        log.push(`early send: ${(e as Error).message}`);
      }
      await once(client, 'open');
    });
  });

  it('Blobs: send/ping of a Blob keep their place among other sends and the close; bufferedAmount counts them; an unreadable Blob is an error and ends the connection', async () => {
    const fs = await import('node:fs');
    const os = await import('node:os');
    await same(async (impl, log) => {
      const { wss, port } = await serverOf(impl);
      wss.on('connection', (ws) => {
        ws.send('a', (e) => log.push(`server send a cb ${String(e)}`));
        ws.send(new Blob(['bb', Buffer.from([0xff])]), (e) => log.push(`server send blob cb ${String(e)}`));
        log.push(`server bufferedAmount ${ws.bufferedAmount >= 3}`);
        ws.ping(new Blob(['pp']));
        ws.send('c', { binary: true });
        ws.close(4000, 'after the blobs');
        ws.on('close', () => {
          ws.send(new Blob(['xyz']), (e) => log.push(`server late blob cb ${e?.message} ${ws.bufferedAmount}`));
        });
      });
      const c = wsClient(port);
      c.on('message', (d, isBinary) => log.push(`client message ${show(d)} ${isBinary}`));
      c.on('ping', (d) => log.push(`client ping ${show(d)}`));
      const [code, reason] = await once(c, 'close');
      log.push(`client close ${code} ${String(reason)}`);
      await new Promise((r) => setTimeout(r, 50));
    });
    // A file Blob whose file shrank after it was opened cannot be read (NotReadableError).
    const openAsBlob = (fs as unknown as { openAsBlob?: (p: string) => Promise<Blob> }).openAsBlob;
    if (openAsBlob === undefined) return;
    await same(async (impl, log) => {
      const file = path.join(os.tmpdir(), `sockudo-ws-blob-${process.pid}-${Math.random().toString(16).slice(2)}`);
      fs.writeFileSync(file, 'x'.repeat(64));
      const blob = await openAsBlob(file);
      fs.writeFileSync(file, 'x'.repeat(32));
      cleanup.add(file, (f) => fs.rmSync(f, { force: true }));
      const { wss, port } = await serverOf(impl);
      const closed = new Promise<void>((resolve) => wss.on('connection', (ws) => {
        ws.send(blob, (e) => log.push(`server send cb ${(e as Error | undefined)?.name}`));
        ws.on('error', (e) => log.push(`server error ${e.name} ${e.message} ${ws.readyState}`));
        ws.on('close', (code) => { log.push(`server close ${code}`); resolve(); });
      }));
      const c = wsClient(port);
      const [code] = await once(c, 'close');
      log.push(`client close ${code}`);
      await closed;
    });
  });

  it('ping and pong events carry their payloads; autoPong answers', async () => {
    await same(async (impl, log) => {
      const { wss, port } = await serverOf(impl);
      wss.on('connection', (ws) => {
        ws.on('ping', (d) => log.push(`server ping ${show(d)}`));
        ws.on('pong', (d) => log.push(`server pong ${show(d)}`));
        ws.on('message', () => ws.ping(Buffer.from('srv')));
      });
      const c = wsClient(port);
      await once(c, 'open');
      c.ping('hello');
      log.push(`client pong ${show((await once(c, 'pong'))[0])}`);
      c.pong('unsolicited');
      c.send('go');
      log.push(`client ping ${show((await once(c, 'ping'))[0])}`);
      await new Promise((r) => setTimeout(r, 50));
    });
  });

  it('verifyClient: sync false → 401; async (false, 403, message, headers) → that answer; info.origin and info.secure; true → connection', async () => {
    await same(async (impl, log) => {
      const { wss, port } = await serverOf(impl, {
        verifyClient: (info: { origin: string; secure: boolean; req: http.IncomingMessage }, cb: (ok: boolean, code?: number, msg?: string, h?: Record<string, string>) => void) => {
          log.push(`verify ${info.origin} ${info.secure} ${info.req.url}`);
          if (info.req.url === '/deny') cb(false, 403, 'Go away', { 'X-Why': 'test' });
          else if (info.req.url === '/default') cb(false);
          else cb(true);
        },
      });
      wss.on('connection', (_ws, req) => log.push(`connection ${req.url}`));
      for (const p of ['/deny', '/default', '/ok']) {
        const c = wsClient(port, p, undefined, { origin: 'http://o.test' });
        c.on('unexpected-response', (_req, res) => {
          let body = '';
          res.on('data', (d: Buffer) => { body += d; });
          res.on('end', () => {
            log.push(`refused ${res.statusCode} ${res.headers['x-why']} ${res.headers['content-type']} ${body}`);
            c.emit('close');
          });
        });
        c.on('open', () => c.close());
        await next(c, 'close');
      }
    });
    await same(async (impl, log) => {
      const { wss, port } = await serverOf(impl, { verifyClient: () => false });
      wss.on('connection', () => log.push('connection'));
      const c = wsClient(port);
      c.on('error', (e) => log.push(`client error ${e.message}`));
      await next(c, 'close');
    });
  });

  it('handleProtocols (Set, req) picks the subprotocol; false selects none; without it the first offered is used', async () => {
    await same(async (impl, log) => {
      const { wss, port } = await serverOf(impl, {
        handleProtocols: (set: Set<string>, req: http.IncomingMessage) => {
          log.push(`offered ${[...set].join(',')} ${req.url}`);
          return req.url === '/none' ? false : [...set][1] ?? false;
        },
      });
      wss.on('connection', (ws) => log.push(`server protocol "${ws.protocol}"`));
      for (const p of ['/pick', '/none']) {
        const c = wsClient(port, p, ['chat', 'superchat']);
        c.on('error', (e) => log.push(`client error ${e.message}`));
        c.on('open', () => {
          log.push(`client protocol "${c.protocol}"`);
          c.close();
        });
        await next(c, 'close');
      }
    });
    await same(async (impl, log) => {
      const { wss, port } = await serverOf(impl);
      wss.on('connection', (ws) => log.push(`server protocol "${ws.protocol}"`));
      const c = wsClient(port, '/', ['a', 'b']);
      await once(c, 'open');
      log.push(`client protocol "${c.protocol}"`);
    });
  });

  it('maxPayload: a bigger message is an error (WS_ERR_UNSUPPORTED_MESSAGE_LENGTH) and a 1009 close on both sides', async () => {
    await same(async (impl, log) => {
      const { wss, port } = await serverOf(impl, { maxPayload: 1000 });
      const closed = new Promise<void>((resolve) => wss.on('connection', (ws) => {
        ws.on('message', (d) => log.push(`server message ${show(d)}`));
        ws.on('error', (e) => log.push(`server error ${(e as { code?: string }).code} ${e.constructor.name}`));
        ws.on('close', (code) => {
          log.push(`server close ${code}`);
          resolve();
        });
      }));
      const c = wsClient(port);
      await once(c, 'open');
      c.send(Buffer.alloc(1000));
      c.send(Buffer.alloc(1001));
      const [code] = await once(c, 'close');
      log.push(`client close ${code}`);
      await closed;
    });
  });

  it("the 'headers' event: listeners see the 101's lines and may add one; the client receives it", async () => {
    await same(async (impl, log) => {
      const { wss, port } = await serverOf(impl);
      wss.on('headers', (headers: string[], req: http.IncomingMessage) => {
        log.push(`headers ${headers.length} ${headers[0]} ${req.url}`);
        headers.push('X-Added: 1');
      });
      const c = wsClient(port);
      c.on('upgrade', (res) => log.push(`upgrade ${res.statusCode} ${res.headers['x-added']}`));
      await once(c, 'open');
    });
  });

  it('path: another path is refused with 400; clientTracking: clients holds the open sockets; address()', async () => {
    await same(async (impl, log) => {
      const { wss, port } = await serverOf(impl, { path: '/only' });
      log.push(`address family ${(wss.address() as net.AddressInfo).family}`);
      const bad = wsClient(port, '/other');
      bad.on('unexpected-response', (_req, res) => {
        log.push(`status ${res.statusCode}`);
        bad.emit('close');
      });
      await next(bad, 'close');
      const good = wsClient(port, '/only?x=1');
      await once(good, 'open');
      await new Promise((r) => setTimeout(r, 20));
      log.push(`clients ${wss.clients.size}`);
      good.close();
      await once(good, 'close');
      await new Promise((r) => setTimeout(r, 50));
      log.push(`clients ${wss.clients.size}`);
    });
  });

  it('handleUpgrade: a second call with the same socket throws; after close() an upgrade is answered 503; _state and _server', async () => {
    await same(async (impl, log) => {
      const server = http.createServer();
      cleanup.add(server, (s) => new Promise<void>((resolve) => { s.closeAllConnections(); s.close(() => resolve()); }));
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      const port = (server.address() as net.AddressInfo).port;
      const wss = new impl.WebSocketServer({ noServer: true });
      log.push(`_server ${String((wss as unknown as { _server: unknown })._server)} _state ${(wss as unknown as { _state: number })._state}`);
      server.once('upgrade', (req, socket, head) => {
        wss.handleUpgrade(req, socket, head, (ws) => ws.close(1000));
        try {
          wss.handleUpgrade(req, socket, head, () => log.push('second callback'));
        } catch (e) {
          log.push(`second call: ${(e as Error).message}`);
        }
      });
      const first = wsClient(port);
      const [code] = await once(first, 'close');
      log.push(`first client close ${code}`);
      wss.close();
      log.push(`after close() _state ${(wss as unknown as { _state: number })._state}`);
      server.once('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, () => log.push('unexpected callback')));
      const late = wsClient(port);
      late.on('unexpected-response', (_req, res) => {
        log.push(`late status ${res.statusCode}`);
        res.resume();
        late.terminate();
      });
      await next(late, 'close');
    });
  });

  it("close(): open connections stay open and 'close' waits for the last of them (port mode); close() again → 'The server is not running'", async () => {
    await same(async (impl, log) => {
      const { wss, port } = await serverOf(impl);
      wss.on('connection', (ws) => ws.on('message', (d) => ws.send(d)));
      const c = wsClient(port);
      await once(c, 'open');
      const wssClosed = new Promise<void>((resolve) => wss.close(() => { log.push('wss close cb'); resolve(); }));
      log.push(`after close() address ${String(wss.address())}`);
      c.send('still open');
      const [d] = await once(c, 'message');
      log.push(`echo after close(): ${show(d)}`);
      await new Promise((r) => setTimeout(r, 30));
      log.push('client closes');
      c.close();
      await wssClosed;
      await new Promise<void>((resolve) => wss.close((e?: Error) => { log.push(`second close: ${e?.message}`); resolve(); }));
    });
  });

  it("malformed upgrades: 'wsClientError' with ws's message when listened to, else ws's HTTP answer", async () => {
    const raw = async (port: number, head: string) => {
      const s = net.connect(port, '127.0.0.1');
      cleanup.add(s, (x) => x.destroy());
      await once(s, 'connect');
      s.write(head);
      let got = '';
      s.on('data', (d: Buffer) => { got += d.toString('latin1'); });
      await once(s, 'close');
      return got.split('\r\n')[0];
    };
    const heads = [
      'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 12\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: a, a\r\n\r\n',
      'POST / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    ];
    await same(async (impl, log) => {
      const { port } = await serverOf(impl);
      for (const h of heads) log.push(`answer ${await raw(port, h)}`);
    });
    await same(async (impl, log) => {
      const { wss, port } = await serverOf(impl);
      wss.on('wsClientError', (e: Error, socket: net.Socket, req: http.IncomingMessage) => {
        log.push(`wsClientError ${e.message} ${req.method}`);
        socket.end('HTTP/1.1 418 Teapot\r\n\r\n');
      });
      for (const h of heads) log.push(`answer ${await raw(port, h)}`);
    });
  });

  it('noServer + handleUpgrade(req, socket, head, cb) and server: attaching to an http.Server; plain requests get 426 in port mode', async () => {
    await same(async (impl, log) => {
      const httpServer = http.createServer((_q, r) => r.end('plain'));
      const wss = new impl.WebSocketServer({ noServer: true });
      httpServer.on('upgrade', (req, socket, head) => {
        log.push(`shouldHandle ${wss.shouldHandle(req)}`);
        wss.handleUpgrade(req, socket, head, (ws) => {
          ws.on('message', (d, b) => ws.send(d, { binary: b }));
          wss.emit('connection', ws, req);
        });
      });
      wss.on('connection', (_ws, req) => log.push(`connection ${req.url}`));
      httpServer.listen(0, '127.0.0.1');
      await once(httpServer, 'listening');
      cleanup.add(httpServer, (s) => { s.closeAllConnections(); s.close(); });
      const port = (httpServer.address() as net.AddressInfo).port;
      const c = wsClient(port, '/attached');
      await once(c, 'open');
      c.send('x');
      log.push(`echo ${show((await once(c, 'message'))[0])}`);
      try {
        (wss as unknown as { address(): unknown }).address();
      } catch (e) {
        log.push(`address: ${(e as Error).message}`);
      }
    });
    await same(async (impl, log) => {
      const { port } = await serverOf(impl);
      const status = await new Promise<number | undefined>((resolve) => http.get(`http://127.0.0.1:${port}/`, (res) => {
        res.resume();
        resolve(res.statusCode);
      }));
      log.push(`plain ${status}`);
    });
  });

  it("addEventListener / on* attributes on the server socket: ws's event objects (MessageEvent data as a string for text, CloseEvent code/reason/wasClean)", async () => {
    await same(async (impl, log) => {
      const { wss, port } = await serverOf(impl);
      const done = new Promise<void>((resolve) => wss.on('connection', (ws) => {
        ws.onmessage = (e) => log.push(`onmessage ${e.type} ${show(e.data)} ${e.target === ws}`);
        const listener = (e: { data: unknown }) => log.push(`listener ${show(e.data)}`);
        ws.addEventListener('message', listener);
        ws.addEventListener('message', listener);  // once only
        ws.addEventListener('close', (e) => {
          log.push(`close event ${e.code} ${e.reason} ${e.wasClean}`);
          resolve();
        });
        log.push(`onmessage set ${typeof ws.onmessage} onclose ${ws.onclose}`);
      }));
      const c = wsClient(port);
      await once(c, 'open');
      c.send('text');
      c.send(Buffer.from('bin'));
      await new Promise((r) => setTimeout(r, 50));
      c.close(4005, 'done');
      await done;
    });
  });

  it('createWebSocketStream: a Duplex echo over the socket; ending it closes the WebSocket', async () => {
    await same(async (impl, log) => {
      const { wss, port } = await serverOf(impl);
      wss.on('connection', (ws) => {
        const duplex = impl.createWebSocketStream(ws);
        duplex.pipe(duplex);
        ws.on('close', (code) => log.push(`server close ${code}`));
      });
      const c = wsClient(port);
      await once(c, 'open');
      c.send('one');
      log.push(`echo ${show((await once(c, 'message'))[0])}`);
      c.send(Buffer.from('two'));
      log.push(`echo ${show((await once(c, 'message'))[0])}`);
      c.close(1000);
      log.push(`client close ${(await once(c, 'close'))[0]}`);
      await new Promise((r) => setTimeout(r, 50));
    });
  });
});

describe('sockudo-ws/ws as a client (the real ws as the server), differential', () => {
  it('perMessageDeflate on the client: ws\'s options become the same offer (as a set of parameters); the agreement works both ways', async () => {
    const sorted = (h: unknown) => String(h).split(',').map((o) => o.split(';').map((p) => p.trim()).sort().join('; ')).join(', ');
    for (const pmd of [true, false, { clientNoContextTakeover: true, serverMaxWindowBits: 12 }, { serverNoContextTakeover: true, clientMaxWindowBits: 10, threshold: 0 }] as const) {
      await same(async (impl, log) => {
        const wss = new WS.WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: { threshold: 0 } });
        cleanup.add(wss, (s) => new Promise<void>((resolve) => { for (const c of s.clients) c.terminate(); s.close(() => resolve()); }));
        await once(wss, 'listening');
        wss.on('connection', (ws, req) => {
          log.push(`server offer ${sorted(req.headers['sec-websocket-extensions'])} extensions "${ws.extensions}"`);
          ws.on('message', (d, isBinary) => ws.send(d, { binary: isBinary }));
        });
        const c = new impl.WebSocket(`ws://127.0.0.1:${(wss.address() as net.AddressInfo).port}`, { perMessageDeflate: pmd });
        cleanup.add(c, (x) => x.terminate());
        c.on('upgrade', (res) => log.push(`101 ${sorted(res.headers['sec-websocket-extensions'])}`));
        await once(c, 'open');
        log.push(`client extensions "${c.extensions}"`);
        for (const m of ['x'.repeat(5000), Buffer.alloc(100_000, 9)]) {
          c.send(m);
          const [data, isBinary] = await once(c, 'message');
          log.push(`echo ${show(data)} ${(data as Buffer).length} ${isBinary}`);
        }
        c.close();
        await once(c, 'close');
      });
    }
  });

  it('createWebSocketStream on a connecting client: a write waits for open; end() while connecting closes the WebSocket and the stream', async () => {
    await same(async (impl, log) => {
      const wss = new WS.WebSocketServer({ port: 0, host: '127.0.0.1' });
      cleanup.add(wss, (s) => new Promise<void>((resolve) => s.close(() => resolve())));
      await once(wss, 'listening');
      const port = (wss.address() as net.AddressInfo).port;
      wss.on('connection', (ws) => {
        ws.on('message', (d, isBinary) => log.push(`server message ${show(d)} ${isBinary}`));
        ws.on('close', (code) => log.push(`server close ${code}`));
      });
      const ws = new impl.WebSocket(`ws://127.0.0.1:${port}`);
      cleanup.add(ws, (x) => x.terminate());
      const duplex = impl.createWebSocketStream(ws);
      log.push(`readyState ${ws.readyState}`);
      duplex.write(Buffer.from('early'));
      duplex.resume();
      duplex.end();
      await next(duplex, 'close');
      log.push(`stream closed, readyState ${ws.readyState}`);
      await new Promise((r) => setTimeout(r, 50));
    });
  });

  it('new WebSocket(url, protocols): open, readyState, protocol, url; messages as Buffers; close with code and reason', async () => {
    await same(async (impl, log) => {
      const wss = new WS.WebSocketServer({ port: 0, host: '127.0.0.1' });
      cleanup.add(wss, (s) => new Promise<void>((r) => { for (const c of s.clients) c.terminate(); s.close(() => r()); }));
      await once(wss, 'listening');
      const port = (wss.address() as net.AddressInfo).port;
      wss.on('connection', (ws) => {
        ws.on('message', (d, b) => ws.send(d, { binary: b }));
        ws.on('close', (code, reason) => log.push(`server close ${code} ${String(reason)}`));
      });
      const c = new impl.WebSocket(`ws://127.0.0.1:${port}/path?q=1`, ['p1']);
      cleanup.add(c, (x) => x.terminate());
      log.push(`constructed ${c.readyState} ${c.url.replace(String(port), 'PORT')} ${c.binaryType} ${c.bufferedAmount}`);
      await once(c, 'open');
      log.push(`open ${c.readyState} "${c.protocol}"`);
      for (const m of ['text ✓', Buffer.from([9, 8, 7])]) {
        c.send(m);
        const [data, isBinary] = await once(c, 'message');
        log.push(`message ${show(data)} ${isBinary}`);
      }
      c.close(4100, 'client bye');
      log.push(`closing ${c.readyState}`);
      const [code, reason] = await once(c, 'close');
      log.push(`close ${code} ${show(reason)} ${c.readyState}`);
      await new Promise((r) => setTimeout(r, 50));
    });
  });

  it('failures: a refused connection, a 401, and close() before the handshake finished, each an error then a 1006 close', async () => {
    await same(async (impl, log) => {
      const closedPortServer = net.createServer().listen(0, '127.0.0.1');
      await once(closedPortServer, 'listening');
      const dead = (closedPortServer.address() as net.AddressInfo).port;
      closedPortServer.close();
      const refused = new impl.WebSocket(`ws://127.0.0.1:${dead}`);
      refused.on('error', (e) => log.push(`refused error ${(e as { code?: string }).code}`));
      log.push(`refused close ${(await next(refused, 'close'))[0]} ${refused.readyState}`);

      const deny = new WS.WebSocketServer({ port: 0, host: '127.0.0.1', verifyClient: () => false });
      cleanup.add(deny, (s) => new Promise<void>((r) => s.close(() => r())));
      await once(deny, 'listening');
      const c401 = new impl.WebSocket(`ws://127.0.0.1:${(deny.address() as net.AddressInfo).port}`);
      c401.on('error', (e) => log.push(`401 error ${e.message}`));
      log.push(`401 close ${(await next(c401, 'close'))[0]}`);

      const early = new impl.WebSocket(`ws://127.0.0.1:${(deny.address() as net.AddressInfo).port}`);
      early.on('error', (e) => log.push(`early error ${e.message}`));
      early.close();
      log.push(`early readyState ${early.readyState}`);
      log.push(`early close ${(await next(early, 'close'))[0]}`);
    });
  });

  it('argument checks of the constructor: bad URLs and subprotocols throw SyntaxError with ws\'s messages', async () => {
    await same(async (impl, log) => {
      for (const [url, protocols] of [['not a url', undefined], ['ftp://x/', undefined], ['ws://x/#frag', undefined], ['ws://x/', ['a', 'a']], ['ws://x/', ['bad proto']]] as const) {
        try {
          const c = new impl.WebSocket(url, protocols as string[] | undefined);
          c.on('error', () => {});
          c.terminate();
          log.push(`${url} ok`);
        } catch (e) {
          log.push(`${url} ${(e as Error).constructor.name}`);
        }
      }
    });
  });
});
