// The Pusher server with pusher-js's browser bundle (pusher-with-encryption.min.js, as shipped in
// the pusher-js 8 package) on a page in Debian's headless Chromium (browser.ts). The page talks
// to our PusherServer with the browser's own WebSocket; channel and user authorization go through
// the page's own origin (/pusher/auth and /pusher/user-auth, answered with the pusher server SDK),
// as in a real deployment. Node-side pusher-js clients and the SDK are the other parties.
import * as fs from 'node:fs';
import type * as http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Cleanup, requireFromRoot } from '../js/helpers';
import { APP, nextEvent, setup, type Setup, waitUntil } from '../js/pusher-helpers';
import { chromiumSkip as skip, openBrowserPage, type BrowserPage } from './browser';

if (skip) console.warn(`pusher-js in Chromium skipped: ${skip}`);

/** A fixed 32-byte key for private-encrypted- channels (test only). */
const MASTER_KEY = Buffer.alloc(32, 7).toString('base64');

function bundle(): string {
  const file = requireFromRoot.resolve('pusher-js/dist/web/pusher-with-encryption.min.js');
  // Inline <script>: a literal "</script" inside the bundle would end the element early.
  return fs.readFileSync(file, 'utf8').replace(/<\/script/gi, '<\\/script');
}

const PAGE = (port: number) => String.raw`<!doctype html>
<meta charset="utf-8">
<title>pusher-js on sockudo-ws</title>
<script>${bundle()}</script>
<script>
'use strict';
window.clients = {};
/** A pusher-js client as an app would configure one against a self-hosted server. */
function client(name, user) {
  const c = new Pusher('${APP.key}', {
    wsHost: '127.0.0.1', wsPort: ${port}, forceTLS: false, enabledTransports: ['ws'], disableStats: true, cluster: 'local',
    channelAuthorization: { endpoint: '/pusher/auth', transport: 'ajax', params: { user: user || name } },
    userAuthentication: { endpoint: '/pusher/user-auth', transport: 'ajax', params: { user: user || name } },
  });
  clients[name] = c;
  return c;
}
/** The next 'event' on a channel, connection or user (rejects after ms). */
function next(target, event, ms = 10000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no ' + event + ' within ' + ms + ' ms')), ms);
    const cb = (data) => { clearTimeout(timer); target.unbind(event, cb); resolve(data === undefined ? null : data); };
    target.bind(event, cb);
  });
}
function connected(c) { return c.connection.state === 'connected' ? Promise.resolve(c.connection.socket_id) : next(c.connection, 'connected').then(() => c.connection.socket_id); }
</script>
<p>pusher-js page</p>
`;

