// Text lines of a UTF-8 stream read in chunks, for the CSV and JSON Lines reading cores
// (./csv-read.ts, ./jsonl-read.ts): split at '\n' (a CR before it is left to the reader), a leading
// byte-order mark dropped, a character split across chunks kept whole. Browser-safe.
export class LineSplitter {
  private readonly decoder = new TextDecoder('utf-8');
  private carry = '';
  private first = true;

  /** `line` gets each line without its '\n'; `stop` ends the reading of the current chunk (a fatal problem). */
  constructor(
    private readonly line: (s: string) => void,
    private readonly stop: () => boolean = () => false,
  ) {}

  write(chunk: Uint8Array | string): void {
    let text = this.carry + (typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true }));
    if (this.first && text.length > 0) {
      this.first = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    let pos = 0;
    for (;;) {
      const nl = text.indexOf('\n', pos);
      if (nl < 0) break;
      this.line(text.slice(pos, nl));
      if (this.stop()) return;
      pos = nl + 1;
    }
    this.carry = text.slice(pos);
  }

  /** The last line, when the text does not end with '\n'. */
  end(): void {
    const rest = this.carry + this.decoder.decode();
    this.carry = '';
    if (rest.length > 0) this.line(rest);
  }
}
