// The verdict of a verification in plain language: does the log verify; if not, what exactly is
// wrong (which check, which node, which entry or head), where the nodes' copies differ, each node's
// copy in one line, the warnings, and the exact report sentences (as `mosaik audit verify` prints).
import type { Finding } from '../../../../src/ledger/verify.js';
import type { Disagreement } from '../../../../src/ledger/audit.js';
import type { Verdict } from '../../lib/log-audit.js';
import { CHECK_TITLE, plain, when, words } from '../../lib/log-text.js';

const n = (x: number) => x.toLocaleString('en-US');
const plural = (k: number, one: string, many = `${one}s`) => `${n(k)} ${k === 1 ? one : many}`;

/** "node-b's copy of entry 4 differs from node-a's and node-c's" (or all three differ). */
export function disagreementText(d: Disagreement): string {
  const [major, ...others] = d.copies;
  if (major && major.replicas.length > 1) {
    return `${words(others.flatMap((o) => o.replicas).map((r) => `${r}’s`))} copy of entry ${d.seq} differs from ${words(major.replicas.map((r) => `${r}’s`))}`;
  }
  return `Every node holds a different version of entry ${d.seq}`;
}

function FindingCard({ f, names, onShow }: { f: Finding; names: string[]; onShow: (seq: number) => void }) {
  if (f.check === 'more') return <li class="finding more">{f.message}</li>;
  return (
    <li class={`finding check-${f.check}`}>
      <strong>{CHECK_TITLE[f.check]}</strong>
      <p>{plain(f, names)}</p>
      <p class="where">
        {f.replica ? <span class="chip">Node: {f.replica}</span> : null}
        {f.replicas ? <span class="chip">Nodes: {f.replicas.join(', ')}</span> : null}
        {f.party !== undefined ? <span class="chip">Signature of: {names[f.party]}</span> : null}
        {f.head !== undefined ? <span class="chip">Head #{f.head}</span> : null}
        {f.seq !== undefined ? (
          <button type="button" class="chip link" onClick={() => onShow(f.seq!)}>
            Show entry {f.seq}
            {f.seqTo !== undefined && f.seqTo !== f.seq ? ` (of ${f.seq}–${f.seqTo})` : ''}
          </button>
        ) : null}
      </p>
      <p class="small exact-line">{f.message}</p>
    </li>
  );
}

export function VerdictView({ v, names, onShow }: { v: Verdict; names: string[]; onShow: (seq: number) => void }) {
  const entries = Math.max(0, ...v.replicas.map((r) => r.size));
  const heads = Math.max(0, ...v.replicas.map((r) => r.heads));
  const secs = v.took < 1000 ? `${Math.round(v.took)} ms` : `${(v.took / 1000).toFixed(1)} s`;
  return (
    <div class={`verdict ${v.ok ? 'passed' : 'failed'}`} data-ok={v.ok ? 'yes' : 'no'}>
      <div class={v.ok ? 'status ok-box' : 'status problem'} role="status">
        {v.ok ? (
          <>
            <strong>✓ The log verifies.</strong>{' '}
            {v.top
              ? `All ${plural(entries, 'entry', 'entries')} and ${plural(heads, 'tree head')} of ${words(v.replicas.map((r) => r.label))} were checked in this browser: every head is signed by all three nodes, its Merkle root matches the entries, the three copies agree, and ${v.rulesChecked}.`
              : entries
                ? `No problems, but no tree head is signed by all three nodes yet; ${v.rulesChecked}.`
                : 'The log is empty.'}
          </>
        ) : (
          <>
            <strong>✗ The log does not verify: {plural(v.problems.length, 'problem')}.</strong> What exactly is wrong is listed below, node by node and entry by entry.
          </>
        )}
      </div>
      {v.top ? (
        <p>
          Latest tree head signed by all three nodes: <strong>head {n(v.top.size)}</strong> (the log’s first {plural(v.top.size, 'entry', 'entries')}), signed {when(v.top.timestamp)}. Checked in {secs}.
        </p>
      ) : null}
      {v.disagreements.length ? (
        <>
          <h3>Where the nodes’ copies differ</h3>
          <ul class="diffs">
            {v.disagreements.slice(0, 20).map((d) => (
              <li key={d.seq}>
                {disagreementText(d)}.{' '}
                <button type="button" class="link" onClick={() => onShow(d.seq)}>
                  Show entry {d.seq}
                </button>
              </li>
            ))}
            {v.disagreements.length > 20 ? <li>… and {n(v.disagreements.length - 20)} more entries</li> : null}
          </ul>
        </>
      ) : null}
      {v.findings.length ? (
        <>
          <h3>What is wrong</h3>
          <ul class="findings">
            {v.findings.map((f, i) => (
              <FindingCard key={i} f={f} names={names} onShow={onShow} />
            ))}
          </ul>
        </>
      ) : null}
      <h3>Each node’s copy</h3>
      <ul class="replicas">
        {v.replicas.map((r) => (
          <li key={r.label} class={r.problems.length ? 'bad' : 'ok'}>
            <strong>{r.label}</strong>: {plural(r.size, 'entry', 'entries')}, {plural(r.heads, 'tree head')}; {r.latest ? `latest signed head ${n(r.latest.size)}` : 'no signed head'} —{' '}
            {r.problems.length ? `${plural(r.problems.length, 'problem')}` : 'intact'}
          </li>
        ))}
      </ul>
      {v.warnings.length ? (
        <>
          <h3>Worth knowing</h3>
          <ul class="warnings">
            {v.warnings.map((w, i) => (
              <li key={i} class="warning">
                {w}
              </li>
            ))}
          </ul>
        </>
      ) : null}
      <details class="exact">
        <summary>The exact report (as <code>mosaik audit verify</code> prints it)</summary>
        <p class="small">Problems ({v.problems.length}):</p>
        <ul class="exact-problems">
          {v.problems.map((p, i) => (
            <li key={i}>{p}</li>
          ))}
        </ul>
        <p class="small">Warnings ({v.warnings.length}):</p>
        <ul class="exact-warnings">
          {v.warnings.map((w, i) => (
            <li key={i}>{w}</li>
          ))}
        </ul>
      </details>
    </div>
  );
}
