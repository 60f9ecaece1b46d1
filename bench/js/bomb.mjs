// Decompression bombs beside a well-behaved client (issue 13, item 1): how much one connection's
// inflate work hurts everyone else. Per server (ours with dedicated compression, `ws` with
// perMessageDeflate, each with its library's default message limit: 64 MiB / 100 MiB), in the same
// run, interleaved round by round, server pinned to core 0 and the load on core 1:
//  - quiet: the native load generator's open-loop latency scenario (a fixed rate of small echoes
//    over a few connections, latency from the scheduled send time) with nothing else running;
//  - attacked: the same while --peers hostile peers (bench/js/bomb-peer.mjs) send 128 MiB-of-zeros
//    DEFLATE bombs back to back, reconnecting after each 1009.
// Reports the good client's p50 / p99 / max round trip, and the bombs the server got through.
//   node bench/js/bomb.mjs [--rounds 3] [--seconds 5] [--rate 2000] [--connections 10] [--peers 2]
//                          [--impls sockudo-dedicated,ws]
import { spawn } from 'node:child_process';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { here, loadgenPath, median, pinned, startServer, taskset } from './bench-common.mjs';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '5' },
    rate: { type: 'string', default: '2000' },
    connections: { type: 'string', default: '10' },
    peers: { type: 'string', default: '2' },
    impls: { type: 'string', default: 'sockudo-dedicated,ws' },
  },
});
const impls = values.impls.split(',');

function latency(loadgen, port) {
  const [cmd, args] = pinned(1, [loadgen, '--scenario', 'latency', '--port', String(port), '--rate', values.rate,
    '--connections', values.connections, '--seconds', values.seconds, '--warmup', '1']);
  const lg = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  lg.stdout.on('data', (d) => (out += d));
  return new Promise((resolve, reject) => lg.on('exit', (code) => {
    const line = out.trim().split('\n').pop();
    const r = line ? JSON.parse(line) : null;
    if (r === null || r.latency_p50_us === undefined) return reject(new Error(`load generator failed (${code}): ${line}`));
    resolve(r);
  }));
}

function startBombers(port) {
  const [cmd, args] = pinned(1, [process.execPath, join(here, 'bomb-peer.mjs'), '--port', String(port), '--peers', values.peers]);
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let bombs = 0;
  let out = '';
  const ready = new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('ready')) resolve();
      const m = /bombs (\d+)\n(?![\s\S]*bombs)/.exec(out);
      if (m) bombs = Number(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`bomb peers exited (${code})`)));
  });
  return { child, ready, bombs: () => bombs };
}

async function round(impl, loadgen) {
  const { child, port } = await startServer('compression-server.mjs', impl);
  try {
    const quiet = await latency(loadgen, port);
    const bombers = startBombers(port);
    await bombers.ready;
    const before = bombers.bombs();
    const attacked = await latency(loadgen, port);
    const bombs = bombers.bombs() - before;
    bombers.child.kill('SIGKILL');
    return { quiet, attacked, bombs };
  } finally {
    child.kill('SIGKILL');
  }
}

const loadgen = loadgenPath();
const results = Object.fromEntries(impls.map((i) => [i, []]));
for (let r = 0; r < Number(values.rounds); r++) {
  for (const impl of impls) {
    const res = await round(impl, loadgen);
    results[impl].push(res);
    process.stderr.write(`round ${r + 1} ${impl}: quiet p50 ${res.quiet.latency_p50_us.toFixed(0)} µs, attacked p50 ${res.attacked.latency_p50_us.toFixed(0)} µs p99 ${res.attacked.latency_p99_us.toFixed(0)} µs, ${res.bombs} bombs\n`);
  }
}

const ms = (us) => (us / 1000).toFixed(us < 10_000 ? 2 : 0);
const med = (impl, f) => median(results[impl].map(f));
const spread = (impl, f) => { const xs = results[impl].map(f); return `${ms(Math.min(...xs))}–${ms(Math.max(...xs))}`; };
console.log(`# Decompression bombs beside a good client; ${cpus()[0].model}, node ${process.version}`);
console.log(`# ${taskset ? 'server on core 0; load generator and bomb peers on core 1' : 'not pinned'}; ${values.rounds} rounds, servers interleaved`);
console.log(`# good client: ${values.rate} msg/s open loop over ${values.connections} connections, 13 B text, ${values.seconds} s; attack: ${values.peers} peers, 128 MiB-of-zeros bombs back to back\n`);
console.log('| server | quiet p50 / p99 (ms) | attacked p50 (ms, median; min–max) | attacked p99 (ms) | attacked max (ms) | bombs per round |');
console.log('|---|---|---|---|---|---|');
for (const impl of impls) {
  console.log(`| ${impl} | ${ms(med(impl, (x) => x.quiet.latency_p50_us))} / ${ms(med(impl, (x) => x.quiet.latency_p99_us))} | ` +
    `${ms(med(impl, (x) => x.attacked.latency_p50_us))} (${spread(impl, (x) => x.attacked.latency_p50_us)}) | ` +
    `${ms(med(impl, (x) => x.attacked.latency_p99_us))} (${spread(impl, (x) => x.attacked.latency_p99_us)}) | ` +
    `${ms(med(impl, (x) => x.attacked.latency_max_us))} | ${med(impl, (x) => x.bombs)} |`);
}
