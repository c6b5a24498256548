// Commitments that tie a released query result to the transparency log without putting the result
// (or anything that would let a node recover it) into the log.
//
// Results leave the nodes as replicated secret shares: node i returns its pair (x_i, x_{i+1}) of
// the output aggregates to the requester, and no node ever sees x. So no node can commit to x
// itself. Instead every node commits to the share pair it returned:
//
//   c_i = SHA-256("mosaik-result-share-v1\n" || salt_i || canonicalJson({job, party: i, a, b}))
//
// with a fresh 256-bit salt_i that node i hands only to the requester, next to the shares. The
// salt matters: without it node i+1, which knows x_{i+1} and x_{i+2}, could try every plausible
// aggregate x (a count is small), derive x_i = x − x_{i+1} − x_{i+2} and test it against c_i, i.e.
// learn the result from the log. With the salt c_i is hiding; SHA-256 makes it binding.
//
// The result-released entry (src/ledger/entry.ts) carries [c_0, c_1, c_2] plus resultMeta, a hash
// of the public metadata every node knows (columns, cells, which cells were suppressed…; hashed
// because the suppressed group keys are disclosure information that belongs to the requester, not
// to the public). A requester's saved result file holds the three share pairs and salts, so an
// auditor (`mosaik audit verify --result`) checks (1) the entry is in the co-signed log, (2) each
// pair opens its commitment, (3) the pairs are consistent (b_i = a_{i+1}) and combine to the rows
// the file states. The nodes cannot later deny or swap what they released, and the requester
// cannot present a result the nodes did not release.
//
// Isomorphic (SHA-256 from @noble/hashes, randomness from the platform's CSPRNG, Web Crypto's
// getRandomValues, present in Node and browsers): the browser checks a result against the log with
// the same functions as `mosaik audit verify --result`.
import { sha256 } from '@noble/hashes/sha2.js';
import { hexBytes, toHex, utf8 } from './bytes.js';
import { canonicalJson } from './entry.js';

const sha256hex = (s: string | Uint8Array) => toHex(sha256(typeof s === 'string' ? utf8(s) : s));

/** SHA-256 of a query's SQL text (UTF-8, exactly as submitted): job-run entries carry this, not the SQL. */
export function sqlSha256(sql: string): string {
  return sha256hex(sql);
}

/** A fresh 256-bit salt, hex. */
export function newSalt(): string {
  return toHex(globalThis.crypto.getRandomValues(new Uint8Array(32)));
}

export interface SharePair {
  job: string;
  party: number;
  /** u64 decimal strings, as the node returns them. */
  a: string[];
  b: string[];
}

/** c_i of the module comment. */
export function shareCommitment(pair: SharePair, salt: string): string {
  if (!/^[0-9a-f]{64}$/.test(salt)) throw new Error('a share commitment salt is 64 hex digits');
  const { job, party, a, b } = pair;
  return toHex(sha256.create().update(utf8('mosaik-result-share-v1\n')).update(hexBytes(salt)).update(utf8(canonicalJson({ job, party, a, b }))).digest());
}

/** The public metadata of a result that every node knows and commits to (the same at all three). */
export interface ResultMeta {
  job: string;
  dataset: string;
  version: string;
  sql: string;
  columns: string[];
  cells: number;
  suppressed: Record<string, string | number | boolean>[];
  suppressedCount: number;
  havingHidden: number;
  minCellSize: number;
  visibleCells: number[];
  outAggs: number[];
  /** Number of shared aggregate lanes. */
  lanes: number;
}

export function resultMetaHash(m: ResultMeta): string {
  const { job, dataset, version, sql, columns, cells, suppressed, suppressedCount, havingHidden, minCellSize, visibleCells, outAggs, lanes } = m;
  return sha256hex(
    'mosaik-result-meta-v1\n' +
      canonicalJson({ job, dataset, version, sqlSha256: sqlSha256(sql), columns, cells, suppressed, suppressedCount, havingHidden, minCellSize, visibleCells, outAggs, lanes }),
  );
}
