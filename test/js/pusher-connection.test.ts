// Pusher connections: connection_established, refusals with Pusher's codes (unknown app 4001,
// disabled 4003, app quota 4004, server capacity 4100, protocol 4007/4008), pusher:ping/pong,
// the server's inactivity ping and 4201, the path, and option validation.
import { afterEach, describe, expect, it } from 'vitest';

import { Cleanup, within } from './helpers';
import { APP, lib, pusher, setup, waitUntil } from './pusher-helpers';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

describe('connecting', () => {
  it('connection_established carries a socket id and activity_timeout; pusher:ping is answered', async () => {
    const { raw } = await setup(cleanup, { activityTimeout: 42 });
    const c = await raw();
    const established = await c.next('pusher:connection_established');
    expect(established.data).toEqual({ socket_id: expect.stringMatching(/^\d+\.\d+$/), activity_timeout: 42 });
    c.send('pusher:ping', {});
    await c.next('pusher:pong');
  });

  it('unknown key → 4001; pusher-js reports the error', async () => {
    const { raw, client } = await setup(cleanup);
    const c = await raw('/app/nope?protocol=7');
    expect((await c.next('pusher:error')).data).toMatchObject({ code: 4001 });
    expect((await c.closed)[0]).toBe(4001);
    const js = client({}, 'nope');
    // pusher-js wraps a refusal during its handshake: { type: 'WebSocketError', error: { type: 'PusherError', data } }.
    const code = await within(new Promise((resolve) => js.connection.bind('error', (e: { data?: { code?: number }; error?: { data?: { code?: number } } }) => {
      const c = e.data?.code ?? e.error?.data?.code;
      if (c !== undefined) resolve(c);
    })), 5000, 'pusher-js error with a code');
    expect(code).toBe(4001);
  });

  it('disabled app → 4003; missing / unsupported protocol → 4008 / 4007; other paths → 404', async () => {
    const { raw, port } = await setup(cleanup, { apps: [APP, { id: 'off', key: 'off-key', secret: 's', enabled: false }] });
    expect((await (await raw('/app/off-key?protocol=7')).closed)[0]).toBe(4003);
    expect((await (await raw(`/app/${APP.key}`)).closed)[0]).toBe(4008);
    expect((await (await raw(`/app/${APP.key}?protocol=3`)).closed)[0]).toBe(4007);
    await expect(lib.connect(`ws://127.0.0.1:${port}/elsewhere`)).rejects.toMatchObject({ status: 404 });
  });

  it('app connection quota → 4004, server capacity → 4100; closing frees the slot', async () => {
    const quota = await setup(cleanup, { apps: [{ ...APP, maxConnections: 2 }] });
    const a = await quota.raw();
    await a.next('pusher:connection_established');
    const b = await quota.raw();
    await b.next('pusher:connection_established');
    const c = await quota.raw();
    expect((await c.next('pusher:error')).data.code).toBe(4004);
    expect((await c.closed)[0]).toBe(4004);
    a.ws.close();
    await a.closed;
    await within((async () => { while (quota.server.connectionCount !== 1) await new Promise((r) => setTimeout(r, 5)); })(), 5000, 'count');
    const d = await quota.raw();
    await d.next('pusher:connection_established');

    const capacity = await setup(cleanup, { maxConnections: 1 });
    const e = await capacity.raw();
    await e.next('pusher:connection_established');
    const f = await capacity.raw();
    expect((await f.closed)[0]).toBe(4100);
  });

  it('a silent connection is pinged after activity_timeout and closed with 4201 without a pong', async () => {
    const { raw } = await setup(cleanup, { activityTimeout: 1, pongTimeout: 500 });
    const answering = await raw();
    const silent = await raw();
    await answering.next('pusher:connection_established');
    await silent.next('pusher:connection_established');
    let pings = 0;
    answering.ws.on('message', (m) => {
      if (String(m).includes('"pusher:ping"')) {
        pings++;
        answering.send('pusher:pong', {});
      }
    });
    await silent.next('pusher:ping', 4000);
    expect((await within(silent.closed, 4000, '4201'))[0]).toBe(4201);
    expect(pings).toBeGreaterThan(0);
    expect(answering.ws.readyState).toBe(1);
  });

  it('server.close() sends pusher:error 4200 and closes with 4200, so pusher-js reconnects at once', async () => {
    const { raw, client, connected, server } = await setup(cleanup);
    const r = await raw();
    await r.next('pusher:connection_established');
    const c = client();
    await connected(c);
    const states: string[] = [];
    c.connection.bind('state_change', (s: { current: string }) => states.push(s.current));
    await server.close();
    expect((await r.next('pusher:error')).data).toEqual({ code: 4200, message: 'Server is closing. Please reconnect shortly.' });
    expect((await r.closed)[0]).toBe(4200);
    // 4200–4299: pusher-js retries without a backoff pause.
    await waitUntil(() => states.includes('connecting'), 'pusher-js reconnecting');
    expect(states[0]).toBe('connecting');
  });

  it('options are validated with typed errors', () => {
    expect(() => new pusher.PusherServer({ port: 0, apps: [] })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => new pusher.PusherServer({ port: 0, apps: [{ id: 'a', key: 'k' } as never] })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => new pusher.PusherServer({ port: 0, apps: [APP, { ...APP, id: 'other' }] })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => new pusher.PusherServer({ port: 0, bogus: 1 } as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => new pusher.PusherServer({ port: 0, activityTimeout: 0 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => new pusher.PusherServer({ port: 0, apps: [{ ...APP, webhooks: [{ url: 'ftp://x' }] }] })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
  });
});
