// System calls per message: each server (its own process on core 0) answers the load generator's
// echo scenario (core 1) while `perf stat` counts every system call the server's process enters
// (the raw_syscalls:sys_enter tracepoint, low overhead), with a breakdown of the I/O calls. The
// count covers the whole run (connect and handshakes included: a few hundred calls against
// hundreds of thousands of messages). Needs perf (Debian: linux-perf) and tracepoint access (root).
//
//   node bench/js/syscalls.mjs [--impls sockudo,sockudo-uring,uws,ws] [--sizes 13,16384] [--connections 100] [--seconds 3] [--rounds 3]
//
// uws needs UWS_PATH (see bench/run.mjs).
import { spawn, spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';

import { fmt, loadgenPath, median, taskset } from './bench-common.mjs';
import { runLoadgen, Server } from './drive.mjs';

const { values } = parseArgs({
  options: {
    impls: { type: 'string', default: 'sockudo,sockudo-uring,ws' },
    sizes: { type: 'string', default: '13,16384' },
    connections: { type: 'string', default: '100' },
    seconds: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '3' },
  },
});
if (spawnSync('perf', ['--version']).status !== 0) throw new Error('perf is missing (Debian: apt-get install linux-perf)');

// What is counted: every call, and the ones that move or wait for socket bytes.
const BREAKDOWN = ['io_uring_enter', 'epoll_wait', 'epoll_pwait', 'read', 'readv', 'recvfrom', 'recvmsg', 'write', 'writev', 'sendto', 'sendmsg', 'accept4'];
const EVENTS = ['raw_syscalls:sys_enter', ...BREAKDOWN.map((s) => `syscalls:sys_enter_${s}`)];

/** Starts `perf stat` on pid; stop() resolves with { event: count }. */
function perfStat(pid) {
  const child = spawn('perf', ['stat', '-x', ',', '-e', EVENTS.join(','), '-p', String(pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => { err += d; });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  return {
    async stop() {
      child.kill('SIGINT');
      await exited;
      const counts = {};
      for (const line of err.split('\n')) {
        const [value, , event] = line.split(',');
        if (event && EVENTS.includes(event)) counts[event.replace(/^.*sys_enter_?/, '') || 'all'] = Number(value) || 0;
      }
      if (counts.all === undefined) throw new Error(`perf stat gave no count:\n${err}`);
      return counts;
    },
  };
}

const impls = values.impls.split(',');
const loadgen = loadgenPath();
const rows = {};
for (const size of values.sizes.split(',').map(Number)) {
  for (let r = 0; r < Number(values.rounds); r++) {
    for (const impl of impls) {
      const server = await new Server(impl).start();
      try {
        await new Promise((res) => setTimeout(res, 200));
        const perf = perfStat(server.child.pid);
        await new Promise((res) => setTimeout(res, 300));  // perf attached
        const out = await runLoadgen(loadgen, ['--scenario', 'echo', '--port', String(server.port), '--connections', values.connections,
          '--size', String(size), '--seconds', values.seconds, '--warmup', '0']).done;
        const counts = await perf.stop();
        const uring = (await server.ask({ cmd: 'memory' })).uring;
        if (uring?.ring) counts.shortage = uring.bufferShortages;
        const perMessage = Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, v / out.messages]));
        (rows[`${size}`] ??= {})[impl] ??= [];
        rows[`${size}`][impl].push({ rate: out.rate, perMessage });
        process.stderr.write(`syscalls ${impl} ${size} B: ${perMessage.all.toFixed(3)} per message at ${fmt(out.rate)} msg/s` +
          `${counts.shortage !== undefined ? `, ${counts.shortage} receive buffer shortages` : ''}\n`);
      } finally {
        await server.stop();
      }
    }
  }
}

const pick = (list, key) => median(list.map((x) => x.perMessage[key] ?? 0));
console.log(`# system calls per echoed message: ${cpus()[0].model}, node ${process.version}, ${taskset ? 'server on core 0, load generator on core 1' : 'not pinned'}, ` +
  `${values.connections} connections, ${values.rounds} rounds interleaved, median\n`);
console.log(`Command: \`node bench/js/syscalls.mjs --impls ${values.impls} --sizes ${values.sizes} --connections ${values.connections} --seconds ${values.seconds} --rounds ${values.rounds}\`\n`);
const shown = BREAKDOWN.filter((s) => Object.values(rows).some((byImpl) => Object.values(byImpl).some((list) => pick(list, s) >= 0.005)));
console.log(`| size | server | msg/s | all calls | ${shown.join(' | ')} |`);
console.log(`|---|---|---|---|${shown.map(() => '---').join('|')}|`);
for (const [size, byImpl] of Object.entries(rows)) {
  for (const impl of impls) {
    const list = byImpl[impl];
    console.log(`| ${size} B | ${impl} | ${fmt(median(list.map((x) => x.rate)))} | ${pick(list, 'all').toFixed(3)} | ${shown.map((s) => pick(list, s).toFixed(3)).join(' | ')} |`);
  }
}
