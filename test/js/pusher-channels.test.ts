// The Pusher server with real clients: pusher-js 8 (Node build) and the pusher server SDK. Every
// channel type with right and wrong auth, presence membership rules and limits, cache channels,
// client events (enabled, disabled, too large, rate, not echoed), socket_id exclusion, signin.
import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';

import { Cleanup } from './helpers';
import { APP, nextEvent, setup, waitUntil } from './pusher-helpers';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

describe('public channels', () => {
  it('pusher-js connects, subscribes and receives an event triggered through the SDK', async () => {
    const { client, connected, sdk } = await setup(cleanup);
    const c = client();
    expect(await connected(c)).toMatch(/^\d+\.\d+$/);
    const ch = c.subscribe('news');
    await nextEvent(ch, 'pusher:subscription_succeeded');
    const got = nextEvent(ch, 'headline');
    const r = await sdk.trigger('news', 'headline', { title: 'hello' });
    expect(r.status).toBe(200);
    expect(await got).toEqual({ title: 'hello' });
  });

  it('one trigger reaches every subscriber; after unsubscribe a client gets nothing more', async () => {
    const { client, connected, sdk, server } = await setup(cleanup);
    const clients = [client(), client(), client()];
    await Promise.all(clients.map(connected));
    const got: number[] = [0, 0, 0];
    const channels = clients.map((c, i) => {
      const ch = c.subscribe('fan');
      ch.bind('tick', () => got[i]!++);
      return ch;
    });
    await Promise.all(channels.map((ch) => nextEvent(ch, 'pusher:subscription_succeeded')));
    await sdk.trigger('fan', 'tick', '1');
    await waitUntil(() => got.every((n) => n === 1), 'three deliveries');
    clients[2]!.unsubscribe('fan');
    await waitUntil(() => server.app(APP.id)!.info('fan').subscription_count === 2, 'unsubscribed');
    await sdk.trigger('fan', 'tick', '2');
    await waitUntil(() => got[0] === 2 && got[1] === 2, 'two deliveries');
    expect(got[2]).toBe(1);
  });

  it('socket_id excludes the sender from an HTTP trigger', async () => {
    const { client, connected, sdk } = await setup(cleanup);
    const a = client();
    const b = client();
    const aId = await connected(a);
    await connected(b);
    const got: string[] = [];
    for (const [name, c] of [['a', a], ['b', b]] as const) {
      const ch = c.subscribe('room');
      ch.bind('ev', (d: string) => got.push(`${name}:${d}`));
      await nextEvent(ch, 'pusher:subscription_succeeded');
    }
    await sdk.trigger('room', 'ev', 'x', { socket_id: aId });
    await sdk.trigger('room', 'ev', 'y');
    await waitUntil(() => got.length === 3, 'deliveries');
    expect(got.sort()).toEqual(['a:y', 'b:x', 'b:y']);
  });

  it('invalid and too long channel names are refused with pusher:subscription_error', async () => {
    const { raw } = await setup(cleanup, { apps: [{ ...APP, maxChannelNameLength: 20 }] });
    const c = await raw();
    await c.next('pusher:connection_established');
    c.send('pusher:subscribe', { channel: 'x'.repeat(21) });
    expect((await c.next('pusher:subscription_error')).data).toMatchObject({ status: 4009, error: expect.stringContaining('longer than 20') });
    c.send('pusher:subscribe', { channel: 'bad name!' });
    expect((await c.next('pusher:subscription_error')).data).toMatchObject({ type: 'InvalidChannel' });
    c.send('pusher:subscribe', { channel: '#server-to-user-1' });
    expect((await c.next('pusher:subscription_error')).channel).toBe('#server-to-user-1');
  });
});

