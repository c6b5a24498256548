// A statistic's result as an epidemiologist reads it in R: the coefficient table of summary()
// (estimate, standard error, z or t, p with significance stars, 95 % CI, and the odds, rate or
// hazard ratios with theirs), the other estimates (deviance, N, the test's statistic and p), the
// notes (separation, withheld estimates, curves that end), each protected value with the 95 %
// margin of the noise, the plot (forest plot, Kaplan–Meier curves with numbers at risk,
// histogram), R's own printout, and downloads as CSV, JSON and SVG.
import { atRisk, riskTimes } from '../../../../src/stats/plot-spec.js';
import type { CoefficientRow, StatResult } from '../../../../src/stats/shapes.js';
import { csvTable, otherValues, statJson, type BrowserStat } from '../../lib/stats.js';
import { download, margin, toCsv } from '../../ui/common.js';
import { StatPlot } from './StatPlot.js';

/** R's way with numbers: 4 significant digits, NA for what is not estimated. */
const num = (x: number, d = 4): string => (Number.isNaN(x) ? 'NA' : !Number.isFinite(x) ? (x > 0 ? 'Inf' : '-Inf') : Number.isInteger(x) && Math.abs(x) < 1e9 ? String(x) : Math.abs(x) >= 1e5 || (Math.abs(x) < 1e-4 && x !== 0) ? x.toExponential(d - 1) : x.toPrecision(d));
const pval = (p: number): string => (Number.isNaN(p) ? 'NA' : p < 2e-16 ? '< 2e-16' : p < 1e-4 ? p.toExponential(2) : p.toPrecision(3));
const stars = (p: number): string => (p < 0.001 ? '***' : p < 0.01 ? '**' : p < 0.05 ? '*' : p < 0.1 ? '.' : '');
const ci = (lo: number, hi: number) => (Number.isNaN(lo) ? 'NA' : `${num(lo, 3)} to ${num(hi, 3)}`);

function Coefficients({ r }: { r: StatResult }) {
  const rows = r.series!.coefficients!;
  const ratios = r.series?.ratios && r.series.ratios.measure !== 'coefficient' ? r.series.ratios : null;
  const stat = r.fn === 'lm' ? 't' : 'z';
  const err = r.errors;
  const ratioMargin = (c: CoefficientRow) => {
    const h = err?.[`hr:${c.name}`]?.half95 ?? (err?.[`coef:${c.name}`] ? Math.exp(c.estimate) * err[`coef:${c.name}`]!.half95 : undefined);
    return margin(h);
  };
  return (
    <>
      <table class="grid coefficients">
        <caption>
          Coefficients{ratios ? ` and ${ratios.measure}s` : ''} (95 % {r.fn === 'lm' ? 't' : 'Wald'} confidence intervals{err ? '; ± the 95 % margin of the protection’s noise' : ''})
        </caption>
        <thead>
          <tr>
            <th scope="col">Term</th>
            <th scope="col" class="num">Estimate</th>
            <th scope="col" class="num">Std. Error</th>
            <th scope="col" class="num">{stat} value</th>
            <th scope="col" class="num">Pr(&gt;|{stat}|)</th>
            <th scope="col">
              <abbr title="significance: *** p < 0.001, ** p < 0.01, * p < 0.05, . p < 0.1">Sig.</abbr>
            </th>
            <th scope="col" class="num">95 % CI</th>
            {ratios ? (
              <>
                <th scope="col" class="num">{ratios.measure[0]!.toUpperCase() + ratios.measure.slice(1)}</th>
                <th scope="col" class="num">95 % CI</th>
              </>
            ) : null}
          </tr>
        </thead>
        <tbody>
          {rows.map((c) => {
            const na = Number.isNaN(c.estimate);
            return (
              <tr key={c.name} class={na ? 'withheld' : ''}>
                <th scope="row">
                  <code>{c.name}</code>
                </th>
                <td class="num">
                  {na ? <abbr title="not reported: see the notes">NA</abbr> : num(c.estimate)} <span class="margin">{na ? '' : margin(err?.[`coef:${c.name}`]?.half95)}</span>
                </td>
                <td class="num">{num(c.se)}</td>
                <td class="num">{num(c.statistic, 3)}</td>
                <td class="num">{pval(c.p)}</td>
                <td>{stars(c.p)}</td>
                <td class="num">{ci(c.lower, c.upper)}</td>
                {ratios ? (
                  c.name === '(Intercept)' ? (
                    <>
                      <td class="num" />
                      <td class="num" />
                    </>
                  ) : (
                    <>
                      <td class="num">
                        {na ? 'NA' : num(Math.exp(c.estimate))} <span class="margin">{na ? '' : ratioMargin(c)}</span>
                      </td>
                      <td class="num">{na ? 'NA' : ci(Math.exp(c.lower), Math.exp(c.upper))}</td>
                    </>
                  )
                ) : null}
              </tr>
            );
          })}
        </tbody>
      </table>
      <p class="small">Signif. codes: 0 ‘***’ 0.001 ‘**’ 0.01 ‘*’ 0.05 ‘.’ 0.1 ‘ ’ 1</p>
    </>
  );
}

