// Signing in: a key file of the mosaik CLI imported into this browser (it stays here, cannot be
// exported again, and signs every call), or a new key made here for an operator to register.
import { useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { importKeyFile, newIdentity } from '../lib/keys.js';
import { me, signIn, signOut } from '../state.js';
import { Note, Problem } from '../ui/common.js';

export function SignIn() {
  const [file, setFile] = useState<File | null>(null);
  const [name, setName] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [made, setMade] = useState<{ name: string; pem: string } | null>(null);
  const { route } = useLocation();

  const pick = (f: File | null) => {
    setFile(f);
    const m = f?.name.match(/^(.+?)\.ed25519\.key\.pem$/);
    if (m) setName(m[1]!);
  };

  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    if (!file) return setError(new Error('choose your key file first (…ed25519.key.pem)'));
    setBusy(true);
    try {
      const id = await importKeyFile(await file.text(), name);
      const full = await signIn(id);
      route(full.role === 'custodian' ? '/custodian' : full.role === 'auditor' ? '/log' : full.role === 'doctor' ? '/doctor' : full.role === 'citizen' ? '/citizen' : '/registers');
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const make = async () => {
    setError(null);
    if (!name.trim()) return setError(new Error('give the new identity a name first'));
    const id = await newIdentity(name.trim());
    setMade({ name: id.name, pem: id.publicKeyPem });
  };

  return (
    <section aria-labelledby="signin-h">
      <h1 id="signin-h">Sign in</h1>
      <p>
        A citizen? <a href="/citizen/signin">Sign in here</a> with your citizen key.
      </p>
      {me.value ? (
        <p>
          Signed in as <strong>{me.value.name}</strong> ({me.value.role}). <button type="button" onClick={() => void signOut()}>Sign out</button>
        </p>
      ) : null}
      <form onSubmit={submit} class="card">
        <h2>With your key file</h2>
        <Note>
          Your key stays in this browser: it is imported once, cannot be read back, and signs each request you send. The web server never receives it. On the demo,
          the key files are in <code>.mosaik/demo/identities/</code>.
        </Note>
        <label>
          Key file
          <input type="file" accept=".pem" onChange={(e) => pick((e.currentTarget as HTMLInputElement).files?.[0] ?? null)} />
        </label>
        <label>
          Your name at the nodes
          <input type="text" value={name} onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)} placeholder="e.g. researcher" autocomplete="username" />
        </label>
        <button type="submit" disabled={busy}>
          {busy ? 'Checking with the nodes …' : 'Sign in'}
        </button>
      </form>
      <div class="card">
        <h2>No key yet?</h2>
        <Note>Make one here: its private half never leaves this browser. Give the public half to the operators of the nodes, who register it.</Note>
        <button type="button" onClick={() => void make()}>
          Make a new key for “{name || '…'}”
        </button>
        {made ? (
          <div>
            <p>
              Public key of <strong>{made.name}</strong> — send it to the operators (<code>mosaik identity keygen</code> writes the same kind of entry):
            </p>
            <pre class="pem">{made.pem}</pre>
          </div>
        ) : null}
      </div>
      <Problem error={error} />
    </section>
  );
}
