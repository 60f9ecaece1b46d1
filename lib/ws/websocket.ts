/**
 * `ws` 8's `WebSocket` class on sockudo-ws's native core: the same constructor, properties,
 * methods, events and event objects (`ws/lib/websocket.js` is the reference for what is
 * observable: argument checks and their messages, readyState transitions, the callbacks of
 * send/ping/pong, the `close` event's Buffer reason, `binaryType`). Server-side sockets are made
 * by `WebSocketServer` from this module; `new WebSocket(url, protocols, options)` is a client.
 *
 * What differs, because the native core does it differently, is listed in the README's "Coming
 * from ws" section; what cannot be honoured throws instead of pretending (`_socket`, `fin: false`).
 */
import { EventEmitter } from 'node:events';

import { BlobOrder } from '../blob-order.js';
import type { ClientOptions as NativeClientOptions, CompressionOptions } from '../options.js';
import type { SendData, WebSocket as Native } from '../websocket.js';
import { ClientOpening, type OpeningOptions } from './client.js';
import { CloseEvent, ErrorEvent, Event, MessageEvent } from './events.js';

const READY_STATES = ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED'] as const;
const BINARY_TYPES = ['nodebuffer', 'arraybuffer', 'fragments', 'blob'] as const;  // 'blob' as in ws 8.18+
export type BinaryType = (typeof BINARY_TYPES)[number];
const EMPTY = Buffer.alloc(0);
/** ws's default maxPayload (100 MiB). */
export const DEFAULT_MAX_PAYLOAD = 100 * 1024 * 1024;

/** ws's `perMessageDeflate` object (the parameters of RFC 7692 §7.1). */
export interface PerMessageDeflateOptions {
  serverNoContextTakeover?: boolean;
  clientNoContextTakeover?: boolean;
  serverMaxWindowBits?: number;
  clientMaxWindowBits?: number | boolean;
  threshold?: number;
  concurrencyLimit?: number;
  zlibDeflateOptions?: object;
  zlibInflateOptions?: object;
}

/**
 * ws 8's client options. As in ws, the rest go to `http.request()` / `https.request()`, which
 * sends the upgrade request (agent, lookup, family, localAddress, createConnection, and the TLS
 * options of wss: such as ca, cert, key, rejectUnauthorized, servername).
 */
export interface ClientOptions {
  handshakeTimeout?: number;
  headers?: Record<string, string | string[] | number>;
  origin?: string;
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  maxPayload?: number;
  protocolVersion?: 8 | 13;
  skipUTF8Validation?: boolean;
  autoPong?: boolean;
  allowSynchronousEvents?: boolean;
  followRedirects?: boolean;
  maxRedirects?: number;
  finishRequest?: (req: import('node:http').ClientRequest, ws: WebSocket) => void;
  [httpRequestOption: string]: unknown;
}

/**
 * ws's perMessageDeflate (object or boolean) as our compression option, for a server or a client
 * (ws names the parameters by side, we by direction), plus its threshold.
 */
export function compressionOf(pmd: boolean | PerMessageDeflateOptions | undefined, fallback: boolean, role: 'server' | 'client'):
  { compression: NativeClientOptions['compression']; threshold?: number } {
  const on = pmd === undefined ? fallback : pmd !== false;
  if (!on) return { compression: 'disabled' };
  if (pmd === true || pmd === undefined || pmd === false) return { compression: 'dedicated', threshold: 1024 };  // ws's default threshold
  const server = role === 'server';
  const c: { -readonly [K in keyof CompressionOptions]: CompressionOptions[K] } = {};
  const ownNoTakeover = server ? pmd.serverNoContextTakeover : pmd.clientNoContextTakeover;
  const peerNoTakeover = server ? pmd.clientNoContextTakeover : pmd.serverNoContextTakeover;
  const ownBits = server ? pmd.serverMaxWindowBits : pmd.clientMaxWindowBits;
  const peerBits = server ? pmd.clientMaxWindowBits : pmd.serverMaxWindowBits;
  if (ownNoTakeover) c.compressor = 'shared';
  if (peerNoTakeover) c.decompressor = 'shared';
  if (typeof ownBits === 'number') c.windowBits = ownBits;
  if (typeof peerBits === 'number') c.decompressorWindowBits = peerBits;
  const zlib = pmd.zlibDeflateOptions as { level?: number; memLevel?: number } | undefined;
  if (typeof zlib?.level === 'number') c.level = zlib.level;
  if (typeof zlib?.memLevel === 'number') c.memLevel = zlib.memLevel;
  return { compression: c, threshold: pmd.threshold ?? 1024 };
}

