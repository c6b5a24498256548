// Text lines of a UTF-8 stream read in chunks, for the CSV and JSON Lines reading cores
// (./csv-read.ts, ./jsonl-read.ts): split at '\n' (a CR before it is left to the reader), a leading
// byte-order mark dropped, a character split across chunks kept whole, and at most MAX_LINE_CHARS
// of an unfinished line held. Browser-safe.

/**
 * The longest line a line-based reader (CSV, JSON Lines) accepts, in characters. A register's row is
 * a few hundred bytes; a longer line is not a record of any schema (a binary file, a missing line
 * break), and reading on would hold all of it in memory. Memory stays bounded whatever the file.
 */
export const MAX_LINE_CHARS = 1 << 20;

export class LineSplitter {
  private readonly decoder = new TextDecoder('utf-8');
  private carry = '';
  private first = true;
  private over = false;

  /**
   * `line` gets each line without its '\n'; `stop` ends the reading of the current chunk (a fatal
   * problem); `tooLong` is called once for a line over MAX_LINE_CHARS, and nothing more is read.
   */
  constructor(
    private readonly line: (s: string) => void,
    private readonly stop: () => boolean = () => false,
    private readonly tooLong: () => void = () => {},
  ) {}

  write(chunk: Uint8Array | string): void {
    if (this.over) return;
    let text = this.carry + (typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true }));
    if (this.first && text.length > 0) {
      this.first = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    let pos = 0;
    for (;;) {
      const nl = text.indexOf('\n', pos);
      if (nl < 0 || nl - pos > MAX_LINE_CHARS) break;
      this.line(text.slice(pos, nl));
      if (this.stop()) return;
      pos = nl + 1;
    }
    this.carry = text.slice(pos);
    if (this.carry.length > MAX_LINE_CHARS) {
      this.over = true;
      this.carry = '';
      this.tooLong();
    }
  }

  /** The last line, when the text does not end with '\n'. */
  end(): void {
    if (this.over) return;
    const rest = this.carry + this.decoder.decode();
    this.carry = '';
    if (rest.length > MAX_LINE_CHARS) this.tooLong();
    else if (rest.length > 0) this.line(rest);
  }
}
