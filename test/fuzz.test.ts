// Property-based fuzzing (fast-check; issue 12): the SQL front end, the frame decoder, the upload
// header and body, and every route of the node API with its parameters and body, signed by an
// identity the route admits (so the fuzzed input reaches the route's own checks) and unsigned.
// Properties: a bad input is refused with the module's own error (SQL: QueryError or SchemaError;
// frames: ChannelError) or an HTTP 4xx, never another exception, never HTTP 500, and the process's
// memory stays bounded. Tens of thousands of inputs per run; FUZZ_SCALE=<n> multiplies them.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { populationSchema, contactsSchema } from '../src/demo/schemas.js';
import { generateRegisters } from '../src/demo/registers.js';
import { signRequest, audienceOf, UNSIGNED_BODY } from '../src/governance/request-auth.js';
import type { Signer } from '../src/governance/identity.js';
import { newResultKeyPair } from '../src/governance/sealed.js';
import { signAdhocRequest } from '../src/governance/study.js';
import { SchemaError, type CodeList, type DatasetSchema } from '../src/ingest/schema.js';
import { buildUploadBodies, shareColumn, type ShareableDataset } from '../src/ingest/upload.js';
import { ChannelError } from '../src/net/channel.js';
import { encodeFrame, FrameDecoder, Kind } from '../src/net/frame.js';
import { createLocalCluster, type LocalCluster } from '../src/net/keys.js';
import { ROUTE_ACCESS } from '../src/node/access.js';
import { startDaemon, writeApiPorts, type Daemon } from '../src/node/daemon.js';
import { apiRequest } from '../src/node/http.js';
import { parseQuery, planAnyQuery, QueryError, tablesOf } from '../src/query/index.js';
import { fixture, signer as fixtureSigner } from './governance-fixture.js';
import { localSigners, type LocalSigners } from './identities.js';

const SCALE = Math.max(1, Number(process.env.FUZZ_SCALE ?? 1));
const runs = (n: number) => Math.round(n * SCALE);
const root = mkdtempSync(join(tmpdir(), 'mosaik-fuzz-'));
after(() => rmSync(root, { recursive: true, force: true }));

const regs = generateRegisters({ citizens: 120, seed: 11 });
const codeLists: CodeList[] = [...regs.codeLists.values()];
const TABLES = new Map<string, { schema: DatasetSchema; codeLists: CodeList[] }>([
  ['population', { schema: populationSchema(), codeLists }],
  ['contacts', { schema: contactsSchema(), codeLists }],
]);

/** The SQL front end on one input: parse and plan, or refuse with QueryError/SchemaError. */
function frontEnd(sql: string): void {
  try {
    const q = parseQuery(sql);
    for (const t of tablesOf(q)) if (!TABLES.has(t)) return;
    planAnyQuery(q, TABLES);
  } catch (e) {
    if (e instanceof QueryError || e instanceof SchemaError) return;
    throw new Error(`${(e as Error)?.name}: ${(e as Error)?.message} for ${JSON.stringify(sql).slice(0, 300)}`);
  }
}

const GOOD_SQL = [
  'SELECT region, sex, COUNT(*) AS n FROM population GROUP BY region, sex',
  "SELECT region, COUNT(*) FROM contacts WHERE diagnosis LIKE 'E11%' AND first_in_category GROUP BY region HAVING COUNT(*) > 10 ORDER BY 2 DESC LIMIT 5",
  "SELECT age_band(birth_date, '2024-01-01'), COUNT(*) FROM population WHERE NOT (sex = 'F') OR region IN ('1081', '1082') GROUP BY 1",
  "SELECT p.region, COUNT(*) FROM population p WHERE EXISTS (SELECT 1 FROM contacts c WHERE c.person_id = p.person_id AND c.diagnosis LIKE 'E11%') GROUP BY p.region",
  'SELECT p.sex, AVG(c.length_of_stay) FROM population p JOIN contacts c ON c.person_id = p.person_id GROUP BY p.sex',
  "SELECT COUNT(*), SUM(LEAST(GREATEST(length_of_stay, 0), 30)) FROM contacts WHERE admission_date BETWEEN '2020-01-01' AND DATE '2021-01-01'",
];
const TOKENS = [
  'SELECT', 'FROM', 'WHERE', 'GROUP BY', 'HAVING', 'ORDER BY', 'LIMIT', 'JOIN', 'LEFT JOIN', 'ON', 'AND', 'OR', 'NOT', 'IN', 'BETWEEN', 'LIKE', 'IS NULL', 'EXISTS',
  'COUNT(*)', 'COUNT', 'SUM', 'AVG', 'MIN', 'MAX', 'VARIANCE', 'STDDEV', 'LEAST', 'GREATEST', 'age', 'age_band', 'DATE', 'AS', 'DESC', 'ASC', 'DISTINCT', 'UNION', 'CASE',
  'population', 'contacts', 'p', 'c', 'p.person_id', 'c.person_id', 'region', 'sex', 'birth_date', 'diagnosis', 'length_of_stay', 'admission_date', 'first_in_category', 'x',
  '(', ')', ',', '*', '=', '<>', '<', '<=', '>', '>=', '+', '-', '/', '||', ';', '.', "'E11%'", "'2024-01-01'", "'F'", '0', '1', '-1', '365', '1e308', '9999999999999999999', 'NULL', 'TRUE', "'", '"',
];