// ws's messages for the protocol errors both libraries detect (ws/lib/receiver.js): all are
// RangeErrors but invalid UTF-8, which is an Error. Others keep our message.
const WS_MESSAGES: Record<string, string> = {
  WS_ERR_UNSUPPORTED_MESSAGE_LENGTH: 'Max payload size exceeded',
  WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH: 'Unsupported WebSocket frame: payload length > 2^53 - 1',
  WS_ERR_INVALID_UTF8: 'Invalid WebSocket frame: invalid UTF-8 sequence',
  WS_ERR_EXPECTED_MASK: 'Invalid WebSocket frame: MASK must be set',
  WS_ERR_UNEXPECTED_MASK: 'Invalid WebSocket frame: MASK must be clear',
  WS_ERR_UNEXPECTED_RSV_1: 'Invalid WebSocket frame: RSV1 must be clear',
  WS_ERR_UNEXPECTED_RSV_2_3: 'Invalid WebSocket frame: RSV2 and RSV3 must be clear',
  WS_ERR_EXPECTED_FIN: 'Invalid WebSocket frame: FIN must be set',
};

/** A native WebSocketError as ws would have made it: the same class, message and `code`. */
function wsError(error: Error & { code?: string }): Error {
  const code = error.code ?? '';
  if (!code.startsWith('WS_ERR_')) return error;
  const Ctor = code === 'WS_ERR_INVALID_UTF8' ? Error : RangeError;
  const e = new Ctor(WS_MESSAGES[code] ?? error.message) as Error & { code?: string };
  e.code = code;
  return e;
}

/** ws's notion of a valid close code to send (ws/lib/validation.js isValidStatusCode). */
function isValidStatusCode(code: number): boolean {
  return (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999);
}

function isBlob(data: unknown): data is Blob {
  return typeof Blob !== 'undefined' && data instanceof Blob;
}

function toBuffer(data: unknown): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(String(data));
}

const kAttach = Symbol('attach');
const kOnAttribute = Symbol('on-attribute');
const kListener = Symbol('listener');
const kServer = Symbol('server');

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Listener = ((...args: any[]) => void) & { [kOnAttribute]?: boolean; [kListener]?: unknown; listener?: Listener };

export class WebSocket extends EventEmitter {
  // `require('sockudo-ws/ws').WebSocketServer` etc., as on ws's export (assigned in index.ts).
  declare static WebSocket: typeof WebSocket;
  declare static WebSocketServer: typeof import('./server.js').WebSocketServer;
  declare static Server: typeof import('./server.js').WebSocketServer;
  declare static createWebSocketStream: typeof import('./stream.js').createWebSocketStream;
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  // On the prototype, as in ws (defined below the class).
  declare readonly CONNECTING: 0;
  declare readonly OPEN: 1;
  declare readonly CLOSING: 2;
  declare readonly CLOSED: 3;

  #native: Native | null = null;
  #state: 0 | 1 | 2 | 3 = 0;
  #binaryType: BinaryType = 'nodebuffer';
  #url: string;
  #isServer: boolean;
  #bufferedAfterClose = 0;
  #closeReceived = false;
  #opening: ClientOpening | null = null;
  readonly #order = new BlobOrder();
  #redirects = 0;

