// Pusher-compatible server benchmark (sockudo-ws/pusher). Server on core 0 (bench/js/pusher-server.mjs),
// this process — the subscribers (sockudo-ws clients speaking protocol 7) and the HTTP trigger —
// on core 1. Closed loop: the next event goes out when every recipient has the previous one.
//  - http: an HTTP API trigger (signed POST /apps/<id>/events) to N subscribers of one channel;
//  - client: a client event in a presence channel of M members, relayed to the M - 1 others.
// Reported: deliveries/s, latency from the trigger to each delivery (p50 / p99, µs; it includes
// this process reading all N deliveries in JS), and server CPU per delivery (utime + stime of the
// server process over the run, / deliveries).
// soketi (--impls sockudo,soketi) runs in the same run when SOKETI_PATH names a soketi package
// directory (its npm package depends on uWebSockets.js from a git repository, which the registry
// client cannot fetch; README, Pusher benchmark, says how to set one up with a local build).
// Each case runs each implementation in turn (--rounds times, alternating) and reports the median
// round and the ratio to the first implementation.
//
//   node bench/js/pusher.mjs [--impls sockudo,soketi] [--subscribers 100,1000,10000] [--members 100,1000]
//                            [--seconds 4] [--size 100] [--rounds 1]
import { createHash, createHmac } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import * as http from 'node:http';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';

import { cpuSeconds, fmt, startServer, taskset } from './bench-common.mjs';

const require = createRequire(import.meta.url);
const { connect } = require('sockudo-ws');
const APP = { id: 'bench', key: 'bench-key', secret: 'bench-secret' };

const { values } = parseArgs({
  options: {
    subscribers: { type: 'string', default: '100,1000,10000' },
    members: { type: 'string', default: '100,1000' },
    seconds: { type: 'string', default: '4' },
    size: { type: 'string', default: '100' },
    impls: { type: 'string', default: 'sockudo' },
    rounds: { type: 'string', default: '1' },
  },
});
if (taskset) spawnSync('taskset', ['-cp', '1', String(process.pid)], { stdio: 'ignore' });
const seconds = Number(values.seconds);
const padding = 'x'.repeat(Math.max(0, Number(values.size) - 20));
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function trigger(port, channel, name, data) {
  const body = JSON.stringify({ name, channels: [channel], data });
  const params = { auth_key: APP.key, auth_timestamp: String(Math.floor(Date.now() / 1000)), auth_version: '1.0', body_md5: createHash('md5').update(body).digest('hex') };
  const path = `/apps/${APP.id}/events`;
  const query = Object.keys(params).sort().map((k) => `${k}=${params[k]}`).join('&');
  const sig = createHmac('sha256', APP.secret).update(`POST\n${path}\n${query}`).digest('hex');
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: `${path}?${query}&auth_signature=${sig}`, agent, headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`trigger answered ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** n protocol-7 clients joined to `channel` (presence when userIds). `onEvent(client, msg)` for every other event. */
async function joinClients(port, n, channel, onEvent) {
  const clients = [];
  for (let start = 0; start < n; start += 500) {
    clients.push(...await Promise.all(Array.from({ length: Math.min(500, n - start) }, async (_, i) => {
      const ws = await connect(`ws://127.0.0.1:${port}/app/${APP.key}?protocol=7`);
      const c = { ws, id: start + i };
      await new Promise((resolve, reject) => {
        ws.on('message', (m) => {
          const msg = JSON.parse(String(m));
          if (msg.event === 'pusher:connection_established') {
            c.socketId = JSON.parse(msg.data).socket_id;
            const sub = { channel };
            if (channel.startsWith('presence-')) {
              sub.channel_data = JSON.stringify({ user_id: `u${c.id}` });
              sub.auth = `${APP.key}:${createHmac('sha256', APP.secret).update(`${c.socketId}:${channel}:${sub.channel_data}`).digest('hex')}`;
            }
            ws.send(JSON.stringify({ event: 'pusher:subscribe', data: sub }));
          } else if (msg.event === 'pusher_internal:subscription_succeeded') resolve();
          else if (msg.event === 'pusher:subscription_error') reject(new Error(JSON.stringify(msg.data)));
          else onEvent(c, msg);
        });
      });
      return c;
    })));
  }
  return clients;
}

