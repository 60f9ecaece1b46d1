#!/usr/bin/env node
/**
 * `sockudo-ws pusher [--port N] [--host H] [--config apps.json] [--redis URL] [--workers N]`:
 * runs a PusherServer until SIGINT/SIGTERM. Apps come from --config, else the environment
 * (SOCKUDO_PUSHER_APPS_FILE, or SOCKUDO_PUSHER_APP_ID/_KEY/_SECRET; see appsFromEnvironment),
 * else one local development app whose id, key and secret are printed. Port: --port, else
 * SOCKUDO_PUSHER_PORT, else 6001; host: --host, else SOCKUDO_PUSHER_HOST, else 127.0.0.1 (pass
 * --host 0.0.0.0 to serve other machines). --redis (or SOCKUDO_PUSHER_REDIS_URL) joins the
 * cluster of every server using the same Redis; --workers (or SOCKUDO_PUSHER_WORKERS) runs that
 * many worker threads on the port (SO_REUSEPORT), each a node of the cluster (needs --redis).
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

import { redisAdapter } from '../adapters/redis.js';
import { appsFromEnvironment, appsFromFile, defaultApp, type PusherApp } from './config.js';
import { PusherServer } from './server.js';

const USAGE = 'usage: sockudo-ws pusher [--port N] [--host H] [--config apps.json] [--redis redis://host:port] [--workers N]';

function fail(message: string): never {
  process.stderr.write(`${message}\n${USAGE}\n`);
  process.exit(2);
}

interface Settings {
  port: number;
  host: string;
  apps: PusherApp[];
  configured: boolean;
  redis: string | undefined;
  workers: number;
}

function settings(argv: string[]): Settings {
  if (argv[0] !== 'pusher') fail(argv[0] === undefined ? 'a command is required' : `unknown command ${argv[0]}`);
  const flags = new Map<string, string>();
  for (let i = 1; i < argv.length; i += 2) {
    const name = argv[i]!;
    const value = argv[i + 1];
    if (!['--port', '--host', '--config', '--redis', '--workers'].includes(name) || value === undefined) fail(`bad argument ${name}`);
    flags.set(name, value);
  }
  const env = process.env;
  const portText = flags.get('--port') ?? env.SOCKUDO_PUSHER_PORT ?? '6001';
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`bad port ${portText}`);
  const host = flags.get('--host') ?? env.SOCKUDO_PUSHER_HOST ?? '127.0.0.1';
  const config = flags.get('--config');
  const configured = config !== undefined ? appsFromFile(config) : appsFromEnvironment(env);
  const redis = flags.get('--redis') ?? env.SOCKUDO_PUSHER_REDIS_URL;
  const workersText = flags.get('--workers') ?? env.SOCKUDO_PUSHER_WORKERS ?? '1';
  const workers = Number(workersText);
  if (!Number.isInteger(workers) || workers < 1 || workers > 256) fail(`bad worker count ${workersText}`);
  if (workers > 1 && redis === undefined) fail('--workers needs --redis: each worker has its own channels, and Redis joins them');
  if (workers > 1 && port === 0) fail('--workers needs a fixed --port (the workers share it)');
  return { port, host, apps: configured ?? [defaultApp()], configured: configured !== undefined, redis, workers };
}

/** One server (the process's, or one worker thread's). */
async function serve(s: Settings): Promise<PusherServer> {
  const adapter = s.redis === undefined ? undefined : redisAdapter({ url: s.redis });
  adapter?.on('error', (e) => process.stderr.write(`redis: ${e.message}\n`));
  const server = new PusherServer({ port: s.port, host: s.host, apps: s.apps, reusePort: s.workers > 1, ...(adapter === undefined ? {} : { adapter }) });
  await server.listening();
  return server;
}

function banner(s: Settings, port: number): void {
  process.stdout.write(`sockudo-ws pusher listening on ${s.host || '*'}:${port}` +
    `${s.workers > 1 ? ` (${s.workers} workers)` : ''}${s.redis === undefined ? '' : `, cluster through ${s.redis.replace(/\/\/[^@/]*@/, '//…@')}`}\n`);
  for (const app of s.apps) {
    process.stdout.write(`app id=${app.id} key=${app.key} secret=${s.configured ? '(from configuration)' : app.secret}` +
      ` clientMessages=${app.enableClientMessages === true}\n`);
  }
  if (!s.configured) process.stdout.write('(the default local app: its secret is public; configure apps for real use)\n');
}

export async function main(argv: string[]): Promise<PusherServer | Worker[]> {
  const s = settings(argv);
  if (s.workers === 1) {
    const server = await serve(s);
    banner(s, server.address().port);
    const stop = () => {
      void server.close().then(() => process.exit(0));
      setTimeout(() => process.exit(0), 5000).unref();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    return server;
  }
  // Worker threads, each a cluster node on the shared port.
  const workers = Array.from({ length: s.workers }, () => new Worker(__filename, { workerData: { argv } }));
  await Promise.all(workers.map((w) => new Promise<void>((resolve, reject) => {
    w.once('message', () => resolve());
    w.once('error', reject);
    w.once('exit', (code) => reject(new Error(`a worker exited (${code}) before listening`)));
  })));
  banner(s, s.port);
  const stop = () => {
    for (const w of workers) w.postMessage('close');
    void Promise.all(workers.map((w) => new Promise((r) => w.once('exit', r)))).then(() => process.exit(0));
    setTimeout(() => process.exit(0), 5000).unref();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return workers;
}

if (!isMainThread && (workerData as { argv?: unknown } | null)?.argv !== undefined) {
  const s = settings((workerData as { argv: string[] }).argv);
  void serve(s).then((server) => {
    parentPort!.postMessage('listening');
    parentPort!.on('message', () => void server.close().then(() => process.exit(0)));
  }, (error: unknown) => {
    process.stderr.write(`worker: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
} else if (require.main === module) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
