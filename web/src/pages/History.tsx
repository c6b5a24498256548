// Your own results, as this browser kept them.
import { useEffect, useState } from 'preact/hooks';
import { history, type HistoryItem } from '../lib/history.js';
import { me } from '../state.js';
import { Note } from '../ui/common.js';
import { ResultView } from '../ui/ResultView.js';
import { parseStatistic } from '../../../src/stats/statistic.js';
import { StatResultView } from './stats/StatResultView.js';

export function History() {
  const [items, setItems] = useState<HistoryItem[] | null>(null);
  const [open, setOpen] = useState<number | null>(0);
  useEffect(() => {
    void history(me.value!.name).then(setItems);
  }, []);
  return (
    <section aria-labelledby="h-h">
      <h1 id="h-h">Your results</h1>
      <Note>Kept in this browser only. The nodes keep each result for its job, sealed to the key of the request that asked for it.</Note>
      {items && items.length === 0 ? <p>No results yet: run a query or a statistic.</p> : null}
      <ol class="history">
        {(items ?? []).map((h, i) => (
          <li key={h.result.job}>
            <button type="button" class="link" aria-expanded={open === i} onClick={() => setOpen(open === i ? null : i)}>
              {new Date(h.at).toLocaleString()} — {h.title}
            </button>
            {open === i ? (
              <div>
                {'result' in h.result ? (
                  <>
                    <pre class="sql">{parseStatistic(h.result.statistic).data}</pre>
                    <StatResultView r={h.result} />
                  </>
                ) : (
                  <>
                    <pre class="sql">{h.result.sql}</pre>
                    <ResultView r={h.result} />
                  </>
                )}
              </div>
            ) : null}
          </li>
        ))}
      </ol>
    </section>
  );
}
