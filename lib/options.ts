/**
 * Option types, documented defaults and validation. Every public entry point validates here and
 * hands the native side one flat, fully populated object (sharp's style): the native code never
 * sees `undefined`, a wrong type or an out-of-range number.
 *
 * Unknown option names are rejected (`ERR_INVALID_ARG_VALUE`) rather than ignored, so a typo or
 * an option name from another library (`maxPayload`, `perMessageDeflate`, ...) cannot silently
 * leave a limit at its default.
 */
import { constants as bufferConstants } from 'node:buffer';
import { createServer as createHttpServer, Server as HttpServer, type RequestListener } from 'node:http';
import { Server as HttpsServer } from 'node:https';

import { InvalidArgumentTypeError, InvalidArgumentValueError } from './errors.js';
import type { NativeCompressionConfig, NativeConnectionConfig, NativeTlsServer } from './native.js';
import { CLIENT_TLS_KEYS, serverTls, type TlsClientOptions, type TlsServerOptions } from './tls.js';
import { boolOption, intOption } from './validate.js';
import type { UpgradeDecision, UpgradeRequest } from './upgrade-request.js';
import type { PubSubAdapter } from './adapters/adapter.js';
import type { WebSocket as WebSocketType } from './websocket.js';

/** Limits and timers of one connection (server or client). Times are milliseconds, sizes bytes. */
export interface ConnectionOptions {
  /** Largest message accepted; a bigger one closes the connection with 1009. Default 64 MiB. */
  maxPayloadLength?: number;
  /**
   * Largest single frame accepted; a bigger one closes with 1009 (`WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH`).
   * Default: no limit of its own, so frames are bounded by `maxPayloadLength` (a bigger one closes
   * with 1009, `WS_ERR_UNSUPPORTED_MESSAGE_LENGTH`), because `ws` and browsers send every message
   * as one frame: a smaller frame limit would refuse messages the message limit allows. When set,
   * outgoing messages longer than this are sent in fragments of at most this size.
   */
  maxFrameSize?: number;
  /** Close a connection (1006, `WS_ERR_IDLE_TIMEOUT`) when nothing was received for this long. 0 disables. Default 120000. */
  idleTimeout?: number;
  /** Bytes that may wait in a socket's send buffer; a send beyond it is dropped (or closes, see `closeOnBackpressureLimit`). Default 1 MiB. */
  maxBackpressure?: number;
  /** Close the connection instead of dropping the message when `maxBackpressure` is exceeded. Default false. */
  closeOnBackpressureLimit?: boolean;
  /** Send a ping when nothing was received for `pingInterval`. Default true. */
  autoPing?: boolean;
  /** Answer pings automatically (the `ping` event fires either way). Default true. */
  autoPong?: boolean;
  /** Answer a peer's close with its code and its reason, as `ws` does (RFC 6455 §5.5.1 asks only for the code). Default false. */
  echoCloseReason?: boolean;
  /** Quiet time before an automatic ping. 0 disables automatic pings. Default 30000. */
  pingInterval?: number;
  /** An automatic ping unanswered for this long closes the connection (1006, `WS_ERR_PONG_TIMEOUT`). 0 disables. Default 10000. */
  pongTimeout?: number;
  /** How long to wait for the peer's close frame after sending ours, then close anyway. Default 5000. */
  closeTimeout?: number;
  /** Time allowed for the opening handshake (server: request head + upgrade decision; client: connect + response). 0 disables. Default 10000. */
  handshakeTimeout?: number;
  /** Largest HTTP head accepted in the handshake (server: 431 beyond it). Default 16384. */
  maxHeaderSize?: number;
  /** Most header fields accepted in the handshake. Default 100. */
  maxHeaders?: number;
  /**
   * permessage-deflate (RFC 7692). `'disabled'` (default), `'dedicated'`, `'shared'`, or the
   * details as a {@link CompressionOptions} object. A server answers the first acceptable offer
   * of a client; a client offers it and checks the server's answer.
   */
  compression?: CompressionMode | CompressionOptions;
  /** Messages shorter than this (bytes) are sent uncompressed. Default 64. */
  compressionThreshold?: number;
  /**
   * Deliver text messages as Buffers (their UTF-8 bytes, already validated) instead of strings;
   * `isBinary` still tells them apart. No string is made, and a Buffer sent back as text
   * (`send(buf, { binary: false })`) is validated and sent without re-encoding: what a relay, a
   * proxy or a JSON parser that takes bytes wants, and what `ws` does. Default false.
   */
  textAsBuffer?: boolean;
}

