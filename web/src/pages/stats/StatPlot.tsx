// A statistic's plot on the page: the Vega-Lite specification the CLI draws (src/stats/plot-spec.ts:
// Kaplan–Meier curves with their bands and the numbers at risk, forest plots of ratios with their
// CIs, histograms), rendered by Vega to SVG at the width of the screen; the download is the CLI's
// own SVG (src/stats/plot-svg.ts). Vega loads with the first plot, not with the app.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { TopLevelSpec } from 'vega-lite';
import { plotSpec } from '../../../../src/stats/plot-spec.js';
import type { StatResult } from '../../../../src/stats/shapes.js';
import { download, Problem } from '../../ui/common.js';

/** What the plot shows, for people who cannot see it. */
export function plotLabel(r: StatResult): string {
  const s = r.series ?? {};
  if (s.curves) return `Kaplan–Meier curves with 95 % bands for ${s.curves.map((c) => c.label).join(', ')}, and the numbers at risk under them`;
  if (s.histogram) return `Histogram: ${s.histogram.counts.length} bins`;
  if (s.ratios) return `Forest plot of ${s.ratios.measure}s with 95 % confidence intervals: ${s.ratios.rows.map((x) => x.label).join(', ')}`;
  return r.call;
}

/** The spec at the width of the screen (phones: legend under the plot). */
function sized(spec: TopLevelSpec, width: number, narrow: boolean): TopLevelSpec {
  const s = spec as unknown as Record<string, unknown> & { vconcat?: Record<string, unknown>[] };
  const out = s.vconcat ? { ...s, vconcat: s.vconcat.map((v) => ({ ...v, width })) } : { ...s, width };
  return { ...out, config: { title: { limit: width + 100 }, ...(narrow ? { legend: { orient: 'bottom' } } : {}) } } as TopLevelSpec;
}

export function StatPlot({ r, name }: { r: StatResult; name: string }) {
  const host = useRef<HTMLDivElement>(null);
  const [error, setError] = useState<unknown>(null);
  const spec = plotSpec(r);
  useEffect(() => {
    const el = host.current;
    if (!spec || !el) return;
    let view: { finalize(): void } | null = null;
    let gone = false;
    void (async () => {
      const [vega, vl] = await Promise.all([import('vega'), import('vega-lite')]);
      if (gone) return;
      const narrow = el.clientWidth < 560;
      const width = Math.max(200, Math.min(560, el.clientWidth - (narrow ? 90 : 190)));
      el.replaceChildren();
      const v = new vega.View(vega.parse(vl.compile(sized(spec, width, narrow)).spec), { renderer: 'svg', container: el, hover: true });
      view = v;
      await v.runAsync();
      el.querySelector('svg')?.setAttribute('aria-hidden', 'true');
    })().catch(setError);
    return () => {
      gone = true;
      view?.finalize();
    };
  }, [r]);
  if (!spec) return null;
  const svg = async () => {
    try {
      const { plotSvg } = await import('../../../../src/stats/plot-svg.js');
      download(`${name}.svg`, await plotSvg(r), 'image/svg+xml');
    } catch (e) {
      setError(e);
    }
  };
  return (
    <figure class="chart stat-plot">
      <div ref={host} role="img" aria-label={plotLabel(r)} />
      <figcaption class="small">{plotLabel(r)}.</figcaption>
      <Problem error={error} />
      <button type="button" onClick={() => void svg()}>
        Download the plot as SVG
      </button>
    </figure>
  );
}
