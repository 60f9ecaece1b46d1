#!/usr/bin/env node
'use strict';
// `npm run prebuild`: the portable prebuilt addons that `npm pack` ships,
//   prebuilds/linux-x64/sockudo-ws.glibc.node, prebuilds/linux-arm64/sockudo-ws.glibc.node
// (node-gyp-build's layout and name for an N-API build; lib/native.ts loads them), built against an
// old glibc so they load on any glibc Linux that Node itself runs on:
//   1. toolchain: Debian bullseye (glibc 2.31, gcc 10; for arm64 its aarch64 cross gcc 10) made by
//      debootstrap and cached (scripts/prebuild/sysroot.js, pins in sysroot.lock; root needed once)
//   2. third-party libraries: scripts/deps/build.js with that toolchain, static/PIC/hidden, cached in
//      ~/.cache/sockudo-ws/prebuild/<suite>-<arch>-<sysroot key>/ (sources from the same verified
//      download cache as the host build, ~/.cache/sockudo-ws/dl/)
//   3. the addon: cmake-js in build-prebuild/linux-<arch>/ (never touches build/)
//   4. stripped and checked: GLIBC_2.28 at most, no libstdc++/libgcc_s, only the two N-API entry
//      points exported; then run: x64 in this Node and in the same Node on bullseye's glibc 2.31;
//      arm64 in bullseye's arm64 Node 12 (N-API 8, glibc 2.31) under qemu-user (scripts/prebuild/qemu.js)
//
// Usage: node scripts/prebuild.js [--arch x64|arm64|all]   (default all; SOCKUDO_WS_CACHE moves the cache)
// Times (2 shared cores): cold 3-5 min (x64) + 5-6.5 min (arm64); cached a few seconds (scripts/prebuild/README.md).
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { ensureSysroot } = require('./prebuild/sysroot.js');
const { inspect, portabilityProblems } = require('./prebuild/elf.js');
const { prebuildFile } = require('./prebuild/inputs.js');
const { ensureArm64Runner, runArm64Node } = require('./prebuild/qemu.js');

const root = path.join(__dirname, '..');
const MAX_GLIBC = '2.28'; // Node 20's own requirement: nothing older can run Node anyway
const jobs = String(os.availableParallelism ? os.availableParallelism() : os.cpus().length);
const started = Date.now();

function log(msg) { process.stderr.write(`[prebuild] ${msg}\n`); }
function secs(t0) { return `${((Date.now() - t0) / 1000).toFixed(0)} s`; }
function fail(msg) { log(msg); process.exit(1); }

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', maxBuffer: 1 << 28, cwd: root, ...opts });
  if (r.error) fail(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) {
    process.stderr.write(`${(r.stdout || '').slice(-6000)}${(r.stderr || '').slice(-6000)}`);
    fail(`${path.basename(cmd)} ${args.join(' ')} failed (exit ${r.status ?? r.signal})`);
  }
  return r;
}

// npm runs a script named "prebuild" before "build" (pre-hooks): `npm run build` must not start
// a portable build. Our npm ancestor's arguments (or title) tell which script it was asked to run.
function isPreHookOfAnotherScript() {
  if (process.env.npm_lifecycle_event !== 'prebuild' || process.platform !== 'linux') return false;
  let pid = process.ppid;
  for (let depth = 0; depth < 6 && pid > 1; depth++) {
    let argv;
    let stat;
    try {
      argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
      stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      return false;
    }
    // npm sets its process title to "npm run <script>", which replaces its argv in /proc.
    if (argv.length > 0 && /^npm\s/.test(argv[0])) argv = argv[0].split(/\s+/);
    const cli = argv.findIndex((a) => /^npm(-cli(\.js)?)?$/.test(path.basename(a)));
    if (cli >= 0) {
      const words = argv.slice(cli + 1).filter((a) => !a.startsWith('-'));
      const i = words.findIndex((a) => ['run', 'run-script', 'rum', 'urn'].includes(a));
      return i >= 0 && words[i + 1] !== undefined && words[i + 1] !== 'prebuild';
    }
    pid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  }
  return false;
}

const TARGETS = ['x64', 'arm64'];

function parseArgs() {
  const args = process.argv.slice(2);
  let arch = 'all';
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--arch') arch = args[++i];
    else if (args[i].startsWith('--arch=')) arch = args[i].slice(7);
    else fail(`unknown argument ${args[i]} (usage: node scripts/prebuild.js [--arch x64|arm64|all])`);
  }
  if (arch !== 'all' && !TARGETS.includes(arch)) fail(`--arch ${arch}: prebuilt binaries are made for ${TARGETS.join(', ')} (or all)`);
  return { archs: arch === 'all' ? TARGETS : [arch] };
}

// The toolchain for every build step. A cross toolchain also brings its binutils and a CMake
// toolchain file (CMake >= 3.21 reads CMAKE_TOOLCHAIN_FILE from the environment, so the libraries'
// own CMake builds become cross builds too).
function toolEnv(sysroot, arch) {
  const env = { CC: sysroot.cc, CXX: sysroot.cxx };
  if (sysroot.cross) Object.assign(env, { AR: sysroot.ar, RANLIB: sysroot.ranlib, CMAKE_TOOLCHAIN_FILE: sysroot.toolchainFile, SOCKUDO_WS_PREBUILD_ARCH: arch });
  return env;
}

