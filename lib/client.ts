/**
 * The WebSocket client: `connect(url, options)` resolves the host name in JS (the native side
 * connects to numeric addresses only), tries each address in order until one answers, and
 * resolves with the open WebSocket. `wss://` runs TLS natively (lib/tls.ts: verification on by
 * default, against the roots Node trusts).
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';

import { AbortError, HandshakeError, InvalidArgumentTypeError, InvalidArgumentValueError, type SystemErrorCode } from './errors.js';
import { native, type NativeClientConfig, type NativeSocket } from './native.js';
import { clientConfig, type ClientConfig, type ClientOptions } from './options.js';
import { clientTls } from './tls.js';
import { parseHeaderLines } from './upgrade-request.js';
import { internals, type WebSocket } from './websocket.js';

export interface Target {
  href: string;
  hostname: string;
  port: number;
  path: string;
  authorization: string | undefined;
  secure: boolean;
}

/**
 * Opens a client connection. Resolves once the server accepted the upgrade; reading starts on the
 * next loop turn, so listeners attached right after `await connect(...)` see every message.
 *
 * Rejects with: {@link HandshakeError} when the server answers with anything but a valid 101
 * (`status`, `headers`), cannot be reached (`ECONNREFUSED`, `ENOTFOUND`, ...), fails TLS
 * (`CERT_HAS_EXPIRED`, `ERR_TLS_CERT_ALTNAME_INVALID`, `DEPTH_ZERO_SELF_SIGNED_CERT`, ...) or the
 * handshake takes longer than `handshakeTimeout` (`ETIMEDOUT`); {@link TlsContextError} for TLS
 * options OpenSSL cannot use;
 * {@link AbortError} when `signal` aborts first; a TypeError/RangeError for invalid arguments.
 *
 * ```ts
 * const ws = await connect('ws://127.0.0.1:8080/chat', { protocols: ['v1'], signal: AbortSignal.timeout(5000) });
 * for await (const message of ws) console.log(message);
 * ```
 */
export async function connect(url: string | URL, options?: ClientOptions): Promise<WebSocket> {
  const target = parseUrl(url);
  const config = clientConfig(options);
  if (config.http3) return connectOverHttp3(url, target, config);
  if (config.http2) return connectOverHttp2(url, target, config);
  const tls = target.secure ? clientTls(config.raw, 'options') : undefined;
  const signal = config.signal;
  if (signal?.aborted) throw abortError(signal);
  const started = Date.now();
  const addresses = await resolve(target.hostname, signal);
  const budget = config.connection.handshakeTimeout;
  let lastError: unknown;
  for (let i = 0; i < addresses.length; i++) {
    let timeout = budget;
    if (budget > 0) {
      timeout = budget - (Date.now() - started);
      if (timeout <= 0) break;
    }
    try {
      return await attempt(target, addresses[i]!, config, timeout, tls);
    } catch (error) {
      lastError = error;
      if (!(error instanceof HandshakeError) || !isConnectFailure(error) || i === addresses.length - 1) throw error;
    }
  }
  throw lastError ?? new HandshakeError('ETIMEDOUT', `connect to ${target.href} failed: opening handshake timed out`);
}

function attempt(target: Target, ip: string, config: ClientConfig, timeout: number, tls: ReturnType<typeof clientTls> | undefined): Promise<WebSocket> {
  const { connection, signal } = config;
  return new Promise<WebSocket>((resolve, reject) => {
    const ws = internals.create<unknown>({
      socket: null, protocol: '', remoteAddress: ip, remotePort: target.port, url: target.href, data: undefined, link: null,
      onClosed: null,
      onSubscription: null,
    });
    const headers = target.authorization === undefined ? config.headers : ['Authorization', target.authorization, ...config.headers];
    const nativeConfig: NativeClientConfig = {
      ...connection, transport: config.transport, handshakeTimeout: timeout, ip, port: target.port, host: target.hostname, secure: target.secure, path: target.path,
      protocols: config.protocols, origin: config.origin, headers,
    };
    if (tls !== undefined) {
      nativeConfig.tls = tls.context;
      nativeConfig.servername = tls.servername ?? target.hostname;
    }
    let socket: NativeSocket;
    try {
      socket = native.connect(nativeConfig, ws);
    } catch (error) {
      reject(nativeConnectError(error, target));
      return;
    }
    watchOpening(ws, socket, signal, resolve, reject, (status, message) => {
      // A 101 that fails validation says why (e.g. a permessage-deflate answer we did not allow).
      const what = status === 0 ? message : status === 101 && message ? `the server answered 101, but ${message}` : `the server answered ${status}`;
      return `connect to ${target.href} failed: ${what}`;
    });
  });
}

