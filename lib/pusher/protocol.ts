/**
 * Pusher Channels protocol 7 on one connection: what a client sends (pusher:ping/pong,
 * pusher:subscribe/unsubscribe, pusher:signin, client-* events) and what it is answered, with
 * Pusher's error codes where Pusher sends them:
 *   4001 unknown app · 4003 app disabled · 4004 app over its connection quota · 4007 unsupported
 *   protocol version · 4008 no protocol version · 4009 unauthorized (signin failed, user
 *   authentication timed out, connections terminated by the app) · 4100 server over capacity ·
 *   4200 reconnect now (the server is closing) · 4201 pong not received · 4301 client event rejected (disabled, not subscribed, too large,
 *   over the rate limit).
 * Subscription failures are `pusher:subscription_error` on the channel (AuthError 401, LimitReached).
 */
import { AppRuntime, type PusherSocket } from './app.js';
import { channelKind, channelNameError, isCacheChannel, parsePresenceData, USER_CHANNEL_PREFIX } from './channels.js';
import { validChannelAuth, validUserAuth } from './signatures.js';

export const ErrorCode = {
  AppNotFound: 4001,
  AppDisabled: 4003,
  AppOverQuota: 4004,
  UnsupportedProtocol: 4007,
  NoProtocol: 4008,
  Unauthorized: 4009,
  OverCapacity: 4100,
  ReconnectImmediately: 4200,
  PongNotReceived: 4201,
  ClientEventRejected: 4301,
} as const;

export function send(socket: PusherSocket, event: string, data: unknown, channel?: string): void {
  socket.send(AppRuntime.message(event, channel, data));
}

/** `pusher:error` (the connection stays open unless the caller closes it). */
export function sendError(socket: PusherSocket, code: number | null, message: string): void {
  send(socket, 'pusher:error', { code, message });
}

/** `pusher:error`, then the close frame with the same code. */
export function refuse(socket: PusherSocket, code: number, message: string): void {
  sendError(socket, code, message);
  socket.close(code, message.length <= 120 ? message : message.slice(0, 120));
}

function subscriptionError(socket: PusherSocket, channel: string, type: string, error: string, status: number): void {
  send(socket, 'pusher:subscription_error', { type, error, status }, channel);
}

/** A text frame from the client. */
export function onMessage(socket: PusherSocket, raw: string | Buffer, now: number): void {
  const state = socket.data;
  state.lastSeen = now;
  state.pingedAt = 0;
  const app = state.app;
  if (app === null || state.closed) return;
  let message: { event?: unknown; data?: unknown; channel?: unknown };
  try {
    message = JSON.parse(typeof raw === 'string' ? raw : raw.toString('utf8')) as typeof message;
  } catch {
    sendError(socket, null, 'messages must be JSON');
    return;
  }
  if (message === null || typeof message !== 'object' || typeof message.event !== 'string') {
    sendError(socket, null, 'messages must be JSON objects with an "event"');
    return;
  }
  const event = message.event;
  let data = message.data;
  // Some clients send data as a JSON string.
  if (typeof data === 'string' && event.startsWith('pusher:')) {
    try {
      data = JSON.parse(data);
    } catch { /* left as is */ }
  }
  switch (event) {
    case 'pusher:ping':
      send(socket, 'pusher:pong', {});
      return;
    case 'pusher:pong':
      return;
    case 'pusher:subscribe':
      subscribe(app, socket, (data ?? {}) as Record<string, unknown>);
      return;
    case 'pusher:unsubscribe': {
      const channel = (data as { channel?: unknown } | null)?.channel;
      if (typeof channel === 'string') app.leave(socket, channel);
      return;
    }
    case 'pusher:signin':
      signin(app, socket, (data ?? {}) as Record<string, unknown>);
      return;
    default:
      if (event.startsWith('client-')) clientEvent(app, socket, event, message.channel, message.data, raw, now);
  }
}

