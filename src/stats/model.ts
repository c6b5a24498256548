// Model formulas as R writes them, over the columns of an analysis table (src/query/rows.ts):
//   y ~ x1 + x2 + factor(x3) [+ offset(log(t))] [- 1]        lm, glm
//   Surv(time, event) ~ x1 + x2                               coxph; ~ g for survfit/survdiff
// and the design matrix R builds from them (model.matrix with treatment contrasts): an intercept,
// a numeric column per numeric term, a logical (bool) column as the indicator `xTRUE`, and a
// factor (a code column, or factor(int column)) as indicators of every level but the first
// (`x<level>`, `factor(x)<level>`). Interactions are not supported (refused with a message).
// Plaintext planning over public metadata only; reveals nothing.
import type { CodeList } from '../ingest/schema.js';
import { QueryError } from '../query/parse.js';
import { FRAC } from '../query/plan.js';
import type { RowColumn } from '../query/rows.js';

export class StatsError extends QueryError {
  constructor(message: string) {
    super(message);
    this.name = 'StatsError';
  }
}

export const fail = (m: string): never => {
  throw new StatsError(m);
};

/** One column of the design matrix. */
export type DesignColumn =
  | { kind: 'intercept'; name: '(Intercept)' }
  | { kind: 'numeric'; name: string; column: string; min: number; max: number }
  /** [column = level] (level: the encoded value, e.g. a code index or an int). */
  | { kind: 'level'; name: string; column: string; level: number };

export interface Term {
  /** As written: x, factor(x). */
  text: string;
  column: string;
  factor: boolean;
  /** strata(x): a stratification variable (Mantel–Haenszel; coxph strata not supported). */
  strata?: boolean;
  /** Factor levels: labels (R's names) and encoded values. */
  labels?: string[];
  values?: number[];
}

export interface ParsedFormula {
  text: string;
  /** Left-hand side: one column (y) or Surv(time, event); null for `~ g`. */
  response: { kind: 'column'; column: string } | { kind: 'surv'; time: string; event: string } | null;
  terms: Term[];
  intercept: boolean;
  /** offset(log(t)): the column t (exposure). */
  offset: string | null;
}

export interface Design {
  formula: ParsedFormula;
  columns: DesignColumn[];
}

const ident = /^[A-Za-z_][A-Za-z0-9_.]*$/;

/** Splits at top-level occurrences of a character (outside parentheses). */
function splitTop(s: string, ch: string): string[] {
  const out: string[] = [];
  let depth = 0, start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (depth === 0 && c === ch) {
      out.push(s.slice(start, i));
      start = i + 1;
    }
  }
  out.push(s.slice(start));
  return out.map((x) => x.trim());
}