describe('private and encrypted channels', () => {
  it('a correct signature subscribes; a wrong one gets an AuthError', async () => {
    const { client, connected } = await setup(cleanup);
    const good = client();
    await connected(good);
    await nextEvent(good.subscribe('private-ok'), 'pusher:subscription_succeeded');
    const bad = client({ channelAuthorization: { customHandler: (_p: unknown, cb: (e: unknown, r: unknown) => void) => cb(null, { auth: `${APP.key}:${'0'.repeat(64)}` }) } });
    await connected(bad);
    const err = await nextEvent(bad.subscribe('private-no'), 'pusher:subscription_error');
    expect(err).toMatchObject({ type: 'AuthError', status: 401 });
  });

  it('a signature for another socket or channel is refused (raw protocol)', async () => {
    const { raw, sdk } = await setup(cleanup);
    const c = await raw();
    const established = await c.next('pusher:connection_established');
    const socketId = established.data.socket_id as string;
    c.send('pusher:subscribe', { channel: 'private-a', auth: sdk.authorizeChannel('1.1', 'private-a').auth });
    expect((await c.next('pusher:subscription_error')).data.type).toBe('AuthError');
    c.send('pusher:subscribe', { channel: 'private-a', auth: sdk.authorizeChannel(socketId, 'private-b').auth });
    expect((await c.next('pusher:subscription_error')).data.type).toBe('AuthError');
    c.send('pusher:subscribe', { channel: 'private-a', auth: sdk.authorizeChannel(socketId, 'private-a').auth });
    expect((await c.next('pusher_internal:subscription_succeeded')).channel).toBe('private-a');
  });

  it('private-encrypted channels: auth checked, payloads relayed untouched', async () => {
    const { raw, sdk } = await setup(cleanup);
    const c = await raw();
    const socketId = (await c.next('pusher:connection_established')).data.socket_id as string;
    c.send('pusher:subscribe', { channel: 'private-encrypted-x', auth: 'key-1:nope' });
    expect((await c.next('pusher:subscription_error')).data.type).toBe('AuthError');
    // (The SDK's authorizeChannel also derives a shared secret for encrypted channels; the server only checks the signature.)
    const auth = `${APP.key}:${createHmac('sha256', APP.secret).update(`${socketId}:private-encrypted-x`).digest('hex')}`;
    c.send('pusher:subscribe', { channel: 'private-encrypted-x', auth });
    await c.next('pusher_internal:subscription_succeeded');
    const ciphertext = JSON.stringify({ nonce: 'bm9uY2U=', ciphertext: 'c2VjcmV0' });
    await sdk.post({ path: '/events', body: { name: 'secret', channels: ['private-encrypted-x'], data: ciphertext } });
    expect((await c.next('secret')).data).toEqual(JSON.parse(ciphertext));
  });
});

