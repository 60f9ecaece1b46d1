// wss:// benchmarks (issue 14): our native TLS listener against `ws` on Node's https, and our
// engine behind Node's https (handleUpgrade with a TLSSocket, the Duplex path), in the same run,
// servers interleaved round by round (order rotates), each its own process on core 0 and the
// native load generator (`--tls`) on core 1.
//  - echo: 100 and 1,000 connections × 512 B and 16 KiB, one message in flight per connection;
//  - handshakes: 2,000 connections opened (TCP + TLS + upgrade), full handshakes and resumed ones
//    (`--tls-resume`: every connection offers the first connection's session ticket);
//  - idle memory: server RSS growth per idle connection, TLS and (for ours) plain `ws://`.
// The certificate is an ECDSA P-256 one made here with the openssl CLI (a test certificate for
// 127.0.0.1; the load generator does not verify it). Prints a Markdown report on stdout.
//   node bench/js/tls.mjs [--rounds 3] [--seconds 3] [--idle 2000] [--quick] [--only echo,connections]
//                         [--impls sockudo-tls,sockudo-https,ws-https]
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';

import { loadgenPath, makeBenchCertificate, median, taskset } from './bench-common.mjs';
import { measure, Server } from './drive.mjs';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '3' },
    idle: { type: 'string' },
    quick: { type: 'boolean', default: false },
    impls: { type: 'string', default: 'sockudo-tls,sockudo-https,ws-https' },
    only: { type: 'string', default: 'echo,connections' },
  },
});
const only = new Set(values.only.split(','));
const quick = values.quick;
const rounds = quick ? 1 : Number(values.rounds);
const seconds = quick ? '1' : values.seconds;
const idle = Number(values.idle ?? 2000) || 2000;
const impls = values.impls.split(',');
const progress = (m) => process.stderr.write(`${m}\n`);

makeBenchCertificate('sockudo-ws-bench-tls-');  // for every server process this run starts

const loadgen = loadgenPath();
const KiB = 1024;
const echoCases = [];
for (const connections of quick ? [100] : [100, 1000]) {
  for (const size of quick ? [512] : [512, 16 * KiB]) {
    echoCases.push({ title: `${connections} conns × ${size >= KiB ? `${size / KiB} KiB` : `${size} B`}`,
      args: ['--scenario', 'echo', '--tls', '--connections', String(connections), '--size', String(size), '--seconds', seconds, '--warmup', quick ? '0.5' : '1'] });
  }
}
const connArgs = (resume) => ['--scenario', 'connections', '--connections', String(idle), '--hold', '1', ...(resume ? ['--tls', '--tls-resume'] : ['--tls'])];

/** Runs `args` against each server `rounds` times, order rotating per round; fresh: a new server process per run. */
async function runCase(names, argsFor, fresh) {
  const runs = Object.fromEntries(names.map((n) => [n, []]));
  const servers = new Map();
  try {
    for (let r = 0; r < rounds; r++) {
      const order = names.map((_, i) => names[(i + r) % names.length]);
      for (const name of order) {
        let s = servers.get(name);
        if (fresh || !s || !s.alive) {
          if (s) await s.stop();
          s = await new Server(name).start();
          servers.set(name, s);
        }
        try {
          runs[name].push(await measure(loadgen, s, argsFor(name)));
        } catch (error) {
          progress(`  ${name}: ${error.message}`);
        }
      }
    }
  } finally {
    for (const s of servers.values()) await s.stop();
  }
  return runs;
}

const med = (xs, f) => (xs.length ? median(xs.map(f)) : NaN);
const spread = (xs, f, fmt) => (xs.length ? `${fmt(Math.min(...xs.map(f)))}–${fmt(Math.max(...xs.map(f)))}` : '–');
const k = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '–');
const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}×` : '–');
const out = [];
out.push(`# wss:// benchmarks; ${cpus()[0].model.trim()}, ${cpus().length} cores, node ${process.version}`);
out.push('');
out.push(`Command: \`node bench/js/tls.mjs ${process.argv.slice(2).join(' ')}\`. ${taskset ? 'Servers on core 0, load generator on core 1 (taskset).' : 'Not pinned (taskset missing).'} ` +
  `${rounds} round(s), servers interleaved; medians with min–max. ECDSA P-256 certificate; TLS 1.3 with the load generator's default key exchange groups (X25519, P-256: no post-quantum key share, so our OpenSSL 3.5 and Node's 3.0 do the same handshake work).`);
out.push('');

// --- echo --------------------------------------------------------------------------------------
if (only.has('echo')) {
out.push('## Echo over TLS (messages/s)');
out.push('');
out.push(`| case | ${impls.join(' | ')} | sockudo-tls / ws-https |`);
out.push(`|---|${impls.map(() => '---|').join('')}---|`);
for (const c of echoCases) {
  progress(`echo ${c.title}`);
  const runs = await runCase(impls, () => c.args, false);
  const rate = (n) => med(runs[n] ?? [], (x) => x.rate);
  out.push(`| ${c.title} | ${impls.map((n) => `${k(rate(n))} (${spread(runs[n] ?? [], (x) => x.rate, k)})`).join(' | ')} | ${ratio(rate('sockudo-tls'), rate('ws-https'))} |`);
}
out.push('');
}

// --- handshakes and idle memory ---------------------------------------------------------------
if (only.has('connections')) {
out.push(`## Handshakes and idle memory (${idle.toLocaleString('en-US')} connections, ≤200 handshakes pending)`);
out.push('');
out.push('| server | handshakes/s full | handshakes/s resumed (reused) | RSS per idle connection |');
out.push('|---|---|---|---|');
const withPlain = [...impls, 'sockudo'];
progress('connections: full handshakes');
const full = await runCase(withPlain, (n) => (n === 'sockudo' ? ['--scenario', 'connections', '--connections', String(idle), '--hold', '1'] : connArgs(false)), true);
progress('connections: resumed handshakes');
const resumed = await runCase(impls, () => connArgs(true), true);
for (const n of withPlain) {
  const f = full[n] ?? [];
  const r = resumed[n] ?? [];
  const hsFull = med(f, (x) => x.handshakes_per_sec);
  const hsRes = med(r, (x) => x.handshakes_per_sec);
  const reused = med(r, (x) => x.tls_resumed ?? 0);
  out.push(`| ${n === 'sockudo' ? 'sockudo (plain ws://)' : n} | ${k(hsFull)} (${spread(f, (x) => x.handshakes_per_sec, k)}) | ` +
    `${n === 'sockudo' ? '–' : `${k(hsRes)} (${spread(r, (x) => x.handshakes_per_sec, k)}; ${k(reused)} reused)`} | ` +
    `${k(med(f, (x) => x.rss_per_connection_bytes))} B (${spread(f, (x) => x.rss_per_connection_bytes, k)}) |`);
}
const rss = (n) => med(full[n] ?? [], (x) => x.rss_per_connection_bytes);
out.push('');
out.push(`Idle TLS connection vs our plain one: ${ratio(rss('sockudo-tls'), rss('sockudo'))}; vs ws over https: ${ratio(rss('sockudo-tls'), rss('ws-https'))}.`);
}
console.log(out.join('\n'));
