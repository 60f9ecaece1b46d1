// The npm package as users get it: `npm pack` (in a scratch copy, so its `prepare` never touches
// this checkout's dist/), then `npm install <tarball>` into a fresh folder on a PATH where cc, c++,
// cmake and make are shims that fail loudly. There the prebuilt binary must do everything: require
// and import, an echo over 127.0.0.1, the dispatched kernels, a strict TypeScript consumer of the
// packed .d.ts; the binary's glibc and C++ runtime needs are checked, and so is the error when no
// binary fits. The prebuild (prebuilds/linux-x64/sockudo-ws.glibc.node) is made with
// `npm run prebuild -- --arch x64` when it is missing or older than the native sources: 3–5
// minutes cold on 2 cores (debootstrap + every third-party library), under a minute with those
// cached (the addon's own compile), a few seconds when nothing changed. The rest takes ~20 s.
import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { requireFromRoot, root } from './helpers';

const req = createRequire(__filename);
const { prebuildFile, staleReason } = req(path.join(root, 'scripts', 'prebuild', 'inputs.js')) as {
  prebuildFile(arch?: string): string;
  staleReason(arch?: string): string | null;
};

const PREBUILD = prebuildFile('x64');
const PREBUILD_REL = path.relative(root, PREBUILD);
const BUILD_COMMAND = 'npm install --save-dev cmake-js node-addon-api && SOCKUDO_WS_BUILD_FROM_SOURCE=1 npm rebuild sockudo-ws';
const MAX_GLIBC = [2, 28];
const COMPILERS = ['cc', 'c++', 'gcc', 'g++', 'clang', 'clang++', 'cmake', 'make', 'ninja'];

// --- when this suite can run ------------------------------------------------------------------
// On a linux-x64 host only: prebuilds are made there (linux-arm64's is cross-built and checked
// under qemu by scripts/prebuild.js; this suite installs and runs the x64 one). Under
// scripts/sanitize.js SOCKUDO_WS_NATIVE_PATH replaces every binary with the ASan build, so there is
// nothing of the package's own to test. A missing or stale prebuild needs debootstrap and root to
// remake: outside CI their absence skips the suite; in CI (CI=true) it fails.
const stale = process.platform === 'linux' && process.arch === 'x64' ? staleReason('x64') : null;
const canPrebuild = ['/usr/sbin/debootstrap', '/usr/bin/debootstrap'].some((p) => fs.existsSync(p)) && process.getuid?.() === 0;
const skipReason = process.platform !== 'linux' || process.arch !== 'x64' ? `no prebuilt binary for ${process.platform}-${process.arch}`
  : process.env['SOCKUDO_WS_NATIVE_PATH'] ? 'SOCKUDO_WS_NATIVE_PATH overrides the packaged binary'
  : stale && !canPrebuild && !process.env['CI'] ? `${stale}, and remaking it needs debootstrap and root` : null;
if (skipReason) console.warn(`prebuild.test.ts skipped: ${skipReason}`);

// --- helpers ----------------------------------------------------------------------------------
function npmCli(): string {
  const fromEnv = process.env['npm_execpath'];
  if (fromEnv && /npm-cli\.js$/.test(fromEnv)) return fromEnv;
  const which = spawnSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).stdout.trim();
  if (!which) throw new Error('npm not found on PATH');
  return fs.realpathSync(which);
}