describe('fuzz: SQL front end', () => {
  it('token soup from the SQL vocabulary', () => {
    fc.assert(fc.property(fc.array(fc.constantFrom(...TOKENS), { minLength: 1, maxLength: 40 }), (t) => frontEnd(t.join(' '))), { numRuns: runs(8000) });
  });
  it('known queries with characters inserted, deleted and replaced', () => {
    const mutated = fc.tuple(fc.constantFrom(...GOOD_SQL), fc.array(fc.tuple(fc.nat(), fc.nat(3), fc.string({ maxLength: 3, unit: 'binary' })), { minLength: 1, maxLength: 6 })).map(([s, edits]) => {
      for (const [at, del, ins] of edits) {
        const i = at % (s.length + 1);
        s = s.slice(0, i) + ins + s.slice(i + del);
      }
      return s;
    });
    fc.assert(fc.property(mutated, frontEnd), { numRuns: runs(6000) });
  });
  it('arbitrary text', () => {
    fc.assert(fc.property(fc.string({ maxLength: 200, unit: 'binary' }), frontEnd), { numRuns: runs(4000) });
  });
});

describe('fuzz: frame decoder', () => {
  const valid = fc.array(fc.tuple(fc.constantFrom(Kind.Data, Kind.Abort, Kind.Hello, Kind.Bye), fc.uint8Array({ maxLength: 64 })), { maxLength: 6 }).map((fs) => {
    const parts = fs.map(([k, p], i) => encodeFrame(k, p, i));
    return Buffer.concat(parts);
  });
  const stream = fc.oneof(
    fc.uint8Array({ maxLength: 200 }),
    // valid frames with bytes flipped, cut or appended
    fc.tuple(valid, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), fc.nat(), fc.uint8Array({ maxLength: 16 })).map(([b, flips, cut, tail]) => {
      const x = Buffer.from(b);
      for (const [at, v] of flips) if (x.length) x[at % x.length] = v;
      return Buffer.concat([x.subarray(0, x.length ? cut % (x.length + 1) : 0), tail]);
    }),
  );
  it('any bytes, in any chunking: frames or a ChannelError, never a buffer larger than the limit', () => {
    fc.assert(
      fc.property(stream, fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 8 }), (bytes, cuts) => {
        let got = 0;
        const d = new FrameDecoder('fuzzer', (f) => {
          assert.ok(f.payload.byteLength <= 1024);
          got++;
        }, 1024);
        try {
          let off = 0;
          for (let i = 0; off < bytes.length; i++) {
            const n = cuts[i % cuts.length]!;
            d.push(bytes.subarray(off, off + n));
            off += n;
          }
          d.end();
        } catch (e) {
          if (!(e instanceof ChannelError)) throw e;
        }
        return got >= 0;
      }),
      { numRuns: runs(20000) },
    );
  });
});