  /**
   * `new WebSocket(address, protocols?, options?)` connects as a client (ws's constructor: Node's
   * http client sends the request, the native core takes the connection over after the 101;
   * lib/ws/client.ts). Server-side sockets come from `WebSocketServer`.
   */
  constructor(address: string | URL | null, protocols?: string | string[] | ClientOptions, options?: ClientOptions) {
    super();
    this.#isServer = address === null;
    this.#url = address === null ? '' : String(address);
    if (address === null) return;
    let list: string[] = [];
    let opts: ClientOptions = {};
    if (protocols === undefined || (typeof protocols === 'object' && protocols !== null && !Array.isArray(protocols))) {
      // (url, options) or (url, undefined, options); the subprotocols may come as options.protocols.
      opts = (protocols ?? options ?? {}) as ClientOptions;
      const p = opts.protocols;
      list = p === undefined ? [] : Array.isArray(p) ? p as string[] : [p as string];
    } else {
      list = Array.isArray(protocols) ? protocols : [protocols as unknown as string];  // null, '' and the like fail the token check
      opts = options ?? {};
    }
    this.#startClient(address, list, opts);
  }

  #startClient(address: string | URL, protocols: string[], options: ClientOptions): void {
    if (options.protocolVersion === 8) throw new RangeError('sockudo-ws/ws: protocol version 8 is not supported (only 13, RFC 6455)');
    if (options.protocolVersion !== undefined && options.protocolVersion !== 13) {
      throw new RangeError(`Unsupported protocol version: ${String(options.protocolVersion)} (supported versions: 8, 13)`);
    }
    const { compression, threshold } = compressionOf(options.perMessageDeflate, true, 'client');
    // What the native core runs the connection with once Node's http client has done the handshake.
    const native: NativeClientOptions = {
      textAsBuffer: true,
      idleTimeout: 0,
      autoPing: false,
      closeTimeout: 30_000,
      maxBackpressure: 2 ** 31 - 1,
      maxPayloadLength: options.maxPayload ?? DEFAULT_MAX_PAYLOAD,
      autoPong: options.autoPong ?? true,
      echoCloseReason: true,
      compression,
      ...(threshold === undefined ? {} : { compressionThreshold: threshold }),
    } as NativeClientOptions;
    const self = this;
    this.#opening = new ClientOpening({
      websocket: this,
      emit: (event, ...args) => this.emit(event, ...args),
      listenerCount: (event) => this.listenerCount(event),
      get readyState() { return self.readyState; },
      setUrl: (url) => { this.#url = url; },
      markClosing: () => {
        if (this.#state === WebSocket.CONNECTING) this.#state = WebSocket.CLOSING;
      },
      failOpening: (error) => {
        this.#redirects = this.#opening?.redirects ?? this.#redirects;
        this.#opening = null;
        if (this.#state === WebSocket.CLOSED) return;
        this.#state = WebSocket.CLOSING;
        this.emit('error', error);
        this.#state = WebSocket.CLOSED;
        this.emit('close', 1006, EMPTY);
      },
      opened: (ws) => {
        this.#redirects = this.#opening?.redirects ?? this.#redirects;
        this.#opening = null;
        if (this.#state !== WebSocket.CONNECTING) {
          ws.terminate();
          return;
        }
        this[kAttach](ws);
        this.emit('open');
      },
    }, protocols, options as OpeningOptions, native);
    this.#opening.start(address);
  }