/** The environment of a user's shell: no npm/vitest context of this run, no overrides of ours. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(npm_|SOCKUDO_WS_|VITEST|NODE_OPTIONS$|INIT_CWD$|LD_PRELOAD$|ASAN_|UBSAN_)/i.test(k)) continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

function check(r: SpawnSyncReturns<string>, what: string): string {
  if (r.error) throw new Error(`${what}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${what} failed (exit ${r.status ?? r.signal}):\n${(r.stdout || '').slice(-3000)}\n${(r.stderr || '').slice(-5000)}`);
  return r.stdout;
}

function seconds(t0: number): string {
  return `${((Date.now() - t0) / 1000).toFixed(1)} s`;
}

interface PackResult { filename: string; size: number; unpackedSize: number; files: { path: string; size: number }[] }

// --- the suite --------------------------------------------------------------------------------
describe.skipIf(skipReason !== null)('the npm package with its prebuilt binary (linux-x64)', () => {
  let tmp = '';
  let pack: PackResult;
  let tarball = '';
  let consumer = '';
  let installed = ''; // consumer/node_modules/sockudo-ws
  let bin = ''; // the only PATH entry of the consumer: node, npm, sh, and failing compiler shims
  let shimLog = '';
  let installOutput = '';
  let env: NodeJS.ProcessEnv = {};
  const timings: string[] = [];

  /** Runs node in the consumer folder with the consumer's PATH. */
  function inConsumer(args: string[], extraEnv: Record<string, string> = {}, cwd = consumer) {
    return spawnSync(process.execPath, args, { cwd, env: { ...env, ...extraEnv }, encoding: 'utf8', timeout: 60_000 });
  }

  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sockudo-ws-prebuild-test-'));
    const npm = npmCli();

    // 1. The prebuilt binary, made when missing or older than what it is compiled from.
    if (stale) {
      const t0 = Date.now();
      console.log(`prebuild.test.ts: ${stale}: running npm run prebuild -- --arch x64 (minutes when nothing is cached)`);
      const r = spawnSync(process.execPath, [npm, 'run', 'prebuild', '--', '--arch', 'x64'], { cwd: root, encoding: 'utf8', maxBuffer: 1 << 28, env: cleanEnv({}) });
      check(r, 'npm run prebuild');
      console.log(r.stderr.split('\n').filter((l) => l.startsWith('[prebuild]')).join('\n'));
      timings.push(`npm run prebuild: ${seconds(t0)}`);
    }
    expect(fs.existsSync(PREBUILD), `${PREBUILD_REL} after npm run prebuild`).toBe(true);

    // 2. npm pack in a scratch copy: what "files" selects, plus what `prepare` compiles dist/ from.
    let t0 = Date.now();
    const stage = path.join(tmp, 'stage');
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { files: string[] };
    const entries = new Set([...pkg.files.filter((f) => !f.startsWith('!')).map((f) => f.replace(/\/$/, '')),
      'package.json', 'tsconfig.json', 'lib', path.join('scripts', 'build-ts.js')]);
    entries.delete('dist');
    for (const entry of entries) {
      if (fs.existsSync(path.join(root, entry))) fs.cpSync(path.join(root, entry), path.join(stage, entry), { recursive: true });
    }
    fs.symlinkSync(path.join(root, 'node_modules'), path.join(stage, 'node_modules'));
    const packed = check(spawnSync(process.execPath, [npm, 'pack', '--json', '--pack-destination', tmp], {
      cwd: stage, encoding: 'utf8', maxBuffer: 1 << 26, env: cleanEnv({}),
    }), 'npm pack');
    pack = (JSON.parse(packed.slice(packed.indexOf('['))) as PackResult[])[0]!;
    tarball = path.join(tmp, pack.filename);
    timings.push(`npm pack (with prepare): ${seconds(t0)}`);

    // 3. A PATH without compilers: node, npm, sh, and shims that record any attempt to build.
    bin = path.join(tmp, 'bin');
    shimLog = path.join(tmp, 'compiler-calls.log');
    fs.mkdirSync(bin);
    fs.symlinkSync(process.execPath, path.join(bin, 'node'));
    fs.symlinkSync(npm, path.join(bin, 'npm'));
    fs.symlinkSync('/bin/sh', path.join(bin, 'sh'));
    for (const tool of COMPILERS) {
      fs.writeFileSync(path.join(bin, tool),
        `#!/bin/sh\necho "$0 $*" >> '${shimLog}'\necho "prebuild.test.ts: '${tool}' must not run when a prebuilt binary fits" >&2\nexit 127\n`, { mode: 0o755 });
    }
    env = cleanEnv({ PATH: bin });

    // 4. npm install <tarball> into a fresh folder (its one dependency, node-gyp-build, from npm's
    //    cache when it is there), with the install script allowed to run: it must do nothing.
    t0 = Date.now();
    consumer = path.join(tmp, 'consumer');
    fs.mkdirSync(consumer);
    fs.writeFileSync(path.join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }, null, 2));
    const inst = spawnSync(process.execPath, [npm, 'install', '--no-audit', '--no-fund', '--prefer-offline', '--foreground-scripts', tarball], {
      cwd: consumer, env, encoding: 'utf8', timeout: 5 * 60_000,
    });
    installOutput = check(inst, 'npm install <tarball>') + inst.stderr;
    installed = path.join(consumer, 'node_modules', 'sockudo-ws');
    timings.push(`npm install <tarball>: ${seconds(t0)}`);
  }, 60 * 60_000);

  afterAll(() => {
    if (timings.length) console.log(`prebuild.test.ts timings: ${timings.join('; ')}`);
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('the tarball holds the compiled library (ESM, CJS, .d.ts), the prebuild and the sources to build from, nothing else of weight', () => {
    const files = pack.files.map((f) => f.path).sort();
    console.log(`npm pack: ${pack.filename}, ${pack.size} bytes packed, ${pack.unpackedSize} unpacked, ${files.length} files`);
    for (const must of ['package.json', 'README.md', 'dist/cjs/index.js', 'dist/cjs/index.d.ts', 'dist/cjs/native.js', 'dist/cjs/package.json',
      'dist/esm/index.mjs', 'dist/esm/index.d.mts', PREBUILD_REL, 'scripts/install.js']) {
      expect(files, must).toContain(must);
    }
    // Where everything may come from: the compiled library, prebuilds, and what the documented
    // from-source build needs (our own native sources, the build files, the pinned-deps scripts).
    const allowed = /^(package\.json|README\.md|LICEN[CS]E(\.\w+)?|CMakeLists\.txt|binding\.gyp|dist\/(cjs|esm)\/((pusher|adapters|ws)\/)?[^/]+|prebuilds\/(README\.md|[a-z]+-[a-z0-9]+\/[\w.-]+\.node)|native\/.+|scripts\/(install\.js|sources\.js|deps\/[^/]+))$/;
    expect(files.filter((f) => !allowed.test(f))).toEqual([]);
    expect(files.filter((f) => /(^|\/)(test|tests|bench|examples|build[^/]*|node_modules|\.git)\//.test(f))).toEqual([]);
    expect(files.filter((f) => /\.((c|m)?js|d\.(m|c)?ts)\.map$|\.(tar\.\w+|tgz|o|a|so)$/.test(f))).toEqual([]);
    // The binaries are the only large files; each adds about 2.5 MB to the tarball.
    const binaries = files.filter((f) => /^prebuilds\/linux-(x64|arm64)\/sockudo-ws\.glibc\.node$/.test(f));
    expect(pack.files.filter((f) => f.size > 256 * 1024).map((f) => f.path).sort()).toEqual(binaries);
    expect(pack.size).toBeLessThan(binaries.length * 3.5 * 1024 * 1024 + 512 * 1024);
    console.log(`npm pack files: ${pack.files.map((f) => `${f.path} (${f.size})`).join(', ')}`);
  });

  it('installs without a compiler: the install script sees the prebuild and builds nothing', () => {
    expect(fs.existsSync(shimLog) ? fs.readFileSync(shimLog, 'utf8') : '').toBe('');
    // npm 11 runs dependencies' install scripts (warning that allowScripts does not cover them);
    // npm 12 will not. Either way nothing is built; when the script runs, it says why.
    if (installOutput.includes('[sockudo-ws]')) expect(installOutput).toContain('[sockudo-ws] using the prebuilt binary for this platform');
    expect(installOutput).not.toMatch(/building the (pinned third-party libraries|addon)/);
    // What npm runs when the script is allowed, run directly: a no-op that exits 0.
    const script = inConsumer([path.join(installed, 'scripts', 'install.js')], {}, installed);
    expect(script.status, script.stderr).toBe(0);
    expect(script.stderr.trim()).toBe('[sockudo-ws] using the prebuilt binary for this platform');
    expect(fs.existsSync(shimLog) ? fs.readFileSync(shimLog, 'utf8') : '').toBe('');
    expect(fs.existsSync(path.join(installed, 'build'))).toBe(false);
    expect(fs.existsSync(path.join(installed, 'prebuilds', 'linux-x64', 'sockudo-ws.glibc.node'))).toBe(true);
    expect(fs.readdirSync(path.join(consumer, 'node_modules')).filter((n) => !n.startsWith('.')).sort()).toEqual(['node-gyp-build', 'sockudo-ws']);
  });

  it('works with install scripts disabled (npm --ignore-scripts, the coming npm default)', () => {
    const dir = path.join(tmp, 'no-scripts');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'package.json'), '{ "name": "no-scripts", "version": "1.0.0", "private": true }');
    check(spawnSync(process.execPath, [npmCli(), 'install', '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts', tarball],
      { cwd: dir, env, encoding: 'utf8', timeout: 5 * 60_000 }), 'npm install --ignore-scripts');
    const out = check(inConsumer(['-e', `console.log(require('sockudo-ws').mask(Buffer.from('ab'), Buffer.from([1, 2, 3, 4])).toString('hex'))`], {}, dir), 'require');
    expect(out.trim()).toBe('6060');
    expect(fs.existsSync(shimLog)).toBe(false);
  });

  it('require() and import load the prebuilt binary (one instance)', () => {
    const cjs = check(inConsumer(['-e', `
      const ws = require('sockudo-ws');
      const maps = require('fs').readFileSync('/proc/self/maps', 'utf8');
      const loaded = [...new Set(maps.split('\\n').map((l) => l.split(/\\s+/)[5]).filter((f) => f && f.endsWith('.node')))];
      console.log(JSON.stringify({ loaded, names: Object.keys(ws).sort() }));`]), 'require');
    const c = JSON.parse(cjs) as { loaded: string[]; names: string[] };
    expect(c.loaded).toEqual([fs.realpathSync(path.join(installed, 'prebuilds', 'linux-x64', 'sockudo-ws.glibc.node'))]);
    expect(c.names).toEqual(expect.arrayContaining(['WebSocketServer', 'WebSocket', 'connect', 'kernels', 'mask', 'NativeLoadError']));

    const esm = check(inConsumer(['--input-type=module', '-e', `
      import { createRequire } from 'node:module';
      import * as ns from 'sockudo-ws';
      import def, { WebSocketServer, kernels } from 'sockudo-ws';
      const cjs = createRequire(import.meta.url)('sockudo-ws');
      console.log(JSON.stringify({ same: def === cjs && WebSocketServer === cjs.WebSocketServer && kernels === cjs.kernels,
        names: Object.keys(ns).filter((k) => k !== 'default').sort() }));`]), 'import');
    const e = JSON.parse(esm) as { same: boolean; names: string[] };
    expect(e.same).toBe(true);
    expect(e.names).toEqual(c.names);

    // The subpath entries: the ws drop-in (require gives the class, as require('ws') does) and the WHATWG class.
    const sub = check(inConsumer(['--input-type=module', '-e', `
      import { createRequire } from 'node:module';
      import WsDefault, { WebSocketServer } from 'sockudo-ws/ws';
      import { WebSocket as Whatwg } from 'sockudo-ws/whatwg';
      const require = createRequire(import.meta.url);
      const Ws = require('sockudo-ws/ws');
      console.log(JSON.stringify({ same: WsDefault === Ws && WebSocketServer === Ws.WebSocketServer, open: Ws.OPEN,
        whatwg: Whatwg === require('sockudo-ws/whatwg').WebSocket && Whatwg.CLOSED === 3 }));`]), 'subpaths');
    expect(JSON.parse(sub)).toEqual({ same: true, open: 1, whatwg: true });
  });

  it('echoes text and binary over a real socket on 127.0.0.1', () => {
    fs.writeFileSync(path.join(consumer, 'echo.mjs'), `
      import { once } from 'node:events';
      import { WebSocketServer, connect } from 'sockudo-ws';
      const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
      await once(wss, 'listening');
      wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
      const client = await connect('ws://127.0.0.1:' + wss.address().port);
      const got = [];
      client.on('message', (data, isBinary) => got.push([isBinary, isBinary ? data.toString('hex') : data]));
      client.send('héllo from the packed package');
      client.send(Buffer.from([0, 1, 2, 253, 254, 255]));
      while (got.length < 2) await once(client, 'message');
      client.close(1000, 'done');
      const [code] = await once(client, 'close');
      await wss.close();
      console.log(JSON.stringify({ got, code }));
    `);
    const out = JSON.parse(check(inConsumer([path.join(consumer, 'echo.mjs')]), 'echo')) as { got: [boolean, string][]; code: number };
    expect(out.got).toEqual([[false, 'héllo from the packed package'], [true, '000102fdfeff']]);
    expect(out.code).toBe(1000);
  });

  it('kernels() reports the kernels dispatched for this CPU', () => {
    const k = JSON.parse(check(inConsumer(['-e', `console.log(JSON.stringify(require('sockudo-ws').kernels()))`]), 'kernels')) as {
      mask: { active: string; available: string[]; compiled: string[] }; utf8: { active: string };
    };
    const flags = new Set((/^flags\s*:(.*)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '').trim().split(/\s+/));
    const best = flags.has('avx512f') && flags.has('avx512bw') ? 'avx512' : flags.has('avx2') ? 'avx2' : 'sse2';
    console.log(`packed prebuild kernels: mask ${k.mask.active} of [${k.mask.available.join(', ')}], utf8 ${k.utf8.active}`);
    expect([...k.mask.compiled].sort()).toEqual(['avx2', 'avx512', 'scalar', 'sse2']);
    expect(k.mask.available).toEqual(expect.arrayContaining(['scalar', 'sse2', best]));
    expect(k.mask.active).toBe(best);
    expect(k.utf8.active).toMatch(/^(icelake|haswell|westmere|fallback)$/);
    // Forcing a kernel by name works in the packaged binary too.
    const forced = check(inConsumer(['-e', `console.log(require('sockudo-ws').kernels().mask.active)`], { SOCKUDO_WS_KERNEL: 'scalar' }), 'forced');
    expect(forced.trim()).toBe('scalar');
  });

  it('a strict TypeScript consumer compiles against the packed .d.ts (CommonJS and ESM)', () => {
    fs.mkdirSync(path.join(consumer, 'node_modules', '@types'), { recursive: true });
    fs.symlinkSync(path.join(root, 'node_modules', '@types', 'node'), path.join(consumer, 'node_modules', '@types', 'node'));
    fs.writeFileSync(path.join(consumer, 'tsconfig.json'), JSON.stringify({
      compilerOptions: {
        target: 'ES2022', module: 'node16', moduleResolution: 'node16', types: ['node'], strict: true, noEmit: true,
        noUncheckedIndexedAccess: true, exactOptionalPropertyTypes: true, skipLibCheck: false,
      },
      files: ['app.ts', 'app-esm.mts'],
    }, null, 2));
    fs.writeFileSync(path.join(consumer, 'app.ts'), `
      import { WebSocketServer, connect, kernels, NativeLoadError, type NativeLoadErrorCode, type WebSocket, type SendStatus } from 'sockudo-ws';
      const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', maxPayloadLength: 1 << 20 });
      wss.on('connection', (ws: WebSocket) => {
        ws.on('message', (data: string | Buffer, isBinary: boolean) => { const s: SendStatus = ws.send(data, { binary: isBinary }); void s; });
      });
      export async function roundTrip(url: string): Promise<void> { const c = await connect(url); c.send('x'); c.close(); }
      const active: string = kernels().mask.active;
      const code: NativeLoadErrorCode = new NativeLoadError('x').code;
      // @ts-expect-error codes are a closed union: a misspelled one does not compile
      const wrong: NativeLoadErrorCode = 'ERR_SOCKUDO_WS_NATIVE_LAOD';
      // @ts-expect-error a port is a number
      new WebSocketServer({ port: '8080' });
      // @ts-expect-error no such option (ws's name is maxPayload)
      new WebSocketServer({ port: 1, maxPayload: 1 });
      void [active, code, wrong];
    `);
    fs.writeFileSync(path.join(consumer, 'app-esm.mts'), `
      import sockudo, { mask, WebSocketServer } from 'sockudo-ws';
      const m: Uint8Array = mask(new Uint8Array(2), new Uint8Array(4));
      const same: typeof WebSocketServer = sockudo.WebSocketServer;
      // @ts-expect-error the key is required
      mask(new Uint8Array(2));
      void [m, same];
    `);
    const tsc = path.join(path.dirname(requireFromRoot.resolve('typescript/package.json')), 'bin', 'tsc');
    const r = inConsumer([tsc, '-p', path.join(consumer, 'tsconfig.json')]);
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  }, 60_000);

  it('every packed binary needs GLIBC_2.28 at most, no libstdc++/libgcc_s, and exports only the N-API entry points', () => {
    const binaries = fs.readdirSync(path.join(installed, 'prebuilds'), { withFileTypes: true }).filter((d) => d.isDirectory())
      .flatMap((d) => fs.readdirSync(path.join(installed, 'prebuilds', d.name)).filter((f) => f.endsWith('.node')).map((f) => path.join(installed, 'prebuilds', d.name, f)));
    expect(binaries).toContain(path.join(installed, PREBUILD_REL));
    for (const file of binaries) {
      const name = path.relative(installed, file);
      // readelf reads any ELF machine (the arm64 binary too); objdump -T gives the same versions for x64.
      const dynsyms = execFileSync('readelf', ['-W', '--dyn-syms', file], { encoding: 'utf8', maxBuffer: 1 << 26 });
      const glibc = [...new Set([...dynsyms.matchAll(/@GLIBC_(\d+)\.(\d+)(?:\.(\d+))?/g)].map((m) => [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)]))];
      const highest = glibc.sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]! || a[2]! - b[2]!).pop()!;
      expect(highest, name).toBeDefined();
      console.log(`packed ${name}: ${fs.statSync(file).size} bytes, highest glibc symbol version GLIBC_${highest.join('.').replace(/\.0$/, '')}`);
      expect(highest[0]! < MAX_GLIBC[0]! || (highest[0] === MAX_GLIBC[0] && highest[1]! <= MAX_GLIBC[1]!), `${name}: GLIBC_${highest.join('.')}`).toBe(true);
      expect(dynsyms, name).not.toMatch(/@(GLIBCXX_|CXXABI_|GCC_\d)/);
      if (name === PREBUILD_REL) {
        const objdump = execFileSync('objdump', ['-T', file], { encoding: 'utf8', maxBuffer: 1 << 26 });
        const versions = [...new Set([...objdump.matchAll(/\bGLIBC_(\d+\.\d+(?:\.\d+)?)/g)].map((m) => m[1]!))];
        expect(versions.filter((v) => Number(v.split('.')[0]) > 2 || Number(v.split('.')[1]) > MAX_GLIBC[1]!), name).toEqual([]);
      }

      const dynamic = execFileSync('readelf', ['-d', file], { encoding: 'utf8' });
      const needed = [...dynamic.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]!);
      console.log(`packed ${name} NEEDED: ${needed.join(', ')}`);
      expect(needed.filter((n) => /^lib(stdc\+\+|gcc_s)/.test(n)), name).toEqual([]);
      expect(needed.every((n) => /^(libc|libm|libdl|libpthread|librt|ld-linux[-\w]*)\.so(\.\d+)*$/.test(n)), `${name}: ${needed.join(', ')}`).toBe(true);
      expect(dynamic, name).not.toMatch(/TEXTREL/);

      const exported = dynsyms.split('\n').map((l) => l.trim().split(/\s+/)).filter((f) => /^\d+:$/.test(f[0] ?? '') && f[6] !== 'UND' && f[4] !== 'LOCAL' && f[7])
        .map((f) => f[7]!.replace(/@.*$/, '')).sort();
      expect(exported, name).toEqual(['napi_register_module_v1', 'node_api_module_get_api_version_v1']);
      // Stripped: no symbol table beyond the dynamic one, no debug info.
      expect(execFileSync('readelf', ['-S', '-W', file], { encoding: 'utf8' }), name).not.toMatch(/\.symtab|\.debug_/);
    }
  });

  describe('where no binary fits, loading fails with what this machine is and the one command that builds from source', () => {
    /** A copy of the installed package (and node-gyp-build) with its prebuilds/ changed by `edit`. */
    function variant(name: string, edit: (pkg: string) => void): string {
      const dir = path.join(tmp, name);
      fs.cpSync(path.join(consumer, 'node_modules', 'sockudo-ws'), path.join(dir, 'node_modules', 'sockudo-ws'), { recursive: true });
      fs.cpSync(path.join(consumer, 'node_modules', 'node-gyp-build'), path.join(dir, 'node_modules', 'node-gyp-build'), { recursive: true });
      edit(path.join(dir, 'node_modules', 'sockudo-ws'));
      return dir;
    }

    function loadError(cwd: string, extraEnv: Record<string, string> = {}) {
      const r = inConsumer(['-e', `try { require('sockudo-ws'); console.log('{}'); } catch (e) {
        console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message })); }`], extraEnv, cwd);
      expect(r.status, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as { name?: string; code?: string; message?: string };
    }

    function expectMachineReport(message: string) {
      const glibc = (process.report.getReport() as { header: { glibcVersionRuntime: string } }).header.glibcVersionRuntime;
      expect(message).toContain(`platform: ${process.platform}, arch: ${process.arch}, libc: glibc ${glibc}`);
      expect(message).toContain(`Node.js ${process.versions.node}, N-API ${process.versions.napi} (the addon needs N-API 8)`);
      expect(message).toContain(BUILD_COMMAND);
      expect(message).toContain('"Building from source" in README.md');
    }

    it('the package ships prebuilds for other platforms only (as a machine without a matching one sees it)', () => {
      const dir = variant('other-platform', (pkg) => {
        fs.rmSync(path.join(pkg, 'prebuilds'), { recursive: true });
        fs.mkdirSync(path.join(pkg, 'prebuilds', 'linux-arm64'), { recursive: true });
        fs.writeFileSync(path.join(pkg, 'prebuilds', 'linux-arm64', 'sockudo-ws.glibc.node'), 'an arm64 binary');
      });
      const e = loadError(dir);
      expect(e.name).toBe('NativeLoadError');
      expect(e.code).toBe('ERR_SOCKUDO_WS_NATIVE_LOAD');
      expect(e.message).toContain('no native binary was found for this machine');
      expect(e.message).toContain('prebuilt binaries in this package: linux-arm64 (glibc)');
      expectMachineReport(e.message!);
    });

    it('no prebuilds at all', () => {
      const dir = variant('no-prebuilds', (pkg) => fs.rmSync(path.join(pkg, 'prebuilds'), { recursive: true }));
      const e = loadError(dir);
      expect(e.code).toBe('ERR_SOCKUDO_WS_NATIVE_LOAD');
      expect(e.message).toContain('prebuilt binaries in this package: none');
      expectMachineReport(e.message!);
    });

    it('a prebuild that matches by name but cannot load on this system', () => {
      const dir = variant('broken-prebuild', (pkg) => fs.writeFileSync(path.join(pkg, PREBUILD_REL), 'not an ELF file'));
      const e = loadError(dir);
      expect(e.code).toBe('ERR_SOCKUDO_WS_NATIVE_LOAD');
      expect(e.message).toMatch(/loading \S+sockudo-ws\.glibc\.node failed: /);
      expect(e.message).toContain('the prebuilt binary does not work on this system');
      expectMachineReport(e.message!);
    });

    it('SOCKUDO_WS_NATIVE_PATH pointing nowhere', () => {
      const e = loadError(consumer, { SOCKUDO_WS_NATIVE_PATH: path.join(tmp, 'nowhere', 'x.node') });
      expect(e.code).toBe('ERR_SOCKUDO_WS_NATIVE_LOAD');
      expect(e.message).toContain(`loading ${path.join(tmp, 'nowhere', 'x.node')} failed`);
      expect(e.message).toContain('SOCKUDO_WS_NATIVE_PATH names this file; unset it');
      expectMachineReport(e.message!);
    });
  });
});
