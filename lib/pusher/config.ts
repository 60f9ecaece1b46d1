/**
 * Pusher apps and server options: their types, defaults and validation (typed errors with stable
 * codes), and loading apps from a JSON file or environment variables.
 */
import { readFileSync } from 'node:fs';

import type { RedisAdapter } from '../adapters/redis.js';
import { InvalidArgumentTypeError, InvalidArgumentValueError } from '../errors.js';
import { boolOption, intOption } from '../validate.js';

/** Webhook kinds (Pusher Channels' names). */
export const WEBHOOK_EVENTS = ['channel_occupied', 'channel_vacated', 'member_added', 'member_removed', 'client_event', 'cache_miss', 'subscription_count'] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENTS)[number];

/** One webhook target of an app. */
export interface PusherWebhook {
  /** http:// or https:// URL the batches are POSTed to. */
  url: string;
  /** Kinds sent to this URL. Default: all. */
  eventTypes?: WebhookEventType[];
  /** Only events of channels whose names start / end with these. */
  filter?: { channelNameStartsWith?: string; channelNameEndsWith?: string };
  /** Extra request headers. */
  headers?: Record<string, string>;
}

/** One Pusher app: credentials, switches and limits. */
export interface PusherApp {
  id: string;
  key: string;
  secret: string;
  /** Default true; a disabled app's connections are closed with 4003 and its HTTP API answers 403. */
  enabled?: boolean;
  /** Client events (`client-*`) on private and presence channels. Default false (4301). */
  enableClientMessages?: boolean;
  /** Connections must sign in (`pusher:signin`) within `userAuthenticationTimeout` ms or are closed with 4009. Default false. */
  enableUserAuthentication?: boolean;
  userAuthenticationTimeout?: number;
  /** Concurrent connections of this app; more are closed with 4004. Default: no limit (-1). */
  maxConnections?: number;
  /** Client events one connection may send per second; more are refused (4301). Default 10. */
  maxClientEventsPerSecond?: number;
  /** Distinct users in one presence channel; more are refused. Default 100. */
  maxPresenceMembersPerChannel?: number;
  /** Bytes of one member's channel_data. Default 2048. */
  maxPresenceMemberSize?: number;
  /** Characters of a channel name. Default 200. */
  maxChannelNameLength?: number;
  /** Channels one HTTP event may target. Default 100. */
  maxEventChannelsAtOnce?: number;
  /** Characters of an event name. Default 200. */
  maxEventNameLength?: number;
  /** Bytes of an event's data (HTTP and client events). Default 10240. */
  maxEventPayloadSize?: number;
  /** Events in one batch_events request. Default 10. */
  maxEventBatchSize?: number;
  /**
   * Subscription counting: subscribers of non-presence channels get
   * `pusher_internal:subscription_count` when the count changes (at most once per
   * `subscriptionCountInterval`), and `subscription_count` webhooks are sent. Default false.
   */
  enableSubscriptionCount?: boolean;
  webhooks?: PusherWebhook[];
}

/** A webhook with every default filled in. */
export interface WebhookConfig {
  url: string;
  eventTypes: WebhookEventType[];
  filter: { channelNameStartsWith: string; channelNameEndsWith: string };
  headers: Record<string, string>;
}

/** An app with every default filled in. */
export type AppConfig = Required<Omit<PusherApp, 'webhooks'>> & { webhooks: WebhookConfig[] };

