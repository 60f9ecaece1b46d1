/**
 * Typed errors (DESIGN §7). Two families:
 *
 * - **Misuse by the local program** throws synchronously (or rejects, for Promise APIs) with one
 *   of {@link InvalidArgumentTypeError} (`ERR_INVALID_ARG_TYPE`), {@link InvalidArgumentValueError}
 *   (`ERR_INVALID_ARG_VALUE`), {@link OutOfRangeError} (`ERR_OUT_OF_RANGE`) or
 *   {@link InvalidStateError} (`ERR_SOCKUDO_WS_INVALID_STATE`).
 * - **Violations by the peer** (and liveness failures) close the connection with the RFC 6455
 *   close code and are reported as a {@link WebSocketError} carrying the native `WS_ERR_*` code.
 *
 * Handshake failures have their own classes: {@link HandshakeError} (client: the server did not
 * accept) and {@link UpgradeError} (server: `handleUpgrade()` did not produce a connection).
 * Every class has a stable `code`; match on `code`, not on the message. The codes are
 * string-literal unions ({@link ErrorCode} and the per-class types in error-codes.ts), so a
 * `switch` refuses a misspelled one at compile time.
 */
import type { AdapterErrorCode, HandshakeErrorCode, NativeLoadErrorCode, SystemErrorCode, TlsContextErrorCode, UpgradeErrorCode, WebSocketErrorCode } from './error-codes.js';

export type {
  AdapterErrorCode, ErrorCode, HandshakeErrorCode, NativeLoadErrorCode, SystemErrorCode, TlsContextErrorCode, TlsErrorCode, UpgradeErrorCode, UsageErrorCode, WebSocketErrorCode,
} from './error-codes.js';

/** A value of the wrong type was passed to a sockudo-ws function. */
export class InvalidArgumentTypeError extends TypeError {
  readonly code = 'ERR_INVALID_ARG_TYPE' as const;
  constructor(name: string, expected: string, actual: unknown) {
    super(`The "${name}" argument must be ${expected}. Received ${describe(actual)}`);
    this.name = 'InvalidArgumentTypeError';
  }
}

/** A value of the right type but outside the accepted range was passed. */
export class OutOfRangeError extends RangeError {
  readonly code = 'ERR_OUT_OF_RANGE' as const;
  constructor(name: string, range: string, actual: unknown) {
    super(`The value of "${name}" is out of range. It must be ${range}. Received ${describe(actual)}`);
    this.name = 'OutOfRangeError';
  }
}

/** A value of the right type that is not acceptable for another reason (an unknown option, a bad URL, conflicting options, ...). */
export class InvalidArgumentValueError extends TypeError {
  readonly code = 'ERR_INVALID_ARG_VALUE' as const;
  constructor(name: string, reason: string, actual: unknown, options?: { cause?: unknown }) {
    super(`The argument "${name}" ${reason}. Received ${describe(actual)}`, options);
    this.name = 'InvalidArgumentValueError';
  }
}

/** An operation that the object's current state does not allow (two readers of one socket, a server that is closing, ...). */
export class InvalidStateError extends Error {
  readonly code = 'ERR_SOCKUDO_WS_INVALID_STATE' as const;
  constructor(message: string) {
    super(message);
    this.name = 'InvalidStateError';
  }
}

/**
 * The pub/sub adapter (`redisAdapter()`): its client package is missing, its bus connection is
 * in trouble (an 'error' event; local delivery continues), or a cluster request failed.
 */
export class AdapterError extends Error {
  readonly code: AdapterErrorCode;
  constructor(code: AdapterErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AdapterError';
    this.code = code;
  }
}

/**
 * A class that has no public constructor was constructed: `new WebSocket(url)` (open a client
 * connection with `connect()`; server connections come from the server's `connection` event), or
 * the package's default export / `require('sockudo-ws')` used as a class, as the `ws` idiom
 * `import WebSocket from 'ws'` would. Node's code for the same misuse (`new AbortSignal()`).
 */
export class IllegalConstructorError extends TypeError {
  readonly code = 'ERR_ILLEGAL_CONSTRUCTOR' as const;
  constructor(message: string) {
    super(message);
    this.name = 'IllegalConstructorError';
  }
}

/** The native addon could not be found or loaded for this platform. */
export class NativeLoadError extends Error {
  /** `ERR_SOCKUDO_WS_NATIVE_LOAD`, or the addon's own load-time code (`ERR_SOCKUDO_WS_KERNEL`). */
  readonly code: NativeLoadErrorCode;
  constructor(message: string, options?: { cause?: unknown; code?: NativeLoadErrorCode }) {
    super(message, options);
    this.name = 'NativeLoadError';
    this.code = options?.code ?? 'ERR_SOCKUDO_WS_NATIVE_LOAD';
  }
}

