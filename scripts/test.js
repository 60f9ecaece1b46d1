#!/usr/bin/env node
'use strict';
// `npm test`: every suite, then one plain line "N passed, N failed, N skipped" totalling them.
//   native    C++ unit tests of the sans-IO core (ctest), built with ASan + UBSan in build-tests/
//   js        vitest: test/js (API, loader, symbols, node-gyp build, types, TLS), test/conformance,
//             test/interop (Python websockets/wsproto, Chromium, Node's client)
//   tls       test/conformance again, every case over native TLS (SOCKUDO_WS_TEST_TLS=1: raw
//             peers on Node's tls, our server with `tls`, our client on wss://)
//   h2        the conformance cases against our server again, each WebSocket an HTTP/2 extended
//             CONNECT stream from Node's http2 client (SOCKUDO_WS_TEST_H2=1)
//   h3        the same cases with each WebSocket an HTTP/3 extended CONNECT stream of its own QUIC
//             connection from aioquic (SOCKUDO_WS_TEST_H3=1; scripts/peers/aioquic.sh installs it)
//   uring     the API, conformance, backpressure, pub/sub, bad-input, TLS and HTTP/2 suites again with
//             every server and client on io_uring (SOCKUDO_WS_TRANSPORT=io_uring; epoll where the kernel has none)
//   cross     the same C++ core tests cross-compiled for aarch64 and run under qemu-user (the NEON
//             kernel's correctness; needs g++-aarch64-linux-gnu and qemu-user)
//   fuzz      libFuzzer smoke of every target (scripts/fuzz.js --ci; SOCKUDO_WS_FUZZ_SECONDS)
//   sanitize  the addon under ASan+UBSan running the JS suites; native tests under valgrind
// Without arguments: native and js, plus cross, fuzz and sanitize when CI is set (they need the
// aarch64 cross compiler and qemu-user, clang and valgrind, which .ci/run installs, and minutes). `node scripts/test.js <suite>` runs one.
// Exit status is non-zero on any failure, and a run that executed no test is a failure.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.join(__dirname, '..');
const only = process.argv[2];
const resultsDir = path.join(root, '.test-results');
fs.rmSync(resultsDir, { recursive: true, force: true });
fs.mkdirSync(resultsDir, { recursive: true });
const jobs = String(os.availableParallelism ? os.availableParallelism() : os.cpus().length);
const totals = { passed: 0, failed: 0, skipped: 0 };
const suites = [];

function run(cmd, args, opts = {}) {
  return spawnSync(cmd, args, { stdio: 'inherit', cwd: root, ...opts });
}

function record(name, passed, failed, skipped) {
  totals.passed += passed;
  totals.failed += failed;
  totals.skipped += skipped;
  suites.push(`${name}: ${passed} passed, ${failed} failed, ${skipped} skipped`);
}

/**
 * Builds the core's ctest suites and runs them. The default: this machine, ASan + UBSan, in
 * build-tests/. `cross`: aarch64 (Debian's aarch64-linux-gnu cross compiler; simdutf and
 * zlib-ng cross-built by scripts/deps/build.js --target) run under qemu-user, so the NEON kernel
 * and the parsers are checked on an AArch64 instruction set — correctness only, emulated.
 */
