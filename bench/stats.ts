// `npm run bench:stats [-- --rows 1000000] [--only logistic,km,cox,lm] [--protected]`: the
// statistics of issue 13 on the node daemons: three `mosaik node` processes over TLS on this
// machine, a synthetic cohort register (bench/stats-cohort.ts) uploaded as shares, each analysis
// submitted with `mosaik stats`'s code (src/cli/stats.ts runRemoteStat), timed from submission to
// the combined result; beside it R's plaintext time for the same analysis on the same data
// (Rscript, package survival) and the largest difference between the two sets of estimates.
// Nodes run with --exact-results unless --protected (then the default differential privacy).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { createLocalCluster, loadClusterConfig } from '../src/net/keys.js';
import { writeApiPorts } from '../src/node/daemon.js';
import { uploadDataset } from '../src/ingest/upload.js';
import { ensureLocalIdentities } from '../src/governance/identities.js';
import { cliSigner } from '../src/cli/identity-defaults.js';
import { reread, runRemoteStat, type RemoteStat } from '../src/cli/stats.js';
import { startNodes, stopNodes } from '../src/cli/studies-demo.js';
import type { StatRequest } from '../src/stats/functions.js';
import { ANALYSES, COHORT_CODES, COHORT_SCHEMA, COHORT_SQL, cohortCsv, makeCohort } from './stats-cohort.js';

