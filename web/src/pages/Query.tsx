// Writing and running a query: SQL with completion from the registers' schemas, checked here
// before anything runs (unknown columns, unsupported forms, what cannot be protected), then run:
// signed here, computed by the three nodes in MPC, each node's part sealed to a key made for this
// query in this browser, combined here. The budget left is shown before and after.
// On a governed cluster the nodes run only approved studies' queries: the page checks the SQL and
// carries it into a new study (the study page runs the approved ones).
import { useEffect, useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import type { DatasetSchema } from '../../../src/ingest/schema.js';
import { call } from '../lib/api.js';
import { remember } from '../lib/history.js';
import { checkQuery, runQuery, type BrowserResult } from '../lib/run.js';
import { STUDY_SQL_KEY } from '../lib/studies.js';
import { me } from '../state.js';
import { EpsilonField, GovernedNote, RunButtons, useAdHoc, useProgress } from '../ui/AdHoc.js';
import { Note, Problem, Progress } from '../ui/common.js';
import { ResultView } from '../ui/ResultView.js';
import { SqlEditor } from '../ui/SqlEditor.js';

const EXAMPLE = "SELECT p.region, COUNT(*) AS persons\nFROM population p\nWHERE EXISTS (SELECT 1 FROM contacts c WHERE c.person_id = p.person_id AND c.diagnosis LIKE 'E11%')\nGROUP BY p.region";

export function Query() {
  const [sqlText, setSql] = useState(() => sessionStorage.getItem('mosaik-sql') ?? EXAMPLE);
  const [schema, setSchema] = useState<Record<string, string[]>>({});
  const [check, setCheck] = useState<{ cells: number; text: string } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [result, setResult] = useState<BrowserResult | null>(null);
  const { route } = useLocation();
  const id = me.value!;
  const a = useAdHoc(id, setError);
  const { progress, track } = useProgress(setError);

  useEffect(() => {
    call<{ name: string; columns: string[] }[]>(0, '/v1/datasets').then(async (list) => {
      const out: Record<string, string[]> = {};
      for (const d of list) out[d.name] = (await call<{ schema: DatasetSchema }>(0, `/v1/datasets/${encodeURIComponent(d.name)}`)).schema.columns.map((c) => c.name);
      setSchema(out);
    }, setError);
  }, []);
  useEffect(() => sessionStorage.setItem('mosaik-sql', sqlText), [sqlText]);

  const { protectedMode, governed, epsilon } = a;
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
    const r = await track(async (onProgress) => {
      setCheck(await checkQuery(sqlText, protectedMode ? epsilon : undefined));
      return runQuery(id, { sql: sqlText, ...(protectedMode ? { epsilon } : {}) }, onProgress);
    });
    if (!r) return;
    setResult(r);
    await remember(id.name, sqlText.split('\n')[0]!.slice(0, 80), r);
    if (r.privacy) a.spent(r.privacy.remaining);
  };

  return (
    <section aria-labelledby="q-h">
      <h1 id="q-h">Query</h1>
      <Note>
        Write a query in Mosaik's SQL (README: COUNT, SUM, AVG, VARIANCE, STDDEV; WHERE, GROUP BY, JOIN and EXISTS on the person id). It is checked here first, then computed by the three nodes
        on secret shares; only its aggregates are released, and only to you.
      </Note>
      <GovernedNote a={a} runs="queries" never="SQL on its own" check="query" />
      <form onSubmit={run}>
        <SqlEditor initial={sqlText} onChange={setSql} schema={schema} label="SQL query" />
        <EpsilonField a={a} />
        <RunButtons a={a} busy={!!progress} onCheck={() => void doCheck()} onPropose={propose} />
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
