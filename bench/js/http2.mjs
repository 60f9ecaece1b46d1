// WebSocket over HTTP/2 (issue 15), a first measurement: our server with 100 WebSockets
// multiplexed on one HTTP/2 connection against the same server with 100 HTTP/1.1 connections, and
// `ws` with 100 HTTP/1.1 connections; idle memory per WebSocket stream against per HTTP/1.1
// connection. The client is our own (bench/js/http2-client.mjs, core 1; the native load generator
// has no HTTP/2 mode yet), the server one process per case on core 0; rounds interleave the cases.
// Prints a Markdown report on stdout.
//   node bench/js/http2.mjs [--rounds 3] [--seconds 3] [--idle 2000] [--quick]
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { here, median, taskset } from './bench-common.mjs';
import { Server } from './drive.mjs';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '3' },
    idle: { type: 'string', default: '2000' },
    quick: { type: 'boolean', default: false },
  },
});
const rounds = values.quick ? 1 : Number(values.rounds);
const seconds = values.quick ? 1 : Number(values.seconds);
const idle = values.quick ? 200 : Number(values.idle);
const progress = (m) => process.stderr.write(`${m}\n`);

function startClient() {
  const script = join(here, 'http2-client.mjs');
  const child = taskset ? fork(script, [], { execPath: 'taskset', execArgv: ['-c', '1', process.execPath] }) : fork(script);
  const ask = (msg) => new Promise((resolve, reject) => {
    child.once('message', (m) => (m.error ? reject(new Error(m.error)) : resolve(m)));
    child.send(msg);
  });
  return new Promise((resolve) => child.once('message', () => resolve({ child, ask })));
}

const CASES = [
  { name: 'ours, 100 WebSockets on 1 HTTP/2 connection', impl: 'sockudo-h2', sessions: 1 },
  { name: 'ours, 100 HTTP/1.1 connections', impl: 'sockudo', sessions: 0 },
  { name: 'ws, 100 HTTP/1.1 connections', impl: 'ws', sessions: 0 },
];
const SIZES = values.quick ? [512] : [512, 16 * 1024];

const echo = {};
for (let r = 0; r < rounds; r++) {
  for (const size of SIZES) {
    for (const c of [...CASES.slice(r % CASES.length), ...CASES.slice(0, r % CASES.length)]) {
      const server = await new Server(c.impl).start();
      const client = await startClient();
      try {
        await client.ask({ cmd: 'open', port: server.port, count: 100, sessions: c.sessions });
        const res = await client.ask({ cmd: 'echo', size, seconds });
        if (res.errors) throw new Error(`${c.name}: ${res.errors} wrong echoes`);
        ((echo[`${c.name}|${size}`] ??= []).push(res.roundTrips / seconds));
        progress(`round ${r + 1} ${c.name} ${size} B: ${Math.round(res.roundTrips / seconds)}/s`);
      } finally {
        client.child.kill('SIGKILL');
        await server.stop();
      }
    }
  }
}

// Idle memory: server RSS growth per WebSocket after a GC (server.mjs 'memory').
const memory = {};
for (const c of [{ name: 'HTTP/2 stream (10 connections)', impl: 'sockudo-h2', sessions: 10 }, { name: 'HTTP/1.1 connection', impl: 'sockudo', sessions: 0 }]) {
  const server = await new Server(c.impl).start();
  const client = await startClient();
  try {
    const before = await server.ask({ cmd: 'memory' });
    await client.ask({ cmd: 'open', port: server.port, count: idle, sessions: c.sessions });
    await new Promise((r) => setTimeout(r, 500));
    const after = await server.ask({ cmd: 'memory' });
    memory[c.name] = (after.rss - before.rss) / idle;
    progress(`idle ${c.name}: ${Math.round(memory[c.name])} B per WebSocket`);
  } finally {
    client.child.kill('SIGKILL');
    await server.stop();
  }
}

const fmt = (x) => Math.round(x).toLocaleString('en-US');
const lines = [`# WebSocket over HTTP/2 (${new Date().toISOString().slice(0, 10)}, ${rounds} round(s) × ${seconds} s${taskset ? ', server on core 0, client on core 1' : ''})`, '',
  'Echo: one message in flight per WebSocket, binary; round trips per second, median (min–max). The client is sockudo-ws\'s own (HTTP/2: `connectHttp2`), not the native load generator.', '',
  `| case | ${SIZES.map((s) => `${s >= 1024 ? `${s / 1024} KiB` : `${s} B`}`).join(' | ')} |`, `|---|${SIZES.map(() => '---').join('|')}|`];
for (const c of CASES) {
  lines.push(`| ${c.name} | ${SIZES.map((s) => { const xs = echo[`${c.name}|${s}`]; return `${fmt(median(xs))} (${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))})`; }).join(' | ')} |`);
}
lines.push('', `Idle memory: server RSS growth per WebSocket (${idle} WebSockets, after a GC).`, '', '| WebSocket on | bytes each |', '|---|---|');
for (const [k, v] of Object.entries(memory)) lines.push(`| ${k} | ${fmt(v)} |`);
console.log(lines.join('\n'));