describe('presence channels', () => {
  it('members: subscription_succeeded lists them, member_added / member_removed reach the others', async () => {
    const { client, connected } = await setup(cleanup);
    const a = client({ userId: 'alice' });
    const b = client({ userId: 'bob' });
    await Promise.all([connected(a), connected(b)]);
    const chA = a.subscribe('presence-room');
    const meA = await nextEvent(chA, 'pusher:subscription_succeeded');
    expect(meA.count).toBe(1);
    const added = nextEvent(chA, 'pusher:member_added');
    const chB = b.subscribe('presence-room');
    const membersB = await nextEvent(chB, 'pusher:subscription_succeeded');
    expect(membersB.count).toBe(2);
    expect(await added).toEqual({ id: 'bob', info: { name: 'bob' } });
    const removed = nextEvent(chA, 'pusher:member_removed');
    b.disconnect();
    expect(await removed).toEqual({ id: 'bob', info: { name: 'bob' } });
  });

  it('one member per user id across that user\'s connections', async () => {
    const { client, connected, sdk, server } = await setup(cleanup);
    const watcher = client({ userId: 'w' });
    await connected(watcher);
    const chW = watcher.subscribe('presence-one');
    await nextEvent(chW, 'pusher:subscription_succeeded');
    const events: string[] = [];
    chW.bind('pusher:member_added', (m: { id: string }) => events.push(`+${m.id}`));
    chW.bind('pusher:member_removed', (m: { id: string }) => events.push(`-${m.id}`));
    const tabs = [client({ userId: 'carol' }), client({ userId: 'carol' })];
    for (const t of tabs) {
      await connected(t);
      await nextEvent(t.subscribe('presence-one'), 'pusher:subscription_succeeded');
    }
    const users = await (await sdk.get({ path: '/channels/presence-one/users' })).json() as { users: { id: string }[] };
    expect(users.users.map((u) => u.id).sort()).toEqual(['carol', 'w']);
    tabs[0]!.disconnect();
    await waitUntil(() => server.app(APP.id)!.info('presence-one').subscription_count === 2, 'first tab gone');
    expect(events).toEqual(['+carol']);
    tabs[1]!.disconnect();
    await waitUntil(() => events.length === 2, 'member_removed');
    expect(events).toEqual(['+carol', '-carol']);
  });

  it('wrong auth, missing channel_data, member limit and member size limit are refused', async () => {
    const { raw, sdk } = await setup(cleanup, { apps: [{ ...APP, maxPresenceMembersPerChannel: 2, maxPresenceMemberSize: 100 }] });
    const join = async (userId: string, info: unknown = {}) => {
      const c = await raw();
      const socketId = (await c.next('pusher:connection_established')).data.socket_id as string;
      const a = sdk.authorizeChannel(socketId, 'presence-lim', { user_id: userId, user_info: info });
      c.send('pusher:subscribe', { channel: 'presence-lim', auth: a.auth, channel_data: a.channel_data });
      return { c, socketId };
    };
    const one = await join('1');
    await one.c.next('pusher_internal:subscription_succeeded');
    const two = await join('2');
    await two.c.next('pusher_internal:subscription_succeeded');
    const same = await join('2');  // the same user again: not a new member
    await same.c.next('pusher_internal:subscription_succeeded');
    const three = await join('3');
    expect((await three.c.next('pusher:subscription_error')).data).toMatchObject({ type: 'LimitReached' });
    const big = await join('1', { blob: 'x'.repeat(200) });
    expect((await big.c.next('pusher:subscription_error')).data).toMatchObject({ type: 'LimitReached', error: expect.stringContaining('100 bytes') });
    const wrong = await raw();
    const sid = (await wrong.next('pusher:connection_established')).data.socket_id as string;
    const a = sdk.authorizeChannel(sid, 'presence-lim', { user_id: '1' });
    wrong.send('pusher:subscribe', { channel: 'presence-lim', auth: a.auth, channel_data: JSON.stringify({ user_id: 'admin' }) });
    expect((await wrong.next('pusher:subscription_error')).data.type).toBe('AuthError');
    wrong.send('pusher:subscribe', { channel: 'presence-lim', auth: a.auth });
    expect((await wrong.next('pusher:subscription_error')).data.type).toBe('AuthError');
  });
});

describe('cache channels', () => {
  it('pusher:cache_miss when empty; the last event is replayed to a new subscriber', async () => {
    const { client, connected, sdk } = await setup(cleanup);
    const a = client();
    await connected(a);
    const ch = a.subscribe('cache-quotes');
    const miss = nextEvent(ch, 'pusher:cache_miss');
    await nextEvent(ch, 'pusher:subscription_succeeded');
    await miss;
    await sdk.trigger('cache-quotes', 'price', { v: 1 });
    await sdk.trigger('cache-quotes', 'price', { v: 2 });
    const b = client();
    await connected(b);
    const chB = b.subscribe('cache-quotes');
    expect(await nextEvent(chB, 'price')).toEqual({ v: 2 });
  });
});

describe('cache channels: the server\'s own events', () => {
  it('presence-cache-: member_added / member_removed are not replayed as the channel\'s last event', async () => {
    // Regression: the server's pusher_internal: events went through the same cache as app events,
    // so a new subscriber got a stale member_removed instead of the last event.
    const { raw, sdk } = await setup(cleanup);
    const join = async (user: string) => {
      const c = await raw();
      const socketId = (await c.next('pusher:connection_established')).data.socket_id as string;
      const auth = sdk.authorizeChannel(socketId, 'presence-cache-room', { user_id: user });
      c.send('pusher:subscribe', { channel: 'presence-cache-room', ...auth });
      await c.next('pusher_internal:subscription_succeeded');
      return c;
    };
    const first = await join('u1');
    await sdk.trigger('presence-cache-room', 'score', { v: 42 });
    await first.next('score');
    const second = await join('u2');
    second.ws.terminate();
    await first.next('pusher_internal:member_removed');
    const third = await join('u3');
    const replay = await third.next('score');
    expect(replay.data).toEqual({ v: 42 });
    expect(third.messages.filter((m) => m.event.startsWith('pusher_internal:member'))).toEqual([]);
  });
});

