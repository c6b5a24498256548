// Studies that read your data: for each, exactly which of your columns each of its queries reads
// and how, and whether your policy allows it; approve (with licence terms) or reject (with a
// reason), signed here with your key. A study runs only when every custodian whose data it reads
// has approved this exact version.
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { SignedPolicy } from '../../../../src/governance/policy-shape.js';
import { call } from '../../lib/api.js';
import { decide, latestDecision, reviewStudy, studiesFor, type StudyListing, type StudyReview, type UseCheck } from '../../lib/custodian-studies.js';
import { currentPolicy, ROLE_TEXT, AGGREGATE_TEXT } from '../../lib/policy-form.js';
import { MAX_TERMS_CHARS } from '../../../../src/governance/approval-shape.js';
import { me } from '../../state.js';
import { Note, Problem } from '../../ui/common.js';
import type { TabProps } from './tab.js';

const day = (iso: string) => new Date(iso).toLocaleDateString('en-GB', { dateStyle: 'medium' });
const DECISION_TEXT = { approve: 'approved', reject: 'rejected', pending: 'waiting for a decision' } as const;

function how(u: UseCheck): string {
  if (u.role === 'aggregate') return u.aggregate ? `${AGGREGATE_TEXT[u.aggregate]} of it` : 'aggregated';
  return ROLE_TEXT[u.role];
}

export function StudyReviews({ mine }: TabProps) {
  const id = me.value!;
  const [list, setList] = useState<StudyListing[] | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [stamp, setStamp] = useState(0);
  // What was just decided, kept here: the study moves to "Decided" and its review is drawn anew.
  const [notice, setNotice] = useState<{ key: string; text: string } | null>(null);
  useEffect(() => {
    studiesFor(id, mine).then(setList, setError);
  }, [stamp, mine.join(',')]);
  const decision = (s: StudyListing) => s.approvals.find((a) => a.custodian === id.name)?.decision ?? 'pending';
  const pending = (list ?? []).filter((s) => decision(s) === 'pending');
  const decided = (list ?? []).filter((s) => decision(s) !== 'pending');
  const item = (s: StudyListing) => {
    const key = `${s.id}@${s.hash}`;
    return (
      <li key={key} class="card study">
        <h4>
          <button type="button" class="link" aria-expanded={open === key} onClick={() => setOpen(open === key ? null : key)}>
            {s.title}
          </button>
        </h4>
        <p class="small">
          Study <code>{s.id}</code> by {s.researcher}, for {s.purpose}; valid {day(s.validFrom)} to {day(s.validUntil)} ({s.period}); reads {s.datasets.join(', ')}. You: {DECISION_TEXT[decision(s)]}.{' '}
          {s.approved ? 'Every custodian approved it: it can run.' : `Not yet approved by ${s.approvals.filter((a) => a.decision !== 'approve').map((a) => a.custodian).join(', ')}.`}
        </p>
        {notice?.key === key ? <Done text={notice.text} /> : null}
        {open === key ? (
          <Review
            listing={s}
            mine={mine}
            decided={decision(s) !== 'pending'}
            onDecided={(text) => {
              setNotice({ key, text });
              setStamp((x) => x + 1);
            }}
          />
        ) : null}
      </li>
    );
  };
  return (
    <div>
      <h2>Studies to review</h2>
      <Note>Every registered study that reads one of your datasets. Open one to see exactly what each of its queries does with your columns before you decide.</Note>
      <Problem error={error} />
      {list === null && !error ? <p>Loading studies …</p> : null}
      {list && list.length === 0 ? <p>No registered study reads your data.</p> : null}
      {pending.length ? (
        <>
          <h3>Waiting for your decision ({pending.length})</h3>
          <ul class="plain">{pending.map(item)}</ul>
        </>
      ) : null}
      {decided.length ? (
        <>
          <h3>Decided ({decided.length})</h3>
          <ul class="plain">{decided.map(item)}</ul>
        </>
      ) : null}
    </div>
  );
}

/** The confirmation of a decision, focused so that a keyboard or screen-reader user lands on it. */
function Done({ text }: { text: string }) {
  const ref = useRef<HTMLParagraphElement>(null);
  // Focused as it is drawn (an effect would run a frame later, after the keyboard user moved on).
  useLayoutEffect(() => ref.current?.focus(), [text]);
  return (
    <p class="done" role="status" tabIndex={-1} ref={ref}>
      {text}
    </p>
  );
}

