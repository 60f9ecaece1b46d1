/**
 * One WebSocket connection, server or client side: an EventEmitter over a native socket, plus
 * async iteration and WHATWG streams with real backpressure.
 *
 * This module also registers the native event handlers (once per JS realm, when it loads): native
 * code calls them with the `target` object given to accept()/connect()/adoptDuplex(), and they
 * dispatch straight to this class's private methods — no per-message closures.
 */
import { EventEmitter } from 'node:events';
import { ReadableStream, WritableStream } from 'node:stream/web';
import { markAsUntransferable } from 'node:worker_threads';

import type { DuplexLink } from './duplex-link.js';
import {
  IllegalConstructorError, InvalidArgumentTypeError, InvalidArgumentValueError, InvalidStateError, OutOfRangeError, WebSocketError,
  type HandshakeErrorCode, type WebSocketErrorCode,
} from './errors.js';
import { MessageQueue } from './message-queue.js';
import { byteLength, checkTopic, controlPayload, isLocalCloseCode, messagePayload, notUtf8 } from './payload.js';
import { type ConnectionTransportName, native, type NativeSocket } from './native.js';

/** `CONNECTING` 0, `OPEN` 1, `CLOSING` 2, `CLOSED` 3 (the WHATWG values). */
export type ReadyState = 0 | 1 | 2 | 3;

/** What `send()`, `ping()` and `pong()` report. */
export type SendStatus =
  /** Handed to the kernel, or corked and leaving at the end of this loop turn. */
  | 'success'
  /** Queued behind data the peer has not taken yet: wait for `drain` before sending more. */
  | 'backpressure'
  /** Not sent: the connection is closing/closed, or `maxBackpressure` would be exceeded. */
  | 'dropped';

/**
 * `send()`'s optional callback (ws 8's form), called on a later tick: without an argument once the
 * message was handed to the transport (status 'success' or 'backpressure': queued in order on the
 * connection; that is not delivery), or with an {@link InvalidStateError} when it was dropped
 * (the connection is not open, or `maxBackpressure` would be exceeded).
 */
export type SendCallback = (error?: InvalidStateError) => void;

/** A received message: text as a string (a Buffer of its UTF-8 with `textAsBuffer`), binary as a Buffer that JavaScript owns. */
export type Message = string | Buffer;

/** Anything `send()` takes. */
export type SendData = string | ArrayBuffer | ArrayBufferView;

/** Options of `send()`. */
export interface SendOptions {
  /** Send as a binary message. Default: `false` for strings, `true` for bytes (bytes sent as text must be valid UTF-8). */
  binary?: boolean;
  /**
   * Compress this message when permessage-deflate was negotiated. Default `true`; messages shorter
   * than `compressionThreshold`, and messages that would not get smaller, are sent as they are.
   */
  compress?: boolean;
}

/** Events of a WebSocket (`ws.on(name, listener)`). */
export interface WebSocketEvents {
  /** Client only; fires just before `connect()` resolves (so it is mostly useful for API parity). */
  open: [];
  /** A message: text as a string (a Buffer with `textAsBuffer`), binary as a Buffer; `isBinary` tells them apart. */
  message: [data: Message, isBinary: boolean];
  /** The connection closed (exactly once). 1005: the close frame had no code; 1006: no close frame at all. */
  close: [code: number, reason: string];
  /** The peer broke the protocol or stopped answering; `close` follows. Emitted only when a listener exists. */
  error: [error: WebSocketError];
  /** The send buffer emptied after a send reported 'backpressure'. */
  drain: [];
  /** A ping arrived (answered automatically unless `autoPong: false`). */
  ping: [data: Buffer];
  /** A pong arrived. */
  pong: [data: Buffer];
}

