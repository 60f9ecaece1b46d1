// Option validation: every public entry point rejects bad options with a typed error and a stable
// code before anything reaches the native side, and fills documented defaults.
import { afterEach, describe, expect, it } from 'vitest';

import { Cleanup, closedPort, loadPackage } from './helpers';

const ws = loadPackage();
const { WebSocketServer, connect } = ws;
const cleanup = new Cleanup();
afterEach(() => cleanup.run());

type Ctor = new (...args: never[]) => Error;
function expectError(fn: () => unknown, type: Ctor, code: string, message?: RegExp): void {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  expect(thrown, 'expected a throw').toBeInstanceOf(type);
  expect((thrown as { code?: string }).code).toBe(code);
  if (message) expect((thrown as Error).message).toMatch(message);
}

const server = (options: unknown) => () => cleanup.add(new WebSocketServer(options as never), (s) => s.close());

describe('WebSocketServer options', () => {
  it('requires an options object with exactly one of port / server / noServer', () => {
    expectError(server(undefined), TypeError, 'ERR_INVALID_ARG_TYPE');
    expectError(server(null), TypeError, 'ERR_INVALID_ARG_TYPE');
    expectError(server('8080'), TypeError, 'ERR_INVALID_ARG_TYPE');
    expectError(server({}), TypeError, 'ERR_INVALID_ARG_VALUE', /exactly one of "port", "server" or "noServer: true"/);
    expectError(server({ port: 0, noServer: true }), TypeError, 'ERR_INVALID_ARG_VALUE');
    expectError(server({ noServer: 1 }), TypeError, 'ERR_INVALID_ARG_TYPE');
    expectError(server({ server: {} }), TypeError, 'ERR_INVALID_ARG_TYPE');
    expect(ws.InvalidArgumentValueError.prototype).toBeInstanceOf(TypeError);
  });

  it('checks numbers: type (TypeError) and range (RangeError)', () => {
    expectError(server({ port: '80' }), ws.InvalidArgumentTypeError, 'ERR_INVALID_ARG_TYPE', /"options.port"/);
    expectError(server({ port: -1 }), ws.OutOfRangeError, 'ERR_OUT_OF_RANGE', /from 0 to 65535/);
    expectError(server({ port: 65536 }), RangeError, 'ERR_OUT_OF_RANGE');
    expectError(server({ port: 1.5 }), RangeError, 'ERR_OUT_OF_RANGE');
    expectError(server({ noServer: true, maxPayloadLength: 0 }), RangeError, 'ERR_OUT_OF_RANGE', /maxPayloadLength/);
    expectError(server({ noServer: true, maxFrameSize: NaN }), RangeError, 'ERR_OUT_OF_RANGE');
    expectError(server({ noServer: true, idleTimeout: -1 }), RangeError, 'ERR_OUT_OF_RANGE');
    expectError(server({ noServer: true, pingInterval: 2 ** 31 }), RangeError, 'ERR_OUT_OF_RANGE');
    expectError(server({ noServer: true, closeTimeout: '5s' }), TypeError, 'ERR_INVALID_ARG_TYPE');
    expectError(server({ noServer: true, maxBackpressure: 0 }), RangeError, 'ERR_OUT_OF_RANGE');
    expectError(server({ noServer: true, maxHeaderSize: 10 }), RangeError, 'ERR_OUT_OF_RANGE');
    expectError(server({ port: 0, backlog: -5 }), RangeError, 'ERR_OUT_OF_RANGE');
  });

  it('checks booleans, strings and functions', () => {
    expectError(server({ noServer: true, autoPing: 'yes' }), TypeError, 'ERR_INVALID_ARG_TYPE', /"options.autoPing".*boolean/);
    expectError(server({ noServer: true, closeOnBackpressureLimit: 1 }), TypeError, 'ERR_INVALID_ARG_TYPE');
    expectError(server({ port: 0, reusePort: 'true' }), TypeError, 'ERR_INVALID_ARG_TYPE');
    expectError(server({ port: 0, host: 127 }), TypeError, 'ERR_INVALID_ARG_TYPE');
    expectError(server({ noServer: true, path: 'chat' }), TypeError, 'ERR_INVALID_ARG_VALUE', /must start with "\/"/);
    expectError(server({ noServer: true, upgrade: {} }), TypeError, 'ERR_INVALID_ARG_TYPE');
    expectError(server({ noServer: true, handleProtocols: 'first' }), TypeError, 'ERR_INVALID_ARG_TYPE');
  });

  it('rejects unknown options (with a hint for names from ws) and listener-only options without port', () => {
    expectError(server({ noServer: true, maxPayload: 10 }), TypeError, 'ERR_INVALID_ARG_VALUE', /maxPayload.*maxPayloadLength.*maxFrameSize/);
    expectError(server({ noServer: true, verifyClient: () => true }), TypeError, 'ERR_INVALID_ARG_VALUE', /upgrade/);
    expectError(server({ noServer: true, idletimeout: 5 }), TypeError, 'ERR_INVALID_ARG_VALUE');
    expectError(server({ noServer: true, host: '127.0.0.1' }), TypeError, 'ERR_INVALID_ARG_VALUE', /only applies together with "port"/);
    expectError(server({ noServer: true, backlog: 10 }), TypeError, 'ERR_INVALID_ARG_VALUE');
  });

  it('accepts every documented option', () => {
    const s = server({
      noServer: true, path: '/ws', maxPayloadLength: 1, maxFrameSize: 1, idleTimeout: 0, maxBackpressure: 1, closeOnBackpressureLimit: true,
      autoPing: false, autoPong: false, echoCloseReason: true, pingInterval: 0, pongTimeout: 0, closeTimeout: 0, handshakeTimeout: 0, maxHeaderSize: 1024, maxHeaders: 1,
      upgrade: () => ({ accept: true }), handleProtocols: () => false,
    })();
    expect(s.address()).toBeNull();
  });

  it('documents its defaults (the Rust library\'s, in milliseconds)', () => {
    expect(ws.defaults).toEqual({
      maxPayloadLength: 64 * 1024 * 1024, maxFrameSize: 64 * 1024 * 1024, idleTimeout: 120_000, maxBackpressure: 1024 * 1024,
      closeOnBackpressureLimit: false, autoPing: true, autoPong: true, echoCloseReason: false, pingInterval: 30_000, pongTimeout: 10_000, closeTimeout: 5_000,
      handshakeTimeout: 10_000, maxHeaderSize: 16_384, maxHeaders: 100, compression: 'disabled', compressionThreshold: 64, textAsBuffer: false, backlog: 511, host: '',
    });
    expect(Object.isFrozen(ws.defaults)).toBe(true);
  });

  it('reports listen errors as an async "error" event with the system code', async () => {
    const first = cleanup.add(new WebSocketServer({ port: 0, host: '127.0.0.1' }), (s) => s.close());
    await new Promise((resolve) => first.once('listening', resolve));
    const port = (first.address() as { port: number }).port;
    const second = cleanup.add(new WebSocketServer({ port, host: '127.0.0.1' }), (s) => s.close());
    const error = await new Promise<NodeJS.ErrnoException>((resolve) => second.once('error', resolve));
    expect(error.code).toBe('EADDRINUSE');
  });
});

