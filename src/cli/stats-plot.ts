// SVG plots of released statistics, drawn with Vega-Lite (compiled to Vega, rendered headless to
// SVG by Vega's own scenegraph; no hand-drawn paths): Kaplan–Meier curves with their 95 % bands
// (survfit), forest plots of odds, rate or hazard ratios with 95 % CIs (glm, coxph, oddsratio) and
// histograms (hist). Only released numbers are plotted.
import { writeFileSync } from 'node:fs';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { StatResult } from '../stats/functions.js';

export async function plotSvg(r: StatResult): Promise<string> {
  const spec = specOf(r);
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  return view.toSVG();
}

export async function writePlot(r: StatResult, file: string): Promise<void> {
  writeFileSync(file, await plotSvg(r));
}

function specOf(r: StatResult): TopLevelSpec {
  const s = r.series ?? {};
  const base = { $schema: 'https://vega.github.io/schema/vega-lite/v5.json', width: 520, height: 320, title: r.call } as const;
  if (r.fn === 'survfit') {
    const curves = (s.curves ?? []) as { label: string; points: { time: number; surv: number; lower: number; upper: number }[] }[];
    const values = curves.flatMap((c) => [{ group: c.label, time: 0, surv: 1, lower: 1, upper: 1 }, ...c.points.map((p) => ({ group: c.label, ...p }))]);
    return {
      ...base,
      data: { values },
      encoding: { x: { field: 'time', type: 'quantitative', title: 'time' }, color: { field: 'group', type: 'nominal', title: null } },
      layer: [
        { mark: { type: 'area', interpolate: 'step-after', opacity: 0.2 }, encoding: { y: { field: 'lower', type: 'quantitative', title: 'survival probability', scale: { zero: false } }, y2: { field: 'upper' } } },
        { mark: { type: 'line', interpolate: 'step-after' }, encoding: { y: { field: 'surv', type: 'quantitative' } } },
      ],
    } as TopLevelSpec;
  }
  if (r.fn === 'hist') {
    const breaks = (s.breaks ?? []) as number[];
    const counts = (s.counts ?? []) as number[];
    const values = counts.map((c, i) => ({ from: breaks[i], to: breaks[i + 1], count: Number.isNaN(c) ? null : c }));
    return {
      ...base,
      data: { values },
      mark: 'bar',
      encoding: { x: { field: 'from', type: 'quantitative', bin: { binned: true }, title: r.call.replace(/^hist\(~\s*/, '').replace(/\)$/, '') }, x2: { field: 'to' }, y: { field: 'count', type: 'quantitative' } },
    } as TopLevelSpec;
  }
  // Forest plot: ratios (exp of coefficients, or odds/risk ratios) with their 95 % CIs.
  let rows: { name: string; est: number; lo: number; hi: number }[];
  if (r.fn === 'oddsratio') rows = ((s.rows ?? []) as { label: string; or: number; lo: number; hi: number }[]).map((x) => ({ name: x.label, est: x.or, lo: x.lo, hi: x.hi }));
  else {
    const coefs = (s.coefficients ?? []) as { name: string; estimate: number; lower?: number; upper?: number; se?: number }[];
    rows = coefs.filter((c) => c.name !== '(Intercept)' && Number.isFinite(c.estimate)).map((c) => {
      const lo = c.lower ?? c.estimate - 1.96 * (c.se ?? 0), hi = c.upper ?? c.estimate + 1.96 * (c.se ?? 0);
      return r.fn === 'lm' ? { name: c.name, est: c.estimate, lo, hi } : { name: c.name, est: Math.exp(c.estimate), lo: Math.exp(lo), hi: Math.exp(hi) };
    });
  }
  const ratio = r.fn !== 'lm';
  const title = r.fn === 'coxph' ? 'hazard ratio (95 % CI)' : r.fn === 'oddsratio' ? 'odds ratio (95 % CI)' : r.fn === 'lm' ? 'coefficient (95 % CI)' : 'exp(coefficient) (95 % CI)';
  return {
    ...base,
    height: Math.max(120, 28 * rows.length),
    data: { values: rows },
    encoding: { y: { field: 'name', type: 'nominal', sort: null, title: null } },
    layer: [
      { mark: 'rule', encoding: { x: { field: 'lo', type: 'quantitative', title, scale: ratio ? { type: 'log' } : {} }, x2: { field: 'hi' } } },
      { mark: { type: 'point', filled: true, size: 60 }, encoding: { x: { field: 'est', type: 'quantitative' } } },
      { mark: { type: 'rule', strokeDash: [4, 4] }, data: { values: [{ ref: ratio ? 1 : 0 }] }, encoding: { x: { field: 'ref', type: 'quantitative' }, y: {} } },
    ],
  } as TopLevelSpec;
}
