// One study: what it asks and why, each custodian's decision (with its reason and licence terms),
// its privacy budget at the three nodes, and, for its researcher once it is approved and in its
// period, its queries and statistics to run: signed here, computed in MPC, the result opened in
// this browser (a statistic shown as on the Statistics page).
import { useEffect, useState } from 'preact/hooks';
import { useRoute } from 'preact-iso';
import { cluster } from '../../lib/api.js';
import { remember } from '../../lib/history.js';
import { runQuery, type BrowserResult } from '../../lib/run.js';
import { callText, runStatistic, type BrowserStat } from '../../lib/stats.js';
import { parseStatistic } from '../../../../src/stats/statistic.js';
import { checkDraftQueries, studyBudgets, studyDetail, studyState, type NodeBudget, type QueryCheck, type StudyDetail } from '../../lib/studies.js';
import { me } from '../../state.js';
import { Note, Problem, Progress } from '../../ui/common.js';
import { ResultView } from '../../ui/ResultView.js';
import { StatResultView } from '../stats/StatResultView.js';
import { StateBadge, Uses } from './parts.js';

const eps = (x: number | undefined) => (x === undefined ? '—' : String(Number(x.toPrecision(3))));

export function StudyPage() {
  const { params } = useRoute();
  const sid = decodeURIComponent(params.id ?? '');
  const id = me.value!;
  const [detail, setDetail] = useState<StudyDetail | null>(null);
  const [budgets, setBudgets] = useState<NodeBudget[] | null>(null);
  const [checks, setChecks] = useState<QueryCheck[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [running, setRunning] = useState<{ query: string; text: string; done: number } | null>(null);
  const [results, setResults] = useState<Record<string, BrowserResult | BrowserStat>>({});
  const [runError, setRunError] = useState<{ query: string; error: unknown } | null>(null);

  const loadBudget = async (d: StudyDetail) => {
    const latest = d.versions[d.versions.length - 1]!;
    if (!latest.document.study.privacy) return;
    if (id.role === 'researcher' && latest.researcher !== id.name) return;
    const info = await cluster();
    studyBudgets(sid, id, info.nodes).then(setBudgets, () => setBudgets(null));
  };
  useEffect(() => {
    studyDetail(sid, id).then((d) => {
      setDetail(d);
      void loadBudget(d);
      checkDraftQueries(d.versions[d.versions.length - 1]!.document.study).then(setChecks, () => setChecks([]));
    }, setError);
  }, [sid]);

  if (error) return <Problem error={error} />;
  if (!detail) return <Progress text={`loading study ${sid}`} />;
  const v = detail.versions[detail.versions.length - 1]!;
  const s = v.document.study;
  const state = studyState(v);
  const mine = s.researcher === id.name;
  const canRun = mine && state.state === 'approved';

  const run = async (queryId: string) => {
    const q = s.queries.find((x) => x.id === queryId)!;
    setRunError(null);
    setRunning({ query: queryId, text: 'signing the request in this browser', done: 0 });
    try {
      const progress = (text: string, done: number) => setRunning({ query: queryId, text, done });
      const governed = { study: v.document, studyHash: v.hash, queryId };
      const r = q.statistic !== undefined ? await runStatistic(id, governed, progress) : await runQuery(id, { sql: q.sql!, ...governed }, progress);
      setResults((rs) => ({ ...rs, [queryId]: r }));
      await remember(id.name, `${s.id} / ${queryId}`, r);
      void loadBudget(detail);
    } catch (e) {
      setRunError({ query: queryId, error: e });
    } finally {
      setRunning(null);
    }
  };

  const left = budgets?.length ? Math.min(...budgets.map((b) => b.remaining?.epsilon ?? (b.total ? b.total.epsilon - b.spent.epsilon : s.privacy!.epsilon - b.spent.epsilon))) : undefined;
  return (
    <section aria-labelledby="sp-h">
      <p>
        <a href="/studies">← All studies</a>
      </p>
      <h1 id="sp-h">{s.title}</h1>
      <p>
        <StateBadge s={state} />
      </p>
      <dl class="facts">
        <dt>Identifier</dt>
        <dd>
          <code>{s.id}</code> <span class="small">(version {v.hash.slice(0, 12)}…{detail.versions.length > 1 ? `, the latest of ${detail.versions.length}` : ''})</span>
        </dd>
        <dt>Researcher</dt>
        <dd>{s.researcher}</dd>
        <dt>Purpose</dt>
        <dd>{s.purpose}</dd>
        <dt>Period</dt>
        <dd>
          {s.validFrom.slice(0, 10)} to {s.validUntil.slice(0, 10)}
        </dd>
        {s.minCellSize ? (
          <>
            <dt>Smallest cell</dt>
            <dd>{s.minCellSize}</dd>
          </>
        ) : null}
        {s.privacy ? (
          <>
            <dt>Privacy budget</dt>
            <dd>epsilon {s.privacy.epsilon} in total</dd>
          </>
        ) : null}
      </dl>
      {s.description ? <p>{s.description}</p> : null}

      <h2>Approvals</h2>
      <table class="grid">
        <thead>
          <tr>
            <th scope="col">Custodian</th>
            <th scope="col">Decision</th>
            <th scope="col">When</th>
            <th scope="col">Reason and licence terms</th>
          </tr>
        </thead>
        <tbody>
          {v.approvals.map((a) => {
            const doc = v.approvalDocs.find((d) => d.approval.custodian === a.custodian);
            return (
              <tr key={a.custodian}>
                <th scope="row">{a.custodian}</th>
                <td class={a.decision === 'approve' ? 'ok' : a.decision === 'reject' ? 'bad' : ''}>{a.decision === 'approve' ? 'approved' : a.decision === 'reject' ? 'rejected' : 'waiting'}</td>
                <td>{a.time ? new Date(a.time).toLocaleString() : ''}</td>
                <td>
                  {doc?.approval.reason ?? ''}
                  {doc?.approval.terms ? (
                    <div>
                      <strong>Terms:</strong> {doc.approval.terms}
                    </div>
                  ) : null}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>

      <h2>Registers and columns</h2>
      <ul>
        {s.datasets.map((d) => (
          <li key={d.name}>
            <strong>{d.name}</strong>: {d.columns.join(', ')}
          </li>
        ))}
      </ul>

      {budgets ? (
        <>
          <h2>Privacy budget</h2>
          <p>
            Left: <strong>epsilon {eps(left)}</strong> of {s.privacy?.epsilon}. Each node keeps and enforces its own account; they agree when every run reached all three.
          </p>
          <table class="grid">
            <caption>Runs charged ({budgets[0]!.charges.length})</caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Query</th>
                <th scope="col" class="num">Epsilon</th>
                <th scope="col">Job</th>
              </tr>
            </thead>
            <tbody>
              {budgets[0]!.charges.map((c) => (
                <tr key={c.job}>
                  <td>{new Date(c.time).toLocaleString()}</td>
                  <td>{c.query}</td>
                  <td class="num">{eps(c.epsilon)}</td>
                  <td>
                    <code>{c.job.slice(0, 8)}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : null}

      <h2>Queries</h2>
      {mine && !canRun ? <Note>The queries can run once every custodian has approved this version and its period has begun ({state.text}).</Note> : null}
      {s.queries.map((q) => {
        const c = checks.find((x) => x.id === q.id);
        return (
          <div class="card" key={q.id}>
            <h3>
              {q.id} {q.epsilon !== undefined ? <span class="small">(epsilon {q.epsilon} per run)</span> : null}
            </h3>
            {q.description ? <p>{q.description}</p> : null}
            {q.statistic !== undefined ? <StatisticShown text={q.statistic} /> : <pre class="sql">{q.sql}</pre>}
            {c ? c.problems.length ? <p class="bad">{c.problems.join('; ')}</p> : <Uses uses={c.uses} /> : null}
            {canRun ? (
              <button type="button" class="primary" disabled={!!running} onClick={() => void run(q.id)}>
                Run {q.id}
              </button>
            ) : null}
            {running?.query === q.id ? <Progress text={running.text} done={running.done} of={3} /> : null}
            {runError?.query === q.id ? <Problem error={runError.error} /> : null}
            {results[q.id] ? <QueryResult r={results[q.id]!} /> : null}
          </div>
        );
      })}
    </section>
  );
}

/** A study's statistic as R's call, with its analysis table's SQL. */
function StatisticShown({ text }: { text: string }) {
  let req;
  try {
    req = parseStatistic(text);
  } catch {
    return <pre class="sql">{text}</pre>;
  }
  return (
    <>
      <p>
        <code class="call">{callText(req)}</code> <span class="small">on the analysis table</span>
      </p>
      <pre class="sql">{req.data}</pre>
    </>
  );
}

function QueryResult({ r }: { r: BrowserResult | BrowserStat }) {
  if ('result' in r) return <StatResultView r={r} />;
  return (
    <>
      <ResultView r={r} />
      <p class="small">
        Job <code>{r.job}</code>, authorized by each node on its own; {r.privacy ? `this run cost epsilon ${eps(r.privacy.cost.epsilon)}.` : 'exact result.'}
      </p>
    </>
  );
}
