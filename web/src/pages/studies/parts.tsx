// Pieces the study pages share: a study's state as a badge, a query's column uses as words.
import type { ColumnUse } from '../../../../src/governance/column-use.js';
import { useText, type studyState } from '../../lib/studies.js';

export function StateBadge({ s }: { s: ReturnType<typeof studyState> }) {
  return <span class={`badge ${s.state}`}>{s.text}</span>;
}

/** "filters on contacts.diagnosis; groups by population.region; sum of income.income" */
export function Uses({ uses }: { uses: ColumnUse[] }) {
  if (!uses.length) return <span class="small">reads no column (counts rows only)</span>;
  return (
    <ul class="uses">
      {uses.map((u) => (
        <li key={`${u.dataset}.${u.column}.${u.role}.${u.aggregate ?? ''}`}>
          {useText(u)} <code>{`${u.dataset}.${u.column}`}</code>
        </li>
      ))}
    </ul>
  );
}
