/**
 * `sockudo-ws/whatwg`: the browser's `WebSocket` (WHATWG WebSockets Standard), as Node's global
 * `WebSocket` (undici) has it, on sockudo-ws's native client: an EventTarget with `open`,
 * `message` (a MessageEvent whose data is a string, a Blob or an ArrayBuffer per `binaryType`),
 * `error` and `close` (a CloseEvent: `code`, `reason`, `wasClean`), the `on*` attributes,
 * `readyState`, `bufferedAmount`, `extensions`, `protocol`, `url`, and `send`/`close` with the
 * standard's argument checks and DOMExceptions. Code written for browsers, or for the global
 * `WebSocket` (pusher-js's web build, graphql-ws clients), can take it as its WebSocket.
 */
import { Blob } from 'node:buffer';

import { BlobOrder } from './blob-order.js';
import { connect } from './client.js';
import type { ClientOptions } from './options.js';
import type { WebSocket as Native } from './websocket.js';

const TOKEN_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** The `close` event (not a Node global before Node 23). */
export class CloseEvent extends Event {
  readonly wasClean: boolean;
  readonly code: number;
  readonly reason: string;
  constructor(type: string, init: { wasClean?: boolean; code?: number; reason?: string } = {}) {
    super(type);
    this.wasClean = init.wasClean ?? false;
    this.code = init.code ?? 0;
    this.reason = init.reason ?? '';
  }
}

type Handler = ((this: WebSocket, event: Event) => unknown) | null;

export class WebSocket extends EventTarget {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  readonly CONNECTING = 0;
  readonly OPEN = 1;
  readonly CLOSING = 2;
  readonly CLOSED = 3;

  #url: URL;
  #state: 0 | 1 | 2 | 3 = 0;
  #native: Native | null = null;
  #binaryType: 'blob' | 'arraybuffer' = 'blob';
  #protocol = '';
  #extensions = '';
  #afterClose = 0;  // bytes of send() calls after closing started (the standard counts them)
  #abort = new AbortController();
  #handlers = new Map<string, { handler: Handler; listener: (event: Event) => void }>();
  readonly #order = new BlobOrder();
  #blobUnreadable = false;  // a Blob could not be read: the connection fails (error, then close 1006)  // a Blob being read: later sends and the close wait behind it

