// What both wss:// interop files check: a message's digest (type, length, sha256) and exact equality.
import { expect } from 'vitest';

import { sha256 } from './peer-process';

/** A message as a peer reports it: type, byte length, sha256. */
export function digest(data: string | Buffer) {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  return { type: typeof data === 'string' ? 'text' : 'binary', len: bytes.length, sha256: sha256(bytes) };
}

/** What arrived on our side is exactly `want` (same type, same bytes). */
export function expectSame(got: unknown, want: string | Buffer) {
  if (typeof want === 'string') {
    expect(typeof got).toBe('string');
    expect(sha256(got as string)).toBe(sha256(want));
  } else {
    expect(Buffer.isBuffer(got)).toBe(true);
    expect((got as Buffer).length).toBe(want.length);
    expect(sha256(got as Buffer)).toBe(sha256(want));
  }
}

