// Composing a study: purpose, registers and columns, queries (SQL, or statistics calls as on the
// Statistics page), period and privacy budget. Checked here (each query planned against the
// registers' schemas; the columns it reads within what the study declares, with the custodians'
// policies beside each column), then signed with the researcher's key in this browser and
// submitted. The custodians then approve or reject it.
import { useEffect, useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import type { DatasetSchema } from '../../../../src/ingest/schema.js';
import { parseStatistic, statisticText } from '../../../../src/stats/statistic.js';
import { call, governance, type GovernanceInfo } from '../../lib/api.js';
import type { Registers } from '../../lib/run.js';
import { EXAMPLE_FIELDS, fieldsOf, loadRegisters, requestOf, STUDY_STAT_KEY, type StatFields } from '../../lib/stats.js';
import { checkDraftQueries, STUDY_SQL_KEY, submitStudy, type QueryCheck, type StudyDoc } from '../../lib/studies.js';
import { me } from '../../state.js';
import { Note, Problem, Progress } from '../../ui/common.js';
import { SqlEditor } from '../../ui/SqlEditor.js';
import { CallEditor } from '../stats/CallEditor.js';
import { Uses } from './parts.js';

interface PolicyDoc {
  policy: { custodian: string; datasets: { dataset: string; purposes: string[]; columns: Record<string, { roles: string[]; aggregates?: string[] } | 'forbidden'> }[] };
}
interface DraftQuery {
  key: number;
  id: string;
  /** SQL (an aggregate query) or a statistics call (src/stats/statistic.ts). */
  kind: 'sql' | 'statistic';
  sql: string;
  stat: StatFields;
  epsilon: number;
  description: string;
}

/** A draft query's statistic as signed (canonical JSON), or the problem with its fields. */
const statisticOf = (q: DraftQuery): { text: string } | { problem: string } => {
  try {
    return { text: statisticText(requestOf(q.stat)) };
  } catch (e) {
    return { problem: (e as Error).message };
  }
};

const blankQuery = (n: number, o: Partial<DraftQuery> = {}): DraftQuery => ({ key: nextKey++, id: `q${n}`, kind: 'sql', sql: '', stat: EXAMPLE_FIELDS, epsilon: 0.1, description: '', ...o });

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const slug = (t: string) =>
  t
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 48);

let nextKey = 1;