describe('connect() arguments', () => {
  const url = 'ws://127.0.0.1:9/'; // never contacted: every case fails validation first

  async function rejects(promise: Promise<unknown>, type: Ctor, code: string, message?: RegExp): Promise<void> {
    const error = await promise.then(() => undefined, (e: unknown) => e);
    expect(error, 'expected a rejection').toBeInstanceOf(type);
    expect((error as { code?: string }).code).toBe(code);
    if (message) expect((error as Error).message).toMatch(message);
  }

  it('validates the URL', async () => {
    await rejects(connect(42 as never), TypeError, 'ERR_INVALID_ARG_TYPE');
    await rejects(connect('not a url'), TypeError, 'ERR_INVALID_ARG_VALUE', /not a valid URL/);
    await rejects(connect('ftp://127.0.0.1/'), TypeError, 'ERR_INVALID_ARG_VALUE', /ws: or wss: scheme/);
    await rejects(connect('ws://127.0.0.1/#frag'), TypeError, 'ERR_INVALID_ARG_VALUE', /fragment/);
  });

  it('wss:// TLS options are validated as typed errors; https:// is an alias of wss://', async () => {
    await rejects(connect('wss://127.0.0.1:1/', { ca: 5 as never }), TypeError, 'ERR_INVALID_ARG_TYPE', /options\.ca/);
    await rejects(connect('wss://127.0.0.1:1/', { minVersion: 'SSLv3' as never }), TypeError, 'ERR_INVALID_ARG_VALUE', /minVersion/);
    await rejects(connect('wss://127.0.0.1:1/', { rejectUnauthorized: 'no' as never }), TypeError, 'ERR_INVALID_ARG_TYPE');
    await rejects(connect('wss://127.0.0.1:1/', { ca: 'not a certificate' }), ws.TlsContextError, 'ERR_OSSL_PEM_NO_START_LINE');
    await rejects(connect(new URL(`https://127.0.0.1:${await closedPort()}/`)), ws.HandshakeError, 'ECONNREFUSED');
  });

  it('validates options in TypeScript and request parts natively, both as typed errors', async () => {
    await rejects(connect(url, 'x' as never), TypeError, 'ERR_INVALID_ARG_TYPE');
    await rejects(connect(url, { protocols: [1] as never }), TypeError, 'ERR_INVALID_ARG_TYPE', /protocols\[0\]/);
    await rejects(connect(url, { protocols: 7 as never }), TypeError, 'ERR_INVALID_ARG_TYPE');
    await rejects(connect(url, { headers: { 'X-A': {} as never } }), TypeError, 'ERR_INVALID_ARG_TYPE');
    await rejects(connect(url, { signal: {} as never }), TypeError, 'ERR_INVALID_ARG_TYPE');
    await rejects(connect(url, { handshakeTimeout: -1 }), RangeError, 'ERR_OUT_OF_RANGE');
    await rejects(connect(url, { maxPayloadLength: 0 }), RangeError, 'ERR_OUT_OF_RANGE');
    await rejects(connect(url, { maxPayload: 1 } as never), TypeError, 'ERR_INVALID_ARG_VALUE', /maxPayloadLength/);
    // Checked by the native request builder (header syntax, handshake-owned fields, subprotocol tokens).
    await rejects(connect(url, { headers: { Host: 'evil' } }), TypeError, 'ERR_INVALID_ARG_VALUE', /WS_ERR_FORBIDDEN_HEADER/);
    await rejects(connect(url, { headers: { 'X-A': 'a\r\nInjected: 1' } }), TypeError, 'ERR_INVALID_ARG_VALUE', /WS_ERR_INVALID_HEADER_VALUE/);
    await rejects(connect(url, { protocols: ['a', 'a'] }), TypeError, 'ERR_INVALID_ARG_VALUE', /WS_ERR_DUPLICATE_SUBPROTOCOL/);
    await rejects(connect(url, { protocols: ['no spaces'] }), TypeError, 'ERR_INVALID_ARG_VALUE', /WS_ERR_INVALID_SUBPROTOCOL/);
  });

  it('an already aborted signal rejects with AbortError before connecting', async () => {
    const reason = new Error('stop');
    const error = await connect(url, { signal: AbortSignal.abort(reason) }).catch((e: unknown) => e) as Error;
    expect(error).toBeInstanceOf(ws.AbortError);
    expect(error.name).toBe('AbortError');
    expect((error as { code?: string }).code).toBe('ABORT_ERR');
    expect(error.cause).toBe(reason);
  });
});
