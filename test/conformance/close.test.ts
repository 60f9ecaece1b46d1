// Autobahn section 7 (close handling): our endpoint answers a close with a close frame echoing
// the code (RFC 6455 §5.5.1), processes nothing after a close frame, the server closes TCP first
// while the client waits for it (§7.1.1), and malformed close frames are refused with 1002 (bad
// code, 1-byte payload, reason over 123 bytes) or 1007 (reason not UTF-8).
// Every case runs twice (ROLES): against our server (a WebSocketServer echoing through the public
// API) driven by a raw-socket client, and against our client (connect(), the same echo) driven by
// a scripted raw server. Each asserts the exact frames our endpoint sends back (role-correct
// masking, RSV 0, minimal lengths, nothing extra), the close code, that TCP ends, and what our
// WebSocket reported (messages, pings, error code, close event).
import { afterEach, describe, expect, it } from 'vitest';

import { Cleanup, waitUntil } from '../js/helpers';
import { bytesOf, cleanClose, expectClose, expectCloseReply, expectFailure, expectMessage, expectPong, finishClose, MiB, openPair, ROLES } from './fixtures';
import { OVER_TLS } from './transport';
import { closeBody, type FrameSpec, OP } from './wire';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

const CLOSE_1000: FrameSpec = { opcode: OP.CLOSE, payload: closeBody(1000) };
const KOSME_SURROGATE = Buffer.from('cebae1bdb9cf83cebcceb5eda080656469746564', 'hex');

