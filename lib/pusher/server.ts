/**
 * PusherServer: a Pusher Channels-compatible server (protocol 7, HTTP API, webhooks) on one port
 * of a native WebSocketServer. WebSocket connections at `/app/<key>` run the protocol
 * (lib/pusher/protocol.ts); every other request goes to the HTTP API through the server's
 * httpHandler. Events fan out through the native pub/sub: one topic per channel, one publish per
 * event and channel. A periodic sweep (not a timer per connection) pings silent connections and
 * closes those that do not answer.
 */
import { randomInt } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';

import { InvalidStateError } from '../errors.js';
import { WebSocketServer } from '../server.js';
import type { UpgradeRequest } from '../upgrade-request.js';
import { AppRuntime, type ConnectionState, type PusherSocket } from './app.js';
import { pusherConfig, type PusherConfig, type PusherServerOptions } from './config.js';
import type { RedisAdapter } from '../adapters/redis.js';
import { PusherCluster } from './cluster.js';
import { HttpApi } from './http-api.js';
import { ErrorCode, onMessage, refuse, send } from './protocol.js';

export interface PusherServerEvents {
  listening: [];
  error: [error: Error];
  close: [];
}

let serverCount = 0;
const SWEEP_MS = 1000;

/** A Pusher-compatible server. `await server.listening()`, then clients connect to `ws://host:port/app/<key>`. */
export class PusherServer extends EventEmitter<PusherServerEvents> {
  readonly config: PusherConfig;
  readonly #wss: WebSocketServer<ConnectionState>;
  readonly #byKey = new Map<string, AppRuntime>();
  readonly #byId = new Map<string, AppRuntime>();
  readonly #sweep: NodeJS.Timeout;
  readonly #cluster: PusherCluster | null;
  #connections = 0;
  #listening: Promise<void>;
  #closing: Promise<void> | null = null;

