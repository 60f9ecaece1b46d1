// RFC 6455 framing for the conformance suite's raw peers, written independently of the library:
// a frame encoder that can produce anything (reserved bits, reserved opcodes, any mask, non-minimal
// lengths), a strict incremental decoder that records how each frame was encoded, and `FramePeer`,
// a buffered net.Socket wrapper that reads an HTTP head, then frames, with every wait bounded.
import { randomBytes } from 'node:crypto';
import type * as net from 'node:net';

import { within } from '../js/helpers';

export const OP = { CONT: 0x0, TEXT: 0x1, BINARY: 0x2, CLOSE: 0x8, PING: 0x9, PONG: 0xa } as const;

/** Everything about a frame a test may want to set. */
export interface FrameSpec {
  opcode: number;
  payload?: Buffer | string;
  fin?: boolean;
  /** The three reserved bits as a number 0..7 (RSV1 = 4, RSV2 = 2, RSV3 = 1). */
  rsv?: number;
  /** Overrides the role default (clients mask, servers do not). */
  mask?: boolean;
  /** A fixed masking key (default: 4 random bytes). */
  key?: Buffer;
  /** Announce a payload length different from the payload's (for headers sent without payload). */
  announcedLength?: number | bigint;
  /** Force a length encoding: 7-bit, 16-bit or 64-bit (default: minimal). */
  lengthForm?: 7 | 16 | 64;
}

/** XOR-masks `data` with `key` (RFC 6455 §5.3), word at a time so 16 MiB payloads stay cheap. */
export function maskPayload(data: Buffer, key: Buffer, phase = 0): Buffer {
  const n = data.length;
  const ab = new ArrayBuffer(n + 3 - ((n + 3) % 4));
  const out = Buffer.from(ab, 0, n);
  data.copy(out);
  const k = Buffer.from([key[phase & 3]!, key[(phase + 1) & 3]!, key[(phase + 2) & 3]!, key[(phase + 3) & 3]!]);
  const words = new Uint32Array(ab, 0, Math.floor(n / 4));
  const kw = new Uint32Array(new Uint8Array(k).buffer)[0]!;
  for (let i = 0; i < words.length; i++) words[i] = words[i]! ^ kw;
  for (let i = words.length * 4; i < n; i++) out[i] = out[i]! ^ k[i & 3]!;
  return out;
}

/** Encodes one frame; `roleMasks` is the default for `spec.mask` (true for a client). */
export function encodeFrame(spec: FrameSpec, roleMasks: boolean): Buffer {
  const payload = typeof spec.payload === 'string' ? Buffer.from(spec.payload) : spec.payload ?? Buffer.alloc(0);
  const len = Number(spec.announcedLength ?? payload.length);
  const form = spec.lengthForm ?? (len < 126 ? 7 : len < 65536 ? 16 : 64);
  const masked = spec.mask ?? roleMasks;
  const head = Buffer.alloc(2 + (form === 16 ? 2 : form === 64 ? 8 : 0) + (masked ? 4 : 0));
  head[0] = ((spec.fin ?? true) ? 0x80 : 0) | ((spec.rsv ?? 0) << 4) | (spec.opcode & 0x0f);
  if (form === 7) head[1] = len;
  else if (form === 16) {
    head[1] = 126;
    head.writeUInt16BE(len, 2);
  } else {
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(spec.announcedLength ?? payload.length), 2);
  }
  if (!masked) return Buffer.concat([head, payload]);
  head[1] |= 0x80;
  const key = spec.key ?? randomBytes(4);
  key.copy(head, head.length - 4);
  return Buffer.concat([head, maskPayload(payload, key)]);
}

/** A close frame's payload: code (omitted: empty payload) and reason (string or raw bytes). */
export function closeBody(code?: number, reason: Buffer | string = ''): Buffer {
  if (code === undefined) return Buffer.alloc(0);
  const c = Buffer.alloc(2);
  c.writeUInt16BE(code);
  return Buffer.concat([c, typeof reason === 'string' ? Buffer.from(reason) : reason]);
}