/** Parses an R formula against the analysis table's columns. */
export function parseFormula(text: string, table: RowColumn[], codeLists: Map<string, CodeList>): ParsedFormula {
  const f = text.trim();
  const parts = splitTop(f, '~');
  if (parts.length !== 2) fail(`formula '${f}': write y ~ x1 + x2 (one ~)`);
  const col = (name: string, what: string): RowColumn => {
    if (!ident.test(name)) fail(`formula '${f}': ${what} '${name}' is not a column name`);
    return table.find((c) => c.name === name) ?? fail(`formula '${f}': no column '${name}' in the analysis table (columns: ${table.map((c) => c.name).join(', ')})`);
  };
  let response: ParsedFormula['response'] = null;
  const lhs = parts[0]!;
  if (lhs) {
    const surv = /^Surv\s*\(\s*([^,()]+?)\s*,\s*([^,()]+?)\s*\)$/.exec(lhs);
    if (surv) {
      col(surv[1]!, 'time');
      col(surv[2]!, 'event');
      response = { kind: 'surv', time: surv[1]!, event: surv[2]! };
    } else {
      col(lhs, 'response');
      response = { kind: 'column', column: lhs };
    }
  }
  // Right-hand side: + separated terms, -1 / +0 for no intercept.
  let intercept = true;
  let offset: string | null = null;
  const terms: Term[] = [];
  const rhs = parts[1]!.replace(/\s+/g, ' ');
  const pieces: { sign: 1 | -1; t: string }[] = [];
  for (const [k, p] of splitTop(rhs, '+').entries()) {
    const minus = splitTop(p, '-');
    minus.forEach((m, i) => {
      if (m === '' && i === 0 && k === 0) return;
      pieces.push({ sign: i === 0 ? 1 : -1, t: m });
    });
  }
  for (const { sign, t } of pieces) {
    if (t === '') fail(`formula '${f}': empty term`);
    if (t === '1') {
      intercept = sign === 1 ? intercept : false;
      continue;
    }
    if (t === '0') {
      intercept = false;
      continue;
    }
    if (sign < 0) fail(`formula '${f}': removing terms (- ${t}) is not supported, only - 1`);
    if (/[:*^|]/.test(t)) fail(`formula '${f}': interactions and other operators (${t}) are not supported; add the product as a column of the analysis table`);
    const off = /^offset\s*\(\s*log\s*\(\s*([^()]+?)\s*\)\s*\)$/.exec(t);
    if (off) {
      const c = col(off[1]!, 'offset');
      if (c.type !== 'int' && c.type !== 'decimal') fail(`formula '${f}': offset(log(${c.name})) needs a numeric column`);
      if (offset) fail(`formula '${f}': one offset only`);
      offset = c.name;
      continue;
    }
    const st = /^strata\s*\(\s*([^()]+?)\s*\)$/.exec(t);
    if (st) {
      const c = col(st[1]!, 'strata');
      if (c.type === 'decimal' || c.type === 'date') fail(`formula '${f}': strata(${c.name}) needs a code, bool or int column`);
      terms.push({ text: t, column: c.name, factor: true, strata: true });
      continue;
    }
    const fac = /^factor\s*\(\s*([^()]+?)\s*\)$/.exec(t);
    const name = fac ? fac[1]! : t;
    const c = col(name, 'term');
    if (terms.some((x) => x.column === c.name)) fail(`formula '${f}': ${c.name} appears twice`);
    if (fac || c.type === 'code') {
      if (c.type === 'decimal' || c.type === 'date') fail(`formula '${f}': factor(${c.name}) needs a code, bool or int column`);
      let labels: string[], values: number[];
      if (c.type === 'code') {
        const codes = codeLists.get(c.codeList ?? '')?.codes ?? fail(`code list of ${c.name} is unknown`);
        values = [];
        for (let v = c.min; v <= c.max; v++) values.push(v);
        labels = values.map((v) => codes[v]!);
      } else if (c.type === 'bool') {
        values = [0, 1];
        labels = ['FALSE', 'TRUE'];
      } else {
        if (c.max - c.min > 255) fail(`formula '${f}': factor(${c.name}) would have ${c.max - c.min + 1} levels (at most 256)`);
        values = [];
        for (let v = c.min; v <= c.max; v++) values.push(v);
        labels = values.map(String);
      }
      terms.push({ text: t, column: c.name, factor: true, labels, values });
    } else {
      if (c.type === 'decimal') fail(`formula '${f}': decimal column ${c.name} is not supported in models yet (integers, dates, bools and factors are)`);
      terms.push({ text: t, column: c.name, factor: false });
    }
  }
  return { text: f, response, terms, intercept, offset };
}

/** R's model.matrix columns (treatment contrasts: the first level is the reference). */
export function designOf(formula: ParsedFormula, table: RowColumn[]): Design {
  const columns: DesignColumn[] = [];
  if (formula.intercept) columns.push({ kind: 'intercept', name: '(Intercept)' });
  for (const t of formula.terms) {
    const c = table.find((x) => x.name === t.column)!;
    if (t.strata) fail(`strata(${t.column}) is supported in oddsratio (Mantel–Haenszel) only`);
    if (!t.factor) {
      if (c.type === 'bool') columns.push({ kind: 'level', name: `${t.text}TRUE`, column: c.name, level: 1 });
      else columns.push({ kind: 'numeric', name: t.text, column: c.name, min: c.min, max: c.max });
      continue;
    }
    // Without an intercept R keeps every level of the first factor.
    const skipFirst = formula.intercept || columns.some((x) => x.kind === 'level');
    t.values!.forEach((v, i) => {
      if (i === 0 && skipFirst) return;
      columns.push({ kind: 'level', name: `${t.text}${t.labels![i]}`, column: c.name, level: v });
    });
  }
  return { formula, columns };
}

/** Largest |value| of a design column (1 for the intercept and indicators). */
export function columnBound(d: DesignColumn): number {
  return d.kind === 'numeric' ? Math.max(Math.abs(d.min), Math.abs(d.max)) : 1;
}

/** Encoded scale of a table column (decimals carry FRAC fractional bits). */
export const scaleOf = (c: RowColumn): number => (c.type === 'decimal' ? 2 ** FRAC : 1);
