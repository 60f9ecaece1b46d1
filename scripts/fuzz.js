#!/usr/bin/env node
'use strict';
// libFuzzer runs of the sans-IO core (test/fuzz). Needs clang with libFuzzer; on Debian:
//   apt-get install -y clang libclang-rt-14-dev
//
//   node scripts/fuzz.js <target|all> [seconds]    one target (or each of them) for `seconds` (60)
//   node scripts/fuzz.js --ci [total-seconds]      every target, a total budget (60 s) shared by
//                                                  weight; one summary line per target
//   node scripts/fuzz.js --list                    the targets
//   node scripts/fuzz.js <target> --replay <file>  runs one input (a crash, a regression) once
//
// Builds into build-fuzz/ (cached; CC=clang CXX=clang++, -DSOCKUDO_WS_FUZZ=ON). Each run starts
// from the committed seeds (test/fuzz/corpus/<target>, plus test/fuzz/regressions/<target>) and a
// scratch corpus in build-fuzz/corpus/<target> that keeps what earlier local runs found; the
// repository is never written. libFuzzer's full output goes to build-fuzz/logs/<target>.log. A
// finding (crash, sanitizer report, timeout, out-of-memory, violated property) makes the exit
// status non-zero and prints the saved input, build-fuzz/artifacts/<target>/crash-<sha1>.
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.join(__dirname, '..');
const build = path.join(root, 'build-fuzz');
const fuzzDir = path.join(root, 'test', 'fuzz');
// Weights share the CI budget: the connection engine has the most state to explore.
const TARGETS = {
  fuzz_frames_server: { weight: 2, maxLen: 8192 },
  fuzz_frames_client: { weight: 2, maxLen: 8192 },
  fuzz_http_request_head: { weight: 1, maxLen: 8192 },
  fuzz_http_response_head: { weight: 1, maxLen: 8192 },
  fuzz_extension_header: { weight: 1, maxLen: 2048 },
  fuzz_utf8: { weight: 1, maxLen: 4096 },
  fuzz_mask: { weight: 1, maxLen: 512 },
  fuzz_deflate: { weight: 1, maxLen: 4096 },
  fuzz_extended_connect: { weight: 1, maxLen: 4096 },
  fuzz_h2_session: { weight: 2, maxLen: 4096 },
  fuzz_h3_session: { weight: 2, maxLen: 2048 },
};

function die(msg) {
  console.error(`fuzz: ${msg}`);
  process.exit(2);
}

function usage() {
  console.log('usage: node scripts/fuzz.js <target|all> [seconds] | --ci [total-seconds] | --list | <target> --replay <file>');
  console.log(`targets: ${Object.keys(TARGETS).join(', ')}`);
}

function findClang() {
  for (const v of ['', '-19', '-18', '-17', '-16', '-15', '-14']) {
    const cc = `clang${v}`;
    if (spawnSync(cc, ['--version'], { stdio: 'ignore' }).status === 0) return { cc, cxx: `clang++${v}` };
  }
  return null;
}

