// Autobahn sections 1-4: 1 framing (text/binary at every length-encoding boundary, frames cut
// into TCP writes anywhere, including inside the header), 2 ping/pong, 3 reserved bits,
// 4 reserved opcodes, plus the §5.1-5.2 rules Autobahn leaves out (masking by role, minimal
// lengths, the 64-bit length's top bit).
// Every case runs twice (ROLES): against our server (a WebSocketServer echoing through the public
// API) driven by a raw-socket client, and against our client (connect(), the same echo) driven by
// a scripted raw server. Each asserts the exact frames our endpoint sends back (role-correct
// masking, RSV 0, minimal lengths, nothing extra), the close code, that TCP ends, and what our
// WebSocket reported (messages, pings, error code, close event).
import { afterEach, describe, expect, it } from 'vitest';

import { Cleanup, randomUtf8, waitUntil } from '../js/helpers';
import { bytesOf, cleanClose, expectClose, expectFailure, expectMessage, expectPong, finishClose, MiB, nextFrame, openPair, ROLES } from './fixtures';
import { type FrameSpec, OP, type Split } from './wire';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

const HELLO = 'Hello, world!';

// Header of a masked frame: 2 bytes, +2 (16-bit length) or +8 (64-bit length), +4 mask key.
describe.each(ROLES)('%s', (_who, role) => {
  const LENGTHS: [string, number, Split][] = [
    ['1', 0, 'bytes'], // byte-at-a-time: the 2-byte header and the mask key arrive one byte per write
    ['2', 125, 'whole'],
    ['3', 126, { cuts: [3] }], // inside the 16-bit length
    ['4', 127, { cuts: [1] }], // between the two header bytes
    ['5', 128, { cuts: [2, 6] }], // before the 16-bit length, inside the mask key
    ['6', 65535, 'whole'],
    ['7', 65536, { cuts: [5, 12, 100] }], // inside the 64-bit length, inside the key, inside the payload
    ['8', 65536, { chop: 997 }], // Autobahn 1.1.8/1.2.8: chops of 997 bytes
  ];

  describe('1.1 text messages', () => {
    it.each(LENGTHS)('1.1.%s text %i bytes (written as %j) is echoed as one text frame', async (_id, n, split) => {
      const { peer, side } = await openPair(cleanup, role);
      const payload = randomUtf8(n, n + 1);
      await peer.text(payload, split);
      await expectMessage(peer, OP.TEXT, payload);
      expect(side.messages).toEqual([[payload.toString(), false]]);
      await cleanClose(peer, side);
    });
    it('1.1.x text whose non-ASCII characters (Latin-1 range, BMP, astral, NUL) sit at SIMD-block and 4 KiB boundaries is echoed byte-exact', async () => {
      const { peer, side } = await openPair(cleanup, role);
      const chars = ['\u0080', 'é', 'ÿ', 'Ā', '€', '\uffff', '😀', '\u0000'];
      for (const c of chars) {
        for (const n of [0, 15, 16, 31, 32, 63, 64, 4093, 4094, 4095, 4096, 4097, 65535]) {
          const ascii = 'x'.repeat(n);
          const many = c.repeat(Math.max(1, Math.floor(n / Buffer.byteLength(c))));
          for (const str of [ascii + c, c + ascii, ascii.slice(0, n >> 1) + c + ascii.slice(n >> 1), many]) {
            await peer.text(str);
            await expectMessage(peer, OP.TEXT, str);
          }
        }
      }
      expect(side.messages).toHaveLength(chars.length * 13 * 4);
      await cleanClose(peer, side);
    }, 60_000);
  });

  describe('1.2 binary messages', () => {
    it.each(LENGTHS)('1.2.%s binary %i bytes (written as %j) is echoed as one binary frame', async (_id, n, split) => {
      const { peer, side } = await openPair(cleanup, role);
      const payload = bytesOf(n, n + 1);
      await peer.binary(payload, split);
      await expectMessage(peer, OP.BINARY, payload);
      expect(side.messages).toHaveLength(1);
      expect(side.messages[0]![1]).toBe(true);
      expect((side.messages[0]![0] as Buffer).equals(payload)).toBe(true);
      await cleanClose(peer, side);
    });

    it('1.x many frames in one TCP write, and one frame whose header ends exactly at a write boundary', async () => {
      const { peer, side } = await openPair(cleanup, role);
      const a = bytesOf(300, 1);
      const b = randomUtf8(70_000, 2);
      await peer.sendAll([{ opcode: OP.BINARY, payload: a }, { opcode: OP.TEXT, payload: 'x' }, { opcode: OP.TEXT, payload: b }]);
      await expectMessage(peer, OP.BINARY, a);
      await expectMessage(peer, OP.TEXT, 'x');
      await expectMessage(peer, OP.TEXT, b);
      await peer.binary(a, { cuts: [8] }); // 2 + 2 + 4: the whole header, then the payload
      await expectMessage(peer, OP.BINARY, a);
      await cleanClose(peer, side);
    });
  });

  describe('2 ping / pong', () => {
    const pings: [string, Buffer, Split][] = [
      ['2.1 ping without payload', Buffer.alloc(0), 'whole'],
      ['2.2 ping with a small text payload', Buffer.from(HELLO), 'whole'],
      ['2.3 ping with a small binary payload', Buffer.from([0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff]), 'whole'],
      ['2.4 ping with a 125-byte binary payload', Buffer.alloc(125, 0xfe), 'whole'],
      ['2.6 ping with a 125-byte payload written byte by byte', Buffer.alloc(125, 0xfe), 'bytes'],
    ];
    it.each(pings)('%s → a pong with the same payload', async (_name, payload, split) => {
      const { peer, side } = await openPair(cleanup, role);
      await peer.ping(payload, split);
      await expectPong(peer, payload);
      expect(side.pings.map((p) => p.toString('hex'))).toEqual([payload.toString('hex')]);
      await cleanClose(peer, side);
    });

    it('2.5 ping with a 126-byte payload → close 1002 (control frames carry at most 125 bytes), no pong', async () => {
      const { peer, side } = await openPair(cleanup, role);
      await peer.ping(Buffer.alloc(126, 0xfe));
      await expectFailure(peer, 1002, side);
      expect(side.pings).toEqual([]);
    });

    it('2.5 (header only) a ping announcing 126 bytes is refused before its payload is sent', async () => {
      const { peer, side } = await openPair(cleanup, role);
      await peer.send({ opcode: OP.PING, payload: Buffer.alloc(0), announcedLength: 126 });
      await expectFailure(peer, 1002, side);
    });

    it.each([
      ['2.7 unsolicited pong without payload', ''],
      ['2.8 unsolicited pong with payload', 'unsolicited pong payload'],
    ])('%s → no answer (the next frame is the echo of the following message)', async (_name, payload) => {
      const { peer, side } = await openPair(cleanup, role);
      await peer.send({ opcode: OP.PONG, payload });
      await peer.text('after the pong');
      await expectMessage(peer, OP.TEXT, 'after the pong');
      expect(side.pongs.map(String)).toEqual([payload]);
      await cleanClose(peer, side);
    });

    it('2.9 unsolicited pong, then ping → exactly one pong, for the ping', async () => {
      const { peer, side } = await openPair(cleanup, role);
      await peer.sendAll([{ opcode: OP.PONG, payload: 'unsolicited pong payload' }, { opcode: OP.PING, payload: 'ping payload' }]);
      await expectPong(peer, 'ping payload');
      await peer.text('sentinel');
      await expectMessage(peer, OP.TEXT, 'sentinel');
      await cleanClose(peer, side);
    });

    it.each([
      ['2.10 ten pings in one write', 'whole'],
      ['2.11 ten pings, byte by byte', 'bytes'],
    ] as [string, Split][])('%s → ten pongs with the payloads, in order', async (_name, split) => {
      const { peer, side } = await openPair(cleanup, role);
      const payloads = Array.from({ length: 10 }, (_, i) => `payload-${i}`);
      await peer.sendAll(payloads.map((payload) => ({ opcode: OP.PING, payload })), split);
      for (const p of payloads) await expectPong(peer, p);
      expect(side.pings.map(String)).toEqual(payloads);
      await cleanClose(peer, side);
    });
    it('2.x pings while our 24 MiB echo is stuck in the send buffer → every pong is a whole frame between frames, never inside the echo', async () => {
      // 24 MiB: more than any loopback socket buffers hold for a reader that stopped reading.
      const { peer, side } = await openPair(cleanup, role, { maxBackpressure: 64 * MiB, maxFrameSize: 32 * MiB });
      const data = bytesOf(24 * MiB, 3);
      peer.sock.pause(); // stop reading: our endpoint's echo fills the socket buffers and waits
      await peer.binary(data);
      await waitUntil(() => side.ws.bufferedAmount > 0, 'the echo to be backpressured', 10_000);
      await peer.sendAll(Array.from({ length: 6 }, (_, i) => ({ opcode: OP.PING, payload: `p${i}` })));
      await new Promise((r) => setTimeout(r, 50));
      peer.sock.resume();
      // A pong may come before or after the echo (RFC 6455 §5.5.2), but only between frames.
      const seen: string[] = [];
      while (seen.length < 7) {
        const f = await nextFrame(peer, 20_000);
        if (f.opcode === OP.BINARY) {
          expect(f.fin).toBe(true);
          expect(f.payload.equals(data), 'the echo is intact').toBe(true);
          seen.push('echo');
        } else {
          expect(f.opcode).toBe(OP.PONG);
          seen.push(f.payload.toString());
        }
      }
      expect(seen.filter((x) => x !== 'echo')).toEqual(['p0', 'p1', 'p2', 'p3', 'p4', 'p5']);
      await cleanClose(peer, side);
    }, 60_000);

    it('2.10 beyond: 100 pings in one write → pongs in ping order, the most recent ping always answered (RFC 6455 §5.5.3)', async () => {
      const { peer, side } = await openPair(cleanup, role);
      const payloads = Array.from({ length: 100 }, (_, i) => `payload-${i}`);
      await peer.sendAll(payloads.map((payload) => ({ opcode: OP.PING, payload })));
      const pongs: string[] = [];
      while (pongs.at(-1) !== 'payload-99') {
        const f = await nextFrame(peer, 5000, 'a pong for the last ping');
        expect(f.opcode).toBe(OP.PONG);
        pongs.push(f.payload.toString());
      }
      // Answering every ping is allowed, so is answering only the most recent of those still unanswered.
      const indices = pongs.map((p) => payloads.indexOf(p));
      expect(indices.every((x, i) => x >= 0 && (i === 0 || x > indices[i - 1]!))).toBe(true);
      expect(side.pings).toHaveLength(100);
      await cleanClose(peer, side);
    });
  });

  /** Sends a valid text message, then `violation` (+ a ping), and expects the echo, then close `code`, no pong. */
  async function echoThenViolation(violation: FrameSpec, split: Split, waitForEcho: boolean, code = 1002) {
    const { peer, side } = await openPair(cleanup, role);
    const ping: FrameSpec = { opcode: OP.PING, payload: 'must not be answered' };
    if (waitForEcho) {
      await peer.text(HELLO, split);
      await expectMessage(peer, OP.TEXT, HELLO);
      await peer.sendAll([violation, ping], split);
    } else {
      // Autobahn's sequence: all frames back to back. Strict behaviour: the message before the
      // violation is still echoed, then the close; the ping after it is never answered.
      await peer.sendAll([{ opcode: OP.TEXT, payload: HELLO }, violation, ping], split);
      await expectMessage(peer, OP.TEXT, HELLO);
    }
    await expectFailure(peer, code, side);
    expect(side.messages).toEqual([[HELLO, false]]);
    expect(side.pings).toEqual([]);
  }

  describe('3 reserved bits (no extension negotiated)', () => {
    it('3.1 text with RSV = 1 → close 1002, nothing echoed', async () => {
      const { peer, side } = await openPair(cleanup, role);
      await peer.send({ opcode: OP.TEXT, payload: HELLO, rsv: 1 });
      await expectFailure(peer, 1002, side);
      expect(side.messages).toEqual([]);
    });

    it.each([
      ['3.2 text, then text with RSV = 2, then ping (one write)', 2, 'whole', false],
      ['3.3 text, then text with RSV = 3, then ping (byte by byte)', 3, 'bytes', false],
      ['3.4 text, then text with RSV = 4 (RSV1: permessage-deflate not negotiated), then ping (byte by byte)', 4, 'bytes', false],
      ['3.2 (after the echo arrived) text with RSV = 2', 2, 'whole', true],
      ['3.4 (after the echo arrived) text with RSV = 4', 4, 'whole', true],
    ] as [string, number, Split, boolean][])('%s → echo, then close 1002, no pong', async (_name, rsv, split, wait) => {
      await echoThenViolation({ opcode: OP.TEXT, payload: HELLO, rsv }, split, wait);
    });

    it.each([
      ['3.5 binary with RSV = 5', { opcode: OP.BINARY, payload: Buffer.from([0, 0xff, 0xfe]), rsv: 5 }],
      ['3.6 ping with RSV = 6', { opcode: OP.PING, payload: HELLO, rsv: 6 }],
      ['3.7 close with RSV = 7', { opcode: OP.CLOSE, payload: Buffer.from([0x03, 0xe8]), rsv: 7 }],
      ['3.x continuation with RSV = 1 inside a fragmented message', { opcode: OP.CONT, payload: 'b', rsv: 1 }],
    ] as [string, FrameSpec][])('%s → close 1002, no answer to the frame', async (name, frame) => {
      const { peer, side } = await openPair(cleanup, role);
      if (frame.opcode === OP.CONT) await peer.send({ opcode: OP.TEXT, payload: 'a', fin: false });
      await peer.send(frame);
      await expectFailure(peer, 1002, side);
      expect(side.messages, name).toEqual([]);
      expect(side.pings).toEqual([]);
    });

    it.each([1, 2, 3, 4, 5, 6, 7])('3.x every RSV value (%i) on a ping after a valid echo → close 1002', async (rsv) => {
      await echoThenViolation({ opcode: OP.PING, payload: 'x', rsv }, 'whole', true);
    });
  });

  describe('4 reserved opcodes', () => {
    it.each([
      ['4.1.1 non-control opcode 3, empty', 3, ''],
      ['4.1.2 non-control opcode 4 with payload', 4, 'reserved opcode payload'],
      ['4.2.1 control opcode 11, empty', 11, ''],
      ['4.2.2 control opcode 12 with payload', 12, 'reserved opcode payload'],
    ])('%s → close 1002', async (_name, opcode, payload) => {
      const { peer, side } = await openPair(cleanup, role);
      await peer.send({ opcode, payload });
      await expectFailure(peer, 1002, side);
    });

    it.each([
      ['4.1.3 text, opcode 5, ping', 5, '', 'whole'],
      ['4.1.4 text, opcode 6 with payload, ping', 6, HELLO, 'whole'],
      ['4.1.5 text, opcode 7 with payload, ping (byte by byte)', 7, HELLO, 'bytes'],
      ['4.2.3 text, opcode 13, ping', 13, '', 'whole'],
      ['4.2.4 text, opcode 14 with payload, ping', 14, HELLO, 'whole'],
      ['4.2.5 text, opcode 15 with payload, ping (byte by byte)', 15, HELLO, 'bytes'],
    ] as [string, number, string, Split][])('%s → echo, then close 1002, no pong', async (_name, opcode, payload, split) => {
      await echoThenViolation({ opcode, payload }, split, false);
    });

    it.each([3, 4, 5, 6, 7, 11, 12, 13, 14, 15])('4.x reserved opcode %i after a valid echo → close 1002', async (opcode) => {
      await echoThenViolation({ opcode, payload: 'x' }, 'whole', true);
    });

    it('4.x reserved opcode inside a fragmented message → close 1002, the message is not delivered', async () => {
      const { peer, side } = await openPair(cleanup, role);
      await peer.sendAll([{ opcode: OP.TEXT, payload: 'part 1', fin: false }, { opcode: 3, payload: 'x', fin: false }, { opcode: OP.CONT, payload: 'part 2' }]);
      await expectFailure(peer, 1002, side);
      expect(side.messages).toEqual([]);
    });
  });

  describe('framing rules the suite adds (RFC 6455 §5.1, §5.2)', () => {
    it('a frame masked the wrong way for its sender (unmasked from a client, masked from a server) → close 1002', async () => {
      const { peer, side } = await openPair(cleanup, role);
      await peer.send({ opcode: OP.TEXT, payload: HELLO, mask: peer.wrongMask });
      await expectFailure(peer, 1002, side);
      expect(side.messages).toEqual([]);
    });

    it.each([
      ['16-bit length for 5 bytes', 16, 5],
      ['64-bit length for 125 bytes', 64, 125],
      ['64-bit length for 65535 bytes', 64, 65535],
    ] as [string, 16 | 64, number][])('a non-minimal length (%s) → close 1002', async (_name, lengthForm, n) => {
      const { peer, side } = await openPair(cleanup, role);
      await peer.send({ opcode: OP.BINARY, payload: Buffer.alloc(n), lengthForm });
      await expectFailure(peer, 1002, side);
    });

    it('a 64-bit length with the most significant bit set → close 1002 from the header alone', async () => {
      const { peer, side } = await openPair(cleanup, role);
      await peer.send({ opcode: OP.BINARY, payload: Buffer.alloc(0), announcedLength: 2n ** 63n + 1n });
      await expectFailure(peer, 1002, side);
    });

    it.runIf(role === 'server')('a masking key of zero is valid (the payload is sent as is)', async () => {
      const { peer, side } = await openPair(cleanup, role);
      await peer.send({ opcode: OP.TEXT, payload: HELLO, key: Buffer.alloc(4) });
      await expectMessage(peer, OP.TEXT, HELLO);
      await cleanClose(peer, side);
    });

    it('close is answered even when the close frame is written byte by byte', async () => {
      const { peer, side } = await openPair(cleanup, role);
      await peer.send({ opcode: OP.CLOSE, payload: Buffer.from([0x03, 0xe8, 0x6f, 0x6b]) }, 'bytes');
      await expectClose(peer, 1000);
      finishClose(peer);
      expect(await peer.end()).toEqual([]);
      expect(await side.closed).toEqual([1000, 'ok']);
    });
  });
});
