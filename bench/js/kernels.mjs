// The JS-facing kernels, called the way an application or `ws` calls them:
//  - mask (out of place): our `mask()` beside bufferutil's native `mask()` and the plain-JS loop
//    `ws` uses without bufferutil (bufferutil/fallback.js, the same code);
//  - unmask (in place): ours beside bufferutil's and the JS loop;
//  - UTF-8 validation: our `isValidUTF8()` beside `buffer.isUtf8()` (what `ws` 8 calls on Node 20).
// Contenders alternate within each round; each figure is GB/s of one timed round (~40 ms), 7
// rounds. Prints a Markdown table; `--json FILE` writes every round (bench/run.mjs reads it).
//
//   node bench/js/kernels.mjs [--rounds 7] [--json FILE]
import { isUtf8 } from 'node:buffer';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';

const require = createRequire(import.meta.url);
const ours = require('../../dist/cjs/index.js');
const bufferutil = require('bufferutil');
const jsLoop = require('bufferutil/fallback');

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '7' }, json: { type: 'string' }, target: { type: 'string', default: '0.04' } } });
const rounds = Number(values.rounds);
const target = Number(values.target);
const sizes = [16, 125, 1024, 16384, 65536, 1 << 20];
const human = (n) => (n >= 1 << 20 ? `${n >> 20} MiB` : n >= 1024 ? `${n >> 10} KiB` : `${n} B`);
const key = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);

/** Calibrates `fn(iterations)` to ~target seconds; returns the iteration count. */
function calibrate(fn) {
  let iters = 1;
  for (;;) {
    const t0 = process.hrtime.bigint();
    fn(iters);
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    if (s > target / 4 || iters > 2 ** 30) return Math.max(1, Math.round(iters * target / Math.max(s, 1e-9)));
    iters *= 4;
  }
}

function timeRound(fn, iters, bytes) {
  const t0 = process.hrtime.bigint();
  fn(iters);
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  return (bytes * iters) / s / 1e9;
}

/** One row: contenders alternate within each round after a calibration (which is the warm-up). */
function row(group, title, bytes, contenders) {
  const iters = Object.fromEntries(Object.entries(contenders).map(([name, fn]) => [name, calibrate(fn)]));
  const results = Object.fromEntries(Object.keys(contenders).map((name) => [name, []]));
  for (let r = 0; r < rounds; r++) {
    const names = Object.keys(contenders);
    if (r % 2) names.reverse();
    for (const name of names) results[name].push(timeRound(contenders[name], iters[name], bytes));
  }
  return { group, title, bytes, results };
}

let sink = 0;
const rows = [];
for (const n of sizes) {
  const src = Buffer.alloc(n, 0x61);
  const out = Buffer.alloc(n);
  rows.push(row('mask', `mask ${human(n)}`, n, {
    sockudo: (it) => { for (let i = 0; i < it; i++) ours.mask(src, key, out, 0); sink ^= out[0]; },
    bufferutil: (it) => { for (let i = 0; i < it; i++) bufferutil.mask(src, key, out, 0, n); sink ^= out[0]; },
    'js loop': (it) => { for (let i = 0; i < it; i++) jsLoop.mask(src, key, out, 0, n); sink ^= out[0]; },
  }));
}
for (const n of sizes) {
  const buf = Buffer.alloc(n, 0x61);
  rows.push(row('unmask', `unmask ${human(n)}`, n, {
    sockudo: (it) => { for (let i = 0; i < it; i++) ours.unmask(buf, key); sink ^= buf[0]; },
    bufferutil: (it) => { for (let i = 0; i < it; i++) bufferutil.unmask(buf, key); sink ^= buf[0]; },
    'js loop': (it) => { for (let i = 0; i < it; i++) jsLoop.unmask(buf, key); sink ^= buf[0]; },
  }));
}
const texts = { ASCII: 'The quick brown fox jumps over the lazy dog. ', mixed: 'héllo wörld κόσμε 日本語 💩 ' };
for (const [name, unit] of Object.entries(texts)) {
  for (const n of sizes) {
    let text = Buffer.from(unit.repeat(Math.ceil(n / Buffer.byteLength(unit)) + 1)).subarray(0, n);
    while (!isUtf8(text)) text = text.subarray(0, text.length - 1);  // do not end inside a code point
    rows.push(row('utf8', `UTF-8 ${name} ${human(n)}`, text.length, {
      sockudo: (it) => { let ok = true; for (let i = 0; i < it; i++) ok = ours.isValidUTF8(text) && ok; sink ^= ok ? 1 : 2; },
      'buffer.isUtf8': (it) => { let ok = true; for (let i = 0; i < it; i++) ok = isUtf8(text) && ok; sink ^= ok ? 1 : 2; },
    }));
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const cell = (xs) => `${median(xs).toFixed(2)} (${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)})`;
let group = '';
for (const r of rows) {
  if (r.group !== group) {
    group = r.group;
    const names = Object.keys(r.results);
    console.log(`\n## ${group}, GB/s: median (min–max) of ${rounds} rounds\n\n| case | ${names.join(' | ')} |\n|---|${names.map(() => '---|').join('')}`);
  }
  console.log(`| ${r.title} | ${Object.values(r.results).map(cell).join(' | ')} |`);
}
if (values.json) writeFileSync(values.json, JSON.stringify({ unit: 'GB/s', node: process.version, sink, rows }) + '\n');
