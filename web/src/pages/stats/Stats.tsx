// Statistics as an epidemiologist runs them in R (glm, coxph, survfit, lm, …) on an analysis table
// over linked registers: the call is checked here on the public schemas with the nodes' own planner
// (unknown column, too many parameters, what the protection adds), then signed here, computed by
// the three nodes in MPC, each node's share sealed to a key made for this run in this browser, and
// combined and decoded here with the CLI's code. On a governed cluster the nodes run only approved
// studies' statistics: the page checks the call and carries it into a new study.
import { useEffect, useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { statisticText } from '../../../../src/stats/statistic.js';
import { call, governance, type GovernanceInfo } from '../../lib/api.js';
import type { Registers } from '../../lib/run.js';
import { checkStatistic, EXAMPLE_FIELDS, loadRegisters, requestOf, runStatistic, STUDY_STAT_KEY, type BrowserStat, type StatCheck, type StatFields } from '../../lib/stats.js';
import { me } from '../../state.js';
import { Note, Problem, Progress } from '../../ui/common.js';
import { CallEditor } from './CallEditor.js';
import { StatResultView } from './StatResultView.js';

interface Privacy {
  protection: string;
  defaultEpsilon?: number;
  maxEpsilon?: number;
  researcherEpsilon?: number;
  remaining?: { epsilon: number };
  warning?: string;
}

const FIELDS_KEY = 'mosaik-stat-fields';

export function Stats() {
  const id = me.value!;
  const { route } = useLocation();
  const [fields, setFields] = useState<StatFields>(() => ({ ...EXAMPLE_FIELDS, ...(JSON.parse(sessionStorage.getItem(FIELDS_KEY) ?? '{}') as Partial<StatFields>) }));
  const [registers, setRegisters] = useState<{ regs: Registers; rows: Record<string, number> } | null>(null);
  const [privacy, setPrivacy] = useState<Privacy | null>(null);
  const [gov, setGov] = useState<GovernanceInfo | null>(null);
  const [epsilon, setEpsilon] = useState(0.1);
  const [check, setCheck] = useState<StatCheck | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [progress, setProgress] = useState<{ text: string; done: number } | null>(null);
  const [result, setResult] = useState<BrowserStat | null>(null);

  useEffect(() => {
    loadRegisters().then(setRegisters, setError);
    call<Privacy>(0, '/v1/privacy', { as: id }).then((p) => {
      setPrivacy(p);
      if (p.defaultEpsilon) setEpsilon(p.defaultEpsilon);
    }, setError);
    governance().then(setGov, setError);
  }, []);
  useEffect(() => sessionStorage.setItem(FIELDS_KEY, JSON.stringify(fields)), [fields]);

  const protectedMode = privacy?.protection !== 'none';
  const governed = !!gov?.governed;
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
    try {
      setProgress({ text: 'signing the request in this browser', done: 0 });
      const r = await runStatistic(id, { statistic: statisticText(requestOf(fields)), ...(protectedMode ? { epsilon } : {}) }, (text, done) => setProgress({ text, done }));
      setResult(r);
      if (r.privacy) setPrivacy((p) => (p ? { ...p, remaining: r.privacy!.remaining } : p));
    } catch (err) {
      setError(err);
    } finally {
      setProgress(null);
    }
  };

  return (
    <section aria-labelledby="st-h" class="stats">
      <h1 id="st-h">Statistics</h1>
      <Note>
        Regression tables, odds and hazard ratios and survival curves as R computes them, on an analysis table over the linked registers. Every step runs inside MPC at the three nodes; only the
        estimates are released, and only to you.
      </Note>
      {governed ? (
        <p class="warning" role="note">
          These nodes are governed by consortium ‘{gov!.consortium}’: they run only the statistics of approved studies, never a call on its own. Check your call here, then propose it as a study for the
          custodians to approve, or run an approved one from its page under <a href="/studies">Studies</a>.
        </p>
      ) : null}
      <form onSubmit={run}>
        <CallEditor value={fields} onChange={change} regs={registers?.regs ?? null} id="stat" />
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
            <button type="button" class="primary" onClick={() => void propose()}>
              Propose as a study
            </button>
          ) : (
            <button type="submit" class="primary" disabled={!!progress}>
              Run
            </button>
          )}
        </div>
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