function Values({ r, caption }: { r: StatResult; caption: string }) {
  const vals = otherValues(r);
  if (!vals.length) return null;
  return (
    <table class="grid values">
      <caption>{caption}</caption>
      <tbody>
        {vals.map(([k, v]) => (
          <tr key={k}>
            <th scope="row">
              <code>{k}</code>
            </th>
            <td class="num">
              {num(v, k.startsWith('p') ? 3 : 6)} <span class="margin">{margin(r.errors?.[k]?.half95)}</span>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The numbers at risk under the Kaplan–Meier curves, as a table (the plot shows them too). */
function AtRisk({ r }: { r: StatResult }) {
  const curves = r.series!.curves!;
  const times = riskTimes(curves);
  return (
    <details>
      <summary>Numbers at risk as a table</summary>
      <table class="grid">
        <caption>Persons at risk at each time (at the first step from that time on)</caption>
        <thead>
          <tr>
            <th scope="col">Group</th>
            {times.map((t) => (
              <th scope="col" class="num" key={t}>
                {t}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {curves.map((c) => (
            <tr key={c.label}>
              <th scope="row">{c.label}</th>
              {times.map((t) => (
                <td class="num" key={t}>
                  {atRisk(c, t) ?? '—'}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </details>
  );
}

export function StatResultView({ r }: { r: BrowserStat }) {
  const res = r.result;
  const name = `mosaik-${res.fn}-${r.job.slice(0, 8)}`;
  const csv = () => {
    const t = csvTable(res);
    download(`${name}.csv`, toCsv(t.header, t.rows));
  };
  return (
    <div class="stat-result">
      <p>
        <code class="call">{res.call}</code>
      </p>
      {res.series?.coefficients ? <Coefficients r={res} /> : null}
      <Values r={res} caption={res.series?.coefficients ? 'Fit' : 'Estimates'} />
      {res.notes.length ? (
        <div class="notes" role="note">
          <h3>Notes</h3>
          <ul>
            {res.notes.map((n) => (
              <li key={n}>{n}</li>
            ))}
          </ul>
        </div>
      ) : null}
      <StatPlot r={res} name={name} />
      {res.series?.curves ? <AtRisk r={res} /> : null}
      {r.logrank ? (
        <div class="logrank">
          <h3>Log-rank test</h3>
          <p>
            χ² = {num(r.logrank.values.chisq!)} on {r.logrank.values.df} degree{r.logrank.values.df === 1 ? '' : 's'} of freedom, p = {pval(r.logrank.values['p.value']!)}{' '}
            <span class="small">(survdiff, read from the same released life table: no second run, no further privacy cost)</span>
          </p>
        </div>
      ) : null}
      <details class="r-print" open={!res.series?.coefficients && !res.series?.curves}>
        <summary>As R prints it</summary>
        <pre class="r-output">{res.text}</pre>
        {r.logrank ? <pre class="r-output">{r.logrank.text}</pre> : null}
      </details>
      <p class="explain">
        {r.protection.kind === 'dp' ? (
          <>
            <strong>± margins</strong>: differential privacy at epsilon {r.protection.epsilon}; noise drawn inside MPC on the released sums or tables, each estimate’s margin from the noise by the delta method (95 %).
          </>
        ) : (
          <>
            <strong>No output protection</strong>: these nodes release exact results (for synthetic data and tests only).
          </>
        )}{' '}
        Combined in this browser from the three nodes’ sealed shares (job <code>{r.job.slice(0, 8)}</code>
        {r.study ? `, study ${r.study.id}, query ${r.study.query}` : ''}){r.privacy ? `; this run cost epsilon ${Number(r.privacy.cost.epsilon.toPrecision(3))}` : ''}.
      </p>
      <div class="row">
        <button type="button" onClick={csv}>
          Download as CSV
        </button>
        <button type="button" onClick={() => download(`${name}.json`, statJson(r), 'application/json')}>
          Download as JSON
        </button>
      </div>
    </div>
  );
}