function depsPrefix() {
  // The same prefix npm test and the addon use: build it with the default compilers.
  const env = { ...process.env };
  delete env.CC;
  delete env.CXX;
  const r = spawnSync(process.execPath, [path.join(__dirname, 'deps', 'build.js')],
    { cwd: root, env, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  if (r.status !== 0) die('building the third-party libraries failed (scripts/deps/build.js)');
  return r.stdout.trim().split('\n').pop();
}

function buildTargets(names) {
  const clang = findClang();
  if (!clang) die('clang not found. On Debian: apt-get install -y clang libclang-rt-14-dev');
  const prefix = depsPrefix();
  // The compiler is chosen once, when the build tree is created (CMake refuses to switch later).
  const fresh = !fs.existsSync(path.join(build, 'CMakeCache.txt'));
  const cfg = spawnSync('cmake', ['-S', root, '-B', build, '-DCMAKE_BUILD_TYPE=RelWithDebInfo', '-DSOCKUDO_WS_FUZZ=ON',
    `-DSOCKUDO_WS_DEPS_PREFIX=${prefix}`, ...(fresh ? [`-DCMAKE_C_COMPILER=${clang.cc}`, `-DCMAKE_CXX_COMPILER=${clang.cxx}`] : [])],
  { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  if (cfg.status !== 0) die(`configuring ${path.relative(root, build)} failed`);
  const jobs = process.env.SOCKUDO_WS_FUZZ_JOBS || String(os.availableParallelism ? os.availableParallelism() : os.cpus().length);
  const t0 = Date.now();
  const bld = spawnSync('cmake', ['--build', build, '-j', jobs, '--target', ...names], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  if (bld.status !== 0) die('compiling the fuzz targets failed');
  const secs = ((Date.now() - t0) / 1000).toFixed(0);
  console.log(`fuzz: built ${names.length} target(s) with ${clang.cxx} in ${secs} s (${path.relative(root, build)}/)`);
}

const binary = (name) => path.join(build, 'test', 'fuzz', name);

function copyDir(from, to) {
  if (!fs.existsSync(from)) return 0;
  let n = 0;
  for (const f of fs.readdirSync(from)) {
    const src = path.join(from, f);
    if (fs.statSync(src).isFile()) {
      fs.copyFileSync(src, path.join(to, f));
      n++;
    }
  }
  return n;
}

// libFuzzer's last status line ("#N DONE cov: C ft: F corp: K/Sb ...") and -print_final_stats.
function parseStats(log) {
  const stat = (k) => { const m = new RegExp(`stat::${k}:\\s+(\\d+)`).exec(log); return m ? Number(m[1]) : undefined; };
  const lines = log.split('\n').filter((l) => /^#\d+\s+\S+\s+cov: /.test(l));
  const last = lines.length ? lines[lines.length - 1] : '';
  const num = (re) => { const m = re.exec(last); return m ? Number(m[1]) : undefined; };
  return { execs: stat('number_of_executed_units'), perSec: stat('average_exec_per_sec'), newUnits: stat('new_units_added'),
    peakRss: stat('peak_rss_mb'), cov: num(/cov: (\d+)/), ft: num(/ft: (\d+)/), corpus: num(/corp: (\d+)/) };
}

function runTarget(name, seconds, { quiet = false } = {}) {
  const cfg = TARGETS[name];
  const corpusDir = path.join(build, 'corpus', name);
  const artifacts = path.join(build, 'artifacts', name);
  const logs = path.join(build, 'logs');
  for (const d of [corpusDir, artifacts, logs]) fs.mkdirSync(d, { recursive: true });
  const seeds = copyDir(path.join(fuzzDir, 'corpus', name), corpusDir);
  const args = [`-max_total_time=${Math.max(1, Math.round(seconds))}`, '-print_final_stats=1', '-timeout=10', '-rss_limit_mb=2560',
    `-max_len=${cfg.maxLen}`, `-artifact_prefix=${artifacts}${path.sep}`];
  const dict = path.join(fuzzDir, 'dict', `${name}.dict`);
  if (fs.existsSync(dict)) args.push(`-dict=${dict}`);
  args.push(corpusDir);
  const regressions = path.join(fuzzDir, 'regressions', name);
  if (fs.existsSync(regressions)) args.push(regressions);
  const env = { ...process.env, ASAN_OPTIONS: process.env.ASAN_OPTIONS || 'abort_on_error=1:detect_leaks=1:malloc_context_size=10',
    UBSAN_OPTIONS: process.env.UBSAN_OPTIONS || 'print_stacktrace=1:halt_on_error=1' };
  const logFile = path.join(logs, `${name}.log`);
  if (!quiet) console.log(`fuzz: ${name} for ${Math.round(seconds)} s (${seeds} seeds; log ${path.relative(root, logFile)})`);
  return new Promise((resolve) => {
    const t0 = Date.now();
    const child = spawn(binary(name), args, { cwd: build, env, stdio: ['ignore', 'ignore', 'pipe'] });
    const out = fs.createWriteStream(logFile);
    let log = '';
    child.stderr.on('data', (d) => {
      out.write(d);
      log += d.toString('latin1');
      if (log.length > 8 << 20) log = log.slice(-(4 << 20));  // keep the tail (the report and final stats)
    });
    child.on('close', (code, signal) => {
      out.end();
      const stats = parseStats(log);
      const crash = /Test unit written to (\S+)/.exec(log);
      const finding = code !== 0 || signal !== null;
      resolve({ name, code, signal, finding, crash: crash ? crash[1] : undefined, stats, log, secs: (Date.now() - t0) / 1000 });
    });
  });
}

function summaryLine(r) {
  const s = r.stats;
  const execs = s.execs !== undefined ? `${s.execs} executions (${s.perSec}/s)` : 'no executions';
  const base = `${r.name}: ${execs} in ${r.secs.toFixed(0)} s, cov ${s.cov ?? '?'}, ft ${s.ft ?? '?'}, corpus ${s.corpus ?? '?'}`;
  if (!r.finding) return `${base}, no findings`;
  return `${base}, FINDING (exit ${r.code ?? r.signal})${r.crash ? `: ${path.relative(root, r.crash)}` : ''}`;
}

function reportFinding(r) {
  // The sanitizer / property report: from the first "==" or "***" line before the crash marker.
  const lines = r.log.split('\n');
  const first = lines.findIndex((l) => /^(==\d+==|\*\*\* fuzz property|.*runtime error:|ALARM|==\d+== ERROR)/.test(l));
  const excerpt = (first >= 0 ? lines.slice(first) : lines.slice(-60)).filter((l) => !/^\s*(NEW_FUNC|#\d+\s+(NEW|REDUCE|pulse))/.test(l));
  console.log(excerpt.slice(0, 80).join('\n'));
  if (r.crash) {
    console.log(`\nfuzz: ${r.name} saved the input to ${path.relative(root, r.crash)}`);
    console.log(`      replay: node scripts/fuzz.js ${r.name} --replay ${path.relative(root, r.crash)}`);
    console.log(`      then keep it as test/fuzz/regressions/${r.name}/<name> (test/native/test_fuzz_regressions.cc replays it)`);
  }
}

async function main() {
  const argv = process.argv.slice(2);
  if (argv.length === 0 || argv.includes('-h') || argv.includes('--help')) return usage();
  if (argv[0] === '--list') return console.log(Object.keys(TARGETS).join('\n'));

  if (argv[0] === '--ci') {
    const budget = Number(argv[1] ?? 60);
    if (!(budget > 0)) die(`bad budget '${argv[1]}'`);
    const names = Object.keys(TARGETS);
    buildTargets(names);
    const total = names.reduce((a, n) => a + TARGETS[n].weight, 0);
    const results = [];
    for (const n of names) {
      const r = await runTarget(n, (budget * TARGETS[n].weight) / total, { quiet: true });
      results.push(r);
      console.log(summaryLine(r));
      if (r.finding) reportFinding(r);
    }
    const findings = results.filter((r) => r.finding).length;
    const execs = results.reduce((a, r) => a + (r.stats.execs || 0), 0);
    console.log(`fuzz: ${names.length} targets, ${execs} executions, ${findings} finding(s)`);
    process.exit(findings ? 1 : 0);
  }

  const which = argv[0];
  const names = which === 'all' ? Object.keys(TARGETS) : [which];
  for (const n of names) if (!TARGETS[n]) { usage(); die(`unknown target '${n}'`); }

  if (argv[1] === '--replay') {
    const file = argv[2];
    if (!file || !fs.existsSync(file)) die('--replay needs an input file');
    buildTargets(names);
    const r = spawnSync(binary(names[0]), [path.resolve(file)], { stdio: 'inherit', cwd: build });
    process.exit(r.status ?? 1);
  }

  const seconds = Number(argv[1] ?? 60);
  if (!(seconds > 0)) die(`bad duration '${argv[1]}'`);
  buildTargets(names);
  let findings = 0;
  for (const n of names) {
    const r = await runTarget(n, seconds);
    console.log(summaryLine(r));
    if (r.finding) {
      findings++;
      reportFinding(r);
    }
  }
  process.exit(findings ? 1 : 0);
}

main().catch((e) => die(e.stack || String(e)));
