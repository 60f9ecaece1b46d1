// Autobahn section 9 (limits and large messages): large text and binary messages echoed intact
// as one frame, 4 MiB in 64-byte fragments (the `ws` package refuses this by default), a 1 MiB
// frame in 64-byte TCP writes, 1000 sequential round trips — and the size limits: a frame or
// message over the limit closes 1009, decided from the frame header before its payload is sent.
// Every case runs twice (ROLES): against our server (a WebSocketServer echoing through the public
// API) driven by a raw-socket client, and against our client (connect(), the same echo) driven by
// a scripted raw server. Each asserts the exact frames our endpoint sends back (role-correct
// masking, RSV 0, minimal lengths, nothing extra), the close code, that TCP ends, and what our
// WebSocket reported (messages, pings, error code, close event).
import { afterEach, describe, expect, it } from 'vitest';

import { Cleanup } from '../js/helpers';
import { bytesOf, cleanClose, expectFailure, expectMessage, expectPong, MiB, nextFrame, openPair, ROLES } from './fixtures';
import { type FrameSpec, OP } from './wire';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

const LARGE = { maxPayloadLength: 64 * MiB, maxFrameSize: 32 * MiB };
// 16 bytes of UTF-8 with 2-, 3- and 4-byte code points: repeated to any multiple of 16 it stays valid.
const UTF8_16 = Buffer.from('cebae1bdb9cf83cebcceb5f09f988061', 'hex'); // κόσμε 😀 a

function text(n: number): Buffer {
  if (n % 16 !== 0 || UTF8_16.length !== 16) throw new Error('size must be a multiple of 16');
  return Buffer.alloc(n, UTF8_16);
}