describe('subscription counting (enableSubscriptionCount)', () => {
  it('subscribers get pusher:subscription_count (coalesced) on public channels, not on presence channels; off by default', async () => {
    const { client, connected } = await setup(cleanup, { subscriptionCountInterval: 50, apps: [{ ...APP, enableSubscriptionCount: true }] });
    const clients = Array.from({ length: 5 }, () => client());
    await Promise.all(clients.map(connected));
    const counts: number[] = [];
    const chs = clients.map((c) => c.subscribe('stadium'));
    chs[0]!.bind('pusher:subscription_count', (d: { subscription_count: number }) => counts.push(d.subscription_count));
    await Promise.all(chs.map((ch) => nextEvent(ch, 'pusher:subscription_succeeded')));
    await waitUntil(() => counts.at(-1) === 5, 'count 5');
    // Five joins within one interval are one or two events, not five.
    expect(counts.length).toBeLessThanOrEqual(2);
    clients[4]!.unsubscribe('stadium');
    clients[3]!.disconnect();
    await waitUntil(() => counts.at(-1) === 3, 'count 3');
    const p = clients[0]!.subscribe('presence-count');
    let presenceCounts = 0;
    p.bind('pusher:subscription_count', () => presenceCounts++);
    await nextEvent(p, 'pusher:subscription_succeeded');
    await new Promise((r) => setTimeout(r, 200));
    expect(presenceCounts).toBe(0);

    const plain = await setup(cleanup, { subscriptionCountInterval: 50 });
    const r = await plain.raw();
    await r.next('pusher:connection_established');
    r.send('pusher:subscribe', { channel: 'stadium' });
    await r.next('pusher_internal:subscription_succeeded');
    await new Promise((res) => setTimeout(res, 200));
    expect(r.messages.map((m) => m.event)).not.toContain('pusher_internal:subscription_count');
  });
});

describe('client events', () => {
  it('relayed to the other subscribers (not echoed), with user_id on presence channels', async () => {
    const { client, connected } = await setup(cleanup);
    const a = client({ userId: 'alice' });
    const b = client({ userId: 'bob' });
    await Promise.all([connected(a), connected(b)]);
    const chA = a.subscribe('presence-chat');
    const chB = b.subscribe('presence-chat');
    await Promise.all([nextEvent(chA, 'pusher:subscription_succeeded'), nextEvent(chB, 'pusher:subscription_succeeded')]);
    const echoed: unknown[] = [];
    chA.bind('client-typing', (d: unknown) => echoed.push(d));
    const got = new Promise<[unknown, unknown]>((resolve) => chB.bind('client-typing', (d: unknown, meta: unknown) => resolve([d, meta])));
    expect(chA.trigger('client-typing', { on: true })).toBe(true);
    const [data, meta] = await got;
    expect(data).toEqual({ on: true });
    expect(meta).toEqual({ user_id: 'alice' });
    await new Promise((r) => setTimeout(r, 50));
    expect(echoed).toEqual([]);
  });

  it('refused with 4301 when the app disables them, on public channels, unsubscribed, too large or too fast', async () => {
    const disabled = await setup(cleanup, { apps: [{ ...APP, enableClientMessages: false }] });
    const d = await disabled.raw();
    const sid = (await d.next('pusher:connection_established')).data.socket_id as string;
    d.send('pusher:subscribe', { channel: 'private-c', auth: disabled.sdk.authorizeChannel(sid, 'private-c').auth });
    await d.next('pusher_internal:subscription_succeeded');
    d.send('client-x', {}, 'private-c');
    expect((await d.next('pusher:error')).data).toMatchObject({ code: 4301, message: expect.stringContaining('not have client messaging enabled') });

    const { raw, sdk } = await setup(cleanup, { apps: [{ ...APP, maxEventPayloadSize: 100, maxClientEventsPerSecond: 3 }] });
    const c = await raw();
    const other = await raw();
    const socketId = (await c.next('pusher:connection_established')).data.socket_id as string;
    const otherId = (await other.next('pusher:connection_established')).data.socket_id as string;
    c.send('pusher:subscribe', { channel: 'public-c' });
    await c.next('pusher_internal:subscription_succeeded');
    c.send('client-x', {}, 'public-c');
    expect((await c.next('pusher:error')).data.message).toContain('private and presence');
    c.send('client-x', {}, 'private-not-joined');
    expect((await c.next('pusher:error')).data.message).toContain('subscribed');
    for (const [s, id] of [[c, socketId], [other, otherId]] as const) {
      s.send('pusher:subscribe', { channel: 'private-c', auth: sdk.authorizeChannel(id, 'private-c').auth });
      await s.next('pusher_internal:subscription_succeeded');
    }
    c.send('client-big', 'x'.repeat(101), 'private-c');
    expect((await c.next('pusher:error')).data).toMatchObject({ code: 4301, message: expect.stringContaining('100 bytes') });
    // Within one second window (the limit counts per wall-clock second).
    await waitUntil(() => Date.now() % 1000 < 500, 'the first half of a second');
    for (let i = 0; i < 5; i++) c.send('client-fast', String(i), 'private-c');
    expect((await c.next('pusher:error')).data.message).toContain('per second');
    await waitUntil(() => other.messages.filter((m) => m.event === 'client-fast').length === 3, 'three relayed');
    expect(other.messages.some((m) => m.event === 'client-big')).toBe(false);
    expect(c.ws.readyState).toBe(1);  // errors do not close the connection
  });
});

