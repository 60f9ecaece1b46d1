#!/usr/bin/env node
// The benchmark suite: every scenario of bench/js/plan.mjs against every server in one run, side
// by side. Each server is its own process on core 0 (bench/js/server.mjs), the native load
// generator runs on core 1, and within each round the servers take turns (the order rotates per
// round). Writes, per scenario, JSON + Markdown + an SVG chart, and a README.md with the targets,
// into bench/results/<date>/ (full) or bench/results/quick/ (--quick). Progress goes to stderr.
//
//   npm run bench                 full: echo 100/1000 conns × 13 B–16 KiB, pipelined, broadcast,
//                                 10,000 idle connections, latency, kernels (≈20 min)
//   npm run bench:quick           the same scenarios, fewer cases and shorter (under two minutes)
//   node bench/run.mjs [--quick] [--rounds 3] [--seconds S] [--only echo,kernels] [--impls sockudo,ws] [--out DIR]
//
// uWebSockets.js is not on npm: set UWS_PATH to a built uws_*.node (or its directory) to include it.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, release } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { parseArgs } from 'node:util';

import { benchBinary, loadgenPath, median, pinned, root, taskset } from './js/bench-common.mjs';
import { measure, Server } from './js/drive.mjs';
import { kernelBaselines, kernelMetrics, scenarios } from './js/plan.mjs';
import { metaMarkdown, scenarioMarkdown } from './js/report-md.mjs';
import { scenarioSvg } from './js/report-svg.mjs';
import { displayName, formatValue } from './js/stats.mjs';
import { checkTargets, targetsMarkdown } from './js/targets.mjs';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string' },
    only: { type: 'string' },
    impls: { type: 'string' },
    out: { type: 'string' },
  },
});
const require = createRequire(import.meta.url);
const quick = values.quick;
const rounds = Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error('--rounds: a positive integer');
const only = values.only ? new Set(values.only.split(',')) : null;
const wanted = (name) => only === null || only.has(name);
const started = Date.now();
const elapsed = () => { const s = Math.round((Date.now() - started) / 1000); return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`; };
const progress = (msg) => process.stderr.write(`[${elapsed()}] ${msg}\n`);

// --- contenders ------------------------------------------------------------------------------
const notes = [];
let uwsLabel = null;
if (process.env.UWS_PATH) {
  if (!existsSync(process.env.UWS_PATH)) throw new Error(`UWS_PATH=${process.env.UWS_PATH} does not exist`);
  const dir = existsSync(join(process.env.UWS_PATH, 'uws.js')) ? process.env.UWS_PATH : dirname(process.env.UWS_PATH);
  const version = existsSync(join(dir, 'VERSION')) ? readFileSync(join(dir, 'VERSION'), 'utf8').trim() : basename(process.env.UWS_PATH);
  uwsLabel = `uWebSockets.js ${version}`;
} else {
  notes.push('uWebSockets.js not measured: it is not on npm; build it locally and set UWS_PATH to its uws_*.node to include it.');
}
// ws without bufferutil (ws-nobuf) is measured on request (--impls): no target depends on it.
const defaultImpls = ['sockudo', ...(quick ? [] : ['sockudo-buf']), 'sockudo-http', 'ws', ...(uwsLabel ? ['uws'] : [])];
const impls = values.impls ? values.impls.split(',') : defaultImpls;
if (impls.includes('uws') && !uwsLabel) throw new Error('--impls uws needs UWS_PATH');

// --- the run's facts ---------------------------------------------------------------------------
const pkgVersion = (name) => JSON.parse(readFileSync(require.resolve(`${name}/package.json`), 'utf8')).version;
let commit = 'unknown';
try {
  commit = execFileSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  if (execFileSync('git', ['-C', root, 'status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' }).trim()) commit += '+changes';
} catch { /* not a git checkout */ }
const argv = process.argv.slice(2).join(' ');
const meta = {
  command: quick && argv === '--quick' ? 'npm run bench:quick' : argv === '' ? 'npm run bench' : `node bench/run.mjs ${argv}`,
  date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
  mode: quick ? 'quick' : 'full',
  rounds,
  cpu: cpus()[0].model.trim(),
  cores: cpus().length,
  kernel: release(),
  node: process.version,
  pinning: taskset ? 'servers on core 0, load generator on core 1 (taskset)' : 'not pinned (taskset missing)',
  versions: {
    sockudo: `${JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version} (${commit})`,
    ws: pkgVersion('ws'),
    bufferutil: pkgVersion('bufferutil'),
    uws: uwsLabel,
  },
  impls,
};
const outDir = values.out ?? join(root, 'bench', 'results', quick ? 'quick' : new Date().toISOString().slice(0, 10));
mkdirSync(outDir, { recursive: true });

// --- load generator scenarios ----------------------------------------------------------------
const plan = scenarios({ quick, seconds: values.seconds === undefined ? undefined : Number(values.seconds) }).filter((s) => wanted(s.name));
const totalRuns = plan.reduce((n, s) => n + s.cases.length * rounds * impls.length, 0);
let doneRuns = 0;
let failedRuns = 0;
const loadgen = plan.length ? loadgenPath() : null;
const results = [];

/** The case's rate when it is derived from another case's results (latency at half the maximum). */
async function rateFor(kase) {
  const from = kase.rateFrom;
  const source = results.find((r) => r.name === from.scenario)?.cases.find((c) => c.id === from.case);
  const maxima = {};
  for (const impl of impls) {
    const runs = source?.runs[impl] ?? [];
    if (runs.length) maxima[impl] = median(runs.map((r) => r.rate));
  }
  const missing = impls.filter((i) => maxima[i] === undefined);
  if (missing.length) {
    const probeCase = scenarios({ quick: true }).find((s) => s.name === from.scenario).cases.find((c) => c.id === from.case);
    for (const impl of missing) {
      const server = await new Server(impl).start();
      try {
        maxima[impl] = (await measure(loadgen, server, probeCase.args)).rate;
        progress(`latency: probed ${displayName(impl)}'s maximum: ${formatValue(maxima[impl])} msg/s`);
      } finally { await server.stop(); }
    }
  }
  const lowest = Math.min(...Object.values(maxima));
  return { rate: Math.round(lowest * from.factor), maxima };
}

