/**
 * Pusher's HMAC-SHA256 signatures: channel and user authentication strings a client presents,
 * HTTP API request signatures, and webhook signatures. Comparisons are constant-time.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export function hmac(secret: string, text: string): string {
  return createHmac('sha256', secret).update(text).digest('hex');
}

export function md5(body: Buffer | string): string {
  return createHash('md5').update(body).digest('hex');
}

/** Constant-time string equality (false for different lengths). */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** `auth` of a private/presence/encrypted subscription: `key:HMAC(secret, "socket_id:channel[:channel_data]")`. */
export function validChannelAuth(key: string, secret: string, auth: unknown, socketId: string, channel: string, channelData?: string): boolean {
  if (typeof auth !== 'string') return false;
  const text = channelData === undefined ? `${socketId}:${channel}` : `${socketId}:${channel}:${channelData}`;
  return safeEqual(auth, `${key}:${hmac(secret, text)}`);
}

/** `auth` of a `pusher:signin`: `key:HMAC(secret, "socket_id::user::user_data")`. */
export function validUserAuth(key: string, secret: string, auth: unknown, socketId: string, userData: string): boolean {
  if (typeof auth !== 'string') return false;
  return safeEqual(auth, `${key}:${hmac(secret, `${socketId}::user::${userData}`)}`);
}

/** Why an HTTP API request's signature was refused, or null when it is valid. */
export function requestSignatureError(method: string, path: string, query: URLSearchParams, body: Buffer,
  app: { key: string; secret: string }, nowSeconds: number, windowSeconds: number): string | null {
  const key = query.get('auth_key');
  if (key === null) return 'auth_key is missing';
  if (key !== app.key) return 'auth_key does not belong to this app';
  const ts = query.get('auth_timestamp');
  if (ts === null || !/^\d+$/.test(ts)) return 'auth_timestamp is missing or not a number';
  if (Math.abs(nowSeconds - Number(ts)) > windowSeconds) return `auth_timestamp is more than ${windowSeconds} s away from the server's time`;
  if (query.get('auth_version') !== '1.0') return 'auth_version must be 1.0';
  if (body.length > 0) {
    const digest = query.get('body_md5');
    if (digest === null) return 'body_md5 is missing';
    if (!safeEqual(digest, md5(body))) return 'body_md5 does not match the body';
  }
  const signature = query.get('auth_signature');
  if (signature === null) return 'auth_signature is missing';
  // Every parameter but the signature, keys lower-cased, sorted by key, unescaped: key=value&...
  const params: [string, string][] = [];
  for (const [k, v] of query) if (k !== 'auth_signature') params.push([k.toLowerCase(), v]);
  params.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const text = `${method}\n${path}\n${params.map(([k, v]) => `${k}=${v}`).join('&')}`;
  if (!safeEqual(signature, hmac(app.secret, text))) return 'auth_signature does not match (HMAC-SHA256 of "METHOD\\npath\\nsorted query")';
  return null;
}