describe('user authentication', () => {
  it('signin succeeds; sendToUser reaches every connection of the user; terminate closes them with 4009', async () => {
    const { client, connected, sdk } = await setup(cleanup);
    const userAuthentication = {
      customHandler: (p: { socketId: string }, cb: (e: unknown, r: unknown) => void) => cb(null, sdk.authenticateUser(p.socketId, { id: 'u7', name: 'Seven' })),
    };
    const tabs = [client({ userAuthentication }), client({ userAuthentication })];
    await Promise.all(tabs.map(connected));
    const got: unknown[] = [];
    const signedIn = tabs.map((t) => new Promise<void>((resolve) => t.connection.bind('message', (m: { event: string }) => m.event === 'pusher:signin_success' && resolve())));
    for (const t of tabs) {
      t.user.bind('note', (d: unknown) => got.push(d));
      t.signin();
    }
    await Promise.all(signedIn);
    await sdk.sendToUser('u7', 'note', { n: 1 });
    await waitUntil(() => got.length === 2, 'both tabs');
    const closes = tabs.map((t) => new Promise<number>((resolve) => t.connection.bind('error', (e: { data?: { code?: number } }) => resolve(e.data?.code ?? 0))));
    expect((await sdk.terminateUserConnections('u7')).status).toBe(200);
    expect(await Promise.all(closes)).toEqual([4009, 4009]);
  });

  it('after signin, pusher-js\'s subscribe to its own #server-to-user- channel succeeds; another user\'s is refused', async () => {
    // pusher-js subscribes to #server-to-user-<id> after pusher:signin_success and waits for
    // pusher_internal:subscription_succeeded; an error there left its user channel unsubscribed.
    const { raw, sdk } = await setup(cleanup);
    const c = await raw();
    const socketId = (await c.next('pusher:connection_established')).data.socket_id as string;
    c.send('pusher:subscribe', { channel: '#server-to-user-u9' });
    expect((await c.next('pusher:subscription_error')).channel).toBe('#server-to-user-u9');
    c.send('pusher:signin', sdk.authenticateUser(socketId, { id: 'u9' }));
    await c.next('pusher:signin_success');
    c.send('pusher:subscribe', { channel: '#server-to-user-u9' });
    expect((await c.next('pusher_internal:subscription_succeeded')).channel).toBe('#server-to-user-u9');
    c.send('pusher:subscribe', { channel: '#server-to-user-u8' });
    expect((await c.next('pusher:subscription_error')).channel).toBe('#server-to-user-u8');
    expect(c.messages.filter((m) => m.event === 'pusher:subscription_error')).toHaveLength(2);
  });

  it('a bad signin is closed with 4009; with enableUserAuthentication a connection that never signs in is too', async () => {
    const { raw } = await setup(cleanup);
    const c = await raw();
    await c.next('pusher:connection_established');
    c.send('pusher:signin', { auth: `${APP.key}:bad`, user_data: JSON.stringify({ id: '1' }) });
    expect((await c.next('pusher:error')).data.code).toBe(4009);
    expect((await c.closed)[0]).toBe(4009);

    const strict = await setup(cleanup, { apps: [{ ...APP, enableUserAuthentication: true, userAuthenticationTimeout: 300 }] });
    const s = await strict.raw();
    await s.next('pusher:connection_established');
    expect((await s.closed)[0]).toBe(4009);
  });
});
