// Your datasets and their versions, from the three nodes' public metadata: rows, columns, when each
// version was stored and by whom, which nodes hold it, what changed in the columns.
import { useEffect, useState } from 'preact/hooks';
import type { DatasetSchema } from '../../../../src/ingest/schema.js';
import { datasetInfo, type DatasetInfo } from '../../lib/custodian-data.js';
import { governance } from '../../lib/api.js';
import { fmt, Note, Problem } from '../../ui/common.js';
import type { TabProps } from './tab.js';

const when = (iso: string) => new Date(iso).toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'short' });

function typeText(c: DatasetSchema['columns'][number]): string {
  if (c.type === 'person_id') return `person id${c.unique ? ', one row per person' : c.maxRowsPerPerson ? `, at most ${c.maxRowsPerPerson} rows per person` : ''}`;
  if (c.type === 'code') return `code (list ${c.codeList})`;
  const range = c.min !== undefined || c.max !== undefined ? ` ${c.min ?? '…'} to ${c.max ?? '…'}` : '';
  return `${c.type}${range}`;
}

export function Datasets({ mine }: TabProps) {
  const [governed, setGoverned] = useState<boolean | null>(null);
  useEffect(() => {
    governance().then((g) => setGoverned(g.governed), () => setGoverned(null));
  }, []);
  return (
    <div>
      <h2>Datasets and versions</h2>
      <Note>
        What the nodes hold of your data, from their public metadata: each version's size and columns, when it was stored and by whom. Values are never shown or sent here: each node
        holds only a random-looking share of them.
      </Note>
      {mine.map((name) => (
        <DatasetCard key={name} name={name} governed={governed} />
      ))}
    </div>
  );
}

function DatasetCard({ name, governed }: { name: string; governed: boolean | null }) {
  const [d, setD] = useState<DatasetInfo | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    datasetInfo(name).then(setD, setError);
  }, [name]);
  const h = `ds-${name}`;
  return (
    <article class="card dataset" aria-labelledby={h}>
      <h3 id={h}>{name}</h3>
      <Problem error={error} />
      {!d && !error ? <p>Loading …</p> : null}
      {d && d.versions.length === 0 ? (
        <p>
          No version is stored yet. <a href={`/custodian/upload?dataset=${encodeURIComponent(name)}`}>Upload the first one</a> (you will need its schema file).
        </p>
      ) : null}
      {d && d.versions.length > 0 ? (
        <>
          {d.latest?.schema.description ? <p>{d.latest.schema.description}</p> : null}
          <p>
            Latest version <code>{d.versions[0]!.version}</code>: <strong>{fmt(d.versions[0]!.rows)} rows</strong>, {d.versions[0]!.schema.columns.length} columns.{' '}
            <a href={`/custodian/upload?dataset=${encodeURIComponent(name)}`}>Upload a new version</a>
          </p>
          <table class="grid">
            <caption>Versions of {name}, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Version</th>
                <th scope="col" class="num">Rows</th>
                <th scope="col">Stored</th>
                <th scope="col">By</th>
                <th scope="col">At nodes</th>
                <th scope="col">Columns</th>
              </tr>
            </thead>
            <tbody>
              {d.versions.map((v) => (
                <tr key={v.version}>
                  <th scope="row">
                    <code>{v.version}</code>
                  </th>
                  <td class="num">{fmt(v.rows)}</td>
                  <td>{when(v.createdAt)}</td>
                  <td>
                    {v.custodian}
                    {governed ? <span class="small"> (signature checked by each node)</span> : null}
                  </td>
                  <td class={v.heldBy.length === 3 ? '' : 'bad'}>{v.heldBy.length === 3 ? 'all three' : `only ${v.heldBy.join(', ')}: incomplete, cannot be used`}</td>
                  <td>{v.changes.length ? v.changes.join('; ') : 'as before'}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <details>
            <summary>Columns of the latest version</summary>
            <table class="grid">
              <caption>Schema of {name}</caption>
              <thead>
                <tr>
                  <th scope="col">Column</th>
                  <th scope="col">Type</th>
                  <th scope="col">Meaning</th>
                </tr>
              </thead>
              <tbody>
                {d.versions[0]!.schema.columns.map((c) => (
                  <tr key={c.name}>
                    <th scope="row">
                      <code>{c.name}</code>
                    </th>
                    <td>{typeText(c)}</td>
                    <td>{c.description ?? ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </details>
        </>
      ) : null}
    </article>
  );
}