/** `new PusherServer(options)`. */
export interface PusherServerOptions {
  /** TCP port (WebSocket and HTTP API). Default 6001; 0 picks a free one. */
  port?: number;
  /** Interface to bind. Default '' (all). */
  host?: string;
  /** The apps. Default: one local app (see {@link defaultApp}). */
  apps?: PusherApp[];
  /** Seconds of silence after which the server pings a connection (sent to clients as activity_timeout). Default 120. */
  activityTimeout?: number;
  /** Milliseconds a pinged connection has to answer before it is closed with 4201. Default 30000. */
  pongTimeout?: number;
  /** Connections over all apps; more are closed with 4100. Default: no limit (-1). */
  maxConnections?: number;
  /** Largest HTTP API request body in bytes (413 beyond). Default 1 MiB. */
  maxRequestBodySize?: number;
  /** Seconds an HTTP API request's auth_timestamp may differ from the server's clock. Default 600. */
  authTimestampWindow?: number;
  /** Webhook batching: events wait up to this many ms to share a request. Default 50. */
  webhookBatchMs?: number;
  /** Attempts per webhook batch (network errors, 5xx, 429). Default 3. */
  webhookAttempts?: number;
  /** Per-attempt timeout of a webhook request, ms. Default 5000. */
  webhookTimeout?: number;
  /** How long a cache channel's last event is kept, ms. Default 1800000 (30 min). */
  cacheTtl?: number;
  /** Cache channels remembered per app (the oldest is forgotten first). Default 10000. */
  maxCachedChannels?: number;
  /** Largest WebSocket message from a client, bytes. Default 64 KiB. */
  maxPayloadLength?: number;
  /**
   * member_removed webhooks wait this many ms; a user who rejoins meanwhile causes neither
   * member_removed nor member_added webhooks (Pusher debounces reconnects by 3 s). 0 sends at
   * once. Clients see member events at once either way. Default 3000.
   */
  presenceWebhookDelay?: number;
  /** Subscription counts (apps with enableSubscriptionCount) are sent at most once per channel per this many ms. Default 1000. */
  subscriptionCountInterval?: number;
  /**
   * Several nodes as one server (`redisAdapter({ url })`): events, client events and
   * terminate_connections reach every node; presence, channel occupancy, channel queries and
   * cache channels are cluster-wide (kept in Redis); webhooks fire once per cluster. One
   * PusherServer with an adapter per thread; the adapter is closed with the server.
   */
  adapter?: RedisAdapter;
  /** With an adapter: a node that stops refreshing its liveness key this long is reaped (its members removed). Default 5000 ms. */
  clusterNodeTimeout?: number;
  /** SO_REUSEPORT: several servers (worker threads or processes, joined by an adapter) share the port. Default false. */
  reusePort?: boolean;
}

export interface PusherConfig {
  port: number;
  host: string;
  apps: AppConfig[];
  activityTimeout: number;
  pongTimeout: number;
  maxConnections: number;
  maxRequestBodySize: number;
  authTimestampWindow: number;
  webhookBatchMs: number;
  webhookAttempts: number;
  webhookTimeout: number;
  cacheTtl: number;
  maxCachedChannels: number;
  maxPayloadLength: number;
  presenceWebhookDelay: number;
  subscriptionCountInterval: number;
  adapter: RedisAdapter | undefined;
  clusterNodeTimeout: number;
  reusePort: boolean;
}

const APP_KEYS = new Set(['id', 'key', 'secret', 'enabled', 'enableClientMessages', 'enableUserAuthentication', 'userAuthenticationTimeout',
  'maxConnections', 'maxClientEventsPerSecond', 'maxPresenceMembersPerChannel', 'maxPresenceMemberSize', 'maxChannelNameLength',
  'maxEventChannelsAtOnce', 'maxEventNameLength', 'maxEventPayloadSize', 'maxEventBatchSize', 'enableSubscriptionCount', 'webhooks']);
const SERVER_KEYS = new Set(['port', 'host', 'apps', 'activityTimeout', 'pongTimeout', 'maxConnections', 'maxRequestBodySize', 'authTimestampWindow',
  'webhookBatchMs', 'webhookAttempts', 'webhookTimeout', 'cacheTtl', 'maxCachedChannels', 'maxPayloadLength', 'presenceWebhookDelay',
  'subscriptionCountInterval', 'adapter', 'clusterNodeTimeout', 'reusePort']);
const MAX_TIMER = 2 ** 31 - 1;

/** The app a bare `sockudo-ws pusher` serves (for local development: the secret is public). */
export function defaultApp(): PusherApp {
  return { id: 'app-id', key: 'app-key', secret: 'app-secret', enableClientMessages: true };
}

function object(value: unknown, name: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new InvalidArgumentTypeError(name, 'of type object', value);
  return value as Record<string, unknown>;
}

function known(o: Record<string, unknown>, keys: Set<string>, name: string): void {
  for (const k of Object.keys(o)) if (!keys.has(k) && o[k] !== undefined) throw new InvalidArgumentValueError(`${name}.${k}`, 'is not a known option', o[k]);
}

function text(o: Record<string, unknown>, key: string, name: string, fallback?: string): string {
  const v = o[key];
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== 'string' || v.length === 0 || v.length > 200) throw new InvalidArgumentTypeError(`${name}.${key}`, 'a string of 1 to 200 characters', v);
  return v;
}