/** A frame as received, with how it was encoded. */
export interface WireFrame {
  fin: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  key: Buffer | null;
  /** Unmasked payload. */
  payload: Buffer;
  /** The length used the shortest encoding (RFC 6455 §5.2: "the minimal number of bytes MUST be used"). */
  minimalLength: boolean;
}

/** Header size and payload length of the frame at the start of `buf`, or null if the header is incomplete. */
function headerOf(buf: Buffer): { headerSize: number; length: number; minimal: boolean } | null {
  if (buf.length < 2) return null;
  const len7 = buf[1]! & 0x7f;
  const maskSize = buf[1]! & 0x80 ? 4 : 0;
  if (len7 < 126) return { headerSize: 2 + maskSize, length: len7, minimal: true };
  if (len7 === 126) {
    if (buf.length < 4) return null;
    const length = buf.readUInt16BE(2);
    return { headerSize: 4 + maskSize, length, minimal: length >= 126 };
  }
  if (buf.length < 10) return null;
  const big = buf.readBigUInt64BE(2);
  if (big > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`frame announces ${big} bytes`);
  const length = Number(big);
  return { headerSize: 10 + maskSize, length, minimal: length >= 65536 };
}

/** The bytes of `buf` as `n` pieces cut at the given split. */
export type Split = 'whole' | 'bytes' | { chop: number } | { cuts: number[] };

export function splitBytes(bytes: Buffer, split: Split): Buffer[] {
  if (split === 'whole') return [bytes];
  if (split === 'bytes') return Array.from(bytes, (b) => Buffer.from([b]));
  const cuts = 'chop' in split
    ? Array.from({ length: Math.ceil(bytes.length / split.chop) - 1 }, (_, i) => (i + 1) * split.chop)
    : split.cuts;
  const pieces: Buffer[] = [];
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    if (cut > from) pieces.push(bytes.subarray(from, cut));
    from = Math.max(from, cut);
  }
  return pieces;
}

/** A buffered socket that yields an HTTP head, then frames; every wait is bounded. */
export class FramePeer {
  readonly sock: net.Socket;
  /** Whether this peer masks its frames by default: a client does (RFC 6455 §5.3), a server not. */
  protected readonly masks: boolean = false;
  /** Every frame received, in order. */
  readonly log: WireFrame[] = [];
  /** The other side ended or reset the TCP connection. */
  closed = false;
  #chunks: Buffer[] = [];
  #length = 0;
  #waiters: (() => void)[] = [];

  constructor(sock: net.Socket) {
    this.sock = sock;
    sock.setNoDelay(true);
    sock.on('data', (d: Buffer) => {
      this.#chunks.push(d);
      this.#length += d.length;
      this.#notify();
    });
    sock.on('error', () => { /* a reset after a close frame is a legitimate end */ });
    sock.on('close', () => {
      this.closed = true;
      this.#notify();
    });
  }

