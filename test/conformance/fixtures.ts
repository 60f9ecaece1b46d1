// Fixtures and assertions shared by the conformance cases.
//
// Against our server: `echoServer()` starts a WebSocketServer whose connections echo every
// message through the public API (`ws.send(data, { binary })`) and records what each connection
// saw (messages, pings, errors, close); `open()` connects a RawClient.
//
// Against our client: `clientPair()` starts a ScriptedServer, connects our client with `connect()`,
// attaches the same echo through the public API and returns both ends.
//
// `openPair(cleanup, role)` gives either as { peer, side }: the raw peer that drives the case and
// what our endpoint observed, so one case body runs against both (`describe.each(ROLES)`).
//
// The `expect*` helpers assert the exact frames a peer receives: role-correct masking, RSV 0,
// minimal length encoding, then the opcode / payload / close code a case expects.
import { expect } from 'vitest';

import { type Cleanup, loadPackage, next, waitUntil, within } from '../js/helpers';
import { headerFields, RawClient } from './raw-client';
import { ScriptedServer, ServerConn } from './raw-server';
import { clientOptions, OVER_H2, OVER_H3, serverOptions } from './transport';
import { validity } from './utf8-cases';
import { type FramePeer, OP, type WireFrame } from './wire';

export const lib = loadPackage();
export type WS = import('sockudo-ws').WebSocket;
export type WsError = import('sockudo-ws').WebSocketError;

export const MiB = 1024 * 1024;

/** What one endpoint of ours observed through the public API. */
export interface Observed {
  ws: WS;
  messages: [string | Buffer, boolean][];
  pings: Buffer[];
  pongs: Buffer[];
  errors: WsError[];
  /** Resolves with the `close` event's (code, reason); each read starts a 10 s bound. */
  readonly closed: Promise<[number, string]>;
  closeEvents: [number, string][];
}

function observe(ws: WS): Observed {
  let closed!: Promise<[number, string]>;
  const o: Observed = {
    ws, messages: [], pings: [], pongs: [], errors: [], closeEvents: [],
    // Bounded from the moment a case waits for it, not from when the connection opened.
    get closed() {
      return within(closed, 10_000, 'the close event');
    },
  };
  closed = new Promise<[number, string]>((resolve) => ws.on('close', (code, reason) => {
    o.closeEvents.push([code, reason]);
    resolve([code, reason]);
  }));
  ws.on('message', (data, isBinary) => {
    o.messages.push([data, isBinary]);
    ws.send(data, { binary: isBinary });
  });
  ws.on('ping', (d) => o.pings.push(d));
  ws.on('pong', (d) => o.pongs.push(d));
  ws.on('error', (e) => o.errors.push(e));
  return o;
}

// --- our server + raw client ---------------------------------------------------------------------

export async function echoServer(cleanup: Cleanup, options: Record<string, unknown> = {}) {
  const wss = cleanup.add(new lib.WebSocketServer({ port: 0, host: '127.0.0.1', ...serverOptions(), ...options }), (s) => s.close());
  await next(wss, 'listening');
  const port = (wss.address() as { port: number }).port;
  const connections: Observed[] = [];
  wss.on('connection', (ws) => connections.push(observe(ws)));
  return {
    wss,
    port,
    /** A raw client that completed the handshake, and what the server side of it observes. */
    async open(): Promise<{ peer: RawClient; side: Observed }> {
      const before = connections.length;
      const peer = await RawClient.open(port, cleanup);
      await waitUntil(() => connections.length > before, 'the server connection event');
      return { peer, side: connections[before]! };
    },
  };
}

// --- scripted server + our client ----------------------------------------------------------------

export async function clientPair(cleanup: Cleanup, options: Record<string, unknown> = {}, withResponse?: Buffer) {
  const server = await ScriptedServer.start(cleanup, withResponse);
  const [conn, ws] = await within(Promise.all([server.accept(), lib.connect(server.url, { ...clientOptions(), ...options })]), 10_000, 'connect');
  cleanup.add(ws, (w) => w.terminate());
  const side = observe(ws); // before the first turn of the loop: nothing can have been missed
  expect(server.requestProblems).toEqual([]);
  return { server, conn, ws, side };
}

// --- either endpoint under test ----------------------------------------------------------------

export type Role = 'server' | 'client';
/** Every case runs against both: our server driven by a raw client, our client driven by a scripted raw server. */
export const ROLES: [string, Role][] = OVER_H2 ? [['our server ← raw client on an HTTP/2 stream', 'server']]
  : OVER_H3 ? [['our server ← raw client on an HTTP/3 stream (aioquic)', 'server']]
    : [['our server ← raw client', 'server'], ['our client ← scripted raw server', 'client']];
/** The raw peer that drives the endpoint under test. */
export type Peer = RawClient | ServerConn;

/** Our endpoint in `role` (echoing through the public API, with `options`), connected to a raw peer. */
export async function openPair(cleanup: Cleanup, role: Role, options: Record<string, unknown> = {}): Promise<{ peer: Peer; side: Observed }> {
  if (role === 'server') return (await echoServer(cleanup, options)).open();
  const { conn, side } = await clientPair(cleanup, options);
  return { peer: conn, side };
}

/** The raw peer closes normally (see cleanCloseByClient / cleanCloseByServer). */
export function cleanClose(peer: Peer, side: Observed, reason = ''): Promise<void> {
  return peer instanceof RawClient ? cleanCloseByClient(peer, side, reason) : cleanCloseByServer(peer, side, reason);
}

/**
 * The closing handshake is complete on the raw peer's side: a scripted server now closes TCP (RFC
 * 6455 §7.1.1: the server closes first); a raw client waits for our server to do it.
 */
