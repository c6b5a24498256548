// `npm run bench:accuracy`: the error output protection adds to each example study of the main job
// (src/demo/studies.ts), at 100 k and 1 M citizens. The noise is public in its distribution: for
// every cell the plaintext answer would show, the standard deviation of what the protection adds is
// computed from the plan and the epsilon (src/query/dp.ts noiseForPlan, protectionErrors), exactly
// as the requester computes it for a released result. Printed per study and output column: the
// number of cells, the 95 % margin (the same for every cell of a count; per cell for means), and the
// median and largest relative standard deviation over the cells (sd / |value|); for the
// prevalences (a count over its denominator) the delta method. No MPC runs here (the noise does
// not depend on it); `npm start` shows one protected run against the plaintext.
//
//   npm run bench:accuracy                       # 100 000 and 1 000 000 citizens
//   npm run bench:accuracy -- --citizens 20000   # one size
import { generateRegisters } from '../src/demo/registers.js';
import { STUDIES } from '../src/demo/studies.js';
import { noiseForPlan, parseQuery, planAnyQuery, protectionErrors, type Display } from '../src/query/index.js';
import { PlainDatabase } from '../src/query/plaintext.js';

const arg = process.argv.indexOf('--citizens');
const SIZES = arg > 0 ? [Number(process.argv[arg + 1])] : [100_000, 1_000_000];
const MIN_CELL = 5;

const pct = (x: number) => (Number.isFinite(x) ? `${(100 * x).toFixed(x < 0.001 ? 3 : 2)} %` : '—');
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2) : NaN;
};
const num = (x: number) => Number(x.toPrecision(2)).toLocaleString('en-US');

for (const citizens of SIZES) {
  const t0 = performance.now();
  const regs = generateRegisters({ citizens, seed: 1 });
  const db = await PlainDatabase.create(regs.all, regs.codeLists);
  const datasets = new Map(regs.all.map((r) => [r.schema.name, { schema: r.schema, codeLists: [...regs.codeLists.values()] }]));
  console.log(`\n${citizens.toLocaleString('en-US')} citizens (registers and SQLite in ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  console.log('study                 ε      output          cells   95 % margin        median rel. sd   largest rel. sd');
  let spent = 0;
  for (const st of STUDIES) {
    const queries = [{ sql: st.sql, epsilon: st.epsilon }, ...(st.denominator ? [{ sql: st.denominator.sql, epsilon: st.denominator.epsilon }] : [])];
    spent += queries.reduce((s, q) => s + q.epsilon, 0);
    const rel: { rows: (number | string | null)[][]; sd: number[][]; columns: string[]; keys: number }[] = [];
    for (const q of queries) {
      const { plan, join } = planAnyQuery(parseQuery(q.sql), datasets);
      const noise = noiseForPlan(plan, join, { mechanism: 'laplace', epsilon: q.epsilon });
      const want = db.query(q.sql);
      const shown = want.rows.filter((r) => Number(r[plan.keys.length]) >= MIN_CELL);
      const errs = shown.map((r) => protectionErrors(plan, noise, r as Display[]));
      rel.push({ rows: shown, sd: errs.map((e) => e.map((x) => x.sd)), columns: want.columns, keys: plan.keys.length });
      for (let c = plan.keys.length; c < want.columns.length; c++) {
        const r = shown.map((row, i) => errs[i]![c]!.sd / Math.abs(Number(row[c])));
        const margins = [...new Set(errs.map((e) => num(e[c]!.half95)))];
        console.log(`${st.id.padEnd(21)} ${String(q.epsilon).padEnd(6)} ${want.columns[c]!.padEnd(15)} ${String(shown.length).padStart(5)}   ${(margins.length === 1 ? `±${margins[0]}` : `±${num(Math.min(...errs.map((e) => e[c]!.half95)))}…${num(Math.max(...errs.map((e) => e[c]!.half95)))}`).padEnd(18)} ${pct(median(r)).padStart(14)}   ${pct(Math.max(...r)).padStart(15)}`);
      }
    }
    if (st.denominator) {
      // Prevalence = count / denominator: relative sd √((sd_a/a)² + (sd_b/b)²) (independent noises).
      const [a, b] = rel as [(typeof rel)[0], (typeof rel)[0]];
      const key = (r: (number | string | null)[], k: number) => r.slice(0, k).join('|');
      const byKey = new Map(b.rows.map((r, i) => [key(r, b.keys), i]));
      const r = a.rows.flatMap((row, i) => {
        const j = byKey.get(key(row, a.keys));
        if (j === undefined) return [];
        const x = Number(row[a.keys]), y = Number(b.rows[j]![b.keys]);
        return [Math.hypot(a.sd[i]![a.keys]! / x, b.sd[j]![b.keys]! / y)];
      });
      console.log(`${st.id.padEnd(21)} ${''.padEnd(6)} ${st.denominator.label.padEnd(15)} ${String(r.length).padStart(5)}   ${''.padEnd(18)} ${pct(median(r)).padStart(14)}   ${pct(Math.max(...r)).padStart(15)}`);
    }
  }
  console.log(`epsilon spent by the researcher on all of them: ${Number(spent.toPrecision(3))}`);
  db.close();
}
