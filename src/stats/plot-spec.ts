// Vega-Lite specifications of a released statistic (src/stats/shapes.ts): Kaplan–Meier curves
// with their 95 % bands and the numbers at risk under them (survfit), forest plots of odds, rate
// or hazard ratios (glm, coxph, oddsratio) or of coefficients (lm) with 95 % CIs, and histograms
// (hist). Browser-safe (types from vega-lite only): ./plot-svg.ts renders them to SVG with Vega
// for the CLI and the web app, which also draws them on its page. Only released numbers are
// plotted; reveals nothing further.
import type { TopLevelSpec } from 'vega-lite';
import type { StatResult, SurvivalCurve } from './shapes.js';

/** The spec for a result, or null when it has nothing to plot. */
export function plotSpec(r: StatResult): TopLevelSpec | null {
  const s = r.series ?? {};
  const base = { $schema: 'https://vega.github.io/schema/vega-lite/v5.json', width: 520, height: 320, title: r.call } as const;
  if (s.curves) {
    // Step curves from (0, 1); the band is the log-transformed 95 % CI (survfit's default). Under
    // them, as R users know from survminer, the numbers at risk at round times on the same axis.
    const values = s.curves.flatMap((c) => [{ group: c.label, time: 0, surv: 1, lower: 1, upper: 1, nRisk: c.points[0]?.nRisk ?? null }, ...c.points.map((p) => ({ group: c.label, ...p }))]);
    const times = riskTimes(s.curves);
    const risk = s.curves.flatMap((c) => times.map((t) => ({ group: c.label, time: t, nRisk: atRisk(c, t) }))).filter((d) => d.nRisk !== null);
    const x = { field: 'time', type: 'quantitative', title: 'time', axis: { values: times }, scale: { padding: 16, nice: false } } as const;
    const color = { field: 'group', type: 'nominal', title: null } as const;
    return {
      $schema: base.$schema,
      title: base.title,
      resolve: { scale: { x: 'shared' } },
      vconcat: [
        {
          width: base.width,
          height: base.height,
          data: { values },
          encoding: { x, color },
          layer: [
            { mark: { type: 'area', interpolate: 'step-after', opacity: 0.2 }, encoding: { y: { field: 'lower', type: 'quantitative', title: 'survival probability', scale: { zero: false } }, y2: { field: 'upper' } } },
            { mark: { type: 'line', interpolate: 'step-after' }, encoding: { y: { field: 'surv', type: 'quantitative' }, tooltip: [{ field: 'group' }, { field: 'time' }, { field: 'surv', format: '.4f' }, { field: 'nRisk', title: 'at risk' }] } },
          ],
        },
        {
          width: base.width,
          height: 18 * s.curves.length + 8,
          title: { text: 'Number at risk', fontSize: 11, anchor: 'start' },
          data: { values: risk },
          view: { stroke: null },
          mark: { type: 'text', fontSize: 11 },
          encoding: { x: { ...x, axis: null }, y: { field: 'group', type: 'nominal', title: null, sort: null, axis: { domain: false, ticks: false } }, text: { field: 'nRisk', type: 'quantitative' }, color },
        },
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

/** About five round times from 0 to the last time of the curves, for the numbers at risk. */
export function riskTimes(curves: SurvivalCurve[]): number[] {
  const last = Math.max(0, ...curves.flatMap((c) => c.points.map((p) => p.time)));
  if (last <= 0) return [0];
  const raw = last / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  return Array.from({ length: Math.floor(last / step) + 1 }, (_, i) => i * step);
}

/**
 * The number at risk at time t: at the curve's first step at or after t (a step at every time
 * with events; the curve ends where fewer than the smallest cell are at risk: null after it).
 */
export function atRisk(c: SurvivalCurve, t: number): number | null {
  return c.points.find((p) => p.time >= t)?.nRisk ?? null;
}