function subscribe(app: AppRuntime, socket: PusherSocket, data: Record<string, unknown>): void {
  const state = socket.data;
  const channel = data.channel;
  const config = app.config;
  if (typeof channel === 'string' && state.userId !== null && channel === USER_CHANNEL_PREFIX + state.userId) {
    // A signed-in connection already receives its #server-to-user- channel (signIn joined it);
    // pusher-js still subscribes to it after pusher:signin_success and waits for the answer.
    send(socket, 'pusher_internal:subscription_succeeded', '{}', channel);
    return;
  }
  const nameError = channelNameError(channel, config.maxChannelNameLength);
  if (nameError !== null) {
    subscriptionError(socket, typeof channel === 'string' ? channel : '', 'InvalidChannel', nameError, 4009);
    return;
  }
  const name = channel as string;
  const kind = channelKind(name);
  if (state.channels.has(name)) {
    // Pusher answers a repeated subscribe again (a reconnecting client may resend it).
    if (kind !== 'presence') send(socket, 'pusher_internal:subscription_succeeded', '{}', name);
    else if (app.cluster === null) succeedPresence(app, socket, name);
    else void app.presenceMembers(name).then((members) => sendPresenceSucceeded(socket, name, members));
    return;
  }
  let member: { userId: string; info: unknown } | undefined;
  if (kind !== 'public') {
    const channelData = kind === 'presence' ? data.channel_data : undefined;
    if (kind === 'presence' && typeof channelData !== 'string') {
      subscriptionError(socket, name, 'AuthError', 'presence channels need channel_data', 401);
      return;
    }
    if (!validChannelAuth(config.key, config.secret, data.auth, state.socketId, name, channelData as string | undefined)) {
      subscriptionError(socket, name, 'AuthError', `invalid signature for ${name}`, 401);
      return;
    }
    if (kind === 'presence') {
      const parsed = parsePresenceData(channelData, config.maxPresenceMemberSize);
      if ('error' in parsed) {
        subscriptionError(socket, name, parsed.limit ? 'LimitReached' : 'AuthError', parsed.error, parsed.limit ? 4301 : 401);
        return;
      }
      const members = app.channels.get(name)?.members;
      if (members != null && !members.has(parsed.userId) && members.size >= config.maxPresenceMembersPerChannel) {
        subscriptionError(socket, name, 'LimitReached', `the presence channel has ${config.maxPresenceMembersPerChannel} members, the most allowed`, 4100);
        return;
      }
      member = parsed;
    }
  }
  app.join(socket, name);
  const cache = isCacheChannel(name);
  if (app.cluster === null) {
    if (member !== undefined) {
      state.presence.set(name, member.userId);
      // member_added goes to everyone else in the channel (the joining connection is already subscribed).
      if (app.channels.addMember(app.channels.get(name)!, member.userId, member.info)) void app.memberJoined(socket, name, member.userId, member.info);
      succeedPresence(app, socket, name);
    } else send(socket, 'pusher_internal:subscription_succeeded', '{}', name);
    if (cache) replayCache(app, socket, name, app.channels.cached(name, Date.now()));
    return;
  }
  // A cluster: whether the member is new to the cluster, the members hash and the cached event
  // come from Redis; the answers follow in the same order once they are known.
  let joined = Promise.resolve();
  if (member !== undefined) {
    state.presence.set(name, member.userId);
    if (app.channels.addMember(app.channels.get(name)!, member.userId, member.info)) joined = app.memberJoined(socket, name, member.userId, member.info);
  } else send(socket, 'pusher_internal:subscription_succeeded', '{}', name);
  void (async () => {
    await joined;
    const still = () => !state.closed && state.channels.has(name);
    if (member !== undefined) {
      const members = await app.presenceMembers(name);
      if (!still()) return;
      sendPresenceSucceeded(socket, name, members);
    }
    if (cache) {
      const cached = await app.cachedEvent(name);
      if (still()) replayCache(app, socket, name, cached);
    }
  })();
}

function replayCache(app: AppRuntime, socket: PusherSocket, channel: string, cached: string | undefined): void {
  if (cached !== undefined) socket.send(cached);
  else {
    send(socket, 'pusher:cache_miss', undefined, channel);
    app.webhook({ name: 'cache_miss', channel });
  }
}