/** @internal How the server and the client create sockets. */
export interface SocketInit {
  socket: NativeSocket | null;
  protocol: string;
  remoteAddress: string | undefined;
  remotePort: number | undefined;
  url: string | undefined;
  data: unknown;
  link: DuplexLink | null;
  /** The HTTP version that carried the opening handshake (default '1.1'). */
  httpVersion?: '1.1' | '2' | '3';
  /** Called when the connection closes (server bookkeeping). */
  onClosed: ((ws: WebSocket<unknown>) => void) | null;
  /** Server connections: reports subscription changes (null: a client, which cannot subscribe). */
  onSubscription: ((ws: WebSocket<unknown>, topic: string, newCount: number, oldCount: number) => void) | null;
  /** Server connections with a pub/sub adapter: a publish from this connection, for the bus. */
  onPublish?: ((topic: string, payload: string | Uint8Array, binary: boolean, compress: boolean) => void) | null;
}

/** @internal The client's view of a connection attempt. */
export interface ConnectHooks {
  opened(protocol: string, extensions: string): void;
  failed(code: HandshakeErrorCode, message: string, status: number, rawHead: string, body: Buffer): void;
}

/** @internal The receiver of a client HTTP/2 session's native events (lib/http2-client.ts). */
export interface Http2SessionSink {
  onH2Ready(connectProtocol: boolean): void;
  onH2Failed(code: string, message: string): void;
  onH2Closed(): void;
}

/** @internal The receiver of native `upgrade` calls (the object given to `new NativeServer()`). */
export interface UpgradeSink {
  onUpgrade(socket: NativeSocket, method: string, url: string, headers: string[], remoteAddress: string | undefined, remotePort: number,
    protocols: string[], tag: object | undefined, secure: boolean, httpVersion: number, authority: string): void;
  /** An adopted socket's handshake was answered natively (invalid request, or 408). */
  onUpgradeFailed(tag: object, status: number): void;
  /** A native wss:// connection failed in its TLS handshake. */
  onTlsError(code: string, message: string, remoteAddress: string | undefined, remotePort: number): void;
  /** A native listener's connection carried a plain HTTP request (the httpHandler option): its own fd and the bytes read so far. */
  onHttpRequest(fd: number, bytes: Buffer): void;
}

/** @internal Package-private operations on sockets (not exported from the package). */
export interface WebSocketInternals {
  create<D>(init: SocketInit): WebSocket<D>;
  connecting(ws: WebSocket<unknown>, socket: NativeSocket, hooks: ConnectHooks): void;
  open(ws: WebSocket<unknown>, protocol: string, extensions: string): void;
  /** Server side: the extensions negotiated by accept(). */
  accepted(ws: WebSocket<unknown>, extensions: string): void;
  start(ws: WebSocket<unknown>): void;
  abort(ws: WebSocket<unknown>): void;
  /** The native socket of a server connection (null once closed): a publish's `exclude`. */
  nativeSocket(ws: WebSocket<unknown>): NativeSocket | null;
}

/** @internal */
export let internals!: WebSocketInternals;

const STATUS: readonly SendStatus[] = ['success', 'backpressure', 'dropped', 'dropped', 'dropped'];

/** The binding's current message pool (native/binding/env_state.h MessagePool), once marked untransferable. */
let messagePool: ArrayBuffer | null = null;
const STATE_NAMES = ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED'] as const;
const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

/** Only code holding this (internals.create) can construct a WebSocket; `new WebSocket(url)` from user code throws. */
const CONSTRUCT: unique symbol = Symbol('sockudo-ws WebSocket construction');

/** Shown by `new WebSocket(...)` from user code. */
const NO_CONSTRUCTOR = 'WebSocket has no public constructor: open a client connection with `await connect(url, options)`; ' +
  "server connections come from WebSocketServer's 'connection' event (a WHATWG-compatible WebSocket class is planned)";

/** Why a send was dropped, for send()'s callback (`state`: the readyState when send() was called). */
function dropped(state: ReadyState): InvalidStateError {
  return new InvalidStateError(state === OPEN ? 'the message was dropped (maxBackpressure exceeded)'
    : `the WebSocket is not open: readyState ${state} (${STATE_NAMES[state]})`);
}

