/**
 * The stable `code`s of every error sockudo-ws creates, as lists (so a test can check them against
 * the native sources and Node's system error map) and as string-literal union types (so a
 * `switch (error.code)` refuses a misspelled code at compile time).
 *
 * The WS_ERR_* names follow `ws` 8 where `ws` has the same error (`WS_ERR_INVALID_UTF8`,
 * `WS_ERR_UNSUPPORTED_MESSAGE_LENGTH`, ...). Sources: native/core/protocol/errors.cc (kErrors)
 * and native/core/handshake/handshake_errors.cc (handshake_error_name).
 */

/** {@link WebSocketError} codes: the peer broke RFC 6455, exceeded a limit, or stopped answering. */
export const WEBSOCKET_ERROR_CODES = [
  'WS_ERR_INVALID_OPCODE',
  'WS_ERR_UNEXPECTED_RSV_1',
  'WS_ERR_UNEXPECTED_RSV_2_3',
  'WS_ERR_EXPECTED_MASK',
  'WS_ERR_UNEXPECTED_MASK',
  'WS_ERR_EXPECTED_FIN',
  'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH',
  'WS_ERR_NON_MINIMAL_LENGTH',
  'WS_ERR_INVALID_PAYLOAD_LENGTH',
  'WS_ERR_UNEXPECTED_CONTINUATION',
  'WS_ERR_EXPECTED_CONTINUATION',
  'WS_ERR_INVALID_CLOSE_PAYLOAD',
  'WS_ERR_INVALID_CLOSE_CODE',
  'WS_ERR_INVALID_UTF8',
  'WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH',
  'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH',
  'WS_ERR_INVALID_COMPRESSED_DATA',
  'WS_ERR_COMPRESSOR_UNAVAILABLE',
  'WS_ERR_IDLE_TIMEOUT',
  'WS_ERR_PONG_TIMEOUT',
] as const;

/** A {@link WebSocketError}'s `code`. */
export type WebSocketErrorCode = (typeof WEBSOCKET_ERROR_CODES)[number];

/** {@link HandshakeError} codes for a server response that broke RFC 6455 §4.1 (or is not 101). */
export const HANDSHAKE_RESPONSE_ERROR_CODES = [
  'WS_ERR_HANDSHAKE_HEAD_TOO_LARGE',
  'WS_ERR_HANDSHAKE_MALFORMED',
  'WS_ERR_HANDSHAKE_BAD_STATUS',
  'WS_ERR_HANDSHAKE_BAD_UPGRADE',
  'WS_ERR_HANDSHAKE_BAD_CONNECTION',
  'WS_ERR_HANDSHAKE_BAD_ACCEPT',
  'WS_ERR_HANDSHAKE_BAD_PROTOCOL',
  'WS_ERR_HANDSHAKE_BAD_EXTENSION',
] as const;

/**
 * {@link HandshakeError} codes of `connectHttp2()` / `connectHttp3()` (and `connect()` with
 * `http2` / `http3`, which fall back on them): the server did not agree to the protocol, or does
 * not accept WebSockets on it (no extended CONNECT), or the QUIC connection failed otherwise.
 */
export const SESSION_ERROR_CODES = [
  'ERR_SOCKUDO_WS_HTTP2_NOT_NEGOTIATED',
  'ERR_SOCKUDO_WS_HTTP2_NO_EXTENDED_CONNECT',
  'ERR_SOCKUDO_WS_HTTP3_NOT_NEGOTIATED',
  'ERR_SOCKUDO_WS_HTTP3_NO_EXTENDED_CONNECT',
  'ERR_SOCKUDO_WS_HTTP3_FAILED',
] as const;

/**
 * System error names, as Node reports them (`util.getSystemErrorMap()`: libuv's names, which the
 * native transport uses too), plus `ENOTFOUND`, which Node's `dns` uses for unknown host names.
 */
