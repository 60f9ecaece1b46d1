import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export const root = path.resolve(__dirname, '..', '..');
export const requireFromRoot = createRequire(path.join(root, 'package.json'));

/**
 * Whether a test may rely on the kernel's socket buffer being the only buffer below the engine, and
 * on its filling being seen synchronously by send() (epoll: sendmsg returns EAGAIN at once). Over
 * io_uring (SOCKUDO_WS_TRANSPORT=io_uring, scripts/test.js suite "uring") the link's send buffer
 * (up to 4 MiB) stands in front of it and a full kernel buffer shows a loop turn later, so those
 * few tests measure something else there (README, "Transports").
 */
export const KERNEL_BUFFER_TIMING = process.env.SOCKUDO_WS_TRANSPORT !== 'io_uring';

/** Runs a CommonJS snippet in a fresh Node process (own env, own addon load); returns its output. */
export function runNode(code: string, env: Record<string, string | undefined> = {}, cwd = root) {
  const r = spawnSync(process.execPath, ['-e', code], { cwd, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Reference masking, byte at a time (RFC 6455 §5.3). */
export function referenceMask(src: Uint8Array, key: Uint8Array, phase = 0): Buffer {
  const out = Buffer.alloc(src.length);
  for (let i = 0; i < src.length; i++) out[i] = src[i]! ^ key[(phase + i) & 3]!;
  return out;
}

// --- WebSocket test helpers (real sockets on 127.0.0.1, ephemeral ports) ------------------------

/** The built package, loaded as users load it (dist/ through the exports map). */
export function loadPackage(): typeof import('sockudo-ws') {
  return requireFromRoot('sockudo-ws') as typeof import('sockudo-ws');
}

/** A TCP port on 127.0.0.1 that nothing listens on (bound, then closed). */
export async function closedPort(): Promise<number> {
  const s = net.createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** Rejects after `ms` so a hung socket fails its test instead of the whole run. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Resolves with the arguments of the next `event` (bounded by `ms`). */
export function next<A extends unknown[] = unknown[]>(emitter: NodeJS.EventEmitter, event: string, ms = 5000): Promise<A> {
  return within(new Promise<A>((resolve) => emitter.once(event, (...args: unknown[]) => resolve(args as A))), ms, `event "${event}"`);
}

/** Cleanup actions run after each test (servers closed, sockets destroyed), newest first. */
export class Cleanup {
  #actions: (() => unknown)[] = [];
  add<T>(value: T, action: (value: T) => unknown): T {
    this.#actions.push(() => action(value));
    return value;
  }
  async run(): Promise<void> {
    const actions = this.#actions.splice(0).reverse();
    for (const action of actions) {
      try {
        await within(Promise.resolve(action()), 10_000, 'cleanup');
      } catch {
        /* best effort */
      }
    }
  }
}

/** A valid client upgrade request head for raw-socket tests. */
export function upgradeRequest(path = '/', extra = ''): string {
  return `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`;
}

/** A masked client frame (RFC 6455 §5.2) for raw-socket tests. */
export function clientFrame(opcode: number, payload: Buffer | string, { fin = true, masked = true } = {}): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const len = data.length;
  const header = len < 126 ? Buffer.from([0, len]) : len < 65536 ? Buffer.from([0, 126, len >> 8, len & 255]) : Buffer.alloc(10);
  if (len >= 65536) {
    header[1] = 127;
    header.writeBigUInt64BE(BigInt(len), 2);
  }
  header[0] = (fin ? 0x80 : 0) | opcode;
  if (!masked) return Buffer.concat([header, data]);
  header[1] = header[1]! | 0x80;
  const key = Buffer.from([0x12, 0x34, 0x56, 0x78]);
  return Buffer.concat([header, key, referenceMask(data, key)]);
}

/** A self-signed certificate for localhost / 127.0.0.1, generated with the openssl CLI (no network). */
export function selfSignedCert(): { key: Buffer; cert: Buffer } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockudo-ws-cert-'));
  try {
    const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'),
      '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`openssl failed: ${r.stderr}`);
    return { key: fs.readFileSync(path.join(dir, 'key.pem')), cert: fs.readFileSync(path.join(dir, 'cert.pem')) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// --- shared by the protocol / backpressure / scale / bad-input suites ---------------------------

/** Polls `cond` every 5 ms until it holds (bounded by `ms`). */
export function waitUntil(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  return within((async () => { while (!cond()) await new Promise((r) => setTimeout(r, 5)); })(), ms, what);
}

/** The addon's native surface (for `socketCount()` leak checks): the same instance the package uses. */
export function nativeBinding(): import('../../lib/native').NativeBinding {
  return requireFromRoot(path.join(root, 'dist', 'cjs', 'native.js')).native;
}

/** `global.gc` when exposed, else one obtained through V8 flags; undefined if neither works. */
export function gcFunction(): (() => void) | undefined {
  const g = (globalThis as { gc?: () => void }).gc;
  if (typeof g === 'function') return g;
  try {
    (requireFromRoot('node:v8') as typeof import('node:v8')).setFlagsFromString('--expose-gc');
    return (requireFromRoot('node:vm') as typeof import('node:vm')).runInNewContext('gc') as () => void;
  } catch {
    return undefined;
  }
}

/** A small seeded PRNG (mulberry32), so a failing random input can be reproduced from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/**
 * Exactly `n` bytes of random, valid UTF-8 mixing 1-, 2-, 3- and 4-byte code points (no
 * surrogates); the tail is padded with shorter characters so the length is exact.
 */
export function randomUtf8(n: number, seed = 1): Buffer {
  const rnd = prng(seed);
  const out = Buffer.allocUnsafe(n);
  let i = 0;
  while (i < n) {
    const x = rnd();
    const w = Math.min(1 + (x & 3), n - i);
    const v = x >>> 2;
    if (w === 1) {
      out[i++] = v & 0x7f;
    } else if (w === 2) {
      const cp = 0x80 + (v % (0x800 - 0x80));
      out[i++] = 0xc0 | (cp >> 6);
      out[i++] = 0x80 | (cp & 0x3f);
    } else if (w === 3) {
      let cp = 0x800 + (v % (0x10000 - 0x800));
      if (cp >= 0xd800 && cp <= 0xdfff) cp -= 0x1000;
      out[i++] = 0xe0 | (cp >> 12);
      out[i++] = 0x80 | ((cp >> 6) & 0x3f);
      out[i++] = 0x80 | (cp & 0x3f);
    } else {
      const cp = 0x10000 + (v % 0x100000);
      out[i++] = 0xf0 | (cp >> 18);
      out[i++] = 0x80 | ((cp >> 12) & 0x3f);
      out[i++] = 0x80 | ((cp >> 6) & 0x3f);
      out[i++] = 0x80 | (cp & 0x3f);
    }
  }
  return out;
}

/** One frame as a raw peer sees it. */
export interface RawFrame {
  fin: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  payload: Buffer;
}

/** Parses one frame from the start of `buf` (unmasking it); null when incomplete. */
export function parseFrame(buf: Buffer): { frame: RawFrame; size: number } | null {
  if (buf.length < 2) return null;
  const b0 = buf[0]!;
  const b1 = buf[1]!;
  let len = b1 & 0x7f;
  let off = 2;
  if (len === 126) {
    if (buf.length < 4) return null;
    len = buf.readUInt16BE(2);
    off = 4;
  } else if (len === 127) {
    if (buf.length < 10) return null;
    len = Number(buf.readBigUInt64BE(2));
    off = 10;
  }
  const masked = (b1 & 0x80) !== 0;
  const keyAt = off;
  if (masked) off += 4;
  if (buf.length < off + len) return null;
  let payload: Buffer = Buffer.from(buf.subarray(off, off + len));
  if (masked) payload = referenceMask(payload, buf.subarray(keyAt, keyAt + 4));
  return { frame: { fin: (b0 & 0x80) !== 0, rsv: (b0 >> 4) & 7, opcode: b0 & 0x0f, masked, payload }, size: off + len };
}

/** Close code and reason of a close frame's payload (1005 for an empty one). */
export function closePayload(payload: Buffer): { code: number; reason: string } {
  return payload.length < 2 ? { code: 1005, reason: '' } : { code: payload.readUInt16BE(0), reason: payload.subarray(2).toString() };
}

/**
 * A raw TCP peer for misbehaving-client tests: buffers what it receives and reads it back as an
 * HTTP head, as frames, or as everything until the server closes the connection.
 */
export class RawPeer {
  readonly sock: net.Socket;
  #chunks: Buffer[] = [];
  #length = 0;
  #wake: (() => void) | null = null;
  /** The server ended or reset the connection. */
  closed = false;
  /** Total bytes received. */
  received = 0;

  constructor(sock: net.Socket) {
    this.sock = sock;
    sock.on('data', (d: Buffer) => {
      this.#chunks.push(d);
      this.#length += d.length;
      this.received += d.length;
      this.#notify();
    });
    sock.on('error', () => { /* a reset by the server is an expected outcome here */ });
    sock.on('close', () => {
      this.closed = true;
      this.#notify();
    });
  }

  /** Connects to 127.0.0.1:port; the socket is destroyed by `cleanup`. */
  static async connect(port: number, cleanup: Cleanup): Promise<RawPeer> {
    const sock = cleanup.add(net.connect(port, '127.0.0.1'), (s) => s.destroy());
    sock.setNoDelay(true);
    const peer = new RawPeer(sock);
    await within(once(sock, 'connect'), 5000, 'tcp connect');
    return peer;
  }

  /** Connects and completes the upgrade; `first` is written in the same segment as the request. */
  static async upgraded(port: number, cleanup: Cleanup, first: Buffer = Buffer.alloc(0)): Promise<{ peer: RawPeer; head: string }> {
    const peer = await RawPeer.connect(port, cleanup);
    peer.sock.write(Buffer.concat([Buffer.from(upgradeRequest()), first]));
    const head = await peer.head();
    if (!head.startsWith('HTTP/1.1 101')) throw new Error(`upgrade refused: ${head}`);
    return { peer, head };
  }

  /** What is buffered and not yet consumed. */
  get buffered(): Buffer {
    if (this.#chunks.length > 1) this.#chunks = [Buffer.concat(this.#chunks)];
    return this.#chunks[0] ?? Buffer.alloc(0);
  }

  #consume(n: number): void {
    const b = this.buffered.subarray(n);
    this.#chunks = b.length ? [b] : [];
    this.#length = b.length;
  }

  #notify(): void {
    const w = this.#wake;
    this.#wake = null;
    w?.();
  }

  async #until<T>(take: () => T | null, ms: number, what: string): Promise<T> {
    return within((async () => {
      for (;;) {
        const r = take();
        if (r !== null) return r;
        if (this.closed) throw new Error(`connection closed while waiting for ${what} (buffered ${this.#length} bytes)`);
        await new Promise<void>((resolve) => { this.#wake = resolve; });
      }
    })(), ms, what);
  }

  /** The next HTTP head (through CRLFCRLF). */
  head(ms = 5000): Promise<string> {
    return this.#until(() => {
      const b = this.buffered;
      const end = b.indexOf('\r\n\r\n');
      if (end < 0) return null;
      this.#consume(end + 4);
      return b.subarray(0, end + 4).toString('latin1');
    }, ms, 'an HTTP head');
  }

  /** The next frame. */
  frame(ms = 5000): Promise<RawFrame> {
    return this.#until(() => {
      if (this.#length < 2) return null;
      const r = parseFrame(this.buffered);
      if (r === null) return null;
      this.#consume(r.size);
      return r.frame;
    }, ms, 'a frame');
  }

  /** The next frame that is not a ping/pong (those are collected into `control`). */
  async dataOrClose(control: RawFrame[] = [], ms = 5000): Promise<RawFrame> {
    for (;;) {
      const f = await this.frame(ms);
      if (f.opcode === 0x9 || f.opcode === 0xa) control.push(f);
      else return f;
    }
  }

  /** The next whole data message (fragments reassembled; control frames collected into `control`); `frames` are its frames. */
  async message(control: RawFrame[] = [], ms = 5000): Promise<{ opcode: number; payload: Buffer; frames: RawFrame[] }> {
    const frames: RawFrame[] = [];
    for (;;) {
      const f = await this.dataOrClose(control, ms);
      frames.push(f);
      if (f.fin || f.opcode === 0x8) {
        return { opcode: frames[0]!.opcode, payload: Buffer.concat(frames.map((x) => x.payload)), frames };
      }
    }
  }

  /** Resolves when the server closed the connection; returns everything received and not consumed. */
  async end(ms = 5000): Promise<Buffer> {
    await within((async () => {
      while (!this.closed) await new Promise<void>((resolve) => { this.#wake = resolve; });
    })(), ms, 'the server to close the connection');
    return this.buffered;
  }

  write(data: Buffer | string): void {
    this.sock.write(data);
  }
}
