#!/usr/bin/env node
// Runs the Autobahn TestSuite (`wstest`) against sockudo-ws through its public API:
//   fuzzingclient: wstest's client drives our echo server (WebSocketServer)
//   fuzzingserver: our client (connect) echoes every case served by wstest
// and prints a summary per behaviour. Needs a `wstest` on PATH (or SOCKUDO_WS_WSTEST); the suite
// cannot be installed from a registry, so this script says how to get one when it is missing.
//
//   npm run autobahn -- [--mode client|server|both] [--cases 1.*,2.*] [--exclude 12.*,13.*]
//                       [--compression dedicated|shared|disabled] [--out dir]
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const { WebSocketServer, connect } = require(join(root, 'dist', 'cjs', 'index.js'));

const { values } = parseArgs({
  options: {
    mode: { type: 'string', default: 'both' },
    cases: { type: 'string', default: '1.*,2.*,3.*,4.*,5.*,6.*,7.*,9.*,10.*,12.*,13.*' },
    exclude: { type: 'string', default: '' },
    compression: { type: 'string', default: 'dedicated' },
    out: { type: 'string', default: join(root, 'build', 'autobahn') },
  },
});
const cases = values.cases.split(',');
const exclude = values.exclude ? values.exclude.split(',') : [];
const out = resolve(values.out);
const wstest = process.env.SOCKUDO_WS_WSTEST || 'wstest';
const AGENT = 'sockudo-ws';
// Limits for the suite's large-message cases (9.x sends up to 16 MiB); everything else default.
// Sections 12-13 (permessage-deflate) need compression on both sides; every message is compressed.
const limits = { maxPayloadLength: 64 * 1024 * 1024, maxFrameSize: 64 * 1024 * 1024, autoPing: false, compression: values.compression,
  compressionThreshold: 0 };

if (spawnSync(wstest, ['--help'], { stdio: 'ignore' }).error) {
  console.error(`No \`${wstest}\` found. The Autobahn TestSuite is not on any registry this project uses, so it is not a
dependency. A Python 3 port with the same 517 cases (github: ricardo-valero/autobahn-testsuite) runs
on Debian's packages:
  apt-get install python3-twisted python3-autobahn python3-txaio python3-jinja2 \\
    python3-service-identity python3-zope.interface python3-treq
  # check the port out into <dir>, then put this wrapper on PATH as \`wstest\`:
  #!/bin/sh
  PYTHONPATH=<dir>/autobahntestsuite exec /usr/bin/python3 -c \\
    'import sys; from autobahntestsuite.wstest import run; sys.argv[0] = "wstest"; run()' "$@"
(or set SOCKUDO_WS_WSTEST to the wrapper's path). With Debian's autobahn 22.7, the report writer
needs the close reason decoded from bytes for cases 7.3.4-7.3.6.`);
  process.exit(2);
}

function runWstest(args, cwd) {
  return spawn(wstest, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
}

function summarize(indexFile, title) {
  const index = JSON.parse(readFileSync(indexFile, 'utf8'));
  const results = index[AGENT] ?? {};
  const count = {};
  const closeCount = {};
  const bad = [];
  for (const [id, r] of Object.entries(results)) {
    count[r.behavior] = (count[r.behavior] ?? 0) + 1;
    closeCount[r.behaviorClose] = (closeCount[r.behaviorClose] ?? 0) + 1;
    const ok = ['OK', 'NON-STRICT', 'INFORMATIONAL'].includes(r.behavior) && ['OK', 'INFORMATIONAL'].includes(r.behaviorClose);
    if (!ok) bad.push(`${id}: ${r.behavior} / close ${r.behaviorClose}`);
  }
  const total = Object.keys(results).length;
  console.log(`\n${title}: ${total} cases — behaviour ${JSON.stringify(count)}, close ${JSON.stringify(closeCount)}`);
  for (const line of bad.sort((a, b) => a.localeCompare(b, undefined, { numeric: true }))) console.log(`  not OK: ${line}`);
  return { total, bad: bad.length, count, closeCount };
}

async function fuzzingclient() {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', ...limits });
  wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
  await new Promise((r) => wss.once('listening', r));
  const dir = join(out, 'fuzzingclient');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'spec.json'), JSON.stringify({
    outdir: join(dir, 'reports'),
    servers: [{ agent: AGENT, url: `ws://127.0.0.1:${wss.address().port}` }],
    cases, 'exclude-cases': exclude, 'exclude-agent-cases': {},
  }, null, 2));
  const child = runWstest(['-m', 'fuzzingclient', '-s', 'spec.json'], dir);
  let log = '';
  child.stdout.on('data', (d) => (log += d));
  child.stderr.on('data', (d) => (log += d));
  const code = await new Promise((r) => child.on('exit', r));
  await wss.close();
  if (code !== 0) throw new Error(`wstest fuzzingclient exited ${code}:\n${log.slice(-4000)}`);
  return summarize(join(dir, 'reports', 'index.json'), 'fuzzingclient (wstest → our server)');
}

async function fuzzingserver() {
  const dir = join(out, 'fuzzingserver');
  mkdirSync(dir, { recursive: true });
  const port = 9001 + Math.floor(Math.random() * 1000);
  writeFileSync(join(dir, 'spec.json'), JSON.stringify({
    url: `ws://127.0.0.1:${port}`, outdir: join(dir, 'reports'), cases, 'exclude-cases': exclude, 'exclude-agent-cases': {},
  }, null, 2));
  const child = runWstest(['-m', 'fuzzingserver', '-s', 'spec.json'], dir);
  let log = '';
  child.stdout.on('data', (d) => (log += d));
  child.stderr.on('data', (d) => (log += d));
  const base = `ws://127.0.0.1:${port}`;
  // Wait for the suite to listen.
  let caseCount = 0;
  for (let attempt = 0; ; attempt++) {
    try {
      const ws = await connect(`${base}/getCaseCount`, limits);
      caseCount = await new Promise((r) => ws.once('message', (m) => r(Number(m))));
      ws.close(1000);
      break;
    } catch (error) {
      if (attempt > 100) throw new Error(`wstest fuzzingserver did not start:\n${log.slice(-4000)}`, { cause: error });
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  for (let i = 1; i <= caseCount; i++) {
    await new Promise((resolveCase) => {
      connect(`${base}/runCase?case=${i}&agent=${AGENT}`, limits).then((ws) => {
        ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
        ws.on('close', resolveCase);
        ws.on('error', () => {});
      }, resolveCase);  // a refused handshake is part of some cases
    });
  }
  // Our 'close' fires when the closing handshake completes; wstest files a case when it sees the
  // TCP connection end, a moment later. Give the last case that moment before asking for reports.
  await new Promise((r) => setTimeout(r, 1000));
  const ws = await connect(`${base}/updateReports?agent=${AGENT}`, limits);
  await new Promise((r) => ws.on('close', r));
  child.kill('SIGTERM');
  return summarize(join(dir, 'reports', 'index.json'), 'fuzzingserver (our client ← wstest)');
}

const results = [];
if (values.mode === 'client' || values.mode === 'both') results.push(await fuzzingclient());
if (values.mode === 'server' || values.mode === 'both') results.push(await fuzzingserver());
console.log(`\nreports: ${out}/*/reports/index.html (cases ${cases.join(' ')}; excluded ${exclude.join(' ') || 'none'})`);
process.exit(results.some((r) => r.bad > 0 || r.total === 0) ? 1 : 0);
