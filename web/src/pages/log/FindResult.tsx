// Find a released result in the log by its job id (a researcher's result names its job), or pick
// one of this browser's own results when signed in as a researcher: then show its release entry
// and prove it is in the log all three nodes signed.
import { useEffect, useState } from 'preact/hooks';
import type { LedgerEntry } from '../../../../src/ledger/entry.js';
import { history, type HistoryItem } from '../../lib/history.js';
import { me } from '../../state.js';

export function FindResult({ entries, onShow }: { entries: LedgerEntry[] | null; onShow: (seq: number, prove?: boolean) => void }) {
  const [job, setJob] = useState('');
  const [note, setNote] = useState('');
  const [mine, setMine] = useState<HistoryItem[]>([]);
  useEffect(() => {
    if (me.value?.role === 'researcher') void history(me.value.name).then(setMine, () => setMine([]));
  }, [me.value]);

  const find = (id: string) => {
    const want = id.trim().toLowerCase();
    if (!want) return setNote('Enter the job id of a result (or its first characters).');
    const hits = (entries ?? []).filter((e) => e.kind === 'result-released' && typeof e.body.job === 'string' && e.body.job.startsWith(want));
    if (!hits.length) return setNote(`No released result of a job ${want}… in this copy of the log.`);
    if (hits.length > 1) return setNote(`${hits.length} results match ${want}…: type more of the job id.`);
    setNote('');
    onShow(hits[0]!.seq, true);
  };

  return (
    <form class="card find" aria-labelledby="find-h" onSubmit={(e) => { e.preventDefault(); find(job); }}>
      <h2 id="find-h">Check a result</h2>
      <p class="small">A released result is in the log as a commitment to what each node returned. Find its entry by the job id and prove it is in the log all three nodes signed.</p>
      <div class="row">
        <label>
          Job id of the result
          <input type="search" value={job} onInput={(e) => setJob((e.currentTarget as HTMLInputElement).value)} placeholder="e.g. 3f2a9c1e-…" spellcheck={false} autocomplete="off" />
        </label>
        <button type="submit" disabled={!entries}>
          Find and prove
        </button>
      </div>
      {mine.length ? (
        <label>
          Or one of your results
          <select onChange={(e) => { const v = (e.currentTarget as HTMLSelectElement).value; if (v) { setJob(v); find(v); } }}>
            <option value="">Choose …</option>
            {mine.map((h) => (
              <option key={h.result.job} value={h.result.job}>
                {new Date(h.at).toLocaleString()} — {h.title}
              </option>
            ))}
          </select>
        </label>
      ) : null}
      {note ? <p class="note" role="status">{note}</p> : null}
    </form>
  );
}
