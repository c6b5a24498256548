// `npm run bench:dp`: what output protection (differential privacy, src/query/dp.ts) adds to a
// query's time. Three parties in ONE process over in-memory channels (as the tests run them), so
// the figures are compute, not network. Each query runs exact and protected (discrete Laplace,
// ε = 1); printed: best of 3 wall times, the protection phase alone (execute.ts's lap for the
// noise; clamps are part of the query either way) and the bytes each party sends.
//
//   npm run bench:dp                 # 100 k rows
//   npm run bench:dp -- --quick      # 10 k rows, to check that it runs
import { cpus } from 'node:os';
import { generateRegisters } from '../src/demo/registers.js';
import { type DatasetSchema } from '../src/ingest/schema.js';
import type { GeometricTable } from '../src/mpc/geometric-noise.js';
import { Party } from '../src/mpc/party.js';
import { splitShares, type AShare } from '../src/mpc/share.js';
import { memoryNetwork } from '../src/net/memory.js';
import { noiseForPlan, planSql, runQuery, type PlanNoise, type QueryPlan } from '../src/query/index.js';

const quick = process.argv.includes('--quick');
const ROWS = quick ? 10_000 : 100_000;

interface Case {
  what: string;
  epsilon: number;
  plan: QueryPlan;
  columns: Map<string, BigUint64Array>;
}

async function run(c: Case, noise: PlanNoise | undefined): Promise<{ ms: number; protectMs: number; sent: number }> {
  const shares = new Map([...c.columns].map(([k, v]) => [k, splitShares(v)]));
  let sent = 0, protectMs = 0;
  const nets = memoryNetwork({ tap: (from, _to, d) => ((sent += from === 0 ? d.byteLength : 0), d) });
  const t0 = performance.now();
  await Promise.all(nets.map(async (net) => {
    const p = await Party.setup(net);
    const cols = new Map<string, AShare>([...shares].map(([k, s]) => [k, s[p.id]!]));
    await runQuery(p, c.plan, cols, {
      minCellSize: 5,
      ...(noise ? { noise } : {}),
      trace: (phase, ms) => {
        if (p.id === 0 && phase.startsWith('differential-privacy noise')) protectMs += ms;
      },
    });
  }));
  return { ms: performance.now() - t0, protectMs, sent };
}

async function main(): Promise<void> {
  const regs = generateRegisters({ citizens: Math.round(ROWS * 1.22), seed: 1 });
  const pop = regs.population, inc = regs.income;
  const take = (cols: Map<string, BigUint64Array>, names: string[], n: number) => new Map(names.map((c) => [c, cols.get(c)!.subarray(0, n)]));
  // A synthetic register for the 65 536-cell GROUP BY: two 256-value keys, one row per person.
  const cellSchema: DatasetSchema = {
    name: 'cells', custodian: 'bench',
    columns: [{ name: 'person_id', type: 'person_id', unique: true }, { name: 'a', type: 'int', min: 0, max: 255 }, { name: 'b', type: 'int', min: 0, max: 255 }, { name: 'x', type: 'int', min: 0, max: 1000 }],
  };
  const cellCols = new Map([
    ['a', BigUint64Array.from({ length: ROWS }, (_, i) => BigInt((i * 40503) % 256))],
    ['b', BigUint64Array.from({ length: ROWS }, (_, i) => BigInt(Math.floor((i * 2654435761) / 2 ** 24) % 256))],
    ['x', BigUint64Array.from({ length: ROWS }, (_, i) => BigInt((i * 7919) % 1001))],
  ]);
  const cases: Case[] = [
    { what: `COUNT by region × sex, ${ROWS} rows (population)`, epsilon: 1, plan: planSql('SELECT region, sex, COUNT(*) FROM population GROUP BY region, sex', pop.schema, regs.codeLists), columns: take(pop.columns, ['region', 'sex'], ROWS) },
    {
      what: `COUNT + AVG(LEAST(income, 2000000)) by education, ${inc.length} rows (income)`,
      epsilon: 1,
      plan: planSql('SELECT education, COUNT(*), AVG(LEAST(income, 2000000)) FROM income WHERE year = 2023 GROUP BY education', inc.schema, regs.codeLists),
      columns: take(inc.columns, ['education', 'income', 'year'], inc.length),
    },
    { what: `COUNT by a × b (65 536 cells, sort-based), ${ROWS} rows`, epsilon: 1, plan: planSql('SELECT a, b, COUNT(*) FROM cells GROUP BY a, b', cellSchema, new Map()), columns: take(cellCols, ['a', 'b'], ROWS) },
    { what: `COUNT + SUM(LEAST(x, 500)) by a × b (65 536 cells), ${ROWS} rows, ε = 0.1`, epsilon: 0.1, plan: planSql('SELECT a, b, COUNT(*), SUM(LEAST(x, 500)) FROM cells GROUP BY a, b', cellSchema, new Map()), columns: cellCols },
  ];
  console.log(`# Output protection — ${new Date().toISOString().slice(0, 10)}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}`);
  console.log('Three parties in one process, in-memory channels; discrete Laplace, ε = 1 unless stated; best of 3.\n');
  console.log('| query | exact | protected | protection phase | extra | bytes sent by party 0: exact → protected | noised sums × cells (coins per value) |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const c of cases) {
    const noise = noiseForPlan(c.plan, null, { mechanism: 'laplace', epsilon: c.epsilon });
    const best = async (nz: PlanNoise | undefined) => {
      let b = { ms: Infinity, protectMs: 0, sent: 0 };
      for (let r = 0; r < 3; r++) {
        const x = await run(c, nz);
        if (x.ms < b.ms) b = x;
      }
      return b;
    };
    await run(c, noise); // warm-up
    const exact = await best(undefined);
    const prot = await best(noise);
    const cells = c.plan.keys.reduce((m, k) => m * k.labels.length, 1);
    const mb = (x: number) => `${(x / 2 ** 20).toFixed(1)} MB`;
    console.log(`| ${c.what} | ${exact.ms.toFixed(0)} ms | ${prot.ms.toFixed(0)} ms | ${prot.protectMs.toFixed(0)} ms | ${(prot.ms - exact.ms).toFixed(0)} ms | ${mb(exact.sent)} → ${mb(prot.sent)} | ${noise.sums.length} × ${cells} (${noise.sums.map((x) => (x.sampler as GeometricTable).digits + 1).join(' + ')}) |`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
