/**
 * Call order for a socket's operations when some take a Blob, whose bytes arrive asynchronously:
 * while a Blob is being read, every later operation (sends, pings, the close) waits behind it, so
 * the peer sees them in the order they were made. Used by the `ws` drop-in and the WHATWG class
 * (both accept Blobs); the native socket itself only takes bytes.
 */
import type { Blob } from 'node:buffer';

export class BlobOrder {
  #tail: Promise<void> | null = null;
  #reading = 0;

  /** Bytes of Blobs not read yet (they count in bufferedAmount). */
  get pendingBytes(): number {
    return this.#reading;
  }

  /** Runs `op` now, or once the Blobs handed to read() before it have been read and sent. */
  run(op: () => void): void {
    if (this.#tail === null) op();
    else this.#chain(async () => op());
  }

  /** Reads `blob` in its turn, then calls `send` with its bytes, or `fail` when it cannot be read. */
  read(blob: Blob, send: (bytes: Uint8Array) => void, fail: (error: unknown) => void): void {
    const size = blob.size;
    this.#reading += size;
    this.#chain(async () => {
      let bytes: Uint8Array;
      try {
        bytes = new Uint8Array(await blob.arrayBuffer());
      } catch (error) {
        this.#reading -= size;
        fail(error);
        return;
      }
      this.#reading -= size;
      send(bytes);
    });
  }

  #chain(step: () => Promise<void>): void {
    const queued = (this.#tail ?? Promise.resolve()).then(step).catch((error: unknown) => {
      // An operation that throws once its turn came has no caller left to throw to.
      process.nextTick(() => { throw error; });
    });
    this.#tail = queued;
    void queued.then(() => {
      if (this.#tail === queued) this.#tail = null;
    });
  }
}
