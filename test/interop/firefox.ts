// Debian's Firefox ESR, headless, without a WebDriver: a tiny http server on 127.0.0.1 serves one
// page that evaluates an expression and POSTs the outcome (and any uncaught page error) back to
// that server. Each run gets a fresh profile: a user.js that sends every request not for
// 127.0.0.1 to a dead proxy port on 127.0.0.1 (so nothing leaves the machine: no updates,
// telemetry, safe browsing, DoH) and, when asked, an NSS database trusting our test CA (the
// per-profile equivalent of distribution/policies.json; certutil from libnss3-tools).
// Firefox runs in a process group of its own; the group and every process naming the profile
// are killed by PID when the run ends, whatever its outcome.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';

import { next, within } from '../js/helpers';
import { pidsUsing } from './browser';
import { killPid, skipReason } from './peer-process';

export const FIREFOX = '/usr/bin/firefox-esr';
export const CERTUTIL = '/usr/bin/certutil';

/** Why the Firefox suite skips (null: it runs; under CI=true a missing browser fails instead). */
export const firefoxSkip = skipReason(
  !fs.existsSync(FIREFOX) ? `${FIREFOX} is absent (apt-get install firefox-esr)`
    : !fs.existsSync(CERTUTIL) ? `${CERTUTIL} is absent (apt-get install libnss3-tools)` : null);

/** Every request not for 127.0.0.1 goes to this closed port: Firefox reaches nothing else. */
const DEAD_PROXY_PORT = 9;

const PREFS: [string, string | number | boolean][] = [
  ['network.proxy.type', 1],
  ['network.proxy.http', '127.0.0.1'], ['network.proxy.http_port', DEAD_PROXY_PORT],
  ['network.proxy.ssl', '127.0.0.1'], ['network.proxy.ssl_port', DEAD_PROXY_PORT],
  ['network.proxy.no_proxies_on', '127.0.0.1'], ['network.proxy.allow_hijacking_localhost', false],
  ['network.trr.mode', 5], ['network.dns.disablePrefetch', true], ['network.prefetch-next', false],
  ['network.captive-portal-service.enabled', false], ['network.connectivity-service.enabled', false],
  ['app.update.auto', false], ['app.update.enabled', false], ['browser.shell.checkDefaultBrowser', false],
  ['datareporting.policy.dataSubmissionEnabled', false], ['datareporting.healthreport.uploadEnabled', false],
  ['toolkit.telemetry.enabled', false], ['browser.safebrowsing.malware.enabled', false],
  ['browser.safebrowsing.phishing.enabled', false], ['extensions.update.enabled', false],
  // RFC 8441: on by default in Firefox ESR; set so a changed default cannot silently turn the h2 case into h1.
  ['network.http.http2.websockets', true],
];

export interface FirefoxRun<T> {
  /** The expression's value, or the error it threw (its message). */
  value?: T;
  error?: string;
  /** Uncaught errors of the page. */
  pageErrors: string[];
}

export interface FirefoxOptions {
  /** PEM file of a CA for the profile to trust (our test CA); none: Firefox trusts only its own roots. */
  trustCa?: string;
  /** Upper bound for the whole run, launch included. */
  ms: number;
}

/** Our environment without the sanitizer run's preloaded ASan runtime (only our addon is instrumented, not Firefox). */
function firefoxEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, MOZ_CRASHREPORTER_DISABLE: '1' };
  for (const name of ['LD_PRELOAD', 'ASAN_OPTIONS', 'UBSAN_OPTIONS']) delete env[name];
  return env;
}

function makeProfile(trustCa: string | undefined): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockudo-ws-firefox-'));
  fs.writeFileSync(path.join(dir, 'user.js'), PREFS.map(([k, v]) => `user_pref(${JSON.stringify(k)}, ${JSON.stringify(v)});`).join('\n') + '\n');
  if (trustCa !== undefined) {
    const certutil = (args: string[]) => {
      const r = spawnSync(CERTUTIL, [...args, '-d', `sql:${dir}`], { encoding: 'utf8', timeout: 20_000 });
      if (r.status !== 0) throw new Error(`certutil ${args.join(' ')} failed: ${r.stderr}`);
    };
    certutil(['-N', '--empty-password']);
    certutil(['-A', '-n', 'sockudo-ws test CA', '-t', 'C,,', '-i', trustCa]);
  }
  return dir;
}

/**
 * Loads a page holding `script` in a fresh headless Firefox, evaluates `expression` (awaited) in
 * it and returns the outcome; Firefox is gone when this returns.
 */
export async function runInFirefox<T>(script: string, expression: string, options: FirefoxOptions): Promise<FirefoxRun<T>> {
  const pageErrors: string[] = [];
  let report: (outcome: { value?: T; error?: string }) => void = () => {};
  const outcome = new Promise<{ value?: T; error?: string }>((resolve) => { report = resolve; });
  const page = `<!doctype html>
<meta charset="utf-8">
<title>sockudo-ws firefox interop</title>
<script>
${script}
window.addEventListener('error', (e) => { fetch('/page-error', { method: 'POST', body: String(e.message) }); });
window.addEventListener('unhandledrejection', (e) => { fetch('/page-error', { method: 'POST', body: String(e.reason) }); });
(async () => {
  let out;
  try { out = { value: await (${expression}) }; } catch (e) { out = { error: String(e && e.message || e) }; }
  await fetch('/result', { method: 'POST', body: JSON.stringify(out) });
})();
</script>
`;
  const pageServer = http.createServer((req, res) => {
    if (req.method === 'POST') {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        if (req.url === '/result') report(JSON.parse(body) as { value?: T; error?: string });
        else pageErrors.push(body);
        res.end();
      });
      return;
    }
    const ok = req.url === '/';
    res.writeHead(ok ? 200 : 404, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(ok ? page : '');
  });
  pageServer.listen(0, '127.0.0.1');
  await next(pageServer, 'listening');
  const profile = makeProfile(options.trustCa);
  const url = `http://127.0.0.1:${(pageServer.address() as { port: number }).port}/`;
  // Under coreutils' timeout, which kills its whole process group when the bound passes: if this
  // test process dies before its finally block runs, the browser cannot outlive the run (a
  // headless Firefox left behind spins on its page at full CPU).
  const bound = Math.ceil(options.ms / 1000) + 30;
  const firefox = spawn('timeout', ['-s', 'KILL', String(bound), FIREFOX, '--headless', '--no-remote', '--profile', profile, url], {
    stdio: ['ignore', 'ignore', 'pipe'], detached: true, env: firefoxEnv(),
  });
  let stderr = '';
  firefox.stderr!.on('data', (d: Buffer) => { if (stderr.length < 16_384) stderr += d.toString('utf8'); });
  const exited = new Promise<string>((resolve) => firefox.once('exit', (code, signal) => resolve(`Firefox exited (${code ?? signal}) before the page reported: ${stderr.trim()}`)));
  try {
    const result = await within(Promise.race([outcome, exited.then((why) => { throw new Error(why); })]), options.ms, 'the Firefox page');
    return { ...result, pageErrors };
  } finally {
    try {
      if (firefox.pid !== undefined) process.kill(-firefox.pid, 'SIGKILL');
    } catch {
      /* the group is gone */
    }
    killPid(firefox.pid);
    for (const pid of pidsUsing(profile)) killPid(pid);
    fs.rmSync(profile, { recursive: true, force: true });
    pageServer.closeAllConnections();
    pageServer.close();
  }
}