export const SYSTEM_ERROR_CODES = [
  'E2BIG', 'EACCES', 'EADDRINUSE', 'EADDRNOTAVAIL', 'EAFNOSUPPORT', 'EAGAIN', 'EAI_ADDRFAMILY', 'EAI_AGAIN', 'EAI_BADFLAGS',
  'EAI_BADHINTS', 'EAI_CANCELED', 'EAI_FAIL', 'EAI_FAMILY', 'EAI_MEMORY', 'EAI_NODATA', 'EAI_NONAME', 'EAI_OVERFLOW', 'EAI_PROTOCOL',
  'EAI_SERVICE', 'EAI_SOCKTYPE', 'EALREADY', 'EBADF', 'EBUSY', 'ECANCELED', 'ECHARSET', 'ECONNABORTED', 'ECONNREFUSED', 'ECONNRESET',
  'EDESTADDRREQ', 'EEXIST', 'EFAULT', 'EFBIG', 'EFTYPE', 'EHOSTDOWN', 'EHOSTUNREACH', 'EILSEQ', 'EINTR', 'EINVAL', 'EIO', 'EISCONN',
  'EISDIR', 'ELOOP', 'EMFILE', 'EMLINK', 'EMSGSIZE', 'ENAMETOOLONG', 'ENETDOWN', 'ENETUNREACH', 'ENFILE', 'ENOBUFS', 'ENODATA',
  'ENODEV', 'ENOENT', 'ENOMEM', 'ENONET', 'ENOPROTOOPT', 'ENOSPC', 'ENOSYS', 'ENOTCONN', 'ENOTDIR', 'ENOTEMPTY', 'ENOTFOUND',
  'ENOTSOCK', 'ENOTSUP', 'ENOTTY', 'ENXIO', 'EOF', 'EOVERFLOW', 'EPERM', 'EPIPE', 'EPROTO', 'EPROTONOSUPPORT', 'EPROTOTYPE',
  'ERANGE', 'EREMOTEIO', 'EROFS', 'ESHUTDOWN', 'ESOCKTNOSUPPORT', 'ESPIPE', 'ESRCH', 'ETIMEDOUT', 'ETXTBSY', 'EUNATCH', 'EXDEV',
  'UNKNOWN',
] as const;

/** A system error name (`ECONNREFUSED`, `EADDRINUSE`, `ENOTFOUND`, `ETIMEDOUT`, ...). */
export type SystemErrorCode = (typeof SYSTEM_ERROR_CODES)[number];

/**
 * Why a `wss://` client refused the server's certificate: OpenSSL's verification results under
 * the names Node gives them, and Node's code for a certificate that does not name the host.
 * Source: native/transport/tls_context.cc (verify_error_code).
 */
export const TLS_VERIFY_ERROR_CODES = [
  'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_CRL', 'UNABLE_TO_DECRYPT_CERT_SIGNATURE', 'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'CERT_SIGNATURE_FAILURE', 'CERT_NOT_YET_VALID', 'CERT_HAS_EXPIRED', 'ERROR_IN_CERT_NOT_BEFORE_FIELD', 'ERROR_IN_CERT_NOT_AFTER_FIELD',
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'CERT_CHAIN_TOO_LONG', 'CERT_REVOKED', 'INVALID_CA', 'PATH_LENGTH_EXCEEDED', 'INVALID_PURPOSE', 'CERT_UNTRUSTED', 'CERT_REJECTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
] as const;

/**
 * A TLS failure during a client's handshake: a refused certificate ({@link TLS_VERIFY_ERROR_CODES}),
 * or the TLS layer's own error as Node names it (`ERR_SSL_<OpenSSL reason>`, e.g.
 * `ERR_SSL_WRONG_VERSION_NUMBER` from a server that does not speak TLS, or
 * `ERR_SSL_TLSV1_ALERT_UNKNOWN_CA` when the server refused our client certificate).
 */
export type TlsErrorCode = (typeof TLS_VERIFY_ERROR_CODES)[number] | `ERR_SSL_${string}`;