/**
 * `'dedicated'`: every connection has its own compressor, which keeps its window between
 * messages (best ratio; zlib-ng holds about 340 KiB per connection at windowBits 15 once the
 * connection has sent a compressed message) and keeps the peer's window too.
 * `'shared'`: each message is compressed on its own by one compressor per event loop (so a
 * connection holds no compressor, and a broadcast compresses once), and the peer is asked to do
 * the same, so decompressors are lent per message from a per-loop pool: an idle connection holds
 * no zlib-ng memory at all.
 */
export type CompressionMode = 'disabled' | 'dedicated' | 'shared';

/** permessage-deflate in detail. "compressor" is this endpoint's, "decompressor" follows the peer's. */
export interface CompressionOptions {
  /** `'dedicated'` (default): per connection, with context takeover. `'shared'`: one per event loop, no context takeover (negotiates `server_no_context_takeover` on a server, `client_no_context_takeover` on a client). */
  compressor?: 'dedicated' | 'shared';
  /** `'dedicated'` (default): the peer may keep its window; we keep an inflater per connection once it sends compressed. `'shared'`: ask the peer not to keep its window (the other `*_no_context_takeover`), so inflaters are lent per message. */
  decompressor?: 'dedicated' | 'shared';
  /** Our compressor's window, 8..15 (smaller: less memory, worse ratio). Announced as `server_max_window_bits` (server) or `client_max_window_bits=N` (client). Default 15. */
  windowBits?: number;
  /** zlib memLevel 1..9: size of the literal buffers. Default 8. */
  memLevel?: number;
  /** zlib compression level 0..9. Default 1 (fast; zlib-ng's quick strategy). */
  level?: number;
  /** Largest window the peer may compress with, 8..15 (`client_max_window_bits` asked by a server, `server_max_window_bits` by a client). A server declines offers that do not allow it to be limited. Default 15. */
  decompressorWindowBits?: number;
}

/** Extra HTTP header fields: name → value (an array repeats the field). */
export type OutgoingHeaders = Readonly<Record<string, string | number | readonly (string | number)[]>>;

/**
 * Decides about an upgrade request (async allowed). Return `{ accept: true, ... }` to open the
 * connection (optionally with extra response headers, a subprotocol and per-socket `data`) or
 * `{ accept: false, status, ... }` to answer with an HTTP error.
 */
export type UpgradeHook<Data> = (request: UpgradeRequest) => UpgradeDecision<Data> | PromiseLike<UpgradeDecision<Data>>;

/** Picks the subprotocol from those the client offered (only called when it offered some); `false` selects none. */
export type HandleProtocols = (protocols: Set<string>, request: UpgradeRequest) => string | false;

/** Options every server mode shares. */
export interface ServerCommonOptions<Data> extends ConnectionOptions {
  /** Only requests for this path (the URL before `?`) are accepted; others get 400. Default: any path. */
  path?: string;
  /** Chooses the subprotocol. Default: the first one the client offered. */
  handleProtocols?: HandleProtocols;
  /** The upgrade hook: authenticate, choose headers and per-socket data, or reject. Default: accept. */
  upgrade?: UpgradeHook<Data>;
  /**
   * How accepted (and `handleUpgrade`-adopted) TCP connections do their I/O: `'io_uring'` (the
   * loop's io_uring: batched sends and receives, one `io_uring_enter` per loop turn for every
   * socket; Linux 6.0+), `'epoll'` (readiness polling through libuv), or `'auto'` (the default;
   * currently epoll, see the README's transport section). When the ring cannot be created
   * (older kernel, a seccomp profile, `kernel.io_uring_disabled`), the server falls back to epoll
   * and `server.transport.reason` says why. The environment variable `SOCKUDO_WS_TRANSPORT`
   * (same values) overrides this option for every server and client of the process.
   */
  transport?: TransportName;
  /**
   * Pub/sub across processes and machines (`redisAdapter({ url })`): `server.publish()` and
   * `ws.publish()` also go to the bus once, and messages other nodes publish fan out to this
   * thread's subscribers natively. One adapter per server; closed with the server.
   */
  adapter?: PubSubAdapter;
  /**
   * Resolves a connection key given as `publish(…, { exclude: 'key' })` to this node's connection
   * with that key (or undefined): with an adapter, every node leaves that connection out, so an
   * application-level id (a Pusher socket_id) excludes its connection wherever it lives.
   */
  resolveExclude?: (key: string) => WebSocketType<Data> | undefined;
}

/** A server's I/O transport (see {@link ServerCommonOptions.transport}). */
export type TransportName = 'auto' | 'io_uring' | 'epoll';
const TRANSPORTS: readonly TransportName[] = ['auto', 'io_uring', 'epoll'];

