// Writing and running a query: SQL with completion from the registers' schemas, checked here
// before anything runs (unknown columns, unsupported forms, what cannot be protected), then run:
// signed here, computed by the three nodes in MPC, each node's part sealed to a key made for this
// query in this browser, combined here. The budget left is shown before and after.
// On a governed cluster the nodes run only approved studies' queries: the page checks the SQL and
// carries it into a new study (the study page runs the approved ones).
import { useEffect, useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import type { DatasetSchema } from '../../../src/ingest/schema.js';
import { call, governance, type GovernanceInfo } from '../lib/api.js';
import { remember } from '../lib/history.js';
import { checkQuery, runQuery, type BrowserResult } from '../lib/run.js';
import { STUDY_SQL_KEY } from '../lib/studies.js';
import { me } from '../state.js';
import { Note, Problem, Progress } from '../ui/common.js';
import { ResultView } from '../ui/ResultView.js';
import { SqlEditor } from '../ui/SqlEditor.js';

const EXAMPLE = "SELECT p.region, COUNT(*) AS persons\nFROM population p\nWHERE EXISTS (SELECT 1 FROM contacts c WHERE c.person_id = p.person_id AND c.diagnosis LIKE 'E11%')\nGROUP BY p.region";

interface Privacy {
  protection: string;
  defaultEpsilon?: number;
  maxEpsilon?: number;
  researcherEpsilon?: number;
  remaining?: { epsilon: number };
  warning?: string;
}

export function Query() {
  const [sqlText, setSql] = useState(() => sessionStorage.getItem('mosaik-sql') ?? EXAMPLE);
  const [schema, setSchema] = useState<Record<string, string[]>>({});
  const [privacy, setPrivacy] = useState<Privacy | null>(null);
  const [epsilon, setEpsilon] = useState(0.1);
  const [check, setCheck] = useState<{ cells: number; text: string } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [progress, setProgress] = useState<{ text: string; done: number } | null>(null);
  const [result, setResult] = useState<BrowserResult | null>(null);
  const [gov, setGov] = useState<GovernanceInfo | null>(null);
  const { route } = useLocation();
  const id = me.value!;

  useEffect(() => {
    call<{ name: string; columns: string[] }[]>(0, '/v1/datasets').then(async (list) => {
      const out: Record<string, string[]> = {};
      for (const d of list) out[d.name] = (await call<{ schema: DatasetSchema }>(0, `/v1/datasets/${encodeURIComponent(d.name)}`)).schema.columns.map((c) => c.name);
      setSchema(out);
    }, setError);
    call<Privacy>(0, '/v1/privacy', { as: id }).then((p) => {
      setPrivacy(p);
      if (p.defaultEpsilon) setEpsilon(p.defaultEpsilon);
    }, setError);
    governance().then(setGov, setError);
  }, []);
  useEffect(() => sessionStorage.setItem('mosaik-sql', sqlText), [sqlText]);

  const protectedMode = privacy?.protection !== 'none';
  const governed = !!gov?.governed;
  const propose = () => {
    sessionStorage.setItem(STUDY_SQL_KEY, sqlText);
    route('/studies/new');
  };
  const doCheck = async () => {
    setError(null);
    setCheck(null);
    try {
      setCheck(await checkQuery(sqlText, protectedMode ? epsilon : undefined));
    } catch (e) {
      setError(e);
    }
  };
  const run = async (e: Event) => {
    e.preventDefault();
    if (governed) return void doCheck(); // the nodes would refuse it: check only
    setError(null);
    setResult(null);
    try {
      setCheck(await checkQuery(sqlText, protectedMode ? epsilon : undefined));
      setProgress({ text: 'signing the request in this browser', done: 0 });
      const r = await runQuery(id, { sql: sqlText, ...(protectedMode ? { epsilon } : {}) }, (text, done) => setProgress({ text, done }));
      setResult(r);
      await remember(id.name, sqlText.split('\n')[0]!.slice(0, 80), r);
      if (r.privacy) setPrivacy((p) => (p ? { ...p, remaining: r.privacy!.remaining } : p));
    } catch (err) {
      setError(err);
    } finally {
      setProgress(null);
    }
  };

  return (
    <section aria-labelledby="q-h">
      <h1 id="q-h">Query</h1>
      <Note>
        Write a query in Mosaik's SQL (README: COUNT, SUM, AVG, VARIANCE, STDDEV; WHERE, GROUP BY, JOIN and EXISTS on the person id). It is checked here first, then computed by the three nodes
        on secret shares; only its aggregates are released, and only to you.
      </Note>
      {governed ? (
        <p class="warning" role="note">
          These nodes are governed by consortium ‘{gov!.consortium}’: they run only the queries of approved studies, never SQL on its own. Check your query here, then propose it as a study for the
          custodians to approve, or run an approved one from its page under <a href="/studies">Studies</a>.
        </p>
      ) : null}
      <form onSubmit={run}>
        <SqlEditor initial={sqlText} onChange={setSql} schema={schema} label="SQL query" />
        {governed ? null : protectedMode && privacy ? (
          <div class="row">
            <label>
              Epsilon for this run
              <input type="number" min={0.01} max={privacy.maxEpsilon ?? 1} step={0.01} value={epsilon} onInput={(e) => setEpsilon(Number((e.currentTarget as HTMLInputElement).value))} />
            </label>
            <span class="budget">
              Your privacy budget left: <strong>epsilon {privacy.remaining ? Number(privacy.remaining.epsilon.toPrecision(3)) : '…'}</strong> of {privacy.researcherEpsilon}. More epsilon, less noise.
            </span>
          </div>
        ) : privacy?.warning ? (
          <p class="warning">{privacy.warning}</p>
        ) : null}
        <div class="row">
          <button type="button" onClick={() => void doCheck()}>
            Check
          </button>
          {governed ? (
            <button type="button" class="primary" onClick={propose}>
              Propose as a study
            </button>
          ) : (
            <button type="submit" class="primary" disabled={!!progress}>
              Run
            </button>
          )}
        </div>
      </form>
      {check ? <p class="checked">✓ The nodes can run this: {check.cells} cell{check.cells === 1 ? '' : 's'}. {check.text}</p> : null}
      <Problem error={error} />
      {progress ? <Progress text={progress.text} done={progress.done} of={3} /> : null}
      {result ? (
        <>
          <h2>Result</h2>
          <ResultView r={result} />
          <p class="small">
            Job <code>{result.job}</code>; combined in this browser from the three nodes' sealed shares. {result.privacy ? `This run cost epsilon ${Number(result.privacy.cost.epsilon.toPrecision(3))}.` : ''}
          </p>
        </>
      ) : null}
    </section>
  );
}
