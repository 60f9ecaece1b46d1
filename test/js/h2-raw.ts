// A hand-written HTTP/2 client for hostile-peer tests (RFC 9113 §4 frames, RFC 7541 literal
// header fields without Huffman coding): it sends what no well-behaved library would — floods,
// rapid resets, endless CONTINUATIONs — and reads the server's frames back.
import { once } from 'node:events';
import * as net from 'node:net';

import { type Cleanup, within } from './helpers';

export const FRAME = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8, CONTINUATION: 9 } as const;
export const FLAG = { END_STREAM: 1, ACK: 1, END_HEADERS: 4 } as const;
export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

export function frame(type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream & 0x7fffffff, 5);
  return Buffer.concat([h, payload]);
}

function hpackInt(value: number, prefixBits: number, first: number): Buffer {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.from([first | value]);
  const out = [first | max];
  let v = value - max;
  while (v >= 128) {
    out.push((v & 127) | 128);
    v >>= 7;
  }
  out.push(v);
  return Buffer.from(out);
}

/** A header block of literal fields without indexing, new names (RFC 7541 §6.2.2). */
export function headerBlock(fields: [string, string][]): Buffer {
  return Buffer.concat(fields.flatMap(([n, v]) => [Buffer.from([0]), hpackInt(n.length, 7, 0), Buffer.from(n), hpackInt(Buffer.byteLength(v), 7, 0), Buffer.from(v)]));
}

export function connectBlock(authority: string, path = '/', extra: [string, string][] = []): Buffer {
  return headerBlock([[':method', 'CONNECT'], [':protocol', 'websocket'], [':scheme', 'http'], [':path', path], [':authority', authority],
    ['sec-websocket-version', '13'], ...extra]);
}

export interface H2Frame {
  type: number;
  flags: number;
  stream: number;
  payload: Buffer;
}

export class RawH2 {
  readonly sock: net.Socket;
  readonly frames: H2Frame[] = [];
  closed = false;
  #buf = Buffer.alloc(0);
  #wake: (() => void) | null = null;

  private constructor(sock: net.Socket) {
    this.sock = sock;
    sock.on('data', (d: Buffer) => {
      this.#buf = Buffer.concat([this.#buf, d]);
      while (this.#buf.length >= 9) {
        const len = this.#buf.readUIntBE(0, 3);
        if (this.#buf.length < 9 + len) break;
        this.frames.push({ type: this.#buf[3]!, flags: this.#buf[4]!, stream: this.#buf.readUInt32BE(5) & 0x7fffffff, payload: this.#buf.subarray(9, 9 + len) });
        this.#buf = this.#buf.subarray(9 + len);
      }
      this.#notify();
    });
    sock.on('error', () => { /* a reset is an outcome these tests look for */ });
    sock.on('close', () => {
      this.closed = true;
      this.#notify();
    });
  }

  /** Connects (h2c prior knowledge), sends the preface and empty SETTINGS, acknowledges the server's. */
  static async connect(port: number, cleanup: Cleanup): Promise<RawH2> {
    const sock = cleanup.add(net.connect(port, '127.0.0.1'), (s) => s.destroy());
    await within(once(sock, 'connect'), 5000, 'tcp connect');
    const c = new RawH2(sock);
    sock.write(Buffer.concat([PREFACE, frame(FRAME.SETTINGS, 0, 0)]));
    await c.until((f) => f.type === FRAME.SETTINGS && (f.flags & FLAG.ACK) === 0, 'server SETTINGS');
    sock.write(frame(FRAME.SETTINGS, FLAG.ACK, 0));
    return c;
  }

  #notify(): void {
    const w = this.#wake;
    this.#wake = null;
    w?.();
  }

  write(...frames: Buffer[]): void {
    if (!this.sock.destroyed) this.sock.write(Buffer.concat(frames));
  }

  /** The first frame (received so far or later) matching `match`. */
  until(match: (f: H2Frame) => boolean, what: string, ms = 5000): Promise<H2Frame> {
    return within((async () => {
      for (;;) {
        const f = this.frames.find(match);
        if (f !== undefined) return f;
        if (this.closed) throw new Error(`connection closed while waiting for ${what}`);
        await new Promise<void>((resolve) => { this.#wake = resolve; });
      }
    })(), ms, what);
  }

  /** Waits for the server to close the connection; returns the GOAWAY error code it sent (-1: none). */
  async closedWith(ms = 10_000): Promise<number> {
    await within((async () => {
      while (!this.closed) await new Promise<void>((resolve) => { this.#wake = resolve; });
    })(), ms, 'the server to close the connection');
    const goaway = this.frames.find((f) => f.type === FRAME.GOAWAY);
    return goaway === undefined ? -1 : goaway.payload.readUInt32BE(4);
  }
}
