/**
 * sockudo-ws: an ultra-low-latency WebSocket library for Node.js.
 * @packageDocumentation
 */
export { mask, unmask, isValidUTF8, kernels, versions } from './utilities.js';
export type { KernelInfo, LibraryVersions } from './utilities.js';
export { InvalidArgumentTypeError, OutOfRangeError, NativeLoadError } from './errors.js';