type Consumer = { kind: 'async iterator' | 'readable'; queue: MessageQueue<Message> };
type Waiter = { resolve: () => void; reject: (e: Error) => void };

/**
 * A WebSocket connection. Obtained from a server's `connection` event / `handleUpgrade()`, or from
 * `connect()`; there is no public constructor (`new WebSocket(...)` throws an
 * {@link IllegalConstructorError}, `ERR_ILLEGAL_CONSTRUCTOR`).
 *
 * Every method is safe after the connection closed: sends report `'dropped'`, `close()`,
 * `terminate()`, `ping()`, `pause()`... do nothing. Only misuse (a wrong argument type, an invalid
 * close code) throws.
 */
export class WebSocket<Data = unknown> extends EventEmitter<WebSocketEvents> {
  /** readyState: the opening handshake is in progress (never observable on sockets handed to user code). */
  static readonly CONNECTING = 0;
  /** readyState: open; messages flow both ways. */
  static readonly OPEN = 1;
  /** readyState: the closing handshake started (by close() or by the peer). */
  static readonly CLOSING = 2;
  /** readyState: closed; the `close` event has fired. */
  static readonly CLOSED = 3;

  /** Per-socket user data: what the server's upgrade hook returned as `data` (writable). */
  data: Data;
  #socket: NativeSocket | null;
  #transport: { readonly name: ConnectionTransportName; readonly reason: string } | undefined;
  #state: ReadyState;
  #protocol: string;
  #extensions = '';
  readonly #remoteAddress: string | undefined;
  readonly #remotePort: number | undefined;
  readonly #url: string | undefined;
  readonly #httpVersion: '1.1' | '2' | '3';
  readonly #link: DuplexLink | null;
  #onClosed: ((ws: WebSocket<unknown>) => void) | null;
  #onSubscription: SocketInit['onSubscription'];
  readonly #onPublish: SocketInit['onPublish'];
  #connect: ConnectHooks | null = null;
  #consumer: Consumer | null = null;
  #queue: MessageQueue<Message> | null = null;
  #userPaused = false;
  #queuePaused = false;
  #readingPaused = false;
  /** What the native side was told about 'ping' / 'pong' listeners (bit 1: ping, bit 2: pong). */
  #controlListeners = 0;
  /** Created on first use (most connections never wait): fewer objects per idle connection. */
  #drainWaiters: Waiter[] | null = null;
  #closeWaiters: (() => void)[] | null = null;
  #readable: ReadableStream<Message> | undefined;
  #writable: WritableStream<SendData> | undefined;

  private constructor(token: typeof CONSTRUCT, init: SocketInit) {
    // Checked before anything else: from user code (any arguments, a subclass) this is misuse,
    // and a half-built object that claims OPEN must never escape.
    if (token !== CONSTRUCT) throw new IllegalConstructorError(NO_CONSTRUCTOR);
    super();
    this.#socket = init.socket;
    this.#state = init.socket === null ? CONNECTING : OPEN;
    this.#protocol = init.protocol;
    this.#remoteAddress = init.remoteAddress;
    this.#remotePort = init.remotePort;
    this.#url = init.url;
    this.#httpVersion = init.httpVersion ?? '1.1';
    this.#link = init.link;
    this.#onClosed = init.onClosed;
    this.#onSubscription = init.onSubscription;
    this.#onPublish = init.onPublish ?? null;
    this.data = init.data as Data;
  }

  /** {@link WebSocket.CONNECTING} on the instance (as in `ws` and the WHATWG API). */
  get CONNECTING(): 0 { return 0; }
  /** {@link WebSocket.OPEN} on the instance. */
  get OPEN(): 1 { return 1; }
  /** {@link WebSocket.CLOSING} on the instance. */
  get CLOSING(): 2 { return 2; }
  /** {@link WebSocket.CLOSED} on the instance. */
  get CLOSED(): 3 { return 3; }

  /** CONNECTING (0), OPEN (1), CLOSING (2: close() was called or the peer's close frame is being answered) or CLOSED (3). */
  get readyState(): ReadyState {
    return this.#state;
  }