async function runCase(scenario, kase) {
  kase.runs = Object.fromEntries(impls.map((i) => [i, []]));
  kase.errors = {};
  let args = kase.args;
  if (kase.rateFrom) {
    const { rate, maxima } = await rateFor(kase);
    args = [...args, '--rate', String(rate)];
    kase.rate = rate;
    kase.title += ` = ${formatValue(rate)} msg/s`;
    scenario.notes = [`Rate ${formatValue(rate)} msg/s = ${kase.rateFrom.factor} × the lowest maximum (${impls.map((i) => `${displayName(i)} ${formatValue(maxima[i])}`).join(', ')}).`];
  }
  const servers = new Map();
  const serverFor = async (impl) => {
    let s = servers.get(impl);
    if (scenario.fresh || !s || !s.alive) {
      if (s) await s.stop();
      s = await new Server(impl).start();
      servers.set(impl, s);
    }
    return s;
  };
  try {
    if (!scenario.fresh) await Promise.all(impls.map(serverFor));
    for (let r = 0; r < rounds; r++) {
      const order = impls.map((_, i) => impls[(i + r) % impls.length]);  // A B C, B C A, C A B …
      for (const impl of order) {
        doneRuns++;
        const label = `${scenario.name} ${kase.title} · round ${r + 1}/${rounds} · ${displayName(impl)}`;
        try {
          const server = await serverFor(impl);
          const result = await measure(loadgen, server, args);
          kase.runs[impl].push(result);
          const m = scenario.metrics[0];
          const unit = m.unit === 'B' || m.unit === '%' ? '' : ` ${m.unit}`;  // formatValue already says B and %
          progress(`${String(doneRuns).padStart(3)}/${totalRuns} ${label}: ${formatValue(result[m.key], m.unit)}${unit}`);
        } catch (error) {
          failedRuns++;
          (kase.errors[impl] ??= []).push(error.message);
          progress(`${String(doneRuns).padStart(3)}/${totalRuns} ${label}: FAILED ${error.message}`);
        } finally {
          if (scenario.fresh) await servers.get(impl)?.stop();
        }
      }
    }
  } finally {
    for (const s of servers.values()) await s.stop();
  }
  delete kase.args;
  kase.loadgenArgs = args;
}

