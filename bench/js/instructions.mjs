// User-space instructions per echo, counted by valgrind's callgrind on the server process: stable on a
// noisy shared VM where `perf stat -e instructions` has no hardware counters. Each case gets a fresh
// server (bench/js/server.mjs) under callgrind with instrumentation off (`--instr-atstart=no`); the
// load generator opens its connections and warms up, then instrumentation is switched on
// (`callgrind_control -i on`) for one window, the server's own message counter is read at both
// ends (IPC `count`), and the dump's instruction total is divided by the messages echoed in between. Everything the process executes
// in the window counts: JS, the addon, libuv, V8's helper threads, glibc's side of system calls; the
// kernel's work does not (valgrind sees user space only). The top functions of each dump are listed.
//
//   node bench/js/instructions.mjs [--impls sockudo,uws,ws] [--cases 100x13,100x16384,1000x13] [--binary]
//                                  [--seconds 8] [--out FILE.md] [--keep]   (--keep: leave the dumps for callgrind_annotate)
// Needs valgrind (Debian: apt-get install valgrind); uws needs UWS_PATH as for the suite.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { loadgenPath, root } from './bench-common.mjs';
import { runLoadgen, Server } from './drive.mjs';

const { values } = parseArgs({
  options: {
    impls: { type: 'string', default: 'sockudo,uws,ws' },
    cases: { type: 'string', default: '100x13,100x512,100x16384,1000x13' },
    binary: { type: 'boolean', default: false },
    seconds: { type: 'string', default: '8' },
    top: { type: 'string', default: '12' },
    out: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});
if (spawnSync('valgrind', ['--version']).status !== 0) throw new Error('valgrind is missing (Debian: apt-get install valgrind)');

const WARMUP_S = 6;  // connections open and V8 compiles the hot paths (slow under valgrind)
const seconds = Number(values.seconds);
const cases = values.cases.split(',').map((c) => { const [n, s] = c.split('x').map(Number); return { connections: n, size: s }; });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function control(pid, ...args) {
  const r = spawnSync('callgrind_control', [...args, String(pid)], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`callgrind_control ${args.join(' ')}: ${r.stderr || r.stdout}`);
}

/** A dump's instruction total and its top functions (self cost). */
function readDump(file) {
  const total = Number(/^totals: (\d+)/m.exec(readFileSync(file, 'utf8'))[1]);
  const a = spawnSync('callgrind_annotate', ['--inclusive=no', '--threshold=100', file], { encoding: 'utf8', maxBuffer: 1 << 28 });
  const top = [];
  for (const line of a.stdout.split('\n')) {
    const m = /^\s*([\d,]+)\s+\(\s*([\d.]+)%\)\s+(.*)$/.exec(line);
    if (!m || /PROGRAM TOTALS/.test(m[3])) continue;
    top.push({ share: Number(m[2]), fn: m[3].replace(/\s*\[[^\]]*\]\s*$/, '').slice(0, 110) });
    if (top.length >= Number(values.top)) break;
  }
  return { total, top };
}

/** One case on a fresh server under callgrind: a second window in one process counts almost nothing. */
async function measureCase(impl, c, dir) {
  const server = await new Server(impl).start({
    prefix: ['valgrind', '--tool=callgrind', '--instr-atstart=no', '--dump-instr=no', `--callgrind-out-file=${join(dir, 'callgrind.out.%p')}`, '-q'],
    timeoutMs: 180_000,
  });
  const pid = server.child.pid;
  try {
    const lg = runLoadgen(loadgenPath(), ['--scenario', 'echo', '--port', String(server.port), '--connections', String(c.connections),
      '--size', String(c.size), ...(values.binary ? ['--binary'] : []), '--warmup', String(WARMUP_S), '--seconds', String(seconds + 6)],
    { timeoutMs: (WARMUP_S + seconds + 120) * 1000 });
    lg.done.catch(() => {});
    await sleep(WARMUP_S * 1000);
    control(pid, '-i', 'on');
    const c0 = (await server.ask({ cmd: 'count' }, 60_000)).messages;
    await sleep(seconds * 1000);
    const c1 = (await server.ask({ cmd: 'count' }, 60_000)).messages;
    control(pid, '-d');
    control(pid, '-i', 'off');
    const { total, top } = readDump(join(dir, `callgrind.out.${pid}.1`));
    const result = await lg.done;
    if (!result.ok) throw new Error(`${impl}: the load generator saw errors`);
    const messages = c1 - c0;
    console.error(`${impl} ${c.connections}×${c.size}: ${messages} echoes, ${Math.round(total / messages)} instructions each`);
    return { ...c, messages, instructions: total, perEcho: total / messages, top };
  } finally {
    await server.stop();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'sockudo-ws-callgrind-'));
const results = {};
try {
  for (const impl of values.impls.split(',')) {
    results[impl] = [];
    for (const c of cases) results[impl].push(await measureCase(impl, c, dir));
  }
} finally {
  if (values.keep) console.error(`callgrind dumps kept in ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
}

const impls = Object.keys(results);
const fmt = (n) => Math.round(n).toLocaleString('en-US');
const lines = [
  `# User-space instructions per echo (callgrind, ${values.binary ? 'binary' : 'text'})`, '',
  `Command: \`node bench/js/instructions.mjs ${process.argv.slice(2).join(' ')}\` — ${new Date().toISOString().slice(0, 10)}, `
    + `commit \`${spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).stdout.trim()}\`, `
    + `${seconds} s of counted echo per case after ${WARMUP_S} s of warm-up, under valgrind (each server runs 2–10× slower there, `
    + 'with every connection in flight). Kernel work is not counted.', '',
  `| connections × payload | ${impls.join(' | ')} | ${impls.slice(1).map((i) => `${impls[0]} / ${i}`).join(' | ')} |`,
  `|---|${impls.map(() => '---|').join('')}${impls.slice(1).map(() => '---|').join('')}`,
];
cases.forEach((c, k) => {
  const per = impls.map((i) => results[i][k].perEcho);
  lines.push(`| ${c.connections} × ${c.size} B | ${per.map(fmt).join(' | ')} | ${per.slice(1).map((p) => `${(per[0] / p).toFixed(2)}×`).join(' | ')} |`);
});
for (const impl of impls) {
  for (const r of results[impl]) {
    lines.push('', `## ${impl}, ${r.connections} × ${r.size} B: ${fmt(r.perEcho)} per echo (${fmt(r.messages)} echoes counted)`, '',
      '| share | function |', '|---|---|', ...r.top.map((t) => `| ${t.share.toFixed(1)} % | \`${t.fn.replace(/\|/g, '\\|')}\` |`));
  }
}
const md = lines.join('\n') + '\n';
if (values.out) writeFileSync(values.out, md);
process.stdout.write(md);