  /** The selected subprotocol, '' for none. */
  get protocol(): string {
    return this.#protocol;
  }

  /** Negotiated extensions: the Sec-WebSocket-Extensions value the server answered (e.g. `permessage-deflate; server_no_context_takeover`), '' when none. */
  get extensions(): string {
    return this.#extensions;
  }

  /** The peer's IP address. */
  get remoteAddress(): string | undefined {
    return this.#remoteAddress;
  }

  /** The peer's port. */
  get remotePort(): number | undefined {
    return this.#remotePort;
  }

  /**
   * What moves this connection's bytes: `'io_uring'` (the loop's ring), `'epoll'` (readiness
   * polling), or `'duplex'` (a JS Duplex, e.g. a `handleUpgrade` over a TLS socket); for TLS and
   * HTTP/2 connections, the TCP connection under them. `reason`: why (the client's `transport`
   * option and what the kernel allowed, or the server's choice). Kept after the close.
   */
  get transport(): { readonly name: ConnectionTransportName; readonly reason: string } {
    if (this.#transport === undefined && this.#socket !== null) {
      const [name, reason] = this.#socket.transport();
      this.#transport = Object.freeze({ name, reason });
    }
    return this.#transport ?? { name: 'epoll', reason: 'not connected' };
  }

  /**
   * The HTTP version that carried the opening handshake: '1.1' (an Upgrade on its own
   * connection) or '2' (an extended CONNECT stream of an HTTP/2 connection, RFC 8441).
   */
  get httpVersion(): '1.1' | '2' | '3' {
    return this.#httpVersion;
  }

  /** Client: the URL connected to. Server side: undefined. */
  get url(): string | undefined {
    return this.#url;
  }

  /**
   * Bytes queued for sending that the peer has not taken yet: exact for native sockets; for a
   * Duplex-backed connection (handleUpgrade on a TLS socket) what waits natively plus what the
   * Duplex held at the last write to it or its last 'drain'.
   */
  get bufferedAmount(): number {
    return this.#socket === null ? 0 : this.#socket.bufferedAmount();
  }

  /** Whether reading is paused by pause() (or by a full async-iterator/readable queue). */
  get isPaused(): boolean {
    return this.#readingPaused;
  }

  /**
   * Sends a message: a string as text, bytes (Buffer, ArrayBuffer, any TypedArray, DataView) as
   * binary unless `binary` says otherwise. Large payloads are referenced, not copied, until
   * written: do not modify them before `drain`/the next loop turn.
   * `callback` (ws 8's form, also as the second argument): see {@link SendCallback}.
   * @returns 'success', 'backpressure' (queued: wait for `drain`) or 'dropped' (closed, or `maxBackpressure` exceeded)
   */
  send(data: SendData, callback: SendCallback): SendStatus;
  send(data: SendData, options?: SendOptions, callback?: SendCallback): SendStatus;
  send(data: SendData, options?: SendOptions | SendCallback, callback?: SendCallback): SendStatus {
    let cb = callback;
    let opts = options;
    if (typeof opts === 'function') {
      if (cb !== undefined) throw new InvalidArgumentTypeError('options', 'of type object when a callback follows', opts);
      cb = opts;
      opts = undefined;
    }
    if (cb !== undefined && typeof cb !== 'function') throw new InvalidArgumentTypeError('callback', 'of type function', cb);
    const before = this.#state;
    const status = this.#send(data, opts);
    if (cb !== undefined) process.nextTick(cb, status === 'dropped' ? dropped(before) : undefined);
    return status;
  }