function webhookConfig(value: unknown, name: string): WebhookConfig {
  const o = object(value, name);
  known(o, new Set(['url', 'eventTypes', 'filter', 'headers']), name);
  const url = text(o, 'url', name);
  if (!/^https?:\/\//.test(url)) throw new InvalidArgumentValueError(`${name}.url`, 'must be an http:// or https:// URL', url);
  const types = o.eventTypes === undefined ? [...WEBHOOK_EVENTS] : o.eventTypes;
  if (!Array.isArray(types) || types.some((t) => !(WEBHOOK_EVENTS as readonly unknown[]).includes(t))) {
    throw new InvalidArgumentValueError(`${name}.eventTypes`, `must be an array of ${WEBHOOK_EVENTS.join(', ')}`, types);
  }
  const f = o.filter === undefined ? {} : object(o.filter, `${name}.filter`);
  known(f, new Set(['channelNameStartsWith', 'channelNameEndsWith']), `${name}.filter`);
  const h = o.headers === undefined ? {} : object(o.headers, `${name}.headers`);
  for (const [k, v] of Object.entries(h)) if (typeof v !== 'string') throw new InvalidArgumentTypeError(`${name}.headers.${k}`, 'of type string', v);
  return {
    url,
    eventTypes: types as WebhookEventType[],
    filter: { channelNameStartsWith: typeof f.channelNameStartsWith === 'string' ? f.channelNameStartsWith : '', channelNameEndsWith: typeof f.channelNameEndsWith === 'string' ? f.channelNameEndsWith : '' },
    headers: h as Record<string, string>,
  };
}

/** Validates one app and fills in its defaults. */
export function appConfig(value: unknown, name = 'app'): AppConfig {
  const o = object(value, name);
  known(o, APP_KEYS, name);
  const hooks = o.webhooks === undefined ? [] : o.webhooks;
  if (!Array.isArray(hooks)) throw new InvalidArgumentTypeError(`${name}.webhooks`, 'an array', hooks);
  return {
    id: text(o, 'id', name),
    key: text(o, 'key', name),
    secret: text(o, 'secret', name),
    enabled: boolOption(o, 'enabled', true, name),
    enableClientMessages: boolOption(o, 'enableClientMessages', false, name),
    enableUserAuthentication: boolOption(o, 'enableUserAuthentication', false, name),
    userAuthenticationTimeout: intOption(o, 'userAuthenticationTimeout', 1, MAX_TIMER, 30_000, name),
    maxConnections: intOption(o, 'maxConnections', -1, 2 ** 31 - 1, -1, name),
    maxClientEventsPerSecond: intOption(o, 'maxClientEventsPerSecond', 1, 1_000_000, 10, name),
    maxPresenceMembersPerChannel: intOption(o, 'maxPresenceMembersPerChannel', 1, 1_000_000, 100, name),
    maxPresenceMemberSize: intOption(o, 'maxPresenceMemberSize', 16, 1024 * 1024, 2048, name),
    maxChannelNameLength: intOption(o, 'maxChannelNameLength', 1, 900, 200, name),
    maxEventChannelsAtOnce: intOption(o, 'maxEventChannelsAtOnce', 1, 10_000, 100, name),
    maxEventNameLength: intOption(o, 'maxEventNameLength', 1, 10_000, 200, name),
    maxEventPayloadSize: intOption(o, 'maxEventPayloadSize', 1, 16 * 1024 * 1024, 10_240, name),
    maxEventBatchSize: intOption(o, 'maxEventBatchSize', 1, 10_000, 10, name),
    enableSubscriptionCount: boolOption(o, 'enableSubscriptionCount', false, name),
    webhooks: hooks.map((h, i) => webhookConfig(h, `${name}.webhooks[${i}]`)),
  };
}

/** Validates `new PusherServer(options)`. */
export function pusherConfig(options: unknown): PusherConfig {
  const name = 'options';
  const o = options === undefined ? {} : object(options, name);
  known(o, SERVER_KEYS, name);
  const list = o.apps === undefined ? [defaultApp()] : o.apps;
  if (!Array.isArray(list) || list.length === 0) throw new InvalidArgumentTypeError(`${name}.apps`, 'a non-empty array of apps', list);
  const apps = list.map((a, i) => appConfig(a, `${name}.apps[${i}]`));
  for (const field of ['id', 'key'] as const) {
    const seen = new Set<string>();
    for (const a of apps) {
      if (seen.has(a[field])) throw new InvalidArgumentValueError(`${name}.apps`, `has two apps with the ${field} "${a[field]}"`, list);
      seen.add(a[field]);
    }
  }
  const host = o.host === undefined ? '' : o.host;
  if (typeof host !== 'string') throw new InvalidArgumentTypeError(`${name}.host`, 'of type string', host);
  return {
    port: intOption(o, 'port', 0, 65535, 6001, name),
    host,
    apps,
    activityTimeout: intOption(o, 'activityTimeout', 1, 3600, 120, name),
    pongTimeout: intOption(o, 'pongTimeout', 100, MAX_TIMER, 30_000, name),
    maxConnections: intOption(o, 'maxConnections', -1, 2 ** 31 - 1, -1, name),
    maxRequestBodySize: intOption(o, 'maxRequestBodySize', 1024, 256 * 1024 * 1024, 1024 * 1024, name),
    authTimestampWindow: intOption(o, 'authTimestampWindow', 1, 86_400 * 365, 600, name),
    webhookBatchMs: intOption(o, 'webhookBatchMs', 0, 60_000, 50, name),
    webhookAttempts: intOption(o, 'webhookAttempts', 1, 20, 3, name),
    webhookTimeout: intOption(o, 'webhookTimeout', 1, MAX_TIMER, 5000, name),
    cacheTtl: intOption(o, 'cacheTtl', 1, MAX_TIMER, 30 * 60 * 1000, name),
    maxCachedChannels: intOption(o, 'maxCachedChannels', 1, 10_000_000, 10_000, name),
    maxPayloadLength: intOption(o, 'maxPayloadLength', 1024, 64 * 1024 * 1024, 64 * 1024, name),
    presenceWebhookDelay: intOption(o, 'presenceWebhookDelay', 0, 600_000, 3000, name),
    subscriptionCountInterval: intOption(o, 'subscriptionCountInterval', 10, 600_000, 1000, name),
    adapter: redisAdapterOption(o.adapter, name),
    clusterNodeTimeout: intOption(o, 'clusterNodeTimeout', 1500, 3_600_000, 5000, name),
    reusePort: boolOption(o, 'reusePort', false, name),
  };
}

function redisAdapterOption(a: unknown, name: string): RedisAdapter | undefined {
  if (a === undefined) return undefined;
  const needed = ['call', 'sendControl', 'attach', 'publish'] as const;
  if (a === null || typeof a !== 'object' || needed.some((m) => typeof (a as Record<string, unknown>)[m] !== 'function')) {
    throw new InvalidArgumentTypeError(`${name}.adapter`, 'a redisAdapter()', a);
  }
  return a as RedisAdapter;
}

/** `maxClientEventsPerSecond` → `MAX_CLIENT_EVENTS_PER_SECOND`. */
function envName(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();
}

/**
 * Apps from the environment: `SOCKUDO_PUSHER_APPS_FILE` (a JSON file: an array of apps, or
 * `{ "apps": [...] }`), else one app from `SOCKUDO_PUSHER_APP_ID`, `_KEY`, `_SECRET` (all three)
 * and any other app option as `SOCKUDO_PUSHER_APP_<OPTION>` in upper snake case
 * (`_ENABLED`, `_ENABLE_CLIENT_MESSAGES`, `_MAX_CONNECTIONS`, `_MAX_CLIENT_EVENTS_PER_SECOND`, …;
 * switches take true/false/1/0, limits integers, `_WEBHOOKS` a JSON array); else undefined.
 * The values are validated by appConfig like any other app.
 */
export function appsFromEnvironment(env: NodeJS.ProcessEnv = process.env): PusherApp[] | undefined {
  const file = env.SOCKUDO_PUSHER_APPS_FILE;
  if (file !== undefined && file !== '') return appsFromFile(file);
  const id = env.SOCKUDO_PUSHER_APP_ID;
  const key = env.SOCKUDO_PUSHER_APP_KEY;
  const secret = env.SOCKUDO_PUSHER_APP_SECRET;
  if (id === undefined && key === undefined && secret === undefined) return undefined;
  if (!id || !key || !secret) throw new InvalidArgumentValueError('SOCKUDO_PUSHER_APP_ID/_KEY/_SECRET', 'must all be set', { id, key, secret: secret ? '…' : secret });
  const app: Record<string, unknown> = { id, key, secret };
  for (const option of APP_KEYS) {
    const name = `SOCKUDO_PUSHER_APP_${envName(option)}`;
    const raw = env[name];
    if (raw === undefined || option === 'id' || option === 'key' || option === 'secret') continue;
    if (option === 'webhooks') {
      try {
        app.webhooks = JSON.parse(raw) as unknown;
      } catch {
        throw new InvalidArgumentValueError(name, 'must be a JSON array of webhooks', raw);
      }
    } else if (option === 'enabled' || option.startsWith('enable')) {
      if (!/^(true|false|1|0)$/.test(raw)) throw new InvalidArgumentValueError(name, 'must be true, false, 1 or 0', raw);
      app[option] = raw === 'true' || raw === '1';
    } else {
      if (!/^-?\d+$/.test(raw)) throw new InvalidArgumentValueError(name, 'must be an integer', raw);
      app[option] = Number(raw);
    }
  }
  return [app as unknown as PusherApp];
}

/** Apps from a JSON file: an array of apps, or an object with an `apps` array. */
export function appsFromFile(file: string): PusherApp[] {
  const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
  const list = Array.isArray(parsed) ? parsed : (parsed as { apps?: unknown } | null)?.apps;
  if (!Array.isArray(list)) throw new InvalidArgumentValueError(file, 'must hold an array of apps or { "apps": [...] }', parsed);
  return list as PusherApp[];
}
