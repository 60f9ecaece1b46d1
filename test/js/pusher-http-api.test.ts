// The Pusher HTTP API on the WebSocket port: every endpoint through the pusher SDK, and the
// signature checks and limits with hand-signed requests (wrong key, wrong secret, stale
// timestamp, wrong version, body_md5), 404/405/413 with JSON error bodies.
import { createHash, createHmac } from 'node:crypto';
import * as http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';

import { Cleanup, within } from './helpers';
import { APP, nextEvent, setup, waitUntil } from './pusher-helpers';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

interface SignOptions {
  key?: string;
  secret?: string;
  timestamp?: number;
  version?: string;
  md5?: string;
  params?: Record<string, string>;
}

/** A request signed as the SDK signs it (optionally wrongly). */
function signed(port: number, method: string, path: string, body = '', o: SignOptions = {}): Promise<{ status: number; body: any }> {
  const params: Record<string, string> = {
    auth_key: o.key ?? APP.key,
    auth_timestamp: String(o.timestamp ?? Math.floor(Date.now() / 1000)),
    auth_version: o.version ?? '1.0',
    ...o.params,
  };
  if (body !== '') params.body_md5 = o.md5 ?? createHash('md5').update(body).digest('hex');
  const query = Object.keys(params).sort().map((k) => `${k}=${params[k]}`).join('&');
  const signature = createHmac('sha256', o.secret ?? APP.secret).update(`${method}\n${path}\n${query}`).digest('hex');
  return within(new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: `${path}?${query}&auth_signature=${signature}`, headers: { 'content-type': 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch { /* text */ }
        resolve({ status: res.statusCode ?? 0, body: parsed });
      });
    });
    req.on('error', reject);
    req.end(body);
  }), 10_000, `${method} ${path}`);
}

const events = `/apps/${APP.id}/events`;
const event = (extra: Record<string, unknown> = {}) => JSON.stringify({ name: 'e', data: '{}', channels: ['c'], ...extra });

describe('endpoints (pusher SDK)', () => {
  it('trigger with info, batch, channels with filter_by_prefix and info, channel, users', async () => {
    const { client, connected, sdk } = await setup(cleanup);
    const a = client({ userId: 'ann' });
    await connected(a);
    await nextEvent(a.subscribe('presence-lobby'), 'pusher:subscription_succeeded');
    await nextEvent(a.subscribe('public-1'), 'pusher:subscription_succeeded');
    const trig = await sdk.trigger(['presence-lobby', 'public-1', 'empty'], 'e', 'x', { info: 'subscription_count,user_count' });
    expect(await trig.json()).toEqual({ channels: { 'presence-lobby': { subscription_count: 1, user_count: 1 }, 'public-1': { subscription_count: 1 }, empty: { subscription_count: 0 } } });
    const got: string[] = [];
    a.subscribe('public-1').bind('b', (d: string) => got.push(d));
    const batch = await sdk.triggerBatch([{ channel: 'public-1', name: 'b', data: '1' }, { channel: 'public-1', name: 'b', data: '2' }]);
    expect(batch.status).toBe(200);
    await waitUntil(() => got.length === 2, 'batch delivered');
    expect(got).toEqual([1, 2]);
    expect(await (await sdk.get({ path: '/channels' })).json()).toEqual({ channels: { 'presence-lobby': {}, 'public-1': {} } });
    expect(await (await sdk.get({ path: '/channels', params: { filter_by_prefix: 'presence-', info: 'user_count' } })).json())
      .toEqual({ channels: { 'presence-lobby': { user_count: 1 } } });
    expect(await (await sdk.get({ path: '/channels/public-1' })).json()).toEqual({ occupied: true, subscription_count: 1 });
    expect(await (await sdk.get({ path: '/channels/nobody' })).json()).toEqual({ occupied: false, subscription_count: 0 });
    expect(await (await sdk.get({ path: '/channels/presence-lobby/users' })).json()).toEqual({ users: [{ id: 'ann' }] });
  });

  it('health endpoints; user_count without a presence prefix and users of a non-presence channel are 400', async () => {
    const { port, sdk } = await setup(cleanup);
    const health = await fetch(`http://127.0.0.1:${port}/`);
    expect(await health.text()).toBe('OK');
    expect((await sdk.get({ path: '/channels', params: { info: 'user_count' } }).catch((e: { status: number }) => e)).status).toBe(400);
    expect((await sdk.get({ path: '/channels/public-1/users' }).catch((e: { status: number }) => e)).status).toBe(400);
  });
});