function Review({ listing, mine, decided, onDecided }: { listing: StudyListing; mine: string[]; decided: boolean; onDecided: (text: string) => void }) {
  const id = me.value!;
  const [r, setR] = useState<StudyReview | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [choice, setChoice] = useState<'approve' | 'reject'>('approve');
  const [reason, setReason] = useState('');
  const [terms, setTerms] = useState('');
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    (async () => {
      const policy = currentPolicy(await call<SignedPolicy[]>(0, '/v1/policies', { as: id }), id.name);
      setR(await reviewStudy(id, listing, mine, policy?.policy ?? null));
    })().catch(setError);
  }, [listing.hash]);

  const send = async (e: Event) => {
    e.preventDefault();
    if (!r) return;
    setError(null);
    setBusy(true);
    try {
      await decide(id, r, { decision: choice, reason, terms });
      onDecided(
        choice === 'approve'
          ? `You approved this version of ${r.document.study.id}${terms.trim() ? ' with your licence terms' : ''}, signed in this browser; every node registered your approval and the transparency log records it. It runs once every custodian whose data it reads has approved it.`
          : `You rejected ${r.document.study.id}, with your reason, signed in this browser; no node will run it.`,
      );
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  if (error && !r) return <Problem error={error} />;
  if (!r) return <p>Planning the study's queries against the registers …</p>;
  const s = r.document.study;
  const fid = `decide-${s.id}`;
  const given = decided ? latestDecision(r.approvals, id.name, r.hash) : null;
  return (
    <div class="review">
      {s.description ? <p>{s.description}</p> : null}
      <p class="small">
        Version <code>{r.hash.slice(0, 16)}…</code> (checked here against the document shown), signed by {r.document.signature?.signer ?? 'nobody'}.
        {s.privacy ? ` Privacy budget of the whole study: epsilon ${s.privacy.epsilon}.` : ' No privacy budget declared.'}
        {s.minCellSize ? ` Smallest cell asked for: ${s.minCellSize}.` : ''}
      </p>
      <h5>Your columns it declares</h5>
      <ul>
        {r.declared.map((d) => (
          <li key={d.dataset}>
            {d.dataset}: {d.columns.join(', ')}
          </li>
        ))}
      </ul>
      {r.purposeRefusals.length ? <p class="warning">As your policy stands, the nodes would refuse every run: {r.purposeRefusals.join('; ')}.</p> : null}
      <h5>What each query does with your data</h5>
      {r.queries.map((q) => (
        <div key={q.id} class="query-review">
          <p>
            <strong>Query {q.id}</strong>
            {q.epsilon !== undefined ? <span class="small"> (each run spends epsilon {q.epsilon})</span> : null}
            {q.description ? ` — ${q.description}` : ''}
          </p>
          <pre class="sql">{q.sql ?? q.statistic}</pre>
          {q.problem ? <p class="warning">This query {q.problem}.</p> : null}
          {q.uses && q.uses.length === 0 ? <p class="small">{q.reads.length ? `It reads ${q.reads.join(', ')} but none of its columns (it counts rows only).` : 'It reads none of your data.'}</p> : null}
          {q.uses && q.uses.length ? (
            <table class="grid uses">
              <caption>Your columns query {q.id} reads</caption>
              <thead>
                <tr>
                  <th scope="col">Dataset</th>
                  <th scope="col">Column</th>
                  <th scope="col">How</th>
                  <th scope="col">Your policy</th>
                </tr>
              </thead>
              <tbody>
                {q.uses.map((u) => (
                  <tr key={`${u.dataset}.${u.column}.${u.role}.${u.aggregate ?? ''}`}>
                    <td>{u.dataset}</td>
                    <th scope="row">
                      <code>{u.column}</code>
                    </th>
                    <td>{how(u)}</td>
                    <td class={u.refusal ? 'bad' : 'ok'}>{u.refusal ? `✗ not allowed: ${u.refusal}` : '✓ allowed'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : null}
        </div>
      ))}
      {given ? (
        <div class="decision">
          <h5>Your decision on this version</h5>
          <p>
            You {given.approval.decision === 'approve' ? 'approved' : 'rejected'} it on {new Date(given.approval.time).toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'short' })}, signed with your key.
            {given.approval.decision === 'reject' ? ' No node will run it; a changed study is a new version for you to review.' : ''}
          </p>
          {given.approval.reason ? <p>Reason: {given.approval.reason}</p> : null}
          {given.approval.terms ? <p>Licence terms: {given.approval.terms}</p> : null}
        </div>
      ) : (
        <form onSubmit={send} class="decision" aria-labelledby={`${fid}-h`}>
          <h5 id={`${fid}-h`}>Your decision on this version</h5>
          <fieldset class="inline">
            <legend>Decision</legend>
            <label>
              <input type="radio" name={`${fid}-choice`} checked={choice === 'approve'} onChange={() => setChoice('approve')} /> Approve
            </label>
            <label>
              <input type="radio" name={`${fid}-choice`} checked={choice === 'reject'} onChange={() => setChoice('reject')} /> Reject
            </label>
          </fieldset>
          {choice === 'approve' ? (
            <label>
              Licence terms (optional; signed with your approval and shown with the usage)
              <textarea maxLength={MAX_TERMS_CHARS} value={terms} onInput={(e) => setTerms((e.currentTarget as HTMLTextAreaElement).value)} placeholder="e.g. Licensed for public-health research until the end of the study; cite the register; 500 DKK per query run." />
            </label>
          ) : null}
          <label>
            {choice === 'reject' ? 'Reason (required: the researcher sees it)' : 'Reason or remark (optional)'}
            <textarea value={reason} onInput={(e) => setReason((e.currentTarget as HTMLTextAreaElement).value)} />
          </label>
          <div class="row">
            <button type="submit" class="primary" disabled={busy}>
              {busy ? 'Signing …' : choice === 'approve' ? 'Sign and approve' : 'Sign and reject'}
            </button>
          </div>
          <Problem error={error} />
        </form>
      )}
    </div>
  );
}