for (const scenario of plan) {
  progress(`== ${scenario.title}: ${scenario.cases.length} case(s) × ${impls.length} servers × ${rounds} rounds`);
  for (const kase of scenario.cases) await runCase(scenario, kase);
  results.push({ ...scenario, impls });
}

// --- kernels -----------------------------------------------------------------------------------
/** Kernel rows ({group, title, bytes, results: {name: [GB/s…]}}) as a scenario result. */
function kernelResult(name, title, about, rows, rounds, prefix = '') {
  return {
    name, title, about, kernel: true, meta: { rounds }, metrics: kernelMetrics, impls: [...new Set(rows.flatMap((r) => Object.keys(r.results)))],
    cases: rows.map((r) => ({
      id: r.title.replace(/\W+/g, '-').toLowerCase(), title: r.title, baselines: kernelBaselines[prefix + r.group],
      runs: Object.fromEntries(Object.entries(r.results).map(([k, xs]) => [k, xs.map((gbps) => ({ gbps }))])),
    })),
  };
}

/** Runs a kernel benchmark program pinned to core 1 with `--json FILE` and returns the parsed file. */
function runKernels(name, argv) {
  const json = join(outDir, `${name}.raw.json`);
  const [cmd, args] = pinned(1, [...argv, '--json', json]);
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'], timeout: 300_000 });
  if (r.status !== 0) throw new Error(`${name}: ${argv.join(' ')} failed (${r.status ?? r.signal})`);
  return JSON.parse(readFileSync(json, 'utf8'));
}

if (wanted('kernels')) {
  const kernelRounds = quick ? 3 : 7;
  if (!quick) {
    progress('== kernels (native): building bench_kernels');
    const raw = runKernels('kernels-native', [benchBinary('bench_kernels')]);
    results.push(kernelResult('kernels-native', 'Kernels, native (one core)',
      `Architecture ${raw.arch ?? 'x86_64'}. Masking out of place, each kernel forced in turn (${raw.kernels.join(', ')}; AVX-512 only where the CPU has it), beside memcpy; UTF-8 validation, ours (utf8::is_valid) beside simdutf ${raw.simdutf} (${raw.simdutf_implementation}) called directly. 7 timed rounds.`,
      raw.rows, 7));
    progress('kernels (native): done');
  }
  progress('== kernels (JS API)');
  const raw = runKernels('kernels-js', [process.execPath, join(root, 'bench', 'js', 'kernels.mjs'), '--rounds', String(kernelRounds), ...(quick ? ['--target', '0.01'] : [])]);
  results.push(kernelResult('kernels-js', 'Kernels through the JS API',
    'Calls from JavaScript, per call as an application makes them: our `mask`/`unmask`/`isValidUTF8` beside bufferutil, the plain-JS loop `ws` uses without bufferutil, and `buffer.isUtf8` (what `ws` calls on Node 20). Small sizes measure the call overhead.',
    raw.rows, kernelRounds, 'js-'));
  progress('kernels (JS API): done');
}

// --- reports -----------------------------------------------------------------------------------
const written = [];
const write = (file, text) => { writeFileSync(join(outDir, file), text); written.push(file); };
for (const result of results) {
  const m = { ...meta, ...(result.meta ?? {}) };
  write(`${result.name}.json`, JSON.stringify({ meta: m, ...result }, null, 1) + '\n');
  write(`${result.name}.md`, `# ${result.title}\n\n${metaMarkdown(m)}\n${scenarioMarkdown(result, m)}`);
  write(`${result.name}.svg`, scenarioSvg(result, m));
}
const targets = checkTargets(results);
const summary = [
  `# sockudo-ws benchmarks (${meta.mode})`, '',
  metaMarkdown(meta),
  ...notes.map((n) => `- ${n}`), notes.length ? '' : null,
  targetsMarkdown(targets),
  ...results.map((r) => scenarioMarkdown(r, { ...meta, ...(r.meta ?? {}) })),
].filter((x) => x !== null).join('\n');
write('README.md', summary);
progress(`wrote ${written.length} files to ${relative(process.cwd(), outDir) || '.'} (README.md, and per scenario .json/.md/.svg)`);
if (failedRuns) {
  progress(`${failedRuns} of ${totalRuns} runs failed (listed in the reports)`);
  process.exitCode = 1;
}
