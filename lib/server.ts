/**
 * The WebSocket server: a native listener (`port`), or upgrades taken over from an existing Node
 * http/https server (`server`, `noServer` + `handleUpgrade()`), all decided by the same upgrade
 * pipeline: path check → upgrade hook → subprotocol → accept (→ `connection`) or reject.
 */
import { lookup } from 'node:dns';
import { closeSync } from 'node:fs';
import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { isIP, Socket, type AddressInfo } from 'node:net';
import { Duplex } from 'node:stream';

import type { PubSubAdapter } from './adapters/adapter.js';
import { adoptableFd, rawRequestHead, refuseOnSocket, releaseToNative, takeBuffered } from './adopt.js';
import { DuplexLink } from './duplex-link.js';
import { InvalidArgumentTypeError, InvalidArgumentValueError, InvalidStateError, TlsClientError, UpgradeError, type SystemError } from './errors.js';
import { native, type NativeServer, type NativeSocket } from './native.js';
import { flattenHeaders, serverConfig, type ServerConfig, type ServerOptions } from './options.js';
import { serverTls, type TlsServerOptions } from './tls.js';
import { checkTopic, messagePayload } from './payload.js';
import { UpgradeRequest, type AcceptDecision } from './upgrade-request.js';
import { internals, WebSocket, type SendData, type SendOptions, type UpgradeSink } from './websocket.js';

/** Events of a WebSocketServer. */
export interface WebSocketServerEvents<Data> {
  /** The native listener (or the attached http server) is listening. */
  listening: [];
  /** A connection opened. Listeners attached here see every message: reading starts after this event. */
  connection: [socket: WebSocket<Data>, request: UpgradeRequest];
  /** listen() or the host name's lookup failed, the attached server failed, or the upgrade hook threw or answered nonsense. */
  error: [error: WebSocketServerError];
  /** close() finished: nothing listens and every connection is closed. */
  close: [];
  /**
   * A native `wss://` listener's TLS handshake with a client failed (garbage instead of TLS, a
   * missing or refused client certificate, an alert); that connection is closed. Node's https
   * server has the same event. Not emitted for connections that simply time out.
   */
  tlsClientError: [error: TlsClientError];
  /** A connection subscribed to or left `topic` (also when it closed); counts are this thread's subscribers before and after. */
  subscription: [topic: string, newCount: number, oldCount: number, socket: WebSocket<Data>];
}

/**
 * What a server's `error` event carries. Narrow it with `instanceof`, or with `'code' in error`
 * for a `switch` over the codes of the first three:
 * - a {@link SystemError}: `listen()` failed (`EADDRINUSE`, `EACCES`, ...) or `host` did not
 *   resolve (`ENOTFOUND`, `EAI_AGAIN`, ...), or the attached http server's own error;
 * - an {@link InvalidArgumentTypeError} / {@link InvalidArgumentValueError}: the upgrade hook's
 *   decision (or `handleProtocols()`'s answer) was malformed, so the request got 500;
 * - whatever the upgrade hook threw or rejected with (a non-Error value wrapped in an Error), as
 *   it was thrown: its `code`, if any, is the application's.
 */
export type WebSocketServerError = SystemError | InvalidArgumentTypeError | InvalidArgumentValueError | Error;

/** A handleUpgrade() call in flight; passed to the native side as the adoption tag. */
interface PendingUpgrade {
  resolve(ws: WebSocket<unknown>): void;
  reject(error: UpgradeError): void;
  /** Node's request (handleUpgrade); undefined for an http2 stream (handleStream). */
  incoming: IncomingMessage | undefined;
  secure: boolean;
  remoteAddress: string | undefined;
  remotePort: number | undefined;
  link: DuplexLink | null;
  upgraded: boolean;
  /** handleUpgrade()'s callback (ws 8's form): called instead of emitting 'connection'. */
  callback: UpgradeCallback<unknown> | undefined;
}

