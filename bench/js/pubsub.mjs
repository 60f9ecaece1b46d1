// Pub/sub benchmark: ours with native fan-out (server.publish), ours with a hand-written send
// loop, and `ws` with a hand-written loop, measured in the same run, server pinned to core 0 and
// the native load generator (bench/loadgen) to core 1, implementations interleaved:
//  - broadcast: the load generator's broadcast scenario (closed loop: the next message goes out
//    when every subscriber has the previous one) → deliveries/s and latency percentiles;
//  - fan-out cost and topic memory: 10,000 idle connections (load generator `connections`), the
//    server's CPU time per broadcast to all of them (including the writes) → ns per subscriber;
//    then (ours) 100,000 subscriptions over 100,000 topics → bytes per subscription, from RSS and
//    from the topic tree's own count.
//
//   node bench/js/pubsub.mjs [--rounds 3] [--seconds 4] [--subscribers 100,500] [--sizes 512,1024]
//                            [--connections 10000] [--skip broadcast|cost]
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';

import { fmt, loadgenPath, median, taskset } from './bench-common.mjs';
import { runLoadgen, Server } from './drive.mjs';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '4' },
    subscribers: { type: 'string', default: '100,500' },
    sizes: { type: 'string', default: '512,1024' },
    connections: { type: 'string', default: '10000' },
    impls: { type: 'string', default: 'sockudo,sockudo-loop,ws' },
    skip: { type: 'string', default: '' },
  },
});
const skip = new Set(values.skip.split(',').filter(Boolean));
const impls = values.impls.split(',');
const startServer = (impl) => new Server(impl).start();

const loadgen = loadgenPath();
console.log(`# pub/sub: ${cpus()[0].model}, node ${process.version}, ${taskset ? 'server on core 0, load generator on core 1' : 'not pinned'}, ${values.rounds} rounds interleaved\n`);

if (!skip.has('broadcast')) {
  console.log(`## broadcast (load generator \`--scenario broadcast\`, closed loop, ${values.seconds} s per round)\n`);
  console.log('| subscribers | size | server | deliveries/s (median) | min – max | vs ws | latency p50 / p99 / p99.9 (µs) |');
  console.log('|---|---|---|---|---|---|---|');
  for (const subscribers of values.subscribers.split(',')) {
    for (const size of values.sizes.split(',')) {
      const results = Object.fromEntries(impls.map((i) => [i, []]));
      for (let r = 0; r < Number(values.rounds); r++) {
        for (const impl of impls) {
          const server = await startServer(impl);
          try {
            const out = await runLoadgen(loadgen, ['--scenario', 'broadcast', '--port', String(server.port), '--subscribers', subscribers, '--size', size,
              '--seconds', values.seconds, '--warmup', '1']).done;
            results[impl].push(out);
            process.stderr.write(`broadcast ${subscribers}×${size} ${impl}: ${fmt(out.deliveries_per_sec)} deliveries/s\n`);
          } finally { await server.stop(); }
        }
      }
      const base = median(results.ws?.map((x) => x.deliveries_per_sec) ?? [1]);
      for (const impl of impls) {
        const d = results[impl].map((x) => x.deliveries_per_sec);
        const lat = (k) => median(results[impl].map((x) => x[k]));
        console.log(`| ${subscribers} | ${size} B | ${impl} | ${fmt(median(d))} | ${fmt(Math.min(...d))} – ${fmt(Math.max(...d))} | ${(median(d) / base).toFixed(2)}× | ${fmt(lat('latency_p50_us'))} / ${fmt(lat('latency_p99_us'))} / ${fmt(lat('latency_p999_us'))} |`);
      }
    }
  }
  console.log('');
}

if (!skip.has('cost')) {
  const n = Number(values.connections);
  const rows = Object.fromEntries(impls.map((i) => [i, []]));
  for (let r = 0; r < Number(values.rounds); r++) {
    for (const impl of impls) {
      const server = await startServer(impl);
      let lg;
      try {
        const base = await server.ask({ cmd: 'memory' });
        let idle;
        const ready = new Promise((resolve) => { idle = resolve; });
        lg = runLoadgen(loadgen, ['--scenario', 'connections', '--port', String(server.port), '--connections', String(n), '--hold', '120'],
          { timeoutMs: 300_000, onLine: (o) => { if (o.phase === 'idle') idle(o); } });
        lg.done.catch(() => {});  // killed below, once measured
        await ready;
        const withConns = await server.ask({ cmd: 'memory' });
        const cost = await server.ask({ cmd: 'publish-cost', count: 50, size: 512 });
        const row = { connections: withConns.connections, nsPerSubscriber: (cost.usPerBroadcast * 1000) / cost.connections,
          rssPerConnection: (withConns.rss - base.rss) / n };
        if (impl === 'sockudo') {
          const sub = await server.ask({ cmd: 'subscribe', topics: 100_000, perConnection: 10 });
          const after = await server.ask({ cmd: 'memory' });
          row.subscriptions = sub.subscriptions;
          row.rssPerSubscription = (after.rss - withConns.rss) / sub.subscriptions;
          row.treePerSubscription = (after.topics.bytes - withConns.topics.bytes) / sub.subscriptions;
          row.topics = after.topics.topics;
        }
        rows[impl].push(row);
        process.stderr.write(`cost ${impl}: ${row.nsPerSubscriber.toFixed(0)} ns per subscriber (${row.connections} connections)\n`);
      } finally {
        lg?.child.kill('SIGKILL');
        await server.stop();
      }
    }
  }
  const base = median(rows.ws?.map((x) => x.nsPerSubscriber) ?? [1]);
  console.log(`## fan-out cost: one 512-byte broadcast to ${fmt(n)} idle connections (server CPU incl. the writes; 50 broadcasts per round)\n`);
  console.log('| server | CPU ns per subscriber (median) | min – max | vs ws | server RSS per idle connection |');
  console.log('|---|---|---|---|---|');
  for (const impl of impls) {
    const c = rows[impl].map((x) => x.nsPerSubscriber);
    console.log(`| ${impl} | ${fmt(median(c))} | ${fmt(Math.min(...c))} – ${fmt(Math.max(...c))} | ${(base / median(c)).toFixed(2)}× less | ${(median(rows[impl].map((x) => x.rssPerConnection)) / 1024).toFixed(1)} KiB |`);
  }
  const s = rows.sockudo;
  if (s?.length && s[0].subscriptions) {
    console.log(`\n## topic memory: ${fmt(s[0].subscriptions)} subscriptions over ${fmt(s[0].topics)} topics, ${fmt(n)} connections\n`);
    console.log(`bytes per subscription: ${median(s.map((x) => x.rssPerSubscription)).toFixed(0)} (RSS), ${median(s.map((x) => x.treePerSubscription)).toFixed(0)} (the topic tree's own count of its containers)`);
  }
}
