// Client-only conformance (RFC 6455 §4.1, §5.3, §7.1.1) against our client (connect(), echoing
// through the public API), driven by the scripted raw server: the opening handshake request, a
// fresh unpredictable masking key per frame, frames that arrive in the same TCP segment as the
// 101, the client waiting for the server to close TCP, and a client-initiated closing handshake.
import { afterEach, describe, expect, it } from 'vitest';

import { Cleanup } from '../js/helpers';
import { bytesOf, cleanCloseByServer, clientPair, expectClose, expectFailure, expectMessage, expectPong, headerOf, nextFrame } from './fixtures';
import { encodeFrame, OP } from './wire';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

describe('our client ← scripted raw server: client-only rules', () => {
  it('4.1 the upgrade request: GET, Host, Upgrade/Connection, version 13, a fresh random 16-byte key per connection, no extension offered', async () => {
    const a = await clientPair(cleanup);
    const b = await clientPair(cleanup);
    for (const { server } of [a, b]) expect(server.requestProblems).toEqual([]);
    const keyA = headerOf(a.conn.request, 'sec-websocket-key');
    const keyB = headerOf(b.conn.request, 'sec-websocket-key');
    expect(Buffer.from(keyA!, 'base64')).toHaveLength(16);
    expect(keyA).not.toBe(keyB);
    expect(headerOf(a.conn.request, 'sec-websocket-extensions')).toBeUndefined();
    await cleanCloseByServer(a.conn, a.side);
    await cleanCloseByServer(b.conn, b.side);
  });

  it('5.3 every client frame is masked with its own key (50 frames: data, pong, close; no key repeats)', async () => {
    const { conn, side, ws } = await clientPair(cleanup);
    for (let i = 0; i < 40; i++) ws.send(bytesOf(10 + i, i + 1));
    for (let i = 0; i < 40; i++) await expectMessage(conn, OP.BINARY, bytesOf(10 + i, i + 1));
    for (let i = 0; i < 9; i++) {
      await conn.ping(`p${i}`);
      await expectPong(conn, `p${i}`);
    }
    await cleanCloseByServer(conn, side);
    const keys = conn.log.map((f) => f.key!.toString('hex'));
    expect(keys).toHaveLength(50);
    expect(new Set(keys).size).toBe(50);
  });

  it('frames in the same TCP segment as the 101 response (text, ping, binary) are all delivered and answered in order', async () => {
    const first = Buffer.concat([
      encodeFrame({ opcode: OP.TEXT, payload: 'with the handshake' }, false),
      encodeFrame({ opcode: OP.PING, payload: 'early ping' }, false),
      encodeFrame({ opcode: OP.BINARY, payload: bytesOf(300) }, false),
    ]);
    const { conn, side } = await clientPair(cleanup, {}, first);
    await expectMessage(conn, OP.TEXT, 'with the handshake');
    await expectPong(conn, 'early ping');
    await expectMessage(conn, OP.BINARY, bytesOf(300));
    expect(side.messages.map(([, bin]) => bin)).toEqual([false, true]);
    await cleanCloseByServer(conn, side);
  });

  it('an invalid frame (masked) in the same TCP segment as the 101 → connect() resolves, then the client closes 1002', async () => {
    const { conn, side } = await clientPair(cleanup, {}, encodeFrame({ opcode: OP.TEXT, payload: 'masked', mask: true }, false));
    await expectFailure(conn, 1002, side);
    expect(side.errors[0]).toMatchObject({ code: 'WS_ERR_UNEXPECTED_MASK' });
    expect(side.messages).toEqual([]);
  });

  it('7.1.1 after answering the server\'s close, the client waits for the server to close TCP (it does not close first)', async () => {
    const { conn, side } = await clientPair(cleanup);
    await conn.close(1000, 'server done');
    await expectClose(conn, 1000);
    await conn.quiet(200); // TCP still open: the server closes first
    expect(await side.closed).toEqual([1000, 'server done']); // reported as soon as the handshake completed
    conn.endTcp();
    expect(await conn.end()).toEqual([]);
  });

  it('7.1.x a client-initiated close: masked close frame with code and reason; after the server\'s reply and TCP close, close(1000)', async () => {
    const { conn, side, ws } = await clientPair(cleanup);
    ws.close(1000, 'client done');
    const f = await nextFrame(conn);
    expect([f.opcode, f.payload.readUInt16BE(0), f.payload.subarray(2).toString()]).toEqual([OP.CLOSE, 1000, 'client done']);
    await conn.close(1000);
    conn.endTcp();
    expect(await conn.end()).toEqual([]);
    expect((await side.closed)[0]).toBe(1000);
    expect(side.errors).toEqual([]);
  });

  it('7.1.x a server that answers the close but never closes TCP: the client closes it after closeTimeout', async () => {
    const { conn, side } = await clientPair(cleanup, { closeTimeout: 200 });
    await conn.close(1000);
    await expectClose(conn, 1000);
    expect(await conn.end(10_000)).toEqual([]); // the client gave up waiting and closed TCP itself
    expect(await side.closed).toEqual([1000, '']);
  });
});
