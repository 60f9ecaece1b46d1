// Type tests for the public .d.ts, checked by `tsc --noEmit -p test/types` (test/js/types.test.ts).
// Lines marked @ts-expect-error must fail to type-check; if one starts compiling, tsc fails.
import { isValidUTF8, kernels, mask, unmask, versions, InvalidArgumentTypeError, OutOfRangeError, NativeLoadError } from 'sockudo-ws';
import type { KernelInfo, LibraryVersions } from 'sockudo-ws';

const key = new Uint8Array([1, 2, 3, 4]);
const masked: Uint8Array = mask(Buffer.from('x'), key);
mask(Buffer.from('x'), key, Buffer.alloc(8), 2);
const same: Uint8Array = unmask(masked, key, 5);
const ok: boolean = isValidUTF8(same);
const info: KernelInfo = kernels();
const active: string = info.mask.active;
const list: string[] = info.mask.available;
const utf8: string = info.utf8.active;
const v: LibraryVersions = versions();
const ossl: string = v.openssl;

// @ts-expect-error strings are not accepted where bytes are expected
mask('hello', key);
// @ts-expect-error the key is required
mask(Buffer.alloc(1));
// @ts-expect-error offsets are numbers
unmask(masked, key, '1');
// @ts-expect-error kernels() has no such field
kernels().simd;

const e1: 'ERR_INVALID_ARG_TYPE' = new InvalidArgumentTypeError('a', 'b', 1).code;
const e2: 'ERR_OUT_OF_RANGE' = new OutOfRangeError('a', 'b', 1).code;
const e3: 'ERR_SOCKUDO_WS_NATIVE_LOAD' | 'ERR_SOCKUDO_WS_KERNEL' = new NativeLoadError('x').code;
void [ok, active, list, utf8, ossl, e1, e2, e3];
