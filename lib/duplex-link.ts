/**
 * Carries a connection's bytes between a JS Duplex (a TLS socket, or any stream the application
 * hands to `handleUpgrade()`) and the native engine: data events are fed in, the native write/end
 * handlers write out. The Duplex's own buffering is the backpressure buffer for these
 * connections, so the link reports it (`writableLength`, `needDrain`) and can stop the Duplex from
 * being read (pause/resume) for receive backpressure.
 */
import type { Duplex } from 'node:stream';

import type { NativeSocket } from './native.js';

/** How long an ended Duplex may take to finish and close before it is destroyed. */
const END_GRACE_MS = 5_000;

export class DuplexLink {
  /** The application's stream. */
  readonly duplex: Duplex;
  /** Called when the Duplex drained after a write it could not take at once. */
  onDrain: (() => void) | null = null;
  #native: NativeSocket | null = null;
  #ended = false;
  #needDrain = false;
  #paused = false;

  constructor(duplex: Duplex) {
    this.duplex = duplex;
  }

  /** Starts feeding the Duplex's data (and anything it already buffered) to `native`. */
  attach(native: NativeSocket, buffered: readonly Buffer[]): void {
    this.#native = native;
    const d = this.duplex;
    (d as Duplex & { setNoDelay?: (noDelay: boolean) => unknown }).setNoDelay?.(true); // as the native transport does for its own sockets
    for (const chunk of buffered) native.feed(chunk);
    d.on('data', (chunk: Buffer | string) => {
      this.#native?.feed(typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk);
    });
    const gone = () => {
      const n = this.#native;
      this.#native = null;
      n?.end();
    };
    d.on('end', gone);
    d.on('close', gone);
    d.on('error', () => { /* 'close' follows and ends the connection */ });
    d.on('drain', () => {
      if (!this.#needDrain) return;
      this.#needDrain = false;
      this.onDrain?.();
    });
    if (!this.#paused) d.resume();
  }

  /** Native output for the peer. */
  write(chunk: Buffer): void {
    const d = this.duplex;
    if (this.#ended || d.destroyed || d.writableEnded) return;
    if (!d.write(chunk)) this.#needDrain = true;
  }

  /** The native side is done with the connection: end the Duplex (destroying it if it does not finish in time). */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#native = null;
    const d = this.duplex;
    if (d.destroyed) return;
    const timer = setTimeout(() => d.destroy(), END_GRACE_MS);
    timer.unref();
    d.once('close', () => clearTimeout(timer));
    d.once('finish', () => d.destroy());
    d.end();
  }

  /** Stop / restart reading the Duplex (receive backpressure). */
  pause(): void {
    this.#paused = true;
    this.duplex.pause();
  }

  resume(): void {
    this.#paused = false;
    if (this.#native !== null) this.duplex.resume();
  }

  /** Bytes the Duplex holds that it has not yet handed to its own transport. */
  get writableLength(): number {
    return this.duplex.writableLength;
  }

  /** The Duplex asked writers to wait for 'drain'. */
  get needDrain(): boolean {
    return this.#needDrain;
  }
}
