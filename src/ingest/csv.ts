// Reads a custodian's CSV file, streaming, and validates it against a dataset schema: the reading
// core is ./csv-read.ts (browser-safe, also used by the web app's upload), the validation core
// ./validate.ts (shared with the JSON Lines and Parquet readers, ./jsonl.ts and ./parquet.ts).
// This module adds what needs Node: reading files and streams, and the reference mode
// { parser: 'csv-parse' } in which every record goes through csv-parse's streaming parser (the
// tests check that both modes agree).
import { createReadStream, statSync } from 'node:fs';
import { Readable } from 'node:stream';
import { parse as parseStream, type Parser } from 'csv-parse';
import type { CsvError } from 'csv-parse/sync';
import type { CodeList, DatasetSchema } from './schema.js';
import { formatProblems, MAX_LINE_CHARS, type RowValidator } from './validate.js';
import { formatProblem, readCsvChunks, type CsvReader, type CsvSink, type CsvValidation, type ReadCsvOptions } from './csv-read.js';

export type { CsvProgress, CsvValidation, ReadCsvOptions } from './csv-read.js';

type Source = AsyncIterable<Uint8Array | string>;

/** Validates a CSV file against a schema. */
export async function readCsvFile(path: string, schema: DatasetSchema, codeLists: Map<string, CodeList>, opts: ReadCsvOptions = {}): Promise<CsvValidation> {
  const totalBytes = statSync(path).size;
  return readCsv(createReadStream(path, { highWaterMark: 1 << 20 }), schema, codeLists, { totalBytes, ...opts });
}

/** Validates CSV text (tests, small inputs). */
export function readCsvText(text: string, schema: DatasetSchema, codeLists: Map<string, CodeList>, opts: ReadCsvOptions = {}): Promise<CsvValidation> {
  return readCsv(Readable.from([Buffer.from(text, 'utf8')]), schema, codeLists, { totalBytes: Buffer.byteLength(text), ...opts });
}

/** Validates CSV bytes from any stream of chunks. */
export function readCsv(source: Source, schema: DatasetSchema, codeLists: Map<string, CodeList>, opts: ReadCsvOptions = {}): Promise<CsvValidation> {
  return readCsvChunks(source, schema, codeLists, opts, opts.parser === 'csv-parse' ? (sink, v) => new CsvParseReader(sink, v) : undefined);
}

/** Every record through csv-parse's streaming parser (reference mode). */
class CsvParseReader implements CsvReader {
  lines = 0;
  private readonly parser: Parser;
  private prevEnd = 0;
  private prevEmpty = 0;
  private error: unknown = null;
  private readonly done: Promise<void>;

  constructor(private readonly sink: CsvSink, private readonly v: RowValidator) {
    this.parser = parseStream({
      bom: true,
      relax_column_count: true,
      max_record_size: MAX_LINE_CHARS,
      skip_empty_lines: true,
      on_record: (record: string[], ctx) => {
        const start = this.prevEnd + 1 + (ctx.empty_lines - this.prevEmpty);
        this.prevEnd = ctx.lines;
        this.prevEmpty = ctx.empty_lines;
        this.lines = ctx.lines;
        if (!this.v.fatal) this.sink(record, start);
        return null;
      },
    });
    this.parser.on('data', () => {});
    this.done = new Promise((resolve) => {
      this.parser.on('end', resolve);
      this.parser.on('error', (e) => {
        this.error = e;
        resolve();
      });
    });
  }

  private check(): void {
    if (this.error !== null && !this.v.fatal) {
      const e = this.error as CsvError & { lines?: number };
      const start = this.prevEnd + 1;
      this.v.fail(formatProblem(e, e.lines ?? start, start));
    }
  }

  write(chunk: Uint8Array | string): Promise<void> | void {
    if (this.error) return this.check();
    if (!this.parser.write(chunk)) {
      return new Promise<void>((resolve) => {
        const go = () => {
          this.parser.off('drain', go);
          this.parser.off('error', go);
          resolve();
        };
        this.parser.on('drain', go);
        this.parser.on('error', go);
      }).then(() => this.check());
    }
    this.check();
  }

  async end(): Promise<void> {
    this.parser.end();
    await this.done;
    this.check();
  }

  dispose(): void {
    if (!this.parser.destroyed) this.parser.destroy();
  }
}

export { formatProblems };
