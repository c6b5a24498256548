// One entry's inclusion proof (RFC 9162 §2.1.3), checked in this browser (../../lib/inclusion.ts):
// "included in head N, signed by all three nodes", each node's signature and audit path, and the
// hashes for those who want to recompute them.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Party } from '../../../../src/ledger/audit.js';
import type { LedgerEntry } from '../../../../src/ledger/entry.js';
import type { SignedHead } from '../../../../src/ledger/heads.js';
import { checkInclusion, type InclusionCheck } from '../../lib/inclusion.js';
import type { Anchor } from '../../lib/log-keys.js';
import { when } from '../../lib/log-text.js';
import { Progress } from '../../ui/common.js';

interface Props {
  entry: LedgerEntry;
  anchor: Anchor;
  names: string[];
  source: Party;
  top?: SignedHead;
}

export function Inclusion({ entry, anchor, names, source, top }: Props) {
  const [r, setR] = useState<InclusionCheck | null>(null);
  const [error, setError] = useState('');
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    let live = true;
    setR(null);
    setError('');
    checkInclusion(entry, anchor, top).then(
      (x) => {
        if (!live) return;
        setR(x);
        requestAnimationFrame(() => box.current?.focus());
      },
      (e: Error) => live && setError(e.message),
    );
    return () => {
      live = false;
    };
  }, [entry, anchor, top]);

  if (error) return <div class="problem" role="alert">The proof could not be checked: {error}</div>;
  if (!r) return <Progress text={`Checking that entry ${entry.seq} is in the signed log …`} />;
  const signedByAll = r.signatures.length === 3 && r.signatures.every((s) => s.ok);
  return (
    <div class={`inclusion ${r.ok ? 'proved' : 'unproved'}`} ref={box} tabIndex={-1} role="region" aria-label={`Inclusion proof of entry ${r.seq}`}>
      {r.ok && r.head ? (
        <p class="ok-box" role="status">
          <strong>
            ✓ Entry {r.seq} is included in head {r.head.size.toLocaleString('en-US')}, signed by all three nodes.
          </strong>{' '}
          The head covers the log’s first {r.head.size.toLocaleString('en-US')} entries and was signed {when(r.head.timestamp)}; each node’s proof leads from this entry’s hash to the head’s root.
        </p>
      ) : (
        <p class="problem" role="alert">
          <strong>✗ Entry {r.seq}, as {names[source]} holds it, is not proved to be in the signed log.</strong> {r.problem}
        </p>
      )}
      {r.head ? (
        <ul class="plain checks">
          {r.signatures.map((s) => (
            <li key={`s${s.party}`} class={s.ok ? 'ok' : 'bad'}>
              {s.ok ? '✓' : '✗'} {s.name}’s signature on head {r.head!.size.toLocaleString('en-US')} {s.ok ? 'verifies' : `fails: ${s.problem}`}
            </li>
          ))}
          {r.proofs.map((p) => (
            <li key={`p${p.party}`} class={p.ok ? 'ok' : 'bad'}>
              {p.ok ? '✓' : '✗'} {p.name}’s proof{p.path ? ` (${p.path.length} hash${p.path.length === 1 ? '' : 'es'})` : ''} {p.ok ? 'verifies' : p.error ? `is missing: ${p.error}` : 'does not verify'}
            </li>
          ))}
        </ul>
      ) : null}
      {!signedByAll && r.head ? <p class="problem">The head is not signed by all three nodes.</p> : null}
      <details>
        <summary>The hashes (RFC 9162 §2.1.3)</summary>
        <dl class="fields">
          <div>
            <dt>This entry’s leaf hash</dt>
            <dd>
              <code class="hash">{r.leafHash}</code>
            </dd>
          </div>
          {r.head ? (
            <div>
              <dt>Root of head {r.head.size}</dt>
              <dd>
                <code class="hash">{r.head.rootHash}</code>
              </dd>
            </div>
          ) : null}
          {r.proofs
            .filter((p) => p.path)
            .map((p) => (
              <div key={p.party}>
                <dt>{p.name}’s audit path</dt>
                <dd>
                  <ol class="path">
                    {p.path!.map((h, i) => (
                      <li key={i}>
                        <code class="hash">{h}</code>
                      </li>
                    ))}
                  </ol>
                </dd>
              </div>
            ))}
        </dl>
      </details>
    </div>
  );
}
