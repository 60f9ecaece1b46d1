/**
 * Loads the native addon: SOCKUDO_WS_NATIVE_PATH when set (diagnostics: a sanitizer build), else
 * a local build (build/Release, build/Debug), then a prebuilt binary
 * (prebuilds/<platform>-<arch>/, node-gyp-build's layout). If neither loads, throws a
 * {@link NativeLoadError} that says what this machine is and how to build from source.
 *
 * The native surface is declared once here; test/js/package.test.ts checks the runtime
 * exports against it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { NativeLoadError, type HandshakeErrorCode, type NativeLoadErrorCode, type WebSocketErrorCode } from './errors.js';

export interface NativeKernels {
  mask: { active: string; available: string[]; compiled: string[] };
  utf8: { active: string };
}

export interface NativeVersions {
  simdutf: string;
  zlibng: string;
  nghttp2: string;
  nghttp3: string;
  ngtcp2: string;
  liburing: string;
  openssl: string;
  quicTlsBackend: string;
}

/**
 * send()/ping()/pong() results: 0 success, 1 backpressure (queued; wait for drain), 2 dropped,
 * 3 closed, 4 invalid; send() also 5: bytes sent as text are not UTF-8 (nothing was sent).
 */
export type NativeSendResult = 0 | 1 | 2 | 3 | 4 | 5;

/**
 * One connection's native handle. Every method is safe on a closed socket (sends return 3,
 * the rest do nothing).
 */
export interface NativeSocket {
  /** Server handshake: sends 101 and opens the connection. Returns a WS_ERR_* code when the answer cannot be built (bad header, subprotocol not offered); then nothing was sent. */
  accept(target: object, protocol: string, headers: string[]): string | undefined;
  /** Server handshake: sends an error response and closes. headers: flat [name, value, ...]. */
  reject(status: number, headers: string[], body: string | Uint8Array): string | undefined;
  /** Delivers bytes held since the handshake, then starts reading. Call once listeners are attached. */
  start(): void;
  /** The Sec-WebSocket-Extensions value agreed ('' when none); a server's is known once accept() succeeded. */
  extensions(): string;
  /** Pub/sub (server sockets): [changed, subscriber count after]. */
  subscribe(topic: string): [boolean, number];
  unsubscribe(topic: string): [boolean, number];
  isSubscribed(topic: string): boolean;
  topics(): string[];
  /** Leaves every topic: flat [topic, remaining count, ...]. */
  unsubscribeAll(): (string | number)[];
  /** Publishes to the topic's subscribers except this socket: [recipients, dropped]. */
  publish(topic: string, data: string | Uint8Array, isBinary: boolean, compress: boolean): [number, number];
  send(data: string | Uint8Array, isBinary: boolean, compress: boolean): NativeSendResult;
  ping(data: string | Uint8Array): NativeSendResult;
  pong(data: string | Uint8Array): NativeSendResult;
  /** Starts the closing handshake; returns a WS_ERR_* code when refused (bad code/reason, not open). */
  close(code: number, reason: string): string | undefined;
  /** Closes at once without a closing handshake (close event with 1006 follows synchronously). */
  terminate(): void;
  /** Stops / restarts reading from the socket (TCP backpressure to the peer). */
  pause(): void;
  resume(): void;
  /** Writes everything queued now instead of at the end of the loop turn. */
  flush(): void;
  bufferedAmount(): number;
  /** [address, port, family] of the peer, when known. */
  remote(): [string, number, 'IPv4' | 'IPv6'] | undefined;
  /** [what moves the bytes, why]: see WebSocket.transport. */
  transport(): [ConnectionTransportName, string];
  /** External (Duplex) connections: bytes read from the Duplex, and its end. */
  feed(chunk: Uint8Array): void;
  end(): void;
  /** The external Duplex emitted 'drain' (output that waited natively is written now). */
  drained(): void;
  /** Whether 'ping' / 'pong' listeners exist: without one the events do not cross into JS. */
  wantControl(ping: boolean, pong: boolean): void;
}

