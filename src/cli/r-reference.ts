// R itself as the reference for the statistics (issue 13): runs an R script (Rscript, package
// survival) on a plaintext analysis table written as CSV, with the table as `d` (factors with
// Mosaik's level order: the code lists') and `out(key, value)` printing key-value lines, which come
// back as a map. For tests, the main job and bench:stats; never on a node.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CodeList } from '../ingest/schema.js';
import type { AnalysisRow } from '../demo/analyses.js';

/** Whether Rscript with the survival package runs here. */
export function rAvailable(): boolean {
  const r = spawnSync('Rscript', ['--vanilla', '-e', 'suppressMessages(library(survival))'], { encoding: 'utf8' });
  return r.status === 0;
}

/** Runs `script` on the rows (as `d`); returns key → value. Throws if R fails. */
export function runR(rows: AnalysisRow[], codeLists: Map<string, CodeList>, script: string): Map<string, number> {
  const dir = mkdtempSync(join(tmpdir(), 'mosaik-r-'));
  try {
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
    writeFileSync(join(dir, 's.R'), prelude + script);
    const text = execFileSync('Rscript', ['--vanilla', join(dir, 's.R')], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const m = new Map<string, number>();
    for (const line of text.split('\n')) {
      const [k, v] = line.split('\t');
      if (k && v !== undefined) m.set(k, Number(v));
    }
    return m;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