/** Options of `server.publish()`: those of `send()`, plus a connection that must not get the message. */
export interface PublishOptions extends SendOptions {
  /**
   * A connection of this thread left out of this publish (e.g. the sender of a Pusher-style
   * `socket_id` exclusion). Skipped natively: the others still get the bytes framed once. A
   * string is a connection key resolved by the server option `resolveExclude` — on this node and,
   * with an adapter, on every node the message reaches.
   */
  exclude?: WebSocket<unknown> | string;
}

/** `handleUpgrade()`'s optional callback, as in ws 8: the open WebSocket and Node's request. */
export type UpgradeCallback<Data> = (ws: WebSocket<Data>, request: IncomingMessage) => void;

const EMPTY = Buffer.alloc(0);

function closeFd(fd: number): void {
  try {
    closeSync(fd);
  } catch { /* already gone */ }
}

/**
 * A WebSocket server. Exactly one of `port` (the native core listens: the fast path), `server`
 * (handle the `upgrade` events of an http/https server) or `noServer: true` (call
 * `handleUpgrade()` yourself). See {@link ServerOptions} for limits and their defaults.
 *
 * ```ts
 * const wss = new WebSocketServer({ port: 8080, upgrade: (req) => ({ accept: true, data: { user: req.query.get('u') } }) });
 * wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
 * ```
 */
