// Grants for doctors: let a named doctor (a member of the consortium, possibly abroad) read your
// record for a period; revoke a grant at any time. Each grant and revocation is signed here.
import { useEffect, useState } from 'preact/hooks';
import { governance } from '../../lib/api.js';
import { grantDoctor, listGrants, revokeGrant } from '../../lib/citizen.js';
import type { ListedGrant } from '../../../../src/governance/record-format.js';
import { Note, Problem, Progress } from '../../ui/common.js';
import type { CitizenTabProps } from './tab.js';

export function grantState(g: ListedGrant, now = Date.now()): string {
  if (g.revoked) return `revoked ${new Date(g.revoked).toLocaleDateString()}`;
  if (now >= Date.parse(g.grant.grant.validUntil)) return 'expired';
  if (now < Date.parse(g.grant.grant.validFrom)) return 'not yet valid';
  return 'active';
}

export function DoctorsTab({ id }: CitizenTabProps) {
  const [doctors, setDoctors] = useState<string[]>([]);
  const [doctor, setDoctor] = useState('');
  const [days, setDays] = useState('30');
  const [grants, setGrants] = useState<ListedGrant[] | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<string | null>(null);
  const load = async () => setGrants(await listGrants(id));
  useEffect(() => {
    governance().then((g) => {
      const ds = (g.members ?? []).filter((m) => m.role === 'doctor').map((m) => m.name);
      setDoctors(ds);
      setDoctor(ds[0] ?? '');
    }, setError);
    load().catch(setError);
  }, []);
  const act = async (f: () => Promise<string>) => {
    setError(null);
    setDone(null);
    setBusy(true);
    try {
      setDone(await f());
      await load();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const grant = (e: Event) => {
    e.preventDefault();
    void act(async () => {
      const g = await grantDoctor(id, doctor, Number(days));
      return `${doctor} may read your record until ${new Date(g.grant.validUntil).toLocaleDateString()}. Tell your doctor your person number; every read is logged for you.`;
    });
  };
  return (
    <div>
      <Note>A doctor reads your record only under a grant you signed, only while it lasts and until you revoke it. The nodes check the grant one by one and never learn whose record it is.</Note>
      <form class="card" onSubmit={grant}>
        <h3>Give a doctor access</h3>
        <label>
          Doctor
          <select value={doctor} onChange={(e) => setDoctor((e.currentTarget as HTMLSelectElement).value)}>
            {doctors.map((d) => (
              <option key={d} value={d}>
                {d}
              </option>
            ))}
          </select>
        </label>
        <label>
          For
          <select value={days} onChange={(e) => setDays((e.currentTarget as HTMLSelectElement).value)}>
            <option value="1">one day</option>
            <option value="7">one week</option>
            <option value="30">30 days</option>
            <option value="90">90 days</option>
          </select>
        </label>
        <button type="submit" class="primary" disabled={busy || !doctor}>
          Sign and give access
        </button>
      </form>
      {busy ? <Progress text="Signing and registering at the three nodes …" /> : null}
      {done ? <p class="done" role="status">{done}</p> : null}
      <Problem error={error} />
      <h3>Your grants</h3>
      {!grants ? <Progress text="Loading …" /> : grants.length === 0 ? <p>You have given no doctor access.</p> : null}
      <ul class="plain">
        {(grants ?? []).map((g) => {
          const state = grantState(g);
          return (
            <li key={g.grant.grant.id} class="card">
              <strong>{g.grant.grant.doctor}</strong> · {new Date(g.grant.grant.validFrom).toLocaleDateString()} – {new Date(g.grant.grant.validUntil).toLocaleDateString()} · <span class={`badge ${state === 'active' ? 'approved' : 'rejected'}`}>{state}</span>
              {state === 'active' ? (
                <p>
                  <button type="button" disabled={busy} onClick={() => void act(async () => (await revokeGrant(id, g.grant.grant.id), `The grant for ${g.grant.grant.doctor} is revoked at every node.`))}>
                    Revoke {g.grant.grant.doctor}'s access
                  </button>
                </p>
              ) : null}
            </li>
          );
        })}
      </ul>
    </div>
  );
}
