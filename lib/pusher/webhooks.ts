/**
 * Webhooks: events of an app collected per target for `batchMs`, POSTed as
 * `{ time_ms, events: [...] }` with `X-Pusher-Key` and `X-Pusher-Signature` (HMAC-SHA256 of the
 * body with the app's secret), retried on network errors, 429 and 5xx up to `attempts` times
 * with a doubling pause, each attempt bounded by `timeout`. At most kMaxQueued events wait per
 * target (later ones are counted as dropped), and at most kMaxInFlight batches are in flight.
 */
import type { AppConfig, WebhookConfig, WebhookEventType } from './config.js';
import { hmac } from './signatures.js';

export interface WebhookEvent {
  name: WebhookEventType;
  channel: string;
  [field: string]: unknown;
}

const kMaxQueued = 10_000;
const kMaxBatch = 100;
const kMaxInFlight = 64;

interface Target {
  hook: WebhookConfig;
  queue: WebhookEvent[];
  timer: NodeJS.Timeout | null;
}

export interface WebhookStats {
  sent: number;
  failed: number;
  dropped: number;
}

export class WebhookSender {
  readonly #app: AppConfig;
  readonly #targets: Target[];
  readonly #batchMs: number;
  readonly #attempts: number;
  readonly #timeout: number;
  readonly #inFlight = new Set<AbortController>();
  readonly stats: WebhookStats = { sent: 0, failed: 0, dropped: 0 };
  #closed = false;

  constructor(app: AppConfig, batchMs: number, attempts: number, timeout: number) {
    this.#app = app;
    this.#targets = app.webhooks.map((hook) => ({ hook, queue: [], timer: null }));
    this.#batchMs = batchMs;
    this.#attempts = attempts;
    this.#timeout = timeout;
  }

  /** Whether any target wants events of this kind (callers skip building events nobody wants). */
  wants(kind: WebhookEventType): boolean {
    return this.#targets.some((t) => t.hook.eventTypes.includes(kind));
  }

  add(event: WebhookEvent): void {
    if (this.#closed) return;
    for (const t of this.#targets) {
      const { eventTypes, filter } = t.hook;
      if (!eventTypes.includes(event.name)) continue;
      if (!event.channel.startsWith(filter.channelNameStartsWith) || !event.channel.endsWith(filter.channelNameEndsWith)) continue;
      if (t.queue.length >= kMaxQueued) {
        this.stats.dropped++;
        continue;
      }
      t.queue.push(event);
      if (t.queue.length >= kMaxBatch) this.#flush(t);
      else t.timer ??= setTimeout(() => this.#flush(t), this.#batchMs);
    }
  }

  #flush(t: Target): void {
    if (t.timer !== null) clearTimeout(t.timer);
    t.timer = null;
    while (t.queue.length > 0) {
      if (this.#inFlight.size >= kMaxInFlight) {
        t.timer = setTimeout(() => this.#flush(t), Math.max(this.#batchMs, 10));
        return;
      }
      const events = t.queue.splice(0, kMaxBatch);
      void this.#send(t.hook, JSON.stringify({ time_ms: Date.now(), events }));
    }
  }

  async #send(hook: WebhookConfig, body: string): Promise<void> {
    const headers = {
      ...hook.headers,
      'content-type': 'application/json',
      'x-pusher-key': this.#app.key,
      'x-pusher-signature': hmac(this.#app.secret, body),
    };
    let pause = 100;
    for (let attempt = 1; attempt <= this.#attempts && !this.#closed; attempt++) {
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), this.#timeout);
      this.#inFlight.add(controller);
      let retry = true;
      try {
        const res = await fetch(hook.url, { method: 'POST', headers, body, signal: controller.signal });
        await res.arrayBuffer().catch(() => undefined);
        if (res.ok) {
          this.stats.sent++;
          return;
        }
        retry = res.status === 429 || res.status >= 500;
      } catch {
        // network error or timeout: retried
      } finally {
        clearTimeout(timer);
        this.#inFlight.delete(controller);
      }
      if (!retry) break;
      if (attempt < this.#attempts) {
        await new Promise((r) => setTimeout(r, pause).unref());
        pause = Math.min(pause * 2, 5000);
      }
    }
    this.stats.failed++;
  }

  /** Sends what is queued now and waits (bounded by the timeouts) for what is in flight. */
  async flushAll(): Promise<void> {
    for (const t of this.#targets) this.#flush(t);
  }

  /** Sends what is queued, waits up to `ms` for the requests in flight, then closes. */
  async closeGracefully(ms: number): Promise<void> {
    if (this.#closed) return;
    for (const t of this.#targets) this.#flush(t);
    const until = Date.now() + ms;
    while (this.#inFlight.size > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    this.close();
  }

  /** Stops: queued events are dropped, requests in flight aborted. */
  close(): void {
    this.#closed = true;
    for (const t of this.#targets) {
      if (t.timer !== null) clearTimeout(t.timer);
      t.timer = null;
      t.queue.length = 0;
    }
    for (const c of this.#inFlight) c.abort();
  }
}
