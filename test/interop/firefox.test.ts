// Interop with Debian's headless Firefox ESR (NSS, its own HTTP/2 and WebSocket stacks) against
// our native TLS server: WebSocket over HTTP/2 (RFC 8441: Firefox sends the extended CONNECT on
// the h2 connection a fetch opened, once our SETTINGS allowed it), several WebSockets sharing that
// connection, HTTP/1.1 wss:// when the server offers no h2, and a control without our test CA
// that must fail. The CA is trusted through the profile's NSS database (see firefox.ts), never
// by turning certificate checks off. A file of its own so the sanitizer run can leave it out.
import { afterEach, describe, expect, it } from 'vitest';

import { Cleanup, loadPackage, next } from '../js/helpers';
import { opensslMissing, tlsFixtures } from '../js/tls-fixtures';
import { firefoxSkip, runInFirefox } from './firefox';
import { pattern, skipReason } from './peer-process';
import { digest, expectSame } from './tls-common';
import { CLOSE_REASON, makeText, PAGE_CASES, pageCase, WSS_PAGE_SCRIPT } from './wss-page';

const lib = loadPackage();
type Ws = import('sockudo-ws').WebSocket;
type Request = import('sockudo-ws').UpgradeRequest;
type ServerOptions = import('sockudo-ws').ServerOptions;

const MiB = 1024 * 1024;
const skip = skipReason(opensslMissing()) ?? firefoxSkip;
if (skip) console.warn(`interop with Firefox skipped: ${skip}`);

/** Opens `count` WebSockets at once on a warmed-up h2 connection; each echoes its index, then all close with 1000. */
const MANY_SCRIPT = String.raw`
async function manyOverHttp2(origin, url, count) {
  await fetch(origin + '/warm-up', { mode: 'no-cors', credentials: 'include' });
  const sockets = Array.from({ length: count }, () => open(url));
  await Promise.all(sockets.map((c) => c.opened));
  sockets.forEach((c, i) => c.ws.send('socket ' + i));
  const echoes = await Promise.all(sockets.map((c) => c.next()));
  sockets.forEach((c) => c.ws.close(1000));
  const closes = await Promise.all(sockets.map((c) => c.closed));
  return { echoes, codes: closes.map((c) => c.code) };
}`;

type EchoResult = {
  fetched?: string;
  results: { name: string; type: string; len: number; sha256: string; same: boolean }[];
  close: { code: number; reason: string; wasClean: boolean };
};

const wantEchoes = () => PAGE_CASES.map(([name, kind, n]) => ({ name, ...digest(pageCase(kind, n)), same: true }));