/** A {@link TlsContextError}'s `code`: OpenSSL's (`ERR_OSSL_<LIB>_<REASON>`, as Node names them) or one of ours. */
export type TlsContextErrorCode =
  | `ERR_OSSL_${string}`
  | `ERR_SSL_${string}`
  | 'ERR_TLS_INVALID_PROTOCOL_VERSION'
  | 'ERR_TLS_MISSING_CERT'
  | 'ERR_TLS_INVALID_ALPN'
  | 'ERR_TLS_INVALID_CONTEXT';

/**
 * A {@link HandshakeError}'s `code`: a `WS_ERR_HANDSHAKE_*` code when the server's response broke
 * the handshake, a TLS failure ({@link TlsErrorCode}) for `wss://`, or a system error name
 * (`ECONNREFUSED`, `ENOTFOUND`, `ETIMEDOUT` for the handshake timeout, ...) when there was no
 * usable response.
 */
export type HandshakeErrorCode = (typeof HANDSHAKE_RESPONSE_ERROR_CODES)[number] | (typeof SESSION_ERROR_CODES)[number] | TlsErrorCode
  | SystemErrorCode;

/** Why `WebSocketServer.handleUpgrade()` did not produce a connection. */
export type UpgradeErrorCode =
  /** Refused by the server: the upgrade hook, `path`, a failing hook (500) or a closing server (503). */
  | 'ERR_SOCKUDO_WS_UPGRADE_REJECTED'
  /** The request is not a valid WebSocket upgrade (RFC 6455 §4.2.1); the native core answered it (400/426/431/505). */
  | 'ERR_SOCKUDO_WS_INVALID_UPGRADE'
  /** The upgrade was not completed within `handshakeTimeout`; the native core answered 408. */
  | 'ERR_SOCKUDO_WS_HANDSHAKE_TIMEOUT'
  /** The connection ended (peer gone, server closed) before the upgrade completed. */
  | 'ERR_SOCKUDO_WS_UPGRADE_ABORTED';

/** A {@link NativeLoadError}'s `code`: no usable binary, or the addon refused to load (`SOCKUDO_WS_KERNEL` names an unknown or unsupported kernel). */
export type NativeLoadErrorCode = 'ERR_SOCKUDO_WS_NATIVE_LOAD' | 'ERR_SOCKUDO_WS_KERNEL';

/** Misuse by the local program (Node's codes where Node has one). */
export type UsageErrorCode =
  | 'ERR_INVALID_ARG_TYPE'
  | 'ERR_INVALID_ARG_VALUE'
  | 'ERR_OUT_OF_RANGE'
  | 'ERR_ILLEGAL_CONSTRUCTOR'
  | 'ERR_SOCKUDO_WS_INVALID_STATE';

/**
 * Every `code` an error created by sockudo-ws can carry, for a `switch` over any of them.
 * (`ERR_SOCKUDO_WS_NO_MEMORY`: the native side could not allocate a message being sent.)
 */
/** {@link AdapterError} codes: the pub/sub adapter's client, connection, or cluster requests. */
export type AdapterErrorCode =
  | 'ERR_SOCKUDO_WS_ADAPTER_MISSING_CLIENT'
  | 'ERR_SOCKUDO_WS_ADAPTER_CONNECTION'
  | 'ERR_SOCKUDO_WS_ADAPTER_UNAVAILABLE'
  | 'ERR_SOCKUDO_WS_ADAPTER_TIMEOUT'
  | 'ERR_SOCKUDO_WS_ADAPTER_BUSY'
  | 'ERR_SOCKUDO_WS_ADAPTER_CLOSED'
  | 'ERR_SOCKUDO_WS_ADAPTER_IN_USE';

export type ErrorCode =
  | UsageErrorCode
  | AdapterErrorCode
  | NativeLoadErrorCode
  | TlsContextErrorCode
  | 'ERR_SOCKUDO_WS_NO_MEMORY'
  | 'ABORT_ERR'
  | WebSocketErrorCode
  | HandshakeErrorCode
  | UpgradeErrorCode;
