/**
 * Presence webhooks debounced as Pusher does: a member_removed webhook waits `delayMs`; when the
 * same user rejoins the channel meanwhile, neither member_removed nor the new member_added is
 * sent (a reconnect within the delay is invisible to the app's server). Clients still see
 * pusher_internal:member_removed / member_added at once. One timer per app; the pending list is
 * in due order (the delay is constant) and capped: beyond kMaxPending the oldest is sent early.
 */
const kMaxPending = 100_000;

interface Pending {
  key: string;
  due: number;
  send: () => void;
}

export class MemberDebounce {
  readonly #delayMs: number;
  readonly #byKey = new Map<string, Pending>();
  #queue: Pending[] = [];
  #head = 0;
  #timer: NodeJS.Timeout | null = null;

  constructor(delayMs: number) {
    this.#delayMs = delayMs;
  }

  static #key(channel: string, userId: string): string {
    return `${channel}\u0000${userId}`;
  }

  /** The member left: `send` (its member_removed webhook) runs after the delay unless it rejoins. */
  removed(channel: string, userId: string, send: () => void): void {
    if (this.#delayMs === 0) {
      send();
      return;
    }
    const key = MemberDebounce.#key(channel, userId);
    if (this.#byKey.has(key)) return; // cannot happen (a rejoin cancels it), kept safe
    const entry = { key, due: Date.now() + this.#delayMs, send };
    this.#byKey.set(key, entry);
    this.#queue.push(entry);
    if (this.#byKey.size > kMaxPending) this.#fire(this.#nextLive()!);
    this.#arm();
  }

  /** The member joined: true when a pending removal was cancelled (then no member_added webhook either). */
  rejoined(channel: string, userId: string): boolean {
    const key = MemberDebounce.#key(channel, userId);
    const entry = this.#byKey.get(key);
    if (entry === undefined) return false;
    this.#byKey.delete(key);
    entry.send = noop;
    return true;
  }

  /** Sends every pending removal now (the server is closing). */
  flush(): void {
    for (let e = this.#nextLive(); e !== undefined; e = this.#nextLive()) this.#fire(e);
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  get pending(): number {
    return this.#byKey.size;
  }

  /** The oldest entry not cancelled (cancelled ones are skipped and dropped). */
  #nextLive(): Pending | undefined {
    while (this.#head < this.#queue.length) {
      const e = this.#queue[this.#head]!;
      if (this.#byKey.get(e.key) === e) return e;
      this.#head++;
    }
    this.#queue = [];
    this.#head = 0;
    return undefined;
  }

  #fire(e: Pending): void {
    this.#byKey.delete(e.key);
    this.#head++;
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    e.send();
  }

  #arm(): void {
    if (this.#timer !== null) return;
    const next = this.#nextLive();
    if (next === undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      const now = Date.now();
      for (let e = this.#nextLive(); e !== undefined && e.due <= now; e = this.#nextLive()) this.#fire(e);
      this.#arm();
    }, Math.max(0, next.due - Date.now()));
    this.#timer.unref();
  }
}

function noop(): void {}
