// Markdown for one scenario result: one row per (case, contender) with the median and min–max of
// every metric, and the primary metric's ratio against each baseline (ws, uWebSockets.js, or the
// kernel baselines). Higher-is-better and lower-is-better are said in the header.
import { baselines, displayName, formatValue, ratio, stat } from './stats.mjs';

const betterNote = { higher: 'higher is better', lower: 'lower is better', none: 'context' };

export function scenarioMarkdown(result, meta) {
  const [primary, ...others] = result.metrics;
  const out = [];
  out.push(`## ${result.title}`, '');
  if (result.about) out.push(result.about, '');
  out.push(`${meta.rounds} rounds${result.kernel ? '' : ', contenders alternating within each round'}; median (min–max). ${primary.label}: ${betterNote[primary.better]}.`, '');
  const allBase = [...new Set(result.cases.flatMap((k) => baselines(result, k)))];
  const head = ['case', 'contender', `${primary.label} (${primary.unit})`, ...allBase.map((b) => `vs ${displayName(b)}`),
    ...others.map((m) => `${m.label}${m.unit ? ` (${m.unit})` : ''}`)];
  out.push(`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`);
  for (const kase of result.cases) {
    const bases = baselines(result, kase);
    for (const impl of Object.keys(kase.runs)) {
      const s = stat(kase.runs[impl], primary);
      const errors = kase.errors?.[impl] ?? [];
      const main = s ? `**${formatValue(s.median, primary.unit)}** (${formatValue(s.min, primary.unit)}–${formatValue(s.max, primary.unit)})` : 'failed';
      const ratios = allBase.map((b) => {
        if (!bases.includes(b) || b === impl) return b === impl ? '1.00×' : '';
        const r = ratio(kase, primary, impl, b);
        return r === null ? '–' : `${r.toFixed(2)}×`;
      });
      const rest = others.map((m) => { const o = stat(kase.runs[impl], m); return o ? formatValue(o.median, m.unit) : '–'; });
      const note = errors.length ? ` ⚠ ${errors.length} failed run${errors.length > 1 ? 's' : ''}` : '';
      out.push(`| ${kase.title} | ${displayName(impl)}${note} | ${main} | ${[...ratios, ...rest].join(' | ')} |`);
    }
  }
  const failures = result.cases.flatMap((k) => Object.entries(k.errors ?? {}).flatMap(([impl, msgs]) => msgs.map((m) => `- ${k.title}, ${displayName(impl)}: ${m}`)));
  if (failures.length) out.push('', 'Failed runs:', '', ...failures);
  if (result.notes?.length) out.push('', ...result.notes.map((n) => `- ${n}`));
  out.push('', `![${result.title}](${result.name}.svg)`, '');
  return out.join('\n');
}

/** The run's header: when, where, how pinned, with what; the command that reproduces it. */
export function metaMarkdown(meta) {
  return [
    `Command: \`${meta.command}\` — ${meta.date}`,
    '',
    `CPU: ${meta.cpu} (${meta.cores} cores), Linux ${meta.kernel}; Node ${meta.node}; ${meta.pinning}.`,
    `Contenders: sockudo-ws ${meta.versions.sockudo}; ws ${meta.versions.ws} (bufferutil ${meta.versions.bufferutil}); ` +
      `${meta.versions.uws ?? 'uWebSockets.js: not measured (UWS_PATH not set)'}.`,
    '',
  ].join('\n');
}
