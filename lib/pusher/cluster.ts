/**
 * The Pusher server's cluster-wide state in Redis, for nodes joined by a RedisAdapter: which
 * channels are occupied (subscriber counts), which users are present in presence channels (and
 * their user_info), and the last event of cache channels. Events fan out through the adapter as
 * any publish does; this file only keeps the counts that decide what fires once per cluster.
 *
 * Every node records its own contributions in a hash of its own (`s␀app␀channel` → its
 * subscribers, `m␀app␀channel␀user` → 1 while that user has a connection in the channel on this
 * node). One Lua script applies a node's changes to its hash and to the cluster's sums
 * atomically and returns the transitions: a channel occupied or vacated, a member added (first
 * node) or removed (last node), a new subscriber count. The node whose change caused a
 * transition fires its webhook and publishes the member event: once per cluster.
 *
 * Liveness: every node refreshes `alive!<id>` (expiring after `nodeTimeout`) each second and
 * reaps nodes whose key lapsed (killed, partitioned): the same script, atomically and only
 * once, takes the dead node's contributions back and returns the transitions (member_removed
 * for its users, channel_vacated), which the reaping node fires. After Redis was unreachable a
 * node replaces its hash with its current local state (resync), so changes lost meanwhile, or a
 * reap of a node that was only cut off, are repaired.
 */
import type { RedisAdapter } from '../adapters/redis.js';

export type TransitionKind = 'occupied' | 'vacated' | 'count' | 'member_added' | 'member_removed';

export interface Transition {
  kind: TransitionKind;
  app: string;
  channel: string;
  userId: string;
  count: number;
  /** The change that caused it (the caller's tag: e.g. the joining socket), for exclusions. */
  tag: unknown;
}

export interface Delta {
  app: string;
  channel: string;
  /** Set for presence membership (this node's 0/1 for the user), absent for subscriber counts. */
  userId?: string;
  delta: number;
  /** user_info (JSON) recorded with a member. */
  info?: string;
  tag?: unknown;
}

const SEP = '\u0000';
const kChunk = 1000;

// ARGV: prefix, mode ('apply' | 'reap' | 'resync'), node id, then triples field, number, info.
// apply: number is a delta; resync: the node's whole state (number is the value); reap: none.
// Returns { kind, app, channel, user, count, index } per transition (index: the triple's 1-based
// position that caused it, 0 for reaped or resynced ones).
const SCRIPT = `
local prefix, mode, node = ARGV[1], ARGV[2], ARGV[3]
local nodeKey = prefix .. '!p!node!' .. node
local out = {}
local function split(s)
  local parts, start = {}, 1
  while true do
    local i = string.find(s, '\\0', start, true)
    if not i then parts[#parts + 1] = string.sub(s, start); return parts end
    parts[#parts + 1] = string.sub(s, start, i - 1)
    start = i + 1
  end
end
local function change(field, delta, info, index)
  local cur = tonumber(redis.call('HGET', nodeKey, field) or '0')
  if cur + delta < 0 then delta = -cur end
  if delta == 0 then
    if info ~= '' and cur > 0 then
      local p = split(field)
      redis.call('HSET', prefix .. '!p!pi!' .. p[2] .. '!' .. p[3], p[4], info)
    end
    return
  end
  if cur + delta == 0 then redis.call('HDEL', nodeKey, field) else redis.call('HSET', nodeKey, field, cur + delta) end
  local p = split(field)
  local kind, app, channel = p[1], p[2], p[3]
  if kind == 's' then
    local key = prefix .. '!p!ch!' .. app
    local n = redis.call('HINCRBY', key, channel, delta)
    if n <= 0 then redis.call('HDEL', key, channel) end
    if n > 0 and n - delta <= 0 then out[#out + 1] = {'occupied', app, channel, '', n, index}
    elseif n <= 0 and n - delta > 0 then out[#out + 1] = {'vacated', app, channel, '', 0, index}
    else out[#out + 1] = {'count', app, channel, '', n, index} end
  else
    local user = p[4]
    local key = prefix .. '!p!pm!' .. app .. '!' .. channel
    local ikey = prefix .. '!p!pi!' .. app .. '!' .. channel
    local n = redis.call('HINCRBY', key, user, delta)
    if n <= 0 then redis.call('HDEL', key, user); redis.call('HDEL', ikey, user)
    elseif info ~= '' then redis.call('HSET', ikey, user, info) end
    if n > 0 and n - delta <= 0 then out[#out + 1] = {'member_added', app, channel, user, n, index}
    elseif n <= 0 and n - delta > 0 then out[#out + 1] = {'member_removed', app, channel, user, 0, index} end
  end
end
if mode == 'apply' then
  for i = 4, #ARGV, 3 do change(ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2], (i - 1) / 3) end
elseif mode == 'resync' then
  local want = {}
  for i = 4, #ARGV, 3 do want[ARGV[i]] = true end
  local have = redis.call('HGETALL', nodeKey)
  for i = 1, #have, 2 do
    if not want[have[i]] then change(have[i], -tonumber(have[i + 1]), '', 0) end
  end
  for i = 4, #ARGV, 3 do
    local cur = tonumber(redis.call('HGET', nodeKey, ARGV[i]) or '0')
    change(ARGV[i], tonumber(ARGV[i + 1]) - cur, ARGV[i + 2], 0)
  end
  redis.call('SADD', prefix .. '!p!nodes', node)
elseif mode == 'reap' then
  if redis.call('EXISTS', prefix .. '!p!alive!' .. node) == 1 then return out end
  local have = redis.call('HGETALL', nodeKey)
  for i = 1, #have, 2 do change(have[i], -tonumber(have[i + 1]), '', 0) end
  redis.call('DEL', nodeKey)
  redis.call('SREM', prefix .. '!p!nodes', node)
end
return out
`;

