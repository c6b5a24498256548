// `mosaik stats --plot out.svg`: a released statistic drawn as SVG with Vega-Lite (the spec from
// src/stats/plot-spec.ts, compiled to Vega and rendered headless by Vega's own scenegraph; no
// hand-drawn paths). Only released numbers are plotted.
import { writeFileSync } from 'node:fs';
import * as vega from 'vega';
import { compile } from 'vega-lite';
import { plotSpec } from '../stats/plot-spec.js';
import type { StatResult } from '../stats/shapes.js';

export async function plotSvg(r: StatResult): Promise<string> {
  const spec = plotSpec(r);
  if (!spec) throw new Error(`${r.fn} has nothing to plot (plots: survfit, glm, coxph, lm, oddsratio, hist)`);
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  return view.toSVG();
}

export async function writePlot(r: StatResult, file: string): Promise<void> {
  writeFileSync(file, await plotSvg(r));
}
