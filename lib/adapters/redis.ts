/**
 * `redisAdapter()`: pub/sub across processes and machines over Redis pub/sub, on ioredis.
 *
 * Why ioredis: it reconnects by itself with a backoff we choose, hands messages over as Buffers
 * (binary payloads unchanged), speaks Sentinel and Cluster, and is the client soketi and
 * socket.io's Redis adapter run in production. It is an optional peer dependency, loaded only
 * when an adapter is made.
 *
 * Wire format: one Redis channel per topic, `<prefix>#<topic>`; a node SUBSCRIBEs to exactly the
 * topics its thread has subscribers for (a pattern subscription would make every node receive
 * and discard every message of the cluster). A message is a Buffer:
 *   'S' · version 1 · flags (bit 0 binary, bit 1 compress, bit 2 exclusion) · 16-byte node id ·
 *   [exclusion: u16 length · that many bytes of UTF-8 connection key] · payload
 * A node drops its own echoes by the id. Order per publisher holds because each node publishes
 * on one connection and Redis relays a connection's messages in order.
 *
 * Control traffic is JSON on `<prefix>!ctl` (heartbeats, goodbyes, count requests) and
 * `<prefix>!ctl!<node id>` (answers to this node). A node whose heartbeat lapses for
 * `nodeTimeout` ms (killed, partitioned) leaves the cluster view: it is no longer waited for and
 * 'nodeDown' is emitted (the Pusher server uses it to remove that node's presence members).
 *
 * Faults: while Redis is unreachable local delivery goes on; messages for the bus wait in a
 * queue capped at `maxBuffered` messages and `maxBufferedBytes` (the oldest are dropped and
 * counted) and are sent in order on reconnection, after every topic has been subscribed again
 * and the nodes known before the outage have announced themselves again (bounded by nodeTimeout):
 * Redis pub/sub would drop messages for a node that has not resubscribed yet.
 * Connection trouble is reported as 'error' events (AdapterError, code
 * ERR_SOCKUDO_WS_ADAPTER_CONNECTION), once per outage; without an 'error' listener as one
 * process warning per outage, never as a crash.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';

import { AdapterError, InvalidArgumentTypeError } from '../errors.js';
import { native } from '../native.js';
import { intOption } from '../validate.js';
import type { AdapterHost, PubSubAdapter } from './adapter.js';

/** The part of an ioredis client the adapter uses. */
interface RedisClient extends EventEmitter {
  status: string;
  publish(channel: string | Buffer, message: string | Buffer): Promise<number>;
  subscribe(...channels: string[]): Promise<unknown>;
  unsubscribe(...channels: string[]): Promise<unknown>;
  quit(): Promise<unknown>;
  disconnect(): void;
  call(command: string, ...args: (string | number | Buffer)[]): Promise<unknown>;
}
type RedisConstructor = new (url: string, options: Record<string, unknown>) => RedisClient;

export interface RedisAdapterOptions {
  /** redis://[user:password@]host:port[/db] (rediss:// for TLS). Default redis://127.0.0.1:6379. */
  url?: string;
  /** Prefix of every channel this adapter uses; clusters sharing one Redis need different ones. Default 'sockudo-ws'. */
  prefix?: string;
  /** Messages kept for the bus while Redis is unreachable (oldest dropped beyond). Default 10,000. */
  maxBuffered?: number;
  /** Bytes kept for the bus while Redis is unreachable. Default 64 MiB. */
  maxBufferedBytes?: number;
  /** Heartbeat period, ms. Default 1000. */
  heartbeatInterval?: number;
  /** A node silent this long is considered gone, ms. Default 5000. */
  nodeTimeout?: number;
  /** How long clusterSubscribers() waits for the other nodes, ms. Default 2000. */
  requestTimeout?: number;
  /** Longest pause between reconnection attempts, ms. Default 2000. */
  maxReconnectDelay?: number;
}

