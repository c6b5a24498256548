// A released statistic's plot as SVG: the Vega-Lite specification of ./plot-spec.ts compiled to Vega
// and rendered by Vega's own scenegraph (no DOM, no hand-drawn paths). `mosaik stats --plot` writes
// it (src/cli/stats-plot.ts); the web app offers the same file for download. Browser-safe. Only
// released numbers are plotted; reveals nothing further.
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { plotSpec } from './plot-spec.js';
import type { StatResult } from './shapes.js';

/** The SVG of a Vega-Lite specification. */
export function specSvg(spec: TopLevelSpec): Promise<string> {
  return new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' }).toSVG();
}

export async function plotSvg(r: StatResult): Promise<string> {
  const spec = plotSpec(r);
  if (!spec) throw new Error(`${r.fn} has nothing to plot (plots: survfit, glm, coxph, lm, oddsratio, hist)`);
  return specSvg(spec);
}