describe.each(ROLES)('%s', (_who, role) => {
  describe('9.1 / 9.2 large messages in one frame', () => {
    it.each([
      ['9.1.1 text 64 KiB', OP.TEXT, 64 * 1024],
      ['9.1.3 text 1 MiB', OP.TEXT, 1 * MiB],
      ['9.1.6 text 16 MiB', OP.TEXT, 16 * MiB],
      ['9.2.1 binary 64 KiB', OP.BINARY, 64 * 1024],
      ['9.2.4 binary 4 MiB', OP.BINARY, 4 * MiB],
      ['9.2.6 binary 16 MiB', OP.BINARY, 16 * MiB],
    ] as [string, number, number][])('%s in one frame → echoed intact as one frame', async (_id, opcode, n) => {
      const { peer, side } = await openPair(cleanup, role, LARGE);
      const payload = opcode === OP.TEXT ? text(n) : bytesOf(n, n);
      await peer.send({ opcode, payload });
      await expectMessage(peer, opcode, payload, 20_000);
      expect(side.messages).toHaveLength(1);
      await cleanClose(peer, side);
    }, 60_000);
  });

  describe('9.3 / 9.4 fragmented large messages', () => {
    it.each([
      ['9.3.1 text, 64-byte fragments', OP.TEXT, 64],
      ['9.3.4 text, 4 KiB fragments', OP.TEXT, 4096],
      ['9.4.1 binary, 64-byte fragments', OP.BINARY, 64],
      ['9.4.8 binary, 1 MiB fragments', OP.BINARY, 1 * MiB],
    ] as [string, number, number][])('%s: a 4 MiB message → one message, echoed as one frame', async (_id, opcode, frag) => {
      const { peer, side } = await openPair(cleanup, role, LARGE);
      const payload = opcode === OP.TEXT ? text(4 * MiB) : bytesOf(4 * MiB, frag);
      const frames: FrameSpec[] = [];
      for (let off = 0; off < payload.length; off += frag) {
        frames.push({ opcode: off === 0 ? opcode : OP.CONT, payload: payload.subarray(off, off + frag), fin: off + frag >= payload.length });
      }
      await peer.sendAll(frames);
      await expectMessage(peer, opcode, payload, 20_000);
      expect(side.messages).toHaveLength(1);
      await cleanClose(peer, side);
    }, 60_000);
    it('9.x a ping between two 2 MiB fragments is answered before the message is complete', async () => {
      const { peer, side } = await openPair(cleanup, role, LARGE);
      const data = bytesOf(4 * MiB, 4);
      await peer.sendAll([{ opcode: OP.BINARY, payload: data.subarray(0, 2 * MiB), fin: false }, { opcode: OP.PING, payload: 'mid-message' }]);
      await expectPong(peer, 'mid-message');
      await peer.sendAll([{ opcode: OP.CONT, payload: data.subarray(2 * MiB) }]);
      await expectMessage(peer, OP.BINARY, data, 20_000);
      await cleanClose(peer, side);
    }, 60_000);
  });

  describe('9.5 / 9.6 a large frame in small TCP writes', () => {
    it.each([
      ['9.5.1 text, 64-byte writes', OP.TEXT, 64],
      ['9.6.6 binary, 2 KiB writes', OP.BINARY, 2048],
    ] as [string, number, number][])('%s: 1 MiB in one frame written in small pieces → echoed intact', async (_id, opcode, chop) => {
      const { peer, side } = await openPair(cleanup, role, LARGE);
      const payload = opcode === OP.TEXT ? text(MiB) : bytesOf(MiB, 3);
      await peer.send({ opcode, payload }, { chop });
      await expectMessage(peer, opcode, payload, 20_000);
      await cleanClose(peer, side);
    }, 60_000);
  });

  describe('9.7 / 9.8 many round trips', () => {
    it.each([
      ['9.7.3 text, 64 bytes', OP.TEXT, 64],
      ['9.8.5 binary, 4 KiB', OP.BINARY, 4096],
    ] as [string, number, number][])('%s: 1000 messages, each sent after the previous echo → all echoed in order', async (_id, opcode, n) => {
      const { peer, side } = await openPair(cleanup, role);
      for (let i = 0; i < 1000; i++) {
        const payload = opcode === OP.TEXT ? Buffer.alloc(n, `${i % 10}`) : bytesOf(n, i + 1);
        await peer.send({ opcode, payload });
        await expectMessage(peer, opcode, payload);
      }
      expect(side.messages).toHaveLength(1000);
      await cleanClose(peer, side);
    }, 60_000);
  });

  describe('9.x limits → 1009', () => {
    it('maxFrameSize: a frame of exactly the limit passes; one byte more is refused from its header (payload never sent)', async () => {
      const { peer, side } = await openPair(cleanup, role, { maxFrameSize: 1000, maxPayloadLength: 10_000 });
      await peer.binary(bytesOf(1000));
      await expectMessage(peer, OP.BINARY, bytesOf(1000));
      await peer.send({ opcode: OP.BINARY, payload: Buffer.alloc(0), announcedLength: 1001 });
      await expectFailure(peer, 1009, side);
      expect(side.errors[0]).toMatchObject({ code: 'WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH' });
    });

    it('maxPayloadLength: a fragmented message is refused at the header of the fragment that crosses the limit', async () => {
      const { peer, side } = await openPair(cleanup, role, { maxFrameSize: 1000, maxPayloadLength: 1500 });
      await peer.sendAll([{ opcode: OP.TEXT, payload: 'a'.repeat(1000), fin: false }]);
      await peer.quiet(100); // 1000 of 1500: fine so far
      await peer.send({ opcode: OP.CONT, payload: Buffer.alloc(0), announcedLength: 501 }); // 1501: one over
      await expectFailure(peer, 1009, side);
      expect(side.errors[0]).toMatchObject({ code: 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' });
      expect(side.messages).toEqual([]);
    });

    it('maxPayloadLength: exactly the limit in fragments passes (echoed in fragments of at most maxFrameSize)', async () => {
      const { peer, side } = await openPair(cleanup, role, { maxFrameSize: 1000, maxPayloadLength: 1500 });
      await peer.sendAll([{ opcode: OP.TEXT, payload: 'a'.repeat(1000), fin: false }, { opcode: OP.CONT, payload: 'b'.repeat(500) }]);
      const f1 = await nextFrame(peer);
      const f2 = await nextFrame(peer);
      expect([[f1.opcode, f1.fin, f1.payload.toString()], [f2.opcode, f2.fin, f2.payload.toString()]])
        .toEqual([[OP.TEXT, false, 'a'.repeat(1000)], [OP.CONT, true, 'b'.repeat(500)]]);
      await cleanClose(peer, side);
    });

    // ws and browsers send a message as one frame, so without maxFrameSize the frame limit is maxPayloadLength.
    it('defaults: maxFrameSize follows maxPayloadLength: a 20 MiB frame (exactly the limit) passes; 20 MiB + 1 is refused from its header', async () => {
      const { peer, side } = await openPair(cleanup, role, { maxPayloadLength: 20 * MiB });
      const payload = bytesOf(20 * MiB, 9);
      await peer.binary(payload);
      await expectMessage(peer, OP.BINARY, payload, 20_000);
      const over = peer.encode({ opcode: OP.BINARY, payload: Buffer.alloc(0), announcedLength: 20 * MiB + 1 });
      await peer.write(over);
      await expectFailure(peer, 1009, side);
    }, 60_000);

    it('a frame announcing 2^63 - 1 bytes → 1009 from the header alone', async () => {
      const { peer, side } = await openPair(cleanup, role);
      await peer.send({ opcode: OP.BINARY, payload: Buffer.alloc(0), announcedLength: 2n ** 63n - 1n });
      await expectFailure(peer, 1009, side);
    });
  });
});
