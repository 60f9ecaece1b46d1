// WebSocket over HTTP/2 (issue 15) and HTTP/3 (issue 20, `--http3`) benchmarks, with the native
// load generator on core 1 and each server its own process on core 0, servers interleaved round
// by round:
//  - echo: 100 and 1,000 WebSockets × 512 B and 16 KiB, one message in flight each, as streams of
//    HTTP/2 connections (`--http2`, 100 streams per connection) against our server, beside the
//    same counts of HTTP/1.1 connections to our server and to `ws`;
//  - idle memory: server RSS growth per idle WebSocket, as an HTTP/2 stream and as an HTTP/1.1
//    connection (ours), and `ws`'s HTTP/1.1 connection.
//  - handshakes: new WebSockets per second, each on a connection of its own (a full TCP + TLS, or
//    QUIC, handshake per WebSocket), and as streams of one connection.
// Cleartext (h2c prior knowledge, HTTP/1.1 upgrades) by default; `--tls`: the same over TLS
// (ALPN h2 vs http/1.1; `ws` on Node's https), with a test certificate made here; `--http3`: our
// HTTP/3 server (QUIC, 100 streams per connection) beside the `--tls` cases.
//   node bench/js/http2.mjs [--rounds 3] [--seconds 3] [--idle 2000] [--quick] [--tls | --http3]
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
    http3: { type: 'boolean', default: false },
  },
});
const http3 = values.http3;
const tls = values.tls || http3;
if (tls) makeBenchCertificate('sockudo-ws-bench-h2-');  // for every server process of this run
const quick = values.quick;
const rounds = quick ? 1 : Number(values.rounds);
const seconds = quick ? '1' : values.seconds;
const idle = quick ? 200 : Number(values.idle);
const progress = (m) => process.stderr.write(`${m}\n`);
const loadgen = loadgenPath();

// [row label, server impl, extra load-generator arguments, arguments for one connection per WebSocket]
const CASES = http3 ? [
  ['ours, HTTP/3 streams over QUIC (100 per connection)', 'sockudo-h3', ['--http3', '--streams', '100'], ['--http3', '--streams', '1']],
  ['ours, HTTP/2 streams over TLS (100 per connection)', 'sockudo-h2-tls', ['--http2', '--tls', '--streams', '100'], ['--http2', '--tls', '--streams', '1']],
  ['ours, HTTP/1.1 over TLS', 'sockudo-tls', ['--tls']],
  ['ws, HTTP/1.1 over https', 'ws-https', ['--tls']],
] : tls ? [
  ['ours, HTTP/2 streams over TLS (100 per connection)', 'sockudo-h2-tls', ['--http2', '--tls', '--streams', '100']],
  ['ours, HTTP/1.1 over TLS', 'sockudo-tls', ['--tls']],
  ['ws, HTTP/1.1 over https', 'ws-https', ['--tls']],
] : [
  ['ours, HTTP/2 streams (100 per connection)', 'sockudo-h2', ['--http2', '--streams', '100']],
  ['ours, HTTP/1.1 connections', 'sockudo', []],
  ['ws, HTTP/1.1 connections', 'ws', []],
];

// argsFor(i): the scenario's arguments for case i (null: skip it); extraFor(i): the case's own.
async function runCase(argsFor, extraFor = (i) => CASES[i][2]) {
  const runs = CASES.map(() => []);
  for (let r = 0; r < rounds; r++) {
    for (let j = 0; j < CASES.length; j++) {
      const i = (j + r) % CASES.length;
      const [label, impl] = CASES[i];
      const args = argsFor(i);
      if (args === null) continue;
      const server = await new Server(impl).start();
      try {
        runs[i].push(await measure(loadgen, server, [...args, ...extraFor(i)]));
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

const out = [`# WebSocket over HTTP/${http3 ? '3' : '2'}; ${cpus()[0].model.trim()}, ${cpus().length} cores, node ${process.version}`, '',
  `Command: \`node bench/js/http2.mjs ${process.argv.slice(2).join(' ')}\`. ${taskset ? 'Servers on core 0, load generator on core 1 (taskset).' : 'Not pinned (taskset missing).'} ` +
  `${rounds} round(s), servers interleaved; medians with min–max. ${http3 ? 'TLS 1.3, ECDSA P-256 certificate; QUIC v1 with ALPN h3, or TCP with ALPN h2 or http/1.1.' : tls ? 'TLS 1.3, ECDSA P-256 certificate; ALPN h2 or http/1.1.' : 'Cleartext: HTTP/2 by prior knowledge, HTTP/1.1 upgrades.'}`, '',
  '## Echo (messages/s, one in flight per WebSocket)', '',
  http3 ? `| case | ${CASES.map((c) => c[0]).join(' | ')} | h3 / h2 | h3 / h1 (ours) | h3 / ws |`
    : `| case | ${CASES.map((c) => c[0]).join(' | ')} | h2 / h1 (ours) | h2 / ws |`,
  `|---|${CASES.map(() => '---|').join('')}---|---|${http3 ? '---|' : ''}`];
for (const connections of quick ? [100] : [100, 1000]) {
  for (const size of quick ? [512] : [512, 16384]) {
    const title = `${connections} × ${size >= 1024 ? `${size / 1024} KiB` : `${size} B`}`;
    progress(`echo ${title}`);
    const runs = await runCase(() => ['--scenario', 'echo', '--connections', String(connections), '--size', String(size), '--binary',
      '--seconds', seconds, '--warmup', quick ? '0.3' : '1']);
    const rate = runs.map((r) => med(r, (x) => x.rate));
    const ratios = http3 ? [ratio(rate[0], rate[1]), ratio(rate[0], rate[2]), ratio(rate[0], rate[3])] : [ratio(rate[0], rate[1]), ratio(rate[0], rate[2])];
    out.push(`| ${title} | ${runs.map((r, i) => `${k(rate[i])} (${spread(r, (x) => x.rate)})`).join(' | ')} | ${ratios.join(' | ')} |`);
  }
}
const handshakes = quick ? 200 : 2000;
out.push('', `## Handshakes (${handshakes.toLocaleString('en-US')} WebSockets opened, ≤200 pending)`, '',
  '| case | WebSockets/s, one connection each (a full TCP + TLS or QUIC handshake per WebSocket) | WebSockets/s as streams (100 per connection) |', '|---|---|---|');
progress('handshakes');
const base = ['--scenario', 'connections', '--connections', String(handshakes), '--hold', '0'];
const own = await runCase(() => base, (i) => CASES[i][3] ?? CASES[i][2]);
const multiplexed = await runCase((i) => (CASES[i][3] ? base : null));
own.forEach((r, i) => out.push(`| ${CASES[i][0].replace(/ \(100 per connection\)/, '')} | ${k(med(r, (x) => x.handshakes_per_sec))} (${spread(r, (x) => x.handshakes_per_sec)}) | ${
  CASES[i][3] ? `${k(med(multiplexed[i], (x) => x.handshakes_per_sec))} (${spread(multiplexed[i], (x) => x.handshakes_per_sec)})` : '–'} |`));
out.push('', `## Idle memory (${idle.toLocaleString('en-US')} WebSockets)`, '', '| case | RSS per idle WebSocket |', '|---|---|');
progress('idle memory');
const idleRuns = await runCase(() => ['--scenario', 'connections', '--connections', String(idle), '--hold', '1']);
idleRuns.forEach((r, i) => out.push(`| ${CASES[i][0]} | ${k(med(r, (x) => x.rss_per_connection_bytes))} B (${spread(r, (x) => x.rss_per_connection_bytes)}) |`));
console.log(out.join('\n'));
