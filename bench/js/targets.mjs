// The project's performance targets, checked against a run and reported (never asserted in a
// test): each row says what was measured and whether the target is met, or why it could not be
// judged (uWebSockets.js not in the run).
import { displayName, formatValue, ratio, stat } from './stats.mjs';

// `impl` is the contender judged (default: the native listener with the default API); `vs` a
// ratio of medians against another contender, `atMost` an absolute bound on a metric.
const TARGETS = [
  { scenario: 'echo', vs: 'uws', min: 1.25, text: 'echo ≥ 1.25× uWebSockets.js' },
  { scenario: 'echo', impl: 'sockudo-buf', vs: 'uws', min: 1.25, text: 'echo ≥ 1.25× uWebSockets.js, with textAsBuffer' },
  { scenario: 'echo', vs: 'ws', min: 2, text: 'echo ≥ 2× ws' },
  { scenario: 'pipelined', vs: 'ws', max: 0.5, text: 'pipelined total ≤ 0.5× ws' },
  { scenario: 'broadcast', vs: 'uws', min: 1.2, text: 'broadcast ≥ 1.2× uWebSockets.js' },
  { scenario: 'connections', metric: 'rss_per_connection_bytes', atMost: 2500, text: 'idle connection ≤ 2.5 KB RSS (native listener)' },
  { scenario: 'connections', impl: 'sockudo-http', metric: 'rss_per_connection_bytes', atMost: 4000, text: 'idle connection ≤ 4 KB RSS (handleUpgrade)' },
  { scenario: 'connections', impl: 'sockudo-http', vs: 'sockudo', metric: 'handshakes_per_sec', min: 0.7, text: 'handleUpgrade handshakes ≥ 0.7× the native listener' },
];

/** Rows {target, case, measured, verdict}; a target whose contender is not in the run is left out. */
export function checkTargets(results) {
  const rows = [];
  for (const t of TARGETS) {
    const result = results.find((r) => r.name === t.scenario);
    if (!result) continue;
    const impl = t.impl ?? 'sockudo';
    const metric = t.metric ? result.metrics.find((m) => m.key === t.metric) : result.metrics[0];
    for (const kase of result.cases) {
      if (!kase.runs[impl]?.length) continue;
      let verdict;
      let measured = '–';
      if (t.atMost !== undefined) {
        const x = stat(kase.runs[impl], metric);
        if (x === null) verdict = 'no result';
        else {
          measured = formatValue(x.median, metric.unit);
          verdict = x.median <= t.atMost ? '✅ met' : '❌ not met';
        }
      } else {
        const r = ratio(kase, metric, impl, t.vs);
        if (r === null) verdict = kase.runs[t.vs]?.length ? 'no result' : `not judged (${displayName(t.vs)} not in this run)`;
        else {
          measured = `${r.toFixed(2)}×`;
          verdict = (t.min !== undefined ? r >= t.min : r <= t.max) ? '✅ met' : '❌ not met';
        }
      }
      rows.push({ target: t.text, case: kase.title, measured, verdict });
    }
  }
  return rows;
}

export function targetsMarkdown(rows) {
  if (rows.length === 0) return '';
  return ['## Targets (sockudo-ws; the native listener unless a target names another mode)', '', '| target | case | measured | verdict |', '|---|---|---|---|',
    ...rows.map((r) => `| ${r.target} | ${r.case} | ${r.measured} | ${r.verdict} |`), ''].join('\n');
}
