// The weekly questionnaire (EQ-5D-5L): checked here, split into shares here, each node's shares
// sealed to that node; no server sees an answer. The nodes add it to the patient-reported register
// after checking, inside the encrypted computation, that it is yours.
import { useEffect, useState } from 'preact/hooks';
import { EQ5D_DIMENSIONS, eq5dProblems, type Eq5dAnswers } from '../../../../src/governance/patient-reported.js';
import { mySubmissions, submitEq5d, type Submitted } from '../../lib/citizen.js';
import { Note, Problem, Progress } from '../../ui/common.js';
import type { CitizenTabProps } from './tab.js';

export function QuestionnaireTab({ id, person }: CitizenTabProps) {
  const [answers, setAnswers] = useState<Partial<Eq5dAnswers>>({ date: new Date().toISOString().slice(0, 10) });
  const [problems, setProblems] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<Submitted | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [past, setPast] = useState<(Submitted & { time: string })[]>([]);
  const load = () => mySubmissions(id).then(setPast, setError);
  useEffect(() => void load(), []);
  const set = (k: string, v: number | string) => setAnswers({ ...answers, [k]: v });
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    setResult(null);
    const p = eq5dProblems(answers);
    setProblems(p);
    if (p.length) return;
    setBusy(true);
    try {
      setResult(await submitEq5d(id, person, answers as Eq5dAnswers));
      await load();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form onSubmit={submit} class="questionnaire" noValidate>
      <Note>Under each heading, choose the one statement that best describes your health today. Your answers are split into three shares in this browser, each sealed for one node.</Note>
      {EQ5D_DIMENSIONS.map((d) => (
        <fieldset key={d.column}>
          <legend>{d.label}</legend>
          {d.levels.map((text, i) => (
            <label key={i} class="check">
              <input type="radio" name={d.column} value={i + 1} checked={answers[d.column] === i + 1} onChange={() => set(d.column, i + 1)} />
              {text}
            </label>
          ))}
        </fieldset>
      ))}
      <label>
        Your health today, from 0 (the worst you can imagine) to 100 (the best)
        <input type="number" min={0} max={100} step={1} value={answers.vas ?? ''} onInput={(e) => set('vas', Number((e.currentTarget as HTMLInputElement).value))} />
      </label>
      <label>
        Date
        <input type="date" value={answers.date ?? ''} onInput={(e) => set('date', (e.currentTarget as HTMLInputElement).value)} />
      </label>
      {problems.length ? (
        <div class="problem" role="alert">
          Please check:
          <ul>
            {problems.map((p) => (
              <li key={p}>{p}</li>
            ))}
          </ul>
        </div>
      ) : null}
      <button type="submit" class="primary" disabled={busy}>
        Send my answers
      </button>
      {busy ? <Progress text="Splitting, sealing and sending your answers; the nodes check they are yours …" /> : null}
      {result ? (
        <p class={result.status === 'added' ? 'done' : 'problem'} role="status">
          {result.status === 'added' ? 'Thank you: your answers were added to the patient-reported register.' : `Not added: ${result.error ?? result.status}`}
        </p>
      ) : null}
      <Problem error={error} />
      {past.length ? <p class="small">You have sent {past.length} questionnaire{past.length > 1 ? 's' : ''}; the last on {new Date(past[0]!.time).toLocaleDateString()} ({past[0]!.status}).</p> : null}
    </form>
  );
}
