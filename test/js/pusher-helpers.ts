// Shared by the Pusher server's tests: a server on 127.0.0.1:0, pusher-js clients (Node build:
// ws transport, no stats, a cluster because pusher-js 8 requires one), the pusher server SDK
// pointed at it, and a raw protocol client (sockudo-ws's own connect) for exact frames.
import type { AddressInfo } from 'node:net';

import { Cleanup, loadPackage, requireFromRoot, waitUntil, within } from './helpers';

export type PusherModule = typeof import('../../lib/pusher/index');
export const pusher = requireFromRoot('sockudo-ws/pusher') as PusherModule;
export const lib = loadPackage();
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const PusherJS = requireFromRoot('pusher-js') as new (key: string, options: Record<string, unknown>) => PusherClient;
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const PusherSDK = requireFromRoot('pusher') as new (options: Record<string, unknown>) => Sdk;

export interface PusherChannel {
  name: string;
  bind(event: string, cb: (data: any, meta?: any) => void): void;
  trigger(event: string, data: unknown): boolean;
  members?: { count: number; me: { id: string; info: unknown } | null; each(cb: (m: { id: string; info: unknown }) => void): void };
}

export interface PusherClient {
  connection: { state: string; socket_id: string; bind(event: string, cb: (data: any) => void): void };
  subscribe(name: string): PusherChannel;
  unsubscribe(name: string): void;
  signin(): void;
  user: { bind(event: string, cb: (data: any) => void): void };
  disconnect(): void;
}

export interface Sdk {
  trigger(channels: string | string[], event: string, data: unknown, params?: Record<string, unknown>): Promise<Response>;
  triggerBatch(batch: Record<string, unknown>[]): Promise<Response>;
  get(options: { path: string; params?: Record<string, unknown> }): Promise<Response>;
  post(options: { path: string; body: unknown }): Promise<Response>;
  sendToUser(userId: string, event: string, data: unknown): Promise<Response>;
  terminateUserConnections(userId: string): Promise<Response>;
  authorizeChannel(socketId: string, channel: string, presence?: Record<string, unknown>): { auth: string; channel_data?: string };
  authenticateUser(socketId: string, userData: Record<string, unknown>): { auth: string; user_data: string };
  webhook(request: { headers: Record<string, string>; rawBody: string }): { isValid(extra?: unknown): boolean; getEvents(): any[]; getTime(): Date };
}

export const APP = { id: 'app-1', key: 'key-1', secret: 'secret-1', enableClientMessages: true } as const;

export interface Setup {
  server: InstanceType<PusherModule['PusherServer']>;
  port: number;
  sdk: Sdk;
  client(options?: Record<string, unknown>, key?: string): PusherClient;
  connected(client: PusherClient): Promise<string>;
  raw(path?: string): Promise<RawClient>;
}

export interface RawClient {
  ws: import('sockudo-ws').WebSocket;
  messages: { event: string; channel?: string; data?: any; user_id?: string }[];
  closed: Promise<[number, string]>;
  send(event: string, data: unknown, channel?: string): void;
  next(event: string, ms?: number): Promise<{ event: string; channel?: string; data?: any; user_id?: string }>;
}

export function sdkFor(port: number, app: { id: string; key: string; secret: string } = APP): Sdk {
  return new PusherSDK({ appId: app.id, key: app.key, secret: app.secret, host: '127.0.0.1', port: String(port), useTLS: false });
}

export async function setup(cleanup: Cleanup, options: Record<string, unknown> = {}): Promise<Setup> {
  const server = cleanup.add(new pusher.PusherServer({ port: 0, host: '127.0.0.1', apps: [APP], ...options }), (s) => s.close());
  await within(server.listening(), 5000, 'listening');
  const port = (server.address() as AddressInfo).port;
  const sdk = sdkFor(port, (options.apps as typeof APP[] | undefined)?.[0] ?? APP);
  const authorize = (p: { socketId: string; channelName: string }, cb: (e: unknown, r: unknown) => void, userId = 'user-1') => {
    const presence = p.channelName.startsWith('presence-') ? { user_id: userId, user_info: { name: userId } } : undefined;
    cb(null, sdk.authorizeChannel(p.socketId, p.channelName, presence));
  };
  return {
    server,
    port,
    sdk,
    client(extra = {}, key = APP.key) {
      const c = new PusherJS(key, {
        wsHost: '127.0.0.1', wsPort: port, forceTLS: false, enabledTransports: ['ws'], disableStats: true, cluster: 'local',
        channelAuthorization: { customHandler: (p: { socketId: string; channelName: string }, cb: (e: unknown, r: unknown) => void) => authorize(p, cb, (extra.userId as string | undefined) ?? 'user-1') },
        ...extra,
      });
      cleanup.add(c, (x) => x.disconnect());
      return c;
    },
    connected: (c) => within(new Promise<string>((resolve) => {
      if (c.connection.state === 'connected') resolve(c.connection.socket_id);
      c.connection.bind('connected', () => resolve(c.connection.socket_id));
    }), 5000, 'pusher-js connected'),
    async raw(path = `/app/${APP.key}?protocol=7&client=raw&version=1`) {
      const ws = cleanup.add(await lib.connect(`ws://127.0.0.1:${port}${path}`), (w) => w.terminate());
      const messages: RawClient['messages'] = [];
      const waiters: (() => void)[] = [];
      ws.on('message', (m) => {
        const msg = JSON.parse(String(m)) as RawClient['messages'][number];
        if (typeof msg.data === 'string') {
          try {
            msg.data = JSON.parse(msg.data);
          } catch { /* a plain string */ }
        }
        messages.push(msg);
        for (const w of waiters.splice(0)) w();
      });
      const closed = new Promise<[number, string]>((resolve) => ws.on('close', (code, reason) => resolve([code, String(reason)])));
      let seen = 0;
      return {
        ws, messages, closed,
        send: (event, data, channel) => ws.send(JSON.stringify(channel === undefined ? { event, data } : { event, data, channel })),
        next: (event, ms = 5000) => within(new Promise((resolve) => {
          const check = () => {
            for (; seen < messages.length; seen++) {
              if (messages[seen]!.event === event) {
                resolve(messages[seen++]!);
                return;
              }
            }
            waiters.push(check);
          };
          check();
        }), ms, `raw message ${event}`),
      };
    },
  };
}

/** Resolves with the next `event` on a pusher-js channel or connection. */
export function nextEvent(target: { bind(event: string, cb: (data: any) => void): void }, event: string, ms = 5000): Promise<any> {
  return within(new Promise((resolve) => target.bind(event, resolve)), ms, `pusher-js event ${event}`);
}

export { waitUntil, within };