/**
 * @internal A client socket's opening: resolves with `ws` once the server accepted (reading starts
 * after the awaiting code has attached its listeners), rejects on `signal` or with a
 * HandshakeError whose message `describe` writes.
 */
export function watchOpening(ws: WebSocket, socket: NativeSocket, signal: AbortSignal | undefined, resolve: (ws: WebSocket) => void,
  reject: (error: Error) => void, describe: (status: number, message: string) => string): void {
  const onAbort = () => {
    internals.abort(ws);
    reject(abortError(signal!));
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  internals.connecting(ws, socket, {
    opened(protocol, extensions) {
      signal?.removeEventListener('abort', onAbort);
      internals.open(ws, protocol, extensions);
      resolve(ws);
      // After the awaiting code has run (and attached its listeners), deliver what came with the handshake.
      setImmediate(() => internals.start(ws));
    },
    failed(code, message, status, rawHead, body) {
      signal?.removeEventListener('abort', onAbort);
      reject(new HandshakeError(code, describe(status, message), status, parseHeaderLines(rawHead), { body }));
    },
  });
}

/**
 * `http2: true`: the WebSocket goes over an HTTP/2 connection of its own (RFC 8441) when the server
 * agrees to h2 and accepts extended CONNECT, else over HTTP/1.1 (a new connection);
 * `ws.httpVersion` says which. The HTTP/2 connection closes with the WebSocket.
 */
async function connectOverHttp2(url: string | URL, target: Target, config: ClientConfig): Promise<WebSocket> {
  const { connectHttp2 } = await import('./http2-client.js');
  const { http2: _h2, protocols: _p, headers: _h, origin: _o, ...sessionOptions } = config.raw;
  let session: import('./http2-client.js').Http2Session;
  try {
    session = await connectHttp2(url, sessionOptions as ClientOptions);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code !== 'ERR_SOCKUDO_WS_HTTP2_NOT_NEGOTIATED' && code !== 'ERR_SOCKUDO_WS_HTTP2_NO_EXTENDED_CONNECT') throw error;
    const { http2: _, ...rest } = config.raw;
    return connect(url, rest as ClientOptions);  // the server speaks HTTP/1.1 only
  }
  return websocketOnOwnSession(session, target, config);
}

/** How long connect({ http3 }) waits for QUIC before it falls back to TCP (a network may drop UDP). */
const HTTP3_ATTEMPT_MS = 3000;

/**
 * `http3: true`: the WebSocket goes over an HTTP/3 connection of its own (RFC 9220) when the
 * server answers over QUIC, agrees to h3 and accepts extended CONNECT; otherwise as without the
 * option (HTTP/2 with `http2`, else HTTP/1.1, on a new TCP connection). wss: only. The QUIC
 * connection closes with the WebSocket.
 */
async function connectOverHttp3(url: string | URL, target: Target, config: ClientConfig): Promise<WebSocket> {
  const { http3: _h3, ...rest } = config.raw;
  if (!target.secure) throw new InvalidArgumentValueError('url', 'must be wss: for http3 (QUIC is always encrypted)', url);
  const { connectHttp3 } = await import('./http2-client.js');
  const { http2: _h2, protocols: _p, headers: _h, origin: _o, ...sessionOptions } = rest;
  const budget = config.connection.handshakeTimeout;
  const attempt = budget > 0 ? Math.min(budget, HTTP3_ATTEMPT_MS) : HTTP3_ATTEMPT_MS;
  let session: import('./http2-client.js').Http2Session;
  try {
    session = await connectHttp3(url, { ...sessionOptions, handshakeTimeout: attempt } as ClientOptions);
  } catch (error) {
    // A certificate the user refused is not a reason to try TCP (it would be refused there too).
    if (!(error instanceof HandshakeError) || error.status !== 0 || isTlsVerificationFailure(error.code)) throw error;
    return connect(url, rest as ClientOptions);
  }
  return websocketOnOwnSession(session, target, config);
}

