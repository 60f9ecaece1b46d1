/**
 * WebSockets over one client HTTP/2 connection (RFC 8441): `connectHttp2(url)` opens the
 * connection (TLS with ALPN "h2" for https:/wss:, cleartext prior knowledge for http:/ws:) and
 * resolves once the server's SETTINGS say it accepts extended CONNECT;
 * `session.websocket(path)` then opens one WebSocket per stream — many on one TCP + TLS
 * connection, each with its own flow control.
 */
import { EventEmitter } from 'node:events';

import { abortError, nativeConnectError, parseUrl, resolve, watchOpening, type Target } from './client.js';
import { HandshakeError, InvalidArgumentTypeError, InvalidStateError } from './errors.js';
import { native, type NativeHttp2Session, type NativeSocket } from './native.js';
import { clientConfig, type ClientOptions } from './options.js';
import { clientTls } from './tls.js';
import { internals, type Http2SessionSink, type WebSocket } from './websocket.js';

/** Options of one WebSocket on a session: the offers and fields of its request, and its limits. */
export type Http2WebSocketOptions = Omit<ClientOptions, 'ca' | 'cert' | 'key' | 'pfx' | 'passphrase' | 'servername' | 'rejectUnauthorized' | 'ciphers' | 'minVersion' | 'maxVersion'>;

/**
 * A client HTTP/2 connection that carries WebSockets. Emits `close` when the connection has
 * ended (after `close()`, a GOAWAY from the server once its last stream ended, or a failure).
 */
export class Http2Session extends EventEmitter {
  /** The URL the session was opened with. */
  readonly url: string;
  #native: NativeHttp2Session | null = null;
  #target: Target;
  #ip: string;
  #closed = false;
  #ready: ((ok: boolean) => void) | null = null;
  #failed: ((error: HandshakeError) => void) | null = null;
  #defaults: Record<string, unknown> = {};

  /** @internal */
  constructor(target: Target, ip: string) {
    super();
    this.url = target.href.replace(/^ws/, 'http');
    this.#target = target;
    this.#ip = ip;
  }

