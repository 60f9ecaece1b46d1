/**
 * The native kernels as standalone utilities, as `bufferutil` and `utf-8-validate` are for `ws`:
 * masking (RFC 6455 §5.3) with the best SIMD kernel this CPU supports, and simdutf UTF-8
 * validation.
 */
import { InvalidArgumentTypeError, OutOfRangeError } from './errors.js';
import { native, type NativeKernels, type NativeVersions } from './native.js';

/**
 * Below this many bytes a plain JS loop beats the N-API call, whose fixed cost (~100 ns) is many
 * times the kernel's at these sizes (bench/js/kernels.mjs: the loop does 16 B in ~10 ns).
 */
const SMALL = 32;

function assertBytes(name: string, value: unknown): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new InvalidArgumentTypeError(name, 'a Buffer or Uint8Array', value);
}

function assertKey(key: unknown): asserts key is Uint8Array {
  assertBytes('key', key);
  if (key.length !== 4) throw new OutOfRangeError('key.length', '4', key.length);
}

function assertIndex(name: string, value: unknown, max: number): asserts value is number {
  if (typeof value !== 'number') throw new InvalidArgumentTypeError(name, 'of type number', value);
  if (!Number.isSafeInteger(value) || value < 0 || value > max) throw new OutOfRangeError(name, `an integer from 0 to ${max}`, value);
}

/**
 * Masks `source` with the 4-byte `key` and writes the result into `output` starting at
 * `offset` (like bufferutil's `mask(source, mask, output, offset, length)`). Without `output`, a
 * new Buffer is returned. The key is applied from its first byte (phase 0).
 * @returns `output` (or the new Buffer)
 */
export function mask(source: Uint8Array, key: Uint8Array, output?: Uint8Array, offset = 0): Uint8Array {
  assertBytes('source', source);
  assertKey(key);
  const out = output ?? Buffer.allocUnsafe(source.length);
  assertBytes('output', out);
  assertIndex('offset', offset, out.length);
  if (source.length > out.length - offset) {
    throw new OutOfRangeError('offset', `at most output.length - source.length (${out.length - source.length})`, offset);
  }
  const n = source.length;
  if (n < SMALL) {
    for (let i = 0; i < n; i++) out[offset + i] = source[i]! ^ key[i & 3]!;
    return out;
  }
  native.mask(source, key, out, offset, 0);
  return out;
}

/**
 * Unmasks `buffer` in place with the 4-byte `key`. `offset` is the position of `buffer[0]`
 * within the masked payload, so a payload that arrives in pieces can be unmasked piece by piece
 * (the key phase is `offset % 4`).
 * @returns `buffer`
 */
export function unmask(buffer: Uint8Array, key: Uint8Array, offset = 0): Uint8Array {
  assertBytes('buffer', buffer);
  assertKey(key);
  assertIndex('offset', offset, Number.MAX_SAFE_INTEGER);
  const n = buffer.length;
  const phase = offset % 4;
  if (n < SMALL) {
    for (let i = 0; i < n; i++) buffer[i] = buffer[i]! ^ key[(i + phase) & 3]!;
    return buffer;
  }
  native.unmask(buffer, key, phase);
  return buffer;
}

/** Whether `data` is valid UTF-8 (RFC 3629), checked with simdutf. */
export function isValidUTF8(data: Uint8Array): boolean {
  assertBytes('data', data);
  const n = data.length;
  if (n < SMALL) {
    // Short ASCII (the usual short message) is answered here; anything else goes to simdutf.
    let i = 0;
    while (i < n && data[i]! < 0x80) i++;
    if (i === n) return true;
  }
  return native.isValidUTF8(data);
}

export type KernelInfo = NativeKernels;

/**
 * The SIMD kernels in use. `mask.active` is chosen once when the addon loads (the best this CPU
 * supports, or the one named by the SOCKUDO_WS_KERNEL environment variable); `mask.available`
 * lists what this CPU can run, `mask.compiled` what this build contains.
 */
export function kernels(): KernelInfo {
  return native.kernels();
}

export type LibraryVersions = NativeVersions;

/** Versions of the third-party libraries statically linked into the addon. */
export function versions(): LibraryVersions {
  return native.versions();
}
