/**
 * `ws` 8's `WebSocketServer` on sockudo-ws's native core (`ws/lib/websocket-server.js` is the
 * reference for what is observable). As in `ws`, `port` makes an http.Server of its own and
 * `server` attaches to one; every upgrade is checked here the way `ws` checks it (so `shouldHandle`,
 * `verifyClient`, `handleProtocols`, the `headers` and `wsClientError` events and the refusals
 * behave the same), then handed to the native core (`handleUpgrade` of a `noServer` sockudo-ws
 * server), which runs the WebSocket from there: framing, masking, UTF-8 checks, compression.
 */
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, STATUS_CODES, type IncomingMessage, type Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';

import { WebSocketServer as NativeServer } from '../server.js';
import type { ServerOptions as NativeServerOptions } from '../options.js';
import type { UpgradeDecision, UpgradeRequest } from '../upgrade-request.js';
import { compressionOf, DEFAULT_MAX_PAYLOAD, serverSocket, type PerMessageDeflateOptions, WebSocket } from './websocket.js';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const KEY_RE = /^[+/0-9A-Za-z]{22}==$/;
const TOKEN_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export type VerifyClientInfo = { origin: string | undefined; secure: boolean; req: IncomingMessage };
export type VerifyClient =
  | ((info: VerifyClientInfo) => boolean)
  | ((info: VerifyClientInfo, callback: (result: boolean, code?: number, message?: string, headers?: Record<string, string>) => void) => void);

export interface ServerOptions {
  port?: number;
  host?: string;
  backlog?: number;
  server?: HttpServer | HttpsServer;
  noServer?: boolean;
  path?: string;
  clientTracking?: boolean;
  maxPayload?: number;
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  handleProtocols?: (protocols: Set<string>, request: IncomingMessage) => string | false;
  verifyClient?: VerifyClient;
  skipUTF8Validation?: boolean;
  autoPong?: boolean;
  allowSynchronousEvents?: boolean;
  WebSocket?: unknown;
}

const STATE_RUNNING = 0;
const STATE_CLOSING = 1;
const STATE_CLOSED = 2;

interface Pending {
  protocol: string | false;
  headers: Record<string, string[]>;
}

export class WebSocketServer extends EventEmitter {
  readonly options: Readonly<ServerOptions>;
  clients?: Set<WebSocket>;
  #native: NativeServer;
  #server: HttpServer | HttpsServer | null = null;
  #ownServer = false;
  #state = STATE_RUNNING;
  #pending = new WeakMap<IncomingMessage, Pending>();
  #detach: (() => void) | null = null;
  /** Connections open now (tracked whether or not `clients` is), and whether close() waits for them. */
  #live = 0;
  #closeWhenIdle = false;

