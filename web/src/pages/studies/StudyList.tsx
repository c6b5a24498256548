// The registered studies: the researcher's own first, each with its purpose, registers, period and
// where its approvals stand. Public metadata (any signed-in identity may list them).
import { useEffect, useState } from 'preact/hooks';
import { governance, type GovernanceInfo } from '../../lib/api.js';
import { latestVersions, listStudies, studyState, type StudyListing } from '../../lib/studies.js';
import { me } from '../../state.js';
import { Note, Problem } from '../../ui/common.js';
import { StateBadge } from './parts.js';

export function StudyList() {
  const id = me.value!;
  const [gov, setGov] = useState<GovernanceInfo | null>(null);
  const [list, setList] = useState<StudyListing[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    governance().then((g) => {
      setGov(g);
      if (g.governed) listStudies(id).then((l) => setList(latestVersions(l)), setError);
    }, setError);
  }, []);
  const mine = (list ?? []).filter((s) => s.researcher === id.name);
  const others = (list ?? []).filter((s) => s.researcher !== id.name);
  return (
    <section aria-labelledby="st-h">
      <h1 id="st-h">Studies</h1>
      <Note>
        A study says what a researcher wants to learn, for which purpose, from which registers and columns, with which queries and how much privacy budget. The researcher signs it; every
        custodian whose register it reads approves or rejects it with a signature; each of the three nodes checks all of this on its own before a query of the study runs.
      </Note>
      <Problem error={error} />
      {gov && !gov.governed ? (
        <p class="warning">
          These nodes run without a consortium, so there are no studies here: researchers run their own queries on the Query page. A governed cluster (README: “Governance”) adds studies, approvals
          and policies.
        </p>
      ) : null}
      {id.role === 'researcher' && gov?.governed ? (
        <p>
          <a class="button primary" href="/studies/new">
            New study
          </a>
        </p>
      ) : null}
      {list && id.role === 'researcher' ? <StudyTable caption="Your studies" rows={mine} empty="You have not submitted a study yet." /> : null}
      {list ? <StudyTable caption={id.role === 'researcher' ? 'Other researchers’ studies' : 'Studies registered at the nodes'} rows={others} empty="None." /> : null}
    </section>
  );
}

function StudyTable({ caption, rows, empty }: { caption: string; rows: StudyListing[]; empty: string }) {
  return (
    <table class="grid">
      <caption>{caption}</caption>
      <thead>
        <tr>
          <th scope="col">Study</th>
          <th scope="col">Researcher</th>
          <th scope="col">Purpose</th>
          <th scope="col">Registers</th>
          <th scope="col">Period</th>
          <th scope="col">State</th>
        </tr>
      </thead>
      <tbody>
        {rows.length === 0 ? (
          <tr>
            <td colSpan={6}>{empty}</td>
          </tr>
        ) : (
          rows.map((s) => (
            <tr key={s.id}>
              <th scope="row">
                <a href={`/studies/${encodeURIComponent(s.id)}`}>{s.title}</a>
                <div class="small">{s.id}</div>
              </th>
              <td>{s.researcher}</td>
              <td>{s.purpose}</td>
              <td>{s.datasets.join(', ')}</td>
              <td>
                {s.validFrom.slice(0, 10)} – {s.validUntil.slice(0, 10)}
              </td>
              <td>
                <StateBadge s={studyState(s)} />
              </td>
            </tr>
          ))
        )}
      </tbody>
    </table>
  );
}
