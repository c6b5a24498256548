// Text lines of a UTF-8 stream read in chunks, for the CSV and JSON Lines reading cores
// (./csv-read.ts, ./jsonl-read.ts): split at '\n' (a CR before it is left to the reader), a leading
// byte-order mark dropped, a character split across chunks kept whole, lines optionally bounded
// (the FHIR and OMOP readers, ./fhir.ts and ./csv-read.ts, stop at MAX_LINE_CHARS). A reader that
// parses in place (the CSV reader) takes each line as a range of the decoded text instead of a
// string of its own. Browser-safe.

/** A line as a range of decoded text: text.slice(start, end), without the '\n'. */
export type LineRange = (text: string, start: number, end: number) => void;

/**
 * Bytes decoded and scanned at a time. Scanning the decoded text of a larger piece for line breaks
 * was measured ≈ 5× slower per character (the demo's contacts.csv, 36.5 MB, in 1 MiB reads: 171 ms
 * for decoding and finding the lines, against 31 ms in pieces of 128 KiB), so a larger chunk is
 * taken in pieces of this size.
 */
export const DECODE_BYTES = 1 << 17;

export class LineSplitter {
  private readonly decoder = new TextDecoder('utf-8');
  private carry = '';
  private first = true;

  private over = false;

  private readonly range: LineRange;

  /**
   * `line` gets each line without its '\n', as a string or (`{ range }`) as a range of the text;
   * `stop` ends the reading of the current chunk (a fatal problem). With `limit`, at most
   * `limit.chars` of an unfinished line are held: a longer line calls `limit.tooLong()` once, and
   * nothing more is read.
   */
  constructor(
    line: ((s: string) => void) | { range: LineRange },
    private readonly stop: () => boolean = () => false,
    private readonly limit?: { chars: number; tooLong: () => void },
  ) {
    this.range = typeof line === 'function' ? (text, start, end) => line(text.slice(start, end)) : line.range;
  }

  write(chunk: Uint8Array | string): void {
    if (typeof chunk === 'string') {
      this.piece(chunk);
      return;
    }
    for (let off = 0; off < chunk.length; off += DECODE_BYTES) if (!this.piece(chunk.subarray(off, off + DECODE_BYTES))) return;
  }

  /** One piece of the input; false once reading stops (`stop`, or a line over the limit). */
  private piece(chunk: Uint8Array | string): boolean {
    if (this.over) return false;
    let text = this.carry + (typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true }));
    if (this.first && text.length > 0) {
      this.first = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    let pos = 0;
    const max = this.limit?.chars ?? Infinity;
    for (;;) {
      const nl = text.indexOf('\n', pos);
      if (nl < 0 || nl - pos > max) break;
      this.range(text, pos, nl);
      if (this.stop()) return false;
      pos = nl + 1;
    }
    this.carry = text.slice(pos);
    if (this.carry.length > max) this.tooLong();
    return !this.over;
  }

  /** The last line, when the text does not end with '\n'. */
  end(): void {
    if (this.over) return;
    const rest = this.carry + this.decoder.decode();
    this.carry = '';
    if (rest.length > (this.limit?.chars ?? Infinity)) this.tooLong();
    else if (rest.length > 0) this.range(rest, 0, rest.length);
  }

  private tooLong(): void {
    this.over = true;
    this.carry = '';
    this.limit!.tooLong();
  }
}
