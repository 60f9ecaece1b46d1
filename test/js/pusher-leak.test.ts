// No leak after 10,000 abrupt disconnects: connections join a presence channel (and a public
// one), then are cut without a close frame (TCP reset by terminate()). Afterwards no member, no
// channel, no connection, no native topic or socket remains, every member got member_removed,
// and the webhooks for them fired. Also: the `sockudo-ws pusher` command and the package export.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

import { Cleanup, nativeBinding, root, within } from './helpers';
import { APP, lib, pusher, setup, waitUntil } from './pusher-helpers';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());
const native = nativeBinding();

describe('abrupt disconnects', () => {
  it('10,000 presence members cut off: state, topics and sockets all return to zero; webhooks fired', { timeout: 120_000 }, async () => {
    let removedHooks = 0;
    let vacated = 0;
    const hookServer = cleanup.add(http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        for (const e of JSON.parse(Buffer.concat(chunks).toString()).events as { name: string }[]) {
          if (e.name === 'member_removed') removedHooks++;
          if (e.name === 'channel_vacated') vacated++;
        }
        res.end();
      });
    }), (s) => s.close());
    hookServer.listen(0, '127.0.0.1');
    await once(hookServer, 'listening');
    const hookUrl = `http://127.0.0.1:${(hookServer.address() as AddressInfo).port}/`;
    const { server, port, sdk } = await setup(cleanup, {
      webhookBatchMs: 100,
      apps: [{ ...APP, maxPresenceMembersPerChannel: 20_000, webhooks: [{ url: hookUrl, eventTypes: ['member_removed', 'channel_vacated'] }] }],
    });
    const topicsBefore = native.pubsubStats().topics;
    const socketsBefore = native.socketCount();
    const app = server.app(APP.id)!;
    const total = 10_000;
    const wave = 1000;
    for (let start = 0; start < total; start += wave) {
      const clients = await Promise.all(Array.from({ length: wave }, async (_, i) => {
        const ws = await lib.connect(`ws://127.0.0.1:${port}/app/${APP.key}?protocol=7`);
        const first = await within(new Promise<string>((resolve) => ws.once('message', (m) => resolve(String(m)))), 10_000, 'established');
        const socketId = JSON.parse(JSON.parse(first).data).socket_id as string;
        const a = sdk.authorizeChannel(socketId, 'presence-big', { user_id: `u${start + i}` });
        ws.send(JSON.stringify({ event: 'pusher:subscribe', data: { channel: 'presence-big', auth: a.auth, channel_data: a.channel_data } }));
        ws.send(JSON.stringify({ event: 'pusher:subscribe', data: { channel: 'public-big' } }));
        return ws;
      }));
      await waitUntil(() => (app.channels.get('public-big')?.subscribers ?? 0) === wave, 'wave subscribed', 20_000);
      expect(app.channels.get('presence-big')!.members!.size).toBe(wave);
      for (const ws of clients) ws.terminate();
      await waitUntil(() => app.connections.size === 0, 'wave gone', 20_000);
    }
    expect(app.channels.size).toBe(0);
    expect(app.users.size).toBe(0);
    expect(server.connectionCount).toBe(0);
    await waitUntil(() => native.pubsubStats().topics === topicsBefore && native.socketCount() === socketsBefore, 'native state back', 10_000);
    await waitUntil(() => removedHooks === total && vacated === 2 * (total / wave), 'member_removed and channel_vacated webhooks', 30_000);
    await new Promise((r) => setTimeout(r, 200));
    expect(removedHooks).toBe(total);  // and no more than that
    expect(vacated).toBe(2 * (total / wave));
  });
});

