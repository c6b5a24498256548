// The custodian's mapping table for code systems other than ICD-10 and ATC (`mosaik ingest
// --code-map map.csv`, FHIR and OMOP exports: ./fhir.ts, ./omop.ts). The registers hold diagnoses
// as ICD-10 and drugs as ATC; a hospital that records SNOMED CT, ICD-10-CM, RxNorm or local codes
// says how they map, one row per source code:
//
//   source_system,source_code,target_system,target_code
//   http://snomed.info/sct,44054006,ICD-10,E11.9
//   OMOP,201826,ICD-10,E11.9           (an OMOP concept id: condition_concept_id, drug_concept_id, …)
//   http://www.nlm.nih.gov/research/umls/rxnorm,860975,ATC,A10BA02
//
// source_system is the FHIR Coding.system URI as the export writes it, or OMOP for OMOP concept ids
// (source or standard concepts). target_system is ICD-10 or ATC (or their FHIR URIs). Other columns
// (a label, a comment) are ignored. The file is read as CSV with the same reader as `mosaik ingest`
// (./csv.ts); every bad row is reported with its line, and a source code mapped twice to different
// targets is an error. Codes the export gives in ICD-10 or ATC themselves need no row: the map is
// consulted only for codings outside them.
import { readFileSync } from 'node:fs';
import { FastReader } from './csv-read.js';
import { excerpt, type CodeList } from './schema.js';
import { ProblemLog } from './validate.js';

export type TargetSystem = 'icd10' | 'atc';

/** The code systems the registers hold: their names and FHIR system URIs. */
export const TARGET_SYSTEMS: Record<TargetSystem, { name: string; uri: string; shape: RegExp }> = {
  icd10: { name: 'ICD-10', uri: 'http://hl7.org/fhir/sid/icd-10', shape: /^[A-Z][0-9]{2}(\.[0-9A-Z]{1,4})?$/ },
  atc: { name: 'ATC', uri: 'http://www.whocc.no/atc', shape: /^[A-Z]([0-9]{2}([A-Z]([A-Z]([0-9]{2})?)?)?)?$/ },
};

/** The source system of OMOP concept ids in a code map. */
export const OMOP_CONCEPT_SYSTEM = 'OMOP';

const TARGET_NAMES = new Map<string, TargetSystem>([
  ['icd-10', 'icd10'], ['icd10', 'icd10'], [TARGET_SYSTEMS.icd10.uri, 'icd10'],
  ['atc', 'atc'], [TARGET_SYSTEMS.atc.uri, 'atc'],
]);

/** (source system, source code) → (target system, target code). */
export class CodeMap {
  private readonly entries = new Map<string, { target: TargetSystem; code: string }>();

  get size(): number {
    return this.entries.size;
  }

  /** Adds a row; returns the target it already had when that differs. */
  add(system: string, code: string, target: TargetSystem, targetCode: string): string | null {
    const key = `${system}|${code}`;
    const old = this.entries.get(key);
    if (old && (old.target !== target || old.code !== targetCode)) return `${TARGET_SYSTEMS[old.target].name} ${old.code}`;
    this.entries.set(key, { target, code: targetCode });
    return null;
  }

  /** The target code of a source code, when the map has one in `target`'s system. */
  lookup(system: string, code: string, target: TargetSystem): string | undefined {
    const e = this.entries.get(`${system}|${code}`);
    return e && e.target === target ? e.code : undefined;
  }
}

export interface CodeMapRead {
  map: CodeMap;
  problems: ProblemLog;
}

const COLUMNS = ['source_system', 'source_code', 'target_system', 'target_code'] as const;

/**
 * Reads a code map CSV. `targets` (the registers' code lists) are checked: a target code that is not
 * in its list is an error at its line.
 */
export function readCodeMapFile(path: string, targets: Partial<Record<TargetSystem, CodeList>> = {}, file = path.replace(/^.*[\\/]/, '')): CodeMapRead {
  return parseCodeMap(readFileSync(path, 'utf8'), targets, file);
}

