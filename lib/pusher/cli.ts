#!/usr/bin/env node
/**
 * `sockudo-ws pusher [--port N] [--host H] [--config apps.json]`: runs a PusherServer until
 * SIGINT/SIGTERM. Apps come from --config, else the environment (SOCKUDO_PUSHER_APPS_FILE, or
 * SOCKUDO_PUSHER_APP_ID/_KEY/_SECRET; see appsFromEnvironment), else one local development app
 * whose id, key and secret are printed. Port: --port, else SOCKUDO_PUSHER_PORT, else 6001; host:
 * --host, else SOCKUDO_PUSHER_HOST, else 127.0.0.1 (pass --host 0.0.0.0 to serve other machines).
 */
import { appsFromEnvironment, appsFromFile, defaultApp, type PusherApp } from './config.js';
import { PusherServer } from './server.js';

const USAGE = 'usage: sockudo-ws pusher [--port N] [--host H] [--config apps.json]';

function fail(message: string): never {
  process.stderr.write(`${message}\n${USAGE}\n`);
  process.exit(2);
}

export async function main(argv: string[]): Promise<PusherServer> {
  if (argv[0] !== 'pusher') fail(argv[0] === undefined ? 'a command is required' : `unknown command ${argv[0]}`);
  const flags = new Map<string, string>();
  for (let i = 1; i < argv.length; i += 2) {
    const name = argv[i]!;
    const value = argv[i + 1];
    if (!['--port', '--host', '--config'].includes(name) || value === undefined) fail(`bad argument ${name}`);
    flags.set(name, value);
  }
  const env = process.env;
  const portText = flags.get('--port') ?? env.SOCKUDO_PUSHER_PORT ?? '6001';
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`bad port ${portText}`);
  const host = flags.get('--host') ?? env.SOCKUDO_PUSHER_HOST ?? '127.0.0.1';
  const config = flags.get('--config');
  const configured = config !== undefined ? appsFromFile(config) : appsFromEnvironment(env);
  const apps: PusherApp[] = configured ?? [defaultApp()];
  const server = new PusherServer({ port, host, apps });
  await server.listening();
  const bound = server.address();
  process.stdout.write(`sockudo-ws pusher listening on ${host || '*'}:${bound.port}\n`);
  for (const app of server.config.apps) {
    process.stdout.write(`app id=${app.id} key=${app.key} secret=${configured === undefined ? app.secret : '(from configuration)'}` +
      ` clientMessages=${app.enableClientMessages}\n`);
  }
  if (configured === undefined) process.stdout.write('(the default local app: its secret is public; configure apps for real use)\n');
  const stop = () => {
    void server.close().then(() => process.exit(0));
    setTimeout(() => process.exit(0), 5000).unref();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return server;
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
