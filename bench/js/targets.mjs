// The project's performance targets, checked against a run and reported (never asserted in a
// test): each row says what was measured and whether the target is met, or why it could not be
// judged (uWebSockets.js not in the run).
import { displayName, ratio } from './stats.mjs';

const TARGETS = [
  { scenario: 'echo', vs: 'uws', min: 1.25, text: 'echo ≥ 1.25× uWebSockets.js' },
  { scenario: 'echo', vs: 'ws', min: 2, text: 'echo ≥ 2× ws' },
  { scenario: 'pipelined', vs: 'ws', max: 0.5, text: 'pipelined total ≤ 0.5× ws' },
  { scenario: 'broadcast', vs: 'uws', min: 1.2, text: 'broadcast ≥ 1.2× uWebSockets.js' },
  { scenario: 'connections', vs: 'uws', max: 1, text: 'memory per idle connection ≤ uWebSockets.js' },
];

/** Rows {target, case, measured, verdict} for sockudo-ws's native listener (`sockudo`). */
export function checkTargets(results) {
  const rows = [];
  for (const t of TARGETS) {
    const result = results.find((r) => r.name === t.scenario);
    if (!result) continue;
    for (const kase of result.cases) {
      const r = ratio(kase, result.metrics[0], 'sockudo', t.vs);
      let verdict;
      if (r === null) verdict = kase.runs[t.vs]?.length ? 'no result' : `not judged (${displayName(t.vs)} not in this run)`;
      else verdict = (t.min !== undefined ? r >= t.min : r <= t.max) ? '✅ met' : '❌ not met';
      rows.push({ target: t.text, case: kase.title, measured: r === null ? '–' : `${r.toFixed(2)}×`, verdict });
    }
  }
  return rows;
}

export function targetsMarkdown(rows) {
  if (rows.length === 0) return '';
  return ['## Targets (sockudo-ws native listener)', '', '| target | case | measured | verdict |', '|---|---|---|---|',
    ...rows.map((r) => `| ${r.target} | ${r.case} | ${r.measured} | ${r.verdict} |`), ''].join('\n');
}
