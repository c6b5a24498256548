// The fields of a statistics call as an R user writes one: the function, the analysis table (SQL
// without aggregation, in the Query page's editor with completion from the schemas), the formula
// (or time, event and group for survival curves), the family, the time interval, breaks or
// probabilities. The analysis table's columns are planned here as it is typed (its columns, as R's
// str() lists them; a click adds one to the formula). Used by the Statistics page and by studies.
import { useEffect, useRef, useState } from 'preact/hooks';
import { FUNCTIONS, survivalFields, tableColumns, takesBin, type StatFields, type TableColumn } from '../../lib/stats.js';
import type { Registers } from '../../lib/run.js';
import { SqlEditor } from '../../ui/SqlEditor.js';

export function CallEditor({ value, onChange, regs, id }: { value: StatFields; onChange: (patch: Partial<StatFields>) => void; regs: Registers | null; id: string }) {
  const [columns, setColumns] = useState<{ list: TableColumn[] } | { problem: string } | null>(null);
  const formula = useRef<HTMLInputElement>(null);
  const completion = regs ? Object.fromEntries([...regs].map(([n, r]) => [n, r.schema.columns.map((c) => c.name)])) : {};
  // Plan the table as it is typed (a moment after the last key): its columns, or why it does not plan.
  useEffect(() => {
    if (!regs) return;
    const t = setTimeout(() => {
      try {
        setColumns({ list: tableColumns(value.data, regs) });
      } catch (e) {
        setColumns({ problem: (e as Error).message });
      }
    }, 300);
    return () => clearTimeout(t);
  }, [value.data, regs]);
  const fn = FUNCTIONS.find((f) => f.fn === value.fn)!;
  const names = columns && 'list' in columns ? columns.list.map((c) => c.name) : [];
  /** Adds a column to the formula where the cursor is (or as one more term). */
  const add = (name: string) => {
    const el = formula.current;
    const f = value.formula;
    if (el && el.selectionStart !== null && document.activeElement === el) {
      const at = el.selectionStart;
      onChange({ formula: f.slice(0, at) + name + f.slice(el.selectionEnd ?? at) });
      return;
    }
    onChange({ formula: !f.trim() ? `${name} ~ ` : /[~+]\s*$/.test(f) ? `${f.trimEnd()} ${name}` : `${f.trimEnd()} + ${name}` });
  };
  const text = (field: keyof StatFields, label: string, hint?: string, list?: boolean) => (
    <label>
      {label} {hint ? <span class="small">{hint}</span> : null}
      <input type="text" value={value[field]} list={list ? `${id}-columns` : undefined} onInput={(e) => onChange({ [field]: (e.currentTarget as HTMLInputElement).value })} />
    </label>
  );
  return (
    <div class="call-editor">
      <label for={`${id}-fn`}>Function</label>
      <select id={`${id}-fn`} value={value.fn} onChange={(e) => onChange({ fn: (e.currentTarget as HTMLSelectElement).value as StatFields['fn'] })}>
        {FUNCTIONS.map((f) => (
          <option key={f.fn} value={f.fn}>
            {f.label}
          </option>
        ))}
      </select>
      <p class="small" id={`${id}-data-help`}>
        The analysis table: SQL without aggregation (joins, EXISTS, age(), date differences), one row per person. Its rows never leave MPC.
      </p>
      <SqlEditor initial={value.data} onChange={(v) => onChange({ data: v })} schema={completion} label="Analysis table (SQL without aggregation)" />
      {columns && 'problem' in columns ? (
        <p class="small bad">The table does not plan yet: {columns.problem}</p>
      ) : columns && columns.list.length ? (
        <div class="table-columns">
          <span class="small">Columns of the analysis table{survivalFields(value.fn) ? '' : ' (select one to add it to the formula)'}:</span>
          <ul>
            {columns.list.map((c) => (
              <li key={c.name}>
                {survivalFields(value.fn) ? (
                  <code>{c.name}</code>
                ) : (
                  <button type="button" class="chip" onClick={() => add(c.name)} aria-label={`Add ${c.name} to the formula`}>
                    {c.name}
                  </button>
                )}{' '}
                <span class="small">{c.kind}</span>
              </li>
            ))}
          </ul>
        </div>
      ) : null}
      <datalist id={`${id}-columns`}>
        {names.map((n) => (
          <option key={n} value={n} />
        ))}
      </datalist>
      {survivalFields(value.fn) ? (
        <div class="row">
          {text('time', 'Time', '(follow-up, ≥ 0)', true)}
          {text('event', 'Event', '(a logical column)', true)}
          {text('group', 'Group', '(optional)', true)}
        </div>
      ) : (
        <label>
          Formula <span class="small">(R's: {fn.example})</span>
          <input ref={formula} type="text" class="formula" value={value.formula} spellcheck={false} onInput={(e) => onChange({ formula: (e.currentTarget as HTMLInputElement).value })} />
        </label>
      )}
      <div class="row">
        {value.fn === 'glm' ? (
          <label>
            Family
            <select value={value.family} onChange={(e) => onChange({ family: (e.currentTarget as HTMLSelectElement).value as StatFields['family'] })}>
              <option value="binomial">binomial (logistic: odds ratios)</option>
              <option value="poisson">poisson (rates: add offset(log(time)))</option>
            </select>
          </label>
        ) : null}
        {takesBin(value.fn) ? (
          <label>
            Time interval <span class="small">(units of the time column; events are released per interval)</span>
            <input type="number" min={1} step={1} value={value.bin} onInput={(e) => onChange({ bin: (e.currentTarget as HTMLInputElement).value })} />
          </label>
        ) : null}
        {value.fn === 'hist' ? text('breaks', 'Breaks', '(bin edges covering the column, e.g. 0, 20, 40, 60, 80, 120; empty: unit bins)') : null}
        {value.fn === 'quantile' ? text('probs', 'Probabilities', '(empty: 0, .25, .5, .75, 1)') : null}
      </div>
    </div>
  );
}
