// Cross-node publish through Redis (redisAdapter) vs one node. A redis-server on 127.0.0.1 (a free
// port, no persistence, stopped by PID) and N node processes (bench/js/cluster-server.mjs) share
// core 0; this process — one publisher and S subscribers spread evenly over the nodes — runs on
// core 1. Closed loop: the publisher (a client of node 0) sends "pub", every subscriber receives
// it (ws.publish: all but the sender, on every node), then the next. Reported: deliveries/s,
// latency from the publish to each delivery (p50 / p99, µs), and bus messages per publish
// (node 0's adapter `published` / publishes: must be 1) with deliveries from the bus per node.
//
//   node bench/js/cluster.mjs [--nodes 3] [--subscribers 300,3000] [--seconds 4] [--size 100]
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as net from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { fmt, freePort, here, pinned, taskset } from './bench-common.mjs';

const require = createRequire(import.meta.url);
const { connect } = require('sockudo-ws');
const { values } = parseArgs({ options: {
  nodes: { type: 'string', default: '3' }, subscribers: { type: 'string', default: '300,3000' },
  seconds: { type: 'string', default: '4' }, size: { type: 'string', default: '100' },
} });
if (taskset) spawnSync('taskset', ['-cp', '1', String(process.pid)], { stdio: 'ignore' });
const REDIS = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((p) => existsSync(p));
if (!REDIS) throw new Error('redis-server is absent (apt-get install redis-server)');
const padding = 'x'.repeat(Math.max(0, Number(values.size) - 8));


async function startRedis() {
  const port = await freePort();
  const [cmd, args] = pinned(0, [REDIS, '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', mkdtempSync(join(tmpdir(), 'bench-redis-'))]);
  const child = spawn(cmd, args, { stdio: 'ignore' });
  for (let i = 0; ; i++) {
    const ok = await new Promise((resolve) => { const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); }); s.on('error', () => resolve(false)); });
    if (ok) break;
    if (i > 200) throw new Error('redis-server did not start');
    await new Promise((r) => setTimeout(r, 25));
  }
  return { child, url: `redis://127.0.0.1:${port}` };
}

function startNode(url) {
  return new Promise((resolve, reject) => {
    const [cmd, args] = pinned(0, [process.execPath, join(here, 'cluster-server.mjs'), 'node']);
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...(url ? { REDIS_URL: url } : {}) } });
    let out = '';
    const stats = [];
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening (\d+)/.exec(out);
      if (m && !child.port) { child.port = Number(m[1]); resolve(child); }
      for (const s of out.matchAll(/stats (\{.*\})\n/g)) stats.push(JSON.parse(s[1]));
      out = out.replace(/stats \{.*\}\n/g, '');
    });
    child.stats = async () => { const n = stats.length; child.kill('SIGUSR2'); while (stats.length === n) await new Promise((r) => setTimeout(r, 10)); return stats.at(-1); };
    child.on('exit', (code) => reject(new Error(`node exited (${code})`)));
  });
}

async function run(nodeCount, subscribers, withRedis) {
  const redis = withRedis ? await startRedis() : null;
  const nodes = [];
  for (let i = 0; i < nodeCount; i++) nodes.push(await startNode(redis?.url));
  const clients = [];
  try {
    let pending = 0; let wake = null; let sentAt = 0n; const latencies = [];
    for (let i = 0; i < subscribers; i += 250) {
      clients.push(...await Promise.all(Array.from({ length: Math.min(250, subscribers - i) }, async (_, k) => {
        const ws = await connect(`ws://127.0.0.1:${nodes[(i + k) % nodeCount].port}/`);
        await new Promise((resolve) => { ws.once('message', resolve); ws.send('sub t'); });
        ws.on('message', () => { latencies.push(Number(process.hrtime.bigint() - sentAt) / 1000); if (--pending === 0) wake(); });
        return ws;
      })));
    }
    const publisher = await connect(`ws://127.0.0.1:${nodes[0].port}/`);
    await new Promise((r) => setTimeout(r, 300)); // every node's Redis subscription
    const loop = async (until) => {
      let rounds = 0;
      while (Date.now() < until) {
        pending = subscribers;
        const arrived = new Promise((r) => (wake = r));
        sentAt = process.hrtime.bigint();
        publisher.send(`pub t ${rounds}${padding}`);
        await arrived;
        rounds++;
      }
      return rounds;
    };
    await loop(Date.now() + 1000);
    latencies.length = 0;
    const before = withRedis ? await nodes[0].stats() : null;
    const t0 = process.hrtime.bigint();
    const rounds = await loop(Date.now() + Number(values.seconds) * 1000);
    const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
    let bus = '—';
    if (withRedis) {
      const after = await nodes[0].stats();
      const received = await Promise.all(nodes.slice(1).map(async (n) => (await n.stats()).received));
      bus = `${((after.published - before.published) / rounds).toFixed(2)} (received by the other nodes: ${received.map(fmt).join(', ')} in all)`;
    }
    latencies.sort((a, b) => a - b);
    const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))];
    publisher.terminate();
    return { deliveries: (rounds * subscribers) / elapsed, p50: pct(0.5), p99: pct(0.99), bus };
  } finally {
    for (const c of clients) c.terminate();
    for (const n of nodes) n.kill('SIGKILL');
    redis?.child.kill('SIGKILL');
  }
}

const nodeCount = Number(values.nodes);
console.log(`# Cluster publish: ${cpus()[0].model}, node ${process.version}, ${taskset ? 'redis + nodes on core 0, clients on core 1' : 'not pinned'}, ${values.seconds} s per case, ~${values.size} B messages\n`);
console.log('| setup | subscribers | deliveries/s | latency p50 / p99 (µs) | bus messages per publish |');
console.log('|---|---|---|---|---|');
for (const s of values.subscribers.split(',').map(Number)) {
  const one = await run(1, s, false);
  console.log(`| 1 node, no adapter | ${fmt(s)} | ${fmt(one.deliveries)} | ${fmt(one.p50)} / ${fmt(one.p99)} | ${one.bus} |`);
  const many = await run(nodeCount, s, true);
  console.log(`| ${nodeCount} nodes + Redis (subscribers spread evenly; publisher on node 0) | ${fmt(s)} | ${fmt(many.deliveries)} | ${fmt(many.p50)} / ${fmt(many.p99)} | ${many.bus} |`);
}
