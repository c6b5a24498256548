// R itself as the reference for the statistics (issue 13): runs an R script (Rscript, package
// survival) on a plaintext analysis table written as CSV, with the table as `d` (factors with
// Mosaik's level order: the code lists') and `out(key, value)` printing key-value lines, which come
// back as a map. For tests, the main job and bench:stats; never on a node.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CodeList } from '../ingest/schema.js';
import type { AnalysisRow } from '../demo/analyses.js';

/** An R session started ahead of its one script: see startR. */
export interface RSession {
  /** Whether Rscript runs here and loaded the survival package (false if either is missing). */
  readonly available: Promise<boolean>;
  /** Runs `script` on the rows (as `d`) in the session; key → value. Rejects if R is not available or fails. */
  run(rows: AnalysisRow[], codeLists: Map<string, CodeList>, script: string): Promise<Map<string, number>>;
  /** Stops R if its script was never run (e.g. the caller failed before it). */
  close(): void;
}

/**
 * Starts Rscript at once, loading survival (≈ 2 CPU-seconds here, most of it the Matrix package
 * behind survival), and waits for one script; that R started and loaded survival is also the answer
 * to whether R is available, so no separate R is started to ask. R exits after the script, or when
 * this process closes its input.
 */
export function startR(): RSession {
  const child = spawn('Rscript', ['--vanilla', '-e', [
    'if (!suppressMessages(requireNamespace("survival", quietly = TRUE))) quit(status = 3)',
    'suppressMessages(library(survival))',
    'cat("ready\\n"); flush(stdout())',
    'f <- readLines(file("stdin"), n = 1L)',
    'if (length(f) == 1L && nzchar(f)) source(f)',
  ].join('; ')], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '', err = '';
  child.stdout.setEncoding('utf8').on('data', (t: string) => (out += t));
  child.stderr.setEncoding('utf8').on('data', (t: string) => (err = (err + t).slice(-4000)));
  child.stdin.on('error', () => {}); // R gone before it read its input: reported by its exit
  const exited = new Promise<number | null>((res) => {
    child.on('error', () => res(null)); // no Rscript
    child.on('close', (code) => res(code));
  });
  const available = new Promise<boolean>((res) => {
    child.stdout.on('data', () => out.includes('ready\n') && res(true));
    void exited.then(() => res(out.includes('ready\n')));
  });
  let ran = false;
  return {
    available,
    async run(rows, codeLists, script) {
      if (ran) throw new Error('an R session runs one script');
      ran = true;
      if (!(await available)) throw new Error('R (Rscript with the survival package) is not available here');
      const { dir, file } = rScript(rows, codeLists, script);
      try {
        child.stdin.end(file + '\n');
        const code = await exited;
        if (code !== 0) throw new Error(`R failed (exit ${code}): ${err.trim().split('\n').slice(-5).join(' | ')}`);
        return parseOut(out);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    close() {
      if (!ran && child.exitCode === null) child.kill();
    },
  };
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
