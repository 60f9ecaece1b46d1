// Running one measurement: a contract server (bench/js/server.mjs) per library, each its own
// process on core 0, and the native load generator on core 1. Every wait is bounded: a server
// must listen within 20 s, an IPC answer arrive within 10 s, a load generator run finish within
// its planned time plus 60 s (it also stops itself after 10 s without progress).
import { spawn } from 'node:child_process';

import { cpuSeconds, pinned, startServer } from './bench-common.mjs';

const IPC_TIMEOUT_MS = 10_000;

export class Server {
  constructor(impl) {
    this.impl = impl;
    this.child = null;
    this.port = 0;
  }

  get alive() {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** `options` go to startServer (`prefix`, `timeoutMs`). */
  async start(options = {}) {
    const { child, port } = await startServer('server.mjs', this.impl, { ipc: true, nodeArgs: ['--expose-gc'], ...options });
    child.on('error', () => {});
    this.child = child;
    this.port = port;
    return this;
  }

  /** Sends an IPC command (server.mjs documents them) and resolves with the answer. */
  ask(msg, timeoutMs = IPC_TIMEOUT_MS) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { this.child.off('message', onMessage); reject(new Error(`${this.impl}: no answer to ${msg.cmd}`)); }, timeoutMs);
      const onMessage = (m) => { clearTimeout(timer); resolve(m); };
      this.child.once('message', onMessage);
      this.child.send(msg);
    });
  }

  async stop() {
    if (!this.alive) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGKILL');
    await exited;
  }
}

/**
 * Starts the load generator on core 1; `onLine(json)` sees every stdout line (the connections
 * scenario prints an `idle` line first). `done` resolves with the last line and rejects on a
 * non-zero exit, with the reason; `child` lets a caller end a long hold early.
 */
export function runLoadgen(loadgen, args, { timeoutMs, onLine } = {}) {
  const [cmd, a] = pinned(1, [loadgen, ...args]);
  const child = spawn(cmd, a, { stdio: ['ignore', 'pipe', 'pipe'] });
  const done = new Promise((resolve, reject) => {
    let buf = '';
    let last = null;
    let stderr = '';
    child.stdout.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i).trim();
        buf = buf.slice(i + 1);
        if (!line) continue;
        last = JSON.parse(line);
        onLine?.(last);
      }
    });
    child.stderr.on('data', (d) => { stderr = (stderr + d).slice(-4000); });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs ?? 120_000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0 && last) return resolve(last);
      const why = last?.fatal ?? (last && !last.ok ? `${last.errors} errors` : null) ?? stderr.trim().split('\n').pop() ?? '';
      reject(new Error(`load generator ${signal ? `killed (${signal}, over ${Math.round((timeoutMs ?? 120_000) / 1000)} s)` : `exited ${code}`}: ${why}`));
    });
  });
  return { child, done };
}

/** Planned seconds of a run, from its --warmup/--seconds/--hold arguments. */
function plannedSeconds(args) {
  const v = (flag) => { const i = args.indexOf(flag); return i >= 0 ? Number(args[i + 1]) : 0; };
  return v('--warmup') + v('--seconds') + v('--hold');
}

/**
 * One run of a case against a started server. Adds `server_cpu` (the server's CPU time over the
 * run's wall time, %: near 100 means the server was the bottleneck). For the connections
 * scenario (`--pid`), also samples the server's JS heap before and while idle.
 */
export async function measure(loadgen, server, args) {
  const timeoutMs = (plannedSeconds(args) + 60) * 1000;
  const full = [...args, '--port', String(server.port)];
  const pid = server.child.pid;
  if (args[args.indexOf('--scenario') + 1] === 'connections') {
    const before = await server.ask({ cmd: 'memory' });
    let idle = null;
    const result = await runLoadgen(loadgen, [...full, '--pid', String(pid)], {
      timeoutMs,
      onLine: (line) => { if (line.phase === 'idle') idle = server.ask({ cmd: 'memory' }); },
    }).done;
    const during = await idle;
    const n = Math.max(1, result.opened);
    result.heap_per_connection_bytes = (during.heapUsed - before.heapUsed) / n;
    result.outside_heap_per_connection_bytes = result.rss_per_connection_bytes - result.heap_per_connection_bytes;
    return result;
  }
  const cpu0 = cpuSeconds(pid);
  const t0 = process.hrtime.bigint();
  const result = await runLoadgen(loadgen, full, { timeoutMs }).done;
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  result.server_cpu = (100 * (cpuSeconds(pid) - cpu0)) / wall;
  return result;
}