/** Flat, validated connection options (lib/ fills every field; times in ms, sizes in bytes). */
export interface NativeConnectionConfig {
  maxPayloadLength: number;
  maxFrameSize: number;
  idleTimeout: number;
  autoPing: boolean;
  autoPong: boolean;
  echoCloseReason: boolean;
  pingInterval: number;
  pongTimeout: number;
  closeTimeout: number;
  handshakeTimeout: number;
  maxHeaderSize: number;
  maxHeaders: number;
  maxBackpressure: number;
  closeOnBackpressureLimit: boolean;
  compression: NativeCompressionConfig;
  /** Text messages reach JS as Buffers (the binding reads it). */
  textAsBuffer: boolean;
}

/** permessage-deflate settings; "compressor" is always ours, "decompressor" the peer's. */
export interface NativeCompressionConfig {
  enabled: boolean;
  sharedCompressor: boolean;
  sharedDecompressor: boolean;
  windowBits: number;
  memLevel: number;
  level: number;
  decompressorWindowBits: number;
  threshold: number;
}

/** zlib-ng memory of this environment's connections. */
export interface NativeDeflateMemory {
  bytes: number;
  deflaters: number;
  inflaters: number;
  pooledInflaters: number;
  /** Messages compressed so far (sends and publishes that ran a deflater). */
  compressions: number;
}

/** A client HTTP/2 connection (lib/http2-client.ts). */
export interface NativeHttp2Session {
  /** Opens a WebSocket on a new extended CONNECT stream; the socket reports open/openFailed to `target`. */
  websocket(config: NativeConnectionConfig & { path: string; protocols: string[]; origin: string; headers: string[] }, target: object): NativeSocket;
  /** GOAWAY: no new streams; the connection ends with its last WebSocket. */
  close(): void;
}

export interface NativeServer {
  /** Binds and listens; throws an Error with .code (EADDRINUSE, EACCES, ...). host '' = all interfaces (dual stack). */
  listen(host: string, port: number, backlog: number, reusePort: boolean, ipv6Only: boolean): void;
  address(): { address: string; family: 'IPv4' | 'IPv6'; port: number } | null;
  /** Stops listening (open connections are unaffected). */
  close(): void;
  /** Takes over a TCP socket from Node: works on a dup of `fd` (the caller destroys its own socket), with the bytes Node already read. */
  adopt(fd: number, initial: Uint8Array, tag: object): void;
  /** A connection over a JS Duplex (TLS socket, anything): bytes in with feed()/end(), out through the write/end handlers, which receive `target`. */
  adoptDuplex(initial: Uint8Array, target: object): NativeSocket;
  /**
   * A stream of Node's http2 server (handleStream): `fields` is its request block, pseudo-header
   * fields first. A valid extended CONNECT gives a socket awaiting the upgrade decision; an
   * invalid one gives the refusal to respond with: [fields, body].
   */
  adoptStream(fields: string[], target: object): NativeSocket | [string[], string];
  /** Ends every socket still in its handshake. */
  destroyPending(): void;
  pendingCount(): number;
  /** TLS servers: connections accepted from now on use these contexts. */
  setSecureContext(tls: NativeTlsServer): void;
  /** The transport its connections use, and why (an io_uring server that fell back to epoll says what failed). */
  transport(): { name: 'io_uring' | 'epoll'; reason: string };
}

/** A native TLS context (opaque; made by createTlsContext). */
export interface NativeTlsContext { readonly __tlsContext: unique symbol }

/** createTlsContext()'s flat options (lib/tls.ts fills every field). */
export interface NativeTlsOptions {
  server: boolean;
  key: (string | Buffer)[];
  cert: (string | Buffer)[];
  ca: (string | Buffer)[];
  pfx: (string | Buffer)[];
  passphrase: string;
  ciphers: string;
  minVersion: string;
  maxVersion: string;
  requestCert: boolean;
  rejectUnauthorized: boolean;
  alpn: string[];
  /** A context for QUIC connections (HTTP/3): TLS 1.3 only, SNI through the QUIC connection. */
  quic?: boolean;
}

/** A TLS server's contexts: the default and [servername, context, ...] for SNI. */
export interface NativeTlsServer {
  context: NativeTlsContext;
  sni: (string | NativeTlsContext)[];
  /** ms the TLS handshake may take (0: only handshakeTimeout bounds it). */
  handshakeTimeout: number;
  /** With HTTP/3: the same contexts built for QUIC (TLS 1.3, ALPN h3). */
  quic?: { context: NativeTlsContext; sni: (string | NativeTlsContext)[] };
}