  constructor(options: ServerOptions, callback?: () => void) {
    super();
    const o = { clientTracking: true, maxPayload: DEFAULT_MAX_PAYLOAD, perMessageDeflate: false, ...options };
    const modes = Number(o.port !== undefined && o.port !== null) + Number(o.server !== undefined && o.server !== null) + Number(o.noServer === true);
    if (modes !== 1) {
      throw new TypeError('One and only one of the "port", "server", or "noServer" options must be specified');
    }
    if (o.WebSocket !== undefined && o.WebSocket !== WebSocket) {
      throw new TypeError('sockudo-ws/ws: a custom WebSocket class is not supported (sockets are made by the native core)');
    }
    this.options = o;
    const { compression, threshold } = compressionOf(o.perMessageDeflate, false, 'server');
    const native: NativeServerOptions = {
      noServer: true,
      textAsBuffer: true,
      idleTimeout: 0,
      autoPing: false,
      closeTimeout: 30_000,
      maxBackpressure: 2 ** 31 - 1,
      maxPayloadLength: o.maxPayload,
      handshakeTimeout: 0,
      autoPong: o.autoPong ?? true,
      echoCloseReason: true,
      compression,
      ...(threshold === undefined ? {} : { compressionThreshold: threshold }),
      upgrade: (request: UpgradeRequest): UpgradeDecision<unknown> => this.#decision(request),
    } as NativeServerOptions;
    this.#native = new NativeServer(native);
    if (o.clientTracking) this.clients = new Set();
    if (o.port !== undefined && o.port !== null) {
      const server = createServer((_req, res) => {
        const body = STATUS_CODES[426]!;
        res.writeHead(426, { 'Content-Length': body.length, 'Content-Type': 'text/plain' });
        res.end(body);
      });
      this.#server = server;
      this.#ownServer = true;
      server.listen(o.port, o.host, o.backlog, callback);
    } else if (o.server) {
      this.#server = o.server;
    }
    if (this.#server) {
      const server = this.#server;
      const onListening = () => this.emit('listening');
      const onError = (error: Error) => this.emit('error', error);
      const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
        this.handleUpgrade(req, socket, head, (ws) => this.emit('connection', ws, req));
      };
      server.on('listening', onListening);
      server.on('error', onError);
      server.on('upgrade', onUpgrade);
      this.#detach = () => {
        server.removeListener('listening', onListening);
        server.removeListener('error', onError);
        server.removeListener('upgrade', onUpgrade);
      };
    }
  }

  /** ws's `_server`: the http/https server this one runs on (null in noServer mode). */
  get _server(): HttpServer | HttpsServer | null | undefined {
    return this.options.noServer ? undefined : this.#server;
  }

  /** ws's `_state`: 0 running, 1 closing, 2 closed. */
  get _state(): number {
    return this.#state;
  }

  address(): AddressInfo | string | null {
    if (this.options.noServer) throw new Error('The server is operating in "noServer" mode');
    if (!this.#server) return null;
    return this.#server.address();
  }

  /**
   * ws's close(): stops taking connections (an attached server is left running) and emits
   * 'close' once the connections still open have closed; it does not close them.
   */
  close(cb?: (error?: Error) => void): void {
    if (this.#state === STATE_CLOSED) {
      if (cb) this.once('close', () => cb(new Error('The server is not running')));
      process.nextTick(() => this.#emitClose());
      return;
    }
    if (cb) this.once('close', cb);
    if (this.#state === STATE_CLOSING) return;
    this.#state = STATE_CLOSING;
    const server = this.#server;
    this.#detach?.();
    this.#detach = null;
    this.#server = null;
    const whenIdle = () => {
      if (this.#live === 0) this.#emitClose();
      else this.#closeWhenIdle = true;
    };
    if (this.#ownServer) server!.close(whenIdle);
    else process.nextTick(whenIdle);
  }

  #emitClose(): void {
    this.#state = STATE_CLOSED;
    this.emit('close');
  }

  shouldHandle(req: IncomingMessage): boolean {
    if (this.options.path) {
      const url = req.url ?? '';
      const q = url.indexOf('?');
      const pathname = q !== -1 ? url.slice(0, q) : url;
      if (pathname !== this.options.path) return false;
    }
    return true;
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, cb: (ws: WebSocket, req: IncomingMessage) => void): void {
    socket.on('error', socketOnError);
    const key = req.headers['sec-websocket-key'];
    const upgrade = req.headers.upgrade;
    const version = Number(req.headers['sec-websocket-version']);
    if (req.method !== 'GET') return this.#clientError(req, socket, 405, 'Invalid HTTP method');
    if (upgrade === undefined || upgrade.toLowerCase() !== 'websocket') return this.#clientError(req, socket, 400, 'Invalid Upgrade header');
    if (key === undefined || !KEY_RE.test(key)) return this.#clientError(req, socket, 400, 'Missing or invalid Sec-WebSocket-Key header');
    if (version !== 13 && version !== 8) return this.#clientError(req, socket, 400, 'Missing or invalid Sec-WebSocket-Version header', { 'Sec-WebSocket-Version': '13, 8' });
    if (version === 8) return this.#clientError(req, socket, 400, 'sockudo-ws/ws: Sec-WebSocket-Version 8 is not supported', { 'Sec-WebSocket-Version': '13' });
    if (!this.shouldHandle(req)) return abortHandshake(socket, 400);
    let protocols = new Set<string>();
    const offered = req.headers['sec-websocket-protocol'];
    if (offered !== undefined) {
      const list = offered.split(',').map((p) => p.trim());
      if (list.some((p) => !TOKEN_RE.test(p)) || new Set(list).size !== list.length) {
        return this.#clientError(req, socket, 400, 'Invalid Sec-WebSocket-Protocol header');
      }
      protocols = new Set(list);
    }
    const complete = () => this.#complete(key, protocols, req, socket, head, cb);
    const verify = this.options.verifyClient;
    if (verify) {
      const info: VerifyClientInfo = {
        origin: req.headers.origin,
        secure: Boolean((req.socket as { authorized?: boolean; encrypted?: boolean }).authorized || (req.socket as { encrypted?: boolean }).encrypted),
        req,
      };
      if (verify.length === 2) {
        (verify as (i: VerifyClientInfo, c: (r: boolean, code?: number, message?: string, headers?: Record<string, string>) => void) => void)(info, (verified, code, message, headers) => {
          if (!verified) return abortHandshake(socket, code || 401, message, headers);
          complete();
        });
        return;
      }
      if (!(verify as (i: VerifyClientInfo) => boolean)(info)) return abortHandshake(socket, 401);
    }
    complete();
  }

  #complete(key: string, protocols: Set<string>, req: IncomingMessage, socket: Duplex, head: Buffer, cb: (ws: WebSocket, req: IncomingMessage) => void): void {
    if (upgraded.has(socket)) {
      throw new Error('server.handleUpgrade() was called more than once with the same socket, possibly due to a misconfiguration');
    }
    if (!socket.readable || !socket.writable) {
      socket.destroy();
      return;
    }
    if (this.#state !== STATE_RUNNING) return abortHandshake(socket, 503);
    upgraded.add(socket);
    let protocol: string | false = false;
    if (protocols.size > 0) protocol = this.options.handleProtocols ? this.options.handleProtocols(protocols, req) : protocols.values().next().value!;
    // ws's 'headers' event: the response lines, which a listener may add to.
    const lines = ['HTTP/1.1 101 Switching Protocols', 'Upgrade: websocket', 'Connection: Upgrade',
      `Sec-WebSocket-Accept: ${createHash('sha1').update(key + GUID).digest('base64')}`];
    if (protocol) lines.push(`Sec-WebSocket-Protocol: ${protocol}`);
    const standard = lines.length;
    this.emit('headers', lines, req);
    const headers: Record<string, string[]> = {};
    for (const line of lines.slice(standard)) {
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const name = line.slice(0, colon).trim();
      (headers[name] ??= []).push(line.slice(colon + 1).trim());
    }
    this.#pending.set(req, { protocol, headers });
    socket.removeListener('error', socketOnError);
    this.#native.handleUpgrade(req, socket, head, (native) => {
      const ws = serverSocket(native);
      this.#live++;
      if (this.clients) this.clients.add(ws);
      ws.on('close', () => {
        this.clients?.delete(ws);
        if (--this.#live === 0 && this.#closeWhenIdle) {
          this.#closeWhenIdle = false;
          process.nextTick(() => this.#emitClose());
        }
      });
      cb(ws, req);
    });
  }

  // The native core's upgrade hook: what this server decided for the request, in the core's terms.
  #decision(request: UpgradeRequest): UpgradeDecision<unknown> {
    const pending = request.incoming === undefined ? undefined : this.#pending.get(request.incoming);
    if (pending === undefined) return { accept: false, status: 500 };
    return { accept: true, protocol: pending.protocol, headers: pending.headers };
  }

  #clientError(req: IncomingMessage, socket: Duplex, code: number, message: string, headers?: Record<string, string>): void {
    if (this.listenerCount('wsClientError') > 0) {
      const err = new Error(message);
      Error.captureStackTrace(err, this.#clientError);
      this.emit('wsClientError', err, socket, req);
    } else {
      abortHandshake(socket, code, message, headers);
    }
  }
}

/** Sockets some server already took (ws throws when one is handed over twice). */
const upgraded = new WeakSet<Duplex>();

function socketOnError(this: Duplex): void {
  this.destroy();
}

function abortHandshake(socket: Duplex, code: number, message?: string, headers?: Record<string, string>): void {
  const body = message || STATUS_CODES[code] || '';
  const all = { Connection: 'close', 'Content-Type': 'text/html', 'Content-Length': String(Buffer.byteLength(body)), ...headers };
  socket.once('finish', () => socket.destroy());
  socket.end(`HTTP/1.1 ${code} ${STATUS_CODES[code]}\r\n${Object.keys(all).map((h) => `${h}: ${all[h as keyof typeof all]}`).join('\r\n')}\r\n\r\n${body}`);
}
