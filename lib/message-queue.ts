/**
 * The bounded buffer between a connection and a pull-style consumer (`for await` or
 * `ws.readable`). When it holds `highWaterMark` messages or `highWaterMarkBytes` bytes it asks the
 * connection to stop reading (native pause: the kernel's receive window fills and the peer is
 * slowed down by TCP itself); when the consumer has taken it below half of both, reading resumes.
 * Memory held here is therefore bounded by the marks plus what one read delivers.
 */

/** Default bounds of the per-socket receive queue. */
export const QUEUE_HIGH_WATER_MARK = 16;
export const QUEUE_HIGH_WATER_MARK_BYTES = 1024 * 1024;

/** How the queue throttles its producer. */
export interface FlowControl {
  pause(): void;
  resume(): void;
}

type Waiter<T> = { resolve: (r: IteratorResult<T, undefined>) => void; reject: (e: unknown) => void };

const DONE: IteratorReturnResult<undefined> = Object.freeze({ value: undefined, done: true });

/** A FIFO of messages with an end, an optional error, and producer flow control. */
export class MessageQueue<T extends string | Uint8Array> {
  #items: (T | undefined)[] = [];
  #head = 0;
  #bytes = 0;
  #waiters: Waiter<T>[] = [];
  #ended = false;
  #error: unknown = undefined;
  #hasError = false;
  #paused = false;
  readonly #flow: FlowControl;
  readonly #hwm: number;
  readonly #hwmBytes: number;

  constructor(flow: FlowControl, highWaterMark = QUEUE_HIGH_WATER_MARK, highWaterMarkBytes = QUEUE_HIGH_WATER_MARK_BYTES) {
    this.#flow = flow;
    this.#hwm = highWaterMark;
    this.#hwmBytes = highWaterMarkBytes;
  }

  /** Messages waiting for the consumer. */
  get length(): number {
    return this.#items.length - this.#head;
  }

  /** Whether end() / fail() / release() was called. */
  get ended(): boolean {
    return this.#ended;
  }

  /** A message from the connection. */
  push(item: T): void {
    if (this.#ended) return;
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) {
      waiter.resolve({ value: item, done: false });
      return;
    }
    this.#items.push(item);
    this.#bytes += item.length;
    if (!this.#paused && (this.length >= this.#hwm || this.#bytes >= this.#hwmBytes)) {
      this.#paused = true;
      this.#flow.pause();
    }
  }

  /** The next message; `done` after end(); rejects once with the error given to fail() (after the messages before it). */
  next(): Promise<IteratorResult<T, undefined>> {
    if (this.length > 0) return Promise.resolve({ value: this.#take(), done: false });
    if (this.#hasError) {
      const error = this.#error;
      this.#hasError = false;
      this.#error = undefined;
      return Promise.reject(error);
    }
    if (this.#ended) return Promise.resolve(DONE);
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  /** The connection closed: the consumer gets what is queued, then `done`. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    if (this.length === 0) for (const w of this.#waiters.splice(0)) w.resolve(DONE);
  }

  /** The connection failed: the consumer gets what is queued, then this error, then `done`. */
  fail(error: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    const first = this.#waiters.shift();
    if (first !== undefined) {
      first.reject(error);
      for (const w of this.#waiters.splice(0)) w.resolve(DONE);
      return;
    }
    this.#hasError = true;
    this.#error = error;
  }

  /** The consumer stopped: drop what is queued, end pending reads, let the producer run again. */
  release(): void {
    this.#ended = true;
    this.#items = [];
    this.#head = 0;
    this.#bytes = 0;
    this.#hasError = false;
    this.#error = undefined;
    for (const w of this.#waiters.splice(0)) w.resolve(DONE);
    if (this.#paused) {
      this.#paused = false;
      this.#flow.resume();
    }
  }

  #take(): T {
    const item = this.#items[this.#head]!;
    this.#items[this.#head++] = undefined;
    this.#bytes -= item.length;
    if (this.#head === this.#items.length) {
      this.#items.length = 0;
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    if (this.#paused && !this.#ended && this.length <= this.#hwm >> 1 && this.#bytes <= this.#hwmBytes / 2) {
      this.#paused = false;
      this.#flow.resume();
    }
    return item;
  }
}