describe('fuzz: node API (upload header and body, every route, signed and unsigned)', () => {
  let plain: LocalCluster;
  let governed: LocalCluster;
  const nodes: { d: Daemon; c: LocalCluster; ids: LocalSigners; signers: Record<string, Signer> }[] = [];
  const fails: string[] = [];
  let heap0 = 0;

  before(async () => {
    const F = fixture();
    const consortium = join(root, 'consortium.json');
    writeFileSync(consortium, JSON.stringify(F.config, null, 2));
    plain = await createLocalCluster(join(root, 'plain'));
    governed = await createLocalCluster(join(root, 'governed'));
    for (const [c, gov] of [[plain, false], [governed, true]] as const) {
      await writeApiPorts(c.dir);
      const ids = localSigners(c.dir, [{ name: 'carl', role: 'citizen' }, { name: 'dora', role: 'doctor' }]);
      const d = await startDaemon({ dir: c.dir, party: 0, log: () => {}, connectTimeoutMs: 500, ...(gov ? { consortium } : {}) });
      const signers: Record<string, Signer> = gov
        ? { researcher: fixtureSigner(F.alice), custodian: fixtureSigner(F.cpr), auditor: ids.auditor, citizen: ids.by('carl'), doctor: ids.by('dora') }
        : { researcher: ids.researcher, custodian: ids.custodian, auditor: ids.auditor, citizen: ids.by('carl'), doctor: ids.by('dora') };
      nodes.push({ d, c, ids, signers });
    }
    // Something stored, so that routes with a dataset get past "unknown dataset".
    const pop: ShareableDataset = { schema: regs.population.schema, codeLists: regs.codeLists, rows: regs.population.length, columns: regs.population.columns };
    const body = buildUploadBodies(pop, pop.schema.columns.map((col) => shareColumn(pop, col.name, undefined, { cluster: plain.config.cluster, version: 'v1' })))[0];
    const r = await apiRequest(plain.config, 0, '/v1/datasets/population/versions/v1', { method: 'PUT', body, signer: nodes[0]!.ids.custodian });
    assert.equal(r.status, 201);
    global.gc?.();
    heap0 = process.memoryUsage().heapUsed;
  });
  after(async () => {
    for (const n of nodes) await n.d.close();
  });

  /** One request injected into a node's API (no socket: the access hook and the routes run as for a real client). */
  async function call(n: (typeof nodes)[number], method: string, url: string, body: { json?: unknown; raw?: Buffer } | undefined, who: Signer | null): Promise<number> {
    const payload = body?.raw ?? (body?.json !== undefined ? Buffer.from(JSON.stringify(body.json)) : undefined);
    const headers: Record<string, string> = {};
    if (payload) headers['content-type'] = body?.raw ? 'application/octet-stream' : 'application/json';
    if (who) headers.authorization = signRequest({ method, path: url, audience: audienceOf(n.c.config.cluster, n.c.config.nodes[0].name) }, payload === undefined ? undefined : body?.raw ? UNSIGNED_BODY : payload, who);
    const r = await n.d.app.inject({ method: method as 'GET', url, headers, ...(payload ? { payload } : {}) });
    if (r.statusCode >= 500 && r.statusCode !== 503) fails.push(`${method} ${url} ${who ? `signed by ${who.name}` : 'unsigned'} → ${r.statusCode} ${r.body.slice(0, 300)} for ${JSON.stringify(body?.json ?? body?.raw?.subarray(0, 64).toString('hex')).slice(0, 300)}`);
    return r.statusCode;
  }

  const seg = fc.oneof(fc.constantFrom('population', 'v1', 'pop', '00000000-0000-0000-0000-000000000000', '..', '%2e%2e', '%00', 'a'.repeat(300)), fc.string({ maxLength: 40, unit: 'binary' }).map(encodeURIComponent));
  const query = fc.dictionary(fc.constantFrom('version', 'from', 'to', 'seq', 'size', 'custodian', 'study', 'records', 'x'), fc.oneof(fc.string({ maxLength: 12 }), fc.integer().map(String), fc.constant('-1'), fc.constant('99999999999999999999')), { maxKeys: 3 });
  const json = fc.oneof(
    { depthSize: 'small' },
    fc.jsonValue({ maxDepth: 4 }),
    fc.record({ request: fc.jsonValue({ maxDepth: 3 }), sql: fc.string() }, { requiredKeys: [] }),
    fc.record({ study: fc.jsonValue({ maxDepth: 3 }), approval: fc.jsonValue({ maxDepth: 2 }), policy: fc.jsonValue({ maxDepth: 2 }), update: fc.jsonValue({ maxDepth: 2 }), signature: fc.jsonValue({ maxDepth: 2 }) }, { requiredKeys: [] }),
  );

  it('every route: fuzzed parameters, query and JSON body, signed by an admitted identity and unsigned', async () => {
    fails.length = 0;
    const routes = Object.entries(ROUTE_ACCESS).filter(([k]) => !k.startsWith('PUT '));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), fc.array(seg, { minLength: 4, maxLength: 4 }), query, json, fc.boolean(), fc.nat(1), async ([key, rule], segs, q, body, signed, which) => {
        const [method, path] = key.split(' ') as [string, string];
        let i = 0;
        const url = path.replace(/:[a-z]+/g, () => segs[i++]!) + (Object.keys(q).length ? `?${new URLSearchParams(q)}` : '');
        const n = nodes[which]!;
        const who = signed && rule.kind === 'identity' ? n.signers[rule.roles[0]!]! : null;
        const status = await call(n, method, url, method === 'GET' ? undefined : { json: body }, who);
        return status > 0;
      }),
      { numRuns: runs(4000) },
    );
    assert.deepEqual(fails, []);
  });

  it('queries: a validly signed request with fuzzed fields', async () => {
    fails.length = 0;
    const keys = newResultKeyPair();
    const fields = fc.dictionary(fc.constantFrom('sql', 'versions', 'minCellSize', 'epsilon', 'researcher', 'cluster', 'time', 'nonce', 'resultKey', 'study', 'studyHash', 'query', 'format', 'extra'), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 });
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...GOOD_SQL), fields, fc.boolean(), fc.nat(1), async (sql, patch, resign, which) => {
        const n = nodes[which]!;
        const who = n.signers.researcher!;
        const req = signAdhocRequest(sql, who, { cluster: n.c.config.cluster, resultKey: keys.publicKey });
        let mutated: unknown = { ...req, request: { ...req.request, ...patch } };
        if (resign) {
          try {
            mutated = signAdhocRequest(String(patch.sql ?? sql), who, { cluster: n.c.config.cluster, resultKey: keys.publicKey });
          } catch {
            /* the client refuses to sign it: the unsigned mutation goes instead */
          }
        }
        const status = await call(n, 'POST', '/v1/queries', { json: { request: mutated } }, who);
        return status > 0;
      }),
      { numRuns: runs(1500) },
    );
    assert.deepEqual(fails, []);
  });

  it('uploads: fuzzed header and body, signed by the custodian and unsigned', async () => {
    fails.length = 0;
    const pop: ShareableDataset = { schema: regs.population.schema, codeLists: regs.codeLists, rows: 3, columns: new Map([...regs.population.columns].map(([k, v]) => [k, v.subarray(0, 3)])) };
    const good = buildUploadBodies(pop, pop.schema.columns.map((col) => shareColumn(pop, col.name, undefined, { cluster: plain.config.cluster, version: 'v2' })))[0];
    const hlen = good.readUInt32LE(0);
    const header = JSON.parse(good.subarray(4, 4 + hlen).toString('utf8'));
    const headerPatch = fc.dictionary(fc.constantFrom('schema', 'codeLists', 'rows', 'columns', 'party', 'signature'), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 2 });
    const body = fc.oneof(
      fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
      fc.tuple(headerPatch, fc.nat(4096), fc.boolean()).map(([patch, cut, lie]) => {
        const h = Buffer.from(JSON.stringify({ ...header, ...patch }));
        const len = Buffer.alloc(4);
        len.writeUInt32LE(lie ? (h.length * 977) >>> 0 : h.length);
        return Buffer.concat([len, h, good.subarray(4 + hlen, 4 + hlen + cut)]);
      }),
      fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })).map(([at, v]) => {
        const x = Buffer.from(good);
        x[at % x.length] = v;
        return x;
      }),
    );
    await fc.assert(
      fc.asyncProperty(body, fc.boolean(), fc.nat(1), fc.constantFrom('population', 'contacts', 'Bad', 'a'.repeat(90)), async (b, signed, which, name) => {
        const n = nodes[which]!;
        const status = await call(n, 'PUT', `/v1/datasets/${name}/versions/v${which}${b.length % 7}`, { raw: b }, signed ? n.signers.custodian! : null);
        return status > 0;
      }),
      { numRuns: runs(3000) },
    );
    assert.deepEqual(fails, []);
  });

  it('node-to-node routes over TLS with a pinned node certificate: fuzzed bodies get 4xx', async () => {
    fails.length = 0;
    const c = plain;
    const n1 = c.config.nodes[1];
    const peer = { keyPem: readFileSync(join(c.nodeDirs[1], `${n1.name}.key.pem`), 'utf8'), certPem: readFileSync(join(c.nodeDirs[1], `${n1.name}.cert.pem`), 'utf8') }; // node 1's pinned certificate
    const internal = Object.keys(ROUTE_ACCESS).filter((k) => ROUTE_ACCESS[k]!.kind === 'node');
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...internal), seg, json, async (key, id, body) => {
        const [method, path] = key.split(' ') as [string, string];
        const r = await apiRequest<{ error?: string }>(c.config, 0, path.replace(':id', id), { method, ...(method === 'GET' ? {} : { body }), key: peer.keyPem, cert: peer.certPem });
        if (r.status >= 500 && r.status !== 503) fails.push(`${key} (node 1's certificate) → ${r.status} ${JSON.stringify(r.body).slice(0, 300)} for ${JSON.stringify(body).slice(0, 200)}`);
        return true;
      }),
      { numRuns: runs(400) },
    );
    assert.deepEqual(fails, []);
  });

  it('memory stays bounded', () => {
    global.gc?.();
    const grown = process.memoryUsage().heapUsed - heap0;
    assert.ok(grown < 256 << 20, `the heap grew by ${(grown / 2 ** 20).toFixed(0)} MiB over the fuzzing`);
  });
});
