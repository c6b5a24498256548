// Statistics on the node daemons (issue 13): three nodes over TLS with the demo registers uploaded
// as shares; every function submitted as a signed request (src/cli/stats.ts runRemoteStat, and the
// `mosaik stats` command itself), run at every node as a job, released lanes sealed to the
// requester and combined there — compared with R (Rscript, survival) on the same data within the
// issue's tolerances (exact nodes), and with R within the stated error (protected nodes, the
// default differential privacy). Disclosure rules and bad calls are refused at the nodes.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import type { Registers } from '../src/demo/registers.js';
import { uploadDataset } from '../src/ingest/upload.js';
import { createLocalCluster, type LocalCluster } from '../src/net/keys.js';
import { startDaemon, writeApiPorts, type Daemon } from '../src/node/daemon.js';
import type { PrivacySettings } from '../src/node/privacy.js';
import { runRemoteStat } from '../src/cli/stats.js';
import { runRemoteQuery } from '../src/cli/query.js';
import { QueryFailed } from '../src/cli/query.js';
import type { StatRequest } from '../src/stats/shapes.js';
import { localSigners, type LocalSigners } from './identities.js';
import { EXAMPLE_SQL, exampleTable, makeRegisters, runR } from './stats-fixture.js';

const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'mosaik-stats-node-'));
let regs: Registers;
let R: Map<string, number>;

interface Cluster { lc: LocalCluster; daemons: Daemon[]; ids: LocalSigners }
let exact: Cluster;
let guarded: Cluster;

async function cluster(name: string, privacy: Partial<PrivacySettings>): Promise<Cluster> {
  const lc = await createLocalCluster(join(root, name));
  await writeApiPorts(lc.dir);
  const ids = localSigners(lc.dir);
  const daemons: Daemon[] = [];
  for (const p of [0, 1, 2] as const) daemons.push(await startDaemon({ dir: lc.dir, party: p, privacy, log: () => {} }));
  for (const r of regs.all) await uploadDataset({ config: lc.config, dataset: { schema: r.schema, codeLists: regs.codeLists, rows: r.length, columns: r.columns }, version: 'v1', signer: ids.custodian });
  return { lc, daemons, ids };
}

const stat = (c: Cluster, req: Omit<StatRequest, 'data'> & { data?: string }, o: { epsilon?: number; minCellSize?: number } = {}) =>
  runRemoteStat({ config: c.lc.config, signer: c.ids.researcher, request: { data: EXAMPLE_SQL, ...req } as StatRequest, timeoutMs: 300_000, ...o });

const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);
const closeRel = (got: number, want: number, tol: number, what: string) => assert.ok(rel(got, want) <= tol, `${what}: ${got} vs R ${want}`);
const closeAbs = (got: number, want: number, tol: number, what: string) => assert.ok(Math.abs(got - want) <= tol, `${what}: ${got} vs R ${want}`);

const R_SCRIPT = `
tt <- t.test(age ~ t2d, data = d); out("t:t", tt$statistic); out("t:p.value", tt$p.value)
out("cor:cor", cor(d$age, d$days))
m <- summary(lm(days ~ age + sex + t2d, data = d)); cf <- coef(m); for (n in rownames(cf)) { out(paste0("lm:coef:", n), cf[n, 1]); out(paste0("lm:p:", n), cf[n, 4]) }; out("lm:r.squared", m$r.squared)
out("chisq:statistic", chisq.test(table(d$region, d$q))$statistic)
tab <- table(d$t2d, d$died); out("or:or", tab[2, 2] * tab[1, 1] / (tab[2, 1] * tab[1, 2]))
out("median", median(d$age))
out("hist:", hist(d$age, breaks = c(0, 20, 40, 60, 80, 120), right = FALSE, plot = FALSE)$counts)
d$m <- 1 + floor((d$days - 1) / 30) * 30
s <- summary(survfit(Surv(m, died) ~ t2d, data = d)); for (i in seq_along(s$time)) out(paste0("surv:", as.character(s$strata[i]), ":", s$time[i]), s$surv[i])
out("survdiff:chisq", survdiff(Surv(m, died) ~ t2d, data = d)$chisq)
m <- glm(t2d ~ age + sex + factor(q), family = binomial, data = d); cf <- coef(summary(m)); for (n in rownames(cf)) { out(paste0("glm:coef:", n), cf[n, 1]); out(paste0("glm:se:", n), cf[n, 2]); out(paste0("glm:p:", n), cf[n, 4]) }
out("glm:deviance", m$deviance)
m <- glm(died ~ t2d + age + sex + offset(log(days)), family = poisson, data = d); cf <- coef(summary(m)); for (n in rownames(cf)) { out(paste0("pois:coef:", n), cf[n, 1]); out(paste0("pois:se:", n), cf[n, 2]) }
m <- coxph(Surv(m, died) ~ t2d + age + sex, data = d, ties = "breslow"); cf <- coef(summary(m)); for (n in rownames(cf)) { out(paste0("cox:coef:", n), cf[n, 1]); out(paste0("cox:se:", n), cf[n, 3]); out(paste0("cox:p:", n), cf[n, 5]) }
`;

