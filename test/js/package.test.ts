// The package as users load it: both entry points, the native surface, worker_threads, and the
// loader's search order and error.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

import { requireFromRoot, root, runNode } from './helpers';


const built = path.join(root, 'build', 'Release', 'sockudo_ws.node');

describe('entry points', () => {
  it('import and require give the same instance (ESM wraps the CommonJS build)', () => {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', `
      import { createRequire } from 'node:module';
      import * as esm from 'sockudo-ws';
      import def from 'sockudo-ws';
      const cjs = createRequire(import.meta.url)('sockudo-ws');
      const names = Object.keys(esm).filter((k) => k !== 'default').sort();
      console.log(JSON.stringify({ same: esm.mask === cjs.mask && esm.kernels === cjs.kernels && def === cjs,
        names, cjsNames: Object.keys(cjs).sort(), active: esm.kernels().mask.active }));`], { cwd: root, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.same).toBe(true);
    expect(out.names).toEqual(out.cjsNames);
    expect(out.names).toContain('mask');
  });

  it('the exports map points at files that exist', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
    for (const cond of ['import', 'require']) {
      for (const file of Object.values(pkg.exports['.'][cond]) as string[]) {
        expect(fs.existsSync(path.join(root, file)), file).toBe(true);
      }
    }
  });
});

describe('native surface', () => {
  it('the addon exports exactly the functions lib/native.ts declares', () => {
    const binding = requireFromRoot(built);
    expect(Object.keys(binding).sort()).toEqual(['NativeHttp2Session', 'NativeServer', 'NativeSocket', 'adoptClient', 'connect', 'createTlsContext', 'deflateMemory', 'deflateOffer', 'isValidUTF8', 'kernels', 'mask', 'numSubscribers', 'publish',
      'pubsubStats', 'setHandlers', 'socketCount', 'unmask', 'uringStats', 'versions']);
    for (const fn of Object.values(binding)) expect(typeof fn).toBe('function');
  });

  it('the .node exports only the N-API entry points', () => {
    const out = execFileSync('nm', ['-D', '--defined-only', built], { encoding: 'utf8' });
    const names = out.trim().split('\n').map((l) => l.trim().split(/\s+/).pop()).sort();
    expect(names).toEqual(['napi_register_module_v1', 'node_api_module_get_api_version_v1']);
  });

  it('binds no symbol of its own libraries to the copies Node exports (OpenSSL, zlib, nghttp2, simdutf)', () => {
    // The addon may bind to node only for N-API, for libuv (it runs on Node's own loop, by
    // design), for versioned glibc symbols (node re-exports stdout & co. through copy
    // relocations) and for weak references such as __cxa_pure_virtual.
    const weak = new Set(execFileSync('nm', ['-D', '--undefined-only', built], { encoding: 'utf8' })
      .split('\n').map((l) => l.trim().split(/\s+/)).filter((f) => f[0] === 'w').map((f) => f[1]));
    const r = runNode(`require(${JSON.stringify(built)}).versions()`, { LD_DEBUG: 'bindings' });
    // Lines look like: "binding file <addon> [0] to node [0]: normal symbol `X' [GLIBC_2.2.5]"
    const toNode = r.stderr.split('\n').filter((l) => l.includes('sockudo_ws.node') && / to (\S*\/)?node \[/.test(l));
    expect(toNode.length).toBeGreaterThan(0);
    const unexpected = toNode.filter((l) => {
      const m = /symbol `([^']+)'(.*)$/.exec(l);
      if (!m) return true;
      const [, name, version] = m;
      return !/^(napi_|node_api_|uv_)/.test(name!) && !/GLIBC_/.test(version!) && !weak.has(name!);
    });
    expect(unexpected).toEqual([]);
    expect(toNode.filter((l) => /symbol `(SSL_|EVP_|OPENSSL|CRYPTO_|deflate|inflate|zng_|nghttp|ngtcp|simdutf)/.test(l))).toEqual([]);
  });

  it.skipIf(process.arch !== 'x64')('is compiled for the baseline ISA: only the dispatched AVX2/AVX-512 mask kernels of ours use YMM/ZMM registers', () => {
    // A global -mavx2 would let the compiler use 256-bit registers in ordinary code (memcpy-like
    // loops, the parser), and the addon would crash with SIGILL on CPUs without AVX2.
    const asm = execFileSync('objdump', ['-d', '--no-show-raw-insn', '-C', built], { encoding: 'utf8', maxBuffer: 1 << 30 });
    const users = new Set<string>();
    let fn = '';
    for (const line of asm.split('\n')) {
      const head = /^[0-9a-f]+ <(.*)>:$/.exec(line);
      if (head) fn = head[1]!;
      else if (/%[yz]mm\d/.test(line)) users.add(fn);
    }
    const ours = [...users].filter((f) => f.includes('sockudo::'));
    expect(ours.sort()).toEqual([
      'sockudo::simd::detail::(anonymous namespace)::mask_avx2(unsigned char*, unsigned char const*, unsigned long, unsigned int)',
      'sockudo::simd::detail::(anonymous namespace)::mask_avx512(unsigned char*, unsigned char const*, unsigned long, unsigned int)',
    ]);
    // simdutf's wide code lives only in its runtime-dispatched haswell/icelake implementations.
    expect([...users].filter((f) => f.includes('simdutf::') && !/simdutf::(haswell|icelake)::/.test(f))).toEqual([]);
  });

  it('loads and works in two worker_threads at once (per-environment state)', () => {
    const r = runNode(`
      const { Worker } = require('node:worker_threads');
      const code = "const ws = require('sockudo-ws'); const { parentPort } = require('node:worker_threads');" +
        "const out = ws.mask(Buffer.from('abcdef'), Buffer.from([1,2,3,4])); parentPort.postMessage([ws.kernels().mask.active, out.toString('hex')]);";
      const run = () => new Promise((res, rej) => { const w = new Worker(code, { eval: true }); w.once('message', res); w.once('error', rej); });
      Promise.all([run(), run()]).then((r) => { console.log(JSON.stringify(r)); });`);
    expect(r.status, r.stderr).toBe(0);
    const [[k1, h1], [k2, h2]] = JSON.parse(r.stdout);
    expect(k1).toBe(k2);
    expect(h1).toBe('606060606464'); // 'abcdef' ^ 01 02 03 04 01 02
    expect(h2).toBe(h1);
  });
});

describe('loader', () => {
  function packageCopy(withBinary: 'none' | 'prebuild'): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockudo-ws-loader-'));
    fs.cpSync(path.join(root, 'dist'), path.join(dir, 'dist'), { recursive: true });
    fs.copyFileSync(path.join(root, 'package.json'), path.join(dir, 'package.json'));
    fs.mkdirSync(path.join(dir, 'node_modules'));
    fs.symlinkSync(path.join(root, 'node_modules', 'node-gyp-build'), path.join(dir, 'node_modules', 'node-gyp-build'));
    if (withBinary === 'prebuild') {
      const target = path.join(dir, 'prebuilds', `${process.platform}-${process.arch}`);
      fs.mkdirSync(target, { recursive: true });
      fs.copyFileSync(built, path.join(target, 'sockudo-ws.glibc.node'));
    }
    return dir;
  }

  it('loads a prebuilt binary from prebuilds/<platform>-<arch>/ when there is no local build', () => {
    const dir = packageCopy('prebuild');
    try {
      const r = runNode(`const ws = require('./dist/cjs/index.js'); console.log(require('./dist/cjs/native.js').nativePath(), ws.kernels().mask.active);`, {}, dir);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toContain(path.join('prebuilds', `${process.platform}-${process.arch}`, 'sockudo-ws.glibc.node'));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('without any binary, throws an error that says what this machine is and how to build', () => {
    const dir = packageCopy('none');
    try {
      const r = runNode(`try { require('./dist/cjs/index.js'); } catch (e) { console.log(JSON.stringify({ code: e.code, name: e.name, message: e.message })); }`, {}, dir);
      const err = JSON.parse(r.stdout);
      expect(err.code).toBe('ERR_SOCKUDO_WS_NATIVE_LOAD');
      expect(err.name).toBe('NativeLoadError');
      expect(err.message).toContain(`platform: ${process.platform}, arch: ${process.arch}`);
      expect(err.message).toMatch(/libc: (glibc \d+\.\d+|musl)/);
      expect(err.message).toContain(`Node.js ${process.versions.node}, N-API ${process.versions.napi}`);
      expect(err.message).toContain('SOCKUDO_WS_BUILD_FROM_SOURCE=1 npm rebuild sockudo-ws');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