/** `new WebSocketServer({ port })`: the native core listens and accepts (the fast path). */
export interface PortServerOptions<Data> extends ServerCommonOptions<Data> {
  /** TCP port; 0 picks a free one (see `address()`). */
  port: number;
  /**
   * Interface to bind; '' (the default) is every interface, IPv6 and IPv4. A host name is
   * resolved with `dns.lookup()` and its first address is bound, as `net.Server.listen()` does;
   * a lookup failure is an `error` event with the resolver's code (`ENOTFOUND`, ...).
   */
  host?: string;
  /** listen() backlog. Default 511. */
  backlog?: number;
  /** SO_REUSEPORT, so several processes or workers can listen on the same port. Default false. */
  reusePort?: boolean;
  /** With an IPv6 `host`, do not also accept IPv4. Default false. */
  ipv6Only?: boolean;
  /**
   * Serve `wss://`: TLS terminated natively (the addon's OpenSSL), with Node's option names —
   * `key`, `cert`, `ca`, `pfx`, `passphrase`, `ciphers`, `minVersion`, `requestCert`,
   * `rejectUnauthorized`, `alpnProtocols` — plus `sni` for per-name certificates. Rotate with
   * `server.setSecureContext()`.
   */
  tls?: TlsServerOptions;
  /**
   * WebSocket over HTTP/2 (RFC 8441) on the same port: with `tls`, ALPN offers `h2` before
   * `http/1.1` (unless `tls.alpnProtocols` says otherwise) and an `h2` connection carries many
   * WebSockets as extended CONNECT streams. `request.httpVersion` is then `'2'`. Default false.
   */
  http2?: boolean;
  /** Also accept cleartext HTTP/2 from clients that start with its preface (prior knowledge, h2c; for proxies and tests). Needs `http2`. Default false. */
  http2Cleartext?: boolean;
  /** SETTINGS_MAX_CONCURRENT_STREAMS: WebSockets one HTTP/2 connection may carry at once. Default 100. */
  http2MaxStreams?: number;
  /** Receive window of each stream (bytes a peer may send before the WebSocket reads them; a paused socket's stays closed). Default 1 MiB. */
  http2WindowSize?: number;
  /** Receive window of a whole HTTP/2 connection. Default 8 MiB. */
  http2ConnectionWindowSize?: number;
  /**
   * Serve plain HTTP on the same port: a request that is not a WebSocket upgrade (answered 426
   * without this) is handed, with its connection, to this request listener (`(req, res) => …`:
   * an Express or Fastify handler works) or `http.Server` (not listening; its `request` events
   * and options apply). The native core reads the request head, then gives Node the socket's file
   * descriptor with every byte read so far, so keep-alive, pipelining and bodies of any size are
   * Node's `http` as usual; an upgrade arriving later on such a connection comes back through
   * `handleUpgrade()`. WebSocket upgrades never touch JS before the upgrade hook. Plain TCP only
   * (not with `tls`; HTTP/2 connections keep answering non-CONNECT streams natively).
   */
  httpHandler?: RequestListener | HttpServer;
  /** An HTTP/2 connection without streams for this long is sent GOAWAY and closed. 0 disables. Default 120000. */
  http2IdleTimeout?: number;
  /**
   * WebSocket over HTTP/3 (RFC 9220): also listen on UDP, on the same port number, for QUIC
   * connections (TLS 1.3 with ALPN `h3`, from `tls`, which is required). Each extended CONNECT
   * stream is a WebSocket with every option and event of this server; `request.httpVersion` is
   * `'3'`. Default false.
   */
  http3?: boolean;
  /** initial_max_streams_bidi: WebSockets (request streams) one QUIC connection may open at once. Default 100. */
  http3MaxStreams?: number;
  /** Receive credit of each stream (bytes a peer may send before the WebSocket reads them; a paused socket's stays closed). Default 1 MiB. */
  http3WindowSize?: number;
  /** Receive credit of a whole QUIC connection. Default 8 MiB. */
  http3ConnectionWindowSize?: number;
  /** max_idle_timeout (RFC 9000 §10.1): a QUIC connection silent for this long is discarded. Minimum 1000. Default 30000. */
  http3IdleTimeout?: number;
  /**
   * Address validation (RFC 9000 §8.1.2): once this many QUIC connections are in their handshake,
   * new clients must first answer a Retry (one more round trip) before the server keeps any state
   * for them: a flood of spoofed Initial packets then costs one stateless reply each. 0: always.
   * Default 64.
   */
  http3RetryAbove?: number;
  server?: never;
  noServer?: never;
}

/** `new WebSocketServer({ server })`: upgrades arriving on an existing http/https server. */
export interface AttachedServerOptions<Data> extends ServerCommonOptions<Data> {
  /** An http or https server; its `upgrade` events are handled (its `listening`/`error` are forwarded). */
  server: HttpServer | HttpsServer;
  port?: never;
  noServer?: never;
}

