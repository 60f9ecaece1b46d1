/**
 * sockudo-ws: an ultra-low-latency WebSocket library for Node.js.
 *
 * - {@link WebSocketServer}: a native listener (`port`), or upgrades from your http/https server
 *   (`server`, `noServer` + `handleUpgrade()`), with an async upgrade hook.
 * - {@link connect}: a `ws://` client returning a Promise of an open {@link WebSocket}.
 * - {@link WebSocket}: events, `send()` with a visible backpressure status, async iteration and
 *   WHATWG streams with bounded buffering.
 * - Kernel utilities: {@link mask}, {@link unmask}, {@link isValidUTF8}, {@link kernels}, {@link versions}.
 * @packageDocumentation
 */
export { mask, unmask, isValidUTF8, kernels, versions } from './utilities.js';
export type { KernelInfo, LibraryVersions } from './utilities.js';

export { WebSocket } from './websocket.js';
export type { ReadyState, SendStatus, SendData, SendOptions, SendCallback, Message, WebSocketEvents } from './websocket.js';

export { WebSocketServer } from './server.js';
export type { WebSocketServerEvents, WebSocketServerError, UpgradeCallback, PublishOptions } from './server.js';

export { connect } from './client.js';
export { connectHttp2, connectHttp3, Http2Session, type Http2WebSocketOptions } from './http2-client.js';

export { UpgradeRequest } from './upgrade-request.js';
export type { UpgradeDecision, AcceptDecision, RejectDecision } from './upgrade-request.js';

export { defaults } from './options.js';
export type {
  ConnectionOptions, ServerOptions, ServerCommonOptions, PortServerOptions, AttachedServerOptions, NoServerOptions, ClientOptions,
  OutgoingHeaders, UpgradeHook, HandleProtocols, CompressionMode, CompressionOptions,
} from './options.js';

export {
  InvalidArgumentTypeError, InvalidArgumentValueError, OutOfRangeError, InvalidStateError, IllegalConstructorError, NativeLoadError, TlsContextError, TlsClientError, AbortError,
  WebSocketError, HandshakeError, UpgradeError, AdapterError,
} from './errors.js';
export type {
  AdapterErrorCode, ErrorCode, HandshakeErrorCode, NativeLoadErrorCode, SystemError, SystemErrorCode, TlsContextErrorCode, TlsErrorCode, UpgradeErrorCode, UsageErrorCode,
  WebSocketErrorCode,
} from './errors.js';
export { redisAdapter, RedisAdapter } from './adapters/redis.js';
export type { RedisAdapterOptions, RedisAdapterStats, RedisAdapterEvents } from './adapters/redis.js';
export type { PubSubAdapter, AdapterHost } from './adapters/adapter.js';
export type { SecureContextOptions, TlsClientOptions, TlsServerOptions, TlsVersion, PemInput } from './tls.js';
