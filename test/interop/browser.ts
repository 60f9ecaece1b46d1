// Debian's headless Chromium (/usr/bin/chromium) driven by playwright-core (never Playwright's own
// browser download), showing one page served by a tiny http server on 127.0.0.1.
//
// Network: Chromium reaches nothing but 127.0.0.1 (no background networking, no component
// updates, QUIC off unless forced for a test's own origin, and a host resolver that maps every
// name to nothing). It runs with a fresh user data dir; close() shuts it down and then kills by
// PID any process still using that dir, even when a test failed.
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';

import { next, within } from '../js/helpers';
import { killPid, skipReason } from './peer-process';

export const CHROMIUM = '/usr/bin/chromium';
/** Why the Chromium suites skip (null: they run; under CI=true a missing browser fails instead). */
export const chromiumSkip = skipReason(fs.existsSync(CHROMIUM) ? null : `${CHROMIUM} is absent (apt-get install chromium)`);

/** Functions both pages' scripts use: exact ArrayBuffer comparison and the byte pattern of peer-process.ts. */
export const PAGE_HELPERS = String.raw`function bytesEqual(a, b) {
  if (!(a instanceof ArrayBuffer) || a.byteLength !== b.byteLength) return false;
  const x = new Uint8Array(a), y = new Uint8Array(b);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}
function pattern(n) { const b = new Uint8Array(n); for (let i = 0; i < n; i++) b[i] = (i * 7 + 3) & 255; return b.buffer; }`;

export interface BrowserPage {
  page: import('playwright-core').Page;
  /** Uncaught errors of the page. */
  pageErrors: string[];
  /** page.evaluate, bounded, with page errors rethrown without their page-URL stack (vitest would read it as a file). */
  evaluate<T>(expression: string, ms: number): Promise<T>;
  close(): Promise<void>;
}

/** Processes whose command line mentions `marker` (our own browser, identified by its unique profile / user data dir). */
export function pidsUsing(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (fs.readFileSync(`/proc/${entry}/cmdline`, 'latin1').includes(marker)) pids.push(Number(entry));
    } catch {
      /* exited meanwhile */
    }
  }
  return pids;
}

export interface BrowserOptions {
  /** Extra Chromium flags after the usual ones (e.g. --ignore-certificate-errors for the wss:// suite). */
  args?: string[];
  /** Extra routes of the page server (same origin as the page): return true when the request was answered. */
  routes?: (req: http.IncomingMessage, res: http.ServerResponse) => boolean;
  /** QUIC for these origins only ("127.0.0.1:PORT"; forced, no Alt-Svc needed); every other origin keeps QUIC off. */
  quicOrigins?: string[];
}

/** Serves `html` at http://127.0.0.1:<port>/ and opens it in a fresh headless Chromium. */
export async function openBrowserPage(html: string, options: BrowserOptions = {}): Promise<BrowserPage> {
  const pageServer = http.createServer((req, res) => {
    if (options.routes?.(req, res)) return;
    const ok = req.url === '/' || req.url?.startsWith('/?');
    res.writeHead(ok ? 200 : 404, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(ok ? html : '');
  });
  pageServer.listen(0, '127.0.0.1');
  await next(pageServer, 'listening');
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockudo-ws-chromium-'));
  let context: import('playwright-core').BrowserContext | undefined;
  const close = async () => {
    if (context) await within(context.close(), 10_000, 'closing Chromium').catch(() => {});
    for (const pid of pidsUsing(userDataDir)) killPid(pid);
    fs.rmSync(userDataDir, { recursive: true, force: true });
    pageServer.closeAllConnections();
    pageServer.close();
  };
  try {
    const { chromium } = await import('playwright-core');
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      timeout: 30_000,
      args: [
        '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
        '--disable-sync', '--no-first-run', '--no-default-browser-check', '--disable-extensions',
        ...(options.quicOrigins?.length ? ['--enable-quic', `--origin-to-force-quic-on=${options.quicOrigins.join(',')}`] : ['--disable-quic']),
        '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
        ...(options.args ?? []),
      ],
    });
    const page = context.pages()[0] ?? await context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    await page.goto(`http://127.0.0.1:${(pageServer.address() as { port: number }).port}/`, { timeout: 15_000 });
    const evaluate = async <T>(expression: string, ms: number): Promise<T> => {
      try {
        return await within(page.evaluate(expression) as Promise<T>, ms, expression);
      } catch (e) {
        const error = new Error(`in the page: ${(e as Error).message.split('\n')[0]}`);
        error.stack = error.message;
        throw error;
      }
    };
    return { page, pageErrors, evaluate, close };
  } catch (error) {
    await close();
    throw error;
  }
}
