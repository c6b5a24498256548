// The studies registered at the nodes, whether your consent covers their purpose, and which have
// run (from the public transparency log: study, purpose, researcher, when).
import { useEffect, useState } from 'preact/hooks';
import { call, governance } from '../../lib/api.js';
import { fetchEntries } from '../../lib/log-source.js';
import { publishedChanges } from '../../lib/citizen.js';
import { Note, Problem, Progress } from '../../ui/common.js';
import { choiceFor } from './ConsentTab.js';
import type { CitizenTabProps } from './tab.js';

interface Listed {
  id: string;
  title: string;
  researcher: string;
  purpose: string;
  validFrom: string;
  validUntil: string;
  approved: boolean;
}

interface Row extends Listed {
  purposeLabel: string;
  covered: boolean;
  runs: string[];
}

export function StudiesTab({ id, person }: CitizenTabProps) {
  const [rows, setRows] = useState<Row[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    (async () => {
      const [g, studies, entries] = await Promise.all([governance(), call<Listed[]>(0, '/v1/studies', { as: id }), fetchEntries(0)]);
      const changes = await publishedChanges(person, entries);
      const seen = new Set<string>();
      const out: Row[] = [];
      for (const s of studies) {
        if (seen.has(s.id)) continue;
        seen.add(s.id);
        const p = g.purposes?.find((x) => x.code === s.purpose);
        const runs = entries.filter((e) => e.kind === 'job-run' && e.body.study === s.id).map((e) => e.time);
        out.push({ ...s, purposeLabel: p?.label ?? s.purpose, covered: p ? choiceFor(p, changes).allowed : false, runs });
      }
      setRows(out);
    })().catch(setError);
  }, []);
  if (!rows) return error ? <Problem error={error} /> : <Progress text="Loading the studies and the log …" />;
  return (
    <div>
      <Note>Each study was signed by its researcher and approved by the custodians of the data it reads. Its runs are in the public transparency log; a run uses your data only if your consent covers its purpose at that time.</Note>
      {rows.length === 0 ? <p>No study is registered.</p> : null}
      <ul class="plain">
        {rows.map((s) => (
          <li key={s.id} class="card study">
            <h3>{s.title}</h3>
            <p class="small">
              {s.purposeLabel} · researcher {s.researcher} · valid {s.validFrom.slice(0, 10)} to {s.validUntil.slice(0, 10)}
            </p>
            <p>
              <span class={`badge ${s.covered ? 'approved' : 'rejected'}`}>{s.covered ? 'Your consent covers it' : 'Your consent does not cover it'}</span>
            </p>
            <p class="small">{s.runs.length ? `Run ${s.runs.length} time${s.runs.length > 1 ? 's' : ''}, last ${new Date(s.runs[s.runs.length - 1]!).toLocaleString()}` : 'Not run yet'}</p>
          </li>
        ))}
      </ul>
    </div>
  );
}