/** NativeServer's config: the connection limits, plus TLS for a listening wss:// server. */
export interface NativeServerConfig extends NativeConnectionConfig {
  tls?: NativeTlsServer;
  /** 'io_uring' | 'epoll' | 'auto' (lib resolves the environment override). */
  transport?: 'auto' | 'io_uring' | 'epoll';
  /** Hand non-upgrade HTTP/1.1 requests on plain TCP connections to JS (httpRequest handler) instead of answering 426. */
  httpHandoff?: boolean;
}

/** What moves a connection's bytes (WebSocket.transport). */
export type ConnectionTransportName = 'io_uring' | 'epoll' | 'duplex' | 'quic';

export interface NativeClientConfig extends NativeConnectionConfig {
  /** 'auto' | 'io_uring' | 'epoll' (SOCKUDO_WS_TRANSPORT applied). */
  transport?: string;
  ip: string;
  port: number;
  host: string;
  secure: boolean;
  path: string;
  protocols: string[];
  origin: string;
  headers: string[];
  /** wss://: the client context and the name to send (SNI) and verify; absent for ws://. */
  tls?: NativeTlsContext;
  servername?: string;
}

/** Functions native code calls; registered once per environment with setHandlers(). `target` is the object given to accept()/connect()/adoptDuplex(). */
export interface NativeHandlers {
  /** `tag`: the adopt() tag, or the adoptDuplex() target; undefined for sockets the listener accepted. */
  upgrade(server: object, socket: NativeSocket, method: string, url: string, headers: string[], remoteAddress: string | undefined, remotePort: number, protocols: string[], tag: object | undefined, secure: boolean, httpVersion: number, authority: string): void;
  /** A handleUpgrade() socket (adopt/adoptDuplex) whose request the core answered itself: 400/426/431/505, or 408 after handshakeTimeout. `tag` is the adopt() tag or the adoptDuplex() target. */
  upgradeFailed(server: object, tag: object, status: number): void;
  /** A native listener's non-upgrade HTTP request (servers with `httpHandoff`): a dup of the connection's fd (ours to close) and every byte read so far, the request head first. */
  httpRequest(server: object, fd: number, bytes: Buffer): void;
  /** A TLS connection of a native wss:// listener failed before its upgrade request (code: ERR_SSL_* or a system error name). */
  tlsError(server: object, code: string, message: string, remoteAddress: string | undefined, remotePort: number): void;
  /** Client: the server accepted; `protocol` is the selected subprotocol ('' for none), `extensions` its Sec-WebSocket-Extensions. */
  open(target: object, protocol: string, extensions: string): void;
  /** `code`: a WS_ERR_HANDSHAKE_* code, or a system error name (ECONNREFUSED, ETIMEDOUT, ...). */
  /** `body`: a refused upgrade's response body (≤ 64 KiB; empty when there was none). */
  openFailed(target: object, code: HandshakeErrorCode, message: string, status: number, rawHead: string, body: Buffer): void;
  /**
   * A message: a string (text), a Buffer, or, for small byte messages, the binding's pool
   * ArrayBuffer with the message's `offset` and `length` in it (lib/ makes the Buffer view).
   */
  message(target: object, data: string | Buffer | ArrayBuffer, isBinary: boolean, offset?: number, length?: number): void;
  ping(target: object, data: Buffer): void;
  pong(target: object, data: Buffer): void;
  /** Exactly once per opened connection. 1006 when no close frame was received. */
  close(target: object, code: number, reason: string): void;
  /** A protocol violation or liveness failure, just before close(…, 1006, …). */
  error(target: object, code: WebSocketErrorCode, message: string, closeCode: number): void;
  drain(target: object): void;
  /** Bytes for a Duplex-backed connection: returns the Duplex's buffered bytes n, or -(n) - 1 when its write() asked for 'drain' (native output then waits for drained()). */
  write(target: object, chunk: Buffer): number;
  end(target: object): void;
  /** Whether a Duplex-backed connection's Duplex should be read (false: pause it). */
  flow(target: object, reading: boolean): void;
  /** An http2 stream's answer to its extended CONNECT: header fields (":status" first), body, whether the stream ends after it. */
  respond(target: object, fields: string[], body: Buffer, end: boolean): void;
  /** A client HTTP/2 session got the server's SETTINGS: whether it accepts extended CONNECT. */
  h2Ready(target: object, connectProtocol: boolean): void;
  /** A client HTTP/2 session failed before it was ready (connect, TLS, ALPN, timeout). */
  h2Failed(target: object, code: string, message: string): void;
  /** A client HTTP/2 session ended (after h2Ready). */
  h2Closed(target: object): void;
}