  constructor(url: string | URL, protocols: string | string[] = [], options: ClientOptions = {}) {
    super();
    let parsed: URL;
    try {
      parsed = new URL(String(url));
    } catch {
      throw new DOMException(`Failed to construct 'WebSocket': the URL '${String(url)}' is invalid.`, 'SyntaxError');
    }
    if (parsed.protocol === 'http:') parsed.protocol = 'ws:';
    else if (parsed.protocol === 'https:') parsed.protocol = 'wss:';
    if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') {
      throw new DOMException(`Failed to construct 'WebSocket': the URL's scheme must be either 'ws' or 'wss'. '${parsed.protocol}' is not allowed.`, 'SyntaxError');
    }
    if (parsed.hash !== '' || String(url).endsWith('#')) {
      throw new DOMException(`Failed to construct 'WebSocket': the URL contains a fragment identifier ('${parsed.hash}'). Fragment identifiers are not allowed in WebSocket URLs.`, 'SyntaxError');
    }
    const list = typeof protocols === 'string' ? [protocols] : [...protocols];
    if (new Set(list.map((p) => p.toLowerCase())).size !== list.length || list.some((p) => !TOKEN_RE.test(p))) {
      throw new DOMException(`Failed to construct 'WebSocket': the subprotocol list is invalid or has duplicates.`, 'SyntaxError');
    }
    this.#url = parsed;
    connect(parsed, { ...options, ...(list.length > 0 ? { protocols: list } : {}), signal: this.#abort.signal })
      .then((native) => this.#opened(native), () => this.#failed());
  }

  #opened(native: Native): void {
    if (this.#state !== WebSocket.CONNECTING) {  // close() while connecting
      native.terminate();
      this.#failed();
      return;
    }
    this.#native = native;
    this.#state = WebSocket.OPEN;
    this.#protocol = native.protocol;
    this.#extensions = native.extensions;
    native.on('message', (data, isBinary) => {
      let payload: string | Blob | ArrayBuffer;
      if (!isBinary) payload = data as string;
      else if (this.#binaryType === 'blob') payload = new Blob([data as Buffer]);
      else payload = (data as Buffer).buffer.slice((data as Buffer).byteOffset, (data as Buffer).byteOffset + (data as Buffer).byteLength) as ArrayBuffer;
      this.dispatchEvent(new MessageEvent('message', { data: payload, origin: this.#url.origin }));
    });
    // An error we detected (a protocol violation: we "fail the WebSocket connection") fires
    // `error` before `close`; a connection that merely dropped closes uncleanly without one.
    let failed = false;
    native.on('error', () => { failed = true; });
    native.on('close', (code, reason) => {
      const clean = code !== 1006;
      this.#state = WebSocket.CLOSED;
      if (failed || this.#blobUnreadable) this.dispatchEvent(new Event('error'));
      this.dispatchEvent(new CloseEvent('close', { wasClean: clean, code, reason }));
    });
    this.dispatchEvent(new Event('open'));
  }

  // The standard's "fail the WebSocket connection": an error event, then close 1006.
  #failed(): void {
    if (this.#state === WebSocket.CLOSED) return;
    this.#state = WebSocket.CLOSED;
    this.dispatchEvent(new Event('error'));
    this.dispatchEvent(new CloseEvent('close', { wasClean: false, code: 1006, reason: '' }));
  }

  get url(): string {
    return this.#url.href;
  }

  get readyState(): 0 | 1 | 2 | 3 {
    return this.#state;
  }

  get bufferedAmount(): number {
    return (this.#native?.bufferedAmount ?? 0) + this.#order.pendingBytes + this.#afterClose;
  }

  get extensions(): string {
    return this.#extensions;
  }

  get protocol(): string {
    return this.#protocol;
  }

  get binaryType(): 'blob' | 'arraybuffer' {
    return this.#binaryType;
  }

  set binaryType(type: 'blob' | 'arraybuffer') {
    // WebIDL: a value outside the enum is ignored (browsers do; undici 6 resets to 'blob').
    if (type === 'blob' || type === 'arraybuffer') this.#binaryType = type;
  }

  send(data: string | ArrayBufferLike | ArrayBufferView | Blob): void {
    if (arguments.length === 0) throw new TypeError("Failed to execute 'send' on 'WebSocket': 1 argument required, but only 0 present.");
    if (this.#state === WebSocket.CONNECTING) throw new DOMException("Failed to execute 'send' on 'WebSocket': Still in CONNECTING state.", 'InvalidStateError');
    const size = typeof data === 'string' ? Buffer.byteLength(data) : data instanceof Blob ? data.size : data.byteLength;
    if (this.#state !== WebSocket.OPEN || this.#native === null) {
      this.#afterClose += size;  // the standard counts them (browsers do; undici 6 does not)
      return;
    }
    const native = this.#native;
    if (data instanceof Blob) {
      // Read first; everything sent after it waits (BlobOrder), so messages keep their order. A
      // Blob that cannot be read fails the connection, as a browser does.
      this.#order.read(data, (bytes) => native.send(bytes, { binary: true }), () => {
        this.#blobUnreadable = true;
        native.terminate();
      });
      return;
    }
    const payload = typeof data === 'string' ? data
      : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data);
    this.#order.run(() => native.send(payload, { binary: typeof payload !== 'string' }));
  }

  close(code?: number, reason?: string): void {
    if (code !== undefined) {
      code = Number(code) | 0;  // [Clamp] unsigned short
      if (code !== 1000 && !(code >= 3000 && code <= 4999)) {
        throw new DOMException(`Failed to execute 'close' on 'WebSocket': The close code must be either 1000, or between 3000 and 4999. ${code} is neither.`, 'InvalidAccessError');
      }
    }
    const text = reason === undefined ? undefined : String(reason);
    if (text !== undefined && Buffer.byteLength(text) > 123) {
      throw new DOMException(`Failed to execute 'close' on 'WebSocket': The close reason must not be greater than 123 UTF-8 bytes.`, 'SyntaxError');
    }
    if (this.#state === WebSocket.CLOSING || this.#state === WebSocket.CLOSED) return;
    this.#state = WebSocket.CLOSING;
    if (this.#native === null) {
      this.#abort.abort();  // connecting: the attempt fails (an error event, then close 1006)
      return;
    }
    const native = this.#native;
    this.#order.run(() => native.close(code, text));  // after the Blobs sent before it
  }

  #getHandler(type: string): Handler {
    return this.#handlers.get(type)?.handler ?? null;
  }

  #setHandler(type: string, handler: Handler): void {
    const old = this.#handlers.get(type);
    if (old) this.removeEventListener(type, old.listener);
    if (typeof handler !== 'function') {
      this.#handlers.delete(type);
      return;
    }
    const listener = (event: Event) => handler.call(this, event);
    this.#handlers.set(type, { handler, listener });
    this.addEventListener(type, listener);
  }

  get onopen(): Handler { return this.#getHandler('open'); }
  set onopen(h: Handler) { this.#setHandler('open', h); }
  get onmessage(): Handler { return this.#getHandler('message'); }
  set onmessage(h: Handler) { this.#setHandler('message', h); }
  get onerror(): Handler { return this.#getHandler('error'); }
  set onerror(h: Handler) { this.#setHandler('error', h); }
  get onclose(): Handler { return this.#getHandler('close'); }
  set onclose(h: Handler) { this.#setHandler('close', h); }
}
