// One node's replica of the transparency log on disk: an append-only file of entries and one of
// co-signed tree heads, with the Merkle tree (src/ledger/merkle.ts, RFC 9162 §2.1) kept in memory.
//
//   <nodeDir>/ledger/entries.jsonl   one entry per line, canonical JSON (src/ledger/entry.ts); line i is seq i
//   <nodeDir>/ledger/heads.jsonl     co-signed tree heads (src/ledger/heads.ts), oldest first
//
// Appends write one whole line and fsync it before they return. Opening a log re-verifies all of
// it (src/ledger/verify.ts): every entry, every head's root against the entries, and the heads'
// three signatures (all heads by default; only the latest with `signatures: 'latest'`). A half-written last line (a crash inside an append) is detected and reported: by
// default opening fails; with `partialTail: 'set-aside'` (the node daemon) the partial bytes are
// moved to entries.jsonl.partial-<time> and the log opens without them, with a warning. A replica
// that fails verification opens `damaged` when asked to (`allowDamaged`): it can still be read and
// served to auditors, but it refuses appends and signatures.
import { closeSync, copyFileSync, existsSync, fstatSync, fsyncSync, mkdirSync, openSync, readFileSync, statSync, ftruncateSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalJson, checkEntry, LedgerError, type EntryKind, type JsonValue, type LedgerEntry } from './entry.js';
import { checkTreeHead, coSignatureProblems, type SignedHead } from './heads.js';
import { toHex, type MerkleTree } from './merkle.js';
import { splitLines, verifyReplica, type ReplicaReport, type TrustAnchor } from './verify.js';

export const ENTRIES_FILE = 'entries.jsonl';
export const HEADS_FILE = 'heads.jsonl';

export interface OpenLogOptions extends TrustAnchor {
  /** How reports name this replica (default: the directory). */
  label?: string;
  /** A half-written last line: 'error' (default) fails the open; 'set-aside' moves it aside and warns. */
  partialTail?: 'error' | 'set-aside';
  /** Open a replica that fails verification read-only instead of throwing (default false). */
  allowDamaged?: boolean;
}

/** The trust anchor a node writes beside its replica (so a copied replica can be verified alone). */
export const ANCHOR_FILE = 'anchor.json';

/** Writes <dir>/anchor.json: the cluster and its nodes' names and public signing keys (no secret). */
export function writeAnchorFile(dir: string, anchor: { cluster: string; keys: readonly string[]; names: readonly string[] }): void {
  const doc = { format: 'mosaik-log-anchor/1', cluster: anchor.cluster, nodes: anchor.names.map((name, i) => ({ name, signingKey: anchor.keys[i] })) };
  const path = join(dir, ANCHOR_FILE);
  const text = JSON.stringify(doc, null, 2) + '\n';
  if (existsSync(path) && readFileSync(path, 'utf8') === text) return;
  mkdirSync(dir, { recursive: true });
  writeFileSync(path, text);
}

/** Reads a replica's anchor.json, or null when it has none. */
export function readAnchorFile(dir: string): { cluster: string; keys: [string, string, string]; names: [string, string, string] } | null {
  const path = join(dir, ANCHOR_FILE);
  if (!existsSync(path)) return null;
  const doc = JSON.parse(readFileSync(path, 'utf8')) as { format?: string; cluster?: unknown; nodes?: { name?: unknown; signingKey?: unknown }[] };
  const nodes = doc.nodes ?? [];
  if (doc.format !== 'mosaik-log-anchor/1' || typeof doc.cluster !== 'string' || nodes.length !== 3 || nodes.some((n) => typeof n.name !== 'string' || typeof n.signingKey !== 'string')) throw new LedgerError(`${path} is not a transparency-log anchor (mosaik-log-anchor/1)`);
  return { cluster: doc.cluster, keys: nodes.map((n) => n.signingKey) as [string, string, string], names: nodes.map((n) => n.name) as [string, string, string] };
}

