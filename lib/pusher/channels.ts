/**
 * Channels of one app: names and kinds, subscriber counts, presence members (one per user id,
 * however many of that user's connections joined) and cache channels' last events. Bounded: a
 * presence channel holds at most maxPresenceMembersPerChannel members of at most
 * maxPresenceMemberSize bytes; the cache holds at most maxCachedChannels entries, each expiring
 * after cacheTtl. Channel state exists only while the channel has subscribers.
 */

/** Pusher's channel-name characters. */
const NAME = /^[A-Za-z0-9_\-=@,.;]+$/;
/** The channel a signed-in user's connections share (`pusher:signin`). */
export const USER_CHANNEL_PREFIX = '#server-to-user-';

export type ChannelKind = 'public' | 'private' | 'encrypted' | 'presence';

export function channelKind(name: string): ChannelKind {
  if (name.startsWith('presence-')) return 'presence';
  if (name.startsWith('private-encrypted-')) return 'encrypted';
  if (name.startsWith('private-')) return 'private';
  return 'public';
}

/** Cache channels replay their last event to new subscribers (`cache-`, `private-cache-`, `private-encrypted-cache-`, `presence-cache-`). */
export function isCacheChannel(name: string): boolean {
  return name.startsWith('cache-') || name.startsWith('private-cache-') || name.startsWith('private-encrypted-cache-') || name.startsWith('presence-cache-');
}

/** Why a name cannot be subscribed to or published on, or null. `serverSide`: the HTTP API may also address `#server-to-user-<id>`. */
export function channelNameError(name: unknown, maxLength: number, serverSide = false): string | null {
  if (typeof name !== 'string' || name.length === 0) return 'the channel name must be a non-empty string';
  if (name.length > maxLength) return `the channel name is longer than ${maxLength} characters`;
  if (serverSide && name.startsWith(USER_CHANNEL_PREFIX) && name.length > USER_CHANNEL_PREFIX.length) return null;
  if (!NAME.test(name)) return 'the channel name may only contain A-Z, a-z, 0-9 and _ - = @ , . ;';
  return null;
}

export interface Member {
  info: unknown;
  /** This user's connections in the channel. */
  sockets: number;
}

export interface ChannelState {
  subscribers: number;
  /** Presence channels: user id → member. */
  members: Map<string, Member> | null;
}

interface CacheEntry {
  message: string;
  expires: number;
}

/** Why presence data is refused, or null: the presence section of the member, parsed. */
export function parsePresenceData(channelData: unknown, maxSize: number): { error: string; limit: boolean } | { userId: string; info: unknown } {
  if (typeof channelData !== 'string') return { error: 'presence channels need channel_data (a JSON string with user_id)', limit: false };
  if (Buffer.byteLength(channelData) > maxSize) return { error: `channel_data is larger than ${maxSize} bytes`, limit: true };
  let parsed: unknown;
  try {
    parsed = JSON.parse(channelData);
  } catch {
    return { error: 'channel_data is not JSON', limit: false };
  }
  const id = (parsed as { user_id?: unknown } | null)?.user_id;
  if ((typeof id !== 'string' || id.length === 0) && typeof id !== 'number') return { error: 'channel_data has no user_id', limit: false };
  return { userId: String(id), info: (parsed as { user_info?: unknown }).user_info };
}

export class AppChannels {
  readonly #channels = new Map<string, ChannelState>();
  readonly #cache = new Map<string, CacheEntry>();
  readonly #maxCached: number;
  readonly #ttl: number;

  constructor(maxCached: number, ttl: number) {
    this.#maxCached = maxCached;
    this.#ttl = ttl;
  }

  get(name: string): ChannelState | undefined {
    return this.#channels.get(name);
  }

  /** Occupied channels, in no particular order. */
  entries(): IterableIterator<[string, ChannelState]> {
    return this.#channels.entries();
  }

  get size(): number {
    return this.#channels.size;
  }

  /** One more subscriber; returns the state and whether the channel just became occupied. */
  join(name: string): { state: ChannelState; occupied: boolean } {
    let state = this.#channels.get(name);
    const occupied = state === undefined;
    if (state === undefined) {
      state = { subscribers: 0, members: channelKind(name) === 'presence' ? new Map() : null };
      this.#channels.set(name, state);
    }
    state.subscribers++;
    return { state, occupied };
  }

  /** One subscriber fewer; returns whether the channel is now vacant (its state is gone). */
  leave(name: string): boolean {
    const state = this.#channels.get(name);
    if (state === undefined) return false;
    state.subscribers--;
    if (state.subscribers > 0) return false;
    this.#channels.delete(name);
    return true;
  }

  /** Adds one connection of `userId`; true when the user is new to the channel (member_added). */
  addMember(state: ChannelState, userId: string, info: unknown): boolean {
    const members = state.members!;
    const m = members.get(userId);
    if (m !== undefined) {
      m.sockets++;
      return false;
    }
    members.set(userId, { info, sockets: 1 });
    return true;
  }

  /** Removes one connection of `userId`; true when it was the user's last (member_removed). */
  removeMember(name: string, userId: string): boolean {
    const members = this.#channels.get(name)?.members;
    const m = members?.get(userId);
    if (members == null || m === undefined) return false;
    if (--m.sockets > 0) return false;
    members.delete(userId);
    return true;
  }

  /** Remembers a cache channel's last event (serialized as sent). */
  cache(name: string, message: string, now: number): void {
    this.#cache.delete(name);  // re-inserted last: the Map's order is the eviction order
    this.#cache.set(name, { message, expires: now + this.#ttl });
    if (this.#cache.size > this.#maxCached) this.#cache.delete(this.#cache.keys().next().value as string);
  }

  cached(name: string, now: number): string | undefined {
    const entry = this.#cache.get(name);
    if (entry === undefined) return undefined;
    if (entry.expires <= now) {
      this.#cache.delete(name);
      return undefined;
    }
    return entry.message;
  }

  get cachedCount(): number {
    return this.#cache.size;
  }

  /** Drops expired cache entries (called periodically). */
  sweep(now: number): void {
    for (const [name, entry] of this.#cache) if (entry.expires <= now) this.#cache.delete(name);
  }
}
