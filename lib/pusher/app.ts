/**
 * One app at run time: its connections (by socket id), signed-in users, channels, webhooks, and
 * the two operations both the WebSocket protocol and the HTTP API use — publishing an event to a
 * channel (serialized once, published once through the native pub/sub, one socket optionally
 * left out) and a connection leaving a channel (presence and webhook bookkeeping).
 */
import type { WebSocketServer } from '../server.js';
import type { WebSocket } from '../websocket.js';
import { AppChannels, channelKind, isCacheChannel, USER_CHANNEL_PREFIX } from './channels.js';
import type { PusherCluster, Transition, Delta } from './cluster.js';
import type { AppConfig, PusherConfig } from './config.js';
import { MemberDebounce } from './member-debounce.js';
import { SubscriptionCounts } from './subscription-count.js';
import { WebhookSender, type WebhookEvent } from './webhooks.js';

/** What the server keeps per connection (the WebSocket's `data`). */
export interface ConnectionState {
  /** Null when the connection is refused (unknown or disabled app, over quota): closed after the error. */
  app: AppRuntime | null;
  refusal: { code: number; message: string } | null;
  socketId: string;
  channels: Set<string>;
  /** Presence channels joined: channel → user id. */
  presence: Map<string, string>;
  /** Set by a successful pusher:signin. */
  userId: string | null;
  connectedAt: number;
  lastSeen: number;
  /** When the server sent pusher:ping (0: not waiting for an answer). */
  pingedAt: number;
  eventWindow: number;
  eventCount: number;
  closed: boolean;
}

export type PusherSocket = WebSocket<ConnectionState>;

export class AppRuntime {
  readonly config: AppConfig;
  readonly channels: AppChannels;
  readonly connections = new Map<string, PusherSocket>();
  readonly users = new Map<string, Set<PusherSocket>>();
  readonly webhooks: WebhookSender;
  readonly memberWebhooks: MemberDebounce;
  readonly #counts: SubscriptionCounts | null;
  readonly #topicPrefix: string;
  readonly #wss: WebSocketServer<ConnectionState>;
  readonly #closedQueue: PusherSocket[] = [];
  #handlingClosed = false;
  /** With an adapter: the cluster's state in Redis (null: this process is the whole server). */
  readonly cluster: PusherCluster | null;
  /** With a cluster: the latest cluster-wide subscriber count per channel (subscription counting). */
  readonly #clusterCounts = new Map<string, number>();
  readonly #cacheTtl: number;

