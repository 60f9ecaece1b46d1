// A scripted peer in a child process (test/interop/peers/*.py): JSON-line commands on its stdin,
// JSON-line events on its stdout (see peers/peer_common.py). Every process is killed by PID in
// cleanup, whatever the test's outcome.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { type Cleanup, next, within } from '../js/helpers';

export const PYTHON = '/usr/bin/python3';
export const PEERS_DIR = path.join(__dirname, 'peers');

/** One event line printed by a peer. */
export interface PeerEvent {
  ev: string;
  [key: string]: unknown;
}

/** Kills `pid` (SIGKILL) if it still runs; never a name-based kill. */
export function killPid(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}

/** Why aioquic and Hypercorn 0.17 (unpacked by scripts/peers/aioquic.sh) do not load, or null when they do. */
export function aioquicMissing(): string | null {
  const r = spawnSync(PYTHON, [path.join(PEERS_DIR, 'h3_websocket.py'), 'probe'], { encoding: 'utf8', timeout: 20_000 });
  return r.status === 0 ? null : `aioquic does not load (run scripts/peers/aioquic.sh): ${(r.stderr ?? '').trim().split('\n').pop()}`;
}

/** Why a Python module cannot be imported by /usr/bin/python3 (the apt package to install), or null when it can. */
export function pythonModuleMissing(module: string, aptPackage: string): string | null {
  if (!fs.existsSync(PYTHON)) return `${PYTHON} is absent (apt-get install python3 ${aptPackage})`;
  const r = spawnSync(PYTHON, ['-c', `import ${module}`], { encoding: 'utf8', timeout: 20_000 });
  return r.status === 0 ? null : `${PYTHON} cannot import ${module} (apt-get install ${aptPackage}): ${r.stderr.trim().split('\n').pop()}`;
}

/**
 * Skip a suite only off CI: under CI (.ci/run exports CI=true) a missing peer must fail the run,
 * not silently skip it.
 */
export function skipReason(missing: string | null): string | null {
  return missing !== null && !process.env.CI ? missing : null;
}

export class PeerProcess {
  readonly child: ChildProcess;
  readonly events: PeerEvent[] = [];
  stderr = '';
  #taken = new Set<number>();
  #wake: (() => void) | null = null;
  #partial = '';
  exitCode: number | null = null;
  exitSignal: NodeJS.Signals | null = null;
  exited = false;
  readonly exit: Promise<void>;

  constructor(command: string, args: string[], cleanup: Cleanup) {
    this.child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, PYTHONUNBUFFERED: '1', PYTHONDONTWRITEBYTECODE: '1' } });
    const pid = this.child.pid;
    cleanup.add(pid, killPid);
    this.child.stdout!.setEncoding('utf8');
    this.child.stdout!.on('data', (chunk: string) => {
      const lines = (this.#partial + chunk).split('\n');
      this.#partial = lines.pop()!;
      for (const line of lines) {
        if (line.trim() === '') continue;
        try {
          this.events.push(JSON.parse(line) as PeerEvent);
        } catch {
          this.events.push({ ev: 'garbage', line });
        }
      }
      this.#notify();
    });
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (chunk: string) => {
      if (this.stderr.length < 20_000) this.stderr += chunk;
    });
    this.child.stdin!.on('error', () => { /* the peer exited; its events tell why */ });
    this.exit = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        this.exited = true;
        this.exitCode = code;
        this.exitSignal = signal;
        resolve();
        this.#notify();
      });
    });
  }

  /** A Python peer script from test/interop/peers. */
  static python(script: string, args: string[], cleanup: Cleanup): PeerProcess {
    return new PeerProcess(PYTHON, [path.join(PEERS_DIR, script), ...args], cleanup);
  }

  #notify(): void {
    const w = this.#wake;
    this.#wake = null;
    w?.();
  }

  /** Everything the peer said so far, for failure messages. */
  transcript(): string {
    const events = this.events.map((e) => JSON.stringify(e, (_k, v: unknown) => (typeof v === 'string' && v.length > 200 ? `${v.slice(0, 200)}…` : v)));
    return `events:\n  ${events.join('\n  ')}\nstderr:\n${this.stderr}`;
  }

  /** Sends one command line. */
  send(command: Record<string, unknown>): void {
    this.child.stdin!.write(`${JSON.stringify(command)}\n`);
  }

  /** Consumes the first event named `ev` (matching `filter`) not yet taken; waits for it (bounded). */
  take(ev: string, ms = 10_000, filter: (e: PeerEvent) => boolean = () => true): Promise<PeerEvent> {
    return within((async () => {
      for (;;) {
        const i = this.events.findIndex((e, k) => !this.#taken.has(k) && e.ev === ev && filter(e));
        if (i >= 0) {
          this.#taken.add(i);
          return this.events[i]!;
        }
        if (this.exited) throw new Error(`peer exited (code ${this.exitCode}, signal ${this.exitSignal}) before "${ev}"\n${this.transcript()}`);
        await new Promise<void>((resolve) => { this.#wake = resolve; });
      }
    })(), ms, `peer event "${ev}"`).catch((e: Error) => {
      if (e.message.startsWith('timed out')) e.message += `\n${this.transcript()}`;
      throw e;
    });
  }

  /** Events the peer uses to report trouble: a protocol violation it detected ("fail"), a script error, or a library warning. */
  problems(): PeerEvent[] {
    return this.events.filter((e) => e.ev === 'fail' || e.ev === 'error' || e.ev === 'log' || e.ev === 'garbage');
  }

  /** Closes stdin (the server role ends) and waits for the exit status (bounded). */
  async finish(ms = 10_000): Promise<number | null> {
    this.child.stdin!.end();
    await within(this.exit, ms, 'the peer process to exit').catch((e: Error) => {
      e.message += `\n${this.transcript()}`;
      throw e;
    });
    return this.exitCode;
  }
}

/**
 * Runs peers/node-websocket-client.mjs (Node's built-in WebSocket; --experimental-websocket before
 * Node 22) against `url` in `mode`, to completion (bounded). `track` receives the PID so the
 * caller's cleanup kills it whatever happens. Resolves with its exit status and last JSON line.
 */
export async function runNodeWebSocketClient(url: string, mode: string, track: (pid: number | undefined) => void):
    Promise<{ status: number | null; result: Record<string, unknown>; stderr: string }> {
  const flags = Number(process.versions.node.split('.')[0]) < 22 ? ['--experimental-websocket'] : [];
  const child = spawn(process.execPath, [...flags, path.join(PEERS_DIR, 'node-websocket-client.mjs'), url, mode], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  track(child.pid);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
  child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  const [status] = await within(next<[number | null]>(child, 'exit', 20_000), 20_000, 'the node client');
  const line = stdout.trim().split('\n').pop() ?? '';
  try {
    return { status, result: JSON.parse(line) as Record<string, unknown>, stderr };
  } catch {
    throw new Error(`node client printed no result (status ${status}):\n${stdout}\n${stderr}`);
  }
}

export function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Binary message of `size` bytes, byte i = i & 255 (what a peer's {"pattern": size} sends). */
export function pattern(size: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) b[i] = i & 255;
  return b;
}

/** Multi-byte UTF-8 samples: 2-, 3- and 4-byte sequences, CJK, emoji with ZWJ and modifiers, combining marks. */
export const UTF8_SAMPLES = [
  'héllo wörld ü ß',
  '漢字かな交じり文、中文，한국어',
  '😀🎉🚀 👩‍👩‍👧‍👦 👍🏽 🇩🇪',
  '𝄞 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 \u{10FFFF}',
  'e\u0301 \uFEFF \uFFFD \u0000 nul',
];
