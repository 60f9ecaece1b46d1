// wss:// interop with Debian's headless Chromium (BoringSSL): the page opens wss:// to our native
// TLS server (the browser started with --ignore-certificate-errors; a control case without it
// must fail) and echoes text and binary, hashed on both sides; the same over HTTP/2 (RFC 8441)
// and over HTTP/3 (RFC 9220, Chromium's EnableWebsocketsOverHttp3 feature). A file of its own so the sanitizer
// run can leave it out (Chromium does not start with the ASan runtime preloaded).
import { createHash, X509Certificate } from 'node:crypto';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { Cleanup, loadPackage, next } from '../js/helpers';
import { opensslMissing, tlsFixtures } from '../js/tls-fixtures';
import { chromiumSkip, openBrowserPage, type BrowserPage } from './browser';
import { pattern, skipReason } from './peer-process';
import { digest, expectSame } from './tls-common';
import { CLOSE_REASON, makeText, PAGE_CASES, pageCase, WSS_PAGE_SCRIPT } from './wss-page';

const lib = loadPackage();
type Ws = import('sockudo-ws').WebSocket;
type Request = import('sockudo-ws').UpgradeRequest;

const MiB = 1024 * 1024;

const browserSkip = skipReason(opensslMissing()) ?? chromiumSkip;

if (browserSkip) console.warn(`wss:// interop with Chromium skipped: ${browserSkip}`);