describe('command and package entry', () => {
  it('`sockudo-ws pusher` starts with the default app printed, serves pusher clients, stops on SIGTERM', { timeout: 30_000 }, async () => {
    const bin = path.join(root, 'dist', 'cjs', 'pusher', 'cli.js');
    const child = spawn(bin, ['pusher', '--port', '0', '--host', '127.0.0.1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    cleanup.add(child, (c) => c.exitCode === null && c.kill('SIGKILL'));
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    await waitUntil(() => out.includes('(the default local app'), 'startup banner (its last line)', 10_000);
    expect(out).toContain('app id=app-id key=app-key secret=app-secret');
    const port = Number(/listening on [^:]+:(\d+)/.exec(out)![1]);
    const ws = cleanup.add(await lib.connect(`ws://127.0.0.1:${port}/app/app-key?protocol=7`), (w) => w.terminate());
    const first = await within(new Promise<string>((resolve) => ws.once('message', (m) => resolve(String(m)))), 5000, 'established');
    expect(JSON.parse(first).event).toBe('pusher:connection_established');
    child.kill('SIGTERM');
    const [code] = await within(once(child, 'exit'), 10_000, 'exit');
    expect(code).toBe(0);
  });

  it('apps from environment variables; both module formats export PusherServer', { timeout: 30_000 }, async () => {
    const pusherMod = pusher;  // require('sockudo-ws/pusher') through the exports map
    expect(typeof pusherMod.PusherServer).toBe('function');
    // In a plain Node process: the ESM entry is the same class as the CommonJS one.
    const check = spawnSync(process.execPath, ['--input-type=module', '-e',
      "import { PusherServer } from 'sockudo-ws/pusher'; import { createRequire } from 'node:module';" +
      "const cjs = createRequire(process.cwd() + '/x.js')('sockudo-ws/pusher');" +
      "console.log(typeof PusherServer, PusherServer === cjs.PusherServer);"], { cwd: root, encoding: 'utf8', timeout: 20_000 });
    expect(check.stdout.trim()).toBe('function true');
    const apps = pusherMod.appsFromEnvironment({ SOCKUDO_PUSHER_APP_ID: 'i', SOCKUDO_PUSHER_APP_KEY: 'k', SOCKUDO_PUSHER_APP_SECRET: 's', SOCKUDO_PUSHER_APP_ENABLE_CLIENT_MESSAGES: 'true', SOCKUDO_PUSHER_APP_MAX_CONNECTIONS: '5' });
    expect(apps).toEqual([{ id: 'i', key: 'k', secret: 's', enableClientMessages: true, maxConnections: 5 }]);
    // Every app option has its variable: switches, limits, webhooks.
    const full = pusherMod.appsFromEnvironment({
      SOCKUDO_PUSHER_APP_ID: 'i', SOCKUDO_PUSHER_APP_KEY: 'k', SOCKUDO_PUSHER_APP_SECRET: 's', SOCKUDO_PUSHER_APP_ENABLED: '0',
      SOCKUDO_PUSHER_APP_MAX_CLIENT_EVENTS_PER_SECOND: '50', SOCKUDO_PUSHER_APP_MAX_PRESENCE_MEMBERS_PER_CHANNEL: '7',
      SOCKUDO_PUSHER_APP_ENABLE_SUBSCRIPTION_COUNT: 'true', SOCKUDO_PUSHER_APP_WEBHOOKS: '[{"url":"http://127.0.0.1:1/h"}]',
    });
    expect(full).toEqual([{ id: 'i', key: 'k', secret: 's', enabled: false, maxClientEventsPerSecond: 50, maxPresenceMembersPerChannel: 7, enableSubscriptionCount: true, webhooks: [{ url: 'http://127.0.0.1:1/h' }] }]);
    expect(pusherMod.appConfig(full![0]!).maxPresenceMembersPerChannel).toBe(7);
    const base = { SOCKUDO_PUSHER_APP_ID: 'i', SOCKUDO_PUSHER_APP_KEY: 'k', SOCKUDO_PUSHER_APP_SECRET: 's' };
    expect(() => pusherMod.appsFromEnvironment({ ...base, SOCKUDO_PUSHER_APP_MAX_CONNECTIONS: 'ten' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => pusherMod.appsFromEnvironment({ ...base, SOCKUDO_PUSHER_APP_ENABLED: 'yes' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(pusherMod.appsFromEnvironment({})).toBeUndefined();
    expect(() => pusherMod.appsFromEnvironment({ SOCKUDO_PUSHER_APP_ID: 'i' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
  });
});
