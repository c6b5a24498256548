// The compute-node daemon end to end: three `mosaik node` processes on loopback with a temporary
// cluster, shares uploaded over the HTTPS API (a tiny test-local upload built per the contract),
// the store surviving restarts and detecting tampering, bad uploads refused with nothing stored,
// queries run as MPC with the result combined at the requester, node-to-node authentication, and
// a node dying mid-job.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AShare, splitShares } from '../src/mpc/share.js';
import type { PartyId } from '../src/net/channel.js';
import { createLocalCluster, generateNodeKey, type LocalCluster } from '../src/net/keys.js';
import { apiRequest } from '../src/node/api.js';
import { writeApiPorts } from '../src/node/daemon.js';
import { shareColumns, ShareStore } from '../src/node/store.js';
import type { Job } from '../src/node/jobs.js';
import { runRemoteQuery, formatTable } from '../src/cli/query.js';
import type { CodeList, DatasetSchema } from '../src/ingest/schema.js';
import { planSql, runQuery, type RunOptions } from '../src/query/index.js';
import { run3 } from './harness.js';
import { adhocBody, localSigners, type LocalSigners } from './identities.js';
import { NodeProcs } from './node-procs.js';
import { SCHEMA as REG_SCHEMA, writeVersion } from './store-fixture.js';

/**
 * Whether src/query/execute.ts can keep results shared (runQuery revealTo 'none' → result.shared).
 * Until it can, the daemon refuses to run queries (it never reveals a result to a node), and the
 * query tests are skipped.
 */
const SHARED_RESULTS = await (async () => {
  const one = splitShares(BigUint64Array.from([1n, 2n, 3n, 4n, 5n]));
  const plan = planSql('SELECT COUNT(*) FROM t', { name: 't', custodian: 'x', columns: [{ name: 'x', type: 'int', min: 0, max: 9 }] }, new Map());
  const r = await run3((p) => runQuery(p, plan, new Map([['x', one[p.id]!]]), { minCellSize: 1, revealTo: 'none' } as unknown as RunOptions));
  return r.every((x) => (x as { shared?: unknown }).shared !== undefined);
})();
const needsShared = SHARED_RESULTS ? {} : { skip: 'src/query/execute.ts has no revealTo "none" mode yet' };

const root = mkdtempSync(join(tmpdir(), 'mosaik-node-'));
let cluster: LocalCluster;

const SCHEMA: DatasetSchema = {
  name: 'visits',
  custodian: 'test-hospital',
  columns: [
    { name: 'sex', type: 'code', codeList: 'sex' },
    { name: 'region', type: 'code', codeList: 'region' },
    { name: 'age', type: 'int', min: 0, max: 120 },
    { name: 'stay', type: 'int', min: 0, max: 60 },
  ],
};
const CODES: CodeList[] = [
  { name: 'sex', codes: ['F', 'M'] },
  { name: 'region', codes: ['R1', 'R2', 'R3'] },
];

// A small table, seeded; region R3 is rare among men so that a cell is suppressed.
const N = 240;
const table: { sex: number; region: number; age: number; stay: number }[] = [];
{
  let s = 12345;
  const rnd = (m: number) => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) % m);
  for (let i = 0; i < N; i++) {
    const sex = rnd(2);
    const region = sex === 1 && i % 60 !== 0 ? rnd(2) : rnd(3);
    table.push({ sex, region, age: rnd(100), stay: rnd(30) });
  }
}
const column = (c: string) => BigUint64Array.from(table, (r) => BigInt.asUintN(64, BigInt((r as Record<string, number>)[c]!)));

/** shares[column][party] */
function shareTable() {
  return SCHEMA.columns.map((c) => splitShares(column(c.name)));
}

/** An upload body per the API contract. */
function uploadBody(shares: ReturnType<typeof shareTable>, party: number, o: { columns?: string[]; headerParty?: number; rows?: number; truncate?: number } = {}): Buffer {
  const header = Buffer.from(JSON.stringify({ schema: SCHEMA, codeLists: CODES, rows: o.rows ?? N, columns: o.columns ?? SCHEMA.columns.map((c) => c.name), party: o.headerParty ?? party }));
  const len = Buffer.alloc(4);
  len.writeUInt32LE(header.length);
  const parts: Buffer[] = [len, header];
  for (const s of shares) {
    const sh = s[party]!;
    parts.push(Buffer.from(sh.a.buffer, sh.a.byteOffset, sh.a.byteLength), Buffer.from(sh.b.buffer, sh.b.byteOffset, sh.b.byteLength));
  }
  const body = Buffer.concat(parts);
  return o.truncate ? body.subarray(0, body.length - o.truncate) : body;
}

