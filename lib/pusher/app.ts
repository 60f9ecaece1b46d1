/**
 * One app at run time: its connections (by socket id), signed-in users, channels, webhooks, and
 * the two operations both the WebSocket protocol and the HTTP API use — publishing an event to a
 * channel (serialized once, published once through the native pub/sub, one socket optionally
 * left out) and a connection leaving a channel (presence and webhook bookkeeping).
 */
import type { WebSocketServer } from '../server.js';
import type { WebSocket } from '../websocket.js';
import { AppChannels, channelKind, isCacheChannel, USER_CHANNEL_PREFIX } from './channels.js';
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

  constructor(config: AppConfig, server: PusherConfig, wss: WebSocketServer<ConnectionState>, topicPrefix: string) {
    this.config = config;
    this.channels = new AppChannels(server.maxCachedChannels, server.cacheTtl);
    this.webhooks = new WebhookSender(config, server.webhookBatchMs, server.webhookAttempts, server.webhookTimeout);
    this.memberWebhooks = new MemberDebounce(server.presenceWebhookDelay);
    this.#counts = !config.enableSubscriptionCount ? null : new SubscriptionCounts(
      server.subscriptionCountInterval,
      (channel) => this.channels.get(channel)?.subscribers ?? 0,
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
  publish(channel: string, event: string, data: unknown, exclude?: PusherSocket, userId?: string): number {
    const message = AppRuntime.message(event, channel, data, userId);
    // The server's own events (member_added/removed, subscription_count) are not the channel's last event.
    if (isCacheChannel(channel) && !event.startsWith('pusher_internal:')) this.channels.cache(channel, message, Date.now());
    return this.#wss.publish(this.topic(channel), message, exclude === undefined ? undefined : { exclude });
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
    if (occupied) this.webhook({ name: 'channel_occupied', channel });
    this.#countChanged(channel);
    return true;
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
        this.publish(channel, 'pusher_internal:member_removed', JSON.stringify({ user_id: userId }));
        this.memberWebhooks.removed(channel, userId, () => this.webhook({ name: 'member_removed', channel, user_id: userId }));
      }
    }
    if (this.channels.leave(channel)) this.webhook({ name: 'channel_vacated', channel });
    this.#countChanged(channel);
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