// scripts/deps/build.js picks OpenSSL's target and keys its cache by process.arch: for a cross
// build it runs with process.arch set to the target's (scripts/prebuild/target-arch.js).
function crossPreload(sysroot) {
  return sysroot.cross ? ['--require', path.join(__dirname, 'prebuild', 'target-arch.js')] : [];
}

function buildDeps(sysroot, arch, cacheRoot) {
  // A cache of its own per toolchain (the library keys hash the compiler's name, not its sysroot),
  // sharing the verified source downloads with the host build.
  const depsCache = path.join(cacheRoot, 'prebuild', `${sysroot.suite}-${arch}-${sysroot.key}`);
  const sharedDl = path.join(cacheRoot, 'dl');
  fs.mkdirSync(depsCache, { recursive: true });
  fs.mkdirSync(sharedDl, { recursive: true });
  const dl = path.join(depsCache, 'dl');
  if (!fs.existsSync(dl)) fs.symlinkSync(sharedDl, dl);
  const r = spawnSync(process.execPath, [...crossPreload(sysroot, arch), path.join(__dirname, 'deps', 'build.js')], {
    cwd: root, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8',
    env: { ...process.env, ...toolEnv(sysroot, arch), SOCKUDO_WS_CACHE: depsCache },
  });
  if (r.status !== 0) fail('building the third-party libraries with the sysroot toolchain failed (scripts/deps/build.js)');
  return r.stdout.trim().split('\n').pop();
}

function buildAddon(sysroot, arch, prefix) {
  const out = path.join(root, 'build-prebuild', `linux-${arch}`);
  // A different toolchain or library prefix: start from a clean tree (CMake caches the compiler).
  const stampFile = path.join(out, '.prebuild-stamp');
  const stamp = `${sysroot.cc}\n${sysroot.cxx}\n${sysroot.toolchainFile || ''}\n${prefix}\n`;
  if (fs.existsSync(out) && (!fs.existsSync(stampFile) || fs.readFileSync(stampFile, 'utf8') !== stamp)) {
    fs.rmSync(out, { recursive: true, force: true });
  }
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(stampFile, stamp);
  const cmakeJs = path.join(path.dirname(require.resolve('cmake-js/package.json', { paths: [root] })), 'bin', 'cmake-js');
  const env = { ...process.env, ...toolEnv(sysroot, arch) };
  const common = ['--log-level', 'warn', '--out', out, '--config', 'Release', '--parallel', jobs, '--arch', arch,
    `--CDSOCKUDO_WS_DEPS_PREFIX=${prefix}`, `--CDCMAKE_C_COMPILER=${sysroot.cc}`, `--CDCMAKE_CXX_COMPILER=${sysroot.cxx}`,
    '--CDCMAKE_CXX_FLAGS_RELEASE=-O3 -DNDEBUG'];  // explicit, so a cached value never lingers
  // The sources must compile with bullseye's gcc 10 and glibc 2.31 headers as they are (no C++23
  // library extras, no glibc ≥ 2.32 functions such as strerrorname_np): this build is the check.
  run(process.execPath, [cmakeJs, 'configure', ...common], { env });
  run(process.execPath, [cmakeJs, 'build', ...common], { env });
  const built = path.join(out, 'Release', 'sockudo_ws.node');
  if (!fs.existsSync(built)) fail(`cmake-js finished but ${path.relative(root, built)} is missing`);
  return built;
}

// Loads the binary in a fresh Node and exercises it: kernels, masking, UTF-8 validation.
const SMOKE = `const b = require(process.argv[1]); const out = Buffer.alloc(5);
b.mask(Buffer.from('Hello'), Buffer.from([0x37, 0xfa, 0x21, 0x3d]), out, 0, 0);
if (out.toString('hex') !== '7f9f4d5158' || !b.isValidUTF8(Buffer.from('héllo')) || b.isValidUTF8(Buffer.from([0xc3])))
  throw new Error('wrong results');
console.log(JSON.stringify({ kernels: b.kernels(), openssl: b.versions().openssl }));`;

