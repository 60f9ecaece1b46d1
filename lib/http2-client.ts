/**
 * WebSockets over one client HTTP/2 connection (RFC 8441) or HTTP/3 connection (RFC 9220):
 * `connectHttp2(url)` opens the connection (TLS with ALPN "h2" for https:/wss:, cleartext prior
 * knowledge for http:/ws:), `connectHttp3(url)` a QUIC connection (TLS 1.3, ALPN "h3"; https:/wss:
 * only); each resolves once the server's SETTINGS say it accepts extended CONNECT.
 * `session.websocket(path)` then opens one WebSocket per stream — many on one connection, each
 * with its own flow control.
 */
import { EventEmitter } from 'node:events';

import { abortError, nativeConnectError, parseUrl, resolve, watchOpening, type Target } from './client.js';
import type { HandshakeErrorCode } from './error-codes.js';
import { HandshakeError, InvalidArgumentTypeError, InvalidArgumentValueError, InvalidStateError } from './errors.js';
import { native, type NativeHttp2Session, type NativeSocket } from './native.js';
import { clientConfig, type ClientOptions } from './options.js';
import { clientTls } from './tls.js';
import { internals, type Http2SessionSink, type WebSocket } from './websocket.js';

/** Options of one WebSocket on a session: the offers and fields of its request, and its limits. */
export type Http2WebSocketOptions = Omit<ClientOptions, 'ca' | 'cert' | 'key' | 'pfx' | 'passphrase' | 'servername' | 'rejectUnauthorized' | 'ciphers' | 'minVersion' | 'maxVersion'>;

/**
 * A client HTTP/2 (or HTTP/3: `httpVersion`) connection that carries WebSockets. Emits `close`
 * when the connection has ended (after `close()`, a GOAWAY from the server once its last stream
 * ended, or a failure).
 */
export class Http2Session extends EventEmitter {
  /** The URL the session was opened with. */
  readonly url: string;
  /** '2' for an HTTP/2 connection (connectHttp2), '3' for HTTP/3 over QUIC (connectHttp3). */
  readonly httpVersion: '2' | '3';
  #native: NativeHttp2Session | null = null;
  #target: Target;
  #ip: string;
  #closed = false;
  #ready: ((ok: boolean) => void) | null = null;
  #failed: ((error: HandshakeError) => void) | null = null;
  #defaults: Record<string, unknown> = {};

  /** @internal */
  constructor(target: Target, ip: string, httpVersion: '2' | '3' = '2') {
    super();
    this.url = target.href.replace(/^ws/, 'http');
    this.httpVersion = httpVersion;
    this.#target = target;
    this.#ip = ip;
  }

