// One entry in detail: its fields as a labelled list, the run a release belongs to, where the nodes'
// copies of it differ (field by field), and the proof that it is in the signed log (./Inclusion.tsx).
import { useEffect, useState } from 'preact/hooks';
import type { Party } from '../../../../src/ledger/audit.js';
import type { LedgerEntry } from '../../../../src/ledger/entry.js';
import type { Verdict } from '../../lib/log-audit.js';
import type { Anchor } from '../../lib/log-keys.js';
import { fields, KIND_LABEL, label, fieldValue, plain, when, type FieldValue, type LogIndex } from '../../lib/log-text.js';
import { Inclusion } from './Inclusion.js';
import { disagreementText } from './Verdict.js';

interface Props {
  entry: LedgerEntry;
  ix: LogIndex;
  names: string[];
  source: Party;
  verdict: Verdict | null;
  anchor: Anchor | null;
  /** Open the inclusion proof at once. */
  prove: boolean;
  proveKey: number;
  onShow: (seq: number, prove?: boolean) => void;
}

function Value({ v }: { v: FieldValue[] }) {
  return (
    <>
      {v.map((x, i) =>
        x.hash ? (
          <code key={i} class="hash">
            {x.text}
          </code>
        ) : (
          <span key={i}>{x.text}</span>
        ),
      )}
    </>
  );
}

/** Field-by-field differences between versions of an entry (each a canonical JSON line). */
function fieldDiffs(copies: { replicas: string[]; line: string }[]): { field: string; values: { replicas: string[]; value: FieldValue[] }[] }[] {
  const parsed = copies.map((c) => {
    try {
      return { replicas: c.replicas, e: JSON.parse(c.line) as LedgerEntry };
    } catch {
      return { replicas: c.replicas, e: undefined };
    }
  });
  const keys = new Set<string>();
  for (const p of parsed) {
    if (!p.e) continue;
    for (const k of ['seq', 'time', 'kind']) keys.add(`@${k}`);
    for (const k of Object.keys(p.e.body ?? {})) keys.add(k);
  }
  const get = (e: LedgerEntry | undefined, k: string) => (e === undefined ? undefined : k.startsWith('@') ? (e as unknown as Record<string, unknown>)[k.slice(1)] : e.body?.[k]);
  const out: ReturnType<typeof fieldDiffs> = [];
  for (const k of keys) {
    const vals = parsed.map((p) => JSON.stringify(get(p.e, k)) ?? '(absent)');
    if (vals.every((v) => v === vals[0])) continue;
    out.push({
      field: k.startsWith('@') ? { '@seq': 'Entry number', '@time': 'Time', '@kind': 'Kind' }[k] ?? k : label(k),
      values: parsed.map((p) => {
        const v = get(p.e, k);
        return { replicas: p.replicas, value: v === undefined ? [{ text: p.e ? '(absent)' : '(not an entry)' }] : fieldValue(k.replace(/^@/, ''), v as never) };
      }),
    });
  }
  return out;
}

export function EntryDetail({ entry, ix, names, source, verdict, anchor, prove, proveKey, onShow }: Props) {
  const [proving, setProving] = useState(prove);
  useEffect(() => {
    if (prove) setProving(true);
  }, [prove, proveKey]);
  const job = typeof entry.body.job === 'string' ? entry.body.job : undefined;
  const run = entry.kind === 'result-released' && job ? ix.runOf.get(job) : undefined;
  const diff = verdict?.disagreements.find((d) => d.seq === entry.seq);
  const findings = verdict?.findings.filter((f) => f.seq !== undefined && entry.seq >= f.seq && entry.seq <= (f.seqTo ?? f.seq) && f.check !== 'more') ?? [];
  return (
    <div class="detail" id={`entry-${entry.seq}-detail`} role="region" aria-label={`Entry ${entry.seq} in detail`}>
      <dl class="fields">
        <div>
          <dt>Entry</dt>
          <dd>
            number {entry.seq}, {KIND_LABEL[entry.kind]}, logged {when(entry.time)}
          </dd>
        </div>
        <div>
          <dt>Copy shown</dt>
          <dd>as {names[source]} holds it</dd>
        </div>
        {fields(entry).map((f) => (
          <div key={f.key}>
            <dt>{f.label}</dt>
            <dd>
              <Value v={f.value} />
            </dd>
          </div>
        ))}
      </dl>
      {run !== undefined ? (
        <p>
          <button type="button" class="link" onClick={() => onShow(run)}>
            Show the run of this job (entry {run})
          </button>
        </p>
      ) : null}
      {findings.length ? (
        <div class="problem" role="note">
          <strong>The verification found:</strong>
          <ul>
            {findings.map((f, i) => (
              <li key={i}>{plain(f, names)}</li>
            ))}
          </ul>
        </div>
      ) : null}
      {diff ? (
        <div class="diff">
          <p>
            <strong>{disagreementText(diff)}.</strong> The fields that differ:
          </p>
          <dl class="fields">
            {fieldDiffs(diff.copies).map((d) => (
              <div key={d.field}>
                <dt>{d.field}</dt>
                <dd>
                  <ul class="plain">
                    {d.values.map((v) => (
                      <li key={v.replicas.join()}>
                        {v.replicas.join(', ')}: <Value v={v.value} />
                      </li>
                    ))}
                  </ul>
                </dd>
              </div>
            ))}
          </dl>
        </div>
      ) : null}
      {proving && anchor ? (
        <Inclusion entry={entry} anchor={anchor} names={names} source={source} {...(verdict?.top ? { top: verdict.top } : {})} />
      ) : (
        <button type="button" onClick={() => setProving(true)} disabled={!anchor}>
          Prove this entry is in the signed log
        </button>
      )}
    </div>
  );
}
