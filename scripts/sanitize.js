#!/usr/bin/env node
'use strict';
// Sanitizer and leak runs beyond `npm test` (which already runs the native tests under ASan+UBSan):
//
//   node scripts/sanitize.js addon      the addon built with ASan+UBSan (cmake-js, build-asan/), and
//                                       the JS suites (vitest) run against it, the ASan runtime
//                                       preloaded into Node
//   node scripts/sanitize.js valgrind   the native tests built without sanitizers (Release + -g,
//                                       build-valgrind/) under valgrind --leak-check=full
//   node scripts/sanitize.js [all]      both
//
// Prints one line per suite or binary and exits non-zero on any sanitizer or valgrind report, or
// any test failure not expected under sanitizers (listed with the reason).
//
// Addon run details:
// - The package loads the ASan build through SOCKUDO_WS_NATIVE_PATH (lib/native.ts).
// - LD_PRELOAD=<the addon compiler's libasan.so>: ASan must be the first library in a process
//   whose executable (node) is not instrumented. Every process the tests start inherits it.
// - ASAN_OPTIONS: detect_leaks=0 (Node does not free everything at exit), a 16 MiB quarantine
//   (ASan's 256 MiB default, even 64 MiB, makes the memory-bound tests fail on ASan's own memory;
//   a use after free within the last 16 MiB freed is still caught), log_path: reports go to files in
//   build-asan/reports/, each named after the process id, so nothing is lost in the test output.
// - Left out: test/interop/chromium.test.ts and chromium-tls.test.ts (Chromium does not start with the ASan runtime
//   preloaded; Firefox runs: test/interop/firefox.ts starts it without LD_PRELOAD) and test/js/build-gyp.test.ts (it builds and loads a second, uninstrumented addon
//   with node-gyp). Both run in `npm test`.
// - Expected to fail: the loader tests of test/js/package.test.ts that check how a binary is
//   found without an override (the override is how this run loads the ASan build).
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.join(__dirname, '..');
const jobs = process.env.SOCKUDO_WS_SANITIZE_JOBS || String(os.availableParallelism ? os.availableParallelism() : os.cpus().length);
const EXCLUDED = [
  ['test/interop/chromium.test.ts', 'Chromium does not start with the ASan runtime preloaded (launch times out)'],
  ['test/interop/chromium-tls.test.ts', 'Chromium does not start with the ASan runtime preloaded (launch times out)'],
  ['test/js/build-gyp.test.ts', 'builds and loads a second, uninstrumented addon with node-gyp'],
];
// [file, full-name pattern, why]: failures that the override itself causes.
const EXPECTED = [
  ['test/js/package.test.ts', /^loader /, 'checks how the loader finds a binary without SOCKUDO_WS_NATIVE_PATH, which this run sets'],
  ['test/js/io-uring.test.ts', /no descriptor left: EMFILE/, 'uses up every descriptor in a child process; the sanitizer runtime then cannot read '
    + 'memory maps itself and UBSan reports the ServerWrap it cannot inspect ("object has invalid vptr, memory cannot be printed")'],
  ['test/js/io-uring.test.ts', /the listener pauses and later accepts/, 'the server\'s child process uses up its descriptors; as above, '
    + 'UBSan then cannot inspect the first object it checks (a link\'s events) and halts the child'],
];

function die(msg) {
  console.error(`sanitize: ${msg}`);
  process.exit(2);
}