export interface RedisAdapterStats {
  /** Messages sent to the bus. */
  published: number;
  /** Messages from other nodes delivered locally. */
  received: number;
  /** This node's own messages coming back (dropped). */
  echoes: number;
  /** Messages waiting for Redis now. */
  buffered: number;
  /** Messages dropped from the full buffer (oldest first). */
  dropped: number;
  /** Publishes Redis did not confirm (connection lost with them in flight). */
  failed: number;
  /** Bus messages that were not ours to read (bad header, invalid UTF-8 text); dropped. */
  malformed: number;
  /** Times the topics were subscribed again after a reconnection. */
  resubscribed: number;
}

export interface RedisAdapterEvents {
  error: [error: AdapterError];
  /** Both connections are up and every topic is subscribed. */
  ready: [];
  nodeUp: [nodeId: string];
  nodeDown: [nodeId: string];
  /** A control message of another layer (`sendControl`), from another node. */
  control: [message: Record<string, unknown>, from: string];
}

const MAGIC = 0x53;
const VERSION = 1;
const HEADER = 3 + 16;
const kMaxPendingRequests = 1000;

function loadIoredis(): RedisConstructor {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const m = require('ioredis') as { default?: RedisConstructor } & RedisConstructor;
    return m.default ?? m;
  } catch (cause) {
    throw new AdapterError('ERR_SOCKUDO_WS_ADAPTER_MISSING_CLIENT', 'redisAdapter() needs the ioredis package: npm install ioredis', { cause });
  }
}

export class RedisAdapter extends EventEmitter<RedisAdapterEvents> implements PubSubAdapter {
  /** This node's id (32 hex digits), random per adapter. */
  readonly nodeId: string;
  readonly stats: RedisAdapterStats = { published: 0, received: 0, echoes: 0, buffered: 0, dropped: 0, failed: 0, malformed: 0, resubscribed: 0 };
  readonly #id: Buffer;
  readonly #prefix: string;
  readonly #options: Required<Omit<RedisAdapterOptions, 'url' | 'prefix'>>;
  readonly #pub: RedisClient;
  readonly #sub: RedisClient;
  readonly #ctl: string;
  readonly #ctlMine: string;
  /** Channels this node wants (topics with local subscribers). */
  readonly #wanted = new Set<string>();
  /** Messages waiting for the bus, oldest first. */
  #queue: { channel: string; message: Buffer }[] = [];
  #queueHead = 0;
  #queueBytes = 0;
  #host: AdapterHost | null = null;
  /** Nodes known when the bus went away: the buffer waits for them to come back (below). */
  #outageNodes: Set<string> | null = null;
  /** After a reconnection: nodes whose return (a control message) the buffer still waits for. */
  #awaiting: Set<string> | null = null;
  #awaitTimer: NodeJS.Timeout | null = null;
  #subReady = false;
  #pubReady = false;
  #outage = false;
  #closed = false;
  /** Other nodes: id → last heartbeat (Date.now()). */
  readonly #nodes = new Map<string, number>();
  readonly #heartbeat: NodeJS.Timeout;
  #nextRequest = 1;
  readonly #requests = new Map<number, { topic: string; sum: number; waiting: Set<string>; resolve(n: number): void; reject(e: Error): void; timer: NodeJS.Timeout }>();

