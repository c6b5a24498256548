// Reads a custodian's JSON Lines file (.jsonl / .ndjson) in Node: the reading and validation core
// is ./jsonl-read.ts (browser-safe, shared with the web app's upload; its header says what is
// accepted and how problems are reported); this module reads files and streams.
import { createReadStream, statSync } from 'node:fs';
import { Readable } from 'node:stream';
import type { CodeList, DatasetSchema } from './schema.js';
import type { IngestValidation } from './validate.js';
import { readJsonlChunks, type ReadJsonlOptions } from './jsonl-read.js';

export type { ReadJsonlOptions } from './jsonl-read.js';

type Source = AsyncIterable<Uint8Array | string>;

/** Validates a JSON Lines file against a schema. */
export async function readJsonlFile(path: string, schema: DatasetSchema, codeLists: Map<string, CodeList>, opts: ReadJsonlOptions = {}): Promise<IngestValidation> {
  const totalBytes = statSync(path).size;
  return readJsonl(createReadStream(path, { highWaterMark: 1 << 20 }), schema, codeLists, { totalBytes, ...opts });
}

/** Validates JSON Lines text (tests, small inputs). */
export function readJsonlText(text: string, schema: DatasetSchema, codeLists: Map<string, CodeList>, opts: ReadJsonlOptions = {}): Promise<IngestValidation> {
  return readJsonl(Readable.from([Buffer.from(text, 'utf8')]), schema, codeLists, { totalBytes: Buffer.byteLength(text), ...opts });
}

/** Validates JSON Lines bytes from any stream of chunks. */
export function readJsonl(source: Source, schema: DatasetSchema, codeLists: Map<string, CodeList>, opts: ReadJsonlOptions = {}): Promise<IngestValidation> {
  return readJsonlChunks(source, schema, codeLists, opts);
}