/** Reads a replica directory as the verifier's input (no changes on disk). */
export function readReplicaDir(dir: string, label = dir): { label: string; entryLines: string[]; entriesPartial?: string; headLines: string[]; headsPartial?: string } {
  const read = (f: string) => (existsSync(join(dir, f)) ? readFileSync(join(dir, f), 'utf8') : '');
  const e = splitLines(read(ENTRIES_FILE));
  const h = splitLines(read(HEADS_FILE));
  return { label, entryLines: e.lines, ...(e.partial !== undefined ? { entriesPartial: e.partial } : {}), headLines: h.lines, ...(h.partial !== undefined ? { headsPartial: h.partial } : {}) };
}

export class LedgerLog {
  /** Problems found when the replica was opened (empty unless opened with allowDamaged). */
  readonly problems: string[];
  /** Things worth knowing that are not damage (entries not yet co-signed, a set-aside partial line). */
  readonly warnings: string[];
  private readonly lines: string[];
  private readonly tree: MerkleTree;
  private readonly headList: SignedHead[];
  private latestHead: SignedHead | undefined;
  private fdEntries: number;
  private fdHeads: number;
  private stamp: string;

  private constructor(
    readonly dir: string,
    private readonly anchor: TrustAnchor,
    report: ReplicaReport,
    lines: string[],
    extraWarnings: string[],
  ) {
    this.problems = report.problems;
    this.warnings = [...extraWarnings, ...report.warnings];
    this.lines = lines;
    this.tree = report.tree;
    this.headList = report.heads;
    this.latestHead = report.latest;
    this.fdEntries = openSync(join(dir, ENTRIES_FILE), 'a');
    this.fdHeads = openSync(join(dir, HEADS_FILE), 'a');
    this.stamp = this.diskStamp();
  }

