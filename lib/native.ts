/**
 * Loads the native addon: a local build (build/Release, build/Debug), then a prebuilt binary
 * (prebuilds/<platform>-<arch>/, node-gyp-build's layout). If neither loads, throws a
 * {@link NativeLoadError} that says what this machine is and how to build from source.
 *
 * The native surface is declared once here; test/js/native-surface.test.ts checks the runtime
 * exports against it.
 */
import * as path from 'node:path';

import { NativeLoadError } from './errors.js';

export interface NativeKernels {
  mask: { active: string; available: string[]; compiled: string[] };
  utf8: { active: string };
}

export interface NativeVersions {
  simdutf: string;
  zlibng: string;
  nghttp2: string;
  nghttp3: string;
  ngtcp2: string;
  liburing: string;
  openssl: string;
  quicTlsBackend: string;
}

export interface NativeBinding {
  /** output[offset + i] = source[i] ^ key[(phase + i) % 4] */
  mask(source: Uint8Array, key: Uint8Array, output: Uint8Array, offset: number, phase: number): void;
  isValidUTF8(data: Uint8Array): boolean;
  kernels(): NativeKernels;
  versions(): NativeVersions;
}

/** The package root: dist/cjs/native.js → ../.. (and lib/native.ts → .. when run from source). */
function packageRoot(): string {
  const here = __dirname;
  return path.basename(path.dirname(here)) === 'dist' ? path.join(here, '..', '..') : path.join(here, '..');
}

function libc(): string {
  if (process.platform !== 'linux') return 'n/a';
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
  const glibc = report?.header?.glibcVersionRuntime;
  return glibc ? `glibc ${glibc}` : 'musl (or another non-glibc libc)';
}

function load(): NativeBinding {
  const root = packageRoot();
  let file: string;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const gypBuild = require('node-gyp-build') as { resolve(dir: string): string };
    file = gypBuild.resolve(root);
  } catch (cause) {
    throw new NativeLoadError(
      [
        'sockudo-ws: no native binary was found for this machine.',
        `  platform: ${process.platform}, arch: ${process.arch}, libc: ${libc()}`,
        `  Node.js ${process.versions.node}, N-API ${process.versions.napi ?? 'unknown'} (the addon needs N-API 8)`,
        `  searched: ${path.join(root, 'build', 'Release')}, ${path.join(root, 'build', 'Debug')}, ${path.join(root, 'prebuilds')}`,
        'To build it from source (cmake >= 3.20, a C++20 compiler; see "Building from source" in README.md):',
        '  npm install --save-dev cmake-js node-addon-api && SOCKUDO_WS_BUILD_FROM_SOURCE=1 npm rebuild sockudo-ws',
      ].join('\n'),
      { cause },
    );
  }
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(file) as NativeBinding;
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    const err = new NativeLoadError(`sockudo-ws: loading ${file} failed: ${reason}`, { cause });
    // A load-time configuration error from the addon (for example an unknown SOCKUDO_WS_KERNEL)
    // keeps its own code so callers can tell it from a missing binary.
    const code = (cause as { code?: unknown } | null)?.code;
    if (typeof code === 'string' && code.startsWith('ERR_SOCKUDO_WS_')) Object.defineProperty(err, 'code', { value: code });
    throw err;
  }
}

/** The addon, loaded once per JavaScript realm (main thread or worker). */
export const native: NativeBinding = load();

/** The file the addon was loaded from (for diagnostics). */
export function nativePath(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('node-gyp-build') as { resolve(dir: string): string }).resolve(packageRoot());
}