before(async () => {
  regs = makeRegisters(4000, 5);
  R = runR(exampleTable(regs), regs, R_SCRIPT);
  exact = await cluster('exact', { exact: true });
  guarded = await cluster('guarded', {});
});

after(async () => {
  for (const c of [exact, guarded]) for (const d of c?.daemons ?? []) await d.close();
  rmSync(root, { recursive: true, force: true });
});

describe('statistics at the node daemons (exact results) equal R', () => {
  it('t.test, cor, lm, chisq.test, oddsratio, median, hist', async () => {
    const t = (await stat(exact, { fn: 't.test', formula: 'age ~ t2d' }, { minCellSize: 1 })).result.values;
    closeRel(t.t!, R.get('t:t')!, 1e-9, 't');
    closeAbs(t['p.value']!, R.get('t:p.value')!, 1e-3, 't p');
    closeRel((await stat(exact, { fn: 'cor', formula: '~ age + days' })).result.values.cor!, R.get('cor:cor')!, 1e-9, 'cor');
    const lm = (await stat(exact, { fn: 'lm', formula: 'days ~ age + sex + t2d' })).result.values;
    for (const n of ['(Intercept)', 'age', 'sexM', 't2dTRUE']) {
      closeRel(lm[`coef:${n}`]!, R.get(`lm:coef:${n}`)!, 1e-6, `lm ${n}`);
      closeAbs(lm[`p:${n}`]!, R.get(`lm:p:${n}`)!, 1e-3, `lm p ${n}`);
    }
    closeRel(lm['r.squared']!, R.get('lm:r.squared')!, 1e-6, 'R²');
    closeRel((await stat(exact, { fn: 'chisq.test', formula: '~ region + q' })).result.values.statistic!, R.get('chisq:statistic')!, 1e-6, 'X²');
    closeRel((await stat(exact, { fn: 'oddsratio', formula: 'died ~ t2d' })).result.values.or!, R.get('or:or')!, 1e-9, 'odds ratio');
    assert.equal((await stat(exact, { fn: 'median', formula: '~ age' }, { minCellSize: 1 })).result.values['50%'], R.get('median'));
    const h = (await stat(exact, { fn: 'hist', formula: '~ age', breaks: [0, 20, 40, 60, 80, 120] })).result.values;
    for (let i = 0; i < 5; i++) assert.equal(h[`count:${i}`], R.get(`hist:${i + 1}`), `bin ${i}`);
  });

  it('analysis tables of other SQL over the same registers reuse the join\'s sort by person (the nodes\' line-up), same estimates', async () => {
    const counts = () => exact.daemons.map((d) => [d.runner.lineupCache.made, d.runner.lineupCache.used]);
    const variants = [EXAMPLE_SQL.replace('p.sex, p.region,', 'p.sex,'), EXAMPLE_SQL.replace('p.sex, p.region,', 'p.region,')];
    const seen: number[][][] = [];
    for (const data of variants) {
      const before = counts();
      const t = (await stat(exact, { fn: 't.test', formula: 'age ~ t2d', data }, { minCellSize: 1 })).result.values;
      closeRel(t.t!, R.get('t:t')!, 1e-9, 't');
      seen.push(counts().map(([m, u], i) => [m! - before[i]![0]!, u! - before[i]![1]!]));
    }
    // The first made the line-up or used one an earlier test's table made; the second used it at every node.
    for (const d of seen[0]!) assert.equal(d[0]! + d[1]!, 1);
    assert.deepEqual(seen[1], [[0, 1], [0, 1], [0, 1]]);
  });

  it('an EXISTS flag made by a SQL query is what a later analysis table uses (the contacts not joined again), same estimates', async () => {
    for (const d of exact.daemons) d.runner.existsCache.clear();
    const counts = () => exact.daemons.map((d) => [d.runner.existsCache.made, d.runner.existsCache.used]);
    const before = counts();
    const sql = "SELECT p.sex, COUNT(*) AS n FROM population p WHERE EXISTS (SELECT 1 FROM contacts c WHERE c.person_id = p.person_id AND c.diagnosis LIKE 'E11%') GROUP BY p.sex";
    const q = await runRemoteQuery({ config: exact.lc.config, sql, signer: exact.ids.researcher, timeoutMs: 300_000, minCellSize: 1 });
    assert.ok(q.rows.length > 0);
    const made = counts();
    // A table of SQL not built before (no analysis table kept): the flag is taken, not made.
    const data = EXAMPLE_SQL.replace('p.sex, p.region,', 'p.sex, p.region, p.region AS r2,');
    const t = (await stat(exact, { fn: 't.test', formula: 'age ~ t2d', data }, { minCellSize: 1 })).result.values;
    closeRel(t.t!, R.get('t:t')!, 1e-9, 't');
    assert.deepEqual(made.map(([m, u], i) => [m! - before[i]![0]!, u! - before[i]![1]!]), [[1, 0], [1, 0], [1, 0]]);
    assert.deepEqual(counts().map(([m, u], i) => [m! - made[i]![0]!, u! - made[i]![1]!]), [[0, 1], [0, 1], [0, 1]]);
  });

  it('survfit and survdiff by 30-day interval', async () => {
    const s = (await stat(exact, { fn: 'survfit', formula: 'Surv(days, died) ~ t2d', bin: 30 }, { minCellSize: 1 })).result;
    let n = 0;
    for (const [k, v] of R) {
      if (!k.startsWith('surv:')) continue;
      closeAbs(s.values[k]!, v, 1e-4, k);
      n++;
    }
    assert.ok(n > 20, `${n} survival probabilities compared`);
    assert.ok(s.series?.curves?.length === 2 && s.series.curves[0]!.points[0]!.nRisk > 0, 'curves with numbers at risk');
    closeRel((await stat(exact, { fn: 'survdiff', formula: 'Surv(days, died) ~ t2d', bin: 30 })).result.values.chisq!, R.get('survdiff:chisq')!, 1e-6, 'log-rank');
  });

  it('glm (logistic; Poisson with an offset) and coxph: coefficients, standard errors, p', async () => {
    const coef = (v: Record<string, number>, prefix: string, names: string[]) => {
      for (const n of names) {
        const se = R.get(`${prefix}:se:${n}`)!;
        assert.ok(Math.abs(v[`coef:${n}`]! - R.get(`${prefix}:coef:${n}`)!) <= Math.max(1e-3 * Math.abs(R.get(`${prefix}:coef:${n}`)!), 1e-3 * se), `${prefix} ${n}: ${v[`coef:${n}`]} vs R ${R.get(`${prefix}:coef:${n}`)}`);
        closeRel(v[`se:${n}`]!, se, 1e-3, `${prefix} se ${n}`);
      }
    };
    const g = await stat(exact, { fn: 'glm', formula: 't2d ~ age + sex + factor(q)', family: 'binomial' });
    coef(g.result.values, 'glm', ['(Intercept)', 'age', 'sexM', 'factor(q)2', 'factor(q)5']);
    closeRel(g.result.values.deviance!, R.get('glm:deviance')!, 1e-4, 'deviance');
    assert.equal(g.result.values.converged, 1);
    assert.ok(g.parts.every((x) => x.statistic === g.statistic), 'every node ran the signed call');
    coef((await stat(exact, { fn: 'glm', formula: 'died ~ t2d + age + sex + offset(log(days))', family: 'poisson' })).result.values, 'pois', ['(Intercept)', 't2dTRUE', 'age', 'sexM']);
    const c = (await stat(exact, { fn: 'coxph', formula: 'Surv(days, died) ~ t2d + age + sex', bin: 30 })).result.values;
    coef(c, 'cox', ['t2dTRUE', 'age', 'sexM']);
    for (const n of ['t2dTRUE', 'age', 'sexM']) closeAbs(c[`p:${n}`]!, R.get(`cox:p:${n}`)!, 1e-3, `cox p ${n}`);
  });

  it('mosaik stats prints R\'s table, --json and --plot (SVG of a forest plot and of Kaplan–Meier curves)', async () => {
    const run = promisify(execFile);
    const svg = join(root, 'forest.svg');
    const { stdout, stderr } = await run(process.execPath, [MAIN, 'stats', 'glm', '--dir', exact.lc.dir, '--data', EXAMPLE_SQL, '--formula', 't2d ~ age + sex', '--family', 'binomial', '--plot', svg], { maxBuffer: 1 << 24 });
    assert.match(stdout, /Coefficients:[\s\S]*\(Intercept\)[\s\S]*age[\s\S]*sexM/);
    assert.match(stdout, /Residual deviance:/);
    assert.match(stderr, /output protection: NONE/);
    assert.match(readFileSync(svg, 'utf8'), /^<svg[\s\S]*odds ratio \(95 % CI\)/);
    const km = join(root, 'km.svg');
    const j = await run(process.execPath, [MAIN, 'stats', 'survfit', '--dir', exact.lc.dir, '--data', EXAMPLE_SQL, '--time', 'days', '--event', 'died', '--group', 't2d', '--bin', '30', '--json', '--plot', km], { maxBuffer: 1 << 24 });
    const parsed = JSON.parse(j.stdout) as { result: { series: { curves: unknown[] } }; protection: { kind: string } };
    assert.equal(parsed.result.series.curves.length, 2);
    assert.ok(existsSync(km) && readFileSync(km, 'utf8').includes('survival probability'));
  });
});

