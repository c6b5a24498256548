// Signing in as a citizen: with the national e-ID when the deployment advertises an identity broker
// (OpenID Connect: ../../lib/eid-login.ts; this browser makes the key, the broker vouches whose it
// is, the consent custodian registers it), or with the key file the consent custodian issued (its
// private half imported into this browser, non-extractable) and the person number. Either way the
// person number stays in this browser and goes to the nodes only as shares; this page is also where
// the broker sends the browser back. Mosaik keeps no password of its own.
import { useEffect, useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { citizenIdentity, parsePerson, savePerson } from '../../lib/citizen.js';
import { citizenLogin, finishEidLogin, isEidReturn, startEidLogin, type CitizenLogin } from '../../lib/eid-login.js';
import type { BrowserIdentity } from '../../lib/keys.js';
import { signIn } from '../../state.js';
import { Note, Problem } from '../../ui/common.js';

export function CitizenSignIn() {
  const [file, setFile] = useState<File | null>(null);
  const [person, setPerson] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [eid, setEid] = useState<CitizenLogin | undefined>(undefined);
  const [eidBusy, setEidBusy] = useState<string | null>(null);
  const { route } = useLocation();

  const enter = async (identity: BrowserIdentity, n: number) => {
    const id = await signIn(identity);
    if (id.role !== 'citizen') throw new Error(`This key belongs to a ${id.role}, not to a citizen.`);
    await savePerson(n);
    route('/citizen');
  };

  useEffect(() => {
    void citizenLogin().then(setEid, () => setEid(undefined));
    const here = new URL(location.href);
    if (!isEidReturn(here)) return;
    history.replaceState(null, '', '/citizen/signin'); // the code is used once; not left in the address bar
    setEidBusy('Registering your key with the consent register …');
    finishEidLogin(here)
      .then(({ identity, person: p }) => enter(identity, parsePerson(p)))
      .catch(setError)
      .finally(() => setEidBusy(null));
  }, []);

  const startEid = async () => {
    setError(null);
    setEidBusy('Making your key and going to the e-ID login …');
    try {
      await startEidLogin(eid!);
    } catch (err) {
      setError(err);
      setEidBusy(null);
    }
  };

  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      if (!file) throw new Error('Choose your key file first (citizen-….ed25519.key.pem).');
      const n = parsePerson(person);
      setBusy(true);
      await enter(await citizenIdentity(await file.text()), n);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="csi-h" class="citizen">
      <h1 id="csi-h">Sign in as a citizen</h1>
      {eid && (
        <div class="card">
          <h2>With your e-ID</h2>
          <button type="button" class="primary" onClick={startEid} disabled={!!eidBusy}>
            {eidBusy ?? 'Sign in with e-ID'}
          </button>
          <Note>
            This browser makes your key (it never leaves it), {eid.label ?? 'the e-ID broker'} confirms who you are, and the consent register records the key as yours. A key per device:
            signing in here again, or on another phone, adds a key and keeps the others. Mosaik keeps no password.
          </Note>
        </div>
      )}
      {!eid && eidBusy && <p role="status">{eidBusy}</p>}
      <form onSubmit={submit} class="card">
        <label>
          Your key file
          <input type="file" accept=".pem" onChange={(e) => setFile((e.currentTarget as HTMLInputElement).files?.[0] ?? null)} />
        </label>
        <label>
          Your person number (CPR)
          <input type="text" inputMode="numeric" autocomplete="off" value={person} onInput={(e) => setPerson((e.currentTarget as HTMLInputElement).value)} placeholder="0101901234" />
        </label>
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Checking with the nodes …' : 'Sign in'}
        </button>
        <Note>
          Your key stays in this browser and signs what you send. Your person number stays here too: it only ever leaves this browser split into three shares, each sealed for one node, so
          no node, and not this web server, learns it. On the demo, the key files are in <code>.mosaik/demo/citizens/</code>.
        </Note>
      </form>
      {!eid && (
        <div class="card">
          <h2>With your e-ID</h2>
          <Note>
            In production you sign in with your national e-ID (MitID, through an OpenID Connect broker): this browser makes your key, the broker confirms who you are, and the consent
            register records the key as yours. This server advertises no e-ID broker: use a key file.
          </Note>
        </div>
      )}
      <Problem error={error} />
    </section>
  );
}
