// The benchmark suite (bench/run.mjs): its reports from known numbers, and one short real run
// against our server and ws that must produce JSON, Markdown and SVG per scenario. No speed is
// asserted here — targets are reported by the suite, never tested.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = path.join(__dirname, '..', '..');
type Run = Record<string, number>;
interface Case { id: string; title: string; runs: Record<string, Run[]>; errors?: Record<string, string[]>; baselines?: string[] }
interface Result { name: string; title: string; about?: string; metrics: { key: string; label: string; unit: string; better: string }[]; cases: Case[] }

const load = async <T>(file: string): Promise<T> => (await import(path.join(root, 'bench', 'js', file))) as T;
const md = await load<{ scenarioMarkdown(r: Result, m: object): string }>('report-md.mjs');
const svg = await load<{ scenarioSvg(r: Result, m: object): string }>('report-svg.mjs');
const targets = await load<{ checkTargets(r: Result[]): { target: string; case: string; measured: string; verdict: string }[] }>('targets.mjs');

const meta = { rounds: 3, cpu: 'Test CPU', pinning: 'pinned', command: 'npm run bench', date: '2026-01-01 00:00 UTC' };
const rate = (...xs: number[]) => xs.map((x) => ({ rate: x, rtt_p50_us: 100 }));
const echo = (uws = true): Result => ({
  name: 'echo', title: 'Echo throughput',
  metrics: [{ key: 'rate', label: 'messages/s', unit: 'msg/s', better: 'higher' }, { key: 'rtt_p50_us', label: 'RTT p50', unit: 'µs', better: 'lower' }],
  cases: [{
    id: 'e', title: '100 conns × 13 B',
    runs: { sockudo: rate(300, 100, 200), ws: rate(100, 90, 110), ...(uws ? { uws: rate(150, 160, 140) } : {}), 'ws-nobuf': [] },
    errors: { 'ws-nobuf': ['load generator exited 3: stalled'] },
  }],
});

