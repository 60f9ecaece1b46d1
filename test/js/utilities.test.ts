import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';

import { referenceMask, requireFromRoot, runNode } from './helpers';

const ws = requireFromRoot('sockudo-ws') as typeof import('sockudo-ws');
const key = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);

describe('mask / unmask', () => {
  it('matches the reference for every length 0..1100 and output offset', () => {
    const data = randomBytes(1100);
    for (let len = 0; len <= 1100; len++) {
      const src = data.subarray(0, len);
      expect(ws.mask(src, key)).toEqual(referenceMask(src, key));
    }
    for (const offset of [0, 1, 3, 7, 64]) {
      const out = Buffer.alloc(300 + offset, 0xaa);
      const src = data.subarray(0, 300);
      expect(ws.mask(src, key, out, offset)).toBe(out);
      expect(out.subarray(0, offset).every((b) => b === 0xaa)).toBe(true);
      expect(out.subarray(offset)).toEqual(referenceMask(src, key));
    }
  });

  it('masks the RFC 6455 §5.7 example', () => {
    expect(ws.mask(Buffer.from('Hello'), key)).toEqual(Buffer.from('7f9f4d5158', 'hex'));
  });

  it('unmask works in place and resumes mid-payload from an offset', () => {
    const payload = randomBytes(10_007);
    const masked = referenceMask(payload, key);
    const copy = Buffer.from(masked);
    // Unmask in pieces of awkward sizes; each piece's offset is its position in the payload.
    let off = 0;
    for (const n of [1, 2, 5, 33, 64, 1000, 3, 8899]) {
      const piece = copy.subarray(off, off + n);
      expect(ws.unmask(piece, key, off)).toBe(piece);
      off += n;
    }
    expect(off).toBe(payload.length);
    expect(copy).toEqual(payload);
  });

  it('accepts any Uint8Array view, not only Buffers', () => {
    const backing = new Uint8Array(64).fill(7);
    const view = new Uint8Array(backing.buffer, 5, 20);
    const out = ws.mask(view, new Uint8Array(key));
    expect(Buffer.from(out)).toEqual(referenceMask(view, key));
  });

  it('rejects misuse with typed errors and stable codes', () => {
    expect(() => ws.mask('abc' as unknown as Uint8Array, key)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE', name: 'InvalidArgumentTypeError' }));
    expect(() => ws.mask(Buffer.alloc(3), Buffer.alloc(3))).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => ws.mask(Buffer.alloc(10), key, Buffer.alloc(5))).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => ws.mask(Buffer.alloc(4), key, Buffer.alloc(8), 5)).toThrow(RangeError);
    expect(() => ws.mask(Buffer.alloc(4), key, Buffer.alloc(8), -1)).toThrow(RangeError);
    expect(() => ws.mask(Buffer.alloc(4), key, Buffer.alloc(8), 1.5)).toThrow(RangeError);
    expect(() => ws.unmask(Buffer.alloc(4), key, Number.NaN)).toThrow(RangeError);
    expect(() => ws.unmask(null as unknown as Uint8Array, key)).toThrow(TypeError);
    expect(() => ws.isValidUTF8({} as Uint8Array)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
  });
});

describe('isValidUTF8', () => {
  it('accepts valid and rejects invalid UTF-8', () => {
    expect(ws.isValidUTF8(Buffer.from('héllo € 💩'))).toBe(true);
    expect(ws.isValidUTF8(Buffer.alloc(0))).toBe(true);
    for (const hex of ['c328', 'c0af', 'eda080', 'f4908080', 'f5', 'e282', '80']) {
      expect(ws.isValidUTF8(Buffer.from(hex, 'hex'))).toBe(false);
    }
  });

  it('short inputs (the JS fast path below 32 bytes) agree with TextDecoder: ASCII, and one non-ASCII byte at every position', () => {
    const decoder = new TextDecoder('utf-8', { fatal: true });
    const valid = (b: Uint8Array) => { try { decoder.decode(b); return true; } catch { return false; } };
    for (let n = 0; n <= 40; n++) {
      const ascii = Buffer.alloc(n, 0x61);
      expect(ws.isValidUTF8(ascii)).toBe(true);
      for (let at = 0; at < n; at++) {
        for (const bad of [0x80, 0xc3, 0xff]) {
          const b = Buffer.from(ascii);
          b[at] = bad;
          expect(ws.isValidUTF8(b), `n=${n} at=${at} byte=${bad.toString(16)}`).toBe(valid(b));
        }
      }
    }
  });

  it('agrees with TextDecoder on random input', () => {
    const decoder = new TextDecoder('utf-8', { fatal: true });
    for (let i = 0; i < 2000; i++) {
      const b = randomBytes(1 + (i % 40));
      let expected = true;
      try { decoder.decode(b); } catch { expected = false; }
      expect(ws.isValidUTF8(b)).toBe(expected);
    }
  });
});

describe('kernels()', () => {
  it('reports the active kernel among those this CPU supports', () => {
    const k = ws.kernels();
    expect(k.mask.available).toContain(k.mask.active);
    expect(k.mask.available).toContain('scalar');
    expect(k.mask.compiled).toEqual(expect.arrayContaining(k.mask.available));
    expect(k.mask.active).toBe(k.mask.available[0]);
    expect(typeof k.utf8.active).toBe('string');
  });

  it('SOCKUDO_WS_KERNEL forces each available kernel, and each masks correctly', () => {
    for (const name of ws.kernels().mask.available) {
      const r = runNode(`
        const ws = require('sockudo-ws');
        const key = Buffer.from([1, 2, 3, 4]);
        const src = Buffer.alloc(4099).map((_, i) => (i * 31) & 255);
        const ref = Buffer.from(src.map((b, i) => b ^ key[i & 3]));
        const ok = ws.mask(src, key).equals(ref) && ws.mask(src.subarray(3), key).equals(Buffer.from(src.subarray(3).map((b, i) => b ^ key[i & 3])));
        console.log(JSON.stringify({ active: ws.kernels().mask.active, ok }));`, { SOCKUDO_WS_KERNEL: name });
      expect(r.status, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual({ active: name, ok: true });
    }
  });

  it('an unknown SOCKUDO_WS_KERNEL is a load-time error, never a silent fallback', () => {
    const r = runNode(`
      try { require('sockudo-ws'); console.log('loaded'); }
      catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }`, { SOCKUDO_WS_KERNEL: 'avx9000' });
    const out = JSON.parse(r.stdout);
    expect(out.code).toBe('ERR_SOCKUDO_WS_KERNEL');
    expect(out.message).toContain("unknown mask kernel 'avx9000'");
  });
});

describe('versions()', () => {
  it('reports every statically linked library from inside the addon', () => {
    const v = ws.versions();
    expect(v).toMatchObject({ simdutf: '8.2.0', zlibng: '2.2.4', nghttp2: '1.64.0', nghttp3: '1.15.0', ngtcp2: '1.24.0', liburing: '2.9', quicTlsBackend: 'openssl' });
    // Our OpenSSL, not Node's (Node 20 ships 3.0.x): symbols are not interposed.
    expect(v.openssl).toBe('3.5.7');
    expect(process.versions.openssl).not.toBe(v.openssl);
  });
});