describe('statistics at the node daemons: disclosure rules and bad calls', () => {
  it('a factor level with fewer persons than the smallest cell is refused, not fitted', async () => {
    // Age as a factor: the oldest ages have a handful of persons each.
    await assert.rejects(stat(exact, { fn: 'glm', formula: 't2d ~ factor(age)', family: 'binomial' }), /fewer than 5 persons|parameters/);
  });

  it('calls the nodes cannot plan are refused before anything runs', async () => {
    await assert.rejects(stat(exact, { fn: 'glm', formula: 't2d ~ nosuch', family: 'binomial' }), (e: unknown) => e instanceof QueryFailed && /no column 'nosuch'/.test(e.message));
    await assert.rejects(stat(exact, { fn: 'lm', formula: 'age ~ sex', data: 'SELECT COUNT(*) AS n FROM population' }), /without aggregation/);
  });
});

describe('statistics at protected nodes (default differential privacy)', () => {
  it('glm and survfit: within the stated error of R; the run is charged to the researcher', async () => {
    const g = await stat(guarded, { fn: 'glm', formula: 't2d ~ age + sex', family: 'binomial' }, { epsilon: 0.5 });
    assert.equal(g.protection.kind, 'dp');
    for (const n of ['age', 'sexM']) {
      const e = g.result.errors?.[`coef:${n}`];
      assert.ok(e && e.sd > 0, `error stated for ${n}`);
    }
    assert.ok(g.privacy && g.privacy.cost.epsilon === 0.5, 'epsilon 0.5 charged');
    const s = await stat(guarded, { fn: 'survfit', formula: 'Surv(days, died) ~ t2d', bin: 90 }, { epsilon: 0.4 });
    assert.ok(s.result.errors && Object.keys(s.result.errors).some((k) => k.startsWith('surv:')), 'survival errors stated');
    // The budget (1 by default) is spent: a third run is refused at every node.
    await assert.rejects(stat(guarded, { fn: "cor", formula: "~ age + days" }, { epsilon: 0.5 }), /remain/);
  });
});