const put = (p: PartyId, name: string, version: string, body: Buffer) => apiRequest<{ error?: string; rows?: number }>(cluster.config, p, `/v1/datasets/${name}/versions/${version}`, { method: 'PUT', body, signer: ids.custodian });
let ids: LocalSigners;
/** A query as the researcher; a failure carries the nodes' recent logs (what held it up). */
const query = (sql: string) =>
  runRemoteQuery({ config: cluster.config, sql, signer: ids.researcher, timeoutMs: 90_000 }).catch((e: Error) => {
    e.message += `\n--- node logs ---\n${nodes.logs.map((l, p) => `[node ${p}] ${l.slice(-3000)}`).join('\n')}`;
    throw e;
  });
const submit = (p: PartyId, sql: string, o: { minCellSize?: number } = {}) => apiRequest<{ error: string; job: string; minCellSize?: number }>(cluster.config, p, '/v1/queries', { body: adhocBody(cluster.config, ids.researcher, sql, o).body, signer: ids.researcher });

// Exact results: these tests check the engine's answers against the plaintext (output protection: test/attacks.test.ts).
let nodes: NodeProcs;
const startNode = (p: PartyId, env: Record<string, string> = {}) => nodes.start(p, env);
const stopNode = (p: PartyId, signal: NodeJS.Signals = 'SIGTERM') => nodes.stop(p, signal);

const P: PartyId[] = [0, 1, 2];

before(async () => {
  cluster = await createLocalCluster(join(root, 'c'));
  await writeApiPorts(cluster.dir);
  ids = localSigners(cluster.dir);
  nodes = new NodeProcs(cluster, ['--connect-timeout', '4000', '--recv-timeout', '8000', '--exact-results']);
  await Promise.all(P.map((p) => startNode(p)));
});

after(async () => {
  await Promise.all(P.map((p) => stopNode(p, 'SIGKILL')));
  rmSync(root, { recursive: true, force: true });
});

function plaintext() {
  const cells = new Map<string, { n: number; sum: number }>();
  for (const r of table) {
    const k = `${['F', 'M'][r.sex]}|${['R1', 'R2', 'R3'][r.region]}`;
    const c = cells.get(k) ?? { n: 0, sum: 0 };
    c.n++;
    c.sum += r.stay;
    cells.set(k, c);
  }
  return cells;
}

const SQL = 'SELECT sex, region, COUNT(*) AS n, AVG(stay) AS mean_stay FROM visits GROUP BY sex, region';

function checkResult(r: Awaited<ReturnType<typeof runRemoteQuery>>) {
  const want = plaintext();
  const seen = new Set<string>();
  for (const row of r.rows) {
    const k = `${row[0]}|${row[1]}`;
    const c = want.get(k)!;
    assert.ok(c && c.n >= 5, `cell ${k} should not be visible`);
    assert.equal(row[2], c.n, `count of ${k}`);
    assert.ok(Math.abs((row[3] as number) - c.sum / c.n) < 1e-3, `avg of ${k}: ${row[3]} vs ${c.sum / c.n}`);
    seen.add(k);
  }
  for (const s of r.suppressed) {
    const k = `${s.sex}|${s.region}`;
    assert.ok((want.get(k)?.n ?? 0) < 5, `cell ${k} suppressed but has ${want.get(k)?.n}`);
    seen.add(k);
  }
  assert.equal(seen.size, 6);
  assert.ok(r.suppressedCount >= 1, 'the rare cell is suppressed');
}

