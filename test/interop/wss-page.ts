// The page both browsers run against our wss:// server (chromium-tls.test.ts, firefox.test.ts):
// open/echo/push exchanges whose every message is compared exactly and hashed (sha256) in the
// page, and the same cases rebuilt on the Node side for the comparison.
import { PAGE_HELPERS } from './browser';

const MiB = 1024 * 1024;

export const MAKE_TEXT = String.raw`function makeText(n) { const unit = 'ü€漢字 ascii 한국어 😀🇩🇪 — '; let s = ''; while (s.length < n) s += unit; s = s.slice(0, n); return /[\uD800-\uDBFF]$/.test(s) ? s.slice(0, -1) + 'x' : s; }`;
export const makeText = new Function(`${MAKE_TEXT}; return makeText;`)() as (n: number) => string;
const pagePattern = new Function(`${PAGE_HELPERS}; return pattern;`)() as (n: number) => ArrayBuffer;
export const PAGE_CASES: [string, 'text' | 'binary', number][] = [
  ['empty text', 'text', 0], ['text 125', 'text', 125], ['text 65536', 'text', 65536], ['text 1 MiB+', 'text', MiB + 5],
  ['empty binary', 'binary', 0], ['binary 125', 'binary', 125], ['binary 65536', 'binary', 65536], ['binary 1 MiB+', 'binary', MiB + 7],
];
export function pageCase(kind: 'text' | 'binary', n: number): string | Buffer {
  return kind === 'text' ? makeText(n) : Buffer.from(pagePattern(n));
}

/** The close reason the page's echoExchange sends with its 4000. */
export const CLOSE_REASON = 'bye from the browser over TLS ✓';

/** The page's functions: open(url), echoExchange(url, cases), pushExchange(url, count), afterFetch(origin, url, cases), tryOpen(url). */
export const WSS_PAGE_SCRIPT = String.raw`'use strict';
${PAGE_HELPERS}
${MAKE_TEXT}
const CLOSE_REASON = ${JSON.stringify(CLOSE_REASON)};
async function hex(bytes) { return [...new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))].map((b) => b.toString(16).padStart(2, '0')).join(''); }

/** Opens url; messages queue up, next() takes one (bounded); reports open failure and the close event. */
function open(url) {
  const ws = new WebSocket(url);
  ws.binaryType = 'arraybuffer';
  const queue = [];
  let wake = null;
  const poke = () => { if (wake) { const w = wake; wake = null; w(); } };
  ws.onmessage = (e) => { queue.push(e.data); poke(); };
  let isClosed = false;
  const closed = new Promise((resolve) => {
    ws.onclose = (e) => { isClosed = true; poke(); resolve({ code: e.code, reason: e.reason, wasClean: e.wasClean }); };
  });
  const opened = new Promise((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = () => reject(new Error('WebSocket error before open'));
    setTimeout(() => reject(new Error('open timed out')), 10000);
  });
  async function next(ms = 15000) {
    const until = Date.now() + ms;
    while (queue.length === 0) {
      if (Date.now() > until) throw new Error('no message within ' + ms + ' ms');
      if (isClosed) throw new Error('closed before the next message');
      await new Promise((r) => { wake = r; setTimeout(r, 100); });
    }
    return queue.shift();
  }
  return { ws, opened, closed, next };
}

/** Sends every case, compares each echo exactly and hashes it; closes with 4000 and a reason. */
async function echoExchange(url, cases) {
  const c = open(url);
  await c.opened;
  const results = [];
  for (const [name, kind, n] of cases) {
    const data = kind === 'text' ? makeText(n) : pattern(n);
    c.ws.send(data);
    const echo = await c.next();
    const bytes = typeof echo === 'string' ? new TextEncoder().encode(echo) : new Uint8Array(echo);
    const same = typeof data === 'string' ? echo === data : bytesEqual(echo, data);
    results.push({ name, type: typeof echo === 'string' ? 'text' : 'binary', len: bytes.length, sha256: await hex(bytes), same });
  }
  c.ws.close(4000, CLOSE_REASON);
  return { results, close: await c.closed };
}

/** Waits for "count" server pushes (hashed), then for the server's close. */
async function pushExchange(url, count) {
  const c = open(url);
  await c.opened;
  c.ws.send('go');
  const got = [];
  for (let i = 0; i < count; i++) {
    const d = await c.next();
    const bytes = typeof d === 'string' ? new TextEncoder().encode(d) : new Uint8Array(d);
    got.push({ type: typeof d === 'string' ? 'text' : 'binary', len: bytes.length, sha256: await hex(bytes) });
  }
  return { got, close: await c.closed };
}

/**
 * RFC 8441 / RFC 9220 in browsers: Chromium and Firefox send a WebSocket over HTTP/2 (Chromium also
 * over HTTP/3) only on an existing h2/h3 connection to its origin whose server sent
 * SETTINGS_ENABLE_CONNECT_PROTOCOL; they never dial one for a WebSocket. A fetch (credentialed, as
 * the WebSocket is, so both use the same connection pool) opens that connection first; our server
 * answers it with 404, which is enough.
 */
async function afterFetch(origin, wsUrl, cases) {
  const fetched = await fetch(origin + '/warm-up', { mode: 'no-cors', credentials: 'include' }).then(() => 'ok', (e) => String(e));
  return { fetched, ...(await echoExchange(wsUrl, cases)) };
}

/** Only whether the connection opens (the certificate check is the browser's). */
async function tryOpen(url) {
  const c = open(url);
  try { await c.opened; c.ws.close(1000); return 'open'; } catch (e) { return String(e.message); }
}
`;