function nativeSuite(cross = false) {
  const label = cross ? 'native on aarch64 (qemu-user)' : 'native';
  const target = 'aarch64-linux-gnu';
  if (cross) {
    const missing = [`${target}-g++`, 'qemu-aarch64'].filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
    if (missing.length > 0) {
      // Under CI the tools are installed by .ci/run: missing ones fail the suite instead of skipping it.
      if (process.env.CI) return record(`${label}: ${missing.join(', ')} missing (apt-get install g++-aarch64-linux-gnu qemu-user)`, 0, 1, 0);
      return record(`${label}: skipped, ${missing.join(', ')} missing`, 0, 0, 1);
    }
  }
  const deps = spawnSync(process.execPath, [path.join(__dirname, 'deps', 'build.js'), ...(cross ? ['--target', target, '--only', 'simdutf,zlib-ng'] : [])],
    { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  if (deps.status !== 0) return record(`${label} (third-party build)`, 0, 1, 0);
  const prefix = deps.stdout.trim().split('\n').pop();
  const build = path.join(root, cross ? 'build-tests-aarch64' : 'build-tests');
  const flags = cross
    ? ['-DCMAKE_BUILD_TYPE=Release', '-DCMAKE_SYSTEM_NAME=Linux', '-DCMAKE_SYSTEM_PROCESSOR=aarch64',
      `-DCMAKE_C_COMPILER=${target}-gcc`, `-DCMAKE_CXX_COMPILER=${target}-g++`, '-DSOCKUDO_WS_TESTS_TRANSPORT=OFF',
      `-DCMAKE_CROSSCOMPILING_EMULATOR=qemu-aarch64;-L;/usr/${target}`]
    : ['-DCMAKE_BUILD_TYPE=RelWithDebInfo', '-DSOCKUDO_WS_SANITIZE=address,undefined'];
  const cfg = run('cmake', ['-S', root, '-B', build, '-DSOCKUDO_WS_TESTS=ON', `-DSOCKUDO_WS_DEPS_PREFIX=${prefix}`, ...flags],
    { stdio: ['ignore', 'ignore', 'inherit'] });
  if (cfg.status !== 0) return record(`${label} (configure)`, 0, 1, 0);
  const bld = run('cmake', ['--build', build, '-j', jobs]);
  if (bld.status !== 0) return record(`${label} (compile)`, 0, 1, 0);

  const resultFile = path.join(resultsDir, cross ? 'native-aarch64.txt' : 'native.txt');
  run('ctest', ['--test-dir', build, '--output-on-failure', '--timeout', '600'], {
    env: { ...process.env, SOCKUDO_WS_TEST_RESULTS: resultFile, ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=1' },
  });
  // Every ctest executable appends "native/<name> passed failed skipped"; one that crashed before
  // reporting counts as one failure.
  const listed = spawnSync('ctest', ['--test-dir', build, '-N'], { encoding: 'utf8' }).stdout
    .split('\n').map((l) => /Test\s+#\d+:\s+(\S+)/.exec(l)?.[1]).filter(Boolean);
  const lines = fs.existsSync(resultFile) ? fs.readFileSync(resultFile, 'utf8').trim().split('\n').filter(Boolean) : [];
  const reported = new Map(lines.map((l) => { const [n, p, f, s] = l.split(' '); return [n.replace('native/', ''), [+p, +f, +s]]; }));
  let p = 0, f = 0, s = 0;
  for (const name of listed) {
    const r = reported.get(name);
    if (!r) { f += 1; console.log(`native/${name}: crashed or exited before reporting (counted as 1 failure)`); continue; }
    p += r[0]; f += r[1]; s += r[2];
  }
  record(cross ? 'native on aarch64 (ctest under qemu-user; NEON kernel)' : 'native (ctest, ASan+UBSan)', p, f, s);
}

function jsSuite(name = 'js (vitest)', files = [], env = {}) {
  const out = path.join(resultsDir, `vitest-${suites.length}.json`);
  const vitest = path.join(path.dirname(require.resolve('vitest/package.json', { paths: [root] })), 'vitest.mjs');
  run(process.execPath, [vitest, 'run', ...files, '--reporter=default', '--reporter=json', `--outputFile.json=${out}`],
    { env: { ...process.env, ...env } });
  if (!fs.existsSync(out)) return record(`${name} did not report`, 0, 1, 0);
  const r = JSON.parse(fs.readFileSync(out, 'utf8'));
  // A test file that failed to load has no test results but counts as failed.
  const brokenFiles = (r.testResults || []).filter((t) => t.status === 'failed' && (t.assertionResults || []).length === 0).length;
  record(name, r.numPassedTests, r.numFailedTests + brokenFiles, r.numPendingTests + (r.numTodoTests || 0));
}

// Runs a script, echoing its output, and returns the output for parsing.
function runCapture(args) {
  const r = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', maxBuffer: 1 << 28, env: process.env });
  process.stdout.write(r.stdout || '');
  process.stderr.write(r.stderr || '');
  return { status: r.status, out: (r.stdout || '') + (r.stderr || '') };
}

// libFuzzer smoke: every target for a share of the budget; one test per target.
function fuzzSuite() {
  // Shared by weight over the 11 targets (the frame parsers and the HTTP/2 and HTTP/3 sessions get
  // twice the others: about 37 s against 18 s). 270 s keeps a fresh machine's .ci/run under 45 min
  // (a warm run was 41 min with 360 s once the HTTP/3 conformance suite and the ws/WHATWG suites came).
  const budget = process.env.SOCKUDO_WS_FUZZ_SECONDS || '270';
  const { status, out } = runCapture([path.join(__dirname, 'fuzz.js'), '--ci', budget]);
  const lines = out.split('\n').filter((l) => /^fuzz_\w+: /.test(l));
  const ok = lines.filter((l) => l.includes('no findings')).length;
  const bad = lines.length - ok;
  if (lines.length === 0) return record('fuzz (did not run: clang/libFuzzer missing?)', 0, 1, 0);
  record('fuzz (libFuzzer, CI budget)', ok, bad + (status !== 0 && bad === 0 ? 1 : 0), 0);
}

// The addon under ASan+UBSan with the JS suites, and the native tests under valgrind.
function sanitizeSuite() {
  const { status, out } = runCapture([path.join(__dirname, 'sanitize.js'), 'all']);
  const js = /js under ASan\+UBSan: (\d+) passed, (\d+) failed/.exec(out);
  const reports = /sanitizer reports: (\d+)/.exec(out);
  const vg = out.split('\n').filter((l) => /^valgrind test_\w+: /.test(l));
  const vgClean = vg.filter((l) => /: clean/.test(l)).length;
  let passed = (js ? Number(js[1]) : 0) + vgClean;
  let failed = (js ? Number(js[2]) : 1) + (vg.length - vgClean) + (reports && Number(reports[1]) > 0 ? 1 : 0);
  if (vg.length === 0) failed += 1;
  if (status !== 0 && failed === 0) failed = 1;
  record('sanitizers (ASan+UBSan addon + JS suites; valgrind native tests)', passed, failed, 0);
}

const suitesToRun = only ? [only] : ['native', 'js', 'tls', 'h2', 'h3', 'uring', ...(process.env.CI ? ['cross', 'fuzz', 'sanitize'] : [])];
if (suitesToRun.includes('native')) nativeSuite();
if (suitesToRun.includes('cross')) nativeSuite(true);
if (suitesToRun.includes('js')) jsSuite();
if (suitesToRun.includes('tls')) jsSuite('conformance over native TLS (vitest)', ['test/conformance'], { SOCKUDO_WS_TEST_TLS: '1' });
// The cases against our server whose raw client can open its WebSocket as an HTTP/2 or HTTP/3
// stream (compression, handshake and client cases speak HTTP/1.1 heads; http2.test.ts and
// interop/http3.test.ts cover those on h2 and h3).
const H2_CONFORMANCE = ['test/conformance/close.test.ts', 'test/conformance/fragmentation.test.ts',
  'test/conformance/framing.test.ts', 'test/conformance/limits.test.ts', 'test/conformance/utf8.test.ts'];
if (suitesToRun.includes('h2')) jsSuite('conformance over HTTP/2 streams (vitest)', H2_CONFORMANCE, { SOCKUDO_WS_TEST_H2: '1' });
// The same cases over HTTP/3 streams, through aioquic (outside CI a machine without it skips them).
if (suitesToRun.includes('h3')) {
  const probe = spawnSync('/usr/bin/python3', [path.join(root, 'test', 'interop', 'peers', 'h3_websocket.py'), 'probe'], { encoding: 'utf8' });
  if (probe.status !== 0 && !process.env.CI) {
    record('conformance over HTTP/3 streams (skipped: aioquic missing, run scripts/peers/aioquic.sh)', 0, 0, 1);
  } else {
    jsSuite('conformance over HTTP/3 streams (vitest)', H2_CONFORMANCE, { SOCKUDO_WS_TEST_H3: '1' });
  }
}
// Every suite that runs over plain TCP, again on the io_uring transport (plus TLS and HTTP/2 over it).
if (suitesToRun.includes('uring')) {
  jsSuite('over io_uring (vitest)', ['test/conformance', 'test/js/websocket.test.ts', 'test/js/backpressure.test.ts', 'test/js/pubsub.test.ts',
    'test/js/bad-input.test.ts', 'test/js/hardening.test.ts', 'test/js/echo-sizes.test.ts', 'test/js/handle-upgrade.test.ts',
    'test/js/protocol-behaviour.test.ts', 'test/js/compression.test.ts', 'test/js/tls.test.ts', 'test/js/http2.test.ts', 'test/js/http2-client.test.ts', 'test/js/scale.test.ts'],
  { SOCKUDO_WS_TRANSPORT: 'io_uring' });
}
if (suitesToRun.includes('fuzz')) fuzzSuite();
if (suitesToRun.includes('sanitize')) sanitizeSuite();

console.log('\n' + suites.join('\n'));
const summary = `${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`;
fs.writeFileSync(path.join(resultsDir, 'summary.txt'), summary + '\n');
console.log(summary);
process.exit(totals.failed > 0 || totals.passed + totals.failed === 0 ? 1 : 0);