function smoke(file, sysroot) {
  const results = [];
  const here = spawnSync(process.execPath, ['-e', SMOKE, file], { encoding: 'utf8', timeout: 60_000 });
  if (here.status !== 0) fail(`the prebuilt binary does not load in this Node:\n${here.stderr}`);
  const k = JSON.parse(here.stdout).kernels;
  results.push(`loads in Node ${process.versions.node} (glibc ${process.report.getReport().header.glibcVersionRuntime}): mask kernel ${k.mask.active} of [${k.mask.available.join(', ')}], utf8 ${k.utf8.active}`);
  // The same Node under the sysroot's own glibc (2.31) and libstdc++, through its dynamic loader.
  const ldso = path.join(sysroot.root, 'lib64', 'ld-linux-x86-64.so.2');
  if (fs.existsSync(ldso)) {
    const libs = ['lib/x86_64-linux-gnu', 'usr/lib/x86_64-linux-gnu'].map((d) => path.join(sysroot.root, d)).join(':');
    const old = spawnSync(ldso, ['--library-path', libs, process.execPath, '-e',
      `${SMOKE}; console.error(process.report.getReport().header.glibcVersionRuntime)`, file], { encoding: 'utf8', timeout: 60_000 });
    if (old.status !== 0) fail(`the prebuilt binary does not load under ${sysroot.suite}'s glibc:\n${old.stderr}`);
    results.push(`loads in the same Node run on ${sysroot.suite}'s glibc ${old.stderr.trim().split('\n').pop()}`);
  }
  return results;
}

// A cross-built arm64 binary runs under qemu-user in bullseye's arm64 Node (scripts/prebuild/qemu.js).
function smokeArm64(file, cacheRoot) {
  let runner;
  try {
    runner = ensureArm64Runner(cacheRoot);
  } catch (e) {
    fail(`cannot run the arm64 binary to check it (qemu-user + bullseye's arm64 Node): ${e.message}`);
  }
  const r = runArm64Node(runner, ['-e', `${SMOKE}; console.error(process.versions.node + ' N-API ' + process.versions.napi)`, file]);
  if (r.status !== 0) fail(`the arm64 binary does not work in bullseye's arm64 Node under qemu:\n${r.stderr || r.error}`);
  const k = JSON.parse(r.stdout).kernels;
  return `loads in bullseye's arm64 Node ${r.stderr.trim().split('\n').pop()} (glibc 2.31) under qemu-user: mask kernel ${k.mask.active} of [${k.mask.available.join(', ')}], utf8 ${k.utf8.active}`;
}

function prebuild(arch, cacheRoot) {
  let t0 = Date.now();
  let sysroot;
  try {
    sysroot = ensureSysroot(arch, cacheRoot);
  } catch (e) {
    fail(e.message);
  }
  const pin = (prefix) => Object.entries(sysroot.versions).find(([n]) => n.startsWith(prefix))?.[1] ?? '?';
  log(`${arch}: toolchain ${sysroot.suite} gcc ${pin('gcc-10')}, glibc ${pin('libc6-dev')} (${sysroot.dir}) [${secs(t0)}]`);

  t0 = Date.now();
  const prefix = buildDeps(sysroot, arch, cacheRoot);
  log(`${arch}: third-party libraries ${prefix} [${secs(t0)}]`);

  t0 = Date.now();
  const built = buildAddon(sysroot, arch, prefix);
  log(`${arch}: addon built: ${path.relative(root, built)} [${secs(t0)}]`);

  // Stripped and checked next to the build (a .node name, so Node loads it), then moved into place.
  const stripped = path.join(path.dirname(built), 'sockudo-ws.glibc.node');
  run(sysroot.strip || 'strip', ['--strip-all', '-o', stripped, built]);
  const info = inspect(stripped);
  const problems = portabilityProblems(info, MAX_GLIBC);
  if (problems.length) fail(`the ${arch} binary is not portable:\n  ${problems.join('\n  ')}`);
  const checks = [
    `NEEDED: ${info.needed.join(', ')}`,
    `highest glibc symbol version: GLIBC_${info.maxGlibc} (limit ${MAX_GLIBC}); no libstdc++/libgcc_s`,
    `exports: ${info.exported.join(', ')}`,
  ];
  if (arch === process.arch) checks.push(...smoke(stripped, sysroot));
  else checks.push(smokeArm64(stripped, cacheRoot));

  const dest = prebuildFile(arch);
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  for (const f of fs.readdirSync(path.dirname(dest))) {
    if (f.startsWith(`${path.basename(dest)}.tmp-`)) fs.rmSync(path.join(path.dirname(dest), f), { force: true }); // an interrupted run's
  }
  const tmp = `${dest}.tmp-${process.pid}`;
  fs.copyFileSync(stripped, tmp);
  fs.renameSync(tmp, dest);
  log(`${path.relative(root, dest)}: ${(fs.statSync(dest).size / 1048576).toFixed(2)} MiB`);
  for (const c of checks) log(`  ${c}`);
  return dest;
}

function main() {
  if (isPreHookOfAnotherScript()) {
    log('skipped: this is npm\'s pre-hook of another script; run `npm run prebuild` for the portable binaries');
    return;
  }
  if (process.platform !== 'linux' || process.arch !== 'x64') fail(`prebuilt binaries are built on a linux-x64 host (this is ${process.platform}-${process.arch})`);
  const { archs } = parseArgs();
  const cacheRoot = process.env.SOCKUDO_WS_CACHE || path.join(os.homedir(), '.cache', 'sockudo-ws');
  const made = archs.map((arch) => prebuild(arch, cacheRoot));
  log(`done in ${secs(started)}`);
  process.stdout.write(made.join('\n') + '\n');
}

if (require.main === module) main();
module.exports = { isPreHookOfAnotherScript };
