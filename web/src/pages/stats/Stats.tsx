// Statistics as an epidemiologist runs them in R (glm, coxph, survfit, lm, …) on an analysis table
// over linked registers: the call is checked here on the public schemas with the nodes' own planner
// (unknown column, too many parameters, what the protection adds), then signed here, computed by
// the three nodes in MPC, each node's share sealed to a key made for this run in this browser, and
// combined and decoded here with the CLI's code. On a governed cluster the nodes run only approved
// studies' statistics: the page checks the call and carries it into a new study.
import { useEffect, useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { statisticText } from '../../../../src/stats/statistic.js';
import type { Registers } from '../../lib/run.js';
import { checkStatistic, EXAMPLE_FIELDS, loadRegisters, requestOf, runStatistic, STUDY_STAT_KEY, type BrowserStat, type StatCheck, type StatFields } from '../../lib/stats.js';
import { remember } from '../../lib/history.js';
import { me } from '../../state.js';
import { EpsilonField, GovernedNote, RunButtons, useAdHoc, useProgress } from '../../ui/AdHoc.js';
import { Note, Problem, Progress } from '../../ui/common.js';
import { CallEditor } from './CallEditor.js';
import { StatResultView } from './StatResultView.js';

const FIELDS_KEY = 'mosaik-stat-fields';

export function Stats() {
  const id = me.value!;
  const { route } = useLocation();
  const [fields, setFields] = useState<StatFields>(() => ({ ...EXAMPLE_FIELDS, ...(JSON.parse(sessionStorage.getItem(FIELDS_KEY) ?? '{}') as Partial<StatFields>) }));
  const [registers, setRegisters] = useState<{ regs: Registers; rows: Record<string, number> } | null>(null);
  const [check, setCheck] = useState<StatCheck | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [result, setResult] = useState<BrowserStat | null>(null);
  const a = useAdHoc(id, setError);
  const { progress, track } = useProgress(setError);
  const { protectedMode, governed, epsilon } = a;

  useEffect(() => {
    loadRegisters().then(setRegisters, setError);
  }, []);
  useEffect(() => sessionStorage.setItem(FIELDS_KEY, JSON.stringify(fields)), [fields]);

  const change = (patch: Partial<StatFields>) => {
    setFields((f) => ({ ...f, ...patch }));
    setCheck(null);
  };
  /** Plans the call here; shows what the nodes will compute, or why they would refuse it. */
  const doCheck = async (): Promise<StatCheck | null> => {
    setError(null);
    setCheck(null);
    try {
      const regs = registers ?? (await loadRegisters());
      const c = checkStatistic(requestOf(fields), regs.regs, regs.rows, protectedMode ? epsilon : undefined);
      setCheck(c);
      return c;
    } catch (e) {
      setError(e);
      return null;
    }
  };
  const propose = async () => {
    if (!(await doCheck())) return;
    sessionStorage.setItem(STUDY_STAT_KEY, statisticText(requestOf(fields)));
    route('/studies/new');
  };
  const run = async (e: Event) => {
    e.preventDefault();
    if (governed) return void doCheck(); // the nodes would refuse it: check only
    setResult(null);
    if (!(await doCheck())) return;
    const r = await track((onProgress) => runStatistic(id, { statistic: statisticText(requestOf(fields)), ...(protectedMode ? { epsilon } : {}) }, onProgress));
    if (!r) return;
    setResult(r);
    await remember(id.name, r.result.call, r);
    if (r.privacy) a.spent(r.privacy.remaining);
  };

  return (
    <section aria-labelledby="st-h" class="stats">
      <h1 id="st-h">Statistics</h1>
      <Note>
        Regression tables, odds and hazard ratios and survival curves as R computes them, on an analysis table over the linked registers. Every step runs inside MPC at the three nodes; only the
        estimates are released, and only to you.
      </Note>
      <GovernedNote a={a} runs="statistics" never="a call on its own" check="call" />
      <form onSubmit={run}>
        <CallEditor value={fields} onChange={change} regs={registers?.regs ?? null} id="stat" />
        <EpsilonField a={a} />
        <RunButtons a={a} busy={!!progress} onCheck={() => void doCheck()} onPropose={() => void propose()} />
      </form>
      {check ? <CheckView c={check} /> : null}
      <Problem error={error} />
      {progress ? <Progress text={progress.text} done={progress.done} of={3} /> : null}
      {result ? (
        <>
          <h2>Result</h2>
          <StatResultView r={result} />
        </>
      ) : null}
    </section>
  );
}

export function CheckView({ c }: { c: StatCheck }) {
  return (
    <div class="checked" role="status">
      <p>✓ The nodes can run this. {c.summary}</p>
      {c.parameters.length ? (
        <p class="small">
          Parameters: {c.parameters.map((p, i) => (
            <span key={p}>
              {i ? ', ' : ''}
              <code>{p}</code>
            </span>
          ))}
        </p>
      ) : null}
      <p class="small">{c.protection}</p>
    </div>
  );
}