/** `new WebSocketServer({ noServer: true })`: the application calls `handleUpgrade()` itself. */
export interface NoServerOptions<Data> extends ServerCommonOptions<Data> {
  noServer: true;
  port?: never;
  server?: never;
}

/** Exactly one of `port`, `server` or `noServer: true`. */
export type ServerOptions<Data = unknown> = PortServerOptions<Data> | AttachedServerOptions<Data> | NoServerOptions<Data>;

/** Options of `connect()`; the TLS ones apply to `wss://` URLs. */
export interface ClientOptions extends ConnectionOptions, TlsClientOptions {
  /** Subprotocols to offer (Sec-WebSocket-Protocol), most preferred first. */
  protocols?: string | readonly string[];
  /** Extra request header fields. Handshake fields (Host, Upgrade, Sec-WebSocket-*, ...) are refused: use the options. */
  headers?: OutgoingHeaders;
  /** Origin header. Default: none. */
  origin?: string;
  /** Aborts the connection attempt (rejects with an AbortError). Has no effect once connected. */
  signal?: AbortSignal;
  /**
   * connect(): try WebSocket over HTTP/2 first (RFC 8441; ALPN h2 for wss:, prior knowledge for
   * ws:), falling back to HTTP/1.1 when the server does not agree to h2 or does not accept
   * extended CONNECT. `ws.httpVersion` reports which was used. Default false.
   */
  http2?: boolean;
  /**
   * connect(): try WebSocket over HTTP/3 first (RFC 9220; QUIC with TLS 1.3 and ALPN h3, wss:
   * only), falling back (to HTTP/2 with `http2`, else HTTP/1.1) when the server does not answer
   * over QUIC within min(handshakeTimeout, 3 s), does not agree to h3 or does not accept extended
   * CONNECT. `ws.httpVersion` reports which was used. Default false.
   */
  http3?: boolean;
  /**
   * How this connection does its I/O: `'io_uring'`, `'epoll'` or `'auto'` (the default: epoll),
   * as for a server ({@link ServerCommonOptions.transport}); `SOCKUDO_WS_TRANSPORT` overrides it.
   * `ws.transport` says what was used and why.
   */
  transport?: TransportName;
}

/** The documented defaults (times in ms, sizes in bytes). */
export const defaults = Object.freeze({
  maxPayloadLength: 64 * 1024 * 1024,
  /** Without `maxFrameSize`, frames are bounded by the effective `maxPayloadLength` only: this is that bound with the default `maxPayloadLength`. */
  maxFrameSize: 64 * 1024 * 1024,
  idleTimeout: 120_000,
  maxBackpressure: 1024 * 1024,
  closeOnBackpressureLimit: false,
  autoPing: true,
  autoPong: true,
  echoCloseReason: false,
  pingInterval: 30_000,
  pongTimeout: 10_000,
  closeTimeout: 5_000,
  handshakeTimeout: 10_000,
  maxHeaderSize: 16_384,
  maxHeaders: 100,
  compression: 'disabled' as CompressionMode,
  compressionThreshold: 64,
  textAsBuffer: false,
  backlog: 511,
  host: '',
});

const MAX_TIMER = 2 ** 31 - 1;
const MAX_BYTES = Math.min(bufferConstants.MAX_LENGTH, Number.MAX_SAFE_INTEGER);

const CONNECTION_KEYS = ['maxPayloadLength', 'maxFrameSize', 'idleTimeout', 'maxBackpressure', 'closeOnBackpressureLimit', 'autoPing', 'autoPong', 'echoCloseReason',
  'pingInterval', 'pongTimeout', 'closeTimeout', 'handshakeTimeout', 'maxHeaderSize', 'maxHeaders', 'compression', 'compressionThreshold', 'textAsBuffer'] as const;
const COMPRESSION_KEYS = new Set<string>(['compressor', 'decompressor', 'windowBits', 'memLevel', 'level', 'decompressorWindowBits']);
const HTTP2_KEYS = ['http2', 'http2Cleartext', 'http2MaxStreams', 'http2WindowSize', 'http2ConnectionWindowSize', 'http2IdleTimeout'] as const;
const HTTP3_KEYS = ['http3', 'http3MaxStreams', 'http3WindowSize', 'http3ConnectionWindowSize', 'http3IdleTimeout', 'http3RetryAbove'] as const;
const SERVER_KEYS = new Set<string>([...CONNECTION_KEYS, ...HTTP2_KEYS, ...HTTP3_KEYS, 'port', 'host', 'backlog', 'reusePort', 'ipv6Only', 'tls', 'server', 'noServer', 'path',
  'handleProtocols', 'upgrade', 'httpHandler', 'transport', 'adapter', 'resolveExclude']);