  /** @internal */
  start(config: ReturnType<typeof clientConfig>, timeout: number): Promise<this> {
    // The session's connection options (limits, compression, ...) are each WebSocket's defaults.
    const { ca: _ca, cert: _cert, key: _key, pfx: _pfx, passphrase: _p, servername: _s, rejectUnauthorized: _r, ciphers: _c, minVersion: _min,
      maxVersion: _max, signal: _signal, http2: _http2, ...defaults } = config.raw;
    this.#defaults = defaults;
    return new Promise<this>((resolvePromise, reject) => {
      const t = this.#target;
      // h2 first; offering http/1.1 too lets a server without HTTP/2 answer instead of failing the
      // handshake (then ERR_SOCKUDO_WS_HTTP2_NOT_NEGOTIATED, and connect({ http2 }) falls back).
      const tls = t.secure ? clientTls(config.raw, 'options', ['h2', 'http/1.1']) : undefined;
      const sink: Http2SessionSink = {
        onH2Ready: (connectProtocol) => this.#ready?.(connectProtocol),
        onH2Failed: (code, message) => this.#failed?.(new HandshakeError(code as never, `HTTP/2 connection to ${this.url} failed: ${message}`)),
        onH2Closed: () => this.#onClosed(),
      };
      this.#ready = (ok) => {
        this.#ready = null;
        this.#failed = null;
        if (ok) return resolvePromise(this);
        this.close();
        reject(new HandshakeError('ERR_SOCKUDO_WS_HTTP2_NO_EXTENDED_CONNECT' as never,
          `HTTP/2 connection to ${this.url}: the server does not accept WebSockets over HTTP/2 (no SETTINGS_ENABLE_CONNECT_PROTOCOL, RFC 8441 §3)`));
      };
      this.#failed = (error) => {
        this.#ready = null;
        this.#failed = null;
        reject(error);
      };
      try {
        this.#native = new native.NativeHttp2Session({
          ...config.connection, transport: config.transport, handshakeTimeout: timeout, ip: this.#ip, port: t.port, host: t.hostname, secure: t.secure,
          ...(tls === undefined ? {} : { tls: tls.context, servername: tls.servername ?? t.hostname }),
        }, sink);
      } catch (error) {
        reject(nativeConnectError(error, t));
      }
    });
  }

  /** Whether the connection has ended. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Opens a WebSocket on a new stream of this connection (`:path` = `path`, with the query).
   * Resolves once the server answered 2xx; rejects with a {@link HandshakeError} for any other
   * answer (`status`, `headers`, `body`), when the stream is reset, or after `handshakeTimeout`.
   */
  websocket(path = '/', options?: Http2WebSocketOptions): Promise<WebSocket> {
    if (typeof path !== 'string' || !path.startsWith('/')) return Promise.reject(new InvalidArgumentTypeError('path', 'a string starting with "/"', path));
    let config: ReturnType<typeof clientConfig>;
    try {
      config = clientConfig({ ...this.#defaults, ...(options as Record<string, unknown> | undefined) });
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.#closed || this.#native === null) return Promise.reject(new InvalidStateError('the HTTP/2 session is closed'));
    const nativeSession = this.#native;
    const { signal } = config;
    if (signal?.aborted) return Promise.reject(abortError(signal));
    const url = `${this.#target.secure ? 'wss' : 'ws'}://${this.#target.hostname}:${this.#target.port}${path}`;
    return new Promise<WebSocket>((resolvePromise, reject) => {
      const ws = internals.create<unknown>({
        socket: null, protocol: '', remoteAddress: this.#ip, remotePort: this.#target.port, url, data: undefined, link: null,
        onClosed: null, onSubscription: null, httpVersion: '2',
      });
      let socket: NativeSocket;
      try {
        socket = nativeSession.websocket({ ...config.connection, path, protocols: config.protocols, origin: config.origin, headers: config.headers }, ws);
      } catch (error) {
        reject(nativeConnectError(error, this.#target));
        return;
      }
      watchOpening(ws, socket, signal, resolvePromise, reject, (status, message) => {
        const what = status === 0 ? message : `the server answered ${status}${message && status >= 200 && status < 300 ? `, but ${message}` : ''}`;
        return `WebSocket ${url} over HTTP/2 failed: ${what}`;
      });
    });
  }

  /** Sends GOAWAY: no new WebSockets; the connection ends when its last one closes. Resolves on `close`. */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    const done = new Promise<void>((r) => this.once('close', () => r()));
    this.#native?.close();
    return done;
  }

  #onClosed(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#native = null;
    this.#failed?.(new HandshakeError('ECONNRESET', `HTTP/2 connection to ${this.url} closed before it was ready`));
    this.emit('close');
  }
}

/**
 * Opens an HTTP/2 connection for WebSockets (RFC 8441). `url`: `https:`/`wss:` (TLS, ALPN "h2",
 * verified like connect()) or `http:`/`ws:` (cleartext prior knowledge). Options: the TLS and
 * connection options of {@link connect} (`handshakeTimeout` bounds connecting, TLS and the
 * server's SETTINGS). Rejects with a {@link HandshakeError}: the connect or TLS failure,
 * `ERR_SOCKUDO_WS_HTTP2_NOT_NEGOTIATED` when the server did not agree to h2,
 * `ERR_SOCKUDO_WS_HTTP2_NO_EXTENDED_CONNECT` when it does not accept WebSockets over HTTP/2.
 *
 * ```ts
 * const session = await connectHttp2('https://example.com');
 * const chat = await session.websocket('/chat');
 * const feed = await session.websocket('/feed');  // same TCP + TLS connection
 * ```
 */
export async function connectHttp2(url: string | URL, options?: ClientOptions): Promise<Http2Session> {
  if (typeof url !== 'string' && !(url instanceof URL)) throw new InvalidArgumentTypeError('url', 'a string or a URL', url);
  const target = parseUrl(url);
  const config = clientConfig(options);
  const signal = config.signal;
  if (signal?.aborted) throw abortError(signal);
  const addresses = await resolve(target.hostname, signal);
  const started = Date.now();
  let lastError: unknown;
  for (const ip of addresses) {
    const budget = config.connection.handshakeTimeout;
    const timeout = budget > 0 ? Math.max(1, budget - (Date.now() - started)) : 0;
    try {
      return await new Http2Session(target, ip).start(config, timeout);
    } catch (error) {
      lastError = error;
      if (!(error instanceof HandshakeError) || error.status !== 0 || error.code.startsWith('ERR_') || error.code === 'ETIMEDOUT') throw error;
    }
  }
  throw lastError;
}