describe('share store', () => {
  it('encrypts at rest, reloads after a restart, and detects tampering of shares and metadata', async () => {
    const dir = join(root, 'store-unit');
    const key = (await generateNodeKey('unit')).keyPem;
    const s = shareTable();
    const write = (st: ShareStore, version: string, cols = SCHEMA.columns.map((c) => c.name), extra = 0) =>
      st.write({ name: 'visits', version, schema: SCHEMA, codeLists: CODES, rows: N, columns: cols, party: 1 }, async (next, hash) => {
        for (let k = 0; k < cols.length; k++) {
          const w = next();
          const sh = s[k]![1]!;
          for (const half of [sh.a, sh.b]) {
            const b = new Uint8Array(half.buffer, half.byteOffset, half.byteLength);
            hash(b);
            w.write(b);
          }
          if (extra) w.write(new Uint8Array(extra));
          w.end();
        }
      });
    const st = new ShareStore(dir, key, 1);
    assert.equal((await write(st, 'v1')).status, 'created');
    // A failing upload (a column too long) leaves nothing behind.
    await assert.rejects(write(st, 'v2', undefined, 8), /more than 3840 bytes/);
    assert.deepEqual(readdirSync(join(dir, 'store', 'datasets', 'visits')), ['v1']);
    assert.deepEqual(readdirSync(join(dir, 'store', 'tmp')), []);
    // An upload that fails after some columns were finished (written, their sync still to come)
    // leaves nothing behind either, and no file open.
    const fds = readdirSync('/proc/self/fd').length;
    const broken = st.write({ name: 'visits', version: 'v3', schema: SCHEMA, codeLists: CODES, rows: N, columns: SCHEMA.columns.map((c) => c.name), party: 1 }, async (next) => {
      for (let k = 0; k < 2; k++) {
        const w = next();
        for (const half of [s[k]![1]!.a, s[k]![1]!.b]) w.write(new Uint8Array(half.buffer, half.byteOffset, half.byteLength));
        w.end();
      }
      next().write(new Uint8Array(16));
      throw new Error('the custodian went away');
    });
    await assert.rejects(broken, /the custodian went away/);
    assert.deepEqual(readdirSync(join(dir, 'store', 'datasets', 'visits')), ['v1']);
    assert.deepEqual(readdirSync(join(dir, 'store', 'tmp')), []);
    assert.equal(readdirSync('/proc/self/fd').length, fds, 'every column file is closed');
    // The plaintext shares do not appear in the file.
    const file = join(dir, 'store', 'datasets', 'visits', 'v1', '2.share');
    const raw = readFileSync(file);
    const a = Buffer.from(s[2]![1]!.a.buffer, 0, 64);
    assert.equal(raw.indexOf(a), -1);
    // Reload from disk.
    const again = new ShareStore(dir, key, 1);
    assert.deepEqual(again.list().map((m) => [m.name, m.version, m.rows]), [['visits', 'v1', N]]);
    const cols = again.load('visits', 'v1');
    assert.deepEqual(cols.get('age')!.a, s[2]![1]!.a);
    assert.deepEqual(cols.get('age')!.b, s[2]![1]!.b);
    // Another node's key cannot read it.
    const other = new ShareStore(dir, (await generateNodeKey('other')).keyPem, 1);
    assert.equal(other.list().length, 0);
    assert.match(other.damaged[0]!, /failed authentication/);
    // A flipped bit in a share file, a share file swapped for another column, edited metadata.
    const bad = Buffer.from(raw);
    bad[200]! ^= 0x40;
    writeFileSync(file, bad);
    assert.throws(() => again.load('visits', 'v1', ['age']), /column 'age' of visits@v1 .* failed integrity check \(AES-GCM authentication failed\)/);
    writeFileSync(file, readFileSync(join(dir, 'store', 'datasets', 'visits', 'v1', '3.share')));
    assert.throws(() => again.load('visits', 'v1', ['age']), /failed integrity check/);
    writeFileSync(file, raw);
    assert.equal(again.load('visits', 'v1', ['age']).get('age')!.length, N);
    const metaPath = join(dir, 'store', 'datasets', 'visits', 'v1', 'meta.json');
    writeFileSync(metaPath, readFileSync(metaPath, 'utf8').replace(`"rows": ${N}`, `"rows": ${N - 1}`));
    assert.throws(() => again.load('visits', 'v1'), /metadata .* failed authentication/);
  });

  it('hashes the bytes once: verify sees their SHA-256 before anything is committed; a version stored with the older content hash is still recognised', async () => {
    const dir = join(root, 'store-hash');
    const key = (await generateNodeKey('hash')).keyPem;
    const mk = (seed: bigint) => [0n, 1n].map((k) => new AShare(BigUint64Array.from({ length: 50 }, (_, i) => BigInt(i) * seed + k), BigUint64Array.from({ length: 50 }, (_, i) => BigInt(i) + seed)));
    const bytesOf = (shares: AShare[]) => Buffer.concat(shares.flatMap((sh) => [sh.a, sh.b].map((h) => Buffer.from(h.buffer, h.byteOffset, h.byteLength))));
    const sha = (...parts: (string | Uint8Array)[]) => parts.reduce((h, b) => h.update(b), createHash('sha256')).digest('hex');
    const st = new ShareStore(dir, key, 1);
    const seen: string[] = [];
    const write = (version: string, shares: AShare[], verify?: (h: string) => void) =>
      st.write({ name: 'reg', version, schema: { ...REG_SCHEMA }, codeLists: [], rows: 50, columns: ['person_id', 'x'], party: 1 }, shareColumns(shares), verify);
    // verify gets SHA-256 of the bytes in upload order (what a custodian signs); refusing stores nothing.
    await assert.rejects(write('v0', mk(3n), (h) => (seen.push(h), assert.fail('not the signed bytes'))), /not the signed bytes/);
    assert.deepEqual(seen, [sha(bytesOf(mk(3n)))]);
    assert.equal(st.has('reg', 'v0'), false);
    assert.deepEqual(readdirSync(join(dir, 'store', 'tmp')), []);
    const made = await write('v1', mk(3n));
    assert.equal(made.meta.sharesSha256, seen[0]);
    assert.equal((await write('v1', mk(3n))).status, 'same');
    await assert.rejects(write('v1', mk(5n)), /different content/);
    // A version stored before sharesSha256 was kept: SHA-256 of the canonical header and the bytes.
    const metaPath = join(dir, 'store', 'datasets', 'reg', 'v1', 'meta.json');
    const { sharesSha256: _, ...old } = made.meta;
    const canonical = JSON.stringify({ schema: old.schema, codeLists: old.codeLists, rows: old.rows, columns: old.columns, party: old.party });
    const legacy = { ...old, contentHash: sha(canonical, bytesOf(mk(3n))) };
    const mac = (st as unknown as { metaMac(m: object): string }).metaMac(legacy);
    writeFileSync(metaPath, JSON.stringify({ meta: legacy, mac }, null, 1));
    const again = new ShareStore(dir, key, 1);
    assert.deepEqual(again.damaged, []);
    assert.equal(again.get('reg', 'v1').sharesSha256, undefined);
    const write2 = (shares: AShare[]) => again.write({ name: 'reg', version: 'v1', schema: { ...REG_SCHEMA }, codeLists: [], rows: 50, columns: ['person_id', 'x'], party: 1 }, shareColumns(shares));
    assert.equal((await write2(mk(3n))).status, 'same');
    await assert.rejects(write2(mk(5n)), /different content/);
  });

  it('reads a column larger than its read chunk into both halves, and checks all of it', async () => {
    // 700 000 rows: 11.2 MB of shares, more than one 8 MiB chunk, the halves' boundary inside the first.
    const dir = join(root, 'store-chunks');
    const st = new ShareStore(dir, (await generateNodeKey('chunks')).keyPem, 1);
    const n = 700_000;
    const col = (seed: bigint) => {
      const h = () => BigUint64Array.from({ length: n }, (_, i) => BigInt.asUintN(64, (BigInt(i) + seed) * 0x9e3779b97f4a7c15n));
      return new AShare(h(), h().reverse());
    };
    const shares = [col(1n), col(2n)];
    await writeVersion(st, 'big', shares, 1);
    const got = st.load('reg', 'big');
    assert.deepEqual(got.get('person_id')!.a, shares[0]!.a);
    assert.deepEqual(got.get('person_id')!.b, shares[0]!.b);
    assert.deepEqual(got.get('x')!.b, shares[1]!.b);
    const file = join(dir, 'store', 'datasets', 'reg', 'big', '1.share');
    const raw = readFileSync(file);
    const bad = Buffer.from(raw);
    bad[raw.length - 100]! ^= 1; // in the last chunk
    writeFileSync(file, bad);
    assert.throws(() => st.load('reg', 'big', ['x']), /column 'x' of reg@big .* failed integrity check \(AES-GCM authentication failed\)/);
    writeFileSync(file, raw.subarray(0, raw.length - 1));
    assert.throws(() => st.load('reg', 'big', ['x']), /failed integrity check \(wrong size or header\)/);
  });

  it('stores shares written in chunks of any size (staged into 1 MiB blocks) exactly as written', async () => {
    const st = new ShareStore(join(root, 'store-staged'), (await generateNodeKey('staged')).keyPem, 1);
    const n = 150_001; // 2.4 MB per column: two whole 1 MiB blocks and a tail
    const col = (seed: bigint) => {
      const h = () => BigUint64Array.from({ length: n }, (_, i) => BigInt.asUintN(64, (BigInt(i) ^ seed) * 0xd1342543de82ef95n));
      return new AShare(h(), h().reverse());
    };
    const shares = [col(3n), col(4n)];
    // Chunk sizes around the block: tiny, odd, a whole block, more than a block, 16 KiB records.
    const sizes = [1, 7, 16384, 1 << 20, (1 << 20) + 9, 3, 600_000, 16384, 2_000_001];
    let s = 0;
    await st.write({ name: 'reg', version: 'staged', schema: { ...REG_SCHEMA }, codeLists: [], rows: n, columns: ['person_id', 'x'], party: 1 }, async (next, hash) => {
      for (const c of shares) {
        const w = next();
        const bytes = new Uint8Array(16 * n);
        bytes.set(new Uint8Array(c.a.buffer, c.a.byteOffset, 8 * n), 0);
        bytes.set(new Uint8Array(c.b.buffer, c.b.byteOffset, 8 * n), 8 * n);
        for (let off = 0; off < bytes.length; ) {
          const len = Math.min(sizes[s++ % sizes.length]!, bytes.length - off);
          hash(bytes.subarray(off, off + len));
          w.write(bytes.subarray(off, off + len));
          off += len;
        }
        w.end();
      }
    });
    const got = st.load('reg', 'staged');
    assert.deepEqual(got.get('person_id')!.a, shares[0]!.a);
    assert.deepEqual(got.get('person_id')!.b, shares[0]!.b);
    assert.deepEqual(got.get('x')!.a, shares[1]!.a);
    assert.deepEqual(got.get('x')!.b, shares[1]!.b);
  });
});

