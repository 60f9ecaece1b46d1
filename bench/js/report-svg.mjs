// An SVG bar chart for one scenario result: a panel per case, a horizontal bar per contender
// (the median of the primary metric) with a min–max whisker and the value at its end. Plain SVG
// 1.1, no scripts or external fonts, so it renders on GitHub and in any browser.
import { displayName, formatValue, stat } from './stats.mjs';

const COLORS = {
  sockudo: '#2563eb', 'sockudo-buf': '#3b82f6', 'sockudo-http': '#60a5fa', 'sockudo-loop': '#93c5fd', 'sockudo-uring': '#1e3a8a', ws: '#d97706', 'ws-nobuf': '#fbbf24', uws: '#059669',
};
const PALETTE = ['#7c3aed', '#db2777', '#0891b2', '#65a30d', '#ea580c', '#475569'];

const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);

export function scenarioSvg(result, meta) {
  const metric = result.metrics[0];
  const width = 820;
  const labelW = 210;
  const barMax = 470;
  const barH = 16;
  const gap = 5;
  const colorOf = (() => {
    const assigned = new Map();
    return (impl) => {
      if (COLORS[impl]) return COLORS[impl];
      if (!assigned.has(impl)) assigned.set(impl, PALETTE[assigned.size % PALETTE.length]);
      return assigned.get(impl);
    };
  })();
  const parts = [];
  let y = 54;
  for (const kase of result.cases) {
    const entries = Object.keys(kase.runs).map((impl) => [impl, stat(kase.runs[impl], metric)]);
    const top = Math.max(1e-12, ...entries.map(([, s]) => (s ? s.max : 0)));
    parts.push(`<text x="12" y="${y + 12}" font-weight="bold">${esc(kase.title)}</text>`);
    y += 20;
    for (const [impl, s] of entries) {
      parts.push(`<text x="${labelW - 8}" y="${y + 12}" text-anchor="end">${esc(displayName(impl))}</text>`);
      if (s) {
        const w = (s.median / top) * barMax;
        parts.push(`<rect x="${labelW}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${colorOf(impl)}"/>`);
        const x0 = labelW + (s.min / top) * barMax;
        const x1 = labelW + (s.max / top) * barMax;
        const mid = y + barH / 2;
        parts.push(`<path d="M${x0.toFixed(1)} ${mid}H${x1.toFixed(1)}M${x0.toFixed(1)} ${mid - 4}V${mid + 4}M${x1.toFixed(1)} ${mid - 4}V${mid + 4}" stroke="#111" stroke-width="1"/>`);
        parts.push(`<text x="${(Math.max(x1, labelW + w) + 6).toFixed(1)}" y="${y + 12}">${esc(formatValue(s.median, metric.unit))}</text>`);
      } else {
        parts.push(`<text x="${labelW + 4}" y="${y + 12}" fill="#b91c1c">failed</text>`);
      }
      y += barH + gap;
    }
    y += 12;
  }
  const better = metric.better === 'lower' ? 'lower is better' : 'higher is better';
  const height = y + 24;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="12" y="22" font-size="16" font-weight="bold">${esc(result.title)} — ${esc(metric.label)} (${esc(metric.unit)}, ${better})</text>`,
    `<text x="12" y="40" fill="#444">median of ${meta.rounds} rounds, whisker = min–max; ${esc(meta.cpu)}, ${esc(meta.pinning)}</text>`,
    ...parts,
    `<text x="12" y="${height - 10}" fill="#666">${esc(meta.command)} — ${esc(meta.date)}</text>`,
    '</svg>',
    '',
  ].join('\n');
}