  constructor(options?: PusherServerOptions) {
    super();
    const config = pusherConfig(options);
    this.config = config;
    const api = new HttpApi(config, this.#byId, (app, userId) => this.#terminate(app, userId, true));
    const adapter = config.adapter;
    this.#wss = new WebSocketServer<ConnectionState>({
      port: config.port,
      host: config.host,
      reusePort: config.reusePort,
      maxPayloadLength: config.maxPayloadLength,
      // Liveness is Pusher's own (pusher:ping, 4201); WebSocket pings would only duplicate it.
      autoPing: false,
      idleTimeout: 0,
      httpHandler: api.handle,
      upgrade: (request) => this.#upgrade(request),
      // An HTTP event's socket_id excludes that connection on whichever node holds it.
      resolveExclude: (socketId) => this.#bySocketId(socketId),
      ...(adapter === undefined ? {} : { adapter }),
    });
    // Topics are per thread. Without an adapter every server gets its own namespace in them; with
    // one, every node must name a channel's topic alike.
    const prefix = adapter === undefined ? `pusher${++serverCount}.${randomInt(2 ** 32)}\u0000` : 'pusher\u0000';
    const resync = () => void this.#cluster!.resync();
    this.#cluster = adapter === undefined ? null : new PusherCluster(adapter, config.clusterNodeTimeout, (transitions) => {
      for (const t of transitions) this.#byId.get(t.app)?.onTransition(t);
    }, () => [...this.#byId.values()].flatMap((a) => a.clusterState()));
    for (const app of config.apps) {
      const runtime = new AppRuntime(app, config, this.#wss, prefix, this.#cluster);
      this.#byKey.set(app.key, runtime);
      this.#byId.set(app.id, runtime);
    }
    if (adapter !== undefined) {
      // After every (re)connection to Redis: replace this node's recorded state with the real one.
      adapter.on('ready', resync);
      if (adapter.connected) resync();
      adapter.on('control', (m) => {
        if (m.t === 'pusher-terminate' && typeof m.app === 'string' && typeof m.user === 'string') {
          const app = this.#byId.get(m.app);
          if (app !== undefined) this.#terminate(app, m.user, false);
        }
      });
    }
    this.#listening = new Promise((resolve, reject) => {
      this.#wss.once('listening', () => {
        this.emit('listening');
        resolve();
      });
      this.#wss.once('error', reject);
    });
    this.#listening.catch(() => { /* reported as 'error' */ });
    this.#wss.on('error', (error) => this.emit('error', error));
    this.#wss.on('connection', (ws) => this.#onConnection(ws as PusherSocket));
    this.#sweep = setInterval(() => this.#onSweep(Date.now()), SWEEP_MS);
    this.#sweep.unref();
  }

  /** Resolves once the port is bound (rejects with the listen error). */
  listening(): Promise<void> {
    return this.#listening;
  }

  address(): AddressInfo {
    const a = this.#wss.address();
    if (a === null || typeof a === 'string') throw new InvalidStateError('the server is not listening');
    return a;
  }

  /** The run-time state of an app (connections, channels, users), by id. */
  app(id: string): AppRuntime | undefined {
    return this.#byId.get(id);
  }

  #bySocketId(socketId: string): PusherSocket | undefined {
    for (const app of this.#byId.values()) {
      const socket = app.connections.get(socketId);
      if (socket !== undefined) return socket;
    }
    return undefined;
  }

  /** terminate_connections: this node's connections of the user, and with a cluster every other node's. */
  #terminate(app: AppRuntime, userId: string, everywhere: boolean): void {
    app.terminateLocal(userId, (socket) => refuse(socket, ErrorCode.Unauthorized, 'You got disconnected by the app.'));
    if (everywhere) this.#cluster?.adapter.sendControl({ t: 'pusher-terminate', app: app.config.id, user: userId });
  }

  /** The cluster's adapter, when the server runs as one node of several. */
  get adapter(): RedisAdapter | undefined {
    return this.config.adapter;
  }

  /** Open Pusher connections over all apps. */
  get connectionCount(): number {
    return this.#connections;
  }

  #upgrade(request: UpgradeRequest): { accept: true; data: ConnectionState } | { accept: false; status: number; body: string } {
    const m = /^\/app\/([^/]+)$/.exec(request.path);
    if (m === null) return { accept: false, status: 404, body: 'WebSocket connections go to /app/<key>' };
    const now = Date.now();
    const state: ConnectionState = {
      app: null, refusal: null, socketId: `${randomInt(1, 2 ** 31)}.${randomInt(1, 2 ** 31)}`,
      channels: new Set(), presence: new Map(), userId: null,
      connectedAt: now, lastSeen: now, pingedAt: 0, eventWindow: 0, eventCount: 0, closed: false,
    };
    const app = this.#byKey.get(decodeURIComponent(m[1]!));
    const protocol = request.query.get('protocol');
    const version = protocol === null ? NaN : Number(protocol);
    if (this.#closing !== null) state.refusal = { code: ErrorCode.ReconnectImmediately, message: 'Server is closing. Please reconnect shortly.' };
    else if (app === undefined) state.refusal = { code: ErrorCode.AppNotFound, message: `Could not find app by key ${m[1]}` };
    else if (!app.config.enabled) state.refusal = { code: ErrorCode.AppDisabled, message: 'The app is disabled' };
    else if (protocol === null) state.refusal = { code: ErrorCode.NoProtocol, message: 'No protocol version supplied' };
    else if (!(version >= 5 && version <= 7)) state.refusal = { code: ErrorCode.UnsupportedProtocol, message: `Unsupported protocol version ${protocol}` };
    else if (this.config.maxConnections >= 0 && this.#connections >= this.config.maxConnections) {
      state.refusal = { code: ErrorCode.OverCapacity, message: 'Over capacity' };
    } else if (app.config.maxConnections >= 0 && app.connections.size >= app.config.maxConnections) {
      state.refusal = { code: ErrorCode.AppOverQuota, message: 'The app is over its connection quota' };
    } else {
      // The hook is synchronous, and 'connection' (which counts) follows it synchronously, so
      // concurrent upgrades cannot slip past the quotas.
      state.app = app;
    }
    return { accept: true, data: state };
  }

  #onConnection(ws: PusherSocket): void {
    const state = ws.data;
    if (state.refusal !== null) {
      state.closed = true;
      refuse(ws, state.refusal.code, state.refusal.message);
      return;
    }
    const app = state.app!;
    this.#connections++;
    app.connections.set(state.socketId, ws);
    ws.on('message', (data) => onMessage(ws, data as string | Buffer, Date.now()));
    ws.on('close', () => {
      this.#connections--;
      app.closed(ws);
    });
    send(ws, 'pusher:connection_established', JSON.stringify({ socket_id: state.socketId, activity_timeout: this.config.activityTimeout }));
  }

  /** Liveness and user authentication deadlines; expired cache entries. */
  #onSweep(now: number): void {
    const silent = this.config.activityTimeout * 1000;
    const pong = this.config.pongTimeout;
    for (const app of this.#byId.values()) {
      const authDeadline = app.config.enableUserAuthentication ? app.config.userAuthenticationTimeout : 0;
      for (const ws of app.connections.values()) {
        const state = ws.data;
        if (state.closed) continue;
        if (authDeadline > 0 && state.userId === null && now - state.connectedAt >= authDeadline) {
          refuse(ws, ErrorCode.Unauthorized, 'The connection did not sign in in time');
        } else if (state.pingedAt !== 0) {
          if (now - state.pingedAt >= pong) refuse(ws, ErrorCode.PongNotReceived, 'Pong reply not received');
        } else if (now - state.lastSeen >= silent) {
          state.pingedAt = now;
          send(ws, 'pusher:ping', {});
        }
      }
      app.channels.sweep(now);
    }
    void this.#cluster?.heartbeat();
  }

  /**
   * Closes every connection with pusher:error 4200 and close code 4200 ("reconnect now": pusher-js
   * reconnects at once, to another node behind a load balancer, as Pusher and soketi do on
   * shutdown), stops listening and the webhooks; resolves when done.
   */
  close(): Promise<void> {
    if (this.#closing !== null) return this.#closing;
    clearInterval(this.#sweep);
    for (const app of this.#byId.values()) {
      for (const ws of [...app.connections.values()]) refuse(ws, ErrorCode.ReconnectImmediately, 'Server is closing. Please reconnect shortly.');
    }
    this.#closing = (async () => {
      // A cluster node leaves cleanly: its members and subscribers are taken back at once (the
      // other nodes see member_removed now, not after clusterNodeTimeout).
      await this.#cluster?.leave();
      await this.#wss.close();
      for (const app of this.#byId.values()) app.close();
      // Webhooks already due (member_removed, channel_vacated of this shutdown) get a short grace.
      await Promise.all([...this.#byId.values()].map((app) => app.webhooks.closeGracefully(Math.min(this.config.webhookTimeout, 2000))));
      this.emit('close');
    })();
    return this.#closing;
  }
}
