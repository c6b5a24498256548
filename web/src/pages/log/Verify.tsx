// The verification panel: whose keys are checked (the web server's, or the auditor's own
// cluster.json), the run in a Web Worker with its progress, and the verdict (./Verdict.tsx).
import { useEffect, useRef, useState } from 'preact/hooks';
import type { AuditProgress } from '../../../../src/ledger/audit.js';
import type { ClusterInfo } from '../../lib/api.js';
import { startAudit, type RunningAudit } from '../../lib/audit-client.js';
import type { Verdict } from '../../lib/log-audit.js';
import { anchorDifferences, anchorFromFile, anchorFromServer, type Anchor } from '../../lib/log-keys.js';
import { VerdictView } from './Verdict.js';

interface Props {
  anchor: Anchor | null;
  anchorError: string;
  onAnchor: (a: Anchor) => void;
  serverInfo: ClusterInfo | null;
  verdict: Verdict | null;
  onVerdict: (v: Verdict | null) => void;
  names: string[];
  onShow: (seq: number) => void;
}

const n = (x: number) => x.toLocaleString('en-US');

/** The current step of the audit in words, and how far it is (for a <progress>). */
function describe(p: AuditProgress, names: string[]): { text: string; done?: number; total?: number } {
  switch (p.phase) {
    case 'fetch':
      return { text: `Fetching ${p.label}’s copy of the log: ${n(p.done)} of ${n(p.total)} ${p.what === 'entries' ? 'entries' : 'tree heads'}`, done: p.done, total: p.total };
    case 'entries':
      return { text: `Hashing ${p.label}’s entries and checking their form: ${n(p.done)} of ${n(p.total)}`, done: p.done, total: p.total };
    case 'signatures':
      return { text: `Checking the three nodes’ signatures on each tree head (${p.threads} threads): ${n(p.done)} of ${n(p.total)} heads`, done: p.done, total: p.total };
    case 'heads':
      return { text: `Checking ${p.label}’s tree heads (signatures, and the Merkle root against the entries): ${n(p.done)} of ${n(p.total)}`, done: p.done, total: p.total };
    case 'compare':
      return { text: `Comparing the copies of ${names.join(', ')}` };
    case 'proofs':
      return { text: 'Asking each node to prove its history consistent with the latest signed head' };
    case 'rules':
      return { text: `Checking the content rules on ${p.label ?? 'the log'}’s copy` };
  }
}

export function VerifyPanel({ anchor, anchorError, onAnchor, serverInfo, verdict, onVerdict, names, onShow }: Props) {
  const [running, setRunning] = useState<RunningAudit | null>(null);
  const [progress, setProgress] = useState<{ text: string; done?: number; total?: number } | null>(null);
  const [failure, setFailure] = useState('');
  const [fileNote, setFileNote] = useState<{ text: string; bad: boolean } | null>(null);
  const result = useRef<HTMLDivElement>(null);

  useEffect(() => () => running?.stop(), [running]);

  const run = () => {
    if (!anchor) return;
    onVerdict(null);
    setFailure('');
    setProgress({ text: 'Starting …' });
    const a = startAudit({ anchor: { cluster: anchor.cluster, keys: anchor.keys, names: anchor.names }, nodes: anchor.names.map((label, party) => ({ party: party as 0 | 1 | 2, label })) }, (p) => setProgress(describe(p, [...anchor.names])));
    setRunning(a);
    a.done.then(
      (v) => {
        setRunning(null);
        setProgress(null);
        onVerdict(v);
        requestAnimationFrame(() => result.current?.focus());
      },
      (e: Error) => {
        setRunning(null);
        setProgress(null);
        if (e.message !== 'stopped') setFailure(e.message);
      },
    );
  };

  const loadFile = async (f: File | undefined) => {
    if (!f) return;
    try {
      const mine = anchorFromFile(await f.text());
      const server = serverInfo ? anchorFromServer(serverInfo) : null;
      const diff = server && !(server instanceof Error) ? anchorDifferences(server, mine) : [];
      onAnchor(mine);
      onVerdict(null);
      setFileNote(diff.length ? { bad: true, text: `Your cluster.json differs from what the web server says: ${diff.join('; ')}. The page now checks with the keys in your file.` } : { bad: false, text: `The page now checks with the keys in your file ${f.name}${server && !(server instanceof Error) ? '; they are the ones the web server gave' : ''}.` });
    } catch (e) {
      setFileNote({ bad: true, text: (e as Error).message });
    }
  };

  return (
    <section class="card verify" aria-labelledby="verify-h">
      <h2 id="verify-h">Verify the log in this browser</h2>
      <p>
        The check reads all three nodes’ copies of the log and, here in your browser: recomputes the Merkle root of the entries under every tree head, checks that all three nodes signed each
        head, that the heads and the three copies are consistent with each other, that each node can prove its history consistent with the latest head, and that every run follows the
        log’s content rules (registered and approved study, valid period, the study’s researcher, the consent version in force). It is the same code as <code>mosaik audit verify</code>.
      </p>
      <details class="keys">
        <summary>Whose signatures are checked{anchor ? ` (${anchor.source === 'file' ? 'keys from your cluster.json' : 'keys from the web server'})` : ''}</summary>
        {anchor ? (
          <dl class="fields">
            {anchor.names.map((name, p) => (
              <div key={name}>
                <dt>{name}</dt>
                <dd>
                  <code class="hash">{anchor.keys[p]}</code>
                </dd>
              </div>
            ))}
          </dl>
        ) : null}
        <p class="small">
          These public keys come from the cluster’s <code>cluster.json</code>. So as not to rely on this web server for them, compare them with your own copy, or load it:
        </p>
        <label>
          Your copy of cluster.json
          <input type="file" accept=".json,application/json" onChange={(e) => void loadFile((e.currentTarget as HTMLInputElement).files?.[0])} />
        </label>
        {fileNote ? <p class={fileNote.bad ? 'problem' : 'note'} role={fileNote.bad ? 'alert' : 'status'}>{fileNote.text}</p> : null}
      </details>
      {anchorError ? (
        <div class="problem" role="alert">
          {anchorError}
        </div>
      ) : null}
      <div class="row">
        <button type="button" class="primary" onClick={run} disabled={!anchor || !!running}>
          {verdict ? 'Verify again' : 'Verify the log'}
        </button>
        {running ? (
          <button type="button" onClick={() => running.stop()}>
            Stop
          </button>
        ) : null}
      </div>
      {progress ? (
        <div class="progress" role="status" aria-live="polite">
          {progress.total ? <progress max={progress.total} value={progress.done ?? 0} aria-label="verification progress" /> : <span class="spinner" aria-hidden="true" />}
          <span>{progress.text}</span>
        </div>
      ) : null}
      {failure ? (
        <div class="problem" role="alert">
          The verification could not run: {failure}
        </div>
      ) : null}
      <div ref={result} tabIndex={-1} class="verdict-anchor">
        {verdict ? <VerdictView v={verdict} names={names} onShow={onShow} /> : null}
      </div>
    </section>
  );
}
