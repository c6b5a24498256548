// What the Query and Statistics pages share around an ad-hoc run: the nodes' output protection and
// the researcher's budget (GET /v1/privacy), whether the cluster is governed, the epsilon of a run
// with the budget left beside it, and the buttons: Check, then Run (un-governed) or Propose as a
// study (governed: the nodes run only approved studies' queries and statistics).
import { useEffect, useState } from 'preact/hooks';
import { call, governance, type GovernanceInfo } from '../lib/api.js';
import type { BrowserIdentity } from '../lib/keys.js';

export interface Privacy {
  protection: string;
  defaultEpsilon?: number;
  maxEpsilon?: number;
  researcherEpsilon?: number;
  remaining?: { epsilon: number };
  warning?: string;
}

export interface AdHoc {
  privacy: Privacy | null;
  gov: GovernanceInfo | null;
  /** The nodes add differential-privacy noise (the default), so a run takes an epsilon. */
  protectedMode: boolean;
  governed: boolean;
  epsilon: number;
  setEpsilon: (e: number) => void;
  /** After a run: what is left of the budget. */
  spent: (remaining: { epsilon: number }) => void;
}

export function useAdHoc(id: BrowserIdentity, onError: (e: unknown) => void): AdHoc {
  const [privacy, setPrivacy] = useState<Privacy | null>(null);
  const [gov, setGov] = useState<GovernanceInfo | null>(null);
  const [epsilon, setEpsilon] = useState(0.1);
  useEffect(() => {
    call<Privacy>(0, '/v1/privacy', { as: id }).then((p) => {
      setPrivacy(p);
      if (p.defaultEpsilon) setEpsilon(p.defaultEpsilon);
    }, onError);
    governance().then(setGov, onError);
  }, []);
  return {
    privacy, gov, epsilon, setEpsilon,
    protectedMode: privacy?.protection !== 'none',
    governed: !!gov?.governed,
    spent: (remaining) => setPrivacy((p) => (p ? { ...p, remaining } : p)),
  };
}

/** The epsilon of this run and the budget left (protected nodes), or the nodes' warning (exact ones); nothing on a governed cluster. */
export function EpsilonField({ a }: { a: AdHoc }) {
  const p = a.privacy;
  if (a.governed || !p) return null;
  if (!a.protectedMode) return p.warning ? <p class="warning">{p.warning}</p> : null;
  return (
    <div class="row">
      <label>
        Epsilon for this run
        <input type="number" min={0.01} max={p.maxEpsilon ?? 1} step={0.01} value={a.epsilon} onInput={(e) => a.setEpsilon(Number((e.currentTarget as HTMLInputElement).value))} />
      </label>
      <span class="budget">
        Your privacy budget left: <strong>epsilon {p.remaining ? Number(p.remaining.epsilon.toPrecision(3)) : '…'}</strong> of {p.researcherEpsilon}. More epsilon, less noise.
      </span>
    </div>
  );
}

/** Check; then Run (the form's submit) or, on a governed cluster, Propose as a study. */
export function RunButtons({ a, busy, onCheck, onPropose }: { a: AdHoc; busy: boolean; onCheck: () => void; onPropose: () => void }) {
  return (
    <div class="row">
      <button type="button" onClick={onCheck}>
        Check
      </button>
      {a.governed ? (
        <button type="button" class="primary" onClick={onPropose}>
          Propose as a study
        </button>
      ) : (
        // Not before the nodes have said whether they protect results (the epsilon a run sends, and
        // the note above that would otherwise move this button under the pointer as it appears).
        <button type="submit" class="primary" disabled={busy || !a.privacy || !a.gov}>
          Run
        </button>
      )}
    </div>
  );
}

/** On a governed cluster: why nothing runs here, and what to do instead. */
export function GovernedNote({ a, runs, never, check }: { a: AdHoc; runs: string; never: string; check: string }) {
  if (!a.governed) return null;
  return (
    <p class="warning" role="note">
      These nodes are governed by consortium ‘{a.gov!.consortium}’: they run only the {runs} of approved studies, never {never}. Check your {check} here, then propose it as a study for the custodians to
      approve, or run an approved one from its page under <a href="/studies">Studies</a>.
    </p>
  );
}

/** A signed run with its progress on screen: resolves with the result, or null after showing the problem. */
export function useProgress(onError: (e: unknown) => void) {
  const [progress, setProgress] = useState<{ text: string; done: number } | null>(null);
  const track = async <T,>(job: (onProgress: (text: string, done: number) => void) => Promise<T>): Promise<T | null> => {
    setProgress({ text: 'signing the request in this browser', done: 0 });
    try {
      return await job((text, done) => setProgress({ text, done }));
    } catch (e) {
      onError(e);
      return null;
    } finally {
      setProgress(null);
    }
  };
  return { progress, track };
}
