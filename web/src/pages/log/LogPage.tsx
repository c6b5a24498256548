// The auditor's page (anyone, signed in or not): the transparency log as a timeline, and its
// verification in this browser — the same checks as `mosaik audit verify` (src/ledger/audit.ts),
// run in a Web Worker — with inclusion proofs of chosen entries. Parts: ./Verify.tsx (keys, run,
// progress, verdict), ./Timeline.tsx (filters, entries, details), ./Inclusion.tsx (one entry's
// proof), ./FindResult.tsx (an entry by a result's job id).
import { useEffect, useMemo, useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import type { LedgerEntry } from '../../../../src/ledger/entry.js';
import type { Party } from '../../../../src/ledger/audit.js';
import { cluster, type ClusterInfo } from '../../lib/api.js';
import { fetchEntries } from '../../lib/log-source.js';
import { anchorFromServer, type Anchor } from '../../lib/log-keys.js';
import type { Verdict } from '../../lib/log-audit.js';
import { explain, Progress } from '../../ui/common.js';
import { VerifyPanel } from './Verify.js';
import { Timeline } from './Timeline.js';
import { FindResult } from './FindResult.js';

export function Log() {
  const { query } = useLocation();
  const [info, setInfo] = useState<ClusterInfo | null>(null);
  const [anchor, setAnchor] = useState<Anchor | null>(null);
  const [anchorError, setAnchorError] = useState<string>('');
  const [source, setSource] = useState<Party>(0);
  const [entries, setEntries] = useState<LedgerEntry[] | null>(null);
  const [loading, setLoading] = useState<{ done: number; total: number } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [verdict, setVerdict] = useState<Verdict | null>(null);
  const initial = Number.isSafeInteger(Number(query.entry)) && query.entry !== undefined && query.entry !== '' ? Number(query.entry) : null;
  const [selected, setSelected] = useState<{ seq: number; prove?: boolean; n: number } | null>(initial === null ? null : { seq: initial, n: 0 });

  useEffect(() => {
    cluster().then(
      (c) => {
        setInfo(c);
        const a = anchorFromServer(c);
        if (a instanceof Error) setAnchorError(a.message);
        else setAnchor(a);
      },
      (e) => setError(e),
    );
  }, []);

  useEffect(() => {
    let live = true;
    setEntries(null);
    setError(null);
    setLoading({ done: 0, total: 0 });
    fetchEntries(source, (done, total) => live && setLoading({ done, total })).then(
      (es) => {
        if (!live) return;
        setEntries(es);
        setLoading(null);
      },
      (e) => {
        if (!live) return;
        setError(e);
        setLoading(null);
      },
    );
    return () => {
      live = false;
    };
  }, [source]);

  const names = useMemo(() => (info ? [...info.nodes].sort((a, b) => a.id - b.id).map((n) => n.name) : ['node 0', 'node 1', 'node 2']), [info]);
  /** Shows entry `seq` in the timeline (and its inclusion proof when asked). */
  const show = (seq: number, prove = false) => setSelected((s) => ({ seq, prove, n: (s?.n ?? 0) + 1 }));

  return (
    <section aria-labelledby="log-h" class="auditor">
      <h1 id="log-h">Transparency log</h1>
      <p class="lead">
        Every study, approval, policy, consent change, run and released result is written to a log that the three compute nodes keep and sign together. Anyone can check it here, signed in or not:
        this browser fetches each node’s copy and checks it itself.
      </p>
      <VerifyPanel anchor={anchor} anchorError={anchorError} onAnchor={(a) => { setAnchor(a); setAnchorError(''); }} serverInfo={info} verdict={verdict} onVerdict={setVerdict} names={names} onShow={show} />
      <FindResult entries={entries} onShow={show} />
      <h2 id="timeline-h">Timeline</h2>
      {error ? (
        <div class="problem" role="alert">
          Could not read the log from {names[source]}: {explain(error)}
        </div>
      ) : null}
      {loading ? <Progress text={`Reading the log from ${names[source]}${loading.total ? `: ${loading.done.toLocaleString('en-US')} of ${loading.total.toLocaleString('en-US')} entries` : ' …'}`} {...(loading.total ? { done: loading.done, of: loading.total } : {})} /> : null}
      <Timeline entries={entries} source={source} onSource={setSource} names={names} verdict={verdict} anchor={anchor} selected={selected} onShow={show} />
    </section>
  );
}
