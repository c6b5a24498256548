// Usage and licensing: per study that used your data, how often it ran, how many rows it touched,
// how much privacy budget it spent, and the licence terms of your approval; as a CSV for invoicing
// or reporting. Counts only, as the nodes recorded them (all three are compared).
import { useEffect, useState } from 'preact/hooks';
import { usageReport, USAGE_CSV_HEADER, usageCsvRows, type UsageReport } from '../../lib/custodian-usage.js';
import { me } from '../../state.js';
import { download, fmt, Note, Problem, toCsv } from '../../ui/common.js';
import type { TabProps } from './tab.js';

const when = (iso: string) => new Date(iso).toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'short' });

export function UsagePage(_: TabProps) {
  const id = me.value!;
  const [r, setR] = useState<UsageReport | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    usageReport(id).then(setR, setError);
  }, []);
  const exportCsv = () => r && download(`mosaik-usage-${id.name}-${new Date().toISOString().slice(0, 10)}.csv`, toCsv(USAGE_CSV_HEADER, usageCsvRows(r)));
  return (
    <div>
      <h2>Usage and licences</h2>
      <Note>How each study used your data, as the nodes recorded every run: queries run, rows of your datasets they read, the privacy budget (epsilon) they spent, and the licence terms you attached to your approval.</Note>
      <Problem error={error} />
      {!r && !error ? <p>Loading usage …</p> : null}
      {r?.disagreements.length ? <p class="warning">{r.disagreements.join('; ')}. The nodes record the same runs; ask the operators to look into it.</p> : null}
      {r && r.rows.length === 0 ? <p>No study has used your data yet.</p> : null}
      {r && r.rows.length ? (
        <>
          <table class="grid usage">
            <caption>Use of your data per study</caption>
            <thead>
              <tr>
                <th scope="col">Study</th>
                <th scope="col" class="num">Queries run</th>
                <th scope="col" class="num">Rows touched</th>
                <th scope="col" class="num">Privacy budget spent</th>
                <th scope="col">Used</th>
                <th scope="col">Licence terms</th>
              </tr>
            </thead>
            <tbody>
              {r.rows.map((u) => (
                <tr key={u.study}>
                  <th scope="row">
                    {u.title || u.study}
                    <div class="small">
                      <code>{u.study}</code> by {u.researcher || '—'}, {u.purpose}; your {u.datasets.join(', ')}
                    </div>
                  </th>
                  <td class="num">{fmt(u.queries)}</td>
                  <td class="num">{fmt(u.rowsTouched)}</td>
                  <td class="num">
                    {u.epsilonSpent ? `epsilon ${Number(u.epsilonSpent.toPrecision(3))}` : 'none (exact results)'}
                    {u.budgetEpsilon !== null ? <div class="small">of the study's {u.budgetEpsilon}</div> : null}
                  </td>
                  <td>
                    {when(u.firstAt)}
                    {u.lastAt !== u.firstAt ? ` to ${when(u.lastAt)}` : ''}
                  </td>
                  <td class="terms">{u.terms ?? <span class="small">none attached{u.approvedAt ? '' : ' (no approval of yours found)'}</span>}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <button type="button" onClick={exportCsv}>
            Download as CSV
          </button>
        </>
      ) : null}
    </div>
  );
}