function succeedPresence(app: AppRuntime, socket: PusherSocket, channel: string): void {
  const members = new Map<string, unknown>();
  for (const [id, m] of app.channels.get(channel)?.members ?? []) members.set(id, m.info ?? null);
  sendPresenceSucceeded(socket, channel, members);
}

function sendPresenceSucceeded(socket: PusherSocket, channel: string, members: Map<string, unknown>): void {
  const ids: string[] = [];
  const hash: Record<string, unknown> = {};
  for (const [id, info] of members) {
    ids.push(id);
    hash[id] = info ?? null;
  }
  send(socket, 'pusher_internal:subscription_succeeded', JSON.stringify({ presence: { ids, hash, count: ids.length } }), channel);
}

function signin(app: AppRuntime, socket: PusherSocket, data: Record<string, unknown>): void {
  const state = socket.data;
  const userData = data.user_data;
  let id: unknown;
  if (typeof userData === 'string') {
    try {
      id = (JSON.parse(userData) as { id?: unknown } | null)?.id;
    } catch { /* refused below */ }
  }
  if (typeof userData !== 'string' || (typeof id !== 'string' && typeof id !== 'number') || String(id).length === 0 ||
    !validUserAuth(app.config.key, app.config.secret, data.auth, state.socketId, userData)) {
    refuse(socket, ErrorCode.Unauthorized, 'The connection is unauthorized: invalid pusher:signin');
    return;
  }
  app.signIn(socket, String(id));
  send(socket, 'pusher:signin_success', { user_data: userData });
}

function clientEvent(app: AppRuntime, socket: PusherSocket, event: string, channel: unknown, data: unknown, raw: string | Buffer, now: number): void {
  const state = socket.data;
  const config = app.config;
  if (!config.enableClientMessages) {
    sendError(socket, ErrorCode.ClientEventRejected, 'The app does not have client messaging enabled.');
    return;
  }
  if (typeof channel !== 'string' || !state.channels.has(channel)) {
    sendError(socket, ErrorCode.ClientEventRejected, 'Client events need a channel this connection is subscribed to.');
    return;
  }
  const kind = channelKind(channel);
  if (kind !== 'private' && kind !== 'presence') {
    sendError(socket, ErrorCode.ClientEventRejected, 'Client events are only allowed on private and presence channels.');
    return;
  }
  if (event.length > config.maxEventNameLength) {
    sendError(socket, ErrorCode.ClientEventRejected, `The event name is longer than ${config.maxEventNameLength} characters.`);
    return;
  }
  if (Buffer.byteLength(raw) > config.maxEventPayloadSize + config.maxChannelNameLength + config.maxEventNameLength + 64) {
    sendError(socket, ErrorCode.ClientEventRejected, `The event data should be at most ${config.maxEventPayloadSize} bytes.`);
    return;
  }
  const size = typeof data === 'string' ? Buffer.byteLength(data) : Buffer.byteLength(JSON.stringify(data ?? null));
  if (size > config.maxEventPayloadSize) {
    sendError(socket, ErrorCode.ClientEventRejected, `The event data should be at most ${config.maxEventPayloadSize} bytes.`);
    return;
  }
  const second = Math.floor(now / 1000);
  if (state.eventWindow !== second) {
    state.eventWindow = second;
    state.eventCount = 0;
  }
  if (++state.eventCount > config.maxClientEventsPerSecond) {
    sendError(socket, ErrorCode.ClientEventRejected, `More than ${config.maxClientEventsPerSecond} client events per second.`);
    return;
  }
  const userId = kind === 'presence' ? state.presence.get(channel) : undefined;
  app.publish(channel, event, data, socket, userId);
  if (app.webhooks.wants('client_event')) {
    app.webhook({ name: 'client_event', channel, event, data: typeof data === 'string' ? data : JSON.stringify(data), socket_id: state.socketId, ...(userId === undefined ? {} : { user_id: userId }) });
  }
}