const CLIENT_KEYS = new Set<string>([...CONNECTION_KEYS, ...CLIENT_TLS_KEYS, 'protocols', 'headers', 'origin', 'signal', 'http2', 'http3', 'transport']);
const HINTS: Record<string, string> = {
  // ws's maxPayload limits a message; ours splits that into the message and the single-frame limit.
  maxPayload: 'maxPayloadLength (largest message) and maxFrameSize (largest frame; defaults to maxPayloadLength)',
  verifyClient: 'upgrade',
  perMessageDeflate: 'compression',
};

/** The options object itself: undefined → {}, anything but a plain object → TypeError. */
export function optionsObject(value: unknown, name: string): Record<string, unknown> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new InvalidArgumentTypeError(name, 'of type object', value);
  return value as Record<string, unknown>;
}

function rejectUnknown(o: Record<string, unknown>, known: Set<string>, name: string): void {
  for (const key of Object.keys(o)) {
    if (known.has(key) || o[key] === undefined) continue;
    const hint = HINTS[key];
    throw new InvalidArgumentValueError(`${name}.${key}`, `is not a known option${hint ? ` (see ${hint})` : ''}`, o[key]);
  }
}

function stringOption(o: Record<string, unknown>, key: string, fallback: string, name: string): string {
  const v = o[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'string') throw new InvalidArgumentTypeError(`${name}.${key}`, 'of type string', v);
  return v;
}

function functionOption<F>(o: Record<string, unknown>, key: string, name: string): F | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'function') throw new InvalidArgumentTypeError(`${name}.${key}`, 'of type function', v);
  return v as F;
}

/** The connection limits of `o` with defaults filled in, as the native side takes them. */
export function connectionConfig(o: Record<string, unknown>, name: string): NativeConnectionConfig {
  return {
    maxPayloadLength: intOption(o, 'maxPayloadLength', 1, MAX_BYTES, defaults.maxPayloadLength, name),
    // No maxFrameSize: no frame limit of its own, because ws and browsers send each message as
    // one frame. Every frame belongs to a message, and maxPayloadLength is checked from the frame
    // header before any payload is buffered, so frames are bounded by the message limit. (Passing
    // maxPayloadLength here would bound them the same, but the core checks the frame limit first:
    // one oversized frame would report WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH instead of
    // WS_ERR_UNSUPPORTED_MESSAGE_LENGTH, the code ws reports and ours did before.)
    maxFrameSize: intOption(o, 'maxFrameSize', 1, MAX_BYTES, MAX_BYTES, name),
    idleTimeout: intOption(o, 'idleTimeout', 0, MAX_TIMER, defaults.idleTimeout, name),
    autoPing: boolOption(o, 'autoPing', defaults.autoPing, name),
    autoPong: boolOption(o, 'autoPong', defaults.autoPong, name),
    echoCloseReason: boolOption(o, 'echoCloseReason', defaults.echoCloseReason, name),
    pingInterval: intOption(o, 'pingInterval', 0, MAX_TIMER, defaults.pingInterval, name),
    pongTimeout: intOption(o, 'pongTimeout', 0, MAX_TIMER, defaults.pongTimeout, name),
    closeTimeout: intOption(o, 'closeTimeout', 0, MAX_TIMER, defaults.closeTimeout, name),
    handshakeTimeout: intOption(o, 'handshakeTimeout', 0, MAX_TIMER, defaults.handshakeTimeout, name),
    maxHeaderSize: intOption(o, 'maxHeaderSize', 1024, 1024 * 1024, defaults.maxHeaderSize, name),
    maxHeaders: intOption(o, 'maxHeaders', 1, 10_000, defaults.maxHeaders, name),
    maxBackpressure: intOption(o, 'maxBackpressure', 1, Number.MAX_SAFE_INTEGER, defaults.maxBackpressure, name),
    closeOnBackpressureLimit: boolOption(o, 'closeOnBackpressureLimit', defaults.closeOnBackpressureLimit, name),
    compression: compressionConfig(o, name),
    textAsBuffer: boolOption(o, 'textAsBuffer', defaults.textAsBuffer, name),
  };
}

function choice<T extends string>(o: Record<string, unknown>, key: string, allowed: readonly T[], fallback: T, name: string): T {
  const v = o[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new InvalidArgumentValueError(`${name}.${key}`, `must be one of ${allowed.map((a) => `'${a}'`).join(', ')}`, v);
  }
  return v as T;
}

