// DESIGN §2: dependencies point one way. native/core is sans-IO (no syscalls, clocks, libuv or
// N-API); native/binding is the only code that includes napi.h and makes no syscalls of its own
// (they belong in native/transport); nothing initialises process-wide library state as a side
// effect of a getter. These checks read the sources, so a violation fails before it ships.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

const native = path.join(__dirname, '..', '..', 'native');

function sources(dir: string): { file: string; text: string }[] {
  const out: { file: string; text: string }[] = [];
  for (const entry of fs.readdirSync(path.join(native, dir), { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !/\.(cc|h|inc)$/.test(entry.name)) continue;
    const full = path.join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name);
    out.push({ file: path.relative(native, full), text: fs.readFileSync(full, 'utf8') });
  }
  return out;
}

/** Lines matching `re` (comments stripped), as "file:line: text". */
function hits(files: { file: string; text: string }[], re: RegExp): string[] {
  const found: string[] = [];
  for (const { file, text } of files) {
    text.split('\n').forEach((line, i) => {
      const code = line.replace(/\/\/.*$/, '');
      if (re.test(code)) found.push(`${file}:${i + 1}: ${line.trim()}`);
    });
  }
  return found;
}

const SYSCALL_HEADERS = /#include\s*<(sys\/[\w/]+|unistd|fcntl|netinet\/\w+|arpa\/\w+|poll)\.h>/;
const SYSCALL_CALLS = /(?<![\w>])::(fcntl|dup|dup2|dup3|close|read|write|readv|writev|recv|recvmsg|send|sendmsg|socket|accept|accept4|connect|bind|listen|shutdown|setsockopt|getsockopt|getrandom)\s*\(/;

describe('layering (DESIGN §2)', () => {
  it('native/core has no syscalls, libuv, clocks or N-API', () => {
    const core = sources('core');
    expect(core.length).toBeGreaterThan(20);
    expect(hits(core, SYSCALL_HEADERS)).toEqual([]);
    expect(hits(core, /#include\s*<(uv|napi|node_api|js_native_api)\.h>|#include\s*<chrono>|#include\s*<ctime>/)).toEqual([]);
    expect(hits(core, SYSCALL_CALLS)).toEqual([]);
    expect(hits(core, /\buv_\w+\s*\(|\bnapi_\w+\s*\(|\bclock_gettime\s*\(|\bstd::chrono::/)).toEqual([]);
  });

  it('only native/binding includes napi.h, and it makes no syscalls of its own', () => {
    expect(hits([...sources('core'), ...sources('transport')], /#include\s*<(napi|node_api|js_native_api)\.h>/)).toEqual([]);
    const binding = sources('binding');
    expect(hits(binding, SYSCALL_HEADERS)).toEqual([]);
    expect(hits(binding, SYSCALL_CALLS)).toEqual([]);
  });

  it('no getter initialises process-wide library state (versions() reads versions only)', () => {
    expect(hits(sources('binding'), /\b(ngtcp2_crypto_\w*init|OPENSSL_init_\w+|nghttp2_\w*init|SSL_library_init)\s*\(/)).toEqual([]);
  });
});
