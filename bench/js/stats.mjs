// Statistics over a case's runs, shared by the Markdown and SVG reports and the targets check.
// A scenario result is {name, title, about, metrics, impls, cases: [{id, title, baselines?,
// runs: {impl: [result…]}, errors: {impl: [message…]}}]}; a metric reads result[key].
import { median } from './bench-common.mjs';

/** {median, min, max, n} of one metric over one contender's runs, or null without a value. */
export function stat(runs, metric) {
  const xs = (runs ?? []).map((r) => r[metric.key]).filter((x) => typeof x === 'number' && Number.isFinite(x));
  if (xs.length === 0) return null;
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs), n: xs.length };
}

/** median(a) / median(b) of the case's primary metric, or null when either is missing. */
export function ratio(kase, metric, a, b) {
  const x = stat(kase.runs[a], metric);
  const y = stat(kase.runs[b], metric);
  return x && y && y.median !== 0 ? x.median / y.median : null;
}

/** The contenders to compare against in a case: its own baselines, else ws and uWebSockets.js. */
export function baselines(result, kase) {
  return (kase.baselines ?? result.baselines ?? ['ws', 'uws']).filter((b) => kase.runs[b]?.length);
}

const DISPLAY = {
  sockudo: 'sockudo-ws', 'sockudo-buf': 'sockudo-ws (textAsBuffer)', 'sockudo-http': 'sockudo-ws (handleUpgrade)', 'sockudo-loop': 'sockudo-ws (send loop)', 'sockudo-uring': 'sockudo-ws (io_uring)',
  ws: 'ws + bufferutil', 'ws-nobuf': 'ws (no bufferutil)', uws: 'uWebSockets.js',
};
export const displayName = (impl) => DISPLAY[impl] ?? impl;

/** Human formatting by unit: thousands separators, bytes as B/KiB, small numbers with decimals. */
export function formatValue(x, unit) {
  if (x === null || x === undefined || !Number.isFinite(x)) return '–';
  if (unit === 'B') return Math.abs(x) >= 10 * 1024 ? `${(x / 1024).toFixed(1)} KiB` : `${Math.round(x).toLocaleString('en-US')} B`;
  if (unit === 'GB/s') return x.toFixed(2);
  if (unit === '%') return `${Math.round(x)} %`;
  if (unit === 'ms') return x < 100 ? x.toFixed(1) : Math.round(x).toLocaleString('en-US');
  return Math.round(x).toLocaleString('en-US');
}
