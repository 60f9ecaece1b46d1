// Type tests for the stable error codes (checked by `tsc --noEmit -p test/types`): every `code`
// is a union of string literals, so a `switch` over it refuses a misspelled code at compile time.
// Lines marked @ts-expect-error must fail to type-check.
import {
  HandshakeError, IllegalConstructorError, InvalidArgumentValueError, NativeLoadError, UpgradeError, WebSocketError, WebSocketServer,
} from 'sockudo-ws';
import type {
  ErrorCode, HandshakeErrorCode, NativeLoadErrorCode, SystemErrorCode, UpgradeErrorCode, WebSocketErrorCode, WebSocketServerError,
} from 'sockudo-ws';

function onSocketError(e: WebSocketError): number {
  const code: WebSocketErrorCode = e.code;
  switch (code) {
    case 'WS_ERR_INVALID_UTF8': return 1007;
    case 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH':
    case 'WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH': return 1009;
    case 'WS_ERR_IDLE_TIMEOUT':
    case 'WS_ERR_PONG_TIMEOUT': return 1006;
    // @ts-expect-error misspelled (no underscore in UTF8)
    case 'WS_ERR_INVALID_UTF_8': return 0;
    // @ts-expect-error a handshake code is not a WebSocketError code
    case 'WS_ERR_HANDSHAKE_BAD_STATUS': return 0;
    default: return e.closeCode;
  }
}

function onHandshakeError(e: HandshakeError): string {
  const code: HandshakeErrorCode = e.code;
  switch (code) {
    case 'WS_ERR_HANDSHAKE_BAD_STATUS': return `status ${e.status}`;
    case 'WS_ERR_HANDSHAKE_BAD_EXTENSION': return 'extension';
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'ETIMEDOUT': return 'network';
    // @ts-expect-error misspelled system error name
    case 'ECONNREFUESD': return '';
    // @ts-expect-error misspelled handshake code
    case 'WS_ERR_HANDSHAKE_BAD_STAUS': return '';
    default: return code;
  }
}

function onUpgradeError(e: UpgradeError): boolean {
  switch (e.code) {
    case 'ERR_SOCKUDO_WS_UPGRADE_REJECTED':
    case 'ERR_SOCKUDO_WS_INVALID_UPGRADE':
    case 'ERR_SOCKUDO_WS_HANDSHAKE_TIMEOUT':
    case 'ERR_SOCKUDO_WS_UPGRADE_ABORTED': return true;
    // @ts-expect-error misspelled
    case 'ERR_SOCKUDO_WS_UPGRADE_REJECT': return false;
    default: return false;
  }
}

// Every code of every error the package creates, in one union.
function anyCode(code: ErrorCode): string {
  switch (code) {
    case 'ERR_INVALID_ARG_TYPE':
    case 'ERR_INVALID_ARG_VALUE':
    case 'ERR_OUT_OF_RANGE':
    case 'ERR_ILLEGAL_CONSTRUCTOR':
    case 'ERR_SOCKUDO_WS_INVALID_STATE':
    case 'ERR_SOCKUDO_WS_NATIVE_LOAD':
    case 'ERR_SOCKUDO_WS_KERNEL':
    case 'ERR_OSSL_PEM_NO_START_LINE':
    case 'ERR_TLS_MISSING_CERT':
    case 'CERT_HAS_EXPIRED':
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
    case 'ERR_SSL_WRONG_VERSION_NUMBER':
    case 'ABORT_ERR':
    case 'WS_ERR_INVALID_OPCODE':
    case 'WS_ERR_HANDSHAKE_MALFORMED':
    case 'ERR_SOCKUDO_WS_UPGRADE_ABORTED':
    case 'EADDRINUSE': return code;
    // @ts-expect-error misspelled
    case 'ERR_INVALID_ARGUMENT_TYPE': return '';
    default: return '';
  }
}

// The server's 'error' event: listen / lookup failures (system errors), malformed hook decisions,
// or what the application's hook threw.
const wss = new WebSocketServer({ port: 0, host: 'localhost' });
wss.on('error', (e) => {
  const error: WebSocketServerError = e;
  const message: string = e.message;
  if (e instanceof InvalidArgumentValueError) {
    const c: 'ERR_INVALID_ARG_VALUE' = e.code;
    void c;
  } else if ('code' in e) {
    switch (e.code) {
      case 'EADDRINUSE':
      case 'EACCES':
      case 'ENOTFOUND':
      case 'ERR_INVALID_ARG_TYPE': break;
      // @ts-expect-error misspelled system error name
      case 'EADDRINUSED': break;
    }
  }
  void [error, message];
});
// @ts-expect-error no such event
wss.on('eror', () => {});
// @ts-expect-error 'listening' has no arguments
wss.on('listening', (port: number) => void port);
// @ts-expect-error 'connection' gives (ws, request): not a string
wss.once('connection', (ws: string) => void ws);
wss.once('close', () => {});
wss.once('subscription', (topic: string, newCount: number) => void [topic, newCount]);

const sys: SystemErrorCode = 'ECONNRESET';
const load: NativeLoadErrorCode = new NativeLoadError('x').code;
const illegal: 'ERR_ILLEGAL_CONSTRUCTOR' = new IllegalConstructorError('x').code;
const up: UpgradeErrorCode = 'ERR_SOCKUDO_WS_UPGRADE_ABORTED';
// @ts-expect-error not a system error name
const notSys: SystemErrorCode = 'ECONNRESETT';
void [onSocketError, onHandshakeError, onUpgradeError, anyCode, sys, load, illegal, up, notSys];
