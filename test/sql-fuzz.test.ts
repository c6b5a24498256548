// Fuzzing the SQL front end on the forms of issue 17 (window functions, COUNT(DISTINCT), SELECT
// DISTINCT, arithmetic, many-to-many bounds), as test/fuzz.test.ts does for the older ones: any
// mangled query is planned or refused with QueryError/SchemaError, never another exception.
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { generateRegisters } from '../src/demo/registers.js';
import { SchemaError } from '../src/ingest/schema.js';
import { parseQuery, planAnyQuery, QueryError, tablesOf } from '../src/query/index.js';

const regs = generateRegisters({ citizens: 60, seed: 3 });
const registers = new Map(regs.all.map((r) => [r.schema.name, { schema: r.schema, codeLists: [...regs.codeLists.values()] }]));

const SEEDS = [
  "WITH s AS (SELECT person_id, admission_date, LEAD(admission_date) OVER (PARTITION BY person_id ORDER BY admission_date) AS nx FROM contacts WHERE diagnosis LIKE 'J%') SELECT COUNT(DISTINCT person_id) FROM s WHERE nx - admission_date BETWEEN 15 AND 56",
  'SELECT k, COUNT(*) FROM (SELECT person_id, COUNT(*) OVER (PARTITION BY person_id ORDER BY admission_date ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS k, LAG(length_of_stay, 1, 0) OVER (PARTITION BY person_id ORDER BY admission_date) AS pl FROM contacts) s GROUP BY k',
  'SELECT c.region, COUNT(*) FROM contacts c JOIN (SELECT person_id, date, ROW_NUMBER() OVER (PARTITION BY person_id ORDER BY date) AS k FROM prescriptions) r ON r.person_id = c.person_id AND r.k <= 4 WHERE r.date BETWEEN c.admission_date AND c.admission_date + 90 GROUP BY c.region',
  'SELECT p.sex, AVG(c.admission_date - p.birth_date), SUM(LEAST(GREATEST(c.length_of_stay * 2 - 1, 0), 30)) FROM population p JOIN contacts c ON c.person_id = p.person_id GROUP BY p.sex',
  "SELECT DISTINCT region, sex FROM contacts WHERE diagnosis LIKE 'E11%'",
  'SELECT diagnosis, COUNT(DISTINCT person_id) AS n FROM contacts GROUP BY diagnosis ORDER BY n DESC LIMIT 10',
];
const WORDS = ['OVER', '(', ')', 'PARTITION BY', 'ORDER BY', 'ROW_NUMBER()', 'LAG', 'LEAD', 'COUNT(*)', 'DISTINCT', 'ROWS', 'UNBOUNDED PRECEDING', 'CURRENT ROW', 'AS', 'k', 's', 'r', 'c',
  'person_id', 'admission_date', 'date', 'amount', 'length_of_stay', '+', '-', '*', '/', '<=', '=', ',', '1', '0.5', "'2024-01-01'", 'SELECT', 'FROM', 'WHERE', 'WITH', 'JOIN', 'ON', 'contacts', 'prescriptions'];

/** Plans the query or refuses it with the query module's own errors; anything else fails the test. */
function plansOrRefuses(sql: string): void {
  try {
    const q = parseQuery(sql);
    if (tablesOf(q).every((t) => registers.has(t))) planAnyQuery(q, registers);
  } catch (e) {
    if (!(e instanceof QueryError || e instanceof SchemaError)) throw new Error(`${(e as Error)?.name}: ${(e as Error)?.message} for ${JSON.stringify(sql).slice(0, 400)}`);
  }
}

describe('fuzz: the SQL forms of issue 17', () => {
  it('the seeds plan', () => SEEDS.forEach((s) => planAnyQuery(parseQuery(s), registers)));
  it('seeds with words inserted, deleted and swapped', () => {
    const words = (s: string) => s.split(' ');
    const mangled = fc.tuple(fc.constantFrom(...SEEDS), fc.array(fc.tuple(fc.nat(), fc.nat(2), fc.constantFrom(...WORDS)), { minLength: 1, maxLength: 5 })).map(([s, edits]) => {
      const w = words(s);
      for (const [at, del, ins] of edits) w.splice(at % (w.length + 1), del, ins);
      return w.join(' ');
    });
    fc.assert(fc.property(mangled, plansOrRefuses), { numRuns: 4000 });
  });
  it('seeds with characters changed', () => {
    const chars = fc.tuple(fc.constantFrom(...SEEDS), fc.array(fc.tuple(fc.nat(), fc.nat(3), fc.string({ maxLength: 2 })), { minLength: 1, maxLength: 4 })).map(([s, edits]) => edits.reduce((x, [at, del, ins]) => x.slice(0, at % (x.length + 1)) + ins + x.slice((at % (x.length + 1)) + del), s));
    fc.assert(fc.property(chars, plansOrRefuses), { numRuns: 3000 });
  });
});
