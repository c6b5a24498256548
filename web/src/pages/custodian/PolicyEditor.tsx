// The policy editor: for each of your datasets, the purposes it may serve, the smallest cell that
// may be released, the privacy limits of a study, and what each column may be used for. The
// document is built from the form, checked with the nodes' own rules, signed here with your key and
// published: every node verifies and stores it, and the transparency log records it.
import { useEffect, useState } from 'preact/hooks';
import type { SignedPolicy } from '../../../../src/governance/policy-shape.js';
import type { DatasetSchema } from '../../../../src/ingest/schema.js';
import { call, governance, type GovernanceInfo } from '../../lib/api.js';
import { datasetInfo } from '../../lib/custodian-data.js';
import { AGGREGATE_FNS, AGGREGATE_TEXT, COLUMN_ROLES, currentPolicy, formOf, policyOf, ROLE_TEXT, signAndSubmitPolicy, type ColumnForm, type DatasetForm, type PolicyForm } from '../../lib/policy-form.js';
import { me } from '../../state.js';
import { Note, Problem } from '../../ui/common.js';
import type { TabProps } from './tab.js';

const toggle = <T,>(list: T[], x: T, on: boolean): T[] => (on ? [...list.filter((y) => y !== x), x] : list.filter((y) => y !== x));