  /** @internal Takes over an open native socket (the server's, or the client's once connected). */
  [kAttach](native: Native): void {
    this.#native = native;
    this.#state = WebSocket.OPEN;
    native.on('message', (data, isBinary) => this.emit('message', isBinary ? this.#convert(data as Buffer) : data, isBinary));  // text: always a Buffer, as in ws
    // ping/pong cross into JS only while someone listens (the native socket's own rule).
    const forward = { ping: (data: Buffer) => this.emit('ping', data), pong: (data: Buffer) => this.emit('pong', data) };
    const sync = (type: 'ping' | 'pong', adding: boolean) => {
      const wanted = this.listenerCount(type) + (adding ? 1 : 0) > 0;
      if (wanted && native.listenerCount(type) === 0) native.on(type, forward[type]);
      else if (!wanted) native.removeListener(type, forward[type]);
    };
    this.on('newListener', (type: string) => { if (type === 'ping' || type === 'pong') sync(type, true); });
    this.on('removeListener', (type: string) => { if (type === 'ping' || type === 'pong') sync(type, false); });
    sync('ping', false);
    sync('pong', false);
    native.on('error', (error) => this.emit('error', wsError(error)));
    native.on('close', (code, reason) => {
      this.#state = WebSocket.CLOSED;
      this.#closeReceived = code !== 1006;
      this.emit('close', code, Buffer.from(reason));
    });
    native.on('drain', () => this.emit('drain'));
  }

  #convert(data: Buffer): Buffer | ArrayBuffer | Buffer[] | Blob {
    if (this.#binaryType === 'arraybuffer') return data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
    if (this.#binaryType === 'fragments') return [data];
    if (this.#binaryType === 'blob') return new Blob([data]);
    return data;
  }

  get readyState(): 0 | 1 | 2 | 3 {
    if (this.#native === null) return this.#state;
    const s = this.#native.readyState;
    return s === WebSocket.OPEN && this.#state === WebSocket.CLOSING ? WebSocket.CLOSING : s;
  }

  get binaryType(): BinaryType {
    return this.#binaryType;
  }

  set binaryType(type: BinaryType) {
    if (!(BINARY_TYPES as readonly string[]).includes(type)) return;  // ignored, as in ws
    this.#binaryType = type;
  }

  get bufferedAmount(): number {
    const queued = this.#bufferedAfterClose + this.#order.pendingBytes;
    return this.#native === null ? queued : this.#native.bufferedAmount + queued;
  }

  /** The negotiated extensions' names, as ws gives them ('permessage-deflate'), not their parameters. */
  get extensions(): string {
    const header = this.#native?.extensions ?? '';
    return header === '' ? '' : header.split(',').map((e) => e.split(';')[0]!.trim()).join();
  }

  get isPaused(): boolean {
    return this.#native?.isPaused ?? false;
  }

  get protocol(): string {
    return this.#native?.protocol ?? '';
  }

  get url(): string {
    return this.#url;
  }

  /** ws's `_req`: the client's upgrade request (an http.ClientRequest) while it is in flight, else null. */
  get _req(): import('node:http').ClientRequest | null {
    return this.#opening?.request ?? null;
  }

  /** ws's `_redirects`: the redirects followed so far. */
  get _redirects(): number {
    return this.#opening !== null ? this.#opening.redirects : this.#redirects;
  }

  /**
   * ws's raw net.Socket: null before a connection exists (as in ws); once there is one it lives in
   * the native core, and reading it throws rather than hand out something that is not it.
   */
  get _socket(): null {
    if (this.#native === null && this.#state !== WebSocket.OPEN) return null;
    throw new Error('sockudo-ws/ws: _socket does not exist (the connection is native, not a net.Socket)');
  }

  #notOpen(cb: ((error?: Error) => void) | undefined, data: unknown): void {
    if (data !== undefined) this.#bufferedAfterClose += isBlob(data) ? data.size : toBuffer(data).length;
    if (cb) process.nextTick(cb, new Error(`WebSocket is not open: readyState ${this.readyState} (${READY_STATES[this.readyState]})`));
  }

  send(data: unknown, options?: { binary?: boolean; compress?: boolean; fin?: boolean; mask?: boolean } | ((error?: Error) => void), cb?: (error?: Error) => void): void {
    if (typeof options === 'function') {
      cb = options;
      options = {};
    }
    if (this.readyState === WebSocket.CONNECTING) throw new Error('WebSocket is not open: readyState 0 (CONNECTING)');
    if (typeof data === 'number') data = data.toString();
    if (this.readyState !== WebSocket.OPEN || this.#native === null) {
      this.#notOpen(cb, data);
      return;
    }
    const opts = { binary: typeof data !== 'string', compress: true, fin: true, ...options };
    if (opts.fin === false) throw new Error('sockudo-ws/ws: send() with fin: false (a message in fragments) is not supported');
    const native = this.#native;
    const done = cb === undefined ? undefined : (error?: Error) => cb!(error ?? (null as never));
    const sendOptions = { binary: opts.binary, compress: opts.compress };
    if (isBlob(data)) {
      this.#order.read(data, (bytes) => this.#afterBlob(native, done, () => native.send(bytes, sendOptions, done)), (error) => this.#blobFailed(error, done));
      return;
    }
    const payload = (data ?? EMPTY) as SendData;
    this.#order.run(() => native.send(payload, sendOptions, done));
  }

  /** A Blob was read: send it, unless the connection closed meanwhile (ws's error then). */
  #afterBlob(native: Native, cb: ((error?: Error) => void) | undefined, send: () => void): void {
    if (native.readyState !== WebSocket.OPEN) {
      if (cb) process.nextTick(cb, new Error('The socket was closed while the blob was being read'));
      return;
    }
    send();
  }

  /** A Blob could not be read (ws: the callback and an 'error' get the reason, and the connection ends). */
  #blobFailed(error: unknown, cb: ((error?: Error) => void) | undefined): void {
    process.nextTick(() => {
      cb?.(error as Error);
      if (this.readyState === WebSocket.CLOSED) return;
      this.#state = WebSocket.CLOSING;
      this.emit('error', error);
      this.#native?.terminate();
    });
  }

  ping(data?: unknown, mask?: unknown, cb?: (error?: Error) => void): void {
    this.#control('ping', data, mask, cb);
  }

  pong(data?: unknown, mask?: unknown, cb?: (error?: Error) => void): void {
    this.#control('pong', data, mask, cb);
  }

  #control(kind: 'ping' | 'pong', data: unknown, mask: unknown, cb: ((error?: Error) => void) | undefined): void {
    if (this.readyState === WebSocket.CONNECTING) throw new Error('WebSocket is not open: readyState 0 (CONNECTING)');
    if (typeof data === 'function') {
      cb = data as (error?: Error) => void;
      data = undefined;
    } else if (typeof mask === 'function') {
      cb = mask as (error?: Error) => void;
    }
    if (typeof data === 'number') data = data.toString();
    const size = data === undefined ? 0 : isBlob(data) ? data.size : toBuffer(data).length;
    if (size > 125) throw new RangeError('The data size must not be greater than 125 bytes');
    if (this.readyState !== WebSocket.OPEN || this.#native === null) {
      this.#notOpen(cb, data);
      return;
    }
    const native = this.#native;
    const done = cb === undefined ? undefined : () => process.nextTick(cb!, null);  // ws passes the socket write's null
    if (isBlob(data)) {
      this.#order.read(data, (bytes) => this.#afterBlob(native, cb, () => {
        native[kind](Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
        done?.();
      }), (error) => this.#blobFailed(error, cb));
      return;
    }
    const payload = data === undefined ? EMPTY : toBuffer(data);
    this.#order.run(() => {
      native[kind](payload);
      done?.();
    });
  }

  close(code?: number, reason?: string | Buffer): void {
    if (this.readyState === WebSocket.CLOSED) return;
    if (this.readyState === WebSocket.CONNECTING) {
      this.#abortHandshake('WebSocket was closed before the connection was established');
      return;
    }
    if (this.readyState === WebSocket.CLOSING) return;
    if (code !== undefined && (typeof code !== 'number' || !isValidStatusCode(code))) {
      throw new TypeError('First argument must be a valid error code number');
    }
    const text = reason === undefined ? '' : Buffer.isBuffer(reason) ? reason.toString() : String(reason);
    if (Buffer.byteLength(text) > 123) throw new RangeError('The message must not be greater than 123 bytes');
    this.#state = WebSocket.CLOSING;
    const native = this.#native!;
    this.#order.run(() => {  // after the Blobs sent before it
      if (code === undefined) native.close();
      else native.close(code, text);
    });
  }

  terminate(): void {
    if (this.readyState === WebSocket.CLOSED) return;
    if (this.readyState === WebSocket.CONNECTING) {
      this.#abortHandshake('WebSocket was closed before the connection was established');
      return;
    }
    this.#native?.terminate();
  }

  #abortHandshake(message: string): void {
    this.#state = WebSocket.CLOSING;
    this.#opening?.abort(message);
  }

  pause(): void {
    if (this.readyState === WebSocket.CONNECTING || this.readyState === WebSocket.CLOSED) return;
    this.#native?.pause();
  }

  resume(): void {
    if (this.readyState === WebSocket.CONNECTING || this.readyState === WebSocket.CLOSED) return;
    this.#native?.resume();
  }

  // --- ws's EventTarget-style API --------------------------------------------------------------

  /** Our wrappers around listeners added by addEventListener (rawListeners: `once` wraps them again). */
  #wrappers(type: string): Listener[] {
    return (this.rawListeners(type) as Listener[]).map((l) => l.listener ?? l).filter((l) => kListener in l);
  }

  addEventListener(type: string, handler: unknown, options: { once?: boolean; [kOnAttribute]?: boolean } = {}): void {
    for (const existing of this.#wrappers(type)) {
      if (!options[kOnAttribute] && existing[kListener] === handler && !existing[kOnAttribute]) return;
    }
    const call = (event: Event) => {
      event.target = this;
      if (typeof handler === 'function') handler.call(this, event);
      else (handler as { handleEvent(e: Event): void }).handleEvent(event);
    };
    let wrapper: Listener;
    if (type === 'message') {
      wrapper = ((data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => call(new MessageEvent('message', { data: isBinary ? data : String(Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data)) }))) as Listener;
    } else if (type === 'close') {
      wrapper = ((code: number, reason: Buffer) => call(new CloseEvent('close', { code, reason: reason.toString(), wasClean: this.#closeReceived }))) as Listener;
    } else if (type === 'error') {
      wrapper = ((error: Error) => call(new ErrorEvent('error', { error, message: error.message }))) as Listener;
    } else if (type === 'open') {
      wrapper = (() => call(new Event('open'))) as Listener;
    } else {
      return;
    }
    wrapper[kOnAttribute] = options[kOnAttribute] === true;
    wrapper[kListener] = handler;
    if (options.once) this.once(type, wrapper);
    else this.on(type, wrapper);
  }

  removeEventListener(type: string, handler: unknown): void {
    for (const listener of this.#wrappers(type)) {
      if (listener[kListener] === handler && !listener[kOnAttribute]) {
        this.removeListener(type, listener);
        break;
      }
    }
  }

  #onAttribute(type: string): unknown {
    for (const listener of this.#wrappers(type)) if (listener[kOnAttribute]) return listener[kListener];
    return null;
  }

  #setOnAttribute(type: string, handler: unknown): void {
    for (const listener of this.#wrappers(type)) {
      if (listener[kOnAttribute]) {
        this.removeListener(type, listener);
        break;
      }
    }
    if (typeof handler !== 'function') return;
    this.addEventListener(type, handler, { [kOnAttribute]: true });
  }

  get onopen(): unknown { return this.#onAttribute('open'); }
  set onopen(handler: unknown) { this.#setOnAttribute('open', handler); }
  get onmessage(): unknown { return this.#onAttribute('message'); }
  set onmessage(handler: unknown) { this.#setOnAttribute('message', handler); }
  get onclose(): unknown { return this.#onAttribute('close'); }
  set onclose(handler: unknown) { this.#setOnAttribute('close', handler); }
  get onerror(): unknown { return this.#onAttribute('error'); }
  set onerror(handler: unknown) { this.#setOnAttribute('error', handler); }

  /** @internal */
  get [kServer](): boolean {
    return this.#isServer;
  }
}

// ws's property shapes: the ready-state constants are enumerable, read-only and non-configurable on
// the class and the prototype; the attributes are enumerable accessors of the prototype.
for (const [value, name] of READY_STATES.entries()) {
  Object.defineProperty(WebSocket, name, { enumerable: true, writable: false, configurable: false, value });
  Object.defineProperty(WebSocket.prototype, name, { enumerable: true, writable: false, configurable: false, value });
}
for (const name of ['binaryType', 'bufferedAmount', 'extensions', 'isPaused', 'protocol', 'readyState', 'url', 'onopen', 'onerror', 'onclose', 'onmessage']) {
  Object.defineProperty(WebSocket.prototype, name, { enumerable: true });
}

/** @internal A server-side socket around an open native one. */
export function serverSocket(native: Native): WebSocket {
  const ws = new WebSocket(null);
  ws[kAttach](native);
  return ws;
}
