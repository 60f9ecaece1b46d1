// Autobahn section 5 (fragmentation). A fragmented message must come back as ONE unfragmented
// message; control frames in between are answered right away (before the message is complete);
// continuation / new-message violations close 1002.
// Every case runs twice (ROLES): against our server (a WebSocketServer echoing through the public
// API) driven by a raw-socket client, and against our client (connect(), the same echo) driven by
// a scripted raw server. Each asserts the exact frames our endpoint sends back (role-correct
// masking, RSV 0, minimal lengths, nothing extra), the close code, that TCP ends, and what our
// WebSocket reported (messages, pings, error code, close event).
import { afterEach, describe, expect, it } from 'vitest';

import { Cleanup, randomUtf8 } from '../js/helpers';
import { bytesOf, cleanClose, expectFailure, expectMessage, expectPong, openPair, ROLES } from './fixtures';
import { type FrameSpec, OP, type Split } from './wire';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

const F = (opcode: number, payload: string | Buffer, fin: boolean): FrameSpec => ({ opcode, payload, fin });

/** Writes `frames` one TCP write per frame, yielding to the loop in between (Autobahn's "sync" sending). */
async function oneByOne(peer: { sendAll(s: FrameSpec[], split?: Split): Promise<void> }, frames: FrameSpec[]) {
  for (const f of frames) {
    await peer.sendAll([f]);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe.each(ROLES)('%s', (_who, role) => {
  describe('5 fragmentation', () => {
    it.each([
      ['5.1 ping in 2 fragments', OP.PING],
      ['5.2 pong in 2 fragments', OP.PONG],
    ])('%s → close 1002, nothing answered', async (_name, opcode) => {
      const { peer, side } = await openPair(cleanup, role);
      await peer.sendAll([F(opcode, 'fragment1', false), F(OP.CONT, 'fragment2', true)]);
      await expectFailure(peer, 1002, side);
      expect([side.pings, side.pongs]).toEqual([[], []]);
    });

    it('5.x close with FIN clear (a fragmented control frame) → close 1002, not a normal close', async () => {
      const { peer, side } = await openPair(cleanup, role);
      await peer.send({ opcode: OP.CLOSE, payload: Buffer.from([0x03, 0xe8]), fin: false });
      await expectFailure(peer, 1002, side);
      expect(side.errors[0]).toMatchObject({ code: 'WS_ERR_EXPECTED_FIN' });
    });

    const twoFragments = [F(OP.TEXT, 'fragment1', false), F(OP.CONT, 'fragment2', true)];
    it.each([
      ['5.3 text in 2 fragments (one write)', 'whole'],
      ['5.4 text in 2 fragments (byte by byte)', 'bytes'],
      ['5.5 text in 2 fragments (one write per frame)', 'frames'],
    ])('%s → echoed as one unfragmented text message', async (_name, how) => {
      const { peer, side } = await openPair(cleanup, role);
      if (how === 'frames') await oneByOne(peer, twoFragments);
      else await peer.sendAll(twoFragments, how as Split);
      await expectMessage(peer, OP.TEXT, 'fragment1fragment2');
      expect(side.messages).toEqual([['fragment1fragment2', false]]);
      await cleanClose(peer, side);
    });

    const withPing = [F(OP.TEXT, 'fragment1', false), F(OP.PING, 'ping payload', true), F(OP.CONT, 'fragment2', true)];
    it.each([
      ['5.6 text in 2 fragments, a ping in between (one write)', 'whole'],
      ['5.7 text in 2 fragments, a ping in between (byte by byte)', 'bytes'],
      ['5.8 text in 2 fragments, a ping in between (one write per frame)', 'frames'],
    ])('%s → the pong, then the message as one frame', async (_name, how) => {
      const { peer, side } = await openPair(cleanup, role);
      if (how === 'frames') await oneByOne(peer, withPing);
      else await peer.sendAll(withPing, how as Split);
      await expectPong(peer, 'ping payload');
      await expectMessage(peer, OP.TEXT, 'fragment1fragment2');
      await cleanClose(peer, side);
    });

    const orphan = (fin: boolean) => [F(OP.CONT, 'non-continuation payload', fin), F(OP.TEXT, 'Hello, world!', true)];
    it.each([
      ['5.9 continuation (FIN) with nothing to continue, then text (one write)', true, 'whole'],
      ['5.10 the same, one write per frame', true, 'frames'],
      ['5.11 the same, byte by byte', true, 'bytes'],
      ['5.12 continuation (no FIN) with nothing to continue, then text (one write)', false, 'whole'],
      ['5.13 the same, one write per frame', false, 'frames'],
      ['5.14 the same, byte by byte', false, 'bytes'],
    ] as [string, boolean, string][])('%s → close 1002, the text is not echoed', async (_name, fin, how) => {
      const { peer, side } = await openPair(cleanup, role);
      if (how === 'frames') await oneByOne(peer, orphan(fin));
      else await peer.sendAll(orphan(fin), how as Split);
      await expectFailure(peer, 1002, side);
      expect(side.messages).toEqual([]);
    });

    it('5.15 a message in 2 fragments, then a continuation with nothing to continue, then text → echo of the first, then 1002', async () => {
      const { peer, side } = await openPair(cleanup, role);
      await peer.sendAll([F(OP.TEXT, 'fragment1', false), F(OP.CONT, 'fragment2', true), F(OP.CONT, 'fragment3', false), F(OP.TEXT, 'fragment4', true)]);
      await expectMessage(peer, OP.TEXT, 'fragment1fragment2');
      await expectFailure(peer, 1002, side);
      expect(side.messages).toEqual([['fragment1fragment2', false]]);
    });

    it.each([
      ['5.16 twice: continuation (no FIN) with nothing to continue, then a 2-fragment text', false],
      ['5.17 twice: continuation (FIN) with nothing to continue, then a 2-fragment text', true],
    ])('%s → close 1002 at the first frame', async (_name, fin) => {
      const { peer, side } = await openPair(cleanup, role);
      const round = [F(OP.CONT, 'fragment1', fin), F(OP.TEXT, 'fragment2', false), F(OP.CONT, 'fragment3', true)];
      await peer.sendAll([...round, ...round]);
      await expectFailure(peer, 1002, side);
      expect(side.messages).toEqual([]);
    });

    it.each([
      ['5.18 text (no FIN), then a new text instead of a continuation', OP.TEXT, OP.TEXT],
      ['5.18 (binary) binary (no FIN), then a new binary', OP.BINARY, OP.BINARY],
      ['5.18 (mixed) text (no FIN), then a new binary', OP.TEXT, OP.BINARY],
    ])('%s → close 1002, nothing echoed', async (_name, first, second) => {
      const { peer, side } = await openPair(cleanup, role);
      await peer.sendAll([F(first, 'fragment1', false), F(second, 'fragment2', true)]);
      await expectFailure(peer, 1002, side);
      expect(side.messages).toEqual([]);
    });

    it.each([
      ['5.19 one write per group', false],
      ['5.20 one write per frame', true],
    ])('%s: 5 text fragments with 2 pings; the first pong comes before the message is complete', async (_name, perFrame) => {
      const { peer, side } = await openPair(cleanup, role);
      const fr = ['fragment1', 'fragment2', 'fragment3', 'fragment4', 'fragment5'];
      const first = [F(OP.TEXT, fr[0]!, false), F(OP.CONT, fr[1]!, false), F(OP.PING, 'pongme 1!', true)];
      const second = [F(OP.CONT, fr[2]!, false), F(OP.CONT, fr[3]!, false), F(OP.PING, 'pongme 2!', true), F(OP.CONT, fr[4]!, true)];
      if (perFrame) await oneByOne(peer, first);
      else await peer.sendAll(first);
      await expectPong(peer, 'pongme 1!'); // answered while the message is still open
      if (perFrame) await oneByOne(peer, second);
      else await peer.sendAll(second);
      await expectPong(peer, 'pongme 2!');
      await expectMessage(peer, OP.TEXT, fr.join(''));
      expect(side.messages).toEqual([[fr.join(''), false]]);
      await cleanClose(peer, side);
    });

    it('5.x a message in ONE fragment (FIN on the first frame) and in 1000 fragments of 1 byte → each echoed as one frame', async () => {
      const { peer, side } = await openPair(cleanup, role);
      await peer.sendAll([F(OP.BINARY, Buffer.from([1, 2, 3]), true)]);
      await expectMessage(peer, OP.BINARY, Buffer.from([1, 2, 3]));
      const data = bytesOf(1000, 5);
      await peer.sendAll(Array.from(data, (x, i) => F(i === 0 ? OP.BINARY : OP.CONT, Buffer.from([x]), i === 999)));
      await expectMessage(peer, OP.BINARY, data);
      expect(side.messages).toHaveLength(2);
      await cleanClose(peer, side);
    });

    it('5.x 200 text fragments cut inside code points, a ping after each → 200 pongs in order, then one message', async () => {
      const { peer, side } = await openPair(cleanup, role);
      const text = randomUtf8(800, 11);
      const frames: FrameSpec[] = [];
      for (let i = 0; i < 200; i++) {
        frames.push(F(i === 0 ? OP.TEXT : OP.CONT, text.subarray(i * 4 + 1, (i + 1) * 4 + 1), false));
        frames.push(F(OP.PING, `p${i}`, true));
      }
      frames.unshift(F(OP.TEXT, text.subarray(0, 1), false));
      frames[1]!.opcode = OP.CONT;
      frames.push(F(OP.CONT, Buffer.alloc(0), true)); // an empty final fragment
      await peer.sendAll(frames, { chop: 61 });
      for (let i = 0; i < 200; i++) await expectPong(peer, `p${i}`);
      await expectMessage(peer, OP.TEXT, text);
      expect(side.messages).toEqual([[text.toString(), false]]);
      await cleanClose(peer, side);
    });
  });
});