describe.skipIf(skip !== null)('pusher-js browser bundle in headless Chromium ↔ PusherServer', () => {
  const cleanup = new Cleanup();
  let browser: BrowserPage;
  let s: Setup;
  const authCalls: string[] = [];

  /** The page origin's auth endpoints: form-encoded bodies, as pusher-js's ajax transport posts them. */
  function routes(req: http.IncomingMessage, res: http.ServerResponse): boolean {
    if (req.method !== 'POST' || (req.url !== '/pusher/auth' && req.url !== '/pusher/user-auth')) return false;
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => body += c);
    req.on('end', () => {
      const form = new URLSearchParams(body);
      const socketId = form.get('socket_id') ?? '';
      const user = form.get('user') ?? 'anonymous';
      let answer: unknown;
      if (req.url === '/pusher/user-auth') {
        answer = s.sdk.authenticateUser(socketId, { id: user, user_info: { name: user } });
      } else {
        const channel = form.get('channel_name') ?? '';
        authCalls.push(channel);
        answer = channel.endsWith('-denied')
          ? { auth: `${APP.key}:${'0'.repeat(64)}` } // a signature the server must refuse
          : s.sdk.authorizeChannel(socketId, channel, channel.startsWith('presence-') ? { user_id: user, user_info: { name: user } } : undefined);
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer));
    });
    return true;
  }

  beforeAll(async () => {
    s = await setup(cleanup);
    // The SDK encrypts private-encrypted- payloads and derives the shared secret for authorization.
    const { PusherSDK } = await import('../js/pusher-helpers');
    s.sdk = new PusherSDK({ appId: APP.id, key: APP.key, secret: APP.secret, host: '127.0.0.1', port: String(s.port), useTLS: false, encryptionMasterKeyBase64: MASTER_KEY }) as Setup['sdk'];
    browser = await openBrowserPage(PAGE(s.port), { routes });
    expect(await browser.page.title()).toBe('pusher-js on sockudo-ws');
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await cleanup.run();
  }, 30_000);

  it('connects with protocol 7, subscribes to a public channel and receives SDK triggers (UTF-8 intact)', async () => {
    const socketId = await browser.evaluate<string>(`connected(client('a'))`, 15_000);
    expect(socketId).toMatch(/^\d+\.\d+$/);
    await browser.evaluate(`(async () => { const ch = clients.a.subscribe('news'); await next(ch, 'pusher:subscription_succeeded'); window.news = []; ch.bind('headline', (d) => news.push(d)); })()`, 10_000);
    await s.sdk.trigger('news', 'headline', { title: 'héllo 世界 🎉' });
    await s.sdk.triggerBatch([{ channel: 'news', name: 'headline', data: JSON.stringify({ title: 'batched' }) }]);
    const got = await browser.evaluate<unknown[]>(`(async () => { for (let i = 0; i < 100 && news.length < 2; i++) await new Promise((r) => setTimeout(r, 50)); return news; })()`, 10_000);
    expect(got).toEqual([{ title: 'héllo 世界 🎉' }, { title: 'batched' }]);
    const info = await s.sdk.get({ path: '/channels/news', params: { info: 'subscription_count' } });
    expect(await info.json()).toMatchObject({ occupied: true, subscription_count: 1 });
    expect(browser.pageErrors).toEqual([]);
  });

  it('private channel: authorized through the page origin; client events both ways, never echoed to the sender', async () => {
    const node = s.client({ userId: 'node-2' });
    await s.connected(node);
    const nodeCh = node.subscribe('private-chat');
    await nextEvent(nodeCh, 'pusher:subscription_succeeded');
    // Bound before the page triggers: the event may arrive before evaluate() returns.
    const fromBrowser = nextEvent(nodeCh, 'client-msg', 10_000);
    await browser.evaluate(`(async () => {
      const ch = clients.a.subscribe('private-chat');
      await next(ch, 'pusher:subscription_succeeded');
      window.chat = { echoed: 0, replies: [] };
      ch.bind('client-msg', () => chat.echoed++);
      ch.bind('client-reply', (d) => chat.replies.push(d));
      ch.trigger('client-msg', { n: 1 });
    })()`, 10_000);
    expect(await fromBrowser).toEqual({ n: 1 });
    nodeCh.trigger('client-reply', { ok: true });
    const chat = await browser.evaluate<{ echoed: number; replies: unknown[] }>(
      `(async () => { for (let i = 0; i < 100 && chat.replies.length < 1; i++) await new Promise((r) => setTimeout(r, 50)); await new Promise((r) => setTimeout(r, 200)); return chat; })()`, 10_000);
    expect(chat).toEqual({ echoed: 0, replies: [{ ok: true }] });
    expect(authCalls).toContain('private-chat');
  });

  it('a wrong signature from the auth endpoint: pusher:subscription_error in the page, the connection stays up', async () => {
    const result = await browser.evaluate<{ type: string; status: number; state: string }>(`(async () => {
      const ch = clients.a.subscribe('private-denied');
      const error = await next(ch, 'pusher:subscription_error');
      return { type: error.type, status: error.status, state: clients.a.connection.state };
    })()`, 10_000);
    expect(result).toEqual({ type: 'AuthError', status: 401, state: 'connected' });
    expect(authCalls).toContain('private-denied');
  });

  it('presence: the member hash, member_added and member_removed seen by the browser', async () => {
    const first = s.client({ userId: 'node-p1' });
    await s.connected(first);
    const firstCh = first.subscribe('presence-lobby');
    await nextEvent(firstCh, 'pusher:subscription_succeeded');
    const members = await browser.evaluate<{ count: number; me: string; ids: string[] }>(`(async () => {
      const ch = clients.a.subscribe('presence-lobby');
      const m = await next(ch, 'pusher:subscription_succeeded');
      window.lobby = { added: [], removed: [] };
      ch.bind('pusher:member_added', (x) => lobby.added.push(x.id));
      ch.bind('pusher:member_removed', (x) => lobby.removed.push(x.id));
      const ids = []; m.each((x) => ids.push(x.id));
      return { count: m.count, me: m.me.id, ids: ids.sort() };
    })()`, 10_000);
    expect(members).toEqual({ count: 2, me: 'a', ids: ['a', 'node-p1'] });
    const second = s.client({ userId: 'node-p2' });
    await s.connected(second);
    await nextEvent(second.subscribe('presence-lobby'), 'pusher:subscription_succeeded');
    second.disconnect();
    const lobby = await browser.evaluate<{ added: string[]; removed: string[] }>(
      `(async () => { for (let i = 0; i < 100 && lobby.removed.length < 1; i++) await new Promise((r) => setTimeout(r, 50)); return lobby; })()`, 10_000);
    expect(lobby).toEqual({ added: ['node-p2'], removed: ['node-p2'] });
  });

  it('private-encrypted: the SDK encrypts, the server relays the ciphertext untouched, the browser decrypts', async () => {
    await browser.evaluate(`(async () => {
      const ch = clients.a.subscribe('private-encrypted-vault');
      await next(ch, 'pusher:subscription_succeeded');
      window.vault = [];
      ch.bind('secret', (d) => vault.push(d));
    })()`, 10_000);
    // A raw client on the same channel sees what the server relays: ciphertext and nonce, no plaintext.
    const raw = await s.raw();
    const established = await raw.next('pusher:connection_established');
    const socketId = (established.data as { socket_id: string }).socket_id;
    raw.send('pusher:subscribe', { channel: 'private-encrypted-vault', auth: s.sdk.authorizeChannel(socketId, 'private-encrypted-vault').auth });
    await raw.next('pusher_internal:subscription_succeeded');
    await s.sdk.trigger('private-encrypted-vault', 'secret', { pin: '4321' });
    const relayed = await raw.next('secret');
    expect(relayed.data).toMatchObject({ ciphertext: expect.any(String), nonce: expect.any(String) });
    expect(JSON.stringify(relayed)).not.toContain('4321');
    const vault = await browser.evaluate<unknown[]>(
      `(async () => { for (let i = 0; i < 100 && vault.length < 1; i++) await new Promise((r) => setTimeout(r, 50)); return vault; })()`, 10_000);
    expect(vault).toEqual([{ pin: '4321' }]);
  });

  it('signin: the browser signs in through /pusher/user-auth, gets sendToUser events, and terminate_connections disconnects it', async () => {
    await browser.evaluate(`(async () => {
      const c = client('signed', 'user-77');
      await connected(c);
      window.userEvents = [];
      c.user.bind('greeting', (d) => userEvents.push(d));
      c.signin();
      // After pusher:signin_success pusher-js subscribes to #server-to-user-<id>.
      for (let i = 0; i < 200 && !(c.user.serverToUserChannel && c.user.serverToUserChannel.subscribed); i++) await new Promise((r) => setTimeout(r, 50));
      if (!c.user.serverToUserChannel || !c.user.serverToUserChannel.subscribed) throw new Error('not signed in: ' + JSON.stringify(c.user.user_data || null));
      return c.user.user_data;
    })()`, 15_000);
    await waitUntil(() => s.server.app(APP.id)!.users.has('user-77'), 'user-77 signed in');
    await s.sdk.sendToUser('user-77', 'greeting', { hi: 'there' });
    const events = await browser.evaluate<unknown[]>(
      `(async () => { for (let i = 0; i < 100 && userEvents.length < 1; i++) await new Promise((r) => setTimeout(r, 50)); return userEvents; })()`, 10_000);
    expect(events).toEqual([{ hi: 'there' }]);
    await s.sdk.terminateUserConnections('user-77');
    const state = await browser.evaluate<string>(
      `(async () => { const c = clients.signed; for (let i = 0; i < 100 && c.connection.state === 'connected'; i++) await new Promise((r) => setTimeout(r, 50)); return c.connection.state; })()`, 10_000);
    expect(state).not.toBe('connected');
    await waitUntil(() => !s.server.app(APP.id)!.users.has('user-77'), 'user-77 gone');
    expect(await browser.evaluate<string>(`clients.a.connection.state`, 5000)).toBe('connected');
  });

  it('an unknown app key: the browser client gets error 4001 and does not reconnect', async () => {
    const result = await browser.evaluate<{ code: number | null; state: string }>(`(async () => {
      const c = new Pusher('no-such-key', { wsHost: '127.0.0.1', wsPort: ${s.port}, forceTLS: false, enabledTransports: ['ws'], disableStats: true, cluster: 'local' });
      const errors = [];
      c.connection.bind('error', (e) => errors.push(e));
      for (let i = 0; i < 100 && errors.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 300));
      const out = { errors: JSON.stringify(errors), code: errors.map((e) => e && e.error && e.error.data && e.error.data.code).find((x) => x) || null, state: c.connection.state };
      c.disconnect();
      return out;
    })()`, 10_000);
    expect(result.code, JSON.stringify(result)).toBe(4001);
    // Close codes 4000–4099 mean "do not reconnect" to pusher-js.
    expect(result.state).toBe('disconnected');
  });
});
