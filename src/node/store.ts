// A compute node's share store: datasets, each with versions (ids chosen by the custodian), each
// version holding this node's replicated share (x_i, x_{i+1}) of every column. Embedded, on local
// disk under <nodeDir>/store/, no external server.
//
//   store/datasets/<name>/<version>/meta.json   public metadata (schema, code lists, rows, columns,
//                                               content hash, commit sequence) + HMAC under the node key
//   store/datasets/<name>/<version>/<k>.share   column k: "MKSE" v1 | 12-byte IV | u64 rows |
//                                               AES-256-GCM(half a ‖ half b) | 16-byte tag
//   store/tmp/                                  uploads in progress (removed at startup)
//   store/damaged/                              versions found damaged and since replaced by a re-ingest
//
// At rest: AES-256-GCM under a key derived with HKDF-SHA256 from this node's private key, the
// dataset name, version, column, row count and party bound as additional authenticated data, so a
// file moved to another column/version, truncated or edited fails to decrypt with a clear error.
// Atomic: a version is written to a fresh temp directory (every file fsynced), then renamed into
// place and the parent directory fsynced; a failed upload leaves nothing. Committed versions are
// immutable. The index is rebuilt from disk at startup, so the store survives restarts.
// What a node learns: a dataset's schema and size (public by design, DESIGN.md), never values.
import { createCipheriv, createDecipheriv, createHash, createHmac, createPrivateKey, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { closeSync, existsSync, fstatSync, fsync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import { open as openFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AShare } from '../mpc/share.js';
import { checkDatasetName, checkVersionId, type CodeList, type DatasetSchema } from '../ingest/schema.js';

export class StoreError extends Error {
  constructor(
    message: string,
    /** HTTP status the API answers with. */
    readonly status = 400,
  ) {
    super(message);
    this.name = 'StoreError';
  }
}

export interface VersionMeta {
  name: string;
  version: string;
  custodian: string;
  schema: DatasetSchema;
  codeLists: CodeList[];
  rows: number;
  columns: string[];
  party: number;
  /** The rows are in ascending order of this person_id column (the upload header's, src/ingest/person-order.ts). */
  sortedBy?: string;
  /**
   * SHA-256 (hex) of the canonical header and of sharesSha256: an identical re-upload is recognised.
   * A version stored before sharesSha256 was kept has SHA-256 of the header and the bytes themselves.
   */
  contentHash: string;
  /** SHA-256 (hex) of the share bytes in upload order, as a custodian signs them (src/ingest/upload-auth.ts). */
  sharesSha256?: string;
  /** Commit order at this node (the latest version is the one with the highest seq). */
  seq: number;
  createdAt: string;
}

const MAGIC = Buffer.from('MKSE');
const HEAD = 4 + 4 + 12 + 8; // magic, version, iv, rows
/** Bytes of shares an upload stages before encrypting and writing them as one block. */
const STAGE_BYTES = 1 << 20;
const TAG = 16;
/** Bytes of a column file read and decrypted at a time. */
const READ_CHUNK = 1 << 23;

/** A dataset name or version id by the one rule of src/ingest/schema.ts (StoreError 400 otherwise). */
export function checkId(what: 'dataset name' | 'version', s: unknown): string {
  const make = (m: string) => new StoreError(m);
  return what === 'version' ? checkVersionId(s, what, make) : checkDatasetName(s, what, make);
}

/** fsync on libuv's thread pool: the event loop (a node's MPC rounds, its API) goes on meanwhile. */
function fsyncAsync(fd: number): Promise<void> {
  return new Promise((ok, fail) => fsync(fd, (e) => (e ? fail(e) : ok())));
}

/** fsync of a file or directory by its path, without blocking the event loop. */
async function fsyncPathAsync(path: string): Promise<void> {
  const fh = await openFile(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** An open version being written: call column() for each column in order, then the store commits it. */
export interface ColumnWriter {
  /** Append share bytes of the current column (half a then half b). */
  write(chunk: Uint8Array): void;
  /** Finish the current column (exactly 16·rows bytes must have been written). */
  end(): void;
}

/** A ShareStore.write fill that streams whole shared columns, in order (each column's two halves). */
export function shareColumns(cols: AShare[]): (next: () => ColumnWriter, hash: (b: Uint8Array) => void) => Promise<void> {
  return async (next, hash) => {
    for (const c of cols) {
      const w = next();
      for (const half of [c.a, c.b]) {
        const b = new Uint8Array(half.buffer, half.byteOffset, half.byteLength);
        hash(b);
        w.write(b);
      }
      w.end();
    }
  };
}

export class ShareStore {
  readonly root: string;
  private readonly encKey: Buffer;
  private readonly macKey: Buffer;
  private readonly index = new Map<string, Map<string, VersionMeta>>();
  private seq = 0;
  private tmpCounter = 0;
  /** Serialises commits (two uploads of the same version race otherwise). */
  private lock: Promise<unknown> = Promise.resolve();

  constructor(
    nodeDir: string,
    /** The node's private key (PEM text): the at-rest keys are derived from it. */
    privateKeyPem: string,
    readonly party: number,
  ) {
    this.root = join(nodeDir, 'store');
    // The key's canonical PKCS#8 DER, so re-encoding the PEM file does not change the derived keys.
    const ikm = createPrivateKey(privateKeyPem).export({ type: 'pkcs8', format: 'der' });
    this.encKey = Buffer.from(hkdfSync('sha256', ikm, 'mosaik share store', 'AES-256-GCM shares at rest v1', 32));
    this.macKey = Buffer.from(hkdfSync('sha256', ikm, 'mosaik share store', 'HMAC-SHA256 metadata v1', 32));
    mkdirSync(join(this.root, 'datasets'), { recursive: true, mode: 0o700 });
    rmSync(join(this.root, 'tmp'), { recursive: true, force: true }); // uploads cut short by a crash
    mkdirSync(join(this.root, 'tmp'), { recursive: true, mode: 0o700 });
    this.reload();
  }

  /** Problems found while reloading (damaged metadata); those versions are not served until re-ingested. */
  readonly damaged: string[] = [];

  /** Moves a damaged version's directory to store/damaged/<name>@<version>.<time> (it is replaced). */
  private setAside(name: string, version: string): void {
    const aside = join(this.root, 'damaged');
    mkdirSync(aside, { recursive: true, mode: 0o700 });
    renameSync(join(this.root, 'datasets', name, version), join(aside, `${name}@${version}.${new Date().toISOString().replace(/[:.]/g, '-')}`));
    const i = this.damaged.findIndex((d) => d.startsWith(`${name}@${version}: `));
    if (i >= 0) this.damaged.splice(i, 1);
  }

  private reload(): void {
    const base = join(this.root, 'datasets');
    for (const name of readdirSync(base)) {
      for (const version of readdirSync(join(base, name))) {
        const where = `${name}@${version}`;
        try {
          const meta = this.readMeta(name, version);
          this.put(meta);
          this.seq = Math.max(this.seq, meta.seq);
        } catch (e) {
          this.damaged.push(`${where}: ${(e as Error).message}`);
        }
      }
    }
  }

  private put(meta: VersionMeta): void {
    let m = this.index.get(meta.name);
    if (!m) this.index.set(meta.name, (m = new Map()));
    m.set(meta.version, meta);
  }

  private metaMac(meta: VersionMeta): string {
    return createHmac('sha256', this.macKey).update(JSON.stringify(meta)).digest('hex');
  }

  private readMeta(name: string, version: string): VersionMeta {
    const path = join(this.root, 'datasets', name, version, 'meta.json');
    let doc: { meta: VersionMeta; mac: string };
    try {
      doc = JSON.parse(readFileSync(path, 'utf8')) as { meta: VersionMeta; mac: string };
    } catch (e) {
      throw new StoreError(`metadata ${path} is unreadable: ${(e as Error).message}`, 500);
    }
    const want = Buffer.from(this.metaMac(doc.meta), 'hex');
    const got = Buffer.from(String(doc.mac ?? ''), 'hex');
    if (got.length !== want.length || !timingSafeEqual(got, want) || doc.meta.name !== name || doc.meta.version !== version) {
      throw new StoreError(`metadata ${path} failed authentication under this node's key (tampered, corrupt or from another node)`, 500);
    }
    return doc.meta;
  }

  private aad(name: string, version: string, column: string, rows: number): Buffer {
    return Buffer.from(JSON.stringify(['mosaik-share-v1', name, version, column, rows, this.party]));
  }

  /** Latest version of every dataset. */
  list(): VersionMeta[] {
    return [...this.index.values()].map((m) => [...m.values()].reduce((a, b) => (b.seq > a.seq ? b : a))).sort((a, b) => a.name.localeCompare(b.name));
  }

  /** All versions of a dataset, oldest first; throws 404 if unknown. */
  versions(name: string): VersionMeta[] {
    const m = this.index.get(name);
    if (!m || m.size === 0) throw new StoreError(`dataset '${name}' is not stored at this node`, 404);
    return [...m.values()].sort((a, b) => a.seq - b.seq);
  }

  /** A version's metadata (latest when version is undefined); 404 if unknown. */
  get(name: string, version?: string): VersionMeta {
    const vs = this.versions(name);
    if (version === undefined) return vs[vs.length - 1]!;
    const v = vs.find((x) => x.version === version);
    if (!v) throw new StoreError(`dataset '${name}' has no version '${version}' at this node (versions: ${vs.map((x) => x.version).join(', ')})`, 404);
    return v;
  }

  has(name: string, version: string): boolean {
    return this.index.get(name)?.has(version) ?? false;
  }

  /**
   * Writes a new version. `fill` streams the columns through the ColumnWriter (one column after the
   * other, in meta.columns order) and every byte of shares through `hash`; if it throws, nothing is
   * stored. `verify` gets the bytes' SHA-256 before anything is committed (an upload checks it
   * against what its custodian signed) and throws to refuse them. Resolves with 'created', 'same'
   * (identical content already stored) or throws 409.
   */
  async write(
    header: Omit<VersionMeta, 'contentHash' | 'sharesSha256' | 'seq' | 'createdAt' | 'custodian'>,
    fill: (next: () => ColumnWriter, hash: (b: Uint8Array) => void) => Promise<void>,
    verify?: (sharesSha256: string) => void,
  ): Promise<{ status: 'created' | 'same'; meta: VersionMeta }> {
    const { name, version, rows, columns } = header;
    checkId('dataset name', name);
    checkId('version', version);
    const tmp = join(this.root, 'tmp', `${process.pid}-${++this.tmpCounter}-${randomBytes(4).toString('hex')}`);
    mkdirSync(tmp, { mode: 0o700 });
    const canonical = JSON.stringify({ schema: header.schema, codeLists: header.codeLists, rows, columns, party: header.party, ...(header.sortedBy ? { sortedBy: header.sortedBy } : {}) });
    // One pass of SHA-256 over the bytes: the content hash is taken over the header and the bytes'
    // hash, which is also what a signed upload is checked against. A version already stored under
    // this name and id by an older node (no sharesSha256) is compared by its own kind of hash, which
    // is made only then.
    const shares = createHash('sha256');
    const before = this.has(name, version) ? this.get(name, version) : null;
    const legacy = before && before.sharesSha256 === undefined ? createHash('sha256').update(canonical) : null;
    // Finished column files, written but not yet synced: all are synced at once after the last
    // column (on the thread pool), before anything is committed, and closed.
    const unsynced: number[] = [];
    try {
      let k = 0;
      let open: { fd: number; written: number; finished: boolean } | null = null;
      const stage = Buffer.allocUnsafe(STAGE_BYTES); // each column writes every staged byte before it is read
      const next = (): ColumnWriter => {
        if (open && !open.finished) throw new Error('previous column not finished');
        if (k >= columns.length) throw new StoreError(`more columns than the header's ${columns.length}`);
        const col = columns[k]!;
        const path = join(tmp, `${k}.share`);
        k++;
        const fd = openSync(path, 'wx', 0o600);
        const iv = randomBytes(12);
        const head = Buffer.alloc(HEAD);
        MAGIC.copy(head, 0);
        head.writeUInt32LE(1, 4);
        iv.copy(head, 8);
        head.writeBigUInt64LE(BigInt(rows), 20);
        writeSync(fd, head);
        const c = createCipheriv('aes-256-gcm', this.encKey, iv);
        c.setAAD(this.aad(name, version, col, rows));
        const st = { fd, written: 0, finished: false };
        open = st;
        const want = 16 * rows;
        // An upload arrives in TLS records of 16 KiB: staged into blocks of STAGE_BYTES, each block is
        // encrypted and written at once (one cipher call and one write instead of 64).
        let staged = 0;
        const seal = (b: Uint8Array) => {
          const out = c.update(b);
          if (out.length) writeSync(fd, out);
        };
        return {
          write: (chunk) => {
            if (st.written + chunk.byteLength > want) throw new StoreError(`column '${col}': more than ${want} bytes of shares (${rows} rows × 2 halves × 8 bytes)`);
            st.written += chunk.byteLength;
            for (let off = 0; off < chunk.byteLength; ) {
              if (staged === 0 && chunk.byteLength - off >= STAGE_BYTES) {
                // A whole block already (a seeded half is drawn 1 MiB at a time): no staging copy.
                seal(chunk.subarray(off, off + STAGE_BYTES));
                off += STAGE_BYTES;
                continue;
              }
              const take = Math.min(chunk.byteLength - off, STAGE_BYTES - staged);
              stage.set(chunk.subarray(off, off + take), staged);
              staged += take;
              off += take;
              if (staged === STAGE_BYTES) {
                seal(stage);
                staged = 0;
              }
            }
          },
          end: () => {
            if (st.written !== want) throw new StoreError(`column '${col}': ${st.written} bytes of shares, expected ${want} (${rows} rows × 2 halves × 8 bytes)`);
            if (staged > 0) seal(stage.subarray(0, staged));
            const fin = c.final();
            if (fin.length) writeSync(fd, fin);
            writeSync(fd, c.getAuthTag());
            unsynced.push(fd);
            st.finished = true;
          },
        };
      };
      try {
        await fill(next, legacy ? (b) => (shares.update(b), legacy.update(b)) : (b) => void shares.update(b));
        // Every sync settles before any file is closed (a closed descriptor's number may be reused).
        const synced = await Promise.allSettled(unsynced.map(fsyncAsync));
        for (const r of synced) if (r.status === 'rejected') throw r.reason;
      } finally {
        const o = open as { fd: number; finished: boolean } | null;
        for (const fd of [...unsynced.splice(0), ...(o && !o.finished ? [o.fd] : [])]) {
          try {
            closeSync(fd);
          } catch {
            /* already closed */
          }
        }
      }
      if (k !== columns.length || (open && !(open as { finished: boolean }).finished)) throw new StoreError(`upload ended after ${k} of ${columns.length} columns`);
      const sharesSha256 = shares.digest('hex');
      verify?.(sharesSha256);
      const contentHash = createHash('sha256').update(canonical).update(sharesSha256).digest('hex');
      const legacyHash = legacy?.digest('hex');
      return await this.serial(async () => {
        if (this.has(name, version)) {
          const old = this.get(name, version);
          if (old.contentHash === (old.sharesSha256 === undefined ? legacyHash : contentHash)) return { status: 'same' as const, meta: old };
          throw new StoreError(`dataset '${name}' already has a version '${version}' with different content; versions are immutable (choose a new version id)`, 409);
        }
        const meta: VersionMeta = {
          ...header,
          custodian: header.schema.custodian,
          contentHash,
          sharesSha256,
          seq: this.seq + 1,
          createdAt: new Date().toISOString(),
        };
        const metaPath = join(tmp, 'meta.json');
        const fh = await openFile(metaPath, 'wx', 0o600);
        try {
          await fh.writeFile(JSON.stringify({ meta, mac: this.metaMac(meta) }, null, 1));
          await fh.sync();
        } finally {
          await fh.close();
        }
        await fsyncPathAsync(tmp);
        const parent = join(this.root, 'datasets', name);
        mkdirSync(parent, { recursive: true, mode: 0o700 });
        const target = join(parent, version);
        // A version on disk but not in the index is one found damaged at startup: re-ingesting it
        // replaces it (the damaged copy is kept aside under store/damaged/ for the operator).
        if (existsSync(target)) this.setAside(name, version);
        renameSync(tmp, target);
        await Promise.all([fsyncPathAsync(parent), fsyncPathAsync(join(this.root, 'datasets'))]);
        this.seq = meta.seq;
        this.put(meta);
        return { status: 'created' as const, meta };
      });
    } finally {
      if (existsSync(tmp)) rmSync(tmp, { recursive: true, force: true });
    }
  }

  private serial<T>(f: () => Promise<T>): Promise<T> {
    const r = this.lock.then(f, f);
    this.lock = r.catch(() => {});
    return r;
  }

  /** Decrypts and returns this node's shares of the named columns of a version (all when omitted). */
  load(name: string, version: string, which?: string[]): Map<string, AShare> {
    const meta = this.readMeta(name, version); // re-checked on every load: the file may have been changed since startup
    const out = new Map<string, AShare>();
    for (const col of which ?? meta.columns) {
      const k = meta.columns.indexOf(col);
      if (k < 0) throw new StoreError(`dataset '${name}' version '${version}' has no column '${col}'`);
      out.set(col, this.readColumn(meta, k));
    }
    return out;
  }

  /**
   * One column's shares, decrypted READ_CHUNK bytes at a time straight into its two halves: the
   * memory it takes is the column's own, not the file and its plaintext besides (a national
   * register's column of 27 M rows is 432 MB in each). Nothing is returned unless the whole file
   * authenticates.
   */
  private readColumn(meta: VersionMeta, k: number): AShare {
    const col = meta.columns[k]!;
    const path = join(this.root, 'datasets', meta.name, meta.version, `${k}.share`);
    const what = `shares of column '${col}' of ${meta.name}@${meta.version} (${path})`;
    const n = meta.rows;
    const tampered = (why: string) => new StoreError(`${what} failed integrity check (${why}): the file was tampered with or is corrupt`, 500);
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (e) {
      throw new StoreError(`${what} cannot be read: ${(e as Error).message}`, 500);
    }
    const a = new BigUint64Array(n);
    const b = new BigUint64Array(n);
    const halves = [new Uint8Array(a.buffer), new Uint8Array(b.buffer)];
    try {
      const body = 16 * n;
      const head = Buffer.alloc(HEAD), tag = Buffer.alloc(TAG);
      const whole = fstatSync(fd).size === HEAD + body + TAG && readSync(fd, head, 0, HEAD, 0) === HEAD && readSync(fd, tag, 0, TAG, HEAD + body) === TAG;
      if (!whole || !head.subarray(0, 4).equals(MAGIC) || head.readUInt32LE(4) !== 1 || head.readBigUInt64LE(20) !== BigInt(n)) throw tampered('wrong size or header');
      const d = createDecipheriv('aes-256-gcm', this.encKey, head.subarray(8, 20));
      d.setAAD(this.aad(meta.name, meta.version, col, n));
      d.setAuthTag(tag);
      const chunk = Buffer.allocUnsafe(Math.min(READ_CHUNK, Math.max(1, body)));
      // Plaintext byte q of the body: half q < 8n ? a : b, at q mod 8n.
      let q = 0;
      const put = (plain: Uint8Array) => {
        for (let o = 0; o < plain.length; ) {
          const h = q < 8 * n ? 0 : 1, at = q - 8 * n * h, len = Math.min(plain.length - o, 8 * n - at);
          halves[h]!.set(plain.subarray(o, o + len), at);
          (o += len), (q += len);
        }
        plain.fill(0);
      };
      for (let off = 0; off < body; ) {
        const got = readSync(fd, chunk, 0, Math.min(chunk.length, body - off), HEAD + off);
        if (got <= 0) throw tampered('wrong size or header');
        put(d.update(chunk.subarray(0, got)));
        off += got;
      }
      try {
        put(d.final());
      } catch {
        throw tampered('AES-GCM authentication failed');
      }
      return new AShare(a, b);
    } catch (e) {
      a.fill(0n), b.fill(0n);
      throw e instanceof StoreError ? e : new StoreError(`${what} cannot be read: ${(e as Error).message}`, 500);
    } finally {
      closeSync(fd);
    }
  }
}
