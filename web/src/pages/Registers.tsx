// Browsing the registers: their public schemas, code lists (searchable: ICD-10, ATC, …), sizes and
// versions, and, on governed clusters, which columns each custodian's policy allows in which role.
import { useEffect, useMemo, useState } from 'preact/hooks';
import type { CodeList, DatasetSchema } from '../../../src/ingest/schema.js';
import { call, governance } from '../lib/api.js';
import { me } from '../state.js';
import { fmt, Note, Problem } from '../ui/common.js';

interface Listed {
  name: string;
  custodian: string;
  version: string;
  rows: number;
  columns: string[];
}
interface Detail {
  schema: DatasetSchema;
  codeLists: CodeList[];
  version: string;
  rows: number;
  versions: { version: string; rows: number; createdAt: string }[];
}
interface PolicyDoc {
  policy: { custodian: string; issuedAt: string; datasets: { dataset: string; purposes: string[]; minCellSize: number; columns: Record<string, { roles: string[]; aggregates?: string[] } | 'forbidden'> }[] };
}

export function Registers() {
  const [list, setList] = useState<Listed[] | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    call<Listed[]>(0, '/v1/datasets').then(setList, setError);
  }, []);
  return (
    <section aria-labelledby="reg-h">
      <h1 id="reg-h">Registers</h1>
      <Note>What the nodes hold, as public metadata: the columns and their types, the code lists, how many rows. Values are never shown: queries get aggregates only.</Note>
      <Problem error={error} />
      {list && list.length === 0 ? <p>No register has been uploaded yet.</p> : null}
      {list ? (
        <table class="grid">
          <caption>Registers stored at the nodes (latest version of each)</caption>
          <thead>
            <tr>
              <th scope="col">Register</th>
              <th scope="col">Custodian</th>
              <th scope="col" class="num">Rows</th>
              <th scope="col">Version</th>
              <th scope="col">Columns</th>
            </tr>
          </thead>
          <tbody>
            {list.map((d) => (
              <tr key={d.name}>
                <th scope="row">
                  <button type="button" class="link" aria-expanded={open === d.name} onClick={() => setOpen(open === d.name ? null : d.name)}>
                    {d.name}
                  </button>
                </th>
                <td>{d.custodian}</td>
                <td class="num">{fmt(d.rows)}</td>
                <td>
                  <code>{d.version}</code>
                </td>
                <td>{d.columns.join(', ')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {open ? <RegisterDetail name={open} /> : null}
    </section>
  );
}

function RegisterDetail({ name }: { name: string }) {
  const [d, setD] = useState<Detail | null>(null);
  const [policies, setPolicies] = useState<PolicyDoc[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    setD(null);
    call<Detail>(0, `/v1/datasets/${encodeURIComponent(name)}`).then(setD, setError);
    if (me.value) {
      const id = me.value;
      void governance().then((g) => (g.governed ? call<PolicyDoc[]>(0, '/v1/policies', { as: id }).then(setPolicies, () => setPolicies(null)) : undefined));
    }
  }, [name]);
  if (error) return <Problem error={error} />;
  if (!d) return <p>Loading {name} …</p>;
  const rule = (col: string) => {
    const p = [...(policies ?? [])].reverse().flatMap((x) => x.policy.datasets.filter((ds) => ds.dataset === name))[0];
    if (!p) return null;
    const r = p.columns[col];
    return r === undefined || r === 'forbidden' ? 'not usable' : r.roles.join(', ') + (r.aggregates ? ` (${r.aggregates.join(', ')})` : '');
  };
  const bound = (c: DatasetSchema['columns'][number]) => [c.min, c.max].some((x) => x !== undefined) ? `${c.min ?? '…'} to ${c.max ?? '…'}` : '';
  return (
    <div class="card" aria-labelledby="detail-h">
      <h2 id="detail-h">
        {name} <small>({fmt(d.rows)} rows, version <code>{d.version}</code>)</small>
      </h2>
      {d.schema.description ? <p>{d.schema.description}</p> : null}
      <table class="grid">
        <caption>Columns</caption>
        <thead>
          <tr>
            <th scope="col">Column</th>
            <th scope="col">Type</th>
            <th scope="col">Range or code list</th>
            <th scope="col">Meaning</th>
            {policies ? <th scope="col">Policy allows</th> : null}
          </tr>
        </thead>
        <tbody>
          {d.schema.columns.map((c) => (
            <tr key={c.name}>
              <th scope="row">
                <code>{c.name}</code>
              </th>
              <td>{c.type === 'person_id' ? `person id${c.unique ? ' (one row per person)' : c.maxRowsPerPerson ? ` (≤ ${c.maxRowsPerPerson} rows per person)` : ''}` : c.type}</td>
              <td>{c.codeList ? `code list ${c.codeList}` : bound(c)}</td>
              <td>{c.description ?? ''}</td>
              {policies ? <td>{rule(c.name) ?? '—'}</td> : null}
            </tr>
          ))}
        </tbody>
      </table>
      {d.codeLists.map((l) => (
        <CodeListSearch key={l.name} list={l} />
      ))}
      <details>
        <summary>Versions ({d.versions.length})</summary>
        <ul>
          {d.versions.map((v) => (
            <li key={v.version}>
              <code>{v.version}</code>: {fmt(v.rows)} rows, {new Date(v.createdAt).toLocaleString()}
            </li>
          ))}
        </ul>
      </details>
    </div>
  );
}

function CodeListSearch({ list }: { list: CodeList }) {
  const [q, setQ] = useState('');
  const hits = useMemo(() => {
    const s = q.trim().toLowerCase();
    const all = list.codes.map((c, i) => ({ code: c, label: list.labels?.[i] ?? '' }));
    return (s ? all.filter((x) => x.code.toLowerCase().startsWith(s) || x.label.toLowerCase().includes(s)) : all).slice(0, 50);
  }, [q, list]);
  const id = `cl-${list.name}`;
  return (
    <details>
      <summary>
        Code list {list.name} ({list.codes.length} codes)
      </summary>
      <label for={id}>Search codes or labels</label>
      <input id={id} type="search" value={q} onInput={(e) => setQ((e.currentTarget as HTMLInputElement).value)} placeholder={list.codes[0] ? `e.g. ${list.codes[Math.min(3, list.codes.length - 1)]}` : ''} />
      <ul class="codes">
        {hits.map((h) => (
          <li key={h.code}>
            <code>{h.code}</code> {h.label}
          </li>
        ))}
      </ul>
      {hits.length === 50 ? <Note>The first 50 matches; type more to narrow down.</Note> : null}
    </details>
  );
}