export class PusherCluster {
  readonly adapter: RedisAdapter;
  readonly #prefix: string;
  readonly #nodeTimeout: number;
  readonly #onTransitions: (transitions: Transition[]) => void;
  /** Changes made in this tick, sent as one script call at its end. */
  #batch: Delta[] = [];
  #batchWaiters: (() => void)[] = [];
  #scheduled = false;
  #reaping = false;
  /** The resync in flight (one at a time); #resyncAgain: another was asked for meanwhile. */
  #resyncing: Promise<void> | null = null;
  #resyncAgain = false;

  readonly #state: () => Delta[];

  /**
   * `state`: this node's whole state now (every channel's local subscribers, every local member),
   * read by resync() — after the adapter's (re)connection, or when this node finds itself reaped
   * while alive.
   */
  constructor(adapter: RedisAdapter, nodeTimeout: number, onTransitions: (transitions: Transition[]) => void, state: () => Delta[]) {
    this.adapter = adapter;
    this.#prefix = adapter.prefix;
    this.#nodeTimeout = nodeTimeout;
    this.#onTransitions = onTransitions;
    this.#state = state;
  }

  get nodeId(): string {
    return this.adapter.nodeId;
  }

  /**
   * Records changes of this node's state; resolves once Redis applied them and their transitions
   * were handled (immediately when Redis is unreachable: the resync after reconnection repairs).
   * Changes of one tick go in one script call, in order.
   */
  update(deltas: Delta[]): Promise<void> {
    this.#batch.push(...deltas);
    const done = new Promise<void>((resolve) => this.#batchWaiters.push(resolve));
    if (!this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(() => this.#flush());
    }
    return done;
  }

  #flush(): void {
    this.#scheduled = false;
    const batch = this.#batch;
    const waiters = this.#batchWaiters;
    this.#batch = [];
    this.#batchWaiters = [];
    // At most kChunk changes per script call, so one call never holds Redis for long (a mass
    // disconnect of 10,000 members is ten calls, in order on the same connection).
    const runs: Promise<void>[] = [];
    for (let i = 0; i < batch.length; i += kChunk) {
      const chunk = batch.slice(i, i + kChunk);
      const args: string[] = [];
      for (const d of chunk) args.push(PusherCluster.#field(d), String(d.delta), d.info ?? '');
      runs.push(this.#run('apply', this.nodeId, args, chunk));
    }
    void Promise.all(runs).finally(() => { for (const w of waiters) w(); });
  }

  /**
   * Replaces this node's recorded state with its current one. The state is read right before the
   * script is sent, after this tick's pending changes went out (Redis applies them in order), so a
   * change made while the resync waited is neither lost nor counted twice. One at a time: asked
   * for again meanwhile (a heartbeat that still finds this node reaped), it runs once more after.
   */
  resync(): Promise<void> {
    if (this.#resyncing !== null) {
      this.#resyncAgain = true;
      return this.#resyncing;
    }
    this.#resyncing = (async () => {
      do {
        this.#resyncAgain = false;
        // Alive before it is listed among the nodes, or another node would reap it at once.
        await this.#alive().catch(() => undefined);
        await this.#replace(this.#state());
      } while (this.#resyncAgain);
    })().finally(() => { this.#resyncing = null; });
    return this.#resyncing;
  }

  /** Sends this tick's pending changes now, then records `state` as this node's whole state. */
  #replace(state: Delta[]): Promise<void> {
    if (this.#scheduled) this.#flush();
    const args: string[] = [];
    for (const d of state) args.push(PusherCluster.#field(d), String(d.delta), d.info ?? '');
    return this.#run('resync', this.nodeId, args, []);
  }

  #alive(): Promise<unknown> {
    return this.adapter.call('SET', `${this.#prefix}!p!alive!${this.nodeId}`, '1', 'PX', this.#nodeTimeout);
  }

  /** This node is shutting down: its contributions are taken back now (the transitions fire here). */
  async leave(): Promise<void> {
    if (!this.adapter.connected) return;
    await this.#alive().catch(() => undefined);
    await this.#replace([]);
    await this.adapter.call('DEL', `${this.#prefix}!p!alive!${this.nodeId}`).catch(() => undefined);
    await this.adapter.call('SREM', `${this.#prefix}!p!nodes`, this.nodeId).catch(() => undefined);
  }

  /** Liveness: refresh this node's key; take back the contributions of nodes whose key lapsed. */
  async heartbeat(): Promise<void> {
    if (!this.adapter.connected || this.#reaping) return;
    this.#reaping = true;
    try {
      const p = this.#prefix;
      await this.#alive();
      const nodes = await this.adapter.call('SMEMBERS', `${p}!p!nodes`) as string[];
      // Reaped although alive (this process stalled longer than nodeTimeout, or was cut off from
      // Redis): write the whole state back; the others saw member_removed and now member_added.
      // (A resync in flight lists this node again itself.)
      if (!nodes.includes(this.nodeId)) {
        if (this.#resyncing === null) void this.resync();
        return;
      }
      for (const node of nodes) if (node !== this.nodeId) await this.#run('reap', node, [], []);
    } catch {
      // Redis went away meanwhile: the next heartbeat tries again.
    } finally {
      this.#reaping = false;
    }
  }

  async #run(mode: string, node: string, args: string[], batch: Delta[]): Promise<void> {
    let reply: unknown;
    try {
      reply = await this.adapter.call('EVAL', SCRIPT, 0, this.#prefix, mode, node, ...args);
    } catch {
      return; // unreachable: repaired by the resync on reconnection
    }
    const transitions: Transition[] = [];
    for (const t of reply as [string, string, string, string, number, number][]) {
      transitions.push({ kind: t[0] as TransitionKind, app: t[1], channel: t[2], userId: t[3], count: Number(t[4]), tag: batch[Number(t[5]) - 1]?.tag });
    }
    if (transitions.length > 0) this.#onTransitions(transitions);
  }

  static #field(d: Delta): string {
    return d.userId === undefined ? `s${SEP}${d.app}${SEP}${d.channel}` : `m${SEP}${d.app}${SEP}${d.channel}${SEP}${d.userId}`;
  }

  // --- queries (the HTTP API, presence subscriptions) ---------------------------------------------

  /** Occupied channels of an app → subscribers over the cluster. */
  async channels(app: string): Promise<Map<string, number>> {
    const flat = await this.adapter.call('HGETALL', `${this.#prefix}!p!ch!${app}`) as string[];
    const out = new Map<string, number>();
    for (let i = 0; i < flat.length; i += 2) out.set(flat[i]!, Number(flat[i + 1]));
    return out;
  }

  async subscribers(app: string, channel: string): Promise<number> {
    return Number(await this.adapter.call('HGET', `${this.#prefix}!p!ch!${app}`, channel) ?? 0);
  }

  /** A presence channel's members over the cluster: user id → user_info (parsed; null when none). */
  async members(app: string, channel: string): Promise<Map<string, unknown>> {
    const flat = await this.adapter.call('HGETALL', `${this.#prefix}!p!pi!${app}!${channel}`) as string[];
    const ids = await this.adapter.call('HKEYS', `${this.#prefix}!p!pm!${app}!${channel}`) as string[];
    const info = new Map<string, string>();
    for (let i = 0; i < flat.length; i += 2) info.set(flat[i]!, flat[i + 1]!);
    const out = new Map<string, unknown>();
    for (const id of ids) {
      const raw = info.get(id);
      let parsed: unknown = null;
      if (raw !== undefined && raw !== '') {
        try {
          parsed = JSON.parse(raw) as unknown;
        } catch { /* recorded by this code as JSON; left null if not */ }
      }
      out.set(id, parsed ?? null);
    }
    return out;
  }

  async memberCount(app: string, channel: string): Promise<number> {
    return Number(await this.adapter.call('HLEN', `${this.#prefix}!p!pm!${app}!${channel}`));
  }

  /** Cache channels: the last event (serialized message), kept for `ttl` ms. */
  cacheSet(app: string, channel: string, message: string, ttl: number): void {
    this.adapter.call('SET', `${this.#prefix}!p!cache!${app}!${channel}`, message, 'PX', ttl).catch(() => { /* unreachable: the event is still delivered */ });
  }

  async cacheGet(app: string, channel: string): Promise<string | undefined> {
    const v = await this.adapter.call('GET', `${this.#prefix}!p!cache!${app}!${channel}`);
    return typeof v === 'string' ? v : undefined;
  }
}