  constructor(config: AppConfig, server: PusherConfig, wss: WebSocketServer<ConnectionState>, topicPrefix: string, cluster: PusherCluster | null = null) {
    this.config = config;
    this.cluster = cluster;
    this.#cacheTtl = server.cacheTtl;
    this.channels = new AppChannels(server.maxCachedChannels, server.cacheTtl);
    this.webhooks = new WebhookSender(config, server.webhookBatchMs, server.webhookAttempts, server.webhookTimeout);
    this.memberWebhooks = new MemberDebounce(server.presenceWebhookDelay);
    this.#counts = !config.enableSubscriptionCount ? null : new SubscriptionCounts(
      server.subscriptionCountInterval,
      (channel) => {
        if (cluster === null) return this.channels.get(channel)?.subscribers ?? 0;
        // Read once per flush; kept only while this node has subscribers there (bounded by them).
        const n = this.#clusterCounts.get(channel) ?? 0;
        if (this.channels.get(channel) === undefined) this.#clusterCounts.delete(channel);
        return n;
      },
      (channel, n) => {
        this.publish(channel, 'pusher_internal:subscription_count', JSON.stringify({ subscription_count: n }));
        this.webhook({ name: 'subscription_count', channel, subscription_count: n });
      },
    );
    this.#wss = wss;
    // Topics are per thread; every server and app gets its own namespace in them.
    this.#topicPrefix = `${topicPrefix}${config.id}\u0000`;
  }

  topic(channel: string): string {
    return this.#topicPrefix + channel;
  }

  /** A serialized Pusher message (`data` as given: Pusher's data is a string, or an object sent as is). */
  static message(event: string, channel: string | undefined, data: unknown, userId?: string): string {
    const m: Record<string, unknown> = { event };
    if (channel !== undefined) m.channel = channel;
    m.data = data;
    if (userId !== undefined) m.user_id = userId;
    return JSON.stringify(m);
  }

  /**
   * Publishes an event to a channel's subscribers on this thread: serialized once, published once
   * (native fan-out), `exclude` left out. Cache channels remember it (unless it is one of the
   * server's pusher_internal: events). Returns the recipients.
   */
  publish(channel: string, event: string, data: unknown, exclude?: PusherSocket | string, userId?: string): number {
    const message = AppRuntime.message(event, channel, data, userId);
    // The server's own events (member_added/removed, subscription_count) are not the channel's last event.
    if (isCacheChannel(channel) && !event.startsWith('pusher_internal:')) {
      this.channels.cache(channel, message, Date.now());
      this.cluster?.cacheSet(this.config.id, channel, message, this.#cacheTtl);
    }
    // A socket_id (string) is resolved on every node (the server's resolveExclude).
    return this.#wss.publish(this.topic(channel), message, exclude === undefined ? undefined : { exclude });
  }

  /** A cache channel's last event: this node's, or with a cluster the cluster's. */
  async cachedEvent(channel: string): Promise<string | undefined> {
    const local = this.channels.cached(channel, Date.now());
    if (this.cluster === null) return local;
    try {
      return await this.cluster.cacheGet(this.config.id, channel) ?? local;
    } catch {
      return local; // Redis unreachable: this node's own memory
    }
  }

  webhook(event: WebhookEvent): void {
    this.webhooks.add(event);
  }

  /** `socket` joins `channel` (auth already checked); true when it was not subscribed yet. */
  join(socket: PusherSocket, channel: string): boolean {
    const state = socket.data;
    if (state.channels.has(channel)) return false;
    socket.subscribe(this.topic(channel));
    state.channels.add(channel);
    const { occupied } = this.channels.join(channel);
    if (this.cluster !== null) void this.cluster.update([{ app: this.config.id, channel, delta: 1 }]);
    else {
      if (occupied) this.webhook({ name: 'channel_occupied', channel });
      this.#countChanged(channel);
    }
    return true;
  }

  /**
   * A presence member's first connection on this node joined (`socket`): member_added and its
   * webhook — at once here, or with a cluster when Redis says the user is new to the whole
   * cluster. Resolves when that is known (the subscription_succeeded may then be sent).
   */
  memberJoined(socket: PusherSocket, channel: string, userId: string, info: unknown): Promise<void> {
    if (this.cluster === null) {
      this.publish(channel, 'pusher_internal:member_added', JSON.stringify({ user_id: userId, user_info: info }), socket);
      this.memberAdded(channel, userId);
      return Promise.resolve();
    }
    return this.cluster.update([{ app: this.config.id, channel, userId, delta: 1, info: JSON.stringify(info ?? null), tag: socket }]);
  }

  /** The members hash of a presence channel: this node's, or with a cluster the cluster's. */
  async presenceMembers(channel: string): Promise<Map<string, unknown>> {
    const local = new Map<string, unknown>();
    for (const [id, m] of this.channels.get(channel)?.members ?? []) local.set(id, m.info ?? null);
    if (this.cluster === null) return local;
    try {
      const all = await this.cluster.members(this.config.id, channel);
      for (const [id, info] of local) if (!all.has(id)) all.set(id, info);
      return all;
    } catch {
      return local;
    }
  }

  /** `socket` leaves `channel` (unsubscribe, or it closed): member_removed and channel_vacated as due. */
  leave(socket: PusherSocket, channel: string): void {
    const state = socket.data;
    if (!state.channels.delete(channel)) return;
    if (!state.closed) socket.unsubscribe(this.topic(channel));
    const userId = state.presence.get(channel);
    if (userId !== undefined) {
      state.presence.delete(channel);
      if (this.channels.removeMember(channel, userId)) {
        if (this.cluster !== null) void this.cluster.update([{ app: this.config.id, channel, userId, delta: -1 }]);
        else this.#memberGone(channel, userId);
      }
    }
    const vacated = this.channels.leave(channel);
    if (this.cluster !== null) void this.cluster.update([{ app: this.config.id, channel, delta: -1 }]);
    else {
      if (vacated) this.webhook({ name: 'channel_vacated', channel });
      this.#countChanged(channel);
    }
  }

  #memberGone(channel: string, userId: string): void {
    this.publish(channel, 'pusher_internal:member_removed', JSON.stringify({ user_id: userId }));
    this.memberWebhooks.removed(channel, userId, () => this.webhook({ name: 'member_removed', channel, user_id: userId }));
  }

  /**
   * What the cluster's state says happened (a change of this node, or a dead node reaped by it):
   * fired here, so once per cluster. Member events are published to the whole cluster.
   */
  onTransition(t: Transition): void {
    switch (t.kind) {
      case 'occupied':
        this.webhook({ name: 'channel_occupied', channel: t.channel });
        this.#clusterCount(t.channel, t.count);
        break;
      case 'vacated':
        this.webhook({ name: 'channel_vacated', channel: t.channel });
        this.#clusterCount(t.channel, 0);
        break;
      case 'count':
        this.#clusterCount(t.channel, t.count);
        break;
      case 'member_added': {
        const info = this.channels.get(t.channel)?.members?.get(t.userId)?.info ?? null;
        const exclude = t.tag as PusherSocket | undefined;
        this.publish(t.channel, 'pusher_internal:member_added', JSON.stringify({ user_id: t.userId, user_info: info }), exclude !== undefined && !exclude.data.closed ? exclude : undefined);
        this.memberAdded(t.channel, t.userId);
        break;
      }
      case 'member_removed':
        this.#memberGone(t.channel, t.userId);
        break;
    }
  }

  #clusterCount(channel: string, n: number): void {
    if (this.#counts === null) return;
    if (n > 0) this.#clusterCounts.set(channel, n);
    else this.#clusterCounts.delete(channel);
    this.#countChanged(channel);
  }

  /** This node's whole state, for the cluster's resync after Redis was unreachable. */
  clusterState(): Delta[] {
    const out: Delta[] = [];
    for (const [channel, state] of this.channels.entries()) {
      out.push({ app: this.config.id, channel, delta: state.subscribers });
      for (const [userId, m] of state.members ?? []) out.push({ app: this.config.id, channel, userId, delta: 1, info: JSON.stringify(m.info ?? null) });
    }
    return out;
  }

  /** Closes every connection of `userId` on this node with 4009 (terminate_connections). */
  terminateLocal(userId: string, close: (socket: PusherSocket) => void): void {
    for (const socket of [...(this.users.get(userId) ?? [])]) close(socket);
  }

  /** Occupied channels with their subscriber and (presence) user counts: this node's, or the cluster's. */
  async channelList(): Promise<Map<string, { subscribers: number; users?: number }>> {
    const out = new Map<string, { subscribers: number; users?: number }>();
    if (this.cluster === null) {
      for (const [name, state] of this.channels.entries()) out.set(name, { subscribers: state.subscribers, ...(state.members ? { users: state.members.size } : {}) });
      return out;
    }
    const cluster = this.cluster;
    // The presence channels' user counts are asked together (one pipelined round trip, not one each).
    await Promise.all([...await cluster.channels(this.config.id)].map(async ([name, subscribers]) => {
      out.set(name, channelKind(name) === 'presence' ? { subscribers, users: await cluster.memberCount(this.config.id, name) } : { subscribers });
    }));
    return out;
  }

  /** Counts the HTTP API reports for a channel, over the cluster when there is one. */
  async channelInfo(channel: string): Promise<{ occupied: boolean; subscription_count: number; user_count?: number }> {
    if (this.cluster === null) return this.info(channel);
    const subscribers = await this.cluster.subscribers(this.config.id, channel);
    const out: { occupied: boolean; subscription_count: number; user_count?: number } = { occupied: subscribers > 0, subscription_count: subscribers };
    if (channelKind(channel) === 'presence') out.user_count = await this.cluster.memberCount(this.config.id, channel);
    return out;
  }

  /** A member joined a presence channel: its member_added webhook, unless it rejoined within the debounce delay. */
  memberAdded(channel: string, userId: string): void {
    if (!this.memberWebhooks.rejoined(channel, userId)) this.webhook({ name: 'member_added', channel, user_id: userId });
  }

  #countChanged(channel: string): void {
    if (this.#counts !== null && channelKind(channel) !== 'presence') this.#counts.changed(channel);
  }

  /** The server is closing: pending member_removed webhooks are queued now, counting stops. */
  close(): void {
    this.memberWebhooks.flush();
    this.#counts?.close();
  }

  /** Registers a signed-in user's connection; it joins `#server-to-user-<id>`. */
  signIn(socket: PusherSocket, userId: string): void {
    const state = socket.data;
    if (state.userId !== null) this.#forgetUser(socket);
    state.userId = userId;
    let set = this.users.get(userId);
    if (set === undefined) this.users.set(userId, (set = new Set()));
    set.add(socket);
    socket.subscribe(this.topic(USER_CHANNEL_PREFIX + userId));
  }

  #forgetUser(socket: PusherSocket): void {
    const id = socket.data.userId;
    if (id === null) return;
    const set = this.users.get(id);
    set?.delete(socket);
    if (set?.size === 0) this.users.delete(id);
    if (!socket.data.closed) socket.unsubscribe(this.topic(USER_CHANNEL_PREFIX + id));
    socket.data.userId = null;
  }

  /**
   * The connection closed: it leaves everything. A close can be reported from inside a publish
   * (a write to a peer that reset fails there), and leaving publishes member_removed, which may
   * find the next dead peer: closes reported meanwhile are queued and handled by the outermost
   * call, so thousands of abrupt disconnects never nest.
   */
  closed(socket: PusherSocket): void {
    socket.data.closed = true;
    this.#closedQueue.push(socket);
    if (this.#handlingClosed) return;
    this.#handlingClosed = true;
    try {
      for (let i = 0; i < this.#closedQueue.length; i++) {
        const s = this.#closedQueue[i]!;
        for (const channel of [...s.data.channels]) this.leave(s, channel);
        this.#forgetUser(s);
        this.connections.delete(s.data.socketId);
      }
    } finally {
      this.#closedQueue.length = 0;
      this.#handlingClosed = false;
    }
  }

  /** Counts the HTTP API reports for a channel. */
  info(channel: string): { occupied: boolean; subscription_count: number; user_count?: number } {
    const state = this.channels.get(channel);
    const out: { occupied: boolean; subscription_count: number; user_count?: number } = {
      occupied: state !== undefined,
      subscription_count: state?.subscribers ?? 0,
    };
    if (channelKind(channel) === 'presence') out.user_count = state?.members?.size ?? 0;
    return out;
  }
}