export class WebSocketServer<Data = unknown> extends EventEmitter<WebSocketServerEvents<Data>> {
  readonly #config: ServerConfig;
  readonly #native: NativeServer;
  readonly #clients = new Set<WebSocket<Data>>();
  readonly #onClosed: (ws: WebSocket<unknown>) => void;
  readonly #onSubscription = (ws: WebSocket<unknown>, topic: string, newCount: number, oldCount: number): void => {
    this.#config.adapter?.subscriptionChanged(topic, newCount, oldCount);
    this.emit('subscription', topic, newCount, oldCount, ws as WebSocket<Data>);
  };
  readonly #onPublish: ((topic: string, payload: string | Uint8Array, binary: boolean, compress: boolean, exclude?: string) => void) | null;

  /** A connection key (publish's `exclude` as a string) → this node's native socket, through the resolveExclude option. */
  #resolveExclude(key: string): NativeSocket | null {
    const ws = this.#config.resolveExclude?.(key);
    return ws instanceof WebSocket ? internals.nativeSocket(ws) : null;
  }
  #detach: (() => void) | null = null;
  #detachHttp: (() => void) | null = null;
  /** Connections handed to the httpHandler's http.Server (closed by close()). */
  readonly #httpSockets = new Set<Socket>();
  #closing: Promise<void> | null = null;
  #closed = false;
  #finishClose: (() => void) | null = null;

  constructor(options: ServerOptions<Data>) {
    super();
    const config = serverConfig(options);
    this.#config = config;
    const adapter = config.adapter;
    this.#onPublish = adapter === undefined ? null : (topic, payload, binary, compress, exclude) => adapter.publish(topic, payload, binary, compress, exclude);
    adapter?.attach({
      deliver: (topic, payload, binary, compress, exclude) => {
        native.publish(topic, payload, binary, compress, exclude === undefined ? null : this.#resolveExclude(exclude));
      },
      localSubscribers: (topic) => native.numSubscribers(topic),
      localTopics: () => new Set([...this.#clients].flatMap((ws) => ws.topics)),
    });
    const sink: UpgradeSink = {
      onUpgrade: (socket, method, url, headers, remoteAddress, remotePort, protocols, tag, secure, httpVersion, authority) =>
        this.#onUpgrade(socket, method, url, headers, remoteAddress, remotePort, protocols, tag as PendingUpgrade | undefined, secure, httpVersion, authority),
      onTlsError: (code, message, remoteAddress, remotePort) => {
        this.emit('tlsClientError', new TlsClientError(code, message, remoteAddress, remotePort));
      },
      onHttpRequest: (fd, bytes) => this.#onHttpRequest(fd, bytes),
      onUpgradeFailed: (tag, status) => {
        const ctx = tag as PendingUpgrade;
        ctx.reject(new UpgradeError(status === 408 ? 'ERR_SOCKUDO_WS_HANDSHAKE_TIMEOUT' : 'ERR_SOCKUDO_WS_INVALID_UPGRADE',
          status === 408 ? 'the upgrade was not completed within handshakeTimeout; answered 408'
            : `not a valid WebSocket upgrade request (RFC 6455 §4.2.1); answered ${status} by the server core`, status));
      },
    };
    this.#native = new native.NativeServer({ ...config.connection, ...config.http2, ...config.http3, ...(config.tls === undefined ? {} : { tls: config.tls }),
      httpHandoff: config.httpHandler !== undefined, transport: config.transport }, sink);
    const http = config.httpHandler;
    if (http !== undefined) {
      // A keep-alive connection Node serves may later ask for an upgrade: it comes back to us.
      const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
        this.handleUpgrade(request, socket, head).catch(() => { /* answered on the socket */ });
      };
      http.on('upgrade', onUpgrade);
      this.#detachHttp = () => {
        http.removeListener('upgrade', onUpgrade);
        for (const socket of this.#httpSockets) socket.destroy();
        this.#httpSockets.clear();
      };
    }
    this.#onClosed = (ws) => {
      this.#clients.delete(ws as WebSocket<Data>);
      // After the socket's own 'close' event (which is emitted right after this returns).
      if (this.#clients.size === 0 && this.#finishClose !== null) process.nextTick(() => this.#finishClose?.());
    };
    if (config.mode === 'port') {
      const host = config.host;
      if (host === '' || isIP(host) !== 0) this.#listen(host);
      else {
        // The native listener binds numeric addresses only. Like net.Server.listen(port, host)
        // (Node's lookupAndListen): dns.lookup() the name, bind its first address; a lookup
        // failure is an 'error' event carrying the resolver's error (ENOTFOUND, EAI_AGAIN, ...).
        lookup(host, (error, address) => {
          if (this.#closing !== null) return;
          if (error !== null) this.emit('error', error);
          else this.#listen(address);
        });
      }
    } else if (config.mode === 'server') {
      const server = config.server!;
      const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
        this.handleUpgrade(request, socket, head).catch(() => { /* answered; hook errors are reported as 'error' */ });
      };
      const onListening = () => this.emit('listening');
      const onError = (error: Error) => this.emit('error', error);
      server.on('upgrade', onUpgrade);
      server.on('listening', onListening);
      server.on('error', onError);
      this.#detach = () => {
        server.removeListener('upgrade', onUpgrade);
        server.removeListener('listening', onListening);
        server.removeListener('error', onError);
      };
    }
  }

  /**
   * A plain HTTP request arrived on a native connection (`httpHandler`): Node's http server takes
   * the connection over from here, starting with the bytes the native core already read.
   */
  #onHttpRequest(fd: number, bytes: Buffer): void {
    const http = this.#config.httpHandler;
    let socket: Socket;
    try {
      socket = new Socket({ fd, readable: true, writable: true });
    } catch (error) {
      closeFd(fd);
      this.#report(error);
      return;
    }
    if (http === undefined || this.#closing !== null) {
      socket.destroy();
      return;
    }
    this.#httpSockets.add(socket);
    socket.once('close', () => this.#httpSockets.delete(socket));
    socket.unshift(bytes);
    http.emit('connection', socket);
  }

  /** Binds the native listener to a numeric address ('' = every interface); 'listening' or 'error' follows on a later tick. */
  #listen(address: string): void {
    const config = this.#config;
    try {
      this.#native.listen(address, config.port, config.backlog, config.reusePort, config.ipv6Only);
      process.nextTick(() => {
        if (this.#closing === null) this.emit('listening');
      });
    } catch (error) {
      process.nextTick(() => this.emit('error', error as Error));
    }
  }

  /**
   * A TLS server (`tls` option): connections accepted from now on use these certificates (the
   * same options as `tls`, SNI contexts included); open connections keep theirs. Rotates
   * certificates without a restart. Throws a {@link TlsContextError} for unusable ones (the
   * current certificates then stay in use).
   */
  setSecureContext(options: TlsServerOptions): void {
    if (this.#config.tls === undefined) throw new InvalidStateError('setSecureContext() needs a server created with the tls option');
    const tls = serverTls(options, 'options', this.#config.http2.http2, this.#config.http3.http3);
    this.#native.setSecureContext(tls);
    this.#config.tls = tls;
  }

  /** The open connections (added before `connection` fires, removed when they close). */
  /**
   * The I/O transport of this server's connections: `name` is `'io_uring'` or `'epoll'`;
   * `reason` says why (e.g. `"requested"`, or why io_uring was unavailable and the server fell back).
   */
  get transport(): { readonly name: 'io_uring' | 'epoll'; readonly reason: string } {
    return this.#native.transport();
  }

  get clients(): ReadonlySet<WebSocket<Data>> {
    return this.#clients;
  }

  /**
   * Sends a message to every connection subscribed to `topic` on this thread (each worker has its
   * own topics). The message is framed once — and compressed once for connections in shared
   * compression mode — and queued natively for each subscriber; a subscriber over its
   * `maxBackpressure` misses it (or is closed, with `closeOnBackpressureLimit`) without delaying
   * the others. Returns how many connections it was queued for.
   */
  publish(topic: string, data: SendData, options?: PublishOptions): number {
    checkTopic(topic);
    let exclude: NativeSocket | null = null;
    let excludeKey: string | undefined;
    let sendOptions: SendOptions | undefined = options;
    if (options !== undefined && options !== null && typeof options === 'object' && 'exclude' in options) {
      const { exclude: excluded, ...rest } = options;
      if (typeof excluded === 'string') {
        if (this.#config.resolveExclude === undefined) throw new InvalidArgumentValueError('options.exclude', 'is a connection key, which needs the server option resolveExclude', excluded);
        excludeKey = excluded;
        exclude = this.#resolveExclude(excluded);
      } else if (excluded !== undefined) {
        if (!(excluded instanceof WebSocket)) throw new InvalidArgumentTypeError('options.exclude', 'a WebSocket or a connection key (string)', excluded);
        exclude = internals.nativeSocket(excluded);
      }
      sendOptions = rest;
    }
    const { payload, binary } = messagePayload(data, sendOptions);
    const compress = sendOptions === undefined || sendOptions.compress !== false;
    const queued = native.publish(topic, payload, binary, compress, exclude)[0];
    this.#onPublish?.(topic, payload, binary, compress, excludeKey);
    return queued;
  }

  /** How many connections on this thread are subscribed to `topic`. */
  numSubscribers(topic: string): number {
    return native.numSubscribers(checkTopic(topic));
  }

  /**
   * Subscribers of `topic` on every live node of the cluster (with an `adapter`; without one, this
   * thread's). Rejects with an AdapterError when the other nodes cannot be asked.
   */
  clusterSubscribers(topic: string): Promise<number> {
    checkTopic(topic);
    const adapter = this.#config.adapter;
    return adapter === undefined ? Promise.resolve(native.numSubscribers(topic)) : adapter.clusterSubscribers(topic);
  }

  /** The pub/sub adapter given as the `adapter` option, if any. */
  get adapter(): PubSubAdapter | undefined {
    return this.#config.adapter;
  }

  /** The bound address: the native listener's, or the attached server's; null in noServer mode or when not listening. */
  address(): AddressInfo | string | null {
    if (this.#config.mode === 'server') return this.#config.server!.address();
    if (this.#config.mode === 'noServer') return null;
    return this.#native.address();
  }

  /**
   * Takes over an upgrade request from a Node http/https server's `upgrade` event. A plain TCP
   * socket is adopted by the native transport (its file descriptor, plus what Node had buffered
   * and `head`), so the connection runs at native speed; a TLS socket or any other Duplex is fed
   * through the same engine from JS. The request then goes through the same pipeline as native
   * connections (`path`, `upgrade` hook, `handleProtocols`) and emits `connection`.
   *
   * Resolves with the open WebSocket (reading starts on the next loop turn: attach listeners
   * right after `await`). Rejects with an {@link UpgradeError} when the request was answered
   * with an HTTP error instead, or the connection went away first.
   *
   * With `callback` (ws 8's form), `callback(ws, request)` is called instead of emitting
   * `connection` (as in ws, whose docs have it do `wss.emit('connection', ws, req)`); reading
   * starts after it returns. On failure it is not called (the peer got the HTTP answer), and the
   * returned promise's rejection is marked handled, so ignoring the promise is safe.
   */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer = EMPTY, callback?: UpgradeCallback<Data>): Promise<WebSocket<Data>> {
    if (request === null || typeof request !== 'object' || !Array.isArray(request.rawHeaders) || typeof request.httpVersion !== 'string') {
      return Promise.reject(new InvalidArgumentTypeError('request', 'an http.IncomingMessage', request));
    }
    if (!(socket instanceof Duplex)) return Promise.reject(new InvalidArgumentTypeError('socket', 'a net.Socket, tls.TLSSocket or another Duplex', socket));
    if (!(head instanceof Uint8Array)) return Promise.reject(new InvalidArgumentTypeError('head', 'a Buffer', head));
    if (callback !== undefined && typeof callback !== 'function') return Promise.reject(new InvalidArgumentTypeError('callback', 'of type function', callback));
    const upgrading = this.#upgrade(request, socket, head, callback as UpgradeCallback<unknown> | undefined);
    if (callback !== undefined) upgrading.catch(() => { /* ws's form: failures are answered on the socket, not reported to the caller */ });
    return upgrading;
  }

  /**
   * Takes over a stream of Node's own HTTP/2 server (`http2.createSecureServer({ settings: {
   * enableConnectProtocol: true } })`, its `'stream'` event): an extended CONNECT with
   * `:protocol websocket` (RFC 8441) is checked by the native core, goes through the same
   * pipeline as every other upgrade (`path`, `upgrade` hook, `handleProtocols`; the request's
   * `httpVersion` is `'2'`), is answered on the stream (200, or the refusal) and emits
   * `connection` — or calls `callback(ws)` instead. The WebSocket's bytes then cross from JS into
   * the engine like any Duplex (Node's http2 keeps the connection and its TLS). Streams that are
   * not such a request are answered (400/404/501) and the promise rejects with an UpgradeError.
   */
  handleStream(stream: Duplex, headers: Record<string, unknown>, callback?: (ws: WebSocket<Data>) => void): Promise<WebSocket<Data>> {
    const s = stream as Duplex & { respond?: unknown; session?: { encrypted?: boolean; socket?: { remoteAddress?: string; remotePort?: number } } };
    if (!(stream instanceof Duplex) || typeof s.respond !== 'function') {
      return Promise.reject(new InvalidArgumentTypeError('stream', 'an http2 ServerHttp2Stream', stream));
    }
    if (headers === null || typeof headers !== 'object') return Promise.reject(new InvalidArgumentTypeError('headers', 'of type object', headers));
    if (callback !== undefined && typeof callback !== 'function') return Promise.reject(new InvalidArgumentTypeError('callback', 'of type function', callback));
    // The request block: pseudo-header fields first (RFC 9113 §8.3), then the others; a field
    // Node gave as an array (repeated) is passed once per value.
    const pseudo: string[] = [];
    const regular: string[] = [];
    for (const [name, value] of Object.entries(headers)) {
      const list = Array.isArray(value) ? value : [value];
      for (const v of list) {
        if (v === undefined) continue;
        (name.startsWith(':') ? pseudo : regular).push(name, String(v));
      }
    }
    const upgrading = new Promise<WebSocket<Data>>((resolve, reject) => {
      if (this.#closing !== null || stream.destroyed) {
        const closing = this.#closing !== null;
        if (closing && !stream.destroyed) new DuplexLink(stream).respond([':status', '503'], EMPTY, true);
        reject(new UpgradeError(closing ? 'ERR_SOCKUDO_WS_UPGRADE_REJECTED' : 'ERR_SOCKUDO_WS_UPGRADE_ABORTED',
          closing ? 'the server is closing (503)' : 'the stream is already destroyed', closing ? 503 : 0));
        return;
      }
      const link = new DuplexLink(stream);
      const ctx: PendingUpgrade = {
        resolve: resolve as (ws: WebSocket<unknown>) => void,
        reject,
        incoming: undefined,
        secure: s.session?.encrypted === true,
        remoteAddress: s.session?.socket?.remoteAddress,
        remotePort: s.session?.socket?.remotePort,
        link,
        upgraded: false,
        callback: callback === undefined ? undefined : (ws) => callback(ws as WebSocket<Data>),
      };
      const adopted = this.#native.adoptStream([...pseudo, ...regular], ctx);
      if (Array.isArray(adopted)) {
        const [fields, body] = adopted;
        link.respond(fields, Buffer.from(body), true);
        const status = Number(fields[1]);
        reject(new UpgradeError('ERR_SOCKUDO_WS_INVALID_UPGRADE', `not a valid WebSocket extended CONNECT (RFC 8441 §4–5): ${body}; answered ${status}`, status));
        return;
      }
      link.attach(adopted, []);
    });
    if (callback !== undefined) upgrading.catch(() => { /* answered on the stream */ });
    return upgrading;
  }

  #upgrade(request: IncomingMessage, socket: Duplex, head: Buffer, callback: UpgradeCallback<unknown> | undefined): Promise<WebSocket<Data>> {
    return new Promise<WebSocket<Data>>((resolve, reject) => {
      if (this.#closing !== null || socket.destroyed) {
        if (!socket.destroyed) refuseOnSocket(socket, 503);
        const closing = this.#closing !== null;
        reject(new UpgradeError(closing ? 'ERR_SOCKUDO_WS_UPGRADE_REJECTED' : 'ERR_SOCKUDO_WS_UPGRADE_ABORTED',
          closing ? 'the server is closing (503)' : 'the socket is already destroyed', closing ? 503 : 0));
        return;
      }
      const s = socket as Duplex & { remoteAddress?: string; remotePort?: number; encrypted?: boolean };
      const ctx: PendingUpgrade = {
        resolve: resolve as (ws: WebSocket<unknown>) => void,
        reject,
        incoming: request,
        secure: s.encrypted === true,
        remoteAddress: s.remoteAddress,
        remotePort: s.remotePort,
        link: null,
        upgraded: false,
        callback,
      };
      const buffered = takeBuffered(socket);
      const initial = Buffer.concat([rawRequestHead(request), ...buffered, head]);
      const fd = adoptableFd(socket);
      if (fd !== undefined) {
        try {
          this.#native.adopt(fd, initial, ctx);
        } catch (error) {
          socket.destroy();
          reject(new UpgradeError('ERR_SOCKUDO_WS_UPGRADE_ABORTED', `the socket could not be adopted: ${(error as Error).message}`, 0, { cause: error }));
          return;
        }
        releaseToNative(socket);
      } else {
        const link = new DuplexLink(socket);
        ctx.link = link;
        // The pending record is the native target until accept (write/end reach the Duplex
        // through ctx.link) and comes back as the tag of upgrade() / upgradeFailed().
        const ns = this.#native.adoptDuplex(EMPTY, ctx);
        link.attach(ns, [initial]);
      }
      // A request the native core answers itself (400/426/431/505, or 408 after
      // handshakeTimeout) arrives as upgradeFailed(tag, status) and rejects this promise.
    });
  }

  /**
   * Stops accepting, closes every open connection with 1001 (after the messages already sent to
   * it), waits for the closing handshakes (each bounded by `closeTimeout`), then emits `close`
   * and resolves. An attached http server is left running. Calling it again returns the same promise.
   *
   * `callback` (ws 8's form) is called when the server has closed (right after `close`), or, when
   * it had already closed, on a later tick with an {@link InvalidStateError} ("the server is not
   * running"), as ws does.
   */
  close(callback?: (error?: InvalidStateError) => void): Promise<void> {
    if (callback !== undefined && typeof callback !== 'function') return Promise.reject(new InvalidArgumentTypeError('callback', 'of type function', callback));
    if (this.#closing !== null) {
      if (callback !== undefined) {
        if (this.#closed) process.nextTick(callback, new InvalidStateError('the server is not running (already closed)'));
        else this.once('close', () => callback());
      }
      return this.#closing;
    }
    if (callback !== undefined) this.once('close', () => callback());
    this.#closing = new Promise<void>((resolve) => {
      this.#finishClose = () => {
        this.#finishClose = null;
        this.#closed = true;
        this.emit('close');
        resolve();
      };
    });
    this.#native.close();
    this.#config.adapter?.close().catch(() => { /* closing: nothing to report to */ });
    this.#detach?.();
    this.#detach = null;
    this.#detachHttp?.();
    this.#detachHttp = null;
    this.#native.destroyPending();
    for (const ws of [...this.#clients]) ws.close(1001);
    if (this.#clients.size === 0) process.nextTick(() => this.#finishClose?.());
    return this.#closing;
  }

  // --- the upgrade pipeline ----------------------------------------------------------------------

  #onUpgrade(socket: NativeSocket, method: string, url: string, rawHeaders: string[], remoteAddress: string | undefined, remotePort: number,
    protocols: string[], tag: PendingUpgrade | undefined, secure: boolean, httpVersion: number, authority: string): void {
    const ctx = tag;
    if (ctx !== undefined) ctx.upgraded = true;
    const request = new UpgradeRequest(method, url, rawHeaders, protocols, remoteAddress ?? ctx?.remoteAddress,
      remoteAddress !== undefined ? remotePort : ctx?.remotePort, ctx?.secure ?? secure, ctx?.incoming,
      httpVersion === 2 ? '2' : httpVersion === 3 ? '3' : '1.1', authority);
    if (this.#closing !== null) return this.#refuse(socket, ctx, 503, 'the server is closing');
    const path = this.#config.path;
    if (path !== undefined && request.path !== path) return this.#refuse(socket, ctx, 400, `path ${request.path} is not served`);
    const hook = this.#config.upgrade;
    if (hook === undefined) return this.#accept(socket, request, ctx, undefined);
    let decision: unknown;
    try {
      decision = hook(request);
    } catch (error) {
      return this.#hookFailed(socket, ctx, error);
    }
    if (decision !== null && typeof (decision as PromiseLike<unknown> | undefined)?.then === 'function') {
      Promise.resolve(decision).then(
        (d) => this.#decide(socket, request, ctx, d),
        (error: unknown) => this.#hookFailed(socket, ctx, error),
      );
      return;
    }
    this.#decide(socket, request, ctx, decision);
  }

  #decide(socket: NativeSocket, request: UpgradeRequest, ctx: PendingUpgrade | undefined, decision: unknown): void {
    if (this.#closing !== null) return this.#refuse(socket, ctx, 503, 'the server is closing');
    const d = decision as { accept?: unknown; status?: unknown; headers?: unknown; body?: unknown } | null;
    if (d === null || typeof d !== 'object' || typeof d.accept !== 'boolean') {
      return this.#hookFailed(socket, ctx, new InvalidArgumentValueError('decision', 'must be { accept: true, ... } or { accept: false, status, ... }', decision));
    }
    if (d.accept) return this.#accept(socket, request, ctx, d as AcceptDecision<unknown>);
    const status = d.status;
    if (typeof status !== 'number' || !Number.isInteger(status) || status < 200 || status > 599) {
      return this.#hookFailed(socket, ctx, new InvalidArgumentValueError('decision.status', 'must be an integer from 200 to 599', status));
    }
    const body = d.body ?? '';
    if (typeof body !== 'string' && !(body instanceof Uint8Array)) {
      return this.#hookFailed(socket, ctx, new InvalidArgumentTypeError('decision.body', 'a string or a Buffer', body));
    }
    let headers: string[];
    try {
      headers = flattenHeaders(d.headers, 'decision.headers');
    } catch (error) {
      return this.#hookFailed(socket, ctx, error);
    }
    const failure = socket.reject(status, headers, body);
    ctx?.reject(new UpgradeError('ERR_SOCKUDO_WS_UPGRADE_REJECTED', `the upgrade hook rejected the request (${status})`, failure === undefined ? status : 500));
    if (failure !== undefined) this.#report(new InvalidArgumentValueError('decision', `could not be sent (${failure}); answered 500 instead`, decision));
  }

  #accept(socket: NativeSocket, request: UpgradeRequest, ctx: PendingUpgrade | undefined, decision: AcceptDecision<unknown> | undefined): void {
    let protocol = '';
    let headers: string[];
    try {
      headers = flattenHeaders(decision?.headers, 'decision.headers');
      const chosen = decision?.protocol;
      if (chosen !== undefined) {
        if (chosen !== false && typeof chosen !== 'string') throw new InvalidArgumentTypeError('decision.protocol', 'a string or false', chosen);
        protocol = chosen === false ? '' : chosen;
      } else if (request.protocols.length > 0) {
        const handle = this.#config.handleProtocols;
        const picked: unknown = handle === undefined ? request.protocols[0] : handle(new Set(request.protocols), request);
        if (picked !== false && typeof picked !== 'string') throw new InvalidArgumentTypeError('handleProtocols()', 'to return a string or false', picked);
        protocol = picked === false ? '' : picked;
      }
    } catch (error) {
      return this.#hookFailed(socket, ctx, error);
    }
    const connection = this.#config.connection;
    const ws = internals.create<Data>({
      socket, protocol, remoteAddress: request.remoteAddress, remotePort: request.remotePort, url: undefined, data: decision?.data,
      link: ctx?.link ?? null, httpVersion: request.httpVersion,
      onClosed: this.#onClosed,
      onSubscription: this.#onSubscription,
      onPublish: this.#onPublish,
    });
    const failure = socket.accept(ws, protocol, headers);
    if (failure === 'WS_ERR_NOT_PENDING') {
      ctx?.reject(new UpgradeError('ERR_SOCKUDO_WS_UPGRADE_ABORTED', 'the connection ended before the upgrade was accepted (peer gone or handshake timeout)'));
      return;
    }
    if (failure !== undefined) {
      return this.#hookFailed(socket, ctx, new InvalidArgumentValueError('decision', `could not be sent (${failure})`, { protocol, headers }));
    }
    internals.accepted(ws, socket.extensions());
    this.#clients.add(ws);
    try {
      if (ctx?.callback !== undefined) ctx.callback(ws as WebSocket<unknown>, ctx.incoming as IncomingMessage);
      else this.emit('connection', ws, request);
    } finally {
      // Reading starts only now, so listeners attached in 'connection' see every message. A
      // handleUpgrade() caller gets the socket through a promise: start after its continuation.
      if (ctx === undefined) socket.start();
      else {
        ctx.resolve(ws as WebSocket<unknown>);
        setImmediate(() => internals.start(ws as WebSocket<unknown>));
      }
    }
  }

  #refuse(socket: NativeSocket, ctx: PendingUpgrade | undefined, status: number, message: string): void {
    socket.reject(status, [], '');
    ctx?.reject(new UpgradeError('ERR_SOCKUDO_WS_UPGRADE_REJECTED', `${message} (${status})`, status));
  }

  #hookFailed(socket: NativeSocket, ctx: PendingUpgrade | undefined, error: unknown): void {
    socket.reject(500, [], '');
    ctx?.reject(new UpgradeError('ERR_SOCKUDO_WS_UPGRADE_REJECTED', 'the upgrade hook failed (500)', 500, { cause: error }));
    this.#report(error);
  }

  /** Errors of the application's hooks: 'error' when someone listens, else a process warning (a request must never crash the server). */
  #report(error: unknown): void {
    const e = error instanceof Error ? error : new Error(String(error));
    if (this.listenerCount('error') > 0) this.emit('error', e);
    else process.emitWarning(e);
  }
}
