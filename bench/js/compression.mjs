// permessage-deflate benchmark, ours (dedicated and shared) beside `ws` with perMessageDeflate,
// measured in the same run, implementations interleaved round by round, server pinned to core 0
// and load on core 1; every message is compressed on both sides (threshold 0):
//  - throughput: the native load generator (bench/loadgen, --deflate: it compresses what it sends
//    and inflates what it gets) drives an echo of JSON-like text → messages/s, server CPU µs/msg;
//  - memory: N `ws` clients with perMessageDeflate each exchange one message and stay open →
//    server RSS per connection, and for ours the zlib-ng bytes the addon counts per connection.
//
//   node bench/js/compression.mjs [--rounds 3] [--seconds 4] [--connections 100] [--size 512]
//                                 [--memory-connections 1000] [--impls sockudo-dedicated,sockudo-shared,ws]
import { spawn } from 'node:child_process';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { cpuSeconds, fmt, here, loadgenPath, median, pinned, startServer as start, taskset } from './bench-common.mjs';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '4' },
    connections: { type: 'string', default: '100' },
    size: { type: 'string', default: '512' },
    'memory-connections': { type: 'string', default: '1000' },
    impls: { type: 'string', default: 'sockudo-dedicated,sockudo-shared,ws' },
    skip: { type: 'string', default: '' },
  },
});
const skip = new Set(values.skip.split(',').filter(Boolean));
const impls = values.impls.split(',');
const startServer = (impl) => start('compression-server.mjs', impl, { ipc: true, nodeArgs: ['--expose-gc'] });

const ask = (child) => new Promise((resolve) => { child.once('message', resolve); child.send({ memory: true }); });

async function throughputRound(impl, loadgen) {
  const { child, port } = await startServer(impl);
  try {
    const [cmd, args] = pinned(1, [loadgen, '--scenario', 'echo', '--port', String(port), '--connections', values.connections,
      '--size', values.size, '--seconds', values.seconds, '--warmup', '1', '--deflate']);
    const lg = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let cpu0 = NaN;
    let cpu1 = NaN;
    // Server CPU over the measured window: sampled when the load generator reports it started and ended measuring.
    lg.stderr.on('data', (d) => {
      const s = String(d);
      if (Number.isNaN(cpu0) && /measur/i.test(s)) cpu0 = cpuSeconds(child.pid);
    });
    lg.stdout.on('data', (d) => (out += d));
    const code = await new Promise((res) => lg.on('exit', res));
    cpu1 = cpuSeconds(child.pid);
    if (code !== 0) throw new Error(`load generator failed (${code})`);
    const r = JSON.parse(out.trim().split('\n').pop());
    if (r.errors) throw new Error(`${impl}: the load generator saw ${r.errors} bad echoes`);
    return { rate: r.rate, cpuUsPerMsg: ((cpu1 - cpu0) / r.messages) * 1e6 };
  } finally {
    child.kill('SIGKILL');
  }
}

async function memoryRound(impl) {
  const { child, port } = await startServer(impl);
  try {
    const before = await ask(child);
    const [cmd, args] = pinned(1, [process.execPath, join(here, 'compression-clients.mjs'), '--port', String(port),
      '--connections', values['memory-connections']]);
    const clients = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let line = '';
    await new Promise((resolve, reject) => {
      clients.stdout.on('data', (d) => { line += d; if (line.includes('ready')) resolve(); });
      clients.on('exit', (code) => reject(new Error(`clients exited (${code})`)));
    });
    const after = await ask(child);
    clients.kill('SIGKILL');
    const n = Number(values['memory-connections']);
    return {
      rssPerConn: (after.rss - before.rss) / n,
      zlibPerConn: after.deflate ? (after.deflate.bytes - before.deflate.bytes) / n : NaN,
      extensions: line.trim().split(' ').slice(2).join(' '),
    };
  } finally {
    child.kill('SIGKILL');
  }
}

const kib = (x) => (Number.isNaN(x) ? 'n/a' : `${(x / 1024).toFixed(1)}`);
console.log(`# permessage-deflate: every message compressed both ways; ${cpus()[0].model}, node ${process.version}`);
console.log(`# ${taskset ? 'server on core 0, load on core 1' : 'not pinned'}; ${values.rounds} rounds, implementations interleaved\n`);

if (!skip.has('throughput')) {
  const loadgen = loadgenPath();
  const results = Object.fromEntries(impls.map((i) => [i, []]));
  for (let r = 0; r < Number(values.rounds); r++) {
    for (const impl of impls) {
      results[impl].push(await throughputRound(impl, loadgen));
      process.stderr.write(`throughput round ${r + 1} ${impl}: ${fmt(results[impl].at(-1).rate)} msg/s\n`);
    }
  }
  const base = median(results.ws?.map((x) => x.rate) ?? [1]);
  console.log(`## compressed echo: ${values.connections} connections, ${values.size}-byte JSON text, 1 in flight, ${values.seconds} s per round\n`);
  console.log('| server | messages/s (median) | min – max | vs ws | server CPU µs/message |');
  console.log('|---|---|---|---|---|');
  for (const impl of impls) {
    const rates = results[impl].map((x) => x.rate);
    console.log(`| ${impl} | ${fmt(median(rates))} | ${fmt(Math.min(...rates))} – ${fmt(Math.max(...rates))} | ${(median(rates) / base).toFixed(2)}× | ${median(results[impl].map((x) => x.cpuUsPerMsg)).toFixed(2)} |`);
  }
  console.log('');
}

if (!skip.has('memory')) {
  const results = Object.fromEntries(impls.map((i) => [i, []]));
  for (let r = 0; r < Number(values.rounds); r++) {
    for (const impl of impls) {
      results[impl].push(await memoryRound(impl));
      process.stderr.write(`memory round ${r + 1} ${impl}: ${kib(results[impl].at(-1).rssPerConn)} KiB RSS/connection\n`);
    }
  }
  console.log(`## memory: ${values['memory-connections']} idle connections after one compressed message each way\n`);
  console.log('| server | negotiated | RSS per connection (KiB, median) | min – max | zlib-ng per connection (KiB) |');
  console.log('|---|---|---|---|---|');
  for (const impl of impls) {
    const rss = results[impl].map((x) => x.rssPerConn);
    console.log(`| ${impl} | ${results[impl][0].extensions} | ${kib(median(rss))} | ${kib(Math.min(...rss))} – ${kib(Math.max(...rss))} | ${kib(median(results[impl].map((x) => x.zlibPerConn)))} |`);
  }
}
