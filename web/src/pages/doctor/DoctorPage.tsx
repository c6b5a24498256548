// The doctor's page: the grants citizens made to you, and a patient's record read under one of them,
// shown as a timeline (hospital contacts with diagnoses, prescriptions, patient-reported answers).
// The patient's person number is split and sealed in this browser; the record is combined here.
import { useEffect, useState } from 'preact/hooks';
import type { ListedGrant } from '../../../../src/governance/record-format.js';
import { readRecord, receivedGrants, Refused, type ReadRecord } from '../../lib/doctor.js';
import { parsePerson } from '../../lib/citizen.js';
import { me } from '../../state.js';
import { Note, Problem, Progress } from '../../ui/common.js';
import { grantState } from '../citizen/DoctorsTab.js';

export function DoctorPage() {
  const id = me.value!;
  const [grants, setGrants] = useState<ListedGrant[] | null>(null);
  const [chosen, setChosen] = useState('');
  const [person, setPerson] = useState('');
  const [progress, setProgress] = useState<string | null>(null);
  const [record, setRecord] = useState<ReadRecord | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    receivedGrants(id).then((g) => {
      setGrants(g);
      setChosen(g.find((x) => grantState(x) === 'active')?.grant.grant.id ?? '');
    }, setError);
  }, []);
  const read = async (e: Event) => {
    e.preventDefault();
    setError(null);
    setRecord(null);
    try {
      const g = grants?.find((x) => x.grant.grant.id === chosen);
      if (!g) throw new Error('Choose a grant first.');
      const n = parsePerson(person);
      setProgress('starting');
      setRecord(await readRecord(id, g.grant, n, setProgress));
    } catch (err) {
      setError(err instanceof Refused ? new Error(`Refused. ${err.reasons.map((r) => `Node ${r.party}: ${r.error}`).join(' ')}`) : err);
    } finally {
      setProgress(null);
    }
  };
  return (
    <section aria-labelledby="doc-h" class="doctor">
      <h1 id="doc-h">Your patients' records</h1>
      <Note>You read a record only under the patient's signed grant. Each node checks it on its own; the nodes find the patient's rows without learning whose they are, and the read is logged for the patient.</Note>
      {!grants ? <Progress text="Loading the grants made to you …" /> : null}
      {grants && grants.length === 0 ? <p>No patient has given you access yet.</p> : null}
      {grants && grants.length ? (
        <form class="card" onSubmit={read}>
          <fieldset>
            <legend>Grants to you</legend>
            {grants.map((g) => {
              const st = grantState(g);
              return (
                <label key={g.grant.grant.id} class="check">
                  <input type="radio" name="grant" value={g.grant.grant.id} checked={chosen === g.grant.grant.id} disabled={st !== 'active'} onChange={() => setChosen(g.grant.grant.id)} />
                  Patient {g.grant.grant.citizen.replace('citizen-', '').slice(0, 8)} · until {new Date(g.grant.grant.validUntil).toLocaleDateString()} · {st}
                </label>
              );
            })}
          </fieldset>
          <label>
            The patient's person number
            <input type="text" inputMode="numeric" autocomplete="off" value={person} onInput={(e) => setPerson((e.currentTarget as HTMLInputElement).value)} />
          </label>
          <button type="submit" class="primary" disabled={progress !== null}>
            Read the record
          </button>
        </form>
      ) : null}
      {progress ? <Progress text={progress} /> : null}
      <Problem error={error} />
      {record ? <Timeline record={record} /> : null}
    </section>
  );
}

function Timeline({ record }: { record: ReadRecord }) {
  return (
    <div class="record">
      <h2>Record</h2>
      <p class="small">
        Read in {(record.ms / 1000).toFixed(1)} s: {record.registers.map((r) => `${r.records.length} ${r.dataset.replace(/_/g, ' ')} row${r.records.length === 1 ? '' : 's'} of ${r.rows.toLocaleString('en-US')}`).join(', ')}.
      </p>
      <ol class="timeline" aria-label="Timeline, newest first">
        {record.timeline.map((e, i) => (
          <li key={i} class={`event ev-${e.dataset}`}>
            <time dateTime={e.date}>{e.date}</time> <strong>{e.title}</strong>
            <div class="small">{e.details}</div>
          </li>
        ))}
      </ol>
    </div>
  );
}
