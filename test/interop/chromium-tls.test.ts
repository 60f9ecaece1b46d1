// wss:// interop with Debian's headless Chromium (BoringSSL): the page opens wss:// to our native
// TLS server (the browser started with --ignore-certificate-errors; a control case without it
// must fail) and echoes text and binary, hashed on both sides. A file of its own so the sanitizer
// run can leave it out (Chromium does not start with the ASan runtime preloaded).
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
      }>(`overHttp2(${JSON.stringify(origin)}, ${JSON.stringify(`wss://127.0.0.1:${port}/chromium-h2`)}, ${JSON.stringify(PAGE_CASES)})`, 45_000);
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
