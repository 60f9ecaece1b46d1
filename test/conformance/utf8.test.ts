// Autobahn section 6 (UTF-8 handling). Valid text is echoed exactly; invalid text closes 1007 —
// and closes FAST: as soon as the byte that makes the text impossible has arrived, inside a
// fragment or inside a frame, before the rest of the message (which these cases never send).
// Every case runs twice (ROLES): against our server (a WebSocketServer echoing through the public
// API) driven by a raw-socket client, and against our client (connect(), the same echo) driven by
// a scripted raw server. Each asserts the exact frames our endpoint sends back (role-correct
// masking, RSV 0, minimal lengths, nothing extra), the close code, that TCP ends, and what our
// WebSocket reported (messages, pings, error code, close event).
import { afterEach, describe, expect, it } from 'vitest';

import { Cleanup } from '../js/helpers';
import { cleanClose, expectFailure, expectMessage, expectPong, lib, openPair, ROLES } from './fixtures';
import { FAIL_FAST_PAYLOAD, SURROGATE_PAYLOAD, UTF8_CASES, validity } from './utf8-cases';
import { type FrameSpec, OP } from './wire';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

const F = (opcode: number, payload: string | Buffer, fin: boolean): FrameSpec => ({ opcode, payload, fin });
const QUIET_MS = 150;

describe('the suite\'s reference UTF-8 validator', () => {
  it('agrees with TextDecoder({ fatal: true }) on 20,000 seeded random byte strings, and finds the first impossible byte', () => {
    const decoder = new TextDecoder('utf-8', { fatal: true });
    let x = 12345;
    const rnd = () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 8;
    for (let n = 0; n < 20_000; n++) {
      const bytes = Buffer.from(Array.from({ length: 1 + (rnd() % 8) }, () => (rnd() % 3 === 0 ? rnd() % 0x80 : 0x80 + (rnd() % 0x80))));
      let ok = true;
      try {
        decoder.decode(bytes);
      } catch {
        ok = false;
      }
      const v = validity(bytes);
      expect(v === 'valid', bytes.toString('hex')).toBe(ok);
      // Every proper prefix before the impossible byte can still be completed; the byte itself cannot.
      if (typeof v === 'number') expect(validity(bytes.subarray(0, v)), bytes.toString('hex')).not.toBeTypeOf('number');
    }
  });
});

