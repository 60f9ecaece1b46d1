// The ESM entry's types (dist/esm/index.d.mts) expose the same API, default export included.
import sockudo, { kernels, mask } from 'sockudo-ws';

const a: string = kernels().mask.active;
const b: Uint8Array = mask(new Uint8Array(2), new Uint8Array(4));
const c: typeof mask = sockudo.mask;
void [a, b, c];
