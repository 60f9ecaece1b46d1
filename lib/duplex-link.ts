/**
 * Carries a connection's bytes between a JS Duplex (a TLS socket, or any stream the application
 * hands to `handleUpgrade()`) and the native engine: data events are fed in, the native write/end
 * handlers write out. The policy lives natively, as for the native transport's own sockets: the
 * native side stops writing when the Duplex asks for 'drain' (keeping later output, under
 * `maxBackpressure`, until `drained()`), and pauses and resumes reading (setFlow) when the
 * application pauses, the engine must finish work first, or bytes it cannot take yet pile up.
 */
import type { Duplex } from 'node:stream';

import type { NativeSocket } from './native.js';

/** How long an ended Duplex may take to finish and close before it is destroyed. */
const END_GRACE_MS = 5_000;

export class DuplexLink {
  /** The application's stream. */
  readonly duplex: Duplex;
  #native: NativeSocket | null = null;
  #ended = false;
  #reading = true;

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
    d.on('drain', () => this.#native?.drained());
    if (this.#reading) d.resume();
  }

  /**
   * The answer to an extended CONNECT when the Duplex is a stream of Node's http2 server
   * (handleStream): `fields` as [name, value, ...] with ":status" first; `end` closes the stream
   * after `body` (a refusal).
   */
  respond(fields: readonly string[], body: Buffer, end: boolean): void {
    const stream = this.duplex as Duplex & { respond?: (headers: Record<string, string | number>, options?: { endStream?: boolean }) => void; headersSent?: boolean };
    if (typeof stream.respond !== 'function' || stream.headersSent === true || stream.destroyed) return;
    const headers: Record<string, string | number> = {};
    for (let i = 0; i + 1 < fields.length; i += 2) headers[fields[i]!] = i === 0 ? Number(fields[1]) : fields[i + 1]!;
    try {
      stream.respond(headers, { endStream: end && body.length === 0 });
      if (end && body.length > 0) stream.end(body);
    } catch {
      stream.destroy();  // the session went away meanwhile
    }
  }

  /** Native output for the peer: returns the Duplex's buffered bytes n, or -(n) - 1 when it asked for 'drain'. */
  write(chunk: Buffer): number {
    const d = this.duplex;
    if (this.#ended || d.destroyed || d.writableEnded) return 0;
    const ok = d.write(chunk);
    return ok ? d.writableLength : -d.writableLength - 1;
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

  /** Read the Duplex or not (receive backpressure, decided natively). */
  setFlow(reading: boolean): void {
    this.#reading = reading;
    if (reading) {
      if (this.#native !== null) this.duplex.resume();
    } else {
      this.duplex.pause();
    }
  }
}
