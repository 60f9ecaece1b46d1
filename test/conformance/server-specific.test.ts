// Server-only conformance (RFC 6455 §4.2) against our server (a WebSocketServer echoing through
// the public API), driven by the raw-socket client: the 101 response, and frames that arrive in
// the same TCP segment as the upgrade request (valid ones are processed, an invalid one fails the
// connection right after the 101).
import { once } from 'node:events';
import * as net from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';

import { Cleanup, within } from '../js/helpers';
import { acceptFor, headerFields } from './raw-client';
import { cleanClose, echoServer, expectClose, expectMessage, expectPong } from './fixtures';
import { rawConnect } from './transport';
import { encodeFrame, FramePeer, OP } from './wire';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

/** A raw connection that sends the upgrade request and `first` in one write; returns the peer and the 101 head. */
async function upgradeWith(port: number, first: Buffer): Promise<{ peer: FramePeer; head: string; key: string }> {
  const sock = await rawConnect(port, (s) => cleanup.add(s, (x) => x.destroy()));
  const peer = new FramePeer(sock);
  const key = 'AQIDBAUGBwgJCgsMDQ4PEA==';
  const request = `GET /chat?x=1 HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\n` +
    `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`;
  sock.write(Buffer.concat([Buffer.from(request), first]));
  return { peer, head: await peer.head(), key };
}

describe('our server ← raw client: server-only rules', () => {
  it('4.2.2 the 101 response: status, Upgrade, Connection, the accept key, no subprotocol or extension nobody asked for', async () => {
    const s = await echoServer(cleanup);
    const { peer, head, key } = await upgradeWith(s.port, Buffer.alloc(0));
    expect(head).toMatch(/^HTTP\/1\.1 101 /);
    const fields = headerFields(head);
    expect(fields.get('upgrade')?.toLowerCase()).toBe('websocket');
    expect(fields.get('connection')?.toLowerCase()).toBe('upgrade');
    expect(fields.get('sec-websocket-accept')).toBe(acceptFor(key));
    expect(fields.has('sec-websocket-protocol')).toBe(false);
    expect(fields.has('sec-websocket-extensions')).toBe(false);
    await peer.write(encodeFrame({ opcode: OP.TEXT, payload: 'after the upgrade' }, true));
    await expectMessage(peer, OP.TEXT, 'after the upgrade');
  });

  it('frames in the same TCP segment as the upgrade request (text, ping, binary split mid-header) are processed in order', async () => {
    const s = await echoServer(cleanup);
    const binary = encodeFrame({ opcode: OP.BINARY, payload: Buffer.alloc(300, 7) }, true);
    const first = Buffer.concat([
      encodeFrame({ opcode: OP.TEXT, payload: 'with the request' }, true),
      encodeFrame({ opcode: OP.PING, payload: 'early ping' }, true),
      binary.subarray(0, 3),
    ]);
    const { peer } = await upgradeWith(s.port, first);
    await peer.write(binary.subarray(3));
    await expectMessage(peer, OP.TEXT, 'with the request');
    await expectPong(peer, 'early ping');
    await expectMessage(peer, OP.BINARY, Buffer.alloc(300, 7));
  });

  it('an invalid frame in the same TCP segment as the upgrade request → the 101, then close 1002', async () => {
    const s = await echoServer(cleanup);
    const { peer, head } = await upgradeWith(s.port, encodeFrame({ opcode: OP.TEXT, payload: 'unmasked' }, false));
    expect(head).toMatch(/^HTTP\/1\.1 101 /);
    await expectClose(peer, 1002);
    expect(await peer.end()).toEqual([]);
  });

  it('five sessions one after another on one server, each ending with a clean closing handshake', async () => {
    const s = await echoServer(cleanup);
    for (let i = 0; i < 5; i++) {
      const { peer, side } = await s.open();
      await peer.text(`session ${i}`);
      await expectMessage(peer, OP.TEXT, `session ${i}`);
      await cleanClose(peer, side);
    }
  });
});
