// A real redis-server (Debian's package) for the adapter tests: started on 127.0.0.1 with a
// free port, no persistence, stopped by PID (SIGKILL for a crash, then restarted on the same
// port), never left behind (Cleanup). Under CI=true a missing redis-server fails instead of
// skipping.
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';

import { Cleanup, within } from './helpers';

export const REDIS_SERVER = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((p) => fs.existsSync(p)) ?? null;
export const redisSkip: string | null = REDIS_SERVER !== null ? null
  : process.env.CI === 'true' ? null /* run, and fail loudly: CI installs redis-server */ : 'redis-server is absent (apt-get install redis-server)';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

export class RedisProcess {
  readonly port: number;
  #child: ChildProcess | null = null;

  private constructor(port: number) {
    this.port = port;
  }

  static async start(cleanup: Cleanup, port?: number): Promise<RedisProcess> {
    const r = new RedisProcess(port ?? await freePort());
    cleanup.add(r, (x) => x.kill());
    await r.restart();
    return r;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Starts redis-server (again) on this port; resolves once it accepts commands. */
  async restart(): Promise<void> {
    if (REDIS_SERVER === null) throw new Error('redis-server is absent (apt-get install redis-server)');
    const child = spawn(REDIS_SERVER, ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
      '--protected-mode', 'yes', '--daemonize', 'no', '--loglevel', 'warning', '--dir', fs.mkdtempSync('/tmp/sockudo-redis-')],
    // Not under the sanitizer suite's LD_PRELOAD (libasan): redis-server is not ours to check.
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LD_PRELOAD: '' } });
    this.#child = child;
    let out = '';
    child.stdout!.on('data', (d: Buffer) => { out += String(d); });
    child.stderr!.on('data', (d: Buffer) => { out += String(d); });
    await within((async () => {
      for (;;) {
        if (child.exitCode !== null) throw new Error(`redis-server exited: ${out}`);
        const ok = await new Promise<boolean>((resolve) => {
          const s = net.connect(this.port, '127.0.0.1');
          s.on('connect', () => { s.write('PING\r\n'); });
          s.on('data', (d) => { s.destroy(); resolve(String(d).startsWith('+PONG')); });
          s.on('error', () => resolve(false));
        });
        if (ok) return;
        await new Promise((r) => setTimeout(r, 25));
      }
    })(), 10_000, 'redis-server start');
  }

  /** SIGKILL (a crash); resolves when it is gone. */
  async kill(): Promise<void> {
    const child = this.#child;
    this.#child = null;
    if (child === null || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await within(gone, 5000, 'redis-server exit');
  }

  /** One command over a raw connection (RESP); returns the raw reply text. */
  async command(...args: (string | Buffer)[]): Promise<string> {
    const body = Buffer.concat([Buffer.from(`*${args.length}\r\n`), ...args.flatMap((a) => [Buffer.from(`$${Buffer.byteLength(a)}\r\n`), Buffer.from(a), Buffer.from('\r\n')])]);
    return within(new Promise<string>((resolve, reject) => {
      const s = net.connect(this.port, '127.0.0.1');
      let got = '';
      s.on('connect', () => s.write(body));
      s.on('data', (d) => {
        got += String(d);
        // Good enough for the small replies the tests read (integers, short arrays, bulk strings).
        setTimeout(() => { s.destroy(); resolve(got); }, 30);
      });
      s.on('error', reject);
    }), 5000, `redis ${String(args[0])}`);
  }
}