describe.skipIf(skip !== null)('headless Firefox ESR over wss:// to our native TLS server', () => {
  const cleanup = new Cleanup();
  afterEach(() => cleanup.run());

  /** Our wss:// server (h2 offered by ALPN when `http2`); `onConnection` runs in the connection event. */
  async function ourServer(options: Partial<ServerOptions>, onConnection: (ws: Ws, req: Request) => void) {
    const f = tlsFixtures();
    const wss = cleanup.add(new lib.WebSocketServer({
      port: 0, host: '127.0.0.1', tls: { key: f.server.key, cert: f.server.cert }, ...options,
    }), (s) => s.close());
    await next(wss, 'listening');
    const requests: Request[] = [];
    wss.on('connection', (ws: Ws, req: Request) => {
      requests.push(req);
      onConnection(ws, req);
    });
    const port = (wss.address() as { port: number }).port;
    return { port, origin: `https://127.0.0.1:${port}`, requests, caFile: f.files.caCert };
  }

  const echo = (ws: Ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));

  it('after a fetch over h2, Firefox opens the WebSocket as an extended CONNECT stream (RFC 8441); every size class echoes exactly, permessage-deflate negotiated by header, close 4000 both ways', async () => {
    let serverClose: Promise<[number, string]> | undefined;
    const extensions: string[] = [];
    const { port, origin, requests, caFile } = await ourServer({ http2: true, compression: 'dedicated' }, (ws) => {
      serverClose = next<[number, string]>(ws, 'close', 45_000);
      extensions.push(ws.extensions);
      echo(ws);
    });
    const run = await runInFirefox<EchoResult>(WSS_PAGE_SCRIPT,
      `afterFetch(${JSON.stringify(origin)}, ${JSON.stringify(`wss://127.0.0.1:${port}/firefox-h2?x=1`)}, ${JSON.stringify(PAGE_CASES)})`,
      { trustCa: caFile, ms: 60_000 });
    expect(run.error).toBeUndefined();
    expect(run.value!.fetched).toBe('ok');  // an opaque 404 from our h2 session
    expect(requests).toHaveLength(1);
    expect(requests[0]!.httpVersion).toBe('2');
    expect(requests[0]!.method).toBe('CONNECT');
    expect(requests[0]!.authority).toBe(`127.0.0.1:${port}`);
    expect(requests[0]!.url).toBe('/firefox-h2?x=1');
    expect(extensions[0]).toMatch(/^permessage-deflate/);
    expect(run.value!.results).toEqual(wantEchoes());
    expect(run.value!.close).toEqual({ code: 4000, reason: '', wasClean: true });
    expect(await serverClose!).toEqual([4000, CLOSE_REASON]);
    expect(run.pageErrors).toEqual([]);
  });

  it('over h2, takes 1 MiB+ pushes from our server and our close 4001 with a reason (END_STREAM after the close frame)', async () => {
    const pushes = [pattern(MiB + 3), makeText(MiB + 1), Buffer.alloc(0), 'done ✓'];
    const statuses: string[] = [];
    let closed: Promise<[number, string]> | undefined;
    const { port, origin, requests, caFile } = await ourServer({ http2: true }, (ws) => {
      closed = next<[number, string]>(ws, 'close', 30_000);
      ws.once('message', (go) => {
        expect(go).toBe('go');
        for (const d of pushes) statuses.push(ws.send(d));
        ws.close(4001, 'server bye 漢字');
      });
    });
    const run = await runInFirefox<{ got: { type: string; len: number; sha256: string }[]; close: { code: number; reason: string; wasClean: boolean } }>(
      WSS_PAGE_SCRIPT,
      `fetch(${JSON.stringify(`${origin}/warm-up`)}, { mode: 'no-cors', credentials: 'include' }).then(() => pushExchange(${JSON.stringify(`wss://127.0.0.1:${port}/push`)}, ${pushes.length}))`,
      { trustCa: caFile, ms: 60_000 });
    expect(run.error).toBeUndefined();
    expect(requests.map((r) => r.httpVersion)).toEqual(['2']);
    expect(statuses).not.toContain('dropped');
    expect(run.value!.got).toEqual(pushes.map((d) => { const { type, len, sha256 } = digest(d); return { type, len, sha256 }; }));
    expect(run.value!.close).toEqual({ code: 4001, reason: 'server bye 漢字', wasClean: true });
    expect((await closed!)[0]).toBe(4001);
    expect(run.pageErrors).toEqual([]);
  });

  it('five WebSockets opened at once share the one h2 connection (same client port), each its own stream and endpoint', async () => {
    const { port, origin, requests, caFile } = await ourServer({ http2: true }, (ws) => echo(ws));
    const run = await runInFirefox<{ echoes: string[]; codes: number[] }>(`${WSS_PAGE_SCRIPT}\n${MANY_SCRIPT}`,
      `manyOverHttp2(${JSON.stringify(origin)}, ${JSON.stringify(`wss://127.0.0.1:${port}/many`)}, 5)`,
      { trustCa: caFile, ms: 60_000 });
    expect(run.error).toBeUndefined();
    expect(run.value).toEqual({ echoes: [0, 1, 2, 3, 4].map((i) => `socket ${i}`), codes: [1000, 1000, 1000, 1000, 1000] });
    expect(requests).toHaveLength(5);
    expect(new Set(requests.map((r) => r.httpVersion))).toEqual(new Set(['2']));
    expect(new Set(requests.map((r) => r.remotePort)).size).toBe(1);
  });

  it('without http2 on the server, Firefox uses an HTTP/1.1 upgrade over TLS; every size class echoes exactly', async () => {
    let serverClose: Promise<[number, string]> | undefined;
    const received: (string | Buffer)[] = [];
    const { port, requests, caFile } = await ourServer({}, (ws) => {
      serverClose = next<[number, string]>(ws, 'close', 45_000);
      ws.on('message', (data, isBinary) => {
        received.push(data as string | Buffer);
        ws.send(data, { binary: isBinary });
      });
    });
    const run = await runInFirefox<EchoResult>(WSS_PAGE_SCRIPT,
      `echoExchange(${JSON.stringify(`wss://127.0.0.1:${port}/firefox-h1`)}, ${JSON.stringify(PAGE_CASES)})`, { trustCa: caFile, ms: 60_000 });
    expect(run.error).toBeUndefined();
    expect(requests.map((r) => [r.httpVersion, r.method, r.secure])).toEqual([['1.1', 'GET', true]]);
    expect(run.value!.results).toEqual(wantEchoes());
    PAGE_CASES.forEach(([, kind, n], i) => expectSame(received[i], pageCase(kind, n)));
    expect(await serverClose!).toEqual([4000, CLOSE_REASON]);
  });

  it('control: a profile that does not trust our test CA refuses the server; no WebSocket reaches it', async () => {
    const { port, origin, requests } = await ourServer({ http2: true }, () => {});
    const run = await runInFirefox<string>(WSS_PAGE_SCRIPT,
      `fetch(${JSON.stringify(`${origin}/warm-up`)}, { mode: 'no-cors' }).then(() => 'fetched', () => 'fetch refused').then(async (f) => f + ', ' + await tryOpen(${JSON.stringify(`wss://127.0.0.1:${port}/`)}))`,
      { ms: 30_000 });
    expect(run.value).toBe('fetch refused, WebSocket error before open');
    expect(requests).toHaveLength(0);
  });
});