/** `compression` + `compressionThreshold` → the flat native form. */
function compressionConfig(o: Record<string, unknown>, name: string): NativeCompressionConfig {
  const threshold = intOption(o, 'compressionThreshold', 0, 2 ** 32 - 1, defaults.compressionThreshold, name);
  const v = o.compression;
  let d: Record<string, unknown>;
  if (v === undefined || v === 'disabled') d = { enabled: false };
  else if (v === 'dedicated' || v === 'shared') d = { compressor: v, decompressor: v };
  else if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    d = v as Record<string, unknown>;
    rejectUnknown(d, COMPRESSION_KEYS, `${name}.compression`);
  } else {
    throw new InvalidArgumentValueError(`${name}.compression`, "must be 'disabled', 'dedicated', 'shared' or a CompressionOptions object", v);
  }
  const n = `${name}.compression`;
  return {
    enabled: d.enabled !== false,
    sharedCompressor: choice(d, 'compressor', ['dedicated', 'shared'] as const, 'dedicated', n) === 'shared',
    sharedDecompressor: choice(d, 'decompressor', ['dedicated', 'shared'] as const, 'dedicated', n) === 'shared',
    windowBits: intOption(d, 'windowBits', 8, 15, 15, n),
    memLevel: intOption(d, 'memLevel', 1, 9, 8, n),
    level: intOption(d, 'level', 0, 9, 1, n),
    decompressorWindowBits: intOption(d, 'decompressorWindowBits', 8, 15, 15, n),
    threshold,
  };
}

/** Validated server options. */
export interface ServerConfig {
  mode: 'port' | 'server' | 'noServer';
  port: number;
  host: string;
  backlog: number;
  reusePort: boolean;
  ipv6Only: boolean;
  server: HttpServer | HttpsServer | undefined;
  path: string | undefined;
  handleProtocols: HandleProtocols | undefined;
  upgrade: UpgradeHook<unknown> | undefined;
  connection: NativeConnectionConfig;
  /** `port` mode with `tls`: the native TLS contexts. */
  tls: NativeTlsServer | undefined;
  /** `port` mode: WebSocket over HTTP/2 (handed to the native server with the connection settings). */
  http2: NativeHttp2Config;
  /** `port` mode: WebSocket over HTTP/3 (a QUIC endpoint on the same port number, UDP). */
  http3: NativeHttp3Config;
  /** `port` mode: the http.Server that serves non-upgrade requests (the httpHandler option). */
  httpHandler: HttpServer | undefined;
  /** The transport asked for (the option, or SOCKUDO_WS_TRANSPORT when set). */
  transport: TransportName;
  /** Pub/sub across processes and machines (the adapter option). */
  adapter: PubSubAdapter | undefined;
  resolveExclude: ((key: string) => unknown) | undefined;
}

/** `transport` (a server's or a client's), overridden by the environment variable SOCKUDO_WS_TRANSPORT (an operator's choice). */
function transportOption(o: Record<string, unknown>, name: string): TransportName {
  const env = process.env.SOCKUDO_WS_TRANSPORT;
  if (env !== undefined && env !== '') {
    if (!(TRANSPORTS as readonly string[]).includes(env)) {
      throw new InvalidArgumentValueError('process.env.SOCKUDO_WS_TRANSPORT', `must be one of ${TRANSPORTS.map((t) => `"${t}"`).join(', ')}`, env);
    }
    return env as TransportName;
  }
  const t = o.transport;
  if (t === undefined) return 'auto';
  if (typeof t !== 'string') throw new InvalidArgumentTypeError(`${name}.transport`, 'of type string', t);
  if (!(TRANSPORTS as readonly string[]).includes(t)) {
    throw new InvalidArgumentValueError(`${name}.transport`, `must be one of ${TRANSPORTS.map((x) => `"${x}"`).join(', ')}`, t);
  }
  return t as TransportName;
}

/** The HTTP/2 settings of a native listener. */
export interface NativeHttp2Config {
  http2: boolean;
  http2Cleartext: boolean;
  http2MaxStreams: number;
  http2WindowSize: number;
  http2ConnectionWindowSize: number;
  http2IdleTimeout: number;
}

function http2Config(o: Record<string, unknown>, name: string): NativeHttp2Config {
  const config: NativeHttp2Config = {
    http2: boolOption(o, 'http2', false, name),
    http2Cleartext: boolOption(o, 'http2Cleartext', false, name),
    // RFC 9113 §6.5.2: windows up to 2^31-1; a stream window below 16 KiB would fragment every frame.
    http2MaxStreams: intOption(o, 'http2MaxStreams', 1, 2 ** 31 - 1, 100, name),
    http2WindowSize: intOption(o, 'http2WindowSize', 16 * 1024, 2 ** 31 - 1, 1024 * 1024, name),
    http2ConnectionWindowSize: intOption(o, 'http2ConnectionWindowSize', 65_535, 2 ** 31 - 1, 8 * 1024 * 1024, name),
    http2IdleTimeout: intOption(o, 'http2IdleTimeout', 0, MAX_TIMER, 120_000, name),
  };
  if (!config.http2) {
    for (const key of HTTP2_KEYS.slice(1)) {
      if (o[key] !== undefined) throw new InvalidArgumentValueError(`${name}.${key}`, 'only applies together with "http2: true"', o[key]);
    }
  }
  return config;
}

