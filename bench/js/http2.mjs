// WebSocket over HTTP/2 benchmarks (issue 15), with the native load generator on core 1 and each
// server its own process on core 0, servers interleaved round by round:
//  - echo: 100 and 1,000 WebSockets × 512 B and 16 KiB, one message in flight each, as streams of
//    HTTP/2 connections (`--http2`, 100 streams per connection) against our server, beside the
//    same counts of HTTP/1.1 connections to our server and to `ws`;
//  - idle memory: server RSS growth per idle WebSocket, as an HTTP/2 stream and as an HTTP/1.1
//    connection (ours), and `ws`'s HTTP/1.1 connection.
// Cleartext (h2c prior knowledge, HTTP/1.1 upgrades) by default; `--tls`: the same over TLS
// (ALPN h2 vs http/1.1; `ws` on Node's https), with a test certificate made here.
//   node bench/js/http2.mjs [--rounds 3] [--seconds 3] [--idle 2000] [--quick] [--tls]
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';

import { loadgenPath, makeBenchCertificate, median, taskset } from './bench-common.mjs';
import { measure, Server } from './drive.mjs';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '3' },
    idle: { type: 'string', default: '2000' },
    quick: { type: 'boolean', default: false },
    tls: { type: 'boolean', default: false },
  },
});
const tls = values.tls;
if (tls) makeBenchCertificate('sockudo-ws-bench-h2-');  // for every server process of this run
const quick = values.quick;
const rounds = quick ? 1 : Number(values.rounds);
const seconds = quick ? '1' : values.seconds;
const idle = quick ? 200 : Number(values.idle);
const progress = (m) => process.stderr.write(`${m}\n`);
const loadgen = loadgenPath();

// [row label, server impl, extra load-generator arguments]
const CASES = tls ? [
  ['ours, HTTP/2 streams over TLS (100 per connection)', 'sockudo-h2-tls', ['--http2', '--tls', '--streams', '100']],
  ['ours, HTTP/1.1 over TLS', 'sockudo-tls', ['--tls']],
  ['ws, HTTP/1.1 over https', 'ws-https', ['--tls']],
] : [
  ['ours, HTTP/2 streams (100 per connection)', 'sockudo-h2', ['--http2', '--streams', '100']],
  ['ours, HTTP/1.1 connections', 'sockudo', []],
  ['ws, HTTP/1.1 connections', 'ws', []],
];

async function runCase(argsFor) {
  const runs = CASES.map(() => []);
  for (let r = 0; r < rounds; r++) {
    for (let j = 0; j < CASES.length; j++) {
      const i = (j + r) % CASES.length;
      const [label, impl, extra] = CASES[i];
      const server = await new Server(impl).start();
      try {
        runs[i].push(await measure(loadgen, server, [...argsFor(i), ...extra]));
      } catch (error) {
        progress(`  ${label}: ${error.message}`);
      } finally {
        await server.stop();
      }
    }
  }
  return runs;
}

const med = (xs, f) => (xs.length ? median(xs.map(f)) : NaN);
const spread = (xs, f) => (xs.length ? `${k(Math.min(...xs.map(f)))}–${k(Math.max(...xs.map(f)))}` : '–');
const k = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '–');
const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}×` : '–');

const out = [`# WebSocket over HTTP/2; ${cpus()[0].model.trim()}, ${cpus().length} cores, node ${process.version}`, '',
  `Command: \`node bench/js/http2.mjs ${process.argv.slice(2).join(' ')}\`. ${taskset ? 'Servers on core 0, load generator on core 1 (taskset).' : 'Not pinned (taskset missing).'} ` +
  `${rounds} round(s), servers interleaved; medians with min–max. ${tls ? 'TLS 1.3, ECDSA P-256 certificate; ALPN h2 or http/1.1.' : 'Cleartext: HTTP/2 by prior knowledge, HTTP/1.1 upgrades.'}`, '',
  '## Echo (messages/s, one in flight per WebSocket)', '',
  `| case | ${CASES.map((c) => c[0]).join(' | ')} | h2 / h1 (ours) | h2 / ws |`, `|---|${CASES.map(() => '---|').join('')}---|---|`];
for (const connections of quick ? [100] : [100, 1000]) {
  for (const size of quick ? [512] : [512, 16384]) {
    const title = `${connections} × ${size >= 1024 ? `${size / 1024} KiB` : `${size} B`}`;
    progress(`echo ${title}`);
    const runs = await runCase(() => ['--scenario', 'echo', '--connections', String(connections), '--size', String(size), '--binary',
      '--seconds', seconds, '--warmup', quick ? '0.3' : '1']);
    const rate = runs.map((r) => med(r, (x) => x.rate));
    out.push(`| ${title} | ${runs.map((r, i) => `${k(rate[i])} (${spread(r, (x) => x.rate)})`).join(' | ')} | ${ratio(rate[0], rate[1])} | ${ratio(rate[0], rate[2])} |`);
  }
}
out.push('', `## Idle memory (${idle.toLocaleString('en-US')} WebSockets)`, '', '| case | RSS per idle WebSocket |', '|---|---|');
progress('idle memory');
const idleRuns = await runCase(() => ['--scenario', 'connections', '--connections', String(idle), '--hold', '1']);
idleRuns.forEach((r, i) => out.push(`| ${CASES[i][0]} | ${k(med(r, (x) => x.rss_per_connection_bytes))} B (${spread(r, (x) => x.rss_per_connection_bytes)}) |`));
console.log(out.join('\n'));