const arg = (name: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const ROWS = Number(arg('rows') ?? 1_000_000);
const ONLY = arg('only')?.split(',');
const PROTECTED = process.argv.includes('--protected');

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** R: each analysis timed (elapsed seconds, reading the CSV excluded), and its estimates. */
function runR(csv: string): Map<string, { seconds: number; values: Map<string, number> }> {
  const script = `suppressMessages(library(survival))
d <- read.csv(${JSON.stringify(csv)}, stringsAsFactors = FALSE)
d$sex <- factor(d$sex, levels = c("F", "M")); d$t2d <- as.logical(d$t2d); d$died <- as.logical(d$died); d$smoker <- as.logical(d$smoker)
out <- function(id, k, v) cat(sprintf("%s\\t%s\\t%.17g\\n", id, k, v), sep = "")
tm <- function(id, e) { t <- system.time(r <- eval(e))[["elapsed"]]; out(id, "seconds", t); r }
m <- tm("logistic", quote(glm(t2d ~ age + sex + smoker + bmi + factor(edu), family = binomial, data = d)))
for (n in names(coef(m))) out("logistic", paste0("coef:", n), coef(m)[[n]])
d$m <- 1 + floor((d$days - 1) / 30) * 30
s <- tm("km", quote(list(summary(survfit(Surv(m, died) ~ t2d, data = d)), survdiff(Surv(m, died) ~ t2d, data = d))))
out("km", "chisq", s[[2]]$chisq); out("km", "surv:last", tail(s[[1]]$surv, 1))
m <- tm("cox", quote(coxph(Surv(m, died) ~ t2d + age + sex + smoker, data = d, ties = "breslow")))
for (n in names(coef(m))) out("cox", paste0("coef:", n), coef(m)[[n]])
m <- tm("lm", quote(summary(lm(sbp ~ age + sex + smoker + bmi + chol + t2d + factor(q), data = d))))
for (n in rownames(coef(m))) out("lm", paste0("coef:", n), coef(m)[n, 1])
`;
  const f = join(dirname(csv), 'reference.R'); // beside the cohort, in the run's folder (removed with it)
  writeFileSync(f, script);
  const text = execFileSync('Rscript', ['--vanilla', f], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const out = new Map<string, { seconds: number; values: Map<string, number> }>();
  for (const line of text.split('\n')) {
    const [id, k, v] = line.split('\t');
    if (!id || !k || v === undefined) continue;
    const e = out.get(id) ?? out.set(id, { seconds: NaN, values: new Map() }).get(id)!;
    if (k === 'seconds') e.seconds = Number(v);
    else e.values.set(k, Number(v));
  }
  return out;
}

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'mosaik-bench-stats-'));
  console.error(`bench:stats — ${ROWS.toLocaleString('en-US')} persons, ${PROTECTED ? 'protected (default differential privacy)' : 'exact results'}; ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, load ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  let t = performance.now();
  const cohort = makeCohort(ROWS);
  const csv = join(root, 'cohort.csv');
  writeFileSync(csv, cohortCsv(cohort));
  console.error(`cohort generated and written for R in ${secs(performance.now() - t)}`);
  const lc = await createLocalCluster(join(root, 'cluster'));
  await writeApiPorts(lc.dir);
  const keys = ensureLocalIdentities(lc.dir);
  const researcher = cliSigner({ dir: lc.dir, key: keys.get('researcher')!, role: 'researcher' });
  const custodian = cliSigner({ dir: lc.dir, key: keys.get('custodian')!, role: 'custodian' });
  const config = loadClusterConfig(join(lc.dir, 'cluster.json'));
  const { kids, waitUntilUp } = startNodes(lc.dir, config, { minCellSize: 5, verbose: false, log: (l) => console.error(l) }, [...(PROTECTED ? ['--researcher-epsilon', '100'] : ['--exact-results']), '--recv-timeout', '900000']);
  try {
    await waitUntilUp();
    t = performance.now();
    await uploadDataset({ config, dataset: { schema: COHORT_SCHEMA, codeLists: COHORT_CODES, rows: cohort.n, columns: cohort.columns }, version: 'v1', signer: custodian });
    console.error(`shares uploaded to the three nodes in ${secs(performance.now() - t)}`);
    t = performance.now();
    const R = runR(csv);
    console.error(`R done in ${secs(performance.now() - t)}`);
    console.log(`\n${ROWS.toLocaleString('en-US')} persons, ${new Date().toISOString().slice(0, 10)}, load before ${loadavg()[0]!.toFixed(1)}${PROTECTED ? ', protected runs (epsilon 1 each)' : ''}\n`);
    console.log('| analysis | Mosaik (three TLS nodes) | node compute | sent per row (max node) | messages (max node) | R (plaintext) | largest difference from R | target |');
    console.log('| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |');
    for (const a of ANALYSES) {
      if (ONLY && !ONLY.includes(a.id)) continue;
      const calls: Omit<StatRequest, 'data'>[] = [a.call as Omit<StatRequest, 'data'>];
      let seconds = 0, compute = 0, sent = 0, frames = 0;
      const results: RemoteStat[] = [];
      for (const c of calls) {
        const r = await runRemoteStat({ config, signer: researcher, request: { data: COHORT_SQL, ...c } as StatRequest, timeoutMs: 3_600_000, ...(PROTECTED ? { epsilon: 1 } : {}), onProgress: (m) => process.stderr.write(`\r  ${a.id}: ${m.slice(0, 100).padEnd(100)}`) });
        process.stderr.write('\n');
        results.push(r);
        seconds += r.seconds;
        compute += Math.max(...r.parts.map((x) => x.timings.computeMs)) / 1000;
        sent += Math.max(...r.parts.map((x) => x.traffic?.sent ?? 0));
        frames += Math.max(...r.parts.map((x) => x.traffic?.frames ?? 0));
      }
      const r0 = results[0]!.result;
      const rr = R.get(a.id);
      let diff = '';
      if (rr) {
        if (a.id === 'km') {
          const chi = reread(results[0]!, 'survdiff').values.chisq!;
          diff = `log-rank χ² ${chi.toFixed(3)} vs R ${rr.values.get('chisq')!.toFixed(3)}`;
        } else {
          let worst = 0, worstName = '';
          for (const [k, v] of rr.values) {
            const name = k.replace(/^coef:/, '').replace(/^sexM$/, 'sexM').replace(/^(smoker|t2d)TRUE$/, '$1TRUE');
            const got = r0.values[`coef:${name}`];
            if (got === undefined) continue;
            const d = Math.abs(got - v) / Math.max(Math.abs(v), 1e-12);
            if (d > worst) (worst = d), (worstName = name);
          }
          diff = `${worst.toExponential(1)} relative (${worstName})`;
        }
      }
      console.log(`| ${a.what} | **${seconds.toFixed(1)} s** | ${compute.toFixed(1)} s | ${(sent / ROWS).toFixed(0)} B | ${frames} | ${rr ? `${rr.seconds.toFixed(2)} s` : '—'} | ${diff} | ≤ ${a.target} s: ${seconds <= a.target ? 'reached' : '**not reached**'} |`);
      if (process.argv.includes('--print')) for (const r of results) console.error(r.result.text);
    }
  } finally {
    await stopNodes(kids);
    rmSync(root, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});