export function NewStudy() {
  const id = me.value!;
  const { route } = useLocation();
  const [gov, setGov] = useState<GovernanceInfo | null>(null);
  const [schemas, setSchemas] = useState<Record<string, DatasetSchema>>({});
  const [policies, setPolicies] = useState<PolicyDoc[]>([]);
  const [dp, setDp] = useState<boolean | null>(null);
  const [title, setTitle] = useState('');
  const [sid, setSid] = useState('');
  const [sidEdited, setSidEdited] = useState(false);
  const [purpose, setPurpose] = useState('');
  const [description, setDescription] = useState('');
  const [columns, setColumns] = useState<Record<string, string[]>>({});
  const [queries, setQueries] = useState<DraftQuery[]>(() => {
    // From the Query or the Statistics page's “Propose as a study”.
    const carried = sessionStorage.getItem(STUDY_SQL_KEY) ?? '';
    const stat = sessionStorage.getItem(STUDY_STAT_KEY);
    sessionStorage.removeItem(STUDY_SQL_KEY);
    sessionStorage.removeItem(STUDY_STAT_KEY);
    return [blankQuery(1, stat ? { kind: 'statistic', stat: fieldsOf(parseStatistic(stat)) } : { sql: carried })];
  });
  const [from, setFrom] = useState(day(Date.now()));
  const [until, setUntil] = useState(day(Date.now() + 365 * 86400e3));
  const [minCell, setMinCell] = useState('');
  const [budget, setBudget] = useState(1);
  const [checks, setChecks] = useState<QueryCheck[] | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [regs, setRegs] = useState<Registers | null>(null);

  useEffect(() => {
    loadRegisters().then((r) => setRegs(r.regs), setError);
    Promise.all([governance(), call<{ name: string }[]>(0, '/v1/datasets')]).then(async ([g, list]) => {
      setGov(g);
      if (g.purposes?.[0]) setPurpose(g.purposes[0].code);
      const out: Record<string, DatasetSchema> = {};
      // The consent register is applied by the nodes to every study; studies do not read it.
      for (const d of list.filter((x) => x.name !== g.consent?.dataset)) out[d.name] = (await call<{ schema: DatasetSchema }>(0, `/v1/datasets/${encodeURIComponent(d.name)}`)).schema;
      setSchemas(out);
    }, setError);
    call<PolicyDoc[]>(0, '/v1/policies', { as: id }).then(setPolicies, () => setPolicies([]));
    call<{ protection: string }>(0, '/v1/privacy', { as: id }).then((p) => setDp(p.protection !== 'none'), () => setDp(true));
  }, []);

  const rule = (ds: string, col: string) => {
    const p = [...policies].reverse().flatMap((x) => x.policy.datasets.filter((d) => d.dataset === ds))[0];
    if (!p) return { text: 'no policy yet', forbidden: false };
    const r = p.columns[col];
    if (r === undefined || r === 'forbidden') return { text: 'not usable under the custodian’s policy', forbidden: true };
    return { text: r.roles.join(', ') + (r.aggregates ? ` (${r.aggregates.join(', ')})` : ''), forbidden: false };
  };
  const purposesOf = (ds: string) => [...policies].reverse().flatMap((x) => x.policy.datasets.filter((d) => d.dataset === ds))[0]?.purposes;

  const toggle = (ds: string, col: string, on: boolean) =>
    setColumns((c) => {
      const cur = new Set(c[ds] ?? []);
      if (on) cur.add(col);
      else cur.delete(col);
      const next = { ...c, [ds]: [...cur] };
      if (!cur.size) delete next[ds];
      return next;
    });
  const setQuery = (key: number, patch: Partial<DraftQuery>) => setQueries((qs) => qs.map((q) => (q.key === key ? { ...q, ...patch } : q)));

  const draft = (): StudyDoc => ({
    format: 'mosaik-study/1',
    id: sid,
    title: title.trim(),
    researcher: id.name,
    purpose,
    ...(description.trim() ? { description: description.trim() } : {}),
    datasets: Object.entries(columns).map(([name, cols]) => ({ name, columns: schemas[name] ? schemas[name]!.columns.map((c) => c.name).filter((c) => cols.includes(c)) : cols })),
    queries: queries.map((q) => {
      const st = q.kind === 'statistic' ? statisticOf(q) : null;
      return { id: q.id.trim(), ...(st ? { statistic: 'text' in st ? st.text : '' } : { sql: q.sql.trim() }), ...(dp ? { epsilon: q.epsilon } : {}), ...(q.description.trim() ? { description: q.description.trim() } : {}) };
    }),
    validFrom: `${from}T00:00:00Z`,
    validUntil: `${until}T00:00:00Z`,
    ...(minCell ? { minCellSize: Number(minCell) } : {}),
    ...(dp ? { privacy: { epsilon: budget } } : {}),
    createdAt: new Date().toISOString(),
  });

  /** Problems a person can fix in the form, in the form's words. */
  const formProblems = (d: StudyDoc): string[] => {
    const p: string[] = [];
    if (!d.title) p.push('Give the study a title.');
    if (!/^[a-z0-9][a-z0-9._-]{0,63}$/.test(d.id)) p.push('The identifier must be 1–64 lower-case letters, digits, “.”, “_” or “-”.');
    if (!d.purpose) p.push('Choose a purpose.');
    if (!d.datasets.length) p.push('Choose the columns the study reads (or use “Declare what the queries read” after a check).');
    const ids = d.queries.map((q) => q.id);
    if (new Set(ids).size !== ids.length) p.push('Two queries have the same name.');
    for (const q of queries) {
      const st = q.kind === 'statistic' ? statisticOf(q) : null;
      if (st && 'problem' in st) p.push(`Query “${q.id}”: ${st.problem}`);
      else if (!st && !q.sql.trim()) p.push(`Write the SQL of query “${q.id}”.`);
    }
    if (!(d.validFrom < d.validUntil)) p.push('The period must end after it starts.');
    if (dp) {
      const per = d.queries.reduce((s, q) => s + (q.epsilon ?? 0), 0);
      if (!(budget > 0)) p.push('The privacy budget must be above 0.');
      else if (per > budget + 1e-9) p.push(`One run of every query spends epsilon ${Number(per.toPrecision(3))}, more than the budget ${budget}: raise the budget or lower the queries’ epsilon.`);
    }
    return p;
  };

  const check = async (): Promise<QueryCheck[] | null> => {
    setError(null);
    const d = draft();
    setBusy('checking the queries against the registers');
    try {
      // A statistic whose fields are not complete yet: say what to fill in, not how its JSON fails.
      const c = (await checkDraftQueries(d)).map((x) => {
        const q = queries.find((y) => y.id.trim() === x.id && y.kind === 'statistic');
        const st = q ? statisticOf(q) : null;
        return st && 'problem' in st ? { ...x, problems: [st.problem] } : x;
      });
      setChecks(c);
      return c;
    } catch (e) {
      setError(e);
      return null;
    } finally {
      setBusy(null);
    }
  };
  const declareUsed = () => {
    const next: Record<string, string[]> = {};
    for (const c of checks ?? []) for (const u of c.uses) next[u.dataset] = [...new Set([...(next[u.dataset] ?? []), u.column])];
    setColumns(next);
    setChecks((cs) => cs && cs.map((c) => ({ ...c, problems: c.problems.filter((p) => !p.includes('which the study does not list')) })));
  };
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    const d = draft();
    const problems = formProblems(d);
    if (problems.length) return setError(new Error(problems.join('\n')));
    const c = await check();
    if (!c) return;
    const bad = c.filter((x) => x.problems.length);
    if (bad.length) return setError(new Error(bad.map((x) => `Query “${x.id}”: ${x.problems.join('; ')}`).join('\n')));
    setBusy('signing the study in this browser and submitting it');
    try {
      await submitStudy(d, id);
      route(`/studies/${encodeURIComponent(d.id)}`);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(null);
    }
  };

  const completion = Object.fromEntries(Object.entries(schemas).map(([n, s]) => [n, s.columns.map((c) => c.name)]));
  const purposeInfo = gov?.purposes?.find((p) => p.code === purpose);
  return (
    <section aria-labelledby="ns-h">
      <h1 id="ns-h">New study</h1>
      <Note>You sign the study with your key, here in this browser. Each custodian whose register it reads then approves or rejects exactly this version; changing it later needs new approvals.</Note>
      <form onSubmit={submit}>
        <fieldset>
          <legend>What and why</legend>
          <label>
            Title
            <input
              type="text"
              required
              value={title}
              onInput={(e) => {
                const t = (e.currentTarget as HTMLInputElement).value;
                setTitle(t);
                if (!sidEdited) setSid(slug(t));
              }}
            />
          </label>
          <label>
            Identifier <span class="small">(lower-case, digits and “-”; names this study in the log)</span>
            <input
              type="text"
              required
              pattern="[a-z0-9][a-z0-9._\-]{0,63}"
              value={sid}
              onInput={(e) => {
                setSid((e.currentTarget as HTMLInputElement).value);
                setSidEdited(true);
              }}
            />
          </label>
          <label for="study-purpose">Purpose</label>
          <select id="study-purpose" value={purpose} onChange={(e) => setPurpose((e.currentTarget as HTMLSelectElement).value)}>
              {(gov?.purposes ?? []).map((p) => (
                <option key={p.code} value={p.code}>
                  {p.label} ({p.code})
                </option>
              ))}
          </select>
          {purposeInfo ? <p class="small">Citizens’ consent for this purpose: {purposeInfo.consent}. Only persons whose consent allows it are counted.</p> : null}
          <label>
            Description <span class="small">(optional; what the custodians should know)</span>
            <textarea value={description} onInput={(e) => setDescription((e.currentTarget as HTMLTextAreaElement).value)} />
          </label>
        </fieldset>

        <fieldset>
          <legend>Registers and columns the study reads</legend>
          {Object.keys(schemas).length === 0 ? <p>Loading the registers …</p> : null}
          {Object.entries(schemas).map(([name, s]) => {
            const allowed = purposesOf(name);
            return (
              <details key={name} open={!!columns[name]}>
                <summary>
                  {name} <span class="small">({columns[name]?.length ?? 0} of {s.columns.length} columns chosen)</span>
                </summary>
                {allowed && purpose && !allowed.includes(purpose) ? <p class="warning">The custodian’s policy does not allow the purpose “{purpose}” for {name}.</p> : null}
                <ul class="columns">
                  {s.columns.map((c) => {
                    const r = rule(name, c.name);
                    return (
                      <li key={c.name}>
                        <label class="check">
                          <input type="checkbox" checked={columns[name]?.includes(c.name) ?? false} disabled={r.forbidden && !columns[name]?.includes(c.name)} onChange={(e) => toggle(name, c.name, (e.currentTarget as HTMLInputElement).checked)} />
                          <code>{c.name}</code> <span class="small">{r.text}</span>
                        </label>
                      </li>
                    );
                  })}
                </ul>
              </details>
            );
          })}
        </fieldset>

        <fieldset>
          <legend>Queries</legend>
          {queries.map((q, i) => (
            <div class="card" key={q.key}>
              <div class="row">
                <label>
                  Name
                  <input type="text" value={q.id} pattern="[a-z0-9][a-z0-9._\-]{0,63}" onInput={(e) => setQuery(q.key, { id: (e.currentTarget as HTMLInputElement).value })} />
                </label>
                {dp ? (
                  <label>
                    Epsilon per run
                    <input type="number" min={0.01} step={0.01} value={q.epsilon} onInput={(e) => setQuery(q.key, { epsilon: Number((e.currentTarget as HTMLInputElement).value) })} />
                  </label>
                ) : null}
                {queries.length > 1 ? (
                  <button type="button" onClick={() => setQueries((qs) => qs.filter((x) => x.key !== q.key))}>
                    Remove query {q.id}
                  </button>
                ) : null}
              </div>
              <fieldset class="inline">
                <legend class="small">Query {i + 1} is</legend>
                <label>
                  <input type="radio" name={`kind-${q.key}`} checked={q.kind === 'sql'} onChange={() => setQuery(q.key, { kind: 'sql' })} /> SQL (counts, sums, averages)
                </label>
                <label>
                  <input type="radio" name={`kind-${q.key}`} checked={q.kind === 'statistic'} onChange={() => setQuery(q.key, { kind: 'statistic' })} /> a statistic (regression, survival, …)
                </label>
              </fieldset>
              {q.kind === 'sql' ? (
                <SqlEditor initial={q.sql} onChange={(v) => setQuery(q.key, { sql: v })} schema={completion} label={`SQL of query ${i + 1}`} />
              ) : (
                <CallEditor value={q.stat} onChange={(patch) => setQuery(q.key, { stat: { ...q.stat, ...patch } })} regs={regs} id={`q${q.key}`} />
              )}
              <label>
                What it answers <span class="small">(optional)</span>
                <input type="text" value={q.description} onInput={(e) => setQuery(q.key, { description: (e.currentTarget as HTMLInputElement).value })} />
              </label>
              {checks?.find((c) => c.id === q.id.trim()) ? <QueryCheckView c={checks.find((c) => c.id === q.id.trim())!} /> : null}
            </div>
          ))}
          <div class="row">
            <button type="button" onClick={() => setQueries((qs) => [...qs, blankQuery(qs.length + 1)])}>
              Add a query
            </button>
            <button type="button" onClick={() => void check()}>
              Check the queries
            </button>
            {checks?.some((c) => c.uses.length) ? (
              <button type="button" onClick={declareUsed}>
                Declare what the queries read
              </button>
            ) : null}
          </div>
        </fieldset>

        <fieldset>
          <legend>Period and protection</legend>
          <div class="row">
            <label>
              Runs from
              <input type="date" value={from} onInput={(e) => setFrom((e.currentTarget as HTMLInputElement).value)} />
            </label>
            <label>
              until
              <input type="date" value={until} onInput={(e) => setUntil((e.currentTarget as HTMLInputElement).value)} />
            </label>
            <label>
              Smallest cell <span class="small">(optional)</span>
              <input type="number" min={1} step={1} value={minCell} onInput={(e) => setMinCell((e.currentTarget as HTMLInputElement).value)} />
            </label>
            {dp ? (
              <label>
                Privacy budget (total epsilon)
                <input type="number" min={0.01} step={0.01} value={budget} onInput={(e) => setBudget(Number((e.currentTarget as HTMLInputElement).value))} />
              </label>
            ) : null}
          </div>
          {dp ? <p class="small">Every run of a query spends its epsilon from this budget; the nodes refuse a run that would go over it (and over the custodians’ limits).</p> : null}
        </fieldset>
        <Problem error={error} />
        {busy ? <Progress text={busy} /> : null}
        <div class="row">
          <button type="submit" class="primary" disabled={!!busy}>
            Sign and submit
          </button>
          <a href="/studies">Cancel</a>
        </div>
      </form>
    </section>
  );
}

function QueryCheckView({ c }: { c: QueryCheck }) {
  return (
    <div class={c.problems.length ? 'problem' : 'checked'}>
      {c.problems.length ? (
        <>
          This query cannot run as the study stands: {c.problems.join('; ')}.
        </>
      ) : (
        <>✓ The query plans against the registers. It</>
      )}
      {c.uses.length || !c.problems.length ? <Uses uses={c.uses} /> : null}
    </div>
  );
}
