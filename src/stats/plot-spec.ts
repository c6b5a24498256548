// Vega-Lite specifications of a released statistic (src/stats/shapes.ts): Kaplan–Meier curves
// with their 95 % bands (survfit), forest plots of odds, rate or hazard ratios (glm, coxph,
// oddsratio) or of coefficients (lm) with 95 % CIs, and histograms (hist). Browser-safe (types
// from vega-lite only): the CLI renders them to SVG with Vega (src/cli/stats-plot.ts), a web page
// can hand them to vega-embed. Only released numbers are plotted; reveals nothing further.
import type { TopLevelSpec } from 'vega-lite';
import type { StatResult } from './shapes.js';

/** The spec for a result, or null when it has nothing to plot. */
export function plotSpec(r: StatResult): TopLevelSpec | null {
  const s = r.series ?? {};
  const base = { $schema: 'https://vega.github.io/schema/vega-lite/v5.json', width: 520, height: 320, title: r.call } as const;
  if (s.curves) {
    // Step curves from (0, 1); the band is the log-transformed 95 % CI (survfit's default).
    const values = s.curves.flatMap((c) => [{ group: c.label, time: 0, surv: 1, lower: 1, upper: 1, nRisk: c.points[0]?.nRisk ?? null }, ...c.points.map((p) => ({ group: c.label, ...p }))]);
    return {
      ...base,
      data: { values },
      encoding: { x: { field: 'time', type: 'quantitative', title: 'time' }, color: { field: 'group', type: 'nominal', title: null } },
      layer: [
        { mark: { type: 'area', interpolate: 'step-after', opacity: 0.2 }, encoding: { y: { field: 'lower', type: 'quantitative', title: 'survival probability', scale: { zero: false } }, y2: { field: 'upper' } } },
        { mark: { type: 'line', interpolate: 'step-after' }, encoding: { y: { field: 'surv', type: 'quantitative' }, tooltip: [{ field: 'group' }, { field: 'time' }, { field: 'surv', format: '.4f' }, { field: 'nRisk', title: 'at risk' }] } },
      ],
    } as TopLevelSpec;
  }
  if (s.histogram) {
    const { breaks, counts } = s.histogram;
    const values = counts.map((c, i) => ({ from: breaks[i], to: breaks[i + 1], count: c }));
    return {
      ...base,
      data: { values },
      mark: 'bar',
      encoding: { x: { field: 'from', type: 'quantitative', bin: { binned: true }, title: r.call.replace(/^hist\(~\s*/, '').replace(/\)$/, '') }, x2: { field: 'to' }, y: { field: 'count', type: 'quantitative' } },
    } as TopLevelSpec;
  }
  if (s.ratios && s.ratios.rows.length) {
    const { measure, log, rows } = s.ratios;
    return {
      ...base,
      height: Math.max(120, 28 * rows.length),
      data: { values: rows },
      encoding: { y: { field: 'label', type: 'nominal', sort: null, title: null } },
      layer: [
        { mark: 'rule', encoding: { x: { field: 'lower', type: 'quantitative', title: `${measure} (95 % CI)`, scale: log ? { type: 'log' } : {} }, x2: { field: 'upper' } } },
        { mark: { type: 'point', filled: true, size: 60 }, encoding: { x: { field: 'ratio', type: 'quantitative' } } },
        { mark: { type: 'rule', strokeDash: [4, 4] }, data: { values: [{ ref: log ? 1 : 0 }] }, encoding: { x: { field: 'ref', type: 'quantitative' }, y: {} } },
      ],
    } as TopLevelSpec;
  }
  return null;
}