  #send(data: SendData, options: SendOptions | undefined): SendStatus {
    const socket = this.#socket;
    // Bytes sent as text are checked for UTF-8 by the native send (one crossing, not two).
    const { payload, binary } = messagePayload(data, options, socket !== null);
    if (socket === null) return 'dropped';
    const compress = options === undefined || options.compress !== false;
    // For every transport (a Duplex too) the backpressure policy is native.
    const result = socket.send(payload, binary, compress);
    if (result === 5) throw notUtf8(data);
    return STATUS[result]!;
  }

  // --- pub/sub -----------------------------------------------------------------------------

  #pubsubSocket(method: string): NativeSocket | null {
    if (this.#onSubscription === null) throw new InvalidStateError(`${method}() is for server-side connections (publish with server.publish())`);
    return this.#socket;
  }

  /**
   * Subscribes this connection to `topic` (1 to 1024 bytes of UTF-8): `server.publish(topic, …)`
   * then reaches it. Returns false if it was already subscribed or is closed. Subscriptions end
   * when the connection closes.
   */
  subscribe(topic: string): boolean {
    checkTopic(topic);
    const socket = this.#pubsubSocket('subscribe');
    if (socket === null || this.#state !== OPEN) return false;
    const [changed, count] = socket.subscribe(topic);
    if (changed) this.#onSubscription!(this as WebSocket<unknown>, topic, count, count - 1);
    return changed;
  }

  /** Leaves `topic`; returns false if this connection was not subscribed. */
  unsubscribe(topic: string): boolean {
    checkTopic(topic);
    const socket = this.#pubsubSocket('unsubscribe');
    if (socket === null) return false;
    const [changed, count] = socket.unsubscribe(topic);
    if (changed) this.#onSubscription!(this as WebSocket<unknown>, topic, count, count + 1);
    return changed;
  }

  /** Whether this connection is subscribed to `topic`. */
  isSubscribed(topic: string): boolean {
    checkTopic(topic);
    const socket = this.#pubsubSocket('isSubscribed');
    return socket !== null && socket.isSubscribed(topic);
  }

  /** The topics this connection is subscribed to (no particular order). */
  get topics(): string[] {
    if (this.#onSubscription === null || this.#socket === null) return [];
    return this.#socket.topics();
  }

  /**
   * Publishes to every subscriber of `topic` on this thread except this connection (framed and,
   * in shared compression mode, compressed once). Returns how many connections it was queued for.
   */
  publish(topic: string, data: SendData, options?: SendOptions): number {
    checkTopic(topic);
    const { payload, binary } = messagePayload(data, options);
    const socket = this.#pubsubSocket('publish');
    const compress = options === undefined || options.compress !== false;
    const queued = socket === null ? native.publish(topic, payload, binary, compress)[0] : socket.publish(topic, payload, binary, compress)[0];
    // With an adapter, the other nodes' subscribers too (this connection is on this node only).
    this.#onPublish?.(topic, payload, binary, compress);
    return queued;
  }

  /** Sends a ping (payload ≤ 125 bytes). */
  ping(data?: SendData): SendStatus {
    const payload = controlPayload(data);
    return this.#socket === null ? 'dropped' : STATUS[this.#socket.ping(payload)]!;
  }

  /** Sends an unsolicited pong (payload ≤ 125 bytes); pings are answered automatically. */
  pong(data?: SendData): SendStatus {
    const payload = controlPayload(data);
    return this.#socket === null ? 'dropped' : STATUS[this.#socket.pong(payload)]!;
  }

  /**
   * Starts the closing handshake. `code`: 1000-1003, 1007-1014 or 3000-4999 (omitted: an empty
   * close frame, seen by the peer as 1005; with only a reason: 1000). `reason`: at most 123
   * UTF-8 bytes. Messages sent before close() are delivered first. The `close` event follows
   * when the peer answers (or after `closeTimeout`). Does nothing unless the socket is OPEN.
   */
  close(code?: number, reason?: string): void {
    let c = 1005;
    if (code !== undefined) {
      if (typeof code !== 'number') throw new InvalidArgumentTypeError('code', 'of type number', code);
      if (!isLocalCloseCode(code)) throw new OutOfRangeError('code', '1000-1003, 1007-1014 or 3000-4999', code);
      c = code;
    }
    if (reason !== undefined) {
      if (typeof reason !== 'string') throw new InvalidArgumentTypeError('reason', 'of type string', reason);
      if (Buffer.byteLength(reason) > 123) throw new OutOfRangeError('reason', 'at most 123 bytes as UTF-8', reason);
      if (code === undefined && reason !== '') c = 1000;
    }
    if (this.#state !== OPEN || this.#socket === null) return;
    this.#state = CLOSING;
    this.#socket.close(c, c === 1005 ? '' : reason ?? '');
  }

  /** Closes the TCP connection at once, without a closing handshake (`close` fires with 1006). */
  terminate(): void {
    if (this.#state === CLOSED) return;
    this.#socket?.terminate();
  }

  /** Runs `fn` (typically several sends) and writes what it queued immediately, in one syscall, instead of at the end of the loop turn. */
  cork<T>(fn: () => T): T {
    if (typeof fn !== 'function') throw new InvalidArgumentTypeError('fn', 'of type function', fn);
    try {
      return fn();
    } finally {
      this.#socket?.flush();
    }
  }

  /** Stops reading from the peer (TCP backpressure: the peer's sends stall once the kernel buffers fill). */
  pause(): void {
    this.#userPaused = true;
    this.#updateReading();
  }

  /** Undoes pause(). */
  resume(): void {
    this.#userPaused = false;
    this.#updateReading();
  }

  /**
   * Iterates over received messages. At most 16 messages / 1 MiB are buffered: beyond that the
   * socket stops reading until the loop catches up (real TCP backpressure). Ends when the
   * connection closes; throws the {@link WebSocketError} if it failed (after the messages that
   * came before). `break` stops the iteration but leaves the connection open. Only one consumer
   * (an iterator or `readable`) may read at a time; `message` events keep firing meanwhile.
   */
  [Symbol.asyncIterator](): AsyncIterableIterator<Message> {
    const queue = this.#acquire('async iterator');
    const iterator: AsyncIterableIterator<Message> = {
      next: () => queue.next(),
      return: () => {
        this.#release(queue);
        return Promise.resolve({ value: undefined, done: true });
      },
      [Symbol.asyncIterator]() {
        return iterator;
      },
    };
    return iterator;
  }

  /**
   * The received messages as a WHATWG ReadableStream (pull-based, same bounded buffering as the
   * async iterator). Cancelling it closes the connection (1000), like WebSocketStream. Cannot be
   * combined with an active async iterator.
   */
  get readable(): ReadableStream<Message> {
    if (this.#readable !== undefined) return this.#readable;
    const queue = this.#acquire('readable');
    this.#readable = new ReadableStream<Message>({
      pull: (controller) => queue.next().then(
        (r) => (r.done ? controller.close() : controller.enqueue(r.value)),
        (e: unknown) => controller.error(e),
      ),
      cancel: () => {
        this.#release(queue);
        this.close(1000);
      },
    }, { highWaterMark: 0 });
    return this.#readable;
  }

  /**
   * A WHATWG WritableStream of messages (same types as send()). `write()` resolves at once when
   * the message was taken, waits for `drain` under backpressure, and rejects with an
   * {@link InvalidStateError} once the connection is closed or the message was dropped. `close()`
   * closes the connection (1000) and resolves when it is closed; `abort()` terminates it. Usable
   * at the same time as `readable` or the async iterator, from another task.
   */
  get writable(): WritableStream<SendData> {
    return (this.#writable ??= new WritableStream<SendData>({
      write: (chunk) => this.#write(chunk),
      close: () => this.#closeAndWait(),
      abort: () => this.terminate(),
    }));
  }

  // --- internals -------------------------------------------------------------------------------

  #write(chunk: SendData): Promise<void> | undefined {
    if (this.#state !== OPEN) throw new InvalidStateError('the WebSocket is not open');
    const status = this.send(chunk);
    if (status === 'success') return undefined;
    if (status === 'backpressure') return new Promise((resolve, reject) => (this.#drainWaiters ??= []).push({ resolve, reject }));
    throw new InvalidStateError(this.#state === OPEN ? 'the message was dropped (maxBackpressure exceeded)' : 'the WebSocket is not open');
  }

  #closeAndWait(): Promise<void> | undefined {
    if (this.#state === CLOSED) return undefined;
    this.close(1000);
    return new Promise((resolve) => (this.#closeWaiters ??= []).push(resolve));
  }

  #acquire(kind: Consumer['kind']): MessageQueue<Message> {
    const current = this.#consumer;
    if (current !== null && !(current.kind === 'async iterator' && current.queue.ended && current.queue.length === 0)) {
      throw new InvalidStateError(`this WebSocket is already read by ${current.kind === 'readable' ? 'its readable stream' : 'an async iterator'}; only one consumer may read at a time`);
    }
    const queue = new MessageQueue<Message>({
      pause: () => { this.#queuePaused = true; this.#updateReading(); },
      resume: () => { this.#queuePaused = false; this.#updateReading(); },
    });
    if (this.#state === CLOSED) queue.end();
    this.#consumer = { kind, queue };
    this.#queue = queue;
    return queue;
  }

  #release(queue: MessageQueue<Message>): void {
    queue.release();
    if (this.#queue === queue) {
      this.#queue = null;
      this.#consumer = null;
    }
  }

  #updateReading(): void {
    const paused = this.#userPaused || this.#queuePaused;
    if (paused === this.#readingPaused) return;
    this.#readingPaused = paused;
    // A Duplex is paused and resumed by the native side (native.setHandlers flow).
    if (paused) this.#socket?.pause();
    else this.#socket?.resume();
  }

  /** Pings and pongs cross into JS only while someone listens (a ping flood costs no JS otherwise). */
  #syncControlListeners(): void {
    const wanted = (this.listenerCount('ping') > 0 ? 1 : 0) | (this.listenerCount('pong') > 0 ? 2 : 0);
    if (wanted === this.#controlListeners || this.#socket === null) return;
    this.#controlListeners = wanted;
    this.#socket.wantControl((wanted & 1) !== 0, (wanted & 2) !== 0);
  }

  #onMessage(data: Message, isBinary: boolean): void {
    const queue = this.#queue;
    if (queue !== null) queue.push(data);
    this.emit('message', data, isBinary);
  }

  #onDrain(): void {
    const waiters = this.#drainWaiters;
    if (waiters !== null) {
      this.#drainWaiters = null;
      for (const w of waiters) w.resolve();
    }
    this.emit('drain');
  }

  #onError(code: WebSocketErrorCode, message: string, closeCode: number): void {
    const error = new WebSocketError(code, message, closeCode);
    this.#queue?.fail(error);
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }

  #onClose(code: number, reason: string): void {
    if (this.#state === CLOSED) return;
    this.#state = CLOSED;
    this.#queue?.end();
    const drainWaiters = this.#drainWaiters;
    if (drainWaiters !== null) {
      this.#drainWaiters = null;
      const error = new InvalidStateError('the WebSocket closed before the message could be sent');
      for (const w of drainWaiters) w.reject(error);
    }
    // Bookkeeping first (like ws: inside a 'close' listener the socket is no longer in
    // server.clients, nor subscribed); the server's own 'close' follows on a later tick.
    const onSubscription = this.#onSubscription;
    if (onSubscription !== null && this.#socket !== null) {
      const left = this.#socket.unsubscribeAll();
      for (let i = 0; i < left.length; i += 2) onSubscription(this as WebSocket<unknown>, left[i] as string, left[i + 1] as number, (left[i + 1] as number) + 1);
    }
    const onClosed = this.#onClosed;
    this.#onClosed = null;
    onClosed?.(this as WebSocket<unknown>);
    const closeWaiters = this.#closeWaiters;
    this.#closeWaiters = null;
    for (const resolve of closeWaiters ?? []) resolve();
    this.emit('close', code, reason);
  }

  static {
    internals = {
      create: <D>(init: SocketInit) => new WebSocket<D>(CONSTRUCT, init),
      nativeSocket: (ws) => ws.#socket,
      connecting: (ws, socket, hooks) => {
        ws.#socket = socket;
        ws.#syncControlListeners();
        ws.#connect = hooks;
      },
      open: (ws, protocol, extensions) => {
        ws.#connect = null;
        ws.#protocol = protocol;
        ws.#extensions = extensions;
        ws.#state = OPEN;
        ws.emit('open');
      },
      accepted: (ws, extensions) => {
        ws.#extensions = extensions;
      },
      start: (ws) => ws.#socket?.start(),
      abort: (ws) => {
        ws.#connect = null;
        ws.#state = CLOSED;
        ws.#socket?.terminate();
      },
    };
    const ws = (t: object) => t as WebSocket<unknown>;
    // Every way of adding or removing listeners tells the native side whether 'ping' / 'pong'
    // have any (patched once on the prototype: no per-socket cost).
    const proto = WebSocket.prototype as unknown as Record<string, (...args: unknown[]) => unknown>;
    const emitter = EventEmitter.prototype as unknown as Record<string, (...args: unknown[]) => unknown>;
    for (const name of ['on', 'addListener', 'once', 'prependListener', 'prependOnceListener', 'off', 'removeListener', 'removeAllListeners']) {
      const base = emitter[name]!;
      proto[name] = function (this: WebSocket<unknown>, ...args: unknown[]) {
        const r = base.apply(this, args);
        const event = args[0];
        if (event === 'ping' || event === 'pong' || event === undefined) this.#syncControlListeners();
        return r;
      };
    }
    // Before accept the target is the handleUpgrade() record, which owns the link.
    const linkOf = (t: object): DuplexLink | null =>
      t instanceof WebSocket ? t.#link : (t as { link: DuplexLink | null }).link;
    native.setHandlers({
      upgrade: (server, socket, method, url, headers, remoteAddress, remotePort, protocols, tag, secure, httpVersion, authority) =>
        (server as UpgradeSink).onUpgrade(socket, method, url, headers, remoteAddress, remotePort, protocols, tag, secure, httpVersion, authority),
      upgradeFailed: (server, tag, status) => (server as UpgradeSink).onUpgradeFailed(tag, status),
      tlsError: (server, code, message, remoteAddress, remotePort) => (server as UpgradeSink).onTlsError(code, message, remoteAddress, remotePort),
      httpRequest: (server, fd, bytes) => (server as UpgradeSink).onHttpRequest(fd, bytes),
      open: (t, protocol, extensions) => ws(t).#connect?.opened(protocol, extensions),
      openFailed: (t, code, message, status, rawHead, body) => ws(t).#connect?.failed(code, message, status, rawHead, body),
      message: (t, data, isBinary, offset, length) => {
        if (offset === undefined) return ws(t).#onMessage(data as Message, isBinary);
        // A view of the binding's message pool (small byte messages), which is never reused:
        // like Node's own Buffer pool, it cannot be transferred away under later messages.
        if (data !== messagePool) markAsUntransferable(messagePool = data as ArrayBuffer);
        ws(t).#onMessage(Buffer.from(data as ArrayBuffer, offset, length), isBinary);
      },
      ping: (t, data) => ws(t).emit('ping', data),
      pong: (t, data) => ws(t).emit('pong', data),
      close: (t, code, reason) => ws(t).#onClose(code, reason),
      error: (t, code, message, closeCode) => ws(t).#onError(code, message, closeCode),
      drain: (t) => ws(t).#onDrain(),
      write: (t, chunk) => linkOf(t)?.write(chunk) ?? 0,
      end: (t) => linkOf(t)?.end(),
      flow: (t, reading) => linkOf(t)?.setFlow(reading),
      respond: (t, fields, body, end) => linkOf(t)?.respond(fields, body, end),
      h2Ready: (t, connectProtocol) => (t as Http2SessionSink).onH2Ready(connectProtocol),
      h2Failed: (t, code, message) => (t as Http2SessionSink).onH2Failed(code, message),
      h2Closed: (t) => (t as Http2SessionSink).onH2Closed(),
    });
  }
}