  /** Opens (creating if absent) the replica in `dir` and verifies it from genesis. */
  static open(dir: string, o: OpenLogOptions): LedgerLog {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const warnings: string[] = [];
    if (o.partialTail === 'set-aside') {
      for (const f of [ENTRIES_FILE, HEADS_FILE]) {
        const path = join(dir, f);
        if (!existsSync(path)) continue;
        const buf = readFileSync(path);
        const end = buf.lastIndexOf(0x0a) + 1;
        if (end === buf.length) continue;
        const aside = `${path}.partial-${new Date().toISOString().replace(/[:.]/g, '-')}`;
        copyFileSync(path, aside);
        const fd = openSync(path, 'r+');
        try {
          ftruncateSync(fd, end);
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
        warnings.push(`${f} ended in a partial line of ${buf.length - end} bytes (an append interrupted by a crash): set aside; the whole file before it is kept in ${aside}`);
      }
    }
    const input = readReplicaDir(dir, o.label ?? dir);
    const report = verifyReplica(input, o);
    if (report.problems.length && !o.allowDamaged) throw new LedgerError(`transparency log ${dir} fails verification:\n  ${report.problems.join('\n  ')}`);
    return new LedgerLog(dir, o, report, input.entryLines, warnings);
  }

  get size(): number {
    return this.lines.length;
  }
  get damaged(): boolean {
    return this.problems.length > 0;
  }
  get cluster(): string {
    return this.anchor.cluster;
  }
  /** The latest co-signed head that matches this replica. */
  get latest(): SignedHead | undefined {
    return this.latestHead;
  }
  /** Every stored head that parses (including any that fail verification: auditors see them too). */
  heads(from = 0, to = this.headList.length): SignedHead[] {
    return this.headList.slice(from, to);
  }
  get headCount(): number {
    return this.headList.length;
  }

  /** The canonical line of entry `seq`. */
  line(seq: number): string {
    const l = this.lines[seq];
    if (l === undefined) throw new LedgerError(`no entry ${seq}: the log has ${this.size}`);
    return l;
  }
  entry(seq: number): LedgerEntry {
    return JSON.parse(this.line(seq)) as LedgerEntry;
  }
  entries(from = 0, to = this.size): LedgerEntry[] {
    return this.lines.slice(from, to).map((l) => JSON.parse(l) as LedgerEntry);
  }

  rootHash(size = this.size): string {
    return toHex(this.tree.root(size));
  }
  leafHash(seq: number): string {
    return toHex(this.tree.leafHash(seq));
  }
  inclusionProof(seq: number, size = this.size): string[] {
    return this.tree.inclusionProof(seq, size).map(toHex);
  }
  consistencyProof(first: number, second = this.size): string[] {
    return this.tree.consistencyProof(first, second).map(toHex);
  }

  private writable(): void {
    if (this.damaged) throw new LedgerError(`this node's transparency-log replica (${this.dir}) is damaged and refuses to write: ${this.problems[0]}`);
  }

  /** Appends a new entry {seq: size, time, kind, body}; returns it once it is on disk. */
  append(kind: EntryKind, body: { [k: string]: JsonValue }, time = new Date().toISOString()): LedgerEntry {
    return this.appendEntry({ seq: this.size, time, kind, body });
  }

  /** Appends a given entry, which must be the next (seq = size): how replicas take the scheduler's entries. */
  appendEntry(e: LedgerEntry): LedgerEntry {
    this.writable();
    const entry = checkEntry(e);
    if (entry.seq !== this.size) throw new LedgerError(`entry seq ${entry.seq} is not the next one (the log has ${this.size} entries)`);
    const line = canonicalJson(entry);
    this.writeLine(this.fdEntries, line);
    this.lines.push(line);
    this.tree.append(line);
    return JSON.parse(line) as LedgerEntry;
  }

  /**
   * Stores a co-signed head after checking it: all three signatures, this cluster, no larger than
   * the log, the root of this replica at its size, not older or smaller than the latest. Returns
   * false when it is the latest head already.
   */
  addHead(head: SignedHead): boolean {
    this.writable();
    const h: SignedHead = { ...checkTreeHead(head), signatures: head.signatures };
    if (h.cluster !== this.anchor.cluster) throw new LedgerError(`tree head is for cluster '${h.cluster}', this is '${this.anchor.cluster}'`);
    const sig = coSignatureProblems(h, this.anchor.keys, this.anchor.names);
    if (sig.length) throw new LedgerError(`tree head of size ${h.size} ${sig.join('; ')}`);
    if (h.size > this.size) throw new LedgerError(`tree head of size ${h.size} covers entries this replica does not have (it has ${this.size})`);
    if (this.rootHash(h.size) !== h.rootHash) throw new LedgerError(`tree head of size ${h.size} has root ${h.rootHash}, but this replica's first ${h.size} entries hash to ${this.rootHash(h.size)}`);
    const last = this.latestHead;
    if (last && last.size === h.size && last.rootHash === h.rootHash && last.timestamp === h.timestamp) return false;
    if (last && (h.size < last.size || h.timestamp < last.timestamp)) throw new LedgerError(`tree head (size ${h.size}, ${h.timestamp}) is older than the latest stored one (size ${last.size}, ${last.timestamp})`);
    const line = canonicalJson({ cluster: h.cluster, size: h.size, rootHash: h.rootHash, timestamp: h.timestamp, signatures: h.signatures.map((s) => ({ party: s.party, signature: s.signature })) });
    this.writeLine(this.fdHeads, line);
    const stored = JSON.parse(line) as SignedHead;
    this.headList.push(stored);
    this.latestHead = stored;
    return true;
  }

  private writeLine(fd: number, line: string): void {
    if (line.includes('\n')) throw new LedgerError('a log line cannot contain a newline');
    const buf = Buffer.from(line + '\n', 'utf8');
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
    this.stamp = this.diskStamp();
  }

  private diskStamp(): string {
    const a = fstatSync(this.fdEntries);
    const b = fstatSync(this.fdHeads);
    return `${a.size}/${a.mtimeMs}/${a.ino}:${b.size}/${b.mtimeMs}/${b.ino}`;
  }

  /** Whether the files were changed by someone else since this process last wrote or read them. */
  changedOnDisk(): boolean {
    try {
      const a = statSync(join(this.dir, ENTRIES_FILE));
      const b = statSync(join(this.dir, HEADS_FILE));
      return `${a.size}/${a.mtimeMs}/${a.ino}:${b.size}/${b.mtimeMs}/${b.ino}` !== this.stamp;
    } catch {
      return true;
    }
  }

  close(): void {
    closeSync(this.fdEntries);
    closeSync(this.fdHeads);
  }
}
