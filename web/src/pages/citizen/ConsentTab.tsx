// Consent per research purpose: the consortium's purposes with their defaults (opt-out: used unless
// you withdraw; opt-in: used only if you agree), your choice made here, sealed to the consent
// register's custodian and signed; it takes effect at the next study run once the custodian has
// published it (a new version of the consent register), which this page finds in the public log.
import { useEffect, useState } from 'preact/hooks';
import { changeConsent, publishedChanges, type MyConsentChange } from '../../lib/citizen.js';
import { governance, type GovernanceInfo } from '../../lib/api.js';
import { fetchEntries } from '../../lib/log-source.js';
import { Note, Problem, Progress } from '../../ui/common.js';
import type { CitizenTabProps } from './tab.js';

type Purpose = NonNullable<GovernanceInfo['purposes']>[number];

/** Your choice for a purpose: the latest change made here, else the purpose's default. */
export function choiceFor(p: Purpose, changes: MyConsentChange[]): { allowed: boolean; change?: MyConsentChange } {
  const last = changes.filter((c) => c.purpose === p.code).sort((a, b) => a.time.localeCompare(b.time)).pop();
  return last ? { allowed: last.granted, change: last } : { allowed: p.consent === 'opt-out' };
}

export function ConsentTab({ id, person }: CitizenTabProps) {
  const [purposes, setPurposes] = useState<Purpose[] | null>(null);
  const [changes, setChanges] = useState<MyConsentChange[]>([]);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [sent, setSent] = useState<string | null>(null);
  const load = async () => {
    const g = await governance();
    setPurposes(g.purposes ?? []);
    setChanges(await publishedChanges(person, await fetchEntries(0)));
  };
  useEffect(() => {
    load().catch(setError);
  }, []);

  const toggle = async (p: Purpose, allow: boolean) => {
    setError(null);
    setSent(null);
    setBusy(p.code);
    try {
      await changeConsent(id, p.code, allow);
      setSent(`Your choice for ${p.label} was sealed for the consent register and sent. It takes effect at the next study run after the register publishes it.`);
      await load();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(null);
    }
  };

  if (!purposes) return error ? <Problem error={error} /> : <Progress text="Loading the research purposes …" />;
  return (
    <div>
      <Note>Choose what your data may be used for. Only the consent register's custodian can read your choice; the compute nodes apply it inside the encrypted computation, without learning who you are.</Note>
      <ul class="plain consent-list">
        {purposes.map((p) => {
          const c = choiceFor(p, changes);
          return (
            <li key={p.code} class="card">
              <h3>{p.label}</h3>
              <p class="small">{p.consent === 'opt-out' ? 'Used unless you say no.' : 'Used only if you say yes.'}</p>
              <p>
                <span class={`badge ${c.allowed ? 'approved' : 'rejected'}`}>{c.allowed ? 'Your data may be used' : 'Your data is not used'}</span>
              </p>
              <button type="button" disabled={busy !== null} onClick={() => void toggle(p, !c.allowed)} aria-describedby={`st-${p.code}`}>
                {c.allowed ? `Withdraw my consent for ${p.label}` : `Give my consent for ${p.label}`}
              </button>
              <p id={`st-${p.code}`} class="small">
                {!c.change ? 'The default applies (you have not chosen here).' : c.change.publishedIn !== undefined ? `In force: published in the consent register (log entry ${c.change.publishedIn}).` : `Sent ${new Date(c.change.time).toLocaleString()}; waiting for the consent register to publish it.`}
              </p>
              {busy === p.code ? <Progress text="Sealing and sending your choice …" /> : null}
            </li>
          );
        })}
      </ul>
      {sent ? <p class="done" role="status">{sent}</p> : null}
      <Problem error={error} />
    </div>
  );
}