  #notify(): void {
    const w = this.#waiters.splice(0);
    for (const f of w) f();
  }

  #peek(n: number): Buffer {
    if (this.#chunks.length > 1 && this.#chunks[0]!.length < n) this.#chunks = [Buffer.concat(this.#chunks)];
    return this.#chunks[0] ?? Buffer.alloc(0);
  }

  #take(n: number): Buffer {
    const all = this.#peek(n);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.#chunks.shift();
    if (rest.length > 0) this.#chunks.unshift(rest);
    this.#length -= n;
    return out;
  }

  /** Bytes received and not yet consumed. */
  get pending(): number {
    return this.#length;
  }

  async #until<T>(take: () => T | null, ms: number, what: string): Promise<T> {
    return within((async () => {
      for (;;) {
        const r = take();
        if (r !== null) return r;
        if (this.closed) throw new Error(`connection closed while waiting for ${what} (${this.#length} bytes pending)`);
        await new Promise<void>((resolve) => this.#waiters.push(resolve));
      }
    })(), ms, what);
  }

  /** The next HTTP head, through CRLFCRLF. */
  head(ms = 5000): Promise<string> {
    return this.#until(() => {
      const b = this.#peek(this.#length);
      const end = b.indexOf('\r\n\r\n');
      return end < 0 ? null : this.#take(end + 4).toString('latin1');
    }, ms, 'an HTTP head');
  }

  #frame(): WireFrame | null {
    const h = headerOf(this.#peek(Math.min(this.#length, 14)));
    if (h === null || this.#length < h.headerSize + h.length) return null;
    const bytes = this.#take(h.headerSize + h.length);
    const masked = (bytes[1]! & 0x80) !== 0;
    const key = masked ? Buffer.from(bytes.subarray(h.headerSize - 4, h.headerSize)) : null;
    const raw = bytes.subarray(h.headerSize);
    const frame: WireFrame = {
      fin: (bytes[0]! & 0x80) !== 0,
      rsv: (bytes[0]! >> 4) & 7,
      opcode: bytes[0]! & 0x0f,
      masked,
      key,
      payload: key ? maskPayload(raw, key) : Buffer.from(raw),
      minimalLength: h.minimal,
    };
    this.log.push(frame);
    return frame;
  }

  /** The next frame (fails if the connection closes first). */
  frame(ms = 5000, what = 'a frame'): Promise<WireFrame> {
    return this.#until(() => this.#frame(), ms, what);
  }

  /**
   * Waits `ms` and asserts nothing arrived and the connection is still open: "the peer did not
   * act yet". Under load this can only pass more easily, never fail spuriously.
   */
  async quiet(ms: number): Promise<void> {
    await new Promise((r) => setTimeout(r, ms));
    if (this.#length > 0) throw new Error(`expected silence for ${ms} ms, got ${this.#length} bytes: ${this.#peek(this.#length).subarray(0, 32).toString('hex')}`);
    if (this.closed) throw new Error(`expected the connection to stay open for ${ms} ms`);
  }

  /** Resolves once the other side closed TCP; returns the frames that arrived before (after what was consumed). */
  async end(ms = 5000): Promise<WireFrame[]> {
    await within((async () => {
      while (!this.closed) await new Promise<void>((resolve) => this.#waiters.push(resolve));
    })(), ms, 'the TCP connection to close');
    const frames: WireFrame[] = [];
    for (let f = this.#frame(); f !== null; f = this.#frame()) frames.push(f);
    if (this.#length > 0) throw new Error(`${this.#length} bytes of an incomplete frame before the TCP close`);
    return frames;
  }

  /** Writes `bytes` as separate TCP writes cut at `split`, yielding to the event loop between writes so they leave as separate segments. */
  /** A frame from this peer: masked as its role requires unless `spec.mask` says otherwise. */
  encode(spec: FrameSpec): Buffer {
    return encodeFrame(spec, this.masks);
  }

  /** The masking a frame from this peer must NOT have (to break the rule on purpose). */
  get wrongMask(): boolean {
    return !this.masks;
  }

  /** Sends one frame, written in pieces cut at `split`. */
  send(spec: FrameSpec, split: Split = 'whole'): Promise<void> {
    return this.write(this.encode(spec), split);
  }

  /** Sends several frames as one TCP write (or in pieces cut at `split` over their concatenation). */
  sendAll(specs: FrameSpec[], split: Split = 'whole'): Promise<void> {
    return this.write(Buffer.concat(specs.map((s) => this.encode(s))), split);
  }

  text(payload: Buffer | string, split: Split = 'whole'): Promise<void> {
    return this.send({ opcode: OP.TEXT, payload }, split);
  }

  binary(payload: Buffer, split: Split = 'whole'): Promise<void> {
    return this.send({ opcode: OP.BINARY, payload }, split);
  }

  ping(payload: Buffer | string = '', split: Split = 'whole'): Promise<void> {
    return this.send({ opcode: OP.PING, payload }, split);
  }

  close(code?: number, reason: Buffer | string = ''): Promise<void> {
    return this.send({ opcode: OP.CLOSE, payload: closeBody(code, reason) });
  }

  async write(bytes: Buffer, split: Split = 'whole'): Promise<void> {
    const pieces = splitBytes(bytes, split);
    for (let i = 0; i < pieces.length; i++) {
      if (this.sock.destroyed) return;
      await new Promise<void>((resolve) => this.sock.write(pieces[i]!, () => resolve()));
      if (i < pieces.length - 1) await new Promise((r) => setImmediate(r));
    }
  }
}
