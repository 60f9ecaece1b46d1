import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';

export const root = path.resolve(__dirname, '..', '..');
export const requireFromRoot = createRequire(path.join(root, 'package.json'));

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
  header[1] |= 0x80;
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
