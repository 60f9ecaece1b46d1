/**
 * Pusher's HTTP API, served on the WebSocket port through the server's httpHandler:
 *   POST /apps/:id/events · POST /apps/:id/batch_events · GET /apps/:id/channels ·
 *   GET /apps/:id/channels/:name · GET /apps/:id/channels/:name/users ·
 *   POST /apps/:id/users/:user_id/terminate_connections · GET / and /ready (health).
 * Every /apps request is signed (auth_key, auth_timestamp within the window, auth_version 1.0,
 * body_md5 for a body, auth_signature); bodies are capped (413); errors are JSON
 * `{ "error": "..." }` with 400, 401, 403, 404, 405 or 413.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

import { AdapterError } from '../errors.js';
import type { AppRuntime } from './app.js';
import { channelKind, channelNameError } from './channels.js';
import type { PusherConfig } from './config.js';
import { requestSignatureError } from './signatures.js';

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

const SOCKET_ID = /^\d+\.\d+$/;

function reply(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** The request body, up to `limit` bytes (413 beyond: the rest is not read). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) {
      reject(new HttpError(413, `the body is larger than ${limit} bytes`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.pause();
        reject(new HttpError(413, `the body is larger than ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

interface EventInput {
  name?: unknown;
  data?: unknown;
  channel?: unknown;
  channels?: unknown;
  socket_id?: unknown;
  info?: unknown;
}

export class HttpApi {
  readonly #config: PusherConfig;
  readonly #apps: Map<string, AppRuntime>;
  readonly #terminate: (app: AppRuntime, userId: string) => void;

  /** `terminate` closes a user's connections (on every node of a cluster). */
  constructor(config: PusherConfig, apps: Map<string, AppRuntime>, terminate: (app: AppRuntime, userId: string) => void) {
    this.#config = config;
    this.#apps = apps;
    this.#terminate = terminate;
  }

  /** The request listener (http.RequestListener). */
  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    this.#route(req, res).catch((error: unknown) => {
      if (error instanceof HttpError) {
        if (error.status === 413) res.setHeader('connection', 'close');
        reply(res, error.status, { error: error.message });
      } else if (error instanceof AdapterError) reply(res, 503, { error: `the cluster's state is unavailable: ${error.message}` });
      else reply(res, 500, { error: 'internal error' });
    });
  };

  async #route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    if (path === '/' || path === '/ready') {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 2 }).end('OK');
      return;
    }
    const m = /^\/apps\/([^/]+)\/(.+)$/.exec(path);
    if (m === null) throw new HttpError(404, `no such endpoint: ${path}`);
    const app = this.#apps.get(decodeURIComponent(m[1]!));
    if (app === undefined) throw new HttpError(404, `unknown app id ${m[1]}`);
    const method = req.method ?? 'GET';
    const body = method === 'POST' ? await readBody(req, this.#config.maxRequestBodySize) : Buffer.alloc(0);
    const signatureError = requestSignatureError(method, path, url.searchParams, body, app.config, Math.floor(Date.now() / 1000), this.#config.authTimestampWindow);
    if (signatureError !== null) throw new HttpError(401, `unauthorized: ${signatureError}`);
    if (!app.config.enabled) throw new HttpError(403, 'the app is disabled');
    const rest = m[2]!;
    const query = url.searchParams;
    const expect = (verb: string) => {
      if (method !== verb) throw new HttpError(405, `${rest} takes ${verb}`);
    };
    if (rest === 'events') {
      expect('POST');
      reply(res, 200, await this.#trigger(app, parseJson(body) as EventInput));
    } else if (rest === 'batch_events') {
      expect('POST');
      const batch = (parseJson(body) as { batch?: unknown }).batch;
      if (!Array.isArray(batch) || batch.length === 0) throw new HttpError(400, 'batch must be a non-empty array of events');
      if (batch.length > app.config.maxEventBatchSize) throw new HttpError(413, `a batch holds at most ${app.config.maxEventBatchSize} events`);
      // Checked whole before anything is published.
      for (const e of batch) this.#checkEvent(app, e as EventInput);
      const results = await Promise.all(batch.map((e) => this.#trigger(app, e as EventInput)));
      const withInfo = batch.some((e) => typeof (e as EventInput).info === 'string');
      reply(res, 200, withInfo ? { batch: results.map((r) => Object.values(r.channels ?? {})[0] ?? {}) } : {});
    } else if (rest === 'channels') {
      expect('GET');
      reply(res, 200, await this.#channels(app, query));
    } else if (rest.startsWith('channels/')) {
      expect('GET');
      const parts = rest.slice('channels/'.length).split('/');
      const channel = decodeURIComponent(parts[0]!);
      if (channelNameError(channel, app.config.maxChannelNameLength) !== null) throw new HttpError(400, `invalid channel name`);
      if (parts.length === 1) reply(res, 200, await app.channelInfo(channel));
      else if (parts.length === 2 && parts[1] === 'users') {
        if (channelKind(channel) !== 'presence') throw new HttpError(400, 'users are only listed for presence channels');
        reply(res, 200, { users: [...(await app.presenceMembers(channel)).keys()].map((id) => ({ id })) });
      } else throw new HttpError(404, `no such endpoint: ${path}`);
    } else {
      const t = /^users\/([^/]+)\/terminate_connections$/.exec(rest);
      if (t === null) throw new HttpError(404, `no such endpoint: ${path}`);
      expect('POST');
      this.#terminate(app, decodeURIComponent(t[1]!));
      reply(res, 200, {});
    }
  }

  #checkEvent(app: AppRuntime, e: EventInput): string[] {
    const config = app.config;
    if (e === null || typeof e !== 'object') throw new HttpError(400, 'an event must be a JSON object');
    if (typeof e.name !== 'string' || e.name.length === 0) throw new HttpError(400, 'name must be a non-empty string');
    if (e.name.length > config.maxEventNameLength) throw new HttpError(413, `the event name is longer than ${config.maxEventNameLength} characters`);
    if (typeof e.data !== 'string') throw new HttpError(400, 'data must be a string');
    if (Buffer.byteLength(e.data) > config.maxEventPayloadSize) throw new HttpError(413, `the event data is larger than ${config.maxEventPayloadSize} bytes`);
    const channels = e.channels !== undefined ? e.channels : e.channel !== undefined ? [e.channel] : undefined;
    if (!Array.isArray(channels) || channels.length === 0) throw new HttpError(400, 'channels must be a non-empty array (or channel a string)');
    if (channels.length > config.maxEventChannelsAtOnce) throw new HttpError(413, `an event may go to at most ${config.maxEventChannelsAtOnce} channels`);
    for (const c of channels) {
      const error = channelNameError(c, config.maxChannelNameLength, true);
      if (error !== null) throw new HttpError(400, `${error}: ${JSON.stringify(c)}`);
    }
    if (e.socket_id !== undefined && (typeof e.socket_id !== 'string' || !SOCKET_ID.test(e.socket_id))) throw new HttpError(400, 'socket_id must look like 1234.5678');
    if (e.info !== undefined && typeof e.info !== 'string') throw new HttpError(400, 'info must be a comma-separated string');
    return channels as string[];
  }

  async #trigger(app: AppRuntime, e: EventInput): Promise<{ channels?: Record<string, Record<string, number>> }> {
    const channels = this.#checkEvent(app, e);
    // The socket_id itself: resolved to its connection on whichever node holds it.
    const exclude = typeof e.socket_id === 'string' ? e.socket_id : undefined;
    for (const channel of channels) app.publish(channel, e.name as string, e.data, exclude);
    if (typeof e.info !== 'string') return {};
    const wanted = new Set(e.info.split(','));
    const out: Record<string, Record<string, number>> = {};
    for (const channel of channels) {
      const info = await app.channelInfo(channel);
      const entry: Record<string, number> = {};
      if (wanted.has('subscription_count')) entry.subscription_count = info.subscription_count;
      if (wanted.has('user_count') && info.user_count !== undefined) entry.user_count = info.user_count;
      out[channel] = entry;
    }
    return { channels: out };
  }

  async #channels(app: AppRuntime, query: URLSearchParams): Promise<{ channels: Record<string, Record<string, number>> }> {
    const prefix = query.get('filter_by_prefix') ?? '';
    const wanted = new Set((query.get('info') ?? '').split(',').filter((s) => s !== ''));
    if (wanted.has('user_count') && !prefix.startsWith('presence-')) throw new HttpError(400, 'info=user_count needs filter_by_prefix=presence-');
    const out: Record<string, Record<string, number>> = {};
    for (const [name, state] of await app.channelList()) {
      if (!name.startsWith(prefix)) continue;
      const entry: Record<string, number> = {};
      if (wanted.has('subscription_count')) entry.subscription_count = state.subscribers;
      if (wanted.has('user_count')) entry.user_count = state.users ?? 0;
      out[name] = entry;
    }
    return { channels: out };
  }
}

function parseJson(body: Buffer): unknown {
  try {
    const v: unknown = JSON.parse(body.toString('utf8'));
    if (v === null || typeof v !== 'object') throw new Error('not an object');
    return v;
  } catch {
    throw new HttpError(400, 'the body must be a JSON object');
  }
}