export interface NativeBinding {
  /** output[offset + i] = source[i] ^ key[(phase + i) % 4] */
  mask(source: Uint8Array, key: Uint8Array, output: Uint8Array, offset: number, phase: number): void;
  /** In place: buffer[i] ^= key[(phase + i) % 4]. */
  unmask(buffer: Uint8Array, key: Uint8Array, phase: number): void;
  isValidUTF8(data: Uint8Array): boolean;
  kernels(): NativeKernels;
  versions(): NativeVersions;
  setHandlers(handlers: NativeHandlers): void;
  NativeServer: new (config: NativeServerConfig, server: object) => NativeServer;
  /** Starts a client HTTP/2 connection; throws an Error with .code when it cannot start. */
  NativeHttp2Session: new (config: Omit<NativeClientConfig, 'path' | 'protocols' | 'origin' | 'headers'>, target: object) => NativeHttp2Session;
  /** Builds a TLS context; throws an Error with OpenSSL's code (ERR_OSSL_*) for unusable keys or certificates. */
  createTlsContext(options: NativeTlsOptions): NativeTlsContext;
  NativeSocket: new () => NativeSocket;
  /** Starts a client connection to a numeric ip:port; throws (code) if it cannot start. Events go to `target`. */
  connect(config: NativeClientConfig, target: object): NativeSocket;
  /**
   * A client connection whose upgrade request Node's http client sent (the ws drop-in): `fd` a
   * connected socket (a dup is taken; the caller destroys its own) or -1 for a Duplex. The caller
   * then feeds the response head (and what followed it); open/openFailed reach `target` as for connect().
   */
  adoptClient(config: NativeConnectionConfig & { transport?: string; key: string; host: string; port: number; secure: boolean; path: string; protocols: string[]; origin: string; headers: string[] }, target: object, fd: number): NativeSocket;
  /** The Sec-WebSocket-Extensions offer connect() would send with these options ('' without compression). */
  deflateOffer(config: NativeConnectionConfig): string;
  /** Live native sockets in this environment (leak checks). */
  socketCount(): number;
  /** This environment's io_uring: whether one exists, operations in flight, prepared in all, and io_uring_enter calls that submitted. */
  uringStats(): { ring: boolean; inFlight: number; prepared: number; submits: number; bufferShortages: number };
  /** zlib-ng memory held for permessage-deflate in this environment. */
  deflateMemory(): NativeDeflateMemory;
  /** Publishes to every subscriber of the topic on this thread: [recipients, dropped]. */
  publish(topic: string, data: string | Uint8Array, isBinary: boolean, compress: boolean, exclude?: NativeSocket | null): [number, number];
  numSubscribers(topic: string): number;
  /** Topic tree size: topics, subscriptions and the bytes its containers hold. */
  pubsubStats(): { topics: number; subscriptions: number; bytes: number };
}

/** The package root: dist/cjs/native.js → ../.. (and lib/native.ts → .. when run from source). */
function packageRoot(): string {
  const here = __dirname;
  return path.basename(path.dirname(here)) === 'dist' ? path.join(here, '..', '..') : path.join(here, '..');
}

function libc(): string {
  if (process.platform !== 'linux') return 'n/a';
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
  const glibc = report?.header?.glibcVersionRuntime;
  return glibc ? `glibc ${glibc}` : 'musl (or another non-glibc libc)';
}

/** The one documented way to get a binary where no prebuilt one fits (README: "Building from source"). */
const BUILD_FROM_SOURCE = 'npm install --save-dev cmake-js node-addon-api && SOCKUDO_WS_BUILD_FROM_SOURCE=1 npm rebuild sockudo-ws';

/** The prebuilt binaries this copy of the package ships, e.g. "linux-x64 (glibc)". */
function shippedPrebuilds(root: string): string {
  const found: string[] = [];
  try {
    for (const dir of fs.readdirSync(path.join(root, 'prebuilds'))) {
      let files: string[] = [];
      try {
        files = fs.readdirSync(path.join(root, 'prebuilds', dir)).filter((f) => f.endsWith('.node'));
      } catch {
        continue;
      }
      for (const f of files) {
        const libcTag = f.split('.').find((t) => t === 'glibc' || t === 'musl');
        found.push(libcTag ? `${dir} (${libcTag})` : dir);
      }
    }
  } catch {
    /* no prebuilds/ directory */
  }
  return found.length > 0 ? found.join(', ') : 'none';
}