  constructor(options: RedisAdapterOptions = {}) {
    super();
    if (options === null || typeof options !== 'object') throw new InvalidArgumentTypeError('options', 'of type object', options);
    const o = options as Record<string, unknown>;
    const url = o.url === undefined ? 'redis://127.0.0.1:6379' : o.url;
    if (typeof url !== 'string' || !/^rediss?:\/\//.test(url)) throw new InvalidArgumentTypeError('options.url', 'a redis:// or rediss:// URL', url);
    const prefix = o.prefix === undefined ? 'sockudo-ws' : o.prefix;
    if (typeof prefix !== 'string' || prefix.length === 0 || prefix.length > 200 || /[#!]/.test(prefix)) {
      throw new InvalidArgumentTypeError('options.prefix', 'a string of 1 to 200 characters without # or !', prefix);
    }
    this.#options = {
      maxBuffered: intOption(o, 'maxBuffered', 0, 10_000_000, 10_000, 'options'),
      maxBufferedBytes: intOption(o, 'maxBufferedBytes', 0, 2 ** 40, 64 * 1024 * 1024, 'options'),
      heartbeatInterval: intOption(o, 'heartbeatInterval', 10, 600_000, 1000, 'options'),
      nodeTimeout: intOption(o, 'nodeTimeout', 20, 3_600_000, 5000, 'options'),
      requestTimeout: intOption(o, 'requestTimeout', 1, 600_000, 2000, 'options'),
      maxReconnectDelay: intOption(o, 'maxReconnectDelay', 10, 600_000, 2000, 'options'),
    };
    this.#prefix = prefix;
    this.#id = randomBytes(16);
    this.nodeId = this.#id.toString('hex');
    this.#ctl = `${prefix}!ctl`;
    this.#ctlMine = `${prefix}!ctl!${this.nodeId}`;
    const Redis = loadIoredis();
    const base = {
      // Our own queue (capped, drop-oldest) replaces ioredis's unbounded offline queue.
      enableOfflineQueue: false,
      autoResubscribe: false,
      maxRetriesPerRequest: 1,
      retryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times, 10), this.#options.maxReconnectDelay),
      lazyConnect: false,
    };
    this.#pub = new Redis(url, { ...base, connectionName: `${prefix}-pub-${this.nodeId}` });
    this.#sub = new Redis(url, { ...base, connectionName: `${prefix}-sub-${this.nodeId}` });
    for (const [conn, which] of [[this.#pub, 'publish'], [this.#sub, 'subscribe']] as const) {
      conn.on('error', (e: Error) => this.#trouble(which, e));
      conn.on('close', () => this.#down(which));
      conn.on('ready', () => this.#up(which));
    }
    this.#sub.on('messageBuffer', (channel: Buffer, message: Buffer) => this.#onMessage(channel, message));
    this.#heartbeat = setInterval(() => this.#tick(), this.#options.heartbeatInterval);
    this.#heartbeat.unref();
  }

  attach(host: AdapterHost): void {
    if (this.#host !== null) throw new AdapterError('ERR_SOCKUDO_WS_ADAPTER_IN_USE', 'this adapter already serves a server: make one adapter per server');
    this.#host = host;
    for (const topic of host.localTopics()) this.#want(topic);
  }

  /** Whether both Redis connections are up. */
  get connected(): boolean {
    return this.#pubReady && this.#subReady;
  }

  /** The other live nodes' ids. */
  get nodes(): string[] {
    return [...this.#nodes.keys()];
  }

  subscriptionChanged(topic: string, newCount: number, oldCount: number): void {
    if (oldCount === 0 && newCount > 0) this.#want(topic);
    else if (newCount === 0 && oldCount > 0) {
      const channel = this.#channel(topic);
      if (this.#wanted.delete(channel) && this.#subReady) this.#sub.unsubscribe(channel).catch(() => { /* resynced on reconnect */ });
    }
  }

  publish(topic: string, payload: Uint8Array | string, binary: boolean, compress: boolean, exclude?: string): void {
    if (this.#closed) return;
    const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
    const key = exclude === undefined ? null : Buffer.from(exclude);
    if (key !== null && key.byteLength > 0xffff) throw new AdapterError('ERR_SOCKUDO_WS_ADAPTER_UNAVAILABLE', 'an exclusion key is longer than 65535 bytes');
    const head = HEADER + (key === null ? 0 : 2 + key.byteLength);
    const message = Buffer.allocUnsafe(head + body.byteLength);
    message[0] = MAGIC;
    message[1] = VERSION;
    message[2] = (binary ? 1 : 0) | (compress ? 2 : 0) | (key === null ? 0 : 4);
    this.#id.copy(message, 3);
    if (key !== null) {
      message.writeUInt16BE(key.byteLength, HEADER);
      key.copy(message, HEADER + 2);
    }
    message.set(body, head);
    this.#send(this.#channel(topic), message);
  }

  clusterSubscribers(topic: string): Promise<number> {
    const local = this.#host?.localSubscribers(topic) ?? 0;
    if (this.#closed) return Promise.reject(new AdapterError('ERR_SOCKUDO_WS_ADAPTER_CLOSED', 'the adapter is closed'));
    if (this.#nodes.size === 0) return Promise.resolve(local);
    if (!this.#pubReady) return Promise.reject(new AdapterError('ERR_SOCKUDO_WS_ADAPTER_UNAVAILABLE', 'Redis is unreachable: the other nodes cannot be asked'));
    if (this.#requests.size >= kMaxPendingRequests) return Promise.reject(new AdapterError('ERR_SOCKUDO_WS_ADAPTER_BUSY', `${kMaxPendingRequests} cluster requests are already waiting`));
    const req = this.#nextRequest++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const r = this.#requests.get(req);
        this.#requests.delete(req);
        r?.reject(new AdapterError('ERR_SOCKUDO_WS_ADAPTER_TIMEOUT', `no answer within ${this.#options.requestTimeout} ms from node(s) ${[...(r?.waiting ?? [])].join(', ')}`));
      }, this.#options.requestTimeout);
      this.#requests.set(req, { topic, sum: local, waiting: new Set(this.#nodes.keys()), resolve, reject, timer });
      this.#control(this.#ctl, { t: 'count', req, topic });
    });
  }

  /**
   * Runs one Redis command on the adapter's publishing connection (in order with its publishes),
   * for layers that keep cluster state in Redis (the Pusher server's presence). Rejects with
   * ERR_SOCKUDO_WS_ADAPTER_UNAVAILABLE while Redis is unreachable (nothing is queued).
   */
  call(command: string, ...args: (string | number | Buffer)[]): Promise<unknown> {
    if (this.#closed) return Promise.reject(new AdapterError('ERR_SOCKUDO_WS_ADAPTER_CLOSED', 'the adapter is closed'));
    if (!this.#pubReady) return Promise.reject(new AdapterError('ERR_SOCKUDO_WS_ADAPTER_UNAVAILABLE', `Redis is unreachable: ${command} not sent`));
    return this.#pub.call(command, ...args);
  }

  /** The prefix of every key and channel this adapter uses. */
  get prefix(): string {
    return this.#prefix;
  }

  /** Sends a control message (JSON) to every other node ('control' event there), or to one. */
  sendControl(message: Record<string, unknown>, to?: string): void {
    this.#control(to === undefined ? this.#ctl : `${this.#prefix}!ctl!${to}`, { t: 'app', m: message });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#heartbeat);
    if (this.#awaitTimer !== null) clearTimeout(this.#awaitTimer);
    this.#awaiting = null;
    for (const [id, r] of this.#requests) {
      clearTimeout(r.timer);
      r.reject(new AdapterError('ERR_SOCKUDO_WS_ADAPTER_CLOSED', 'the adapter closed'));
      this.#requests.delete(id);
    }
    if (this.#pubReady) await this.#pub.publish(this.#ctl, JSON.stringify({ t: 'bye', id: this.nodeId })).catch(() => undefined);
    this.#queue = [];
    this.#queueHead = 0;
    this.#queueBytes = 0;
    this.stats.buffered = 0;
    const quit = (c: RedisClient) => Promise.race([
      c.quit().catch(() => undefined),
      new Promise((r) => setTimeout(r, 1000).unref()),
    ]).then(() => c.disconnect());
    await Promise.all([quit(this.#pub), quit(this.#sub)]);
  }

  // --- internals ---------------------------------------------------------------------------------

  #channel(topic: string): string {
    return `${this.#prefix}#${topic}`;
  }

  #want(topic: string): void {
    const channel = this.#channel(topic);
    if (this.#wanted.has(channel)) return;
    this.#wanted.add(channel);
    if (this.#subReady) this.#sub.subscribe(channel).catch(() => { /* resynced on reconnect */ });
  }

  #send(channel: string, message: Buffer): void {
    if (this.#pubReady && this.#awaiting === null && this.#queueHead === this.#queue.length) {
      this.stats.published++;
      this.#pub.publish(channel, message).catch(() => { this.stats.failed++; });
      return;
    }
    const { maxBuffered, maxBufferedBytes } = this.#options;
    this.#queue.push({ channel, message });
    this.#queueBytes += message.byteLength;
    while (this.#queue.length - this.#queueHead > maxBuffered || (this.#queueBytes > maxBufferedBytes && this.#queueHead < this.#queue.length)) {
      const dropped = this.#queue[this.#queueHead++]!;
      this.#queueBytes -= dropped.message.byteLength;
      this.stats.dropped++;
    }
    if (this.#queueHead > 1024 && this.#queueHead * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#queueHead);
      this.#queueHead = 0;
    }
    this.stats.buffered = this.#queue.length - this.#queueHead;
  }

  #control(channel: string, body: Record<string, unknown>): void {
    if (!this.#pubReady) return; // control traffic is not buffered: heartbeats and requests are only meaningful now
    this.#pub.publish(channel, JSON.stringify({ ...body, id: this.nodeId })).catch(() => undefined);
  }

  #trouble(which: string, error: Error): void {
    if (this.#closed || this.#outage) return;
    this.#outage = true;
    const e = new AdapterError('ERR_SOCKUDO_WS_ADAPTER_CONNECTION', `Redis ${which} connection: ${error.message}; local delivery continues, bus messages are buffered (up to ${this.#options.maxBuffered}) and the adapter reconnects`, { cause: error });
    if (this.listenerCount('error') > 0) this.emit('error', e);
    else process.emitWarning(e.message, { code: e.code });
  }

  #down(which: 'publish' | 'subscribe'): void {
    if (this.#pubReady && this.#subReady && this.#outageNodes === null) this.#outageNodes = new Set(this.#nodes.keys());
    if (which === 'publish') this.#pubReady = false;
    else this.#subReady = false;
  }

  async #up(which: 'publish' | 'subscribe'): Promise<void> {
    if (this.#closed) return;
    if (which === 'subscribe') {
      // Every wanted topic and the control channels again (a reconnection forgot them), in chunks.
      const channels = [this.#ctl, this.#ctlMine, ...this.#wanted];
      try {
        for (let i = 0; i < channels.length; i += 1000) await this.#sub.subscribe(...channels.slice(i, i + 1000));
      } catch {
        return; // the connection dropped again; the next 'ready' retries
      }
      if (this.stats.published + this.stats.received > 0 || this.#wanted.size > 0) this.stats.resubscribed++;
      this.#subReady = true;
    } else {
      this.#pubReady = true;
    }
    if (!this.#pubReady || !this.#subReady) return;
    this.#outage = false;
    // Redis pub/sub keeps nothing for a subscriber that is not there: what was buffered during the
    // outage goes out once the nodes known then are back and subscribed (each announces itself
    // after resubscribing), or after nodeTimeout for those that do not come back.
    const waitFor = new Set([...(this.#outageNodes ?? []), ...this.#nodes.keys()]);
    this.#outageNodes = null;
    if (this.#queueHead < this.#queue.length && waitFor.size > 0) {
      this.#awaiting = waitFor;
      if (this.#awaitTimer !== null) clearTimeout(this.#awaitTimer);
      this.#awaitTimer = setTimeout(() => this.#endAwait(), this.#options.nodeTimeout);
      this.#awaitTimer.unref();
    } else {
      this.#flushQueue();
    }
    this.#control(this.#ctl, { t: 'hb' });
    this.emit('ready');
  }

  #endAwait(): void {
    if (this.#awaitTimer !== null) clearTimeout(this.#awaitTimer);
    this.#awaitTimer = null;
    this.#awaiting = null;
    this.#flushQueue();
  }

  #flushQueue(): void {
    while (this.#pubReady && this.#queueHead < this.#queue.length) {
      const { channel, message } = this.#queue[this.#queueHead++]!;
      this.#queueBytes -= message.byteLength;
      this.stats.published++;
      this.#pub.publish(channel, message).catch(() => { this.stats.failed++; });
    }
    if (this.#queueHead === this.#queue.length) {
      this.#queue = [];
      this.#queueHead = 0;
      this.#queueBytes = 0;
    }
    this.stats.buffered = this.#queue.length - this.#queueHead;
  }

  #onMessage(channelBytes: Buffer, message: Buffer): void {
    const channel = channelBytes.toString();
    if (channel.startsWith(`${this.#prefix}!`)) {
      this.#onControl(message);
      return;
    }
    if (message.length < HEADER || message[0] !== MAGIC || message[1] !== VERSION || !channel.startsWith(`${this.#prefix}#`)) {
      this.stats.malformed++;
      return;
    }
    if (this.#id.equals(message.subarray(3, HEADER))) {
      this.stats.echoes++;
      return;
    }
    const flags = message[2]!;
    const binary = (flags & 1) !== 0;
    let head = HEADER;
    let exclude: string | undefined;
    if ((flags & 4) !== 0) {
      const n = message.length >= HEADER + 2 ? message.readUInt16BE(HEADER) : -1;
      if (n < 0 || message.length < HEADER + 2 + n) {
        this.stats.malformed++;
        return;
      }
      exclude = message.toString('utf8', HEADER + 2, HEADER + 2 + n);
      head = HEADER + 2 + n;
    }
    const payload = message.subarray(head);
    if (!binary && !native.isValidUTF8(payload)) {
      this.stats.malformed++;
      return;
    }
    this.stats.received++;
    this.#host?.deliver(channel.slice(this.#prefix.length + 1), payload, binary, (flags & 2) !== 0, exclude);
  }

  #onControl(raw: Buffer): void {
    let m: Record<string, unknown>;
    try {
      m = JSON.parse(raw.toString()) as Record<string, unknown>;
    } catch {
      this.stats.malformed++;
      return;
    }
    const from = m.id;
    if (typeof from !== 'string' || from === this.nodeId) return;
    if (this.#awaiting?.delete(from) && this.#awaiting.size === 0) this.#endAwait();
    if (m.t === 'bye') {
      if (this.#nodes.delete(from)) this.#nodeGone(from);
      return;
    }
    if (!this.#nodes.has(from)) {
      this.#nodes.set(from, Date.now());
      this.emit('nodeUp', from);
    } else this.#nodes.set(from, Date.now());
    switch (m.t) {
      case 'count':
        if (typeof m.topic === 'string') this.#control(`${this.#prefix}!ctl!${from}`, { t: 'counted', req: m.req, n: this.#host?.localSubscribers(m.topic) ?? 0 });
        break;
      case 'counted': {
        const r = this.#requests.get(m.req as number);
        if (r === undefined || !r.waiting.delete(from)) break;
        r.sum += typeof m.n === 'number' ? m.n : 0;
        if (r.waiting.size === 0) this.#finish(m.req as number);
        break;
      }
      case 'app':
        if (m.m !== null && typeof m.m === 'object') this.emit('control', m.m as Record<string, unknown>, from);
        break;
      default:
        break;
    }
  }

  #finish(req: number): void {
    const r = this.#requests.get(req);
    if (r === undefined) return;
    this.#requests.delete(req);
    clearTimeout(r.timer);
    r.resolve(r.sum);
  }

  /** Heartbeat: tell the others we live; forget those silent longer than nodeTimeout. */
  #tick(): void {
    this.#control(this.#ctl, { t: 'hb' });
    const deadline = Date.now() - this.#options.nodeTimeout;
    for (const [id, seen] of this.#nodes) {
      if (seen < deadline) {
        this.#nodes.delete(id);
        this.#nodeGone(id);
      }
    }
  }

  #nodeGone(id: string): void {
    // Requests waiting for it complete without it.
    for (const [req, r] of this.#requests) if (r.waiting.delete(id) && r.waiting.size === 0) this.#finish(req);
    this.emit('nodeDown', id);
  }
}

/** A Redis pub/sub adapter for `new WebSocketServer({ adapter })`. */
export function redisAdapter(options?: RedisAdapterOptions): RedisAdapter {
  return new RedisAdapter(options);
}