describe('signatures', () => {
  it('a correctly signed request passes; every wrong credential is 401 with a reason', async () => {
    const { port } = await setup(cleanup);
    expect((await signed(port, 'POST', events, event())).status).toBe(200);
    const cases: [SignOptions, string][] = [
      [{ key: 'other-key' }, 'auth_key'],
      [{ secret: 'wrong' }, 'auth_signature'],
      // Well outside the 600 s window: the cases run one after another, seconds apart on a loaded machine.
      [{ timestamp: Math.floor(Date.now() / 1000) - 3600 }, 'auth_timestamp'],
      [{ timestamp: Math.floor(Date.now() / 1000) + 3600 }, 'auth_timestamp'],
      [{ version: '2.0' }, 'auth_version'],
      [{ md5: 'f'.repeat(32) }, 'body_md5'],
    ];
    for (const [o, reason] of cases) {
      const r = await signed(port, 'POST', events, event(), o);
      expect(r.status, JSON.stringify(o)).toBe(401);
      expect(r.body.error).toContain(reason);
    }
    // Extra query parameters are part of the signature: changing one after signing fails.
    const r = await signed(port, 'GET', `/apps/${APP.id}/channels`, '', { params: { filter_by_prefix: 'a' } });
    expect(r.status).toBe(200);
    const unsigned = await fetch(`http://127.0.0.1:${port}/apps/${APP.id}/channels?auth_key=${APP.key}`);
    expect(unsigned.status).toBe(401);
  });

  it('unknown app → 404, disabled app → 403, unknown endpoint → 404, wrong method → 405', async () => {
    const { port } = await setup(cleanup, { apps: [APP, { id: 'off', key: 'off-key', secret: 'off-secret', enabled: false }] });
    expect((await signed(port, 'POST', '/apps/nope/events', event())).status).toBe(404);
    expect((await signed(port, 'POST', '/apps/off/events', event(), { key: 'off-key', secret: 'off-secret' })).status).toBe(403);
    expect((await signed(port, 'GET', `/apps/${APP.id}/nothing`)).status).toBe(404);
    expect((await signed(port, 'GET', events)).status).toBe(405);
    expect((await fetch(`http://127.0.0.1:${port}/elsewhere`)).status).toBe(404);
  });
});

describe('limits', () => {
  it('too many channels, too large data or name, too big a batch, bad names or socket_id, and a huge body', async () => {
    const { port } = await setup(cleanup, {
      maxRequestBodySize: 64 * 1024,
      apps: [{ ...APP, maxEventChannelsAtOnce: 3, maxEventPayloadSize: 1000, maxEventBatchSize: 2, maxEventNameLength: 20 }],
    });
    const post = (body: string) => signed(port, 'POST', events, body);
    expect((await post(event({ channels: ['a', 'b', 'c', 'd'] }))).status).toBe(413);
    expect((await post(event({ data: 'x'.repeat(1001) }))).status).toBe(413);
    expect((await post(event({ name: 'n'.repeat(21) }))).status).toBe(413);
    expect((await post(event({ channels: ['bad name'] }))).status).toBe(400);
    expect((await post(event({ socket_id: 'abc' }))).status).toBe(400);
    expect((await post(event({ data: { not: 'a string' } }))).status).toBe(400);
    expect((await post('not json')).status).toBe(400);
    const batch = (n: number) => JSON.stringify({ batch: Array.from({ length: n }, () => ({ channel: 'c', name: 'e', data: '1' })) });
    expect((await signed(port, 'POST', `/apps/${APP.id}/batch_events`, batch(2))).status).toBe(200);
    const big = await signed(port, 'POST', `/apps/${APP.id}/batch_events`, batch(3));
    expect(big.status).toBe(413);
    expect(big.body.error).toContain('at most 2');
    const huge = await signed(port, 'POST', events, event({ data: 'x'.repeat(70 * 1024) }));
    expect(huge.status).toBe(413);
    expect(huge.body.error).toContain('65536');
  });
});
