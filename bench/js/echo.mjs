// Echo throughput, ours vs `ws`, measured in the same run: each round starts each server pinned
// to core 0 and the load generator (bench/js/loadgen.mjs, library-independent) pinned to core 1,
// implementations interleaved round by round. Prints medians, min–max and the ratio to `ws`,
// the server's CPU time per message (from /proc, over the measured window: an efficiency figure
// that holds even when the load generator is the bottleneck), how busy the server's core was
// (near 100 %: the server is the bottleneck), and each server's RSS after the run.
//
//   npm run bench:echo -- [--rounds 5] [--seconds 4] [--connections 64] [--size 64] [--pipeline 8]
import { spawn } from 'node:child_process';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { cpuSeconds, here, median, pinned, rssKiB, startServer as start, taskset } from './bench-common.mjs';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    seconds: { type: 'string', default: '4' },
    connections: { type: 'string', default: '64' },
    size: { type: 'string', default: '64' },
    pipeline: { type: 'string', default: '8' },
    impls: { type: 'string', default: 'sockudo,ws' },
  },
});
const startServer = (impl) => start('echo-server.mjs', impl);

async function round(impl) {
  const { child, port } = await startServer(impl);
  try {
    const [cmd, args] = pinned(1, [process.execPath, join(here, 'loadgen.mjs'), '--port', String(port),
      '--connections', values.connections, '--size', values.size, '--pipeline', values.pipeline, '--seconds', values.seconds]);
    const lg = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    let cpu0 = NaN;
    let cpu1 = NaN;
    lg.stdout.on('data', (d) => {
      out += d;
      if (Number.isNaN(cpu0) && out.includes('measuring')) cpu0 = cpuSeconds(child.pid);
      if (Number.isNaN(cpu1) && out.includes('measured')) cpu1 = cpuSeconds(child.pid);
    });
    const code = await new Promise((res) => lg.on('exit', res));
    if (code !== 0) throw new Error(`load generator failed (${code})`);
    const result = JSON.parse(out.trim().split('\n').pop());
    return { rate: result.rate, rss: rssKiB(child.pid), cpuUsPerMsg: ((cpu1 - cpu0) / result.messages) * 1e6, cpuShare: (cpu1 - cpu0) / result.seconds };
  } finally {
    child.kill('SIGKILL');
  }
}

const impls = values.impls.split(',');
const results = Object.fromEntries(impls.map((i) => [i, []]));
for (let r = 0; r < Number(values.rounds); r++) {
  for (const impl of impls) results[impl].push(await round(impl));
}
const base = median(results.ws?.map((x) => x.rate) ?? [1]);
console.log(`# echo: ${values.connections} connections, ${values.size}-byte text messages, ${values.pipeline} in flight per connection`);
console.log(`# ${cpus()[0].model}, node ${process.version}, ${values.rounds} rounds × ${values.seconds} s, ${taskset ? 'server on core 0, load generator on core 1' : 'not pinned'}\n`);
console.log('| server | messages/s (median) | min – max | vs ws | server CPU µs/message | server CPU busy | server RSS (MiB) |');
console.log('|---|---|---|---|---|---|---|');
for (const impl of impls) {
  const rates = results[impl].map((x) => x.rate);
  const rss = median(results[impl].map((x) => x.rss)) / 1024;
  const us = median(results[impl].map((x) => x.cpuUsPerMsg));
  const busy = median(results[impl].map((x) => x.cpuShare));
  console.log(`| ${impl} | ${Math.round(median(rates)).toLocaleString('en-US')} | ${Math.round(Math.min(...rates)).toLocaleString('en-US')} – ${Math.round(Math.max(...rates)).toLocaleString('en-US')} | ${(median(rates) / base).toFixed(2)}× | ${us.toFixed(2)} | ${Math.round(busy * 100)} % | ${rss.toFixed(1)} |`);
}