/** The HTTP/3 settings of a native listener. */
export interface NativeHttp3Config {
  http3: boolean;
  http3MaxStreams: number;
  http3WindowSize: number;
  http3ConnectionWindowSize: number;
  http3IdleTimeout: number;
  http3RetryAbove: number;
}

function http3Config(o: Record<string, unknown>, name: string): NativeHttp3Config {
  const config: NativeHttp3Config = {
    http3: boolOption(o, 'http3', false, name),
    // RFC 9000 §4: credits are varints (< 2^62); these bounds keep them sane for one process.
    http3MaxStreams: intOption(o, 'http3MaxStreams', 1, 2 ** 31 - 1, 100, name),
    http3WindowSize: intOption(o, 'http3WindowSize', 16 * 1024, 2 ** 31 - 1, 1024 * 1024, name),
    http3ConnectionWindowSize: intOption(o, 'http3ConnectionWindowSize', 64 * 1024, 2 ** 31 - 1, 8 * 1024 * 1024, name),
    http3IdleTimeout: intOption(o, 'http3IdleTimeout', 1000, MAX_TIMER, 30_000, name),
    http3RetryAbove: intOption(o, 'http3RetryAbove', 0, 1_000_000, 64, name),
  };
  if (!config.http3) {
    for (const key of HTTP3_KEYS.slice(1)) {
      if (o[key] !== undefined) throw new InvalidArgumentValueError(`${name}.${key}`, 'only applies together with "http3: true"', o[key]);
    }
  } else if (o.tls === undefined) {
    throw new InvalidArgumentValueError(`${name}.http3`, 'needs "tls" (QUIC is always encrypted: TLS 1.3, RFC 9001)', o.http3);
  }
  return config;
}

/** Validates `new WebSocketServer(options)`. */
export function serverConfig(options: unknown): ServerConfig {
  const name = 'options';
  const o = optionsObject(options, name);
  if (options === undefined) throw new InvalidArgumentTypeError(name, 'of type object', options);
  rejectUnknown(o, SERVER_KEYS, name);
  const modes = (['port', 'server', 'noServer'] as const).filter((k) => o[k] !== undefined && o[k] !== false);
  if (modes.length !== 1) {
    throw new InvalidArgumentValueError(name, 'must have exactly one of "port", "server" or "noServer: true"', modes.length ? modes.join(', ') : 'none of them');
  }
  const mode = modes[0]!;
  if (mode === 'noServer' && o.noServer !== true) throw new InvalidArgumentTypeError(`${name}.noServer`, 'true', o.noServer);
  let server: HttpServer | HttpsServer | undefined;
  if (mode === 'server') {
    const s = o.server as { on?: unknown; removeListener?: unknown } | null;
    if (s === null || typeof s !== 'object' || typeof s.on !== 'function' || typeof s.removeListener !== 'function') {
      throw new InvalidArgumentTypeError(`${name}.server`, 'an http.Server or https.Server', o.server);
    }
    server = o.server as HttpServer | HttpsServer;
  }
  if (mode !== 'port') {
    for (const key of ['host', 'backlog', 'reusePort', 'ipv6Only', 'tls', 'httpHandler', ...HTTP2_KEYS, ...HTTP3_KEYS]) {
      if (o[key] !== undefined) throw new InvalidArgumentValueError(`${name}.${key}`, 'only applies together with "port"', o[key]);
    }
  }
  const path = o.path === undefined ? undefined : stringOption(o, 'path', '', name);
  if (path !== undefined && !path.startsWith('/')) throw new InvalidArgumentValueError(`${name}.path`, 'must start with "/"', path);
  return {
    mode,
    port: mode === 'port' ? intOption(o, 'port', 0, 65535, 0, name) : 0,
    host: stringOption(o, 'host', defaults.host, name),
    backlog: intOption(o, 'backlog', 0, 2 ** 31 - 1, defaults.backlog, name),
    reusePort: boolOption(o, 'reusePort', false, name),
    ipv6Only: boolOption(o, 'ipv6Only', false, name),
    server,
    path,
    handleProtocols: functionOption<HandleProtocols>(o, 'handleProtocols', name),
    upgrade: functionOption<UpgradeHook<unknown>>(o, 'upgrade', name),
    connection: connectionConfig(o, name),
    tls: mode === 'port' && o.tls !== undefined ? serverTls(o.tls, `${name}.tls`, o.http2 === true, o.http3 === true) : undefined,
    http2: http2Config(o, name),
    http3: http3Config(o, name),
    httpHandler: httpHandlerOption(o, name),
    transport: transportOption(o, name),
    adapter: adapterOption(o, name),
    resolveExclude: functionOption<(key: string) => unknown>(o, 'resolveExclude', name),
  };
}