function depsPrefix() {
  const r = spawnSync(process.execPath, [path.join(__dirname, 'deps', 'build.js')],
    { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  if (r.status !== 0) die('building the third-party libraries failed (scripts/deps/build.js)');
  return r.stdout.trim().split('\n').pop();
}

// The end of a build's output, for a failure message (warnings of a good build are not shown).
function tail(r) {
  return `${r.stdout || ''}${r.stderr || ''}`.split('\n').slice(-40).join('\n');
}

function tool(name) {
  return spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).stdout.trim();
}

// --- ASan + UBSan addon under the JS suites ------------------------------------------------------

function addon(prefix) {
  const out = path.join(root, 'build-asan');
  const cmakeJs = path.join(path.dirname(require.resolve('cmake-js/package.json', { paths: [root] })), 'bin', 'cmake-js');
  const t0 = Date.now();
  const b = spawnSync(process.execPath, [cmakeJs, 'build', '--log-level', 'warn', '--out', out, '--config', 'RelWithDebInfo',
    '--parallel', jobs, `--CDSOCKUDO_WS_DEPS_PREFIX=${prefix}`, '--CDSOCKUDO_WS_SANITIZE=address,undefined'],
  { cwd: root, encoding: 'utf8', maxBuffer: 1 << 28 });
  if (b.status !== 0) die(`building the ASan addon failed (cmake-js, build-asan/):\n${tail(b)}`);
  const node = path.join(out, 'RelWithDebInfo', 'sockudo_ws.node');
  if (!fs.existsSync(node)) die(`no ${path.relative(root, node)} after the build`);
  console.log(`sanitize: ASan+UBSan addon built in ${((Date.now() - t0) / 1000).toFixed(0)} s: ${path.relative(root, node)}`);

  // The runtime of the compiler that built it (cmake-js uses CMake's default, `c++`).
  const cxx = process.env.CXX || 'c++';
  const libasan = spawnSync(cxx, ['-print-file-name=libasan.so'], { encoding: 'utf8' }).stdout.trim();
  if (!path.isAbsolute(libasan) || !fs.existsSync(libasan)) die(`${cxx} -print-file-name=libasan.so gave '${libasan}'`);

  const reports = path.join(out, 'reports');
  fs.rmSync(reports, { recursive: true, force: true });
  fs.mkdirSync(reports, { recursive: true });
  const env = {
    ...process.env,
    SOCKUDO_WS_NATIVE_PATH: node,
    LD_PRELOAD: libasan,
    ASAN_OPTIONS: `detect_leaks=0:abort_on_error=1:quarantine_size_mb=16:malloc_context_size=10:log_path=${path.join(reports, 'asan')}`,
    UBSAN_OPTIONS: `print_stacktrace=1:halt_on_error=1:log_path=${path.join(reports, 'ubsan')}`,
  };

  // The ASan build is the one that loads, with the runtime in place.
  const probe = spawnSync(process.execPath, ['-e', `
    const ws = require('./dist/cjs/index.js');
    const maps = require('fs').readFileSync('/proc/self/maps', 'utf8');
    if (!maps.includes(${JSON.stringify(node)}) || !maps.includes('libasan')) { console.log('not loaded'); process.exit(1); }
    console.log(ws.kernels().mask.active);`], { cwd: root, env, encoding: 'utf8' });
  if (probe.status !== 0) die(`the ASan addon does not load under Node:\n${probe.stdout}${probe.stderr}`);
  console.log(`sanitize: loads with ${path.basename(libasan)} preloaded (mask kernel ${probe.stdout.trim()})`);

  const json = path.join(out, 'vitest.json');
  fs.rmSync(json, { force: true });
  const vitest = path.join(path.dirname(require.resolve('vitest/package.json', { paths: [root] })), 'vitest.mjs');
  const args = [vitest, 'run', '--reporter=dot', '--reporter=json', `--outputFile.json=${json}`];
  for (const [file] of EXCLUDED) args.push('--exclude', file);
  console.log('sanitize: running vitest against it (a few minutes; full output in build-asan/vitest.log)');
  const t1 = Date.now();
  const v = spawnSync(process.execPath, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', maxBuffer: 1 << 28 });
  fs.writeFileSync(path.join(out, 'vitest.log'), (v.stdout || '') + (v.stderr || ''));
  for (const [file, why] of EXCLUDED) console.log(`sanitize: left out ${file}: ${why}`);

  let failed = 0;
  if (!fs.existsSync(json)) {
    console.log(`sanitize: vitest did not report (exit ${v.status}); see ${path.relative(root, path.join(out, 'vitest.log'))}`);
    failed++;
  } else {
    const r = JSON.parse(fs.readFileSync(json, 'utf8'));
    let expected = 0;
    for (const file of r.testResults || []) {
      const rel = path.relative(root, file.name);
      if (file.status === 'failed' && (file.assertionResults || []).length === 0) {
        failed++;
        console.log(`  FAIL ${rel}: the file did not load: ${(file.message || '').split('\n')[0]}`);
      }
      for (const t of file.assertionResults || []) {
        if (t.status !== 'failed') continue;
        const exp = EXPECTED.find(([f, re]) => f === rel && re.test(t.fullName));
        const msg = (t.failureMessages || [''])[0].split('\n')[0];
        if (exp) {
          expected++;
          console.log(`  expected under this run: ${rel} > ${t.fullName} (${exp[2]})`);
        } else {
          failed++;
          console.log(`  FAIL ${rel} > ${t.fullName}: ${msg}`);
        }
      }
    }
    // `failed` counts the unexpected test failures and the files that did not load.
    console.log(`js under ASan+UBSan: ${r.numPassedTests} passed, ${failed} failed, ` +
      `${expected} expected failures, ${r.numPendingTests + (r.numTodoTests || 0)} skipped in ${((Date.now() - t1) / 1000).toFixed(0)} s`);
  }

  // Sanitizer reports of any process of the run (test peers inherit LD_PRELOAD too).
  const files = fs.readdirSync(reports).sort();
  for (const f of files) {
    console.log(`\n--- ${path.relative(root, path.join(reports, f))} (pid ${f.split('.').pop()}) ---`);
    console.log(fs.readFileSync(path.join(reports, f), 'utf8').split('\n').slice(0, 60).join('\n'));
  }
  console.log(`sanitizer reports: ${files.length}${files.length ? ` in ${path.relative(root, reports)}/` : ''}`);
  return failed === 0 && files.length === 0;
}

// --- valgrind over the native tests --------------------------------------------------------------

function valgrind(prefix) {
  const vg = tool('valgrind');
  if (!vg) die('valgrind not found. On Debian: apt-get install -y valgrind');
  const build = path.join(root, 'build-valgrind');
  const cfg = spawnSync('cmake', ['-S', root, '-B', build, '-DCMAKE_BUILD_TYPE=Release', '-DCMAKE_CXX_FLAGS=-g', '-DSOCKUDO_WS_TESTS=ON',
    `-DSOCKUDO_WS_DEPS_PREFIX=${prefix}`, '-DSOCKUDO_WS_SANITIZE='], { cwd: root, encoding: 'utf8' });
  if (cfg.status !== 0) die(`configuring build-valgrind/ failed:\n${tail(cfg)}`);
  const bld = spawnSync('cmake', ['--build', build, '-j', jobs], { cwd: root, encoding: 'utf8', maxBuffer: 1 << 28 });
  if (bld.status !== 0) die(`compiling the native tests in build-valgrind/ failed:\n${tail(bld)}`);
  const dir = path.join(build, 'test', 'native');
  const logs = path.join(build, 'valgrind');
  fs.mkdirSync(logs, { recursive: true });
  const tests = fs.readdirSync(dir).filter((f) => /^test_\w+$/.test(f)).sort();
  if (tests.length === 0) die(`no test binaries in ${path.relative(root, dir)}`);
  let bad = 0;
  for (const t of tests) {
    const log = path.join(logs, `${t}.log`);
    const t0 = Date.now();
    // Definite and possible leaks are errors; memory still reachable at exit is not a leak.
    const r = spawnSync(vg, ['--quiet', '--leak-check=full', '--errors-for-leak-kinds=definite,possible', '--show-leak-kinds=definite,possible',
      '--error-exitcode=99', `--log-file=${log}.%p`, path.join(dir, t)], { cwd: dir, encoding: 'utf8', maxBuffer: 1 << 26 });
    const secs = ((Date.now() - t0) / 1000).toFixed(1);
    const summary = (r.stdout || '').trim().split('\n').pop();
    // One log per process (the regression test forks); any non-empty one holds a report.
    const reports = fs.readdirSync(logs).filter((f) => f.startsWith(`${t}.log.`)).map((f) => path.join(logs, f))
      .filter((f) => fs.statSync(f).size > 0);
    const ok = r.status === 0 && reports.length === 0;
    if (!ok) bad++;
    console.log(`valgrind ${t}: ${ok ? 'clean' : `FAILED (exit ${r.status ?? r.signal})`}, ${summary} (${secs} s)`);
    for (const f of reports) console.log(fs.readFileSync(f, 'utf8').split('\n').slice(0, 60).join('\n'));
    for (const f of fs.readdirSync(logs).filter((f) => f.startsWith(`${t}.log.`))) {
      if (fs.statSync(path.join(logs, f)).size === 0) fs.rmSync(path.join(logs, f));
    }
  }
  console.log(`valgrind: ${tests.length - bad} of ${tests.length} native test binaries clean (no invalid accesses, no definite or possible leaks)`);
  return bad === 0;
}

function main() {
  const what = process.argv[2] || 'all';
  if (!['addon', 'valgrind', 'all'].includes(what)) {
    console.log('usage: node scripts/sanitize.js [addon|valgrind|all]');
    process.exit(2);
  }
  const prefix = depsPrefix();
  let ok = true;
  if (what === 'addon' || what === 'all') ok = addon(prefix) && ok;
  if (what === 'valgrind' || what === 'all') ok = valgrind(prefix) && ok;
  process.exit(ok ? 0 : 1);
}

main();
