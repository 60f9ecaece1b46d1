#!/usr/bin/env node
'use strict';
// Builds the pinned third-party libraries (deps.lock) as static, position-independent archives
// with hidden symbols, one cache entry per library:
//   ~/.cache/sockudo-ws/dl/<tarball>                     sources, verified by sha256
//   ~/.cache/sockudo-ws/deps/<name>-<version>-<key>/     one library's include/ and lib/
//   ~/.cache/sockudo-ws/prefix-<key>/                    all of them merged; what the addon links
// A key hashes the lock line, the recipe, the compiler and the keys of what it depends on, so a
// bump rebuilds only that library and its dependents. Prints the merged prefix on stdout.
//
// Usage: node scripts/deps/build.js [--print-prefix]   (SOCKUDO_WS_CACHE overrides the cache root)
//        node scripts/deps/build.js --target aarch64-linux-gnu --only simdutf,zlib-ng
//   cross-builds the named libraries with <target>-gcc/g++ (Debian's cross compilers) into
//   prefix-<target>-<key>/, for the core's tests under qemu-user (scripts/test.js cross).

const { execFileSync, spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const here = __dirname;
const cacheRoot = process.env.SOCKUDO_WS_CACHE || path.join(os.homedir(), '.cache', 'sockudo-ws');
const dlDir = path.join(cacheRoot, 'dl');
const jobs = String(Math.max(1, os.availableParallelism ? os.availableParallelism() : os.cpus().length));
const argOf = (flag) => { const i = process.argv.indexOf(flag); return i > 0 ? process.argv[i + 1] : undefined; };
const TARGET = argOf('--target');
const ONLY = argOf('--only')?.split(',');
const CC = TARGET ? `${TARGET}-gcc` : process.env.CC || 'cc';
const CXX = TARGET ? `${TARGET}-g++` : process.env.CXX || 'c++';
const crossArgs = TARGET ? ['-DCMAKE_SYSTEM_NAME=Linux', `-DCMAKE_SYSTEM_PROCESSOR=${TARGET.split('-')[0]}`] : [];
const CFLAGS = '-O2 -fPIC -fvisibility=hidden -ffunction-sections -fdata-sections';
const CXXFLAGS = CFLAGS + ' -fvisibility-inlines-hidden';

function log(msg) { process.stderr.write(`[deps] ${msg}\n`); }
function sha256(s) { return crypto.createHash('sha256').update(s).digest('hex'); }

function readLock() {
  const deps = new Map();
  for (const line of fs.readFileSync(path.join(here, 'deps.lock'), 'utf8').split('\n')) {
    const t = line.trim();
    if (!t || t.startsWith('#')) continue;
    const [name, pkgver, file, sha] = t.split(/\s+/);
    deps.set(name, { name, pkgver, file, sha, version: pkgver.split('=')[1], line: t });
  }
  return deps;
}

function compilerId() {
  const out = [];
  for (const c of [CC, CXX]) {
    try { out.push(execFileSync(c, ['--version'], { encoding: 'utf8' }).split('\n')[0]); }
    catch { throw new Error(`compiler ${c} not found: install g++ (apt-get install g++) or set CC/CXX`); }
  }
  return out.join(' | ');
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', maxBuffer: 1 << 28, ...opts });
  if (r.status !== 0) {
    process.stderr.write((r.stdout || '').slice(-8000) + (r.stderr || '').slice(-8000));
    throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status}) in ${opts.cwd || process.cwd()}`);
  }
}

const cmakeCommon = (prefix) => [
  '-G', 'Unix Makefiles',
  '-DCMAKE_BUILD_TYPE=Release', `-DCMAKE_INSTALL_PREFIX=${prefix}`, '-DCMAKE_INSTALL_LIBDIR=lib',
  '-DCMAKE_POSITION_INDEPENDENT_CODE=ON', `-DCMAKE_C_FLAGS=${CFLAGS}`, `-DCMAKE_CXX_FLAGS=${CXXFLAGS}`,
  `-DCMAKE_C_COMPILER=${CC}`, `-DCMAKE_CXX_COMPILER=${CXX}`, '-DBUILD_SHARED_LIBS=OFF', '-DBUILD_TESTING=OFF', ...crossArgs,
];

function cmakeRecipe(extra) {
  return {
    text: 'cmake ' + extra.join(' '),
    build(src, prefix, depPrefix) {
      const b = path.join(src, '_build');
      const args = extra.map((a) => a.replaceAll('@OPENSSL@', depPrefix('openssl')));
      run('cmake', ['-S', src, '-B', b, ...cmakeCommon(prefix), ...args]);
      run('cmake', ['--build', b, '-j', jobs]);
      run('cmake', ['--install', b]);
    },
  };
}

// OpenSSL: TLS for wss:// and the QUIC TLS API (SSL_set_quic_tls_cbs, OpenSSL >= 3.5) for
// ngtcp2_crypto_ossl. Trimmed of legacy algorithms; OpenSSL's own QUIC stack is not needed.
const OPENSSL_OPTS = [
  'no-shared', 'no-module', 'no-apps', 'no-tests', 'no-docs', 'no-legacy', 'no-engine', 'no-comp',
  'no-autoload-config', 'no-ssl3', 'no-dtls', 'no-deprecated', 'no-quic', 'no-ec2m', 'no-sm2', 'no-sm3',
  'no-sm4', 'no-idea', 'no-seed', 'no-camellia', 'no-bf', 'no-cast', 'no-rc2', 'no-rc4', 'no-md4',
  'no-mdc2', 'no-whirlpool', 'no-rmd160', 'no-dsa', 'no-srp', 'no-gost', 'no-siv', 'no-ocb', 'no-aria',
  'no-cms', 'no-ts', 'no-cmp', 'no-srtp', 'no-ssl-trace', 'no-ui-console',
];

const recipes = {
  simdutf: { deps: [], ...cmakeRecipe(['-DSIMDUTF_TESTS=OFF', '-DSIMDUTF_TOOLS=OFF', '-DSIMDUTF_BENCHMARKS=OFF', '-DSIMDUTF_ICONV=OFF']) },
  // zlib-ng's native zng_* API: no symbol shares a name with the zlib Node exports.
  'zlib-ng': { deps: [], ...cmakeRecipe(['-DZLIB_COMPAT=OFF', '-DZLIB_ENABLE_TESTS=OFF', '-DZLIBNG_ENABLE_TESTS=OFF', '-DWITH_GTEST=OFF',
    '-DWITH_GZFILEOP=OFF', '-DWITH_NATIVE_INSTRUCTIONS=OFF', '-DWITH_RUNTIME_CPU_DETECTION=ON']) },
  nghttp2: { deps: [], ...cmakeRecipe(['-DENABLE_LIB_ONLY=ON', '-DBUILD_STATIC_LIBS=ON', '-DENABLE_DOC=OFF', '-DENABLE_HTTP3=OFF',
    '-DWITH_LIBXML2=OFF', '-DWITH_JEMALLOC=OFF', '-DENABLE_FAILMALLOC=OFF']) },
  nghttp3: { deps: [], ...cmakeRecipe(['-DENABLE_LIB_ONLY=ON', '-DENABLE_STATIC_LIB=ON', '-DENABLE_SHARED_LIB=OFF']) },
  liburing: {
    deps: [],
    text: 'configure; make -C src ENABLE_SHARED=0',
    build(src, prefix) {
      run('./configure', [`--prefix=${prefix}`, `--libdir=${prefix}/lib`, `--cc=${CC}`, `--cxx=${CXX}`], { cwd: src });
      run('make', ['-C', 'src', '-j', jobs, 'ENABLE_SHARED=0', `CFLAGS=${CFLAGS}`], { cwd: src });
      run('make', ['-C', 'src', 'install', 'ENABLE_SHARED=0', `includedir=${prefix}/include`, `libdevdir=${prefix}/lib`], { cwd: src });
    },
  },
  openssl: {
    deps: [],
    text: 'Configure ' + OPENSSL_OPTS.join(' '),
    build(src, prefix) {
      const target = { x64: 'linux-x86_64', arm64: 'linux-aarch64' }[process.arch] || 'linux-generic64';
      run('./Configure', [target, `--prefix=${prefix}`, '--libdir=lib', '--openssldir=/etc/ssl', ...OPENSSL_OPTS,
        '-fPIC', '-O2', '-fvisibility=hidden'], { cwd: src, env: { ...process.env, CC } });
      run('make', ['-j', jobs, 'build_libs'], { cwd: src });
      run('make', ['install_dev'], { cwd: src });
    },
  },
  // Headers only: nothing of libuv is linked; the addon calls the libuv inside Node.
  libuv: {
    deps: [],
    text: 'headers: include/',
    build(src, prefix) {
      fs.cpSync(path.join(src, 'include'), path.join(prefix, 'include'), { recursive: true });
    },
  },
  ngtcp2: {
    deps: ['openssl'],
    ...cmakeRecipe(['-DENABLE_LIB_ONLY=ON', '-DENABLE_STATIC_LIB=ON', '-DENABLE_SHARED_LIB=OFF', '-DENABLE_OPENSSL=ON',
      '-DENABLE_GNUTLS=OFF', '-DENABLE_BORINGSSL=OFF', '-DOPENSSL_ROOT_DIR=@OPENSSL@', '-DOPENSSL_USE_STATIC_LIBS=TRUE',
      // glibc < 2.34 sysroots keep pthread/dl apart; ngtcp2's symbol probe links a test program.
      '-DCMAKE_EXE_LINKER_FLAGS=-pthread -Wl,--no-as-needed -ldl']),
  },
};

function main() {
  const lock = readLock();
  const cc = compilerId();
  fs.mkdirSync(dlDir, { recursive: true });
  run(path.join(here, 'fetch.sh'), [dlDir], { stdio: ['ignore', 'inherit', 'inherit'] });

  const keys = new Map();
  const prefixes = new Map();
  if (ONLY) for (const name of ONLY) if (!lock.has(name)) throw new Error(`--only: deps.lock has no ${name}`);
  for (const [name, dep] of lock) {
    if (ONLY && !ONLY.includes(name)) continue;
    const recipe = recipes[name];
    if (!recipe) throw new Error(`deps.lock names ${name} but build.js has no recipe for it`);
    if (TARGET && !recipe.text.startsWith('cmake ')) throw new Error(`--target: ${name} has no cross recipe (cmake ones only)`);
    const key = sha256([dep.line, recipe.text, cc, CFLAGS, TARGET ?? process.arch, ...recipe.deps.map((d) => keys.get(d))].join('\n')).slice(0, 16);
    keys.set(name, key);
    const prefix = path.join(cacheRoot, 'deps', `${name}-${dep.version.replace(/[^\w.+-]/g, '_')}-${TARGET ? `${TARGET}-` : ''}${key}`);
    prefixes.set(name, prefix);
    if (fs.existsSync(path.join(prefix, '.complete'))) continue;

    const started = Date.now();
    log(`building ${name} ${dep.version} (key ${key})`);
    const work = fs.mkdtempSync(path.join(os.tmpdir(), `sockudo-ws-${name}-`));
    const tmpPrefix = `${prefix}.tmp-${process.pid}`;
    fs.rmSync(tmpPrefix, { recursive: true, force: true });
    try {
      run('tar', ['-xf', path.join(dlDir, dep.file), '-C', work, '--strip-components=1']);
      recipe.build(work, tmpPrefix, (d) => prefixes.get(d));
      // CMake configs and pkg-config files hard-code the install path; the merged prefix is what
      // consumers use, so drop them rather than ship stale absolute paths.
      fs.rmSync(path.join(tmpPrefix, 'lib', 'cmake'), { recursive: true, force: true });
      fs.rmSync(path.join(tmpPrefix, 'lib', 'pkgconfig'), { recursive: true, force: true });
      fs.rmSync(path.join(tmpPrefix, 'share'), { recursive: true, force: true });
      fs.writeFileSync(path.join(tmpPrefix, '.complete'), `${dep.line}\n${cc}\n`);
      fs.rmSync(prefix, { recursive: true, force: true });
      fs.renameSync(tmpPrefix, prefix);
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
      fs.rmSync(tmpPrefix, { recursive: true, force: true });
    }
    log(`built ${name} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }

  const mergedKey = sha256([...keys.values()].join('\n')).slice(0, 16);
  const merged = path.join(cacheRoot, TARGET ? `prefix-${TARGET}-${mergedKey}` : `prefix-${mergedKey}`);
  if (!fs.existsSync(path.join(merged, '.complete'))) {
    const tmp = `${merged}.tmp-${process.pid}`;
    fs.rmSync(tmp, { recursive: true, force: true });
    for (const name of keys.keys()) {
      for (const sub of ['include', 'lib']) {
        const from = path.join(prefixes.get(name), sub);
        if (fs.existsSync(from)) fs.cpSync(from, path.join(tmp, sub), { recursive: true });
      }
    }
    fs.writeFileSync(path.join(tmp, 'versions.json'), JSON.stringify(
      Object.fromEntries([...lock].filter(([n]) => keys.has(n)).map(([n, d]) => [n, d.version])), null, 2) + '\n');
    fs.writeFileSync(path.join(tmp, '.complete'), '');
    fs.rmSync(merged, { recursive: true, force: true });
    fs.renameSync(tmp, merged);
  }
  process.stdout.write(merged + '\n');
}

try { main(); } catch (e) { log(e.message); process.exit(1); }
