// Who read your record: every doctor's read is in the public transparency log as a commitment that
// only your grants' salts open; this page finds yours (nobody else can link them to you).
import { useEffect, useState } from 'preact/hooks';
import { listGrants, myAccesses } from '../../lib/citizen.js';
import type { Access } from '../../../../src/governance/record-format.js';
import { Note, Problem, Progress } from '../../ui/common.js';
import type { CitizenTabProps } from './tab.js';

export function AccessesTab({ id }: CitizenTabProps) {
  const [rows, setRows] = useState<Access[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    listGrants(id).then((g) => myAccesses(g)).then(setRows, setError);
  }, []);
  if (!rows) return error ? <Problem error={error} /> : <Progress text="Searching the transparency log for your accesses …" />;
  return (
    <div>
      <Note>Found in the public transparency log with your grants' secret salts. Others see only that some record was read, never whose.</Note>
      {rows.length === 0 ? (
        <p>Nobody has read your record.</p>
      ) : (
        <table class="grid accesses">
          <caption>Reads of your record, newest first</caption>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Who</th>
              <th scope="col">Under grant</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((a) => (
              <tr key={a.seq}>
                <td>{new Date(a.time).toLocaleString()}</td>
                <td>{a.doctor}</td>
                <td>
                  <code>{a.grant.slice(0, 8)}</code> (log entry {a.seq})
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