describe.each(ROLES)('%s', (_who, role) => {
  describe('6.1-6.3 UTF-8 in fragments', () => {
    it.each([
      ['6.1.1 empty text message', [F(OP.TEXT, '', true)], ''],
      ['6.1.2 text in 3 empty fragments', [F(OP.TEXT, '', false), F(OP.CONT, '', false), F(OP.CONT, '', true)], ''],
      ['6.1.3 text in 3 fragments, first and last empty', [F(OP.TEXT, '', false), F(OP.CONT, 'middle frame payload', false), F(OP.CONT, '', true)], 'middle frame payload'],
    ])('%s → echoed as one text frame', async (_name, frames, expected) => {
      const { peer, side } = await openPair(cleanup, role);
      await peer.sendAll(frames);
      await expectMessage(peer, OP.TEXT, expected);
      expect(side.messages).toEqual([[expected, false]]);
      await cleanClose(peer, side);
    });

    const hello = Buffer.from('Hello-µ@ßöäüàá-UTF-8!!');
    const kosme = Buffer.from('κόσμε');
    it.each([
      ['6.2.1 valid UTF-8 in one fragment', hello, [hello.length]],
      ['6.2.2 valid UTF-8 in 2 fragments split at a code point boundary', hello, [7, hello.length]],
      ['6.2.3 valid UTF-8 in 1-byte fragments (ends inside code points)', hello, Array.from(hello, (_, i) => i + 1)],
      ['6.2.4 "κόσμε" in 1-byte fragments', kosme, Array.from(kosme, (_, i) => i + 1)],
    ] as [string, Buffer, number[]][])('%s → echoed as one text frame', async (_name, payload, cuts) => {
      const { peer, side } = await openPair(cleanup, role);
      let from = 0;
      await peer.sendAll(cuts.map((to, i) => {
        const f = F(i === 0 ? OP.TEXT : OP.CONT, payload.subarray(from, to), i === cuts.length - 1);
        from = to;
        return f;
      }));
      await expectMessage(peer, OP.TEXT, payload);
      await cleanClose(peer, side);
    });

    it('6.3.1 invalid UTF-8 (a UTF-16 surrogate) in one fragment → close 1007, nothing echoed', async () => {
      const { peer, side } = await openPair(cleanup, role);
      await peer.text(SURROGATE_PAYLOAD);
      await expectFailure(peer, 1007, side);
      expect(side.messages).toEqual([]);
    });

    it('6.3.2 the same in 1-byte fragments → close 1007 right after the fragment holding the impossible byte', async () => {
      const { peer, side } = await openPair(cleanup, role);
      const bad = validity(SURROGATE_PAYLOAD) as number; // 12: 0xA0 after 0xED
      expect(bad).toBe(12);
      const frames = Array.from(SURROGATE_PAYLOAD, (x, i) => F(i === 0 ? OP.TEXT : OP.CONT, Buffer.from([x]), i === SURROGATE_PAYLOAD.length - 1));
      await peer.sendAll(frames.slice(0, bad));
      await peer.quiet(QUIET_MS); // a valid prefix: nothing to fail yet
      await peer.sendAll([frames[bad]!]);
      await expectFailure(peer, 1007, side); // the remaining fragments are never sent
    });
  });

  describe('6.4 fail fast on invalid UTF-8', () => {
    const P = FAIL_FAST_PAYLOAD; // κόσμε (11 bytes) | F4 90 80 80 (invalid at the 0x90) | "edited"

    it('6.4.1 3 fragments; the 2nd holds a whole invalid code point → close 1007 before the 3rd is sent', async () => {
      const { peer, side } = await openPair(cleanup, role);
      await peer.sendAll([F(OP.TEXT, P.subarray(0, 11), false)]);
      await peer.quiet(QUIET_MS);
      await peer.sendAll([F(OP.CONT, P.subarray(11, 15), false)]);
      await expectFailure(peer, 1007, side);
    });

    it('6.4.2 3 fragments; the 1st ends with 0xF4 (still valid), the 2nd is the impossible 0x90 → no close after the 1st, close 1007 after the 2nd', async () => {
      const { peer, side } = await openPair(cleanup, role);
      await peer.sendAll([F(OP.TEXT, P.subarray(0, 12), false)]);
      await peer.quiet(QUIET_MS);
      await peer.sendAll([F(OP.CONT, P.subarray(12, 13), false)]);
      await expectFailure(peer, 1007, side);
    });

    it('6.4.3 one frame in 3 chops; the 2nd chop holds the invalid code point → close 1007 inside the frame, before the 3rd chop', async () => {
      const { peer, side } = await openPair(cleanup, role);
      const frame = peer.encode({ opcode: OP.TEXT, payload: P });
      const header = frame.length - P.length;
      await peer.write(frame.subarray(0, header + 11));
      await peer.quiet(QUIET_MS);
      await peer.write(frame.subarray(header + 11, header + 15));
      await expectFailure(peer, 1007, side);
    });

    it('6.4.4 one frame in 3 chops; the 1st ends with 0xF4, the 2nd is the single impossible byte 0x90 → close 1007 inside the frame', async () => {
      const { peer, side } = await openPair(cleanup, role);
      const frame = peer.encode({ opcode: OP.TEXT, payload: P });
      const header = frame.length - P.length;
      await peer.write(frame.subarray(0, header + 12));
      await peer.quiet(QUIET_MS);
      await peer.write(frame.subarray(header + 12, header + 13));
      await expectFailure(peer, 1007, side);
    });

    it('6.4.x fail fast inside a large frame: 16 KiB announced, the first 100 bytes end in an impossible byte → close 1007 without the rest', async () => {
      const { peer, side } = await openPair(cleanup, role);
      const payload = Buffer.concat([Buffer.alloc(99, 0x61), Buffer.from([0xff]), Buffer.alloc(16 * 1024 - 100, 0x61)]);
      const frame = peer.encode({ opcode: OP.TEXT, payload });
      await peer.write(frame.subarray(0, frame.length - payload.length + 100));
      await expectFailure(peer, 1007, side);
    });

    it.each([
      ['6.4.1 payload (F4 90 80 80)', FAIL_FAST_PAYLOAD],
      ['6.3.1 payload (ED A0 80)', SURROGATE_PAYLOAD],
    ])('6.4.x fail fast with the frame cut at every byte up to the impossible one (%s)', async (_name, payload) => {
      const bad = validity(payload) as number;
      for (let cut = 1; cut <= bad; cut++) {
        const { peer, side } = await openPair(cleanup, role);
        const frame = peer.encode({ opcode: OP.TEXT, payload });
        const header = frame.length - payload.length;
        await peer.write(frame.subarray(0, header + bad + 1), { cuts: [header + cut] });
        await expectFailure(peer, 1007, side);
      }
    });

    it.each([
      ['completes a valid 4-byte code point → echoed', Buffer.from([0x98, 0x80]), true],
      ['breaks it → close 1007', Buffer.from([0x28]), false],
    ])('6.x a code point cut between fragments with a ping in between: the continuation %s', async (_name, rest, valid) => {
      const { peer, side } = await openPair(cleanup, role);
      await peer.sendAll([F(OP.TEXT, Buffer.from([0x61, 0xf0, 0x9f]), false), { opcode: OP.PING, payload: 'between' }]);
      await expectPong(peer, 'between');
      await peer.sendAll([F(OP.CONT, rest, true)]);
      if (valid) {
        await expectMessage(peer, OP.TEXT, 'a😀');
        await cleanClose(peer, side);
      } else {
        await expectFailure(peer, 1007, side);
      }
    });

    it('6.4.x a valid 4-byte code point cut by chops and fragments is NOT an error', async () => {
      const { peer, side } = await openPair(cleanup, role);
      const text = Buffer.from('a😀b😀c');
      await peer.sendAll([F(OP.TEXT, text.subarray(0, 2), false), F(OP.CONT, text.subarray(2, 4), false), F(OP.CONT, text.subarray(4), true)], 'bytes');
      await expectMessage(peer, OP.TEXT, text);
      await cleanClose(peer, side);
    });
  });

  describe('6.5-6.23 UTF-8 sequences (Markus Kuhn\'s decoder stress test)', () => {
    it('the reference validator and isValidUTF8() agree with every validity flag of the Autobahn table (132 sequences)', () => {
      expect(UTF8_CASES).toHaveLength(132);
      for (const c of UTF8_CASES) expect(validity(c.bytes) === 'valid', c.id).toBe(c.valid);
      for (const c of UTF8_CASES) expect(lib.isValidUTF8(c.bytes), c.id).toBe(c.valid);
    });

    it.each(UTF8_CASES.map((c) => [c.id, c.valid ? 'valid' : 'invalid', c.bytes.toString('hex'), c] as const))(
      '%s %s: 0x%s in one text frame → %s',
      async (_id, _v, _hex, c) => {
        const { peer, side } = await openPair(cleanup, role);
        await peer.text(c.bytes);
        if (c.valid) {
          await expectMessage(peer, OP.TEXT, c.bytes);
          expect(side.messages).toEqual([[c.bytes.toString(), false]]);
          await cleanClose(peer, side);
        } else {
          await expectFailure(peer, 1007, side);
          expect(side.messages).toEqual([]);
        }
      },
    );

    // Fail fast inside a frame: the frame announces 64 more bytes than are ever sent; only the bytes
    // up to the first impossible one are written. Sequences that are invalid only because they end
    // early ("truncated") cannot fail before the message ends; those are sent as a whole message.
    const failFast = UTF8_CASES.filter((c) => !c.valid).map((c) => {
      const at = validity(c.bytes);
      const where = at === 'truncated' ? 'only truncated: fails when the message ends' : `impossible at byte ${at as number}`;
      return [c.id, c.bytes.toString('hex'), where, at, c] as const;
    });
    it.each(failFast)('%s fail fast: 0x%s (%s) inside an unfinished frame → close 1007', async (_id, _hex, _where, at, c) => {
      const { peer, side } = await openPair(cleanup, role);
      if (at === 'truncated') {
        // Nothing impossible yet: a frame that ends here in a fragment (no FIN) is accepted...
        await peer.sendAll([F(OP.TEXT, c.bytes, false)]);
        await peer.quiet(QUIET_MS);
        // ...and the final (empty) fragment makes it a truncated message → 1007.
        await peer.sendAll([F(OP.CONT, '', true)]);
      } else {
        const frame = peer.encode({ opcode: OP.TEXT, payload: Buffer.concat([c.bytes, Buffer.alloc(64, 0x61)]) });
        const header = frame.length - c.bytes.length - 64;
        await peer.write(frame.subarray(0, header + (at as number) + 1));
      }
      await expectFailure(peer, 1007, side);
      expect(side.messages).toEqual([]);
    });
  });
});