/** The connect() request's WebSocket on a session of its own, which closes with it. */
async function websocketOnOwnSession(session: import('./http2-client.js').Http2Session, target: Target, config: ClientConfig): Promise<WebSocket> {
  try {
    const { protocols, headers, origin, signal } = config.raw as ClientOptions;
    const ws = await session.websocket(target.path, {
      ...(protocols === undefined ? {} : { protocols }), ...(headers === undefined ? {} : { headers }),
      ...(origin === undefined ? {} : { origin }), ...(signal === undefined ? {} : { signal }),
    });
    ws.once('close', () => { void session.close(); });
    return ws;
  } catch (error) {
    void session.close();
    throw error;
  }
}

/** A certificate verification failure (Node's codes for them): falling back would not help. */
function isTlsVerificationFailure(code: string): boolean {
  return /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY|DECRYPT|DECODE)|ALTNAME/.test(code);
}

/** Failures that happened before any HTTP exchange: another address of the host may work. */
function isConnectFailure(error: HandshakeError): boolean {
  return error.status === 0 && !error.code.startsWith('WS_ERR_') && error.code !== 'ETIMEDOUT';
}

export function parseUrl(input: unknown): Target {
  if (typeof input !== 'string' && !(input instanceof URL)) throw new InvalidArgumentTypeError('url', 'a string or a URL', input);
  let u: URL;
  try {
    u = new URL(String(input));
  } catch (cause) {
    throw new InvalidArgumentValueError('url', 'is not a valid URL', input, { cause });
  }
  if (u.protocol !== 'ws:' && u.protocol !== 'http:' && u.protocol !== 'wss:' && u.protocol !== 'https:') {
    throw new InvalidArgumentValueError('url', 'must use the ws: or wss: scheme', input);
  }
  if (u.hash !== '' || u.href.endsWith('#')) throw new InvalidArgumentValueError('url', 'must not contain a fragment (RFC 6455 §3)', input);
  if (u.hostname === '') throw new InvalidArgumentValueError('url', 'must have a host', input);
  if (u.protocol === 'http:') u.protocol = 'ws:';
  if (u.protocol === 'https:') u.protocol = 'wss:';
  const secure = u.protocol === 'wss:';
  let authorization: string | undefined;
  if (u.username !== '' || u.password !== '') {
    const credentials = `${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`;
    authorization = `Basic ${Buffer.from(credentials).toString('base64')}`;
  }
  return {
    href: u.href,
    hostname: u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname,
    port: u.port === '' ? (secure ? 443 : 80) : Number(u.port),
    path: `${u.pathname || '/'}${u.search}`,
    authorization,
    secure,
  };
}

/** Numeric addresses for `host`, in the resolver's order (localhost → 127.0.0.1 and/or ::1). */
export async function resolve(host: string, signal: AbortSignal | undefined): Promise<string[]> {
  if (isIP(host) !== 0) return [host];
  const lookingUp = lookup(host, { all: true }).then(
    (list) => list.map((a) => a.address),
    (error: NodeJS.ErrnoException) => {
      // dns reports ENOTFOUND or a system error name (EAI_AGAIN, ...).
      throw new HandshakeError((error.code ?? 'ENOTFOUND') as SystemErrorCode, `connect failed: cannot resolve ${host}: ${error.message}`, 0, {}, { cause: error });
    },
  );
  if (signal === undefined) return lookingUp;
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(abortError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([lookingUp, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort!);
  }
}

export function abortError(signal: AbortSignal): AbortError {
  return new AbortError('the connection attempt was aborted', { cause: signal.reason });
}

/** native.connect() throws a TypeError with a WS_ERR_* code for invalid request parts, or a system error. */
export function nativeConnectError(error: unknown, target: Target): Error {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (typeof code === 'string' && code.startsWith('WS_ERR_')) {
    return new InvalidArgumentValueError('options', `cannot be used for the request (${code}: ${message})`, target.href, { cause: error });
  }
  // The native side names system errors as libuv does (transport/errno_name.h).
  return new HandshakeError(typeof code === 'string' ? code as SystemErrorCode : 'EIO', `connect to ${target.href} failed: ${message}`, 0, {}, { cause: error });
}
