/**
 * Pusher's subscription counting (an app switch, `enableSubscriptionCount`): subscribers of a
 * public, private or encrypted channel get `pusher_internal:subscription_count`
 * (`{"subscription_count":N}`, shown by pusher-js as `pusher:subscription_count`), and webhooks
 * of kind `subscription_count` report it. Changes are coalesced: at most one event per channel
 * per `intervalMs`, and only when the count differs from the last one sent — so 10,000 clients
 * joining one channel cost a few publishes, not 10,000. Presence channels have member events
 * instead and are not counted.
 */
export class SubscriptionCounts {
  readonly #intervalMs: number;
  readonly #count: (channel: string) => number;
  readonly #send: (channel: string, count: number) => void;
  readonly #dirty = new Set<string>();
  /** Last count sent per channel still occupied (forgotten when it empties). */
  readonly #sent = new Map<string, number>();
  #timer: NodeJS.Timeout | null = null;

  constructor(intervalMs: number, count: (channel: string) => number, send: (channel: string, count: number) => void) {
    this.#intervalMs = intervalMs;
    this.#count = count;
    this.#send = send;
  }

  /** A channel's subscriber count changed. */
  changed(channel: string): void {
    this.#dirty.add(channel);
    if (this.#timer === null) {
      this.#timer = setTimeout(() => this.#flush(), this.#intervalMs);
      this.#timer.unref();
    }
  }

  #flush(): void {
    this.#timer = null;
    const channels = [...this.#dirty];
    this.#dirty.clear();
    for (const channel of channels) {
      const n = this.#count(channel);
      if (n === 0) {
        this.#sent.delete(channel); // channel_vacated says it
        continue;
      }
      if (this.#sent.get(channel) === n) continue;
      this.#sent.set(channel, n);
      this.#send(channel, n);
    }
  }

  close(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#dirty.clear();
    this.#sent.clear();
  }
}
