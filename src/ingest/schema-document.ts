// A dataset schema as a custodian writes it in a file: `{schema, codeLists?}` or a bare schema, with
// code lists {name, codes, labels?} (sorted and de-duplicated here: the encoding of a code is its
// index in the sorted list). The one reader behind `mosaik ingest --schema <file> [--codelists
// <file>]` (src/cli/ingest.ts) and the browser app's upload of a dataset's first version.
// Browser-safe. Reveals nothing: schemas and code lists are public metadata (DESIGN.md).
import { checkSchema, makeCodeList, type CodeList, type ColumnType, type DatasetSchema } from './schema.js';

const TYPES: ColumnType[] = ['int', 'decimal', 'date', 'code', 'bool', 'person_id'];

/** Code lists from a JSON value: an array of {name, codes, labels?} or {codeLists: […]}. */
export function parseCodeLists(x: unknown, where: string): CodeList[] {
  const arr = Array.isArray(x) ? x : x && typeof x === 'object' && Array.isArray((x as { codeLists?: unknown }).codeLists) ? (x as { codeLists: unknown[] }).codeLists : null;
  if (!arr) throw new Error(`${where}: expected an array of code lists {name, codes, labels?}`);
  return arr.map((l: unknown, i) => {
    const o = l as Partial<CodeList>;
    if (!o || typeof o.name !== 'string' || !Array.isArray(o.codes) || !o.codes.every((c) => typeof c === 'string')) throw new Error(`${where}: code list ${i} needs a name and an array of string codes`);
    const labels = Array.isArray(o.labels) ? o.labels : [];
    // The encoding is the index in the sorted list: sort (and de-duplicate) whatever order was given.
    return makeCodeList(o.name, o.codes.map((c, k): [string, string | undefined] => [c, typeof labels[k] === 'string' ? labels[k] : undefined]), o.description);
  });
}

/** The schema (and the code lists given with it) of a schema file's JSON; `extra` code lists are added. */
export function parseSchemaDocument(raw: unknown, where: string, extra: CodeList[] = []): { schema: DatasetSchema; codeLists: Map<string, CodeList> } {
  const r = raw as Record<string, unknown> | null;
  const s = (r && typeof r === 'object' && 'schema' in r ? r.schema : r) as DatasetSchema;
  if (!s || typeof s.name !== 'string' || typeof s.custodian !== 'string' || !Array.isArray(s.columns)) {
    throw new Error(`${where}: a schema needs name, custodian and columns`);
  }
  for (const c of s.columns) {
    if (!c || typeof c.name !== 'string' || !TYPES.includes(c.type)) throw new Error(`${where}: column ${JSON.stringify(c?.name)} needs a type, one of ${TYPES.join(', ')}`);
  }
  const lists = new Map<string, CodeList>();
  if (r && typeof r === 'object' && 'codeLists' in r) for (const l of parseCodeLists(r.codeLists, where)) lists.set(l.name, l);
  for (const l of extra) lists.set(l.name, l);
  checkSchema(s, lists);
  return { schema: s, codeLists: lists };
}
