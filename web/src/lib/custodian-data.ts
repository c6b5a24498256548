// A custodian's datasets as the three nodes describe them in their public metadata (GET
// /v1/datasets, /v1/datasets/:name[?version=]): every version with its rows, schema, when it was
// stored and by whom (the custodian its schema names; governed nodes store a version only when that
// custodian's signature verifies), and which nodes hold it. Nothing here is secret: schemas, sizes
// and versions are public (DESIGN.md, "Data model"); values never are, and none is fetched.
import type { CodeList, DatasetSchema } from '../../../src/ingest/schema.js';
import { call, cluster, PARTIES } from './api.js';

export interface VersionInfo {
  version: string;
  rows: number;
  /** When node 0 stored it (each node records its own time). */
  createdAt: string;
  /** Who uploaded it: the custodian the version's schema names. */
  custodian: string;
  schema: DatasetSchema;
  codeLists: CodeList[];
  /** Names of the nodes that hold this version (all three, or it cannot be used). */
  heldBy: string[];
  /** What changed in the columns since the version before (empty: nothing). */
  changes: string[];
}

export interface DatasetInfo {
  name: string;
  /** Newest first. */
  versions: VersionInfo[];
  /** The latest version's schema and code lists (what a new upload is checked against). */
  latest: { schema: DatasetSchema; codeLists: CodeList[] } | null;
}

interface Listed {
  name: string;
  custodian: string;
  version: string;
  rows: number;
}
interface Detail {
  custodian: string;
  schema: DatasetSchema;
  codeLists: CodeList[];
  version: string;
  rows: number;
  versions: { version: string; rows: number; createdAt: string }[];
}

/** The datasets this custodian owns: those its identity lists, and those stored under its name. */
export async function myDatasetNames(name: string, listed: string[]): Promise<string[]> {
  const all = await call<Listed[]>(0, '/v1/datasets');
  return [...new Set([...listed, ...all.filter((d) => d.custodian === name).map((d) => d.name)])].sort();
}

function columnChanges(prev: DatasetSchema | undefined, cur: DatasetSchema): string[] {
  if (!prev) return [];
  const before = new Map(prev.columns.map((c) => [c.name, c]));
  const out: string[] = [];
  for (const c of cur.columns) {
    const b = before.get(c.name);
    if (!b) out.push(`added ${c.name} (${c.type})`);
    else if (JSON.stringify(b) !== JSON.stringify(c)) out.push(`changed ${c.name}`);
    before.delete(c.name);
  }
  for (const n of before.keys()) out.push(`removed ${n}`);
  return out;
}

/** One dataset's versions at the three nodes (404 at every node: no version yet). */
export async function datasetInfo(name: string): Promise<DatasetInfo> {
  const info = await cluster();
  const q = encodeURIComponent(name);
  // Each node's listing first: asking for a dataset a node does not hold would be a 404, which a
  // browser reports as an error.
  const atNodes = await Promise.all(
    PARTIES.map(async (p) => ((await call<Listed[]>(p, '/v1/datasets')).some((d) => d.name === name) ? call<Detail>(p, `/v1/datasets/${q}`) : null)),
  );
  const base = atNodes[0] ?? atNodes.find((d) => d) ?? null;
  if (!base) return { name, versions: [], latest: null };
  const names = new Set(atNodes.flatMap((d) => d?.versions.map((v) => v.version) ?? []));
  const order = [...names].sort((a, b) => {
    const t = (v: string) => atNodes.find((d) => d?.versions.some((x) => x.version === v))!.versions.find((x) => x.version === v)!.createdAt;
    return t(a).localeCompare(t(b));
  });
  const versions: VersionInfo[] = [];
  let prev: DatasetSchema | undefined;
  for (const v of order) {
    const holder = PARTIES.find((p) => atNodes[p]?.versions.some((x) => x.version === v))!;
    const d = await call<Detail>(holder, `/v1/datasets/${q}?version=${encodeURIComponent(v)}`);
    const listed = atNodes[holder]!.versions.find((x) => x.version === v)!;
    versions.push({
      version: v,
      rows: listed.rows,
      createdAt: listed.createdAt,
      custodian: d.custodian,
      schema: d.schema,
      codeLists: d.codeLists,
      heldBy: PARTIES.filter((p) => atNodes[p]?.versions.some((x) => x.version === v)).map((p) => info.nodes[p]!.name),
      changes: columnChanges(prev, d.schema),
    });
    prev = d.schema;
  }
  return { name, versions: versions.reverse(), latest: { schema: base.schema, codeLists: base.codeLists } };
}
