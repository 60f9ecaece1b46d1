// Webhooks, received by a local http server and verified with the pusher SDK's webhook helper:
// every kind (channel_occupied/vacated, member_added/removed, client_event, cache_miss,
// subscription_count), batching, filters, custom headers, a wrong secret failing verification,
// bounded retries, and presence webhooks debounced as Pusher does (a rejoin within the delay
// sends neither member_removed nor member_added).
import { once } from 'node:events';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';

import { Cleanup } from './helpers';
import { APP, nextEvent, sdkFor, setup, waitUntil } from './pusher-helpers';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

interface Received {
  headers: Record<string, string>;
  rawBody: string;
}

async function receiver(status: (n: number) => number = () => 200): Promise<{ url: string; got: Received[]; hits: () => number }> {
  const got: Received[] = [];
  let hits = 0;
  const server = cleanup.add(http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const code = status(++hits);
      if (code === 200) got.push({ headers: req.headers as Record<string, string>, rawBody: Buffer.concat(chunks).toString() });
      res.writeHead(code).end();
    });
  }), (s) => s.close());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, got, hits: () => hits };
}

describe('webhooks', () => {
  it('every kind arrives signed, batched, and verifies with the SDK helper', async () => {
    const hook = await receiver();
    const { client, connected, sdk, raw } = await setup(cleanup, {
      webhookBatchMs: 20, presenceWebhookDelay: 100, subscriptionCountInterval: 20,
      apps: [{ ...APP, enableSubscriptionCount: true, webhooks: [{ url: hook.url, headers: { 'x-custom': 'yes' } }] }],
    });
    const a = client({ userId: 'ann' });
    const b = client({ userId: 'bob' });
    await Promise.all([connected(a), connected(b)]);
    const chA = a.subscribe('presence-w');
    await nextEvent(chA, 'pusher:subscription_succeeded');
    const chB = b.subscribe('presence-w');
    await nextEvent(chB, 'pusher:subscription_succeeded');
    chB.trigger('client-hi', { x: 1 });
    const cache = await raw();
    await cache.next('pusher:connection_established');
    cache.send('pusher:subscribe', { channel: 'cache-w' });
    await cache.next('pusher:cache_miss');
    const all = () => hook.got.flatMap((r) => sdk.webhook(r).getEvents() as { name: string }[]);
    await waitUntil(() => all().some((e) => e.name === 'subscription_count'), 'subscription_count');
    b.disconnect();
    cache.ws.close();
    const want = ['channel_occupied', 'member_added', 'client_event', 'cache_miss', 'member_removed', 'channel_vacated', 'subscription_count'];
    await waitUntil(() => want.every((k) => all().some((e) => e.name === k)), 'every webhook kind', 8000);
    for (const r of hook.got) {
      const wh = sdk.webhook(r);
      expect(wh.isValid()).toBe(true);
      expect(wh.getTime()).toBeInstanceOf(Date);
      expect(r.headers['x-custom']).toBe('yes');
      expect(r.headers['x-pusher-key']).toBe(APP.key);
    }
    const events = all() as Record<string, unknown>[];
    expect(events).toContainEqual({ name: 'channel_occupied', channel: 'presence-w' });
    expect(events).toContainEqual({ name: 'member_added', channel: 'presence-w', user_id: 'bob' });
    expect(events).toContainEqual({ name: 'member_removed', channel: 'presence-w', user_id: 'bob' });
    expect(events).toContainEqual({ name: 'client_event', channel: 'presence-w', event: 'client-hi', data: '{"x":1}', socket_id: expect.stringMatching(/^\d+\.\d+$/), user_id: 'bob' });
    expect(events).toContainEqual({ name: 'cache_miss', channel: 'cache-w' });
    expect(events).toContainEqual({ name: 'channel_vacated', channel: 'cache-w' });
    expect(events).toContainEqual({ name: 'subscription_count', channel: 'cache-w', subscription_count: 1 });
    // Batching: fewer requests than events.
    expect(hook.got.length).toBeLessThan(events.length);
    // Signed with this app's secret: another secret does not verify.
    expect(sdkFor(1, { ...APP, secret: 'other' }).webhook(hook.got[0]!).isValid()).toBe(false);
  });

  it('presence webhooks are debounced: a rejoin within presenceWebhookDelay sends neither member_removed nor member_added', async () => {
    const hook = await receiver();
    const { raw, sdk } = await setup(cleanup, {
      webhookBatchMs: 10, presenceWebhookDelay: 400,
      apps: [{ ...APP, webhooks: [{ url: hook.url, eventTypes: ['member_added', 'member_removed'] }] }],
    });
    const join = async (user: string) => {
      const c = await raw();
      const socketId = (await c.next('pusher:connection_established')).data.socket_id as string;
      c.send('pusher:subscribe', { channel: 'presence-d', ...sdk.authorizeChannel(socketId, 'presence-d', { user_id: user }) });
      await c.next('pusher_internal:subscription_succeeded');
      return c;
    };
    const events = () => hook.got.flatMap((r) => (JSON.parse(r.rawBody) as { events: { name: string; user_id: string }[] }).events.map((e) => `${e.name}:${e.user_id}`));
    const watcher = await join('w');
    const flappy = await join('f');
    await waitUntil(() => events().length === 2, 'two member_added');
    // f drops and comes back within the delay (a page reload): clients see it, webhooks do not.
    flappy.ws.terminate();
    await watcher.next('pusher_internal:member_removed');
    const back = await join('f');
    await watcher.next('pusher_internal:member_added');
    // g leaves for good: its member_removed arrives, but only after the delay.
    const gone = await join('g');
    await waitUntil(() => events().includes('member_added:g'), 'member_added g');
    const leftAt = Date.now();
    gone.ws.terminate();
    await waitUntil(() => events().includes('member_removed:g'), 'member_removed g', 5000);
    expect(Date.now() - leftAt).toBeGreaterThanOrEqual(350);
    await new Promise((r) => setTimeout(r, 200));
    expect(events()).toEqual(['member_added:w', 'member_added:f', 'member_added:g', 'member_removed:g']);
    back.ws.terminate();
    await waitUntil(() => events().includes('member_removed:f'), 'member_removed f', 5000);
  });

  it('event type and channel name filters', async () => {
    const hook = await receiver();
    const { raw } = await setup(cleanup, { webhookBatchMs: 10, apps: [{ ...APP, webhooks: [{ url: hook.url, eventTypes: ['channel_occupied'], filter: { channelNameStartsWith: 'keep-' } }] }] });
    const c = await raw();
    await c.next('pusher:connection_established');
    for (const channel of ['keep-1', 'drop-1', 'keep-2']) {
      c.send('pusher:subscribe', { channel });
      await c.next('pusher_internal:subscription_succeeded');
    }
    c.ws.close();
    await waitUntil(() => hook.got.flatMap((r) => JSON.parse(r.rawBody).events).length === 2, 'two events');
    await new Promise((r) => setTimeout(r, 100));
    const events = hook.got.flatMap((r) => JSON.parse(r.rawBody).events as { name: string; channel: string }[]);
    expect(events.map((e) => `${e.name}:${e.channel}`).sort()).toEqual(['channel_occupied:keep-1', 'channel_occupied:keep-2']);
  });

  it('retried after 5xx, at most webhookAttempts times', async () => {
    const flaky = await receiver((n) => (n === 1 ? 503 : 200));
    const dead = await receiver(() => 500);
    const { raw, server } = await setup(cleanup, {
      webhookBatchMs: 10, webhookAttempts: 3,
      apps: [{ ...APP, webhooks: [{ url: flaky.url, eventTypes: ['channel_occupied'] }, { url: dead.url, eventTypes: ['channel_occupied'] }] }],
    });
    const c = await raw();
    await c.next('pusher:connection_established');
    c.send('pusher:subscribe', { channel: 'r' });
    await c.next('pusher_internal:subscription_succeeded');
    await waitUntil(() => flaky.got.length === 1, 'delivered on the second attempt', 5000);
    expect(flaky.hits()).toBe(2);
    const stats = server.app(APP.id)!.webhooks.stats;
    await waitUntil(() => stats.failed === 1, 'the dead target gave up', 5000);
    expect(dead.hits()).toBe(3);
    expect(stats.sent).toBe(1);
  });
});