export function finishClose(peer: Peer): void {
  if (peer instanceof ServerConn) peer.endTcp();
}

/** The raw peer's close was answered with a close frame carrying `code` (null: empty), the last frame before TCP closed. */
export async function expectCloseReply(peer: Peer, code: number | null): Promise<{ code: number | null; reason: string }> {
  const r = await expectClose(peer, code);
  finishClose(peer);
  expect((await peer.end()).map((f) => f.opcode), 'frames after the close frame').toEqual([]);
  return r;
}

// --- frame assertions ----------------------------------------------------------------------------

/** Masking a peer's frames must have: a client's frames are masked, a server's are not. */
function mustMask(peer: FramePeer): boolean {
  return peer instanceof ServerConn;
}

/** The next frame, checked for role-correct masking, RSV 0 and minimal length encoding. */
export async function nextFrame(peer: FramePeer, ms = 5000, what?: string): Promise<WireFrame> {
  const f = await peer.frame(ms, what);
  expect({ masked: f.masked, rsv: f.rsv, minimalLength: f.minimalLength }, `frame opcode ${f.opcode}`)
    .toEqual({ masked: mustMask(peer), rsv: 0, minimalLength: true });
  return f;
}

/** The next frame is a single unfragmented data frame with exactly this opcode and payload. */
export async function expectMessage(peer: FramePeer, opcode: number, payload: Buffer | string, ms = 5000): Promise<void> {
  const f = await nextFrame(peer, ms, `the echo (opcode ${opcode})`);
  const want = typeof payload === 'string' ? Buffer.from(payload) : payload;
  expect({ opcode: f.opcode, fin: f.fin, length: f.payload.length }).toEqual({ opcode, fin: true, length: want.length });
  expect(f.payload.equals(want), 'echoed payload differs').toBe(true);
}

/** The next frame is a pong with exactly this payload. */
export async function expectPong(peer: FramePeer, payload: Buffer | string, ms = 5000): Promise<void> {
  const f = await nextFrame(peer, ms, 'a pong');
  const want = typeof payload === 'string' ? Buffer.from(payload) : payload;
  expect({ opcode: f.opcode, fin: f.fin }).toEqual({ opcode: OP.PONG, fin: true });
  expect(f.payload.toString('hex')).toBe(want.toString('hex'));
}

/** The next frame is a close frame with this code (a well-formed payload: 2-byte code + UTF-8 reason ≤ 123 bytes). */
export async function expectClose(peer: FramePeer, code: number | null, ms = 5000): Promise<{ code: number | null; reason: string }> {
  const f = await nextFrame(peer, ms, `a close frame (${code})`);
  expect({ opcode: f.opcode, fin: f.fin }, `expected a close frame with ${code}, got opcode ${f.opcode} "${f.payload.subarray(0, 40)}"`)
    .toEqual({ opcode: OP.CLOSE, fin: true });
  if (code === null) {
    expect(f.payload.length, 'an empty close frame').toBe(0);
    return { code: null, reason: '' };
  }
  expect(f.payload.length).toBeGreaterThanOrEqual(2);
  expect(f.payload.length).toBeLessThanOrEqual(125);
  expect(validity(f.payload.subarray(2)), 'close reason is UTF-8').toBe('valid');
  const got = f.payload.readUInt16BE(0);
  expect(got, 'close code').toBe(code);
  return { code: got, reason: f.payload.subarray(2).toString() };
}

/**
 * The peer failed the connection: its next frame is a close with `code` (nothing before it),
 * then it closes TCP without sending anything more. `side` (our endpoint) reports the error
 * with the same close code and a `close` event with 1006.
 */
export async function expectFailure(peer: FramePeer, code: number, side?: Observed): Promise<void> {
  await expectClose(peer, code);
  const after = await peer.end();
  expect(after.map((f) => f.opcode), 'frames after the close frame').toEqual([]);
  if (side) {
    expect(await side.closed).toEqual([1006, '']);
    expect(side.errors.map((e) => e.closeCode)).toEqual([code]);
    expect(side.closeEvents, 'one close event').toHaveLength(1);
  }
}

/**
 * Raw client → our server: close 1000, the server echoes 1000 and closes TCP first (RFC 6455
 * §7.1.1), nothing after its close frame; the server reports (1000, reason).
 */
export async function cleanCloseByClient(peer: RawClient, side: Observed, reason = ''): Promise<void> {
  await peer.close(1000, reason);
  await expectClose(peer, 1000);
  expect((await peer.end()).length, 'frames after the close frame').toBe(0);
  expect(await side.closed).toEqual([1000, reason]);
  expect(side.errors).toEqual([]);
}

/**
 * Scripted server → our client: close 1000; the client answers with a masked close 1000, waits
 * for us to close TCP, and reports (1000, reason).
 */
export async function cleanCloseByServer(conn: ServerConn, side: Observed, reason = ''): Promise<void> {
  await conn.close(1000, reason);
  await expectClose(conn, 1000);
  conn.endTcp();
  expect((await conn.end()).length, 'frames after the close frame').toBe(0);
  expect(await side.closed).toEqual([1000, reason]);
  expect(side.errors).toEqual([]);
}

/** A header field's value in an HTTP head (name case-insensitive), or undefined. */
export function headerOf(head: string, name: string): string | undefined {
  return headerFields(head).get(name.toLowerCase());
}

/** Bytes with a fixed seed (so a failing case can be replayed). */
export function bytesOf(n: number, seed = 7): Buffer {
  const out = Buffer.allocUnsafe(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}
