// Patient-reported data (issue 15): a weekly questionnaire, EQ-5D-5L (EuroQol: five dimensions,
// each answered on five levels, 1 = no problems … 5 = extreme problems/unable, and the EQ VAS,
// 0 = the worst health you can imagine … 100 = the best). Answers are validated in the citizen's
// browser and split into shares there (./citizen-docs.ts); the nodes append each accepted row to
// the register `patient_reported`, owned by one custodian of the consortium (the collection's),
// linked on the person id like any register and governed by the citizen's consent like any other.
// Browser-safe.
import { makeCodeList, parseDate, type CodeList, type DatasetSchema } from '../ingest/schema.js';
import { refuse } from './errors.js';

export const PRO_DATASET = 'patient_reported';
export const PRO_INSTRUMENTS = 'pro_instrument';
/** About ten years of weekly questionnaires per person (the bound a record read pads to). */
export const MAX_PRO_ROWS_PER_PERSON = 520;

export const EQ5D_DIMENSIONS = [
  { column: 'mobility', label: 'Mobility', levels: ['I have no problems in walking about', 'I have slight problems in walking about', 'I have moderate problems in walking about', 'I have severe problems in walking about', 'I am unable to walk about'] },
  { column: 'self_care', label: 'Self-care', levels: ['I have no problems washing or dressing myself', 'I have slight problems washing or dressing myself', 'I have moderate problems washing or dressing myself', 'I have severe problems washing or dressing myself', 'I am unable to wash or dress myself'] },
  { column: 'usual_activities', label: 'Usual activities', levels: ['I have no problems doing my usual activities', 'I have slight problems doing my usual activities', 'I have moderate problems doing my usual activities', 'I have severe problems doing my usual activities', 'I am unable to do my usual activities'] },
  { column: 'pain_discomfort', label: 'Pain / discomfort', levels: ['I have no pain or discomfort', 'I have slight pain or discomfort', 'I have moderate pain or discomfort', 'I have severe pain or discomfort', 'I have extreme pain or discomfort'] },
  { column: 'anxiety_depression', label: 'Anxiety / depression', levels: ['I am not anxious or depressed', 'I am slightly anxious or depressed', 'I am moderately anxious or depressed', 'I am severely anxious or depressed', 'I am extremely anxious or depressed'] },
] as const;

export type Eq5dAnswers = { [K in (typeof EQ5D_DIMENSIONS)[number]['column']]: number } & { vas: number; date: string };

export function proCodeLists(): Map<string, CodeList> {
  return new Map([[PRO_INSTRUMENTS, makeCodeList(PRO_INSTRUMENTS, [['EQ-5D-5L', 'EuroQol EQ-5D-5L with EQ VAS']], 'Questionnaires of the patient-reported register')]]);
}

export function proSchema(custodian: string): DatasetSchema {
  return {
    name: PRO_DATASET,
    custodian,
    description: 'Patient-reported outcomes: questionnaires citizens submitted themselves (EQ-5D-5L), split into shares in their browsers',
    columns: [
      { name: 'person_id', type: 'person_id', maxRowsPerPerson: MAX_PRO_ROWS_PER_PERSON },
      { name: 'date', type: 'date', min: '2020-01-01', max: '2099-12-31', description: 'the day the questionnaire was answered' },
      { name: 'instrument', type: 'code', codeList: PRO_INSTRUMENTS },
      ...EQ5D_DIMENSIONS.map((d) => ({ name: d.column, type: 'int' as const, min: 1, max: 5, description: `${d.label}: 1 = ${d.levels[0]} … 5 = ${d.levels[4]}` })),
      { name: 'vas', type: 'int', min: 0, max: 100, description: 'EQ VAS: 0 = the worst health you can imagine, 100 = the best' },
    ],
  };
}

/** Checks a citizen's answers (what the browser checks before anything is split); returns every problem. */
export function eq5dProblems(a: Partial<Eq5dAnswers>): string[] {
  const out: string[] = [];
  for (const d of EQ5D_DIMENSIONS) {
    const v = a[d.column];
    if (!Number.isInteger(v) || v! < 1 || v! > 5) out.push(`${d.label}: choose one of the five statements`);
  }
  if (!Number.isInteger(a.vas) || a.vas! < 0 || a.vas! > 100) out.push('Your health today: a whole number from 0 to 100');
  const day = typeof a.date === 'string' ? parseDate(a.date) : null;
  if (day === null || a.date! < '2020-01-01' || a.date! > '2099-12-31') out.push('Date: a day (YYYY-MM-DD)');
  return out;
}

/** The questionnaire's row as ring elements in the schema's column order (person first). */
export function eq5dRow(person: number, a: Eq5dAnswers): bigint[] {
  const problems = eq5dProblems(a);
  if (problems.length) refuse('malformed', `questionnaire: ${problems.join('; ')}`);
  return [BigInt(person), BigInt(parseDate(a.date)!), 0n, ...EQ5D_DIMENSIONS.map((d) => BigInt(a[d.column])), BigInt(a.vas)];
}