/** Reads code map CSV text (see readCodeMapFile). */
export function parseCodeMap(text: string, targets: Partial<Record<TargetSystem, CodeList>> = {}, file = 'code map'): CodeMapRead {
  const problems = new ProblemLog();
  problems.file = file;
  const map = new CodeMap();
  const known = Object.fromEntries(Object.entries(targets).map(([k, l]) => [k, new Set(l!.codes)])) as Partial<Record<TargetSystem, Set<string>>>;
  let index: number[] | null = null;
  const host = { fatal: false, fail: (p: Parameters<ProblemLog['add']>[0]) => { problems.add(p); host.fatal = true; } };
  const reader = new FastReader((fields, line) => {
    if (index === null) {
      const names = fields.map((f) => f.trim().toLowerCase());
      index = COLUMNS.map((c) => names.indexOf(c));
      const missing = COLUMNS.filter((_, k) => index![k]! < 0);
      if (missing.length > 0) host.fail({ line, kind: 'header', message: `missing column${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (the header must name ${COLUMNS.join(', ')})` });
      return;
    }
    const [system, code, targetName, targetCode] = index.map((i) => (fields[i] ?? '').trim()) as [string, string, string, string];
    if (!system || !code || !targetName || !targetCode) {
      problems.add({ line, kind: 'fields', message: `every row needs ${COLUMNS.join(', ')}; ${COLUMNS.filter((_, k) => ![system, code, targetName, targetCode][k]).join(', ')} empty` });
      return;
    }
    const target = TARGET_NAMES.get(targetName.toLowerCase()) ?? TARGET_NAMES.get(targetName);
    if (!target) {
      problems.add({ line, kind: 'value', column: 'target_system', message: `target_system ${excerpt(targetName)} is not ICD-10 or ATC (the code systems of the registers)` });
      return;
    }
    if (known[target] && !known[target]!.has(targetCode)) {
      problems.add({ line, kind: 'value', column: 'target_code', message: `target_code ${excerpt(targetCode)} is not in the registers' ${TARGET_SYSTEMS[target].name} code list` });
      return;
    }
    const src = system.toLowerCase() === 'omop' ? OMOP_CONCEPT_SYSTEM : system;
    const clash = map.add(src, code, target, targetCode);
    if (clash) problems.add({ line, kind: 'duplicate', message: `${excerpt(src)} ${excerpt(code)} is mapped to ${TARGET_SYSTEMS[target].name} ${excerpt(targetCode)} here and to ${clash} on an earlier line` });
  }, host);
  reader.write(text);
  if (!host.fatal) reader.end();
  if (index === null && !host.fatal) problems.add({ line: 1, kind: 'format', message: `the code map is empty (a header naming ${COLUMNS.join(', ')} is required)` });
  return { map, problems };
}

/** A FHIR Coding, as far as mapping needs it. */
export interface Coding {
  system?: unknown;
  code?: unknown;
}

/**
 * The code of a CodeableConcept's codings in `target`: a coding in the target system itself, else
 * the first coding the map translates. Otherwise an error message naming the systems found.
 */
export function codeIn(codings: readonly Coding[], target: TargetSystem, map: CodeMap | undefined): { code: string } | { error: string } {
  const t = TARGET_SYSTEMS[target];
  for (const c of codings) {
    if (c.system !== t.uri) continue;
    if (typeof c.code !== 'string' || !t.shape.test(c.code)) return { error: `${excerpt(c.code)} is not an ${t.name} code (system ${t.uri})` };
    return { code: c.code };
  }
  for (const c of codings) {
    if (typeof c.system !== 'string' || typeof c.code !== 'string') continue;
    const mapped = map?.lookup(c.system, c.code, target);
    if (mapped !== undefined) return { code: mapped };
  }
  const seen = codings.filter((c) => typeof c.system === 'string').map((c) => `${excerpt(c.system, 60)} ${excerpt(c.code)}`);
  if (seen.length === 0) return { error: `no coding with a system (expected ${t.name}, system ${t.uri})` };
  return { error: `no ${t.name} coding (system ${t.uri}) and ${map ? 'the code map (--code-map) has no row for' : 'no code map (--code-map) to translate'} ${seen.slice(0, 3).join(', ')}${seen.length > 3 ? ` and ${seen.length - 3} more` : ''}` };
}