/** `adapter`: an object with the PubSubAdapter methods (redisAdapter() makes one). */
function adapterOption(o: Record<string, unknown>, name: string): PubSubAdapter | undefined {
  const a = o.adapter;
  if (a === undefined) return undefined;
  const methods = ['attach', 'subscriptionChanged', 'publish', 'clusterSubscribers', 'close'] as const;
  if (a === null || typeof a !== 'object' || methods.some((m) => typeof (a as Record<string, unknown>)[m] !== 'function')) {
    throw new InvalidArgumentTypeError(`${name}.adapter`, `a pub/sub adapter (redisAdapter(); an object with ${methods.join(', ')})`, a);
  }
  return a as PubSubAdapter;
}

/** `httpHandler`: a request listener (wrapped in an http.Server) or an http.Server; not with `tls`. */
function httpHandlerOption(o: Record<string, unknown>, name: string): HttpServer | undefined {
  const h = o.httpHandler;
  if (h === undefined) return undefined;
  if (o.tls !== undefined) throw new InvalidArgumentValueError(`${name}.httpHandler`, 'is for plain TCP listeners: it cannot be combined with "tls"', h);
  if (typeof h === 'function') return createHttpServer(h as RequestListener);
  if (h instanceof HttpServer && !(h instanceof HttpsServer)) {
    if (h.listening) throw new InvalidArgumentValueError(`${name}.httpHandler`, 'must be an http.Server that is not listening (its connections come from this server)', h);
    return h;
  }
  throw new InvalidArgumentTypeError(`${name}.httpHandler`, 'a request listener function or an http.Server', h);
}

/** Validated client options (the URL is validated by the client). */
export interface ClientConfig {
  protocols: string[];
  headers: string[];
  origin: string;
  signal: AbortSignal | undefined;
  /** connect(): WebSocket over HTTP/2 first, HTTP/1.1 as the fallback. */
  http2: boolean;
  /** connect(): WebSocket over HTTP/3 first, then as without it. */
  http3: boolean;
  connection: NativeConnectionConfig;
  /** The transport asked for (the option, or SOCKUDO_WS_TRANSPORT when set). */
  transport: TransportName;
  /** The options object, for the TLS settings a wss:// URL needs (lib/tls.ts validates them). */
  raw: Record<string, unknown>;
}

/** Validates `connect(url, options)`. */
export function clientConfig(options: unknown): ClientConfig {
  const name = 'options';
  const o = optionsObject(options, name);
  rejectUnknown(o, CLIENT_KEYS, name);
  let protocols: string[] = [];
  const p = o.protocols;
  if (typeof p === 'string') protocols = [p];
  else if (Array.isArray(p)) {
    protocols = p.map((v, i) => {
      if (typeof v !== 'string') throw new InvalidArgumentTypeError(`${name}.protocols[${i}]`, 'of type string', v);
      return v;
    });
  } else if (p !== undefined) throw new InvalidArgumentTypeError(`${name}.protocols`, 'a string or an array of strings', p);
  const signal = o.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new InvalidArgumentTypeError(`${name}.signal`, 'an AbortSignal', signal);
  return {
    protocols,
    headers: flattenHeaders(o.headers, `${name}.headers`),
    origin: stringOption(o, 'origin', '', name),
    signal,
    http2: boolOption(o, 'http2', false, name),
    http3: boolOption(o, 'http3', false, name),
    connection: connectionConfig(o, name),
    transport: transportOption(o, name),
    raw: o,
  };
}

/** `{ name: value | value[] }` → `[name, value, ...]` (values as strings). Syntax is checked natively. */
export function flattenHeaders(headers: unknown, name: string): string[] {
  if (headers === undefined) return [];
  if (headers === null || typeof headers !== 'object' || Array.isArray(headers)) throw new InvalidArgumentTypeError(name, 'of type object', headers);
  const flat: string[] = [];
  for (const [key, value] of Object.entries(headers as Record<string, unknown>)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? (value as unknown[]) : [value]) {
      if (typeof v !== 'string' && typeof v !== 'number') throw new InvalidArgumentTypeError(`${name}.${key}`, 'a string, a number or an array of them', v);
      flat.push(key, String(v));
    }
  }
  return flat;
}
