// A result as people read it: the table (each protected value with the 95 % margin of its noise),
// cells withheld by the small-cell rule marked and explained, a chart where a picture says more
// (bars, a line over an ordered key, a map of the five regions), and a CSV download.
import { useEffect, useRef } from 'preact/hooks';
import * as Plot from '@observablehq/plot';
import type { Display } from '../../../src/query/plan.js';
import { download, fmt, margin, toCsv } from './common.js';

export interface ShownResult {
  /** Per output column: a group key or an aggregate. */
  kinds: ('key' | 'agg')[];
  job: string;
  sql: string;
  columns: string[];
  rows: Display[][];
  suppressed: Record<string, Display>[];
  suppressedCount: number;
  cells: number;
  minCellSize: number;
  havingHidden: number;
  /** ORDER BY … LIMIT chosen inside MPC: only the first `ranked` cells were released. */
  ranked?: number;
  errors?: { sd: number; half95: number }[][];
  protection: { kind: string; epsilon?: number };
  protectionText?: string;
}

const REGION_TILES: Record<string, [number, number]> = { Nordjylland: [0, 0], Midtjylland: [0, 1], Syddanmark: [0, 2], Sjælland: [1, 2], Hovedstaden: [2, 1] };

export function ResultView({ r: given }: { r: ShownResult }) {
  let r = given;
  // Group keys first in the table, then the aggregates (as SELECT named them).
  const order = [...r.kinds.keys()].sort((a, b) => (r.kinds[a] === r.kinds[b] ? a - b : r.kinds[a] === 'key' ? -1 : 1));
  const view: ShownResult = { ...r, columns: order.map((i) => r.columns[i]!), rows: r.rows.map((row) => order.map((i) => row[i]!)), ...(r.errors ? { errors: r.errors.map((e) => order.map((i) => e[i]!)) } : {}), kinds: order.map((i) => r.kinds[i]!) };
  r = view;
  const keys = r.columns.filter((_, i) => r.kinds[i] === 'key');
  const values = r.columns.slice(keys.length);
  const csv = () =>
    download(
      `mosaik-${r.job.slice(0, 8)}.csv`,
      toCsv(
        [...r.columns, ...(r.errors ? values.map((v) => `${v} (95 % margin)`) : [])],
        [...r.rows.map((row, i) => [...row, ...(r.errors ? values.map((_, k) => r.errors![i]![keys.length + k]!.half95) : [])]), ...r.suppressed.map((s) => r.columns.map((c) => (c in s ? s[c] : 'suppressed')))],
      ),
    );
  return (
    <div class="result">
      <table class="grid">
        <caption>
          {r.rows.length} cell{r.rows.length === 1 ? '' : 's'} released
          {r.suppressedCount ? `, ${r.suppressedCount} withheld` : ''}
        </caption>
        <thead>
          <tr>
            {r.columns.map((c, i) => (
              <th scope="col" class={i >= keys.length ? 'num' : ''} key={c}>
                {c}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {r.rows.map((row, i) => (
            <tr key={i}>
              {row.map((v, k) =>
                k < keys.length ? (
                  <th scope="row" key={k}>
                    {fmt(v)}
                  </th>
                ) : (
                  <td class="num" key={k}>
                    {fmt(v)} <span class="margin">{margin(r.errors?.[i]?.[k]?.half95)}</span>
                  </td>
                ),
              )}
            </tr>
          ))}
          {r.suppressed.map((s, i) => (
            <tr key={`s${i}`} class="withheld">
              {r.columns.map((c, k) =>
                k < keys.length ? (
                  <th scope="row" key={k}>
                    {fmt(s[c])}
                  </th>
                ) : (
                  <td class="num" key={k}>
                    <abbr title={`fewer than ${r.minCellSize} persons: not released`}>withheld</abbr>
                  </td>
                ),
              )}
            </tr>
          ))}
        </tbody>
      </table>
      <ul class="explain">
        {r.suppressedCount ? (
          <li>
            <strong>Withheld</strong>: {r.suppressedCount} cell{r.suppressedCount === 1 ? '' : 's'} counted fewer than {r.minCellSize} persons{r.protection.kind === 'dp' ? ' (after the noise)' : ''}; inside MPC
            they were replaced by nothing, so they reveal no one.
          </li>
        ) : null}
        {r.havingHidden ? <li>{r.havingHidden} cell(s) did not meet the HAVING condition.</li> : null}
        {r.ranked !== undefined ? (
          <li>
            <strong>Top {r.ranked}</strong>: the first {r.ranked} of {r.cells} cells in this order were chosen inside MPC among cells of at least {r.minCellSize} persons; nothing about the other cells
            was revealed, not even whether they were withheld.
          </li>
        ) : null}
        {r.protection.kind === 'dp' ? (
          <li>
            <strong>± margins</strong>: {r.protectionText ?? `differential privacy, epsilon ${r.protection.epsilon}`}
          </li>
        ) : (
          <li>
            <strong>No output protection</strong>: these nodes run with exact results (for synthetic data and tests only).
          </li>
        )}
      </ul>
      <Chart r={r} keys={keys} values={values} />
      <button type="button" onClick={csv}>
        Download as CSV
      </button>
    </div>
  );
}

function Chart({ r, keys, values }: { r: ShownResult; keys: string[]; values: string[] }) {
  const host = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = host.current;
    if (!el) return;
    el.replaceChildren();
    if (!values.length || !r.rows.length) return;
    const y = values[0]!;
    const k0 = keys[0];
    const data: Record<string, unknown>[] = r.rows.map((row, i) => ({
      ...Object.fromEntries(r.columns.map((c, j) => [c, row[j]])),
      lo: Number(row[keys.length]) - (r.errors?.[i]?.[keys.length]?.half95 ?? 0),
      hi: Number(row[keys.length]) + (r.errors?.[i]?.[keys.length]?.half95 ?? 0),
    }));
    let svg: Element;
    const title = `${y}${k0 ? ` by ${keys.join(' and ')}` : ''}`;
    const second = keys[1];
    const facets = second ? [...new Set(data.map((d) => String(d[second])))] : [];
    if (k0?.endsWith('region') && (keys.length === 1 || (keys.length === 2 && facets.length <= 4))) {
      // A tile map of the five regions (Jutland's three down the west, Zealand's two in the east),
      // one map per value of a second key (for example one per sex), all on one colour scale.
      const tiles = data
        .filter((d) => String(d[k0]) in REGION_TILES)
        .map((d) => ({ ...d, tx: REGION_TILES[String(d[k0])]![0], ty: REGION_TILES[String(d[k0])]![1], facet: second ? String(d[second]) : '' }));
      svg = Plot.plot({
        title,
        width: Math.min(900, 300 * Math.max(1, facets.length)),
        height: 320,
        x: { axis: null, domain: [0, 1, 2] },
        y: { axis: null, domain: [0, 1, 2] },
        ...(second ? { fx: { label: second, domain: facets, axis: 'top' } } : {}),
        color: { type: 'linear', scheme: 'blues', legend: true, label: y },
        marks: [
          Plot.cell(tiles, { x: 'tx', y: 'ty', ...(second ? { fx: 'facet' } : {}), fill: y, inset: 3, rx: 6 }),
          Plot.text(tiles, { x: 'tx', y: 'ty', ...(second ? { fx: 'facet' } : {}), text: (d: Record<string, unknown>) => `${d[k0]}\n${fmt(d[y])}`, fill: 'black', stroke: 'white', strokeWidth: 3, fontSize: 11, lineHeight: 1.2 }),
        ],
      });
    } else if (k0 && (typeof r.rows[0]![0] === 'number' || /band|quintile|year|age/.test(k0)) && keys.length === 1) {
      svg = Plot.plot({
        title,
        marginLeft: 60,
        x: { label: k0 },
        y: { label: y, grid: true, zero: true },
        marks: [Plot.areaY(data, { x: k0, y1: 'lo', y2: 'hi', fillOpacity: 0.2 }), Plot.lineY(data, { x: k0, y }), Plot.dot(data, { x: k0, y })],
      });
    } else {
      const x = keys.length ? keys.join(' · ') : 'all';
      const bars = data.map((d) => ({ ...d, [x]: keys.length ? keys.map((k) => String(d[k])).join(' · ') : 'all' }));
      svg = Plot.plot({
        title,
        marginLeft: 60,
        marginBottom: 60,
        x: { label: x, tickRotate: bars.length > 6 ? -30 : 0 },
        y: { label: y, grid: true },
        marks: [Plot.barY(bars, { x, y, fill: 'steelblue' }), Plot.ruleX(bars, { x, y1: 'lo', y2: 'hi', stroke: 'black' }), Plot.ruleY([0])],
      });
    }
    svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', `Chart: ${title}`);
    el.append(svg);
  }, [r]);
  return <figure class="chart" ref={host} />;
}
