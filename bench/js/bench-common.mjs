// What the benchmark drivers share: core pinning (server on core 0, load on core 1), starting a
// server script that prints "listening <port>", /proc readings, the native load generator's
// path, median / number formatting, and the TLS benchmarks' certificate.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const here = dirname(fileURLToPath(import.meta.url));
export const root = join(here, '..', '..');
export const taskset = spawnSync('taskset', ['--version']).status === 0;

/** [command, args] running `args` pinned to `cpu` when taskset exists. */
export const pinned = (cpu, args) => (taskset ? ['taskset', ['-c', String(cpu), ...args]] : [args[0], args.slice(1)]);

/**
 * Starts `node <script> <impl>` on core 0 (with an IPC channel when `ipc`); resolves once it prints
 * "listening <port>", rejects if it exits first or does not listen within `timeoutMs`. `prefix` runs
 * node under another program (valgrind).
 */
export function startServer(script, impl, { ipc = false, nodeArgs = [], timeoutMs = 20000, prefix = [] } = {}) {
  return new Promise((resolve, reject) => {
    const [cmd, args] = pinned(0, [...prefix, process.execPath, ...nodeArgs, join(here, script), impl]);
    const child = spawn(cmd, args, { stdio: ipc ? ['ignore', 'pipe', 'inherit', 'ipc'] : ['ignore', 'pipe', 'inherit'] });
    let out = '';
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`${impl} server did not listen within ${timeoutMs} ms`)); }, timeoutMs);
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening (\d+)/.exec(out);
      if (m) { clearTimeout(timer); resolve({ child, port: Number(m[1]) }); }
    });
    child.on('exit', (code, signal) => { clearTimeout(timer); reject(new Error(`${impl} server exited (${signal ?? code})`)); });
  });
}

/** utime + stime of a process in seconds (/proc/<pid>/stat fields 14 and 15, clock ticks). */
export function cpuSeconds(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch { return NaN; }
}

export function rssKiB(pid) {
  try { return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]); } catch { return NaN; }
}

/** Builds a native bench target if needed (scripts/build-bench.js) and returns the binary's path. */
export function benchBinary(target) {
  const r = spawnSync(process.execPath, [join(root, 'scripts', 'build-bench.js'), target], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`building ${target} failed (scripts/build-bench.js)`);
  return r.stdout.trim().split('\n').pop();
}

/** The native load generator (bench/loadgen), built if needed. */
export const loadgenPath = () => benchBinary('sockudo-loadgen');

export const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
export const fmt = (x) => Math.round(x).toLocaleString('en-US');

/**
 * Makes the benchmark's TLS certificate (ECDSA P-256, for localhost / 127.0.0.1, one day, made
 * with the openssl CLI; removed at exit) and names its PEM files in SOCKUDO_BENCH_TLS_CERT /
 * SOCKUDO_BENCH_TLS_KEY for every server process the run starts (server.mjs reads them).
 */
export function makeBenchCertificate(prefix) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`openssl failed: ${made.stderr}`);
  process.env.SOCKUDO_BENCH_TLS_CERT = join(dir, 'cert.pem');
  process.env.SOCKUDO_BENCH_TLS_KEY = join(dir, 'key.pem');
}

/** A TCP port free on 127.0.0.1 now (for a server that cannot take port 0: redis-server, soketi). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}