describe.each(ROLES)('%s', (_who, role) => {
  describe('7.1 basic close behaviour', () => {
    it('7.1.1 a message, then (after its echo) close 1000 → echo, close 1000, TCP closed', async () => {
      const { peer, side } = await openPair(cleanup, role);
      await peer.text('Hello World!');
      await expectMessage(peer, OP.TEXT, 'Hello World!');
      await cleanClose(peer, side);
    });

    it('7.1.1 (one write) a message and close back to back → echo first, then close 1000', async () => {
      const { peer, side } = await openPair(cleanup, role);
      await peer.sendAll([{ opcode: OP.TEXT, payload: 'Hello World!' }, CLOSE_1000]);
      await expectMessage(peer, OP.TEXT, 'Hello World!');
      await expectCloseReply(peer, 1000);
      expect(await side.closed).toEqual([1000, '']);
    });

    it.each([
      ['7.1.2 two close frames', { opcode: OP.CLOSE, payload: '' }],
      ['7.1.3 close, then a ping', { opcode: OP.PING, payload: 'no pong' }],
      ['7.1.4 close, then a text message', { opcode: OP.TEXT, payload: 'not echoed' }],
    ] as [string, FrameSpec][])('%s (one write) → one close 1000, the frame after the close is ignored', async (_name, after) => {
      const { peer, side } = await openPair(cleanup, role);
      await peer.sendAll([CLOSE_1000, after]);
      await expectCloseReply(peer, 1000);
      expect(await side.closed).toEqual([1000, '']);
      expect([side.messages, side.pings, side.errors]).toEqual([[], [], []]);
    });

    it.each([
      ['7.1.3 close, then a ping in a separate write', { opcode: OP.PING, payload: 'no pong' }],
      ['7.1.4 close, then a text in a separate write', { opcode: OP.TEXT, payload: 'not echoed' }],
    ] as [string, FrameSpec][])('%s → one close 1000, nothing else', async (_name, after) => {
      const { peer, side } = await openPair(cleanup, role);
      await peer.sendAll([CLOSE_1000]);
      await peer.sendAll([after]);
      await expectCloseReply(peer, 1000);
      expect([side.messages, side.pings]).toEqual([[], []]);
    });

    it('7.1.5 fragment 1, close, fragment 2 → close 1000; the unfinished message is never delivered', async () => {
      const { peer, side } = await openPair(cleanup, role);
      await peer.sendAll([{ opcode: OP.TEXT, payload: 'fragment1', fin: false }, CLOSE_1000, { opcode: OP.CONT, payload: 'fragment2' }]);
      await expectCloseReply(peer, 1000);
      expect(await side.closed).toEqual([1000, '']);
      expect(side.messages).toEqual([]);
    });

    it('7.1.6 a 256 KiB message, a small message, close, ping (back to back) → both echoes, then close 1000, no pong', async () => {
      const { peer, side } = await openPair(cleanup, role);
      const big = Buffer.alloc(256 * 1024, 'BAsd7&jh23');
      await peer.sendAll([{ opcode: OP.TEXT, payload: big }, { opcode: OP.TEXT, payload: 'Hello World!' }, CLOSE_1000, { opcode: OP.PING }]);
      await expectMessage(peer, OP.TEXT, big);
      await expectMessage(peer, OP.TEXT, 'Hello World!');
      await expectCloseReply(peer, 1000);
      expect(side.pings).toEqual([]);
    });

    it('7.1.x close followed by garbage in the same TCP segment → close 1000; nothing after the close frame is parsed', async () => {
      const { peer, side } = await openPair(cleanup, role);
      await peer.write(Buffer.concat([peer.encode(CLOSE_1000), Buffer.alloc(16, 0xff)]));
      await expectCloseReply(peer, 1000);
      expect(await side.closed).toEqual([1000, '']);
      expect(side.errors).toEqual([]);
    });

    it('7.1.x close, then the peer half-closes TCP (FIN) at once → the close reply is still sent', async () => {
      const { peer, side } = await openPair(cleanup, role);
      await peer.close(1000);
      peer.sock.end();
      await expectCloseReply(peer, 1000);
      expect(await side.closed).toEqual([1000, '']);
    });

    // Over TLS only the FIN form: Node's TLS sockets cannot reset (resetAndDestroy throws "This
    // handle type cannot be sent"), and a reset under TLS would race Node's own encrypted write.
    it.each(([
      ['half-closes (FIN)', 'end'],
      ['resets (RST)', 'reset'],
    ] as const).filter(([, how]) => !OVER_TLS || how === 'end'))('7.1.x a message and a close, then the peer at once %s TCP → the message and the close (1000) are still reported', async (_how, how) => {
      const { peer, side } = await openPair(cleanup, role);
      await peer.sendAll([{ opcode: OP.TEXT, payload: 'last words' }, { opcode: OP.CLOSE, payload: closeBody(1000, 'bye') }]);
      if (how === 'end') peer.sock.end();
      else peer.sock.resetAndDestroy();
      expect(await side.closed).toEqual([1000, 'bye']);
      expect(side.messages).toEqual([['last words', false]]);
      expect(side.errors).toEqual([]);
    });

    it('7.1.x close() on our endpoint: messages sent before it leave first, the close frame is last, then it waits for the peer\'s close', async () => {
      const { peer, side } = await openPair(cleanup, role);
      side.ws.send('one');
      side.ws.send(bytesOf(70_000));
      side.ws.close(4001, 'bye');
      expect(side.ws.send('after close')).toBe('dropped');
      await expectMessage(peer, OP.TEXT, 'one');
      await expectMessage(peer, OP.BINARY, bytesOf(70_000));
      expect(await expectClose(peer, 4001)).toEqual({ code: 4001, reason: 'bye' });
      await peer.quiet(100); // the closing handshake is not complete: our endpoint waits for the peer's close
      await peer.close(4001);
      finishClose(peer);
      expect(await peer.end()).toEqual([]);
      expect((await side.closed)[0]).toBe(4001);
    });

    it('7.1.x close() while 24 MiB are still unsent: the message and the next one leave whole, then the close frame', async () => {
      // 24 MiB: more than any loopback socket buffers hold for a reader that stopped reading.
      const { peer, side } = await openPair(cleanup, role, { maxBackpressure: 64 * MiB, maxFrameSize: 32 * MiB });
      const data = bytesOf(24 * MiB, 3);
      peer.sock.pause();
      expect(side.ws.send(data)).not.toBe('dropped');
      expect(side.ws.send('tail')).not.toBe('dropped');
      await waitUntil(() => side.ws.bufferedAmount > 0, 'the send to be backpressured', 10_000);
      side.ws.close(4000, 'done');
      peer.sock.resume();
      await expectMessage(peer, OP.BINARY, data, 20_000);
      await expectMessage(peer, OP.TEXT, 'tail');
      expect(await expectClose(peer, 4000)).toEqual({ code: 4000, reason: 'done' });
      await peer.close(4000);
      finishClose(peer);
      expect(await peer.end()).toEqual([]);
      expect((await side.closed)[0]).toBe(4000);
    }, 60_000);

    it('7.1.x after our endpoint sent its close, it still delivers data the peer sent before its close reply (RFC 6455 §1.4)', async () => {
      const { peer, side } = await openPair(cleanup, role);
      side.ws.close(1000);
      await expectClose(peer, 1000);
      await peer.sendAll([{ opcode: OP.TEXT, payload: 'in flight' }, { opcode: OP.PING, payload: 'late ping' }, CLOSE_1000]);
      finishClose(peer);
      expect(await peer.end()).toEqual([]); // no echo and no pong: our close was our last frame
      await side.closed;
      expect(side.messages).toEqual([['in flight', false]]);
    });
  });

  describe('7.3 close frame structure', () => {
    it('7.3.1 close with an empty payload → an empty close back (no 1005 on the wire); our endpoint reports 1005', async () => {
      const { peer, side } = await openPair(cleanup, role);
      await peer.close();
      await expectCloseReply(peer, null);
      expect(await side.closed).toEqual([1005, '']);
    });

    it('7.3.2 close with a 1-byte payload → close 1002', async () => {
      const { peer, side } = await openPair(cleanup, role);
      await peer.send({ opcode: OP.CLOSE, payload: 'a' });
      await expectFailure(peer, 1002, side);
    });

    it.each([
      ['7.3.3 code 1000 only', ''],
      ['7.3.4 code 1000 and a reason', 'Hello World!'],
      ['7.3.5 code 1000 and a reason of the maximum 123 bytes', '*'.repeat(123)],
      ['7.3.x code 1000 and a 123-byte multi-byte UTF-8 reason', 'é'.repeat(61) + 'x'],
    ])('%s → close 1000 back; our endpoint reports the reason', async (_name, reason) => {
      const { peer, side } = await openPair(cleanup, role);
      await peer.close(1000, reason);
      await expectCloseReply(peer, 1000);
      expect(await side.closed).toEqual([1000, reason]);
    });

    it('7.3.6 code 1000 and a 124-byte reason (126-byte control frame) → close 1002', async () => {
      const { peer, side } = await openPair(cleanup, role);
      await peer.close(1000, '*'.repeat(124));
      await expectFailure(peer, 1002, side);
    });

    it('7.5.1 a close reason that is not UTF-8 → close 1007', async () => {
      const { peer, side } = await openPair(cleanup, role);
      await peer.close(1000, KOSME_SURROGATE);
      await expectFailure(peer, 1007, side);
    });

    it('7.5.x a close reason ending inside a code point → close 1007', async () => {
      const { peer, side } = await openPair(cleanup, role);
      await peer.close(1000, Buffer.from([0x61, 0xe2, 0x82]));
      await expectFailure(peer, 1007, side);
    });
  });

  describe('7.7 / 7.9 / 7.13 close codes', () => {
    const valid = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999];
    it.each(valid.map((code, i) => [`7.7.${i + 1}`, code]))('%s close with valid code %i → the same code back, a clean close', async (_id, code) => {
      const { peer, side } = await openPair(cleanup, role);
      await peer.close(code);
      await expectCloseReply(peer, code);
      expect(await side.closed).toEqual([code, '']);
      expect(side.errors).toEqual([]);
    });

    it.each([1012, 1013, 1014])('7.7.x close with the IANA-registered code %i (RFC 6455 §11.7 registry) → the same code back', async (code) => {
      const { peer, side } = await openPair(cleanup, role);
      await peer.close(code);
      await expectCloseReply(peer, code);
      expect(await side.closed).toEqual([code, '']);
    });

    const invalid = [0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999];
    it.each([
      ...invalid.map((code, i) => [`7.9.${i + 1}`, code]),
      ['7.9.x (1015: MUST NOT be sent, §7.4.1)', 1015],
      ['7.13.1', 5000],
      ['7.13.2', 65535],
    ])('%s close with invalid code %i → close 1002', async (_id, code) => {
      const { peer, side } = await openPair(cleanup, role);
      await peer.close(code as number);
      await expectFailure(peer, 1002, side);
    });

    it('7.x the connection stays usable until the close: ping, message, then close with 3000 and a reason', async () => {
      const { peer, side } = await openPair(cleanup, role);
      await peer.ping('p');
      await expectPong(peer, 'p');
      await peer.close(3000, 'app');
      await expectCloseReply(peer, 3000);
      expect(await side.closed).toEqual([3000, 'app']);
    });
  });
});
