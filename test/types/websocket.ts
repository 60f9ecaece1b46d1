// Type tests for the WebSocket API (server, client, socket, streams, errors), checked by
// `tsc --noEmit -p test/types`. Lines marked @ts-expect-error must fail to type-check.
import * as http from 'node:http';
import type { Duplex } from 'node:stream';
import type { ReadableStream, WritableStream } from 'node:stream/web';

import {
  AbortError, HandshakeError, InvalidStateError, TlsContextError, UpgradeError, UpgradeRequest, WebSocket, WebSocketError, WebSocketServer,
  connect, defaults,
} from 'sockudo-ws';
import type {
  AcceptDecision, ClientOptions, ConnectionOptions, Message, ReadyState, RejectDecision, SendStatus, ServerOptions, UpgradeDecision,
  UpgradeErrorCode, WebSocketEvents,
} from 'sockudo-ws';

// --- server: per-socket data is inferred from the upgrade hook --------------------------------
const wss = new WebSocketServer({
  port: 0,
  host: '127.0.0.1',
  maxPayloadLength: 1 << 20,
  upgrade: async (req) => (req.headers.authorization
    ? { accept: true, data: { user: req.query.get('u') ?? 'anon' }, headers: { 'X-A': ['1', 2] } }
    : { accept: false, status: 401, body: 'no' }),
  handleProtocols: (protocols, req) => (protocols.has('v1') && req.secure === false ? 'v1' : false),
});
wss.on('connection', (ws, req) => {
  const user: string = ws.data.user;
  const r: UpgradeRequest = req;
  const path: string = r.path;
  const offered: readonly string[] = r.protocols;
  const h: string | undefined = r.headers['x-a'];
  const incoming: http.IncomingMessage | undefined = r.incoming;
  const status: SendStatus = ws.send('text');
  ws.send(Buffer.alloc(1), { binary: true, compress: false });
  ws.send(new Uint16Array(2));
  ws.send(new ArrayBuffer(2));
  ws.send(new DataView(new ArrayBuffer(1)));
  ws.on('message', (data, isBinary) => {
    const m: string | Buffer = data;
    const b: boolean = isBinary;
    void [m, b];
  });
  ws.on('close', (code: number, reason: string) => void [code, reason]);
  ws.on('error', (e) => {
    const code: string = e.code;
    const closeCode: number = e.closeCode;
    void [code, closeCode];
  });
  ws.on('ping', (d: Buffer) => void d);
  ws.on('drain', () => {});
  const state: ReadyState = ws.readyState;
  const open: boolean = state === WebSocket.OPEN;
  const n: number = ws.bufferedAmount;
  const corked: number = ws.cork(() => 1);
  ws.close(1000, 'bye');
  ws.close();
  ws.terminate();
  void [user, path, offered, h, incoming, status, open, n, corked];

  // @ts-expect-error numbers are not messages
  ws.send(42);
  // @ts-expect-error 'message' listeners receive (data, isBinary)
  ws.on('message', (n: number) => void n);
  // @ts-expect-error no such event
  ws.on('mesage', () => {});
  // @ts-expect-error readyState is read-only
  ws.readyState = 3;
  // @ts-expect-error the close reason is a string
  ws.close(1000, 42);
  // @ts-expect-error the per-socket data has the hook's type
  const wrong: number = ws.data.user;
  void wrong;
});
wss.on('listening', () => {});
wss.on('close', () => {});
wss.on('error', (e: Error) => void e);
const clients: ReadonlySet<WebSocket<{ user: string }>> = wss.clients;
const closing: Promise<void> = wss.close();
void [clients, closing];

// Without a hook, data is unknown.
const plain = new WebSocketServer({ noServer: true });
plain.on('connection', (ws) => {
  const d: unknown = ws.data;
  // @ts-expect-error unknown data must be narrowed first
  ws.data.anything;
  void d;
});

// Bring your own server.
const httpServer = http.createServer();
const attached = new WebSocketServer({ server: httpServer, path: '/ws' });
httpServer.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
  const p: Promise<WebSocket<unknown>> = plain.handleUpgrade(req, socket, head);
  void p;
});
void attached;

// @ts-expect-error exactly one of port / server / noServer
new WebSocketServer({ port: 1, noServer: true });
// @ts-expect-error one of them is required
new WebSocketServer({});
// @ts-expect-error unknown option (ws's name)
new WebSocketServer({ noServer: true, maxPayload: 1 });
// @ts-expect-error host only applies with port
new WebSocketServer({ noServer: true, host: '::' });
// @ts-expect-error a rejection needs a status
new WebSocketServer({ noServer: true, upgrade: () => ({ accept: false }) });
// @ts-expect-error times are numbers of milliseconds
new WebSocketServer({ noServer: true, idleTimeout: '2m' });
// @ts-expect-error there is no public constructor: use connect() or a server
new WebSocket();

