// Signing in as a citizen: the key file the consent custodian issued (its private half is imported
// into this browser, non-extractable) and the person number, which stays in this browser and goes
// to the nodes only as shares. Production signs citizens in through the national e-ID broker
// (OpenID Connect: src/governance/citizen-oidc.ts); Mosaik keeps no password of its own.
import { useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { citizenIdentity, parsePerson, savePerson } from '../../lib/citizen.js';
import { signIn } from '../../state.js';
import { Note, Problem } from '../../ui/common.js';

export function CitizenSignIn() {
  const [file, setFile] = useState<File | null>(null);
  const [person, setPerson] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const { route } = useLocation();

  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      if (!file) throw new Error('Choose your key file first (citizen-….ed25519.key.pem).');
      const n = parsePerson(person);
      setBusy(true);
      const id = await signIn(await citizenIdentity(await file.text()));
      if (id.role !== 'citizen') throw new Error(`This key belongs to a ${id.role}, not to a citizen.`);
      await savePerson(n);
      route('/citizen');
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="csi-h" class="citizen">
      <h1 id="csi-h">Sign in as a citizen</h1>
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
      <div class="card">
        <h2>With your e-ID</h2>
        <Note>
          In production you sign in with your national e-ID (MitID, through an OpenID Connect broker): this browser makes your key, the broker confirms who you are, and the consent
          register records the key as yours. Mosaik keeps no password. The demo has no e-ID broker: use a key file.
        </Note>
        <button type="button" disabled>
          Sign in with e-ID (not on the demo)
        </button>
      </div>
      <Problem error={error} />
    </section>
  );
}