const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>sockudo-ws wss interop</title>
<script>
${WSS_PAGE_SCRIPT}
</script>
<p>sockudo-ws wss interop page</p>
`;

describe.skipIf(browserSkip !== null)('headless Chromium over wss:// to our native TLS server', () => {
  const cleanup = new Cleanup();
  afterEach(() => cleanup.run());

  /** Our wss:// server; `onConnection` runs synchronously in the connection event (before any message). */
  async function ourTlsServer(onConnection: (ws: Ws) => void = () => {}) {
    const f = tlsFixtures();
    const wss = cleanup.add(new lib.WebSocketServer({ port: 0, host: '127.0.0.1', tls: { key: f.server.key, cert: f.server.cert } }), (s) => s.close());
    await next(wss, 'listening');
    const connections: [Ws, Request][] = [];
    wss.on('connection', (ws: Ws, req: Request) => {
      connections.push([ws, req]);
      onConnection(ws);
    });
    return { wss, port: (wss.address() as { port: number }).port, connections };
  }

  describe('with --ignore-certificate-errors', () => {
    let browser: BrowserPage;
    beforeAll(async () => {
      browser = await openBrowserPage(PAGE, { args: ['--ignore-certificate-errors'] });
      expect(await browser.page.title()).toBe('sockudo-ws wss interop');
    }, 60_000);
    afterAll(async () => browser?.close(), 30_000);

    it('echoes text and binary of 0, 125, 65536 and 1 MiB+ (sha256 on both sides) and closes with 4000', async () => {
      const received: (string | Buffer)[] = [];
      let serverClose: Promise<[number, string]> | undefined;
      const { port, connections } = await ourTlsServer((ws) => {
        serverClose = next<[number, string]>(ws, 'close', 45_000);
        ws.on('message', (data, isBinary) => {
          received.push(data);
          ws.send(data, { binary: isBinary });
        });
      });
      const result = await browser.evaluate<{
        results: { name: string; type: string; len: number; sha256: string; same: boolean }[];
        close: { code: number; reason: string; wasClean: boolean };
      }>(`echoExchange(${JSON.stringify(`wss://127.0.0.1:${port}/chromium`)}, ${JSON.stringify(PAGE_CASES)})`, 45_000);
      const want = PAGE_CASES.map(([name, kind, n]) => ({ name, ...digest(pageCase(kind, n)), same: true }));
      expect(result.results).toEqual(want);
      expect(result.close).toEqual({ code: 4000, reason: '', wasClean: true });
      expect(received.length).toBe(PAGE_CASES.length);
      PAGE_CASES.forEach(([, kind, n], i) => expectSame(received[i], pageCase(kind, n)));
      expect(await serverClose!).toEqual([4000, CLOSE_REASON]);
      const [, request] = connections[0]!;
      expect(request.secure).toBe(true);
      expect(request.url).toBe('/chromium');
      expect(browser.pageErrors).toEqual([]);
    });

    it('takes 1 MiB+ pushes from our server over TLS and our close 4001 with a reason', async () => {
      const pushes = [pattern(MiB + 3), makeText(MiB + 1), Buffer.alloc(0), 'done ✓'];
      const statuses: string[] = [];
      const firstMessages: unknown[] = [];
      let closed: Promise<[number, string]> | undefined;
      const { port, connections } = await ourTlsServer((ws) => {
        closed = next<[number, string]>(ws, 'close', 30_000);
        ws.once('message', (go) => {
          firstMessages.push(go);
          for (const d of pushes) statuses.push(ws.send(d));
          ws.close(4001, 'server bye 漢字');
        });
      });
      const result = await browser.evaluate<{ got: { type: string; len: number; sha256: string }[]; close: { code: number; reason: string; wasClean: boolean } }>(
        `pushExchange(${JSON.stringify(`wss://127.0.0.1:${port}/`)}, ${pushes.length})`, 30_000);
      expect(connections.length).toBe(1);
      expect(firstMessages).toEqual(['go']);
      expect(statuses).not.toContain('dropped');
      expect(result.got).toEqual(pushes.map((d) => { const { type, len, sha256: h } = digest(d); return { type, len, sha256: h }; }));
      expect(result.close).toEqual({ code: 4001, reason: 'server bye 漢字', wasClean: true });
      expect((await closed!)[0]).toBe(4001);
      expect(browser.pageErrors).toEqual([]);
    });
  });

  describe('WebSocket over HTTP/2 (RFC 8441), with --ignore-certificate-errors', () => {
    let browser: BrowserPage;
    beforeAll(async () => {
      browser = await openBrowserPage(PAGE, { args: ['--ignore-certificate-errors'] });
    }, 60_000);
    afterAll(async () => browser?.close(), 30_000);

    it('after a fetch over h2, Chromium opens the WebSocket as an extended CONNECT stream on that connection; echo and close as over HTTP/1.1', async () => {
      const f = tlsFixtures();
      const wss = cleanup.add(new lib.WebSocketServer({ port: 0, host: '127.0.0.1', http2: true, tls: { key: f.server.key, cert: f.server.cert } }), (s) => s.close());
      await next(wss, 'listening');
      const port = (wss.address() as { port: number }).port;
      const requests: Request[] = [];
      let serverClose: Promise<[number, string]> | undefined;
      wss.on('connection', (ws: Ws, req: Request) => {
        requests.push(req);
        serverClose = next<[number, string]>(ws, 'close', 45_000);
        ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
      });
      const origin = `https://127.0.0.1:${port}`;
      const result = await browser.evaluate<{
        fetched: string;
        results: { name: string; type: string; len: number; sha256: string; same: boolean }[];
        close: { code: number; reason: string; wasClean: boolean };
      }>(`afterFetch(${JSON.stringify(origin)}, ${JSON.stringify(`wss://127.0.0.1:${port}/chromium-h2`)}, ${JSON.stringify(PAGE_CASES)})`, 45_000);
      expect(result.fetched).toBe('ok');  // an opaque 404 from our h2 session
      expect(requests).toHaveLength(1);
      expect(requests[0]!.httpVersion).toBe('2');
      expect(requests[0]!.method).toBe('CONNECT');
      expect(requests[0]!.authority).toBe(`127.0.0.1:${port}`);
      expect(requests[0]!.url).toBe('/chromium-h2');
      const want = PAGE_CASES.map(([name, kind, n]) => ({ name, ...digest(pageCase(kind, n)), same: true }));
      expect(result.results).toEqual(want);
      expect(result.close).toEqual({ code: 4000, reason: '', wasClean: true });
      expect(await serverClose!).toEqual([4000, CLOSE_REASON]);
      expect(browser.pageErrors).toEqual([]);
    });
  });

  describe('WebSocket over HTTP/3 (RFC 9220), QUIC forced for our origin and our certificate pinned by SPKI', () => {
    // Chromium's flags name the origin, so the server (http3: true) starts before the browser and
    // every test here uses it; `onConnection` is each test's handler.
    let browser: BrowserPage;
    let wss: import('sockudo-ws').WebSocketServer;
    let port = 0;
    let origin = '';
    let onConnection: (ws: Ws, req: Request) => void = () => {};
    beforeAll(async () => {
      const f = tlsFixtures();
      wss = new lib.WebSocketServer({ port: 0, host: '127.0.0.1', http3: true, tls: { key: f.server.key, cert: f.server.cert } });
      await next(wss, 'listening');
      wss.on('connection', (ws: Ws, req: Request) => onConnection(ws, req));
      port = (wss.address() as { port: number }).port;
      origin = `https://127.0.0.1:${port}`;
      // QUIC in Chromium ignores --ignore-certificate-errors; only an SPKI pin lets a test CA through.
      const spki = createHash('sha256').update(new X509Certificate(f.server.cert).publicKey.export({ type: 'spki', format: 'der' })).digest('base64');
      browser = await openBrowserPage(PAGE, {
        quicOrigins: [`127.0.0.1:${port}`],
        args: [`--ignore-certificate-errors-spki-list=${spki}`, '--enable-features=EnableWebsocketsOverHttp3'],
      });
    }, 60_000);
    afterAll(async () => {
      await browser?.close();
      wss?.close();
    }, 30_000);
    afterEach(() => { onConnection = () => {}; });

    it('after a fetch over h3, Chromium opens the WebSocket as an extended CONNECT stream on that QUIC connection; echo (sha256 on both sides) and close 4000', async () => {
      const requests: Request[] = [];
      const transports: string[] = [];
      let serverClose: Promise<[number, string]> | undefined;
      onConnection = (ws, req) => {
        requests.push(req);
        transports.push(ws.transport.name);
        serverClose = next<[number, string]>(ws, 'close', 45_000);
        ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
      };
      const result = await browser.evaluate<{
        fetched: string;
        results: { name: string; type: string; len: number; sha256: string; same: boolean }[];
        close: { code: number; reason: string; wasClean: boolean };
      }>(`afterFetch(${JSON.stringify(origin)}, ${JSON.stringify(`wss://127.0.0.1:${port}/chromium-h3?q=1`)}, ${JSON.stringify(PAGE_CASES)})`, 45_000);
      expect(result.fetched).toBe('ok');  // an opaque 404 from our HTTP/3 session
      expect(requests).toHaveLength(1);
      expect(requests[0]!.httpVersion).toBe('3');
      expect(requests[0]!.method).toBe('CONNECT');
      expect(requests[0]!.authority).toBe(`127.0.0.1:${port}`);
      expect(requests[0]!.url).toBe('/chromium-h3?q=1');
      expect(transports).toEqual(['quic']);
      const want = PAGE_CASES.map(([name, kind, n]) => ({ name, ...digest(pageCase(kind, n)), same: true }));
      expect(result.results).toEqual(want);
      expect(result.close).toEqual({ code: 4000, reason: '', wasClean: true });
      expect(await serverClose!).toEqual([4000, CLOSE_REASON]);
      expect(browser.pageErrors).toEqual([]);
    });

    it('takes 1 MiB+ pushes over h3 and our close 4001 with a reason; eight WebSockets at once share the QUIC connection', async () => {
      const pushes = [pattern(MiB + 3), makeText(MiB + 1), Buffer.alloc(0), 'done ✓'];
      const requests: Request[] = [];
      const statuses: string[] = [];
      const closes: Promise<[number, string]>[] = [];
      onConnection = (ws, req) => {
        requests.push(req);
        closes.push(next<[number, string]>(ws, 'close', 30_000));
        ws.once('message', () => {
          for (const d of pushes) statuses.push(ws.send(d));
          ws.close(4001, 'server bye 漢字');
        });
      };
      const results = await browser.evaluate<{ got: { type: string; len: number; sha256: string }[]; close: { code: number; reason: string; wasClean: boolean } }[]>(
        `fetch(${JSON.stringify(`${origin}/again`)}, { mode: 'no-cors', credentials: 'include' }).then(() => Promise.all(Array.from({ length: 8 }, (_, i) => pushExchange(${JSON.stringify(`wss://127.0.0.1:${port}/push/`)} + i, ${pushes.length}))))`,
        45_000);
      expect(requests.map((r) => r.httpVersion)).toEqual(Array(8).fill('3'));
      expect(new Set(requests.map((r) => r.url))).toEqual(new Set(Array.from({ length: 8 }, (_, i) => `/push/${i}`)));
      // One QUIC connection: every stream came from the same client address and port.
      expect(new Set(requests.map((r) => `${r.remoteAddress}:${r.remotePort}`)).size).toBe(1);
      expect(statuses).not.toContain('dropped');
      const want = pushes.map((d) => { const { type, len, sha256: h } = digest(d); return { type, len, sha256: h }; });
      for (const r of results) {
        expect(r.got).toEqual(want);
        expect(r.close).toEqual({ code: 4001, reason: 'server bye 漢字', wasClean: true });
      }
      expect((await Promise.all(closes)).map(([code]) => code)).toEqual(Array(8).fill(4001));
      expect(browser.pageErrors).toEqual([]);
    });
  });

  describe('without --ignore-certificate-errors (control)', () => {
    let browser: BrowserPage;
    beforeAll(async () => {
      browser = await openBrowserPage(PAGE);
    }, 60_000);
    afterAll(async () => browser?.close(), 30_000);

    it('Chromium refuses our test-CA certificate: no open, and our server sees no connection', async () => {
      const { port, connections } = await ourTlsServer();
      const outcome = await browser.evaluate<string>(`tryOpen(${JSON.stringify(`wss://127.0.0.1:${port}/`)})`, 15_000);
      expect(outcome).toBe('WebSocket error before open');
      expect(connections.length).toBe(0);
    });
  });
});