describe('bench reports from known numbers', () => {
  it('Markdown: medians, min–max, ratios against ws and uWS, failed runs listed', () => {
    const text = md.scenarioMarkdown(echo(), meta);
    expect(text).toContain('| 100 conns × 13 B | sockudo-ws | **200** (100–300) | 2.00× | 1.33× | 100 |');
    expect(text).toContain('| 100 conns × 13 B | ws + bufferutil | **100** (90–110) | 1.00× | 0.67× |');
    expect(text).toContain('ws (no bufferutil) ⚠ 1 failed run | failed');
    expect(text).toContain('- 100 conns × 13 B, ws (no bufferutil): load generator exited 3: stalled');
    expect(text).toContain('messages/s: higher is better');
  });

  it('SVG: one bar per contender with a result, scaled to the largest maximum, failures labelled', () => {
    const text = svg.scenarioSvg(echo(), meta);
    expect(text.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(text.trimEnd().endsWith('</svg>')).toBe(true);
    const widths = [...text.matchAll(/<rect x="210" y="\d+" width="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(widths).toEqual([470 * 200 / 300, 470 * 100 / 300, 470 * 150 / 300].map((w) => Number(w.toFixed(1))));
    expect(text).toContain('>failed</text>');
    expect(text).not.toMatch(/NaN|undefined/);
    expect(text).toContain('higher is better');
  });

  it('targets: met, not met, and not judged without uWebSockets.js', () => {
    const rows = targets.checkTargets([echo()]);
    expect(rows).toEqual([
      { target: 'echo ≥ 1.25× uWebSockets.js', case: '100 conns × 13 B', measured: '1.33×', verdict: '✅ met' },
      { target: 'echo ≥ 2× ws', case: '100 conns × 13 B', measured: '2.00×', verdict: '✅ met' },
    ]);
    const withoutUws = targets.checkTargets([echo(false)]);
    expect(withoutUws[0]!.verdict).toBe('not judged (uWebSockets.js not in this run)');
    const behind = echo();
    behind.cases[0]!.runs.sockudo = rate(150, 150, 150);
    expect(targets.checkTargets([behind]).map((r) => r.verdict)).toEqual(['❌ not met', '❌ not met']);
  });

  it('targets: absolute memory bounds per mode and the handleUpgrade handshake rate against the native listener', () => {
    const idle = (rss: number, handshakes: number) => [{ rss_per_connection_bytes: rss, handshakes_per_sec: handshakes }];
    const connections: Result = {
      name: 'connections', title: 'Idle connections',
      metrics: [{ key: 'rss_per_connection_bytes', label: 'RSS per connection', unit: 'B', better: 'lower' },
        { key: 'handshakes_per_sec', label: 'handshakes/s', unit: '/s', better: 'higher' }],
      cases: [{ id: 'c', title: '10,000 idle connections', runs: { sockudo: idle(3000, 20_000), 'sockudo-http': idle(3900, 10_000) } }],
    };
    expect(targets.checkTargets([connections])).toEqual([
      { target: 'idle connection ≤ 2.5 KB RSS (native listener)', case: '10,000 idle connections', measured: '3,000 B', verdict: '❌ not met' },
      { target: 'idle connection ≤ 4 KB RSS (handleUpgrade)', case: '10,000 idle connections', measured: '3,900 B', verdict: '✅ met' },
      { target: 'handleUpgrade handshakes ≥ 0.7× the native listener', case: '10,000 idle connections', measured: '0.50×', verdict: '❌ not met' },
    ]);
  });
});

describe('npm run bench (a short real run)', () => {
  const out = mkdtempSync(path.join(tmpdir(), 'sockudo-bench-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('runs pipelined, idle connections and the JS kernels for ours and ws; writes JSON, Markdown and SVG per scenario', () => {
    const r = spawnSync(process.execPath, [path.join(root, 'bench', 'run.mjs'), '--quick', '--rounds', '1', '--only', 'pipelined,connections,kernels',
      '--impls', 'sockudo,ws', '--out', out], { cwd: root, encoding: 'utf8', timeout: 240_000, env: { ...process.env, UWS_PATH: '' } });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/\d+\/4 pipelined 100,000 × 13 B · round 1\/1 · sockudo-ws: [\d,]+ ms/);  // progress lines
    for (const name of ['pipelined', 'connections', 'kernels-js']) {
      for (const ext of ['json', 'md', 'svg']) expect(existsSync(path.join(out, `${name}.${ext}`)), `${name}.${ext}`).toBe(true);
    }
    const pipelined = JSON.parse(readFileSync(path.join(out, 'pipelined.json'), 'utf8'));
    for (const impl of ['sockudo', 'ws']) {
      const [run] = pipelined.cases[0].runs[impl];
      expect(run.ok).toBe(true);
      expect(run.count).toBe(100000);
      expect(run.total_ms).toBeCloseTo(run.send_ms + run.echo_ms + run.recv_ms, 0);
    }
    const connections = JSON.parse(readFileSync(path.join(out, 'connections.json'), 'utf8'));
    const [idle] = connections.cases[0].runs.sockudo;
    expect(idle.opened).toBe(2000);
    expect(idle.rss_per_connection_bytes).toBeGreaterThan(0);
    expect(Number.isFinite(idle.heap_per_connection_bytes)).toBe(true);
    const kernels = JSON.parse(readFileSync(path.join(out, 'kernels-js.json'), 'utf8'));
    expect(Object.keys(kernels.cases[0].runs)).toEqual(['sockudo', 'bufferutil', 'js loop']);
    const summary = readFileSync(path.join(out, 'README.md'), 'utf8');
    expect(summary).toContain('uWebSockets.js not measured');
    expect(summary).toContain('| pipelined total ≤ 0.5× ws | 100,000 × 13 B |');
    // The memory bound is absolute (judged without uWebSockets.js); the handleUpgrade rows need sockudo-http.
    expect(summary).toMatch(/\| idle connection ≤ 2\.5 KB RSS \(native listener\) \| 2,000 idle connections \| [\d,]+ B \| (✅ met|❌ not met) \|/);
    expect(summary).not.toContain('handleUpgrade handshakes');
  }, 300_000);

  it('refuses uWebSockets.js without UWS_PATH, before measuring anything', () => {
    const r = spawnSync(process.execPath, [path.join(root, 'bench', 'run.mjs'), '--impls', 'uws', '--out', out], { cwd: root, encoding: 'utf8', timeout: 30_000, env: { ...process.env, UWS_PATH: '' } });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('--impls uws needs UWS_PATH');
  });
});

describe('bench/js/bomb.mjs (decompression bombs beside a good client)', () => {
  it('one short round against ours and ws: a table with quiet and attacked latency and a bomb count per server', () => {
    const r = spawnSync(process.execPath, [path.join(root, 'bench', 'js', 'bomb.mjs'), '--rounds', '1', '--seconds', '1', '--rate', '500'],
      { cwd: root, encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    const rows = r.stdout.split('\n').filter((l) => /^\| (sockudo-dedicated|ws) \|/.test(l));
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      const cells = row.split('|').map((c) => c.trim());
      expect(cells[2]).toMatch(/^\d+(\.\d+)? \/ \d+(\.\d+)?$/);  // quiet p50 / p99
      expect(Number(cells[6])).toBeGreaterThan(0);  // the peers got bombs through
    }
  }, 150_000);
});

describe('bench/js/tls.mjs (wss:// vs ws over https)', () => {
  it('one quick round: echo rates for ours and ws over https, handshakes (resumed ones reused) and idle RSS', () => {
    const r = spawnSync(process.execPath, [path.join(root, 'bench', 'js', 'tls.mjs'), '--quick', '--idle', '100', '--impls', 'sockudo-tls,ws-https'],
      { cwd: root, encoding: 'utf8', timeout: 150_000 });
    expect(r.status, r.stderr).toBe(0);
    const echo = r.stdout.split('\n').find((l) => l.startsWith('| 100 conns × 512 B |'));
    expect(echo).toBeDefined();
    const cells = echo!.split('|').map((c) => c.trim());
    expect(Number(cells[2]!.split(' ')[0]!.replace(/,/g, ''))).toBeGreaterThan(0);  // sockudo-tls msg/s
    expect(cells[4]).toMatch(/^\d+\.\d\d×$/);  // the ratio to ws over https
    const ours = r.stdout.split('\n').find((l) => l.startsWith('| sockudo-tls |'));
    expect(ours).toMatch(/\b99 reused\b/);  // every connection after the first resumed
    expect(r.stdout).toMatch(/\| sockudo \(plain ws:\/\/\) \| [\d,]+ /);
  }, 180_000);
});

describe('bench/js/http2.mjs (WebSocket over HTTP/2)', () => {
  it('one quick round: echo over HTTP/2 streams and over HTTP/1.1 (ours, ws) with the native load generator, and idle memory per WebSocket', () => {
    const r = spawnSync(process.execPath, [path.join(root, 'bench', 'js', 'http2.mjs'), '--quick'], { cwd: root, encoding: 'utf8', timeout: 150_000 });
    expect(r.status, r.stderr).toBe(0);
    const echo = r.stdout.split('\n').find((l) => l.startsWith('| 100 × 512 B |'));
    expect(echo, r.stdout).toBeDefined();
    const cells = echo!.split('|').map((c) => c.trim());
    for (const i of [2, 3, 4]) expect(Number(cells[i]!.split(' ')[0]!.replace(/,/g, ''))).toBeGreaterThan(0);
    expect(cells[5]).toMatch(/^\d+\.\d\d×$/);
    expect(r.stdout).toMatch(/\| ours, HTTP\/2 streams \(100 per connection\) \| [\d,]+ B/);
  }, 180_000);

  it('--http3 --quick: echo over HTTP/3, HTTP/2 and HTTP/1.1 over TLS and ws over https, handshakes per connection and per stream, idle memory', () => {
    const r = spawnSync(process.execPath, [path.join(root, 'bench', 'js', 'http2.mjs'), '--http3', '--quick'], { cwd: root, encoding: 'utf8', timeout: 240_000 });
    expect(r.status, r.stderr).toBe(0);
    const echo = r.stdout.split('\n').find((l) => l.startsWith('| 100 × 512 B |'));
    expect(echo, r.stdout).toBeDefined();
    const cells = echo!.split('|').map((c) => c.trim());
    for (const i of [2, 3, 4, 5]) expect(Number(cells[i]!.split(' ')[0]!.replace(/,/g, '')), r.stdout).toBeGreaterThan(0);
    expect(cells[6]).toMatch(/^\d+\.\d\d×$/);
    expect(r.stdout).toMatch(/\| ours, HTTP\/3 streams over QUIC \| [\d,]+ \([\d,–]+\) \| [\d,]+ /);
    expect(r.stdout).toMatch(/\| ours, HTTP\/3 streams over QUIC \(100 per connection\) \| [\d,]+ B/);
  }, 300_000);
});
