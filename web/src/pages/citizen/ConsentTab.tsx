// Consent per research purpose: the consortium's purposes with their defaults (opt-out: used unless
// you withdraw; opt-in: used only if you agree); what the consent register holds for you, asked of
// the consent custodian with a request signed by your key (../../lib/consent-state.ts: the same on
// any of your devices); your choice made here, sealed to the register's custodian and signed; it
// takes effect at the next study run once the custodian has published it (a new version of the
// consent register), which this page finds in the public log and in the register's answer.
import { useEffect, useState } from 'preact/hooks';
import { changeConsent, publishedChanges, type MyConsentChange } from '../../lib/citizen.js';
import { governance, type GovernanceInfo } from '../../lib/api.js';
import { NoConsentStateService, registerConsentState, type ConsentStateAnswer, type PurposeConsentState } from '../../lib/consent-state.js';
import { fetchEntries } from '../../lib/log-source.js';
import { Note, Problem, Progress } from '../../ui/common.js';
import type { CitizenTabProps } from './tab.js';

type Purpose = NonNullable<GovernanceInfo['purposes']>[number];
type Pending = ConsentStateAnswer['pending'][number];

const seconds = (iso: string) => Math.floor(Date.parse(iso) / 1000);
const when = (iso: string) => new Date(iso).toLocaleString();

/** Your choice for a purpose: the latest change made here, else the purpose's default. */
export function choiceFor(p: Purpose, changes: MyConsentChange[]): { allowed: boolean; change?: MyConsentChange } {
  const last = changes.filter((c) => c.purpose === p.code).sort((a, b) => a.time.localeCompare(b.time)).pop();
  return last ? { allowed: last.granted, change: last } : { allowed: p.consent === 'opt-out' };
}

/** A change newer than the register's choice in force (not yet published). */
const newer = (time: string, r?: PurposeConsentState) => !r?.since || seconds(time) > seconds(r.since);

/** What to show for a purpose: the register's state, this browser's change waiting, another device's. */
export function stateFor(p: Purpose, changes: MyConsentChange[], answer: ConsentStateAnswer | null) {
  const local = choiceFor(p, changes);
  const register = answer?.purposes.find((r) => r.purpose === p.code);
  const waitingHere = local.change && local.change.publishedIn === undefined && newer(local.change.time, register) ? local.change : undefined;
  const waitingElsewhere: Pending | undefined = answer?.pending.filter((c) => c.purpose === p.code && c.time !== local.change?.time && newer(c.time, register)).sort((a, b) => a.time.localeCompare(b.time)).pop();
  const latestWaiting = [waitingHere, waitingElsewhere].filter((c): c is Pending => !!c).sort((a, b) => a.time.localeCompare(b.time)).pop();
  const allowed = latestWaiting ? latestWaiting.granted : register ? register.granted : local.allowed;
  return { allowed, local, register, waitingHere, waitingElsewhere };
}

function RegisterSays({ r }: { r: PurposeConsentState }) {
  const what = r.granted ? 'your data may be used' : 'your data is not used';
  return <p class="small register-says">The register says: <strong>{what}</strong>{r.basis === 'default' ? ` (the default: ${r.default === 'opt-out' ? 'used unless you say no' : 'used only if you say yes'}).` : ` (your ${r.basis === 'granted' ? 'consent' : 'withdrawal'} of ${when(r.since!)}).`}</p>;
}

export function ConsentTab({ id, person }: CitizenTabProps) {
  const [purposes, setPurposes] = useState<Purpose[] | null>(null);
  const [changes, setChanges] = useState<MyConsentChange[]>([]);
  const [answer, setAnswer] = useState<ConsentStateAnswer | null>(null);
  const [asking, setAsking] = useState(true);
  const [registerError, setRegisterError] = useState<unknown>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [sent, setSent] = useState<string | null>(null);
  const askRegister = async () => {
    setAsking(true);
    try {
      setAnswer(await registerConsentState(id));
      setRegisterError(null);
    } catch (e) {
      setRegisterError(e);
    } finally {
      setAsking(false);
    }
  };
  const load = async () => {
    const g = await governance();
    setPurposes(g.purposes ?? []);
    setChanges(await publishedChanges(person, await fetchEntries(0)));
  };
  useEffect(() => {
    load().catch(setError);
    void askRegister();
  }, []);

  const toggle = async (p: Purpose, allow: boolean) => {
    setError(null);
    setSent(null);
    setBusy(p.code);
    try {
      await changeConsent(id, p.code, allow);
      setSent(`Your choice for ${p.label} was sealed for the consent register and sent. It takes effect at the next study run after the register publishes it.`);
      await Promise.all([load(), askRegister()]);
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
      {asking ? <Progress text="Asking the consent register what it holds for you …" /> : null}
      {registerError instanceof NoConsentStateService ? <Note>{registerError.message}</Note> : registerError ? (
        <div>
          <Problem error={registerError} />
          <button type="button" onClick={() => void askRegister()}>Ask the consent register again</button>
        </div>
      ) : null}
      <ul class="plain consent-list">
        {purposes.map((p) => {
          const s = stateFor(p, changes, answer);
          const c = s.local.change;
          return (
            <li key={p.code} class="card">
              <h3>{p.label}</h3>
              <p class="small">{p.consent === 'opt-out' ? 'Used unless you say no.' : 'Used only if you say yes.'}</p>
              <p>
                <span class={`badge ${s.allowed ? 'approved' : 'rejected'}`}>{s.allowed ? 'Your data may be used' : 'Your data is not used'}</span>
              </p>
              {s.register ? <RegisterSays r={s.register} /> : null}
              <button type="button" disabled={busy !== null} onClick={() => void toggle(p, !s.allowed)} aria-describedby={`st-${p.code}`}>
                {s.allowed ? `Withdraw my consent for ${p.label}` : `Give my consent for ${p.label}`}
              </button>
              <p id={`st-${p.code}`} class="small">
                {s.waitingHere
                  ? `Sent ${when(s.waitingHere.time)}; waiting for the consent register to publish it: it takes effect at the next publication.`
                  : c?.publishedIn !== undefined && (!s.register?.since || seconds(c.time) >= seconds(s.register.since)) ? `In force: published in the consent register (log entry ${c.publishedIn}).`
                  : s.register && s.register.basis !== 'default' ? 'Your choice in the register (made on this or another of your devices).'
                  : s.register || s.waitingElsewhere ? null // the register's line says it
                  : 'The default applies (you have not chosen here).'}
              </p>
              {s.waitingElsewhere ? <p class="small">A change {s.waitingElsewhere.granted ? 'giving' : 'withdrawing'} your consent, sent {when(s.waitingElsewhere.time)} (from another device), is waiting for the register to publish it.</p> : null}
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
