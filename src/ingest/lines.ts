// Text lines of a UTF-8 stream read in chunks, for the CSV and JSON Lines reading cores
// (./csv-read.ts, ./jsonl-read.ts): split at '\n' (a CR before it is left to the reader), a leading
// byte-order mark dropped, a character split across chunks kept whole, lines optionally bounded
// (the FHIR and OMOP readers, ./fhir.ts and ./csv-read.ts, stop at MAX_LINE_CHARS). A reader that
// parses in place (the CSV reader) takes each line as a range of the decoded text instead of a
// string of its own. Browser-safe.

/** A line as a range of decoded text: text.slice(start, end), without the '\n'. */
export type LineRange = (text: string, start: number, end: number) => void;

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
    if (this.over) return;
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
      if (this.stop()) return;
      pos = nl + 1;
    }
    this.carry = text.slice(pos);
    if (this.carry.length > max) this.tooLong();
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