/** What this machine is and what the package has for it, for every "cannot load" message. */
function machineReport(root: string): string[] {
  const napi = Number(process.versions.napi ?? 0);
  return [
    `  platform: ${process.platform}, arch: ${process.arch}, libc: ${libc()}`,
    `  Node.js ${process.versions.node}, N-API ${process.versions.napi ?? 'unknown'} (the addon needs N-API 8)` +
      (napi > 0 && napi < 8 ? ': this Node.js is too old (sockudo-ws needs Node.js >= 20)' : ''),
    `  prebuilt binaries in this package: ${shippedPrebuilds(root)}`,
  ];
}

function buildHint(): string[] {
  return [
    'To build it from source (cmake >= 3.20, a C++20 compiler; see "Building from source" in README.md):',
    `  ${BUILD_FROM_SOURCE}`,
  ];
}

function load(): NativeBinding {
  const root = packageRoot();
  let file: string;
  // For diagnostics (sanitizer builds, a debug build elsewhere): load exactly this file.
  const override = process.env['SOCKUDO_WS_NATIVE_PATH'];
  if (override !== undefined && override !== '') return loadFile(path.resolve(override), root, 'SOCKUDO_WS_NATIVE_PATH');
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const gypBuild = require('node-gyp-build') as { resolve(dir: string): string };
    file = gypBuild.resolve(root);
  } catch (cause) {
    throw new NativeLoadError(
      [
        'sockudo-ws: no native binary was found for this machine.',
        ...machineReport(root),
        `  searched: ${path.join(root, 'build', 'Release')}, ${path.join(root, 'build', 'Debug')}, ${path.join(root, 'prebuilds')}`,
        ...buildHint(),
      ].join('\n'),
      { cause },
    );
  }
  return loadFile(file, root, file.includes(`${path.sep}prebuilds${path.sep}`) ? 'prebuilt' : 'local build');
}

function loadFile(file: string, root: string, origin: 'SOCKUDO_WS_NATIVE_PATH' | 'prebuilt' | 'local build'): NativeBinding {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(file) as NativeBinding;
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    const code = (cause as { code?: unknown } | null)?.code;
    // A load-time configuration error from the addon (for example an unknown SOCKUDO_WS_KERNEL)
    // keeps its own code so callers can tell it from a missing or unusable binary.
    if (typeof code === 'string' && code.startsWith('ERR_SOCKUDO_WS_')) {
      // The addon's load-time codes are listed in NativeLoadErrorCode (today: ERR_SOCKUDO_WS_KERNEL).
      throw new NativeLoadError(`sockudo-ws: loading ${file} failed: ${reason}`, { cause, code: code as NativeLoadErrorCode });
    }
    const lines = [`sockudo-ws: loading ${file} failed: ${reason}`, ...machineReport(root)];
    if (origin === 'SOCKUDO_WS_NATIVE_PATH') {
      lines.push('  SOCKUDO_WS_NATIVE_PATH names this file; unset it to load the binary this package ships.');
    } else if (/GLIBC(XX)?_\d|CXXABI_/.test(reason)) {
      lines.push(`  the ${origin} binary needs a newer C or C++ runtime than this system has.`);
    } else if (origin === 'prebuilt') {
      lines.push('  the prebuilt binary does not work on this system.');
    }
    if (origin === 'local build') lines.push('  (build/ holds a local build; delete it to use a prebuilt binary, or rebuild it.)');
    lines.push(...buildHint());
    throw new NativeLoadError(lines.join('\n'), { cause });
  }
}

/** The addon, loaded once per JavaScript realm (main thread or worker). */
export const native: NativeBinding = load();

/** The file the addon was loaded from (for diagnostics). */
export function nativePath(): string {
  const override = process.env['SOCKUDO_WS_NATIVE_PATH'];
  if (override !== undefined && override !== '') return path.resolve(override);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('node-gyp-build') as { resolve(dir: string): string }).resolve(packageRoot());
}
