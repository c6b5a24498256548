// `mosaik stats --plot out.svg`: a released statistic drawn as SVG with Vega-Lite (the spec from
// src/stats/plot-spec.ts, rendered by src/stats/plot-svg.ts, the code the web app uses too). Only
// released numbers are plotted.
import { writeFileSync } from 'node:fs';
import { plotSvg } from '../stats/plot-svg.js';
import type { StatResult } from '../stats/shapes.js';

export async function writePlot(r: StatResult, file: string): Promise<void> {
  writeFileSync(file, await plotSvg(r));
}