const decision: UpgradeDecision<number> = { accept: true, data: 1, protocol: false };
const accept: AcceptDecision<string> = { accept: true, data: 'x' };
const reject: RejectDecision = { accept: false, status: 403, headers: { 'Retry-After': 5 } };
const options: ServerOptions<number> = { noServer: true, upgrade: () => decision };
const limits: ConnectionOptions = { maxBackpressure: defaults.maxBackpressure, closeOnBackpressureLimit: true };
void [accept, reject, options, limits];

// --- client ---------------------------------------------------------------------------------
async function client(): Promise<void> {
  const clientOptions: ClientOptions = { protocols: ['a', 'b'], headers: { 'X-Token': 't' }, origin: 'http://o', handshakeTimeout: 1000, signal: AbortSignal.timeout(5000) };
  const ws: WebSocket = await connect('ws://127.0.0.1:8080/path', clientOptions);
  const url: string | undefined = ws.url;
  await connect(new URL('ws://localhost/'));
  // @ts-expect-error URLs are strings or URL objects
  await connect(8080);
  // @ts-expect-error protocols are strings
  await connect('ws://x', { protocols: [1] });
  // @ts-expect-error the signal is an AbortSignal
  await connect('ws://x', { signal: true });

  // Async iteration and the split streams API.
  for await (const message of ws) {
    const m: Message = message;
    void m;
  }
  const readable: ReadableStream<Message> = ws.readable;
  const writable: WritableStream<string | ArrayBuffer | ArrayBufferView> = ws.writable;
  const writer = writable.getWriter();
  await writer.write('x');
  await writer.write(new Uint8Array(1));
  // @ts-expect-error numbers cannot be written
  await writer.write(1);
  const listener: (...args: WebSocketEvents['close']) => void = (code, reason) => void [code, reason];
  ws.on('close', listener);
  void [url, readable];
}
void client;

// --- errors: stable codes -------------------------------------------------------------------
function errors(e: unknown): string {
  if (e instanceof HandshakeError) return `${e.code} ${e.status} ${e.headers['content-type'] ?? ''}`;
  if (e instanceof UpgradeError) {
    const code: UpgradeErrorCode = e.code;
    return `${code} ${e.status}`;
  }
  if (e instanceof WebSocketError) return `${e.code} ${e.closeCode}`;
  if (e instanceof TlsContextError) {
    const code: import('sockudo-ws').TlsContextErrorCode = e.code;
    // @ts-expect-error a TLS context error is never a handshake response code
    const wrong: 'WS_ERR_HANDSHAKE_BAD_STATUS' = e.code;
    return `${code}${wrong}`;
  }
  if (e instanceof AbortError) {
    const code: 'ABORT_ERR' = e.code;
    return code;
  }
  if (e instanceof InvalidStateError) {
    const code: 'ERR_SOCKUDO_WS_INVALID_STATE' = e.code;
    return code;
  }
  return '';
}
void errors;

// --- compression and pub/sub -----------------------------------------------------------------
const zipped = new WebSocketServer({ port: 0, compression: { compressor: 'shared', windowBits: 10 }, compressionThreshold: 128 });
new WebSocketServer({ noServer: true, compression: 'dedicated' });
// @ts-expect-error not a compression mode
new WebSocketServer({ noServer: true, compression: 'gzip' });
// @ts-expect-error compressor is 'shared' or 'dedicated'
new WebSocketServer({ noServer: true, compression: { compressor: 'per-socket' } });
zipped.on('subscription', (topic, newCount, oldCount, socket) => {
  const t: string = topic;
  const n: number = newCount - oldCount;
  const subscribed: boolean = socket.isSubscribed(t);
  void [n, subscribed];
});
zipped.on('connection', (ws) => {
  const joined: boolean = ws.subscribe('room');
  const left: boolean = ws.unsubscribe('room');
  const topics: string[] = ws.topics;
  const reached: number = ws.publish('room', Buffer.from('x'), { binary: true, compress: false });
  // @ts-expect-error topics are strings
  ws.subscribe(1);
  void [joined, left, topics, reached];
});
const reachedAll: number = zipped.publish('room', 'hello', { compress: true });
const count: number = zipped.numSubscribers('room');
void connect('ws://127.0.0.1:1', { compression: 'shared', compressionThreshold: 0 });
void [reachedAll, count];