/**
 * TLS options that OpenSSL refused: a key or certificate that does not parse (`ERR_OSSL_PEM_NO_START_LINE`),
 * a wrong passphrase (`ERR_OSSL_EVP_BAD_DECRYPT`), a key that does not match the certificate, an
 * unknown cipher. Thrown by `new WebSocketServer({ tls })`, `setSecureContext()` and `connect()`.
 */
export class TlsContextError extends Error {
  readonly code: TlsContextErrorCode;
  constructor(code: TlsContextErrorCode, message: string) {
    super(message);
    this.name = 'TlsContextError';
    this.code = code;
  }
}

/**
 * A client's TLS handshake with a native `wss://` listener failed (the server's `tlsClientError`
 * event): `code` is OpenSSL's reason as Node names it (`ERR_SSL_WRONG_VERSION_NUMBER` for plain
 * HTTP on the TLS port, `ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE` under `requestCert`, ...).
 */
export class TlsClientError extends Error {
  readonly code: `ERR_SSL_${string}` | 'ERR_SSL_FAILED';
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  constructor(code: string, message: string, remoteAddress: string | undefined, remotePort: number | undefined) {
    super(message);
    this.name = 'TlsClientError';
    this.code = code as TlsClientError['code'];
    this.remoteAddress = remoteAddress;
    this.remotePort = remotePort;
  }
}

/** An operation was aborted through an AbortSignal (Node's convention: name `AbortError`, code `ABORT_ERR`). */
export class AbortError extends Error {
  readonly code = 'ABORT_ERR' as const;
  constructor(message = 'The operation was aborted', options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AbortError';
  }
}

/**
 * The peer broke the protocol (RFC 6455), sent more than the configured limits, or stopped
 * answering (idle / pong timeout). The connection is closed with `closeCode` (1002, 1007, 1009, or
 * 1006 for liveness failures, which send no close frame); the `close` event follows.
 */
export class WebSocketError extends Error {
  /** Stable native code, e.g. `WS_ERR_INVALID_UTF8`, `WS_ERR_UNSUPPORTED_MESSAGE_LENGTH`, `WS_ERR_PONG_TIMEOUT`. */
  readonly code: WebSocketErrorCode;
  /** The close code the connection closes with. */
  readonly closeCode: number;
  constructor(code: WebSocketErrorCode, message: string, closeCode: number) {
    super(message);
    this.name = 'WebSocketError';
    this.code = code;
    this.closeCode = closeCode;
  }
}

/**
 * Client: the opening handshake failed. `code` is a `WS_ERR_HANDSHAKE_*` code (the server's
 * response broke RFC 6455 §4.1; `WS_ERR_HANDSHAKE_BAD_STATUS` for a status other than 101) or a
 * system error name (`ECONNREFUSED`, `ETIMEDOUT` for the handshake timeout, `ENOTFOUND`, ...).
 * `status` and `headers` describe the response when one arrived (else 0 and `{}`).
 */
export class HandshakeError extends Error {
  readonly code: HandshakeErrorCode;
  /** HTTP status of the response; 0 when no response head was received. */
  readonly status: number;
  /** Response headers, names lower-cased, repeated fields joined with ", ". */
  readonly headers: Readonly<Record<string, string>>;
  /**
   * The response body of a refused upgrade (what the server's `upgrade` hook or proxy said): its
   * Content-Length bytes, or what arrived until the server closed, at most 64 KiB, read within
   * `handshakeTimeout`; a chunked body as received (not decoded). Empty when there was none.
   */
  readonly body: Buffer;
  constructor(code: HandshakeErrorCode, message: string, status = 0, headers: Readonly<Record<string, string>> = {},
    options?: { cause?: unknown; body?: Buffer }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HandshakeError';
    this.code = code;
    this.status = status;
    this.headers = headers;
    this.body = options?.body ?? Buffer.alloc(0);
  }
}

/** Server: an upgrade handed to `handleUpgrade()` did not become a WebSocket (the peer already got the HTTP answer). */
export class UpgradeError extends Error {
  readonly code: UpgradeErrorCode;
  /** HTTP status that was sent, or 0 when unknown / none. */
  readonly status: number;
  constructor(code: UpgradeErrorCode, message: string, status = 0, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UpgradeError';
    this.code = code;
    this.status = status;
  }
}

/**
 * A system error as Node reports them (`listen()` and `dns.lookup()` failures): an Error with the
 * system error name as `code`, and the call that failed.
 */
export interface SystemError extends Error {
  code: SystemErrorCode;
  errno?: number;
  syscall?: string;
  hostname?: string;
  address?: string;
  port?: number;
}

/** A short, safe description of a value for error messages (Node's style). */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'function') return `function ${value.name || '<anonymous>'}`;
  if (typeof value === 'object') {
    const ctor = (value as { constructor?: { name?: string } }).constructor?.name;
    return ctor ? `an instance of ${ctor}` : 'an object';
  }
  if (typeof value === 'string') {
    const shown = value.length > 28 ? `${value.slice(0, 25)}...` : value;
    return `type string (${JSON.stringify(shown)})`;
  }
  return `type ${typeof value} (${String(value)})`;
}