  /** @internal */
  start(config: ReturnType<typeof clientConfig>, timeout: number): Promise<this> {
    // The session's connection options (limits, compression, ...) are each WebSocket's defaults.
    const { ca: _ca, cert: _cert, key: _key, pfx: _pfx, passphrase: _p, servername: _s, rejectUnauthorized: _r, ciphers: _c, minVersion: _min,
      maxVersion: _max, signal: _signal, http2: _http2, http3: _http3, ...defaults } = config.raw;
    this.#defaults = defaults;
    return new Promise<this>((resolvePromise, reject) => {
      const t = this.#target;
      const h3 = this.httpVersion === '3';
      const name = `HTTP/${this.httpVersion}`;
      // h2 first; offering http/1.1 too lets a server without HTTP/2 answer instead of failing the
      // handshake (then ERR_SOCKUDO_WS_HTTP2_NOT_NEGOTIATED, and connect({ http2 }) falls back).
      // QUIC offers "h3" only (RFC 9114 §3.1; set on the connection natively).
      const tls = t.secure ? clientTls(config.raw, 'options', h3 ? ['h3'] : ['h2', 'http/1.1']) : undefined;
      const sink: Http2SessionSink = {
        onH2Ready: (connectProtocol) => this.#ready?.(connectProtocol),
        onH2Failed: (code, message) => this.#failed?.(new HandshakeError(code as HandshakeErrorCode, `${name} connection to ${this.url} failed: ${message}`)),
        onH2Closed: () => this.#onClosed(),
      };
      this.#ready = (ok) => {
        this.#ready = null;
        this.#failed = null;
        if (ok) return resolvePromise(this);
        this.close();
        reject(new HandshakeError(h3 ? 'ERR_SOCKUDO_WS_HTTP3_NO_EXTENDED_CONNECT' : 'ERR_SOCKUDO_WS_HTTP2_NO_EXTENDED_CONNECT',
          `${name} connection to ${this.url}: the server does not accept WebSockets over ${name} (no SETTINGS_ENABLE_CONNECT_PROTOCOL, ${h3 ? 'RFC 9220' : 'RFC 8441'} §3)`));
      };
      this.#failed = (error) => {
        this.#ready = null;
        this.#failed = null;
        reject(error);
      };
      try {
        this.#native = new native.NativeHttp2Session({
          ...config.connection, transport: config.transport, handshakeTimeout: timeout, ip: this.#ip, port: t.port, host: t.hostname, secure: t.secure,
          ...(h3 ? { http3: true } : {}),
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
    if (this.#closed || this.#native === null) return Promise.reject(new InvalidStateError(`the HTTP/${this.httpVersion} session is closed`));
    const nativeSession = this.#native;
    const { signal } = config;
    if (signal?.aborted) return Promise.reject(abortError(signal));
    const url = `${this.#target.secure ? 'wss' : 'ws'}://${this.#target.hostname}:${this.#target.port}${path}`;
    return new Promise<WebSocket>((resolvePromise, reject) => {
      const ws = internals.create<unknown>({
        socket: null, protocol: '', remoteAddress: this.#ip, remotePort: this.#target.port, url, data: undefined, link: null,
        onClosed: null, onSubscription: null, httpVersion: this.httpVersion,
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
        return `WebSocket ${url} over HTTP/${this.httpVersion} failed: ${what}`;
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
    this.#failed?.(new HandshakeError('ECONNRESET', `HTTP/${this.httpVersion} connection to ${this.url} closed before it was ready`));
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
  return openSession(url, options, '2');
}

/** Resolves the host and opens the session on the first address that answers (connect failures try the next). */
async function openSession(url: string | URL, options: ClientOptions | undefined, version: '2' | '3'): Promise<Http2Session> {
  if (typeof url !== 'string' && !(url instanceof URL)) throw new InvalidArgumentTypeError('url', 'a string or a URL', url);
  const target = parseUrl(url);
  if (version === '3' && !target.secure) throw new InvalidArgumentValueError('url', 'must be https: or wss: (QUIC is always encrypted)', url);
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
      return await new Http2Session(target, ip, version).start(config, timeout);
    } catch (error) {
      lastError = error;
      if (!(error instanceof HandshakeError) || error.status !== 0 || error.code.startsWith('ERR_') || error.code === 'ETIMEDOUT') throw error;
    }
  }
  throw lastError;
}

/**
 * Opens an HTTP/3 connection for WebSockets (RFC 9220): QUIC (RFC 9000) on UDP to the URL's port,
 * TLS 1.3 with ALPN "h3", the server verified like connect()'s. `url` must be `https:` or `wss:`.
 * Options: the TLS and connection options of {@link connect} (`handshakeTimeout` bounds the QUIC
 * handshake and the server's SETTINGS). Rejects with a {@link HandshakeError}: `ECONNREFUSED` when
 * nothing listens on that UDP port, `ETIMEDOUT`, a certificate code,
 * `ERR_SOCKUDO_WS_HTTP3_NOT_NEGOTIATED` when the server refused ALPN "h3",
 * `ERR_SOCKUDO_WS_HTTP3_NO_EXTENDED_CONNECT` when it does not accept WebSockets over HTTP/3.
 *
 * ```ts
 * const session = await connectHttp3('https://example.com');
 * const chat = await session.websocket('/chat');   // each WebSocket is a QUIC stream
 * ```
 */
export async function connectHttp3(url: string | URL, options?: ClientOptions): Promise<Http2Session> {
  return openSession(url, options, '3');
}
