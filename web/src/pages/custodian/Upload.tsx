// Uploading a new version of a dataset from this browser (small files): the file is checked here
// exactly as `mosaik ingest` checks it (every problem with its line number; nothing is sent when
// there is one), split into three shares here, each node's part signed with your key and sealed so
// that only that node can open it, and sent through the web server, which sees only sealed bytes.
import { useEffect, useRef, useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import type { CodeList, DatasetSchema } from '../../../../src/ingest/schema.js';
import { inPersonOrder } from '../../../../src/ingest/person-order.js';
import { parseSchemaDocument } from '../../../../src/ingest/schema-document.js';
import { defaultVersion, type ShareableDataset } from '../../../../src/ingest/upload-body.js';
import type { IngestValidation, RowProblem } from '../../../../src/ingest/validate.js';
import { datasetInfo } from '../../lib/custodian-data.js';
import { formatOf, preflight, sendShares, sizeText, splitDataset, UPLOAD_LIMIT_BYTES, UploadFailed, validateFile, type FileFormat, type NodeOutcome, type SplitColumns, type UploadProgress } from '../../lib/custodian-upload.js';
import { me } from '../../state.js';
import { fmt, Note, Problem } from '../../ui/common.js';
import type { TabProps } from './tab.js';

interface Target {
  schema: DatasetSchema;
  codeLists: Map<string, CodeList>;
  /** Whether the schema came from the nodes (a new version) or from a schema file (the first one). */
  fromNodes: boolean;
}

/** The CLI's hints, said for this page. */
const forThisPage = (m: string) => m.replace(/use --ignore-extra to skip (it|them)/, 'tick “Skip columns that are not in the schema” to skip $1');

const PROBLEMS_SHOWN = 50;

/** Shares made for one dataset version, kept so that “Try again” sends exactly the same. */
interface Prepared {
  key: string;
  ds: ShareableDataset;
  shares: SplitColumns;
}

export function Upload({ mine, refresh }: TabProps) {
  const { query } = useLocation();
  const [dataset, setDataset] = useState(() => (query.dataset && mine.includes(query.dataset) ? query.dataset : mine[0] ?? ''));
  const [target, setTarget] = useState<Target | null>(null);
  const [needsSchema, setNeedsSchema] = useState(false);
  const [file, setFile] = useState<File | null>(null);
  const [format, setFormat] = useState<FileFormat>('csv');
  const [version, setVersion] = useState(() => defaultVersion());
  const [ignoreExtra, setIgnoreExtra] = useState(false);
  const [progress, setProgress] = useState<UploadProgress | null>(null);
  const [invalid, setInvalid] = useState<IngestValidation | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<{ version: string; rows: number; outcomes: NodeOutcome[] } | null>(null);
  const [failed, setFailed] = useState(false);
  const prepared = useRef<Prepared | null>(null);
  const id = me.value!;

  useEffect(() => {
    setTarget(null);
    setNeedsSchema(false);
    if (!dataset) return;
    datasetInfo(dataset).then((d) => {
      if (d.latest) setTarget({ schema: d.latest.schema, codeLists: new Map(d.latest.codeLists.map((l) => [l.name, l])), fromNodes: true });
      else setNeedsSchema(true);
    }, setError);
  }, [dataset]);

  const pickFile = (f: File | null) => {
    setFile(f);
    setInvalid(null);
    setDone(null);
    setError(null);
    const fmtGuess = f ? formatOf(f.name) : null;
    if (fmtGuess) setFormat(fmtGuess);
  };

  const pickSchema = async (f: File | null) => {
    setError(null);
    setTarget(null);
    if (!f) return;
    try {
      const parsed = parseSchemaDocument(JSON.parse(await f.text()), f.name);
      if (parsed.schema.name !== dataset) throw new Error(`${f.name} is the schema of '${parsed.schema.name}', not of ${dataset}.`);
      setTarget({ ...parsed, fromNodes: false });
    } catch (e) {
      setError(e instanceof SyntaxError ? new Error(`${f.name} is not valid JSON: ${e.message}`) : e);
    }
  };

  const run = async (e: Event) => {
    e.preventDefault();
    setError(null);
    setInvalid(null);
    setDone(null);
    setFailed(false);
    if (!target) return setError(new Error(needsSchema ? 'Choose the schema file of this dataset first (its first version needs one).' : 'The schema of this dataset is still loading; try again in a moment.'));
    if (!file) return setError(new Error('Choose the file to upload first (CSV or JSON Lines).'));
    try {
      const key = `${dataset}@${version}@${file.name}@${file.size}@${file.lastModified}`;
      let prep = prepared.current?.key === key ? prepared.current : null;
      if (!prep) {
        setProgress({ phase: 'reading', text: 'checking the file in this browser', fraction: 0 });
        const v = await validateFile(file, format, target.schema, target.codeLists, { ignoreExtra, onProgress: setProgress });
        if (!v.ok) {
          setInvalid(v);
          return;
        }
        // Rows in person-id order, as `mosaik ingest` uploads them (joins then merge, src/ingest/person-order.ts).
        const ds: ShareableDataset = inPersonOrder({ schema: target.schema, codeLists: target.codeLists, rows: v.rows, columns: v.columns! });
        await preflight(id, ds, version);
        prep = { key, ds, shares: await splitDataset(ds, setProgress) };
        prepared.current = prep;
      } else {
        await preflight(id, prep.ds, version);
      }
      const outcomes = await sendShares(id, prep.ds, prep.shares, version, setProgress);
      prepared.current = null;
      setDone({ version, rows: prep.ds.rows, outcomes });
      setVersion(defaultVersion());
      if (!target.fromNodes) refresh();
    } catch (err) {
      if (err instanceof UploadFailed) setFailed(true);
      else prepared.current = null;
      setError(err);
    } finally {
      setProgress(null);
    }
  };

  return (
    <div>
      <h2>Upload a new version</h2>
      <Note>
        For small files: CSV (first line the column names) or JSON Lines (one object per line), up to {sizeText(UPLOAD_LIMIT_BYTES)}. Your file is checked in this browser against the dataset's schema,
        exactly as <code>mosaik ingest</code> checks it; if anything is wrong, nothing is sent. Then it is split here into three random-looking shares, each node's share is signed with your key
        and sealed so that only that node can open it. The web server passes on sealed bytes only. Larger files: use <code>mosaik ingest</code>.
      </Note>
      <form onSubmit={run} class="card">
        <label>
          Dataset
          <select value={dataset} onChange={(e) => setDataset((e.currentTarget as HTMLSelectElement).value)}>
            {mine.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </label>
        {target?.fromNodes ? (
          <p class="small">
            Checked against the schema of the latest version: {target.schema.columns.map((c) => c.name).join(', ')}.
          </p>
        ) : null}
        {needsSchema ? (
          <label>
            Schema file (JSON, as for <code>mosaik ingest --schema</code>): this dataset has no version yet
            <input type="file" accept=".json,application/json" onChange={(e) => void pickSchema((e.currentTarget as HTMLInputElement).files?.[0] ?? null)} />
          </label>
        ) : null}
        <label>
          File
          <input type="file" accept=".csv,.txt,.jsonl,.ndjson,text/csv" onChange={(e) => pickFile((e.currentTarget as HTMLInputElement).files?.[0] ?? null)} />
        </label>
        {file ? (
          <p class="small">
            {file.name}, {sizeText(file.size)}
          </p>
        ) : null}
        <fieldset class="inline">
          <legend>Format</legend>
          <label>
            <input type="radio" name="format" value="csv" checked={format === 'csv'} onChange={() => setFormat('csv')} /> CSV
          </label>
          <label>
            <input type="radio" name="format" value="jsonl" checked={format === 'jsonl'} onChange={() => setFormat('jsonl')} /> JSON Lines
          </label>
        </fieldset>
        <label>
          Version name
          <input type="text" value={version} onInput={(e) => setVersion((e.currentTarget as HTMLInputElement).value.trim())} aria-describedby="version-help" />
        </label>
        <p id="version-help" class="small">
          Letters, digits, dots, dashes and underscores. A version never changes once stored; researchers can name it in their queries.
        </p>
        <label class="check">
          <input type="checkbox" checked={ignoreExtra} onChange={(e) => setIgnoreExtra((e.currentTarget as HTMLInputElement).checked)} /> Skip columns that are not in the schema
        </label>
        <div class="row">
          <button type="submit" class="primary" disabled={!!progress}>
            {failed ? 'Try again' : 'Check and upload'}
          </button>
        </div>
      </form>
      {progress ? (
        <div class="progress upload-progress" role="status" aria-live="polite">
          <progress max={100} value={Math.round(100 * progress.fraction)} aria-label="Upload progress" />
          <span>{progress.text}</span>
        </div>
      ) : null}
      {invalid ? <Problems v={invalid} /> : null}
      <Problem error={error} />
      {done ? (
        <div class="done" role="status">
          <p>
            <strong>
              Stored version <code>{done.version}</code> of {dataset}: {fmt(done.rows)} rows
            </strong>{' '}
            at {done.outcomes.map((o) => o.node).join(', ')}. Each node holds only its sealed share; researchers can use the new version now (queries read the latest version unless they name one).
          </p>
          <p>
            <a href="/custodian">See your datasets</a>
          </p>
        </div>
      ) : null}
    </div>
  );
}

function Problems({ v }: { v: IngestValidation }) {
  const unit = v.unit === 'row' ? 'Row' : 'Line';
  const where = (p: RowProblem) => (p.line > 0 ? `${unit} ${p.line}` : 'The file');
  const more = v.problemCount - Math.min(PROBLEMS_SHOWN, v.problems.length);
  return (
    <div class="problem problems" role="alert">
      <p>
        <strong>Nothing was uploaded.</strong> The file has {v.problemCount} problem{v.problemCount === 1 ? '' : 's'}
        {v.badRows ? ` in ${v.badRows} ${v.unit}${v.badRows === 1 ? '' : 's'}` : ''}. Fix {v.problemCount === 1 ? 'it' : 'them'} in the file and choose it again:
      </p>
      <ul>
        {v.problems.slice(0, PROBLEMS_SHOWN).map((p, i) => (
          <li key={i}>
            <strong>{where(p)}</strong>: {forThisPage(p.message)}
          </li>
        ))}
      </ul>
      {more > 0 ? <p>… and {more} more.</p> : null}
    </div>
  );
}