/** Closed loop for `seconds`: send() one event, wait for `recipients` deliveries, repeat. */
async function closedLoop(server, recipients, send, attach) {
  const latencies = [];
  let pending = 0;
  let sentAt = 0n;
  let wake = null;
  attach(() => {
    latencies.push(Number(process.hrtime.bigint() - sentAt) / 1000);
    if (--pending === 0) wake();
  });
  const warmEnd = Date.now() + 1000;
  const run = async (until) => {
    let rounds = 0;
    while (Date.now() < until) {
      pending = recipients;
      const arrived = new Promise((r) => (wake = r));
      sentAt = process.hrtime.bigint();
      await send(rounds);
      await arrived;
      rounds++;
    }
    return rounds;
  };
  await run(warmEnd);
  latencies.length = 0;
  const cpu0 = cpuSeconds(server.child.pid);
  const t0 = process.hrtime.bigint();
  const rounds = await run(Date.now() + seconds * 1000);
  const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = cpuSeconds(server.child.pid) - cpu0;
  const deliveries = rounds * recipients;
  latencies.sort((a, b) => a - b);
  const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))];
  return { deliveries_per_sec: deliveries / elapsed, p50: pct(0.5), p99: pct(0.99), cpu_ns: (cpu * 1e9) / deliveries, events_per_sec: rounds / elapsed };
}

async function withServer(impl, fn) {
  const server = await startServer('pusher-server.mjs', impl);
  try { return await fn(server); } finally {
    server.child.kill('SIGTERM');
    await new Promise((r) => server.child.once('exit', r));
  }
}

const impls = values.impls.split(',');
const rounds = Number(values.rounds);
if (impls.includes('soketi') && !process.env.SOKETI_PATH) throw new Error('--impls soketi needs SOKETI_PATH (see the header of this file)');

/** Every implementation `rounds` times, alternating; per implementation the round with the median deliveries/s. */
async function compare(run) {
  const results = Object.fromEntries(impls.map((i) => [i, []]));
  for (let r = 0; r < rounds; r++) for (const impl of impls) results[impl].push(await withServer(impl, run));
  return impls.map((impl) => {
    const sorted = [...results[impl]].sort((a, b) => a.deliveries_per_sec - b.deliveries_per_sec);
    const all = results[impl].map((x) => x.deliveries_per_sec);
    return { impl, ...sorted[Math.floor(sorted.length / 2)], spread: rounds > 1 ? `${fmt(Math.min(...all))}–${fmt(Math.max(...all))}` : '' };
  });
}

function print(label, n, rows) {
  for (const r of rows) {
    const ratio = (r.deliveries_per_sec / rows[0].deliveries_per_sec).toFixed(2);
    console.log(`| ${label} | ${fmt(n)} | ${r.impl} | ${fmt(r.deliveries_per_sec)}${r.spread ? ` (${r.spread})` : ''} | ${ratio}× | ${fmt(r.p50)} / ${fmt(r.p99)} | ${fmt(r.cpu_ns)} |`);
  }
}

console.log(`# Pusher server: ${cpus()[0].model}, node ${process.version}, ${taskset ? 'server on core 0, clients + trigger on core 1' : 'not pinned'}, ${seconds} s per case, ~${values.size} B events, ${rounds} round(s) per implementation (median shown${rounds > 1 ? ', range of deliveries/s in brackets' : ''})\n`);
console.log(`| case | recipients | server | deliveries/s | vs ${impls[0]} | latency p50 / p99 (µs) | server CPU per delivery (ns) |`);
console.log('|---|---|---|---|---|---|---|');
for (const n of values.subscribers.split(',').map(Number)) {
  print('HTTP trigger → one channel', n, await compare(async (server) => {
    let onDelivery = () => {};
    const clients = await joinClients(server.port, n, 'bench', (_c, msg) => msg.event === 'tick' && onDelivery());
    try {
      return await closedLoop(server, n, (i) => trigger(server.port, 'bench', 'tick', `${i}${padding}`), (f) => (onDelivery = f));
    } finally { for (const c of clients) c.ws.terminate(); }
  }));
}
for (const m of values.members.split(',').map(Number)) {
  print('client event → presence channel', m - 1, await compare(async (server) => {
    let onDelivery = () => {};
    const clients = await joinClients(server.port, m, 'presence-bench', (_c, msg) => msg.event === 'client-tick' && onDelivery());
    const sender = clients[0];
    try {
      return await closedLoop(server, m - 1, (i) => sender.ws.send(JSON.stringify({ event: 'client-tick', channel: 'presence-bench', data: `${i}${padding}` })), (f) => (onDelivery = f));
    } finally { for (const c of clients) c.ws.terminate(); }
  }));
}
agent.destroy();