describe('compute-node daemon', () => {
  let shares: ReturnType<typeof shareTable>;

  it('stores uploaded shares: 201, identical again 200, different content 409', async () => {
    shares = shareTable();
    const r = await Promise.all(P.map((p) => put(p, 'visits', 'v1', uploadBody(shares, p))));
    for (const x of r) assert.equal(x.status, 201, JSON.stringify(x.body));
    assert.deepEqual(r[0]!.body, { name: 'visits', version: 'v1', rows: N });
    assert.equal((await put(0, 'visits', 'v1', uploadBody(shares, 0))).status, 200);
    const other = await put(0, 'visits', 'v1', uploadBody(shareTable(), 0));
    assert.equal(other.status, 409);
    assert.match(other.body.error!, /different content/);
  });

  it('lists datasets and their schema', async () => {
    for (const p of P) {
      const l = await apiRequest<unknown[]>(cluster.config, p, '/v1/datasets');
      assert.deepEqual(l.body, [{ name: 'visits', custodian: 'test-hospital', version: 'v1', rows: N, columns: ['sex', 'region', 'age', 'stay'] }]);
    }
    const d = await apiRequest<{ schema: DatasetSchema; version: string; rows: number; versions: { version: string }[] }>(cluster.config, 1, '/v1/datasets/visits');
    assert.equal(d.status, 200);
    assert.deepEqual(d.body.schema, SCHEMA);
    assert.equal(d.body.version, 'v1');
    assert.deepEqual(d.body.versions.map((v) => v.version), ['v1']);
    assert.equal((await apiRequest(cluster.config, 1, '/v1/datasets/nope')).status, 404);
    const doc = await apiRequest<{ openapi: string; paths: object }>(cluster.config, 2, '/v1/openapi.json');
    assert.equal(doc.body.openapi, '3.1.0');
    assert.ok('/v1/datasets/{name}/versions/{version}' in doc.body.paths);
  });

  it('refuses bad uploads with 400 and stores nothing', async () => {
    const s = shareTable();
    const store = join(cluster.nodeDirs[0], 'store');
    const cases: [Buffer, RegExp][] = [
      [uploadBody(s, 1), /shares for party 1, but this node is party 0/],
      [uploadBody(s, 0, { truncate: 8 }), /ended after|body is \d+ bytes/],
      [uploadBody(s, 0, { columns: ['sex', 'region', 'age', 'weight'] }), /unknown column 'weight'/],
      [uploadBody(s, 0, { columns: ['sex', 'region', 'age'] }), /missing column 'stay'/],
      [Buffer.concat([uploadBody(s, 0), Buffer.alloc(16)]), /body is \d+ bytes|longer than/],
      [Buffer.from([5, 0, 0, 0, 123, 34, 120, 34, 58]), /not valid JSON/],
    ];
    for (const [body, msg] of cases) {
      const r = await put(0, 'visits', 'bad', body);
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.match(r.body.error!, msg);
    }
    // The schema name must match the URL.
    const r = await put(0, 'other', 'v1', uploadBody(s, 0));
    assert.equal(r.status, 400);
    assert.match(r.body.error!, /does not match the dataset in the URL/);
    assert.equal((await apiRequest(cluster.config, 0, '/v1/datasets/visits?version=bad')).status, 404);
    assert.deepEqual(readdirSync(join(store, 'datasets', 'visits')), ['v1']);
    assert.ok(!existsSync(join(store, 'datasets', 'other')));
    assert.deepEqual(readdirSync(join(store, 'tmp')), []);
  });

  it('runs a COUNT/AVG GROUP BY query; the requester combines the shares to the plaintext answer', needsShared, async () => {
    const r = await query(SQL);
    checkResult(r);
    assert.match(formatTable(r), /<suppressed>.*\n.*cells? <suppressed>: fewer than 5 rows/s);
    // No node holds the result: each has only its share pair, and serves it sealed to the requester's key.
    assert.equal(r.parts[1].shares.a.length, r.rows.length * 2);
    const j = await apiRequest<Job & { sealed?: { ct: string } }>(cluster.config, 1, `/v1/jobs/${r.job}`, { signer: ids.researcher });
    assert.equal(j.body.status, 'done');
    assert.equal(j.body.result, undefined);
    assert.ok(j.body.sealed!.ct.length > 100);
    assert.equal(JSON.stringify(j.body).indexOf(r.parts[1].shares.a[0]!), -1);
  });

  it('ORDER BY COUNT(*) LIMIT k: the requester gets the first k cells, chosen inside MPC, and nothing about the others', needsShared, async () => {
    const r = await query('SELECT sex, region, COUNT(*) AS n FROM visits GROUP BY sex, region ORDER BY n DESC LIMIT 2');
    const want = [...plaintext()].filter(([, c]) => c.n >= 5).sort((a, b) => b[1].n - a[1].n).slice(0, 2);
    assert.deepEqual(r.rows.map((row) => row[2]), want.map(([, c]) => c.n));
    for (const row of r.rows) assert.equal(plaintext().get(`${row[0]}|${row[1]}`)!.n, row[2]);
    assert.deepEqual([r.ranked, r.suppressed, r.parts[0].visibleCells], [2, [], []]);
    assert.match(formatTable(r), /the first 2 of 6 cells in this order, chosen inside MPC .* nothing about the other cells was revealed/);
  });

  it('refuses bad SQL with 400 before any MPC', async () => {
    for (const [sql, msg] of [
      ['SELECT COUNT(*) FROM visits WHERE weight > 3', /weight/],
      ['SELEKT nothing', /./],
      ['SELECT COUNT(*) FROM patients', /unknown table 'patients'/],
    ] as const) {
      const r = await submit(0, sql);
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.match(r.body.error, msg);
    }
    // A request may raise the smallest cell, never lower it below a node's policy (followed to its
    // end: a job still releasing when a later test restarts a node would hold that node's log back).
    const small = await runRemoteQuery({ config: cluster.config, sql: SQL, signer: ids.researcher, minCellSize: 2 });
    assert.equal(small.minCellSize, 5);
    const notScheduler = await submit(1, SQL);
    assert.equal(notScheduler.status, 409);
    assert.match(notScheduler.body.error, /node 0/);
  });

  it('clients pin the node certificate from cluster.json', async () => {
    // A config that pins node 1's certificate for node 0: the connection to node 0 must be refused.
    const n = cluster.config.nodes;
    const wrong = { ...cluster.config, nodes: [{ ...n[0], certPem: n[1].certPem, fingerprint: n[1].fingerprint }, n[1], n[2]] as typeof n };
    await assert.rejects(apiRequest(wrong, 0, '/v1/health', { timeoutMs: 3000 }), /node 0 \(node-a\)/);
    const noCert = { ...cluster.config, nodes: [{ ...n[0], certPem: undefined, fingerprint: n[1].fingerprint }, n[1], n[2]] as typeof n };
    await assert.rejects(apiRequest(noCert, 0, '/v1/health', { timeoutMs: 3000 }), /pins/);
    const ok = { ...cluster.config, nodes: [{ ...n[0], certPem: undefined }, n[1], n[2]] as typeof n };
    assert.equal((await apiRequest(ok, 0, '/v1/health')).status, 200);
  });

  it('node-to-node routes accept only the scheduler\'s pinned certificate (403 otherwise)', async () => {
    const intruder = await generateNodeKey('intruder');
    const spec = { id: '00000000-0000-4000-8000-000000000000', seq: Date.now() * 2, sql: SQL, dataset: 'visits', version: 'v1', minCellSize: 5, request: adhocBody(cluster.config, ids.researcher, SQL).body.request, protection: { kind: 'none' } };
    const nodeB = readFileSync(join(cluster.nodeDirs[1], 'node-b.key.pem'), 'utf8');
    const nodeBCert = readFileSync(join(cluster.nodeDirs[1], 'node-b.cert.pem'), 'utf8');
    for (const who of [{ key: intruder.keyPem, cert: intruder.certPem }, { key: nodeB, cert: nodeBCert }, {}]) {
      const r = await apiRequest<{ error: string }>(cluster.config, 2, '/v1/internal/jobs', { body: spec, ...who });
      assert.equal(r.status, 403, JSON.stringify(r.body));
      assert.match(r.body.error, /forbidden/);
    }
    assert.equal((await apiRequest(cluster.config, 2, `/v1/jobs/${spec.id}`, { signer: ids.researcher })).status, 404);
  });

  it('keeps its data across a restart', async () => {
    await stopNode(1);
    await startNode(1);
    const l = await apiRequest<{ name: string }[]>(cluster.config, 1, '/v1/datasets');
    assert.deepEqual(l.body.map((d) => d.name), ['visits']);
    if (SHARED_RESULTS) checkResult(await query(SQL));
  });

  it('detects a tampered share file; the job fails at every node with a clear error', async () => {
    const file = join(cluster.nodeDirs[2], 'store', 'datasets', 'visits', 'v1', '3.share');
    const orig = readFileSync(file);
    const bad = Buffer.from(orig);
    bad[100]! ^= 1;
    writeFileSync(file, bad);
    try {
      await assert.rejects(query(SQL), (e: Error) => {
        assert.match(e.message, /node 2 \(node-c\): shares of column 'stay' of visits@v1 .* failed integrity check/);
        return true;
      });
    } finally {
      writeFileSync(file, orig);
    }
    if (SHARED_RESULTS) checkResult(await query(SQL));
  });

  it('a node killed mid-job fails the job cleanly at the others; a rerun succeeds after restart', async () => {
    // Restart the nodes with a pause inside each job, so node 2 can be killed while the job runs.
    await Promise.all(P.map((p) => stopNode(p)));
    await Promise.all(P.map((p) => startNode(p, { MOSAIK_TEST_JOB_PAUSE_MS: '800' })));
    const sub = await submit(0, SQL);
    assert.equal(sub.status, 202);
    const id = sub.body.job;
    const status = async (p: PartyId) => (await apiRequest<Job>(cluster.config, p, `/v1/jobs/${id}`, { signer: ids.researcher })).body;
    for (let t = 0; !(await status(2)).progress?.startsWith('paused'); t++) {
      assert.ok(t < 200, 'job did not start');
      await new Promise((ok) => setTimeout(ok, 25));
    }
    await stopNode(2, 'SIGKILL');
    for (const p of [0, 1] as PartyId[]) {
      let j = await status(p);
      for (let t = 0; j.status !== 'failed' && j.status !== 'done'; t++) {
        assert.ok(t < 400, `job still ${j.status} at node ${p}`);
        await new Promise((ok) => setTimeout(ok, 25));
        j = await status(p);
      }
      assert.equal(j.status, 'failed');
      assert.match(j.error!, /party 2 \(node-c\)/);
    }
    await startNode(2, { MOSAIK_TEST_JOB_PAUSE_MS: '800' });
    if (SHARED_RESULTS) checkResult(await query(SQL));
  });
});
