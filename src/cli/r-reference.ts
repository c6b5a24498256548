// R itself as the reference for the statistics (issue 13): runs an R script (Rscript, package
// survival) on a plaintext analysis table written as CSV, with the table as `d` (factors with
// Mosaik's level order: the code lists') and `out(key, value)` printing key-value lines, which come
// back as a map. For tests, the main job and bench:stats; never on a node.
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CodeList } from '../ingest/schema.js';
import type { AnalysisRow } from '../demo/analyses.js';

/**
 * Whether Rscript runs here and has the survival package installed, without blocking. It asks R
 * where the package is instead of loading it: loading survival (and Matrix behind it) takes ≈ 2
 * CPU-seconds, finding it 0.3 s, and the script that uses it loads it anyway (a package that is
 * installed but broken fails there, with R's message).
 */
export function rAvailableAsync(): Promise<boolean> {
  return promisify(execFile)('Rscript', ['--vanilla', '-e', 'cat(nzchar(system.file(package = "survival")))'], { encoding: 'utf8' }).then(
    (r) => r.stdout.trim() === 'TRUE',
    () => false,
  );
}

/** Runs `script` on the rows (as `d`); returns key → value. Throws if R fails. */
export function runR(rows: AnalysisRow[], codeLists: Map<string, CodeList>, script: string): Map<string, number> {
  const { dir, file } = rScript(rows, codeLists, script);
  try {
    return parseOut(execFileSync('Rscript', ['--vanilla', file], { encoding: 'utf8', maxBuffer: 64 << 20 }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** runR in the background (the main job runs R beside the statistics in MPC). */
export async function runRAsync(rows: AnalysisRow[], codeLists: Map<string, CodeList>, script: string): Promise<Map<string, number>> {
  const { dir, file } = rScript(rows, codeLists, script);
  try {
    return parseOut((await promisify(execFile)('Rscript', ['--vanilla', file], { encoding: 'utf8', maxBuffer: 64 << 20 })).stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The rows as CSV and the script with its prelude, in a fresh temporary folder. */
function rScript(rows: AnalysisRow[], codeLists: Map<string, CodeList>, script: string): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'mosaik-r-'));
  const csv = join(dir, 'd.csv');
  const head = 't2d,age,age10,sex,region,q,days,died';
  writeFileSync(csv, [head, ...rows.map((r) => `${r.t2d ? 'TRUE' : 'FALSE'},${r.age},${r.age10},${r.sex},${r.region},${r.q},${r.days},${r.died ? 'TRUE' : 'FALSE'}`)].join('\n') + '\n');
  const lv = (name: string) => `c(${codeLists.get(name)!.codes.map((c) => JSON.stringify(c)).join(', ')})`;
  const prelude = `suppressMessages(library(survival))
d <- read.csv(${JSON.stringify(csv)}, stringsAsFactors = FALSE, encoding = "UTF-8")
d$t2d <- as.logical(d$t2d); d$died <- as.logical(d$died)
d$sex <- factor(d$sex, levels = ${lv('sex')}); d$region <- factor(d$region, levels = ${lv('region')})
out <- function(k, v) for (i in seq_along(v)) cat(sprintf("%s\\t%.17g\\n", if (length(v) > 1) paste0(k, i) else k, v[i]), sep = "")
`;
  const file = join(dir, 's.R');
  writeFileSync(file, prelude + script);
  return { dir, file };
}

/** R's `key<TAB>value` lines as a map. */
function parseOut(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [k, v] = line.split('\t');
    if (k && v !== undefined) m.set(k, Number(v));
  }
  return m;
}