export function PolicyEditor({ mine }: TabProps) {
  const id = me.value!;
  const [gov, setGov] = useState<GovernanceInfo | null>(null);
  const [current, setCurrent] = useState<SignedPolicy | null | undefined>(undefined);
  const [form, setForm] = useState<PolicyForm | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [published, setPublished] = useState<string | null>(null);

  const load = async () => {
    const g = await governance();
    setGov(g);
    if (!g.governed) return;
    const schemas: DatasetSchema[] = [];
    for (const name of mine) {
      const d = await datasetInfo(name);
      if (d.latest) schemas.push(d.latest.schema);
    }
    const cur = currentPolicy(await call<SignedPolicy[]>(0, '/v1/policies', { as: id }), id.name);
    setCurrent(cur);
    setForm(formOf(cur?.policy ?? null, schemas));
  };
  useEffect(() => {
    load().catch(setError);
  }, [mine.join(',')]);

  const setDataset = (i: number, f: (d: DatasetForm) => DatasetForm) => setForm((p) => (p ? { datasets: p.datasets.map((d, k) => (k === i ? f(d) : d)) } : p));
  const setColumn = (i: number, c: number, f: (x: ColumnForm) => ColumnForm) => setDataset(i, (d) => ({ ...d, columns: d.columns.map((x, k) => (k === c ? f(x) : x)) }));

  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    setPublished(null);
    if (!form) return;
    setBusy(true);
    try {
      const policy = policyOf(form, id.name);
      const r = await signAndSubmitPolicy(policy, id);
      setPublished(`Your policy was signed in this browser and published: every node verified and stored it${r.ledgerSeq !== undefined ? `, and the transparency log records it (entry ${r.ledgerSeq})` : ''}. It applies from ${new Date(policy.issuedAt).toLocaleString('en-GB')}.`);
      setCurrent({ policy });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  if (gov && !gov.governed) return <p>This cluster runs without a consortium, so there are no custodian policies: every query is checked by the nodes' own settings. Policies apply on governed clusters.</p>;
  if (!form) return error ? <Problem error={error} /> : <p>Loading your policy …</p>;
  const purposes = gov?.purposes ?? [];
  return (
    <div>
      <h2>Policy</h2>
      <Note>
        What researchers may do with your data. The nodes check every study run against the policy in force; nothing a policy does not allow can run. {current ? `Your current policy applies since ${new Date(current.policy.issuedAt).toLocaleString('en-GB')}.` : 'You have no policy yet: no study can use your data until you publish one.'}
      </Note>
      {form.datasets.length === 0 ? <p>None of your datasets has a stored version yet: upload one first, then set its policy.</p> : null}
      <form onSubmit={submit}>
        {form.datasets.map((d, i) => (
          <fieldset key={d.dataset} class="card policy-dataset">
            <legend>
              <h3>{d.dataset}</h3>
            </legend>
            <fieldset class="inline">
              <legend>Purposes it may serve</legend>
              {purposes.map((p) => (
                <label key={p.code}>
                  <input type="checkbox" checked={d.purposes.includes(p.code)} onChange={(e) => setDataset(i, (x) => ({ ...x, purposes: toggle(x.purposes, p.code, (e.currentTarget as HTMLInputElement).checked) }))} /> {p.label}{' '}
                  <span class="small">({p.code})</span>
                </label>
              ))}
            </fieldset>
            <div class="row">
              <label>
                Smallest cell (rows) a result may show
                <input type="number" min={1} step={1} value={d.minCellSize} onInput={(e) => setDataset(i, (x) => ({ ...x, minCellSize: (e.currentTarget as HTMLInputElement).value }))} />
              </label>
              <label>
                Largest privacy budget (epsilon) of a study
                <input type="number" min={0} step="any" placeholder="no limit" value={d.maxEpsilon} onInput={(e) => setDataset(i, (x) => ({ ...x, maxEpsilon: (e.currentTarget as HTMLInputElement).value }))} />
              </label>
              <label>
                Largest delta of a study
                <input type="number" min={0} step="any" placeholder="no limit" value={d.maxDelta} onInput={(e) => setDataset(i, (x) => ({ ...x, maxDelta: (e.currentTarget as HTMLInputElement).value }))} />
              </label>
            </div>
            <label class="check">
              <input type="checkbox" checked={d.dpRequired} onChange={(e) => setDataset(i, (x) => ({ ...x, dpRequired: (e.currentTarget as HTMLInputElement).checked }))} /> Every query must add
              differential-privacy noise (a study query without an epsilon is refused)
            </label>
            <h4>Columns</h4>
            <p class="small">A column with nothing ticked cannot be used at all. No column is ever shown row by row: queries release aggregates only.</p>
            {d.columns.map((c, k) => (
              <fieldset key={c.name} class="column-rule">
                <legend>
                  <code>{c.name}</code> <span class="small">({c.type})</span>
                </legend>
                <div class="inline">
                  {COLUMN_ROLES.map((r) => (
                    <label key={r} title={ROLE_TEXT[r]}>
                      <input type="checkbox" checked={c.roles.includes(r)} onChange={(e) => setColumn(i, k, (x) => ({ ...x, roles: toggle(x.roles, r, (e.currentTarget as HTMLInputElement).checked) }))} /> {ROLE_TEXT[r]}
                    </label>
                  ))}
                </div>
                {c.roles.includes('aggregate') ? (
                  <div class="inline aggregates">
                    <label>
                      <input type="checkbox" checked={c.allAggregates} onChange={(e) => setColumn(i, k, (x) => ({ ...x, allAggregates: (e.currentTarget as HTMLInputElement).checked }))} /> all functions
                    </label>
                    {!c.allAggregates
                      ? AGGREGATE_FNS.map((f) => (
                          <label key={f}>
                            <input type="checkbox" checked={c.aggregates.includes(f)} onChange={(e) => setColumn(i, k, (x) => ({ ...x, aggregates: toggle(x.aggregates, f, (e.currentTarget as HTMLInputElement).checked) }))} /> {AGGREGATE_TEXT[f]}
                          </label>
                        ))
                      : null}
                  </div>
                ) : null}
                {c.roles.length ? (
                  <label class="note-field">
                    Note for researchers (optional)
                    <input type="text" value={c.note} onInput={(e) => setColumn(i, k, (x) => ({ ...x, note: (e.currentTarget as HTMLInputElement).value }))} />
                  </label>
                ) : null}
              </fieldset>
            ))}
          </fieldset>
        ))}
        <div class="row">
          <button type="submit" class="primary" disabled={busy || form.datasets.length === 0}>
            {busy ? 'Signing and publishing …' : 'Sign and publish this policy'}
          </button>
        </div>
      </form>
      <Problem error={error} />
      {published ? (
        <p class="done" role="status">
          {published}
        </p>
      ) : null}
    </div>
  );
}
