// Access control at the nodes (issue 11): every route of the OpenAPI document, walked with no
// identity, with a wrong one and with the right one. Public routes answer anyone; node-to-node
// routes only a pinned node certificate; every other route needs a request signed by a known
// identity of a role the route allows (src/node/access.ts), and GET /v1/jobs/{id} answers only the
// job's requester, with the result sealed to the requester's key. Attack 1 of the issue: a reader
// of the public log who knows a job id cannot fetch anyone's result, with or without an identity.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateRegisters } from '../src/demo/registers.js';
import { uploadDataset } from '../src/ingest/upload.js';
import { approveStudy, signQueryRequest, signStudy, type SignedStudy } from '../src/governance/study.js';
import { AUTH_SCHEME, signRequest } from '../src/governance/request-auth.js';
import type { Signer } from '../src/governance/identity.js';
import { newResultKeyPair, openJson, type Sealed } from '../src/governance/sealed.js';
import type { PartyId } from '../src/net/channel.js';
import { createLocalCluster, type LocalCluster } from '../src/net/keys.js';
import { apiPorts, apiRequest } from '../src/node/api.js';
import { request } from 'node:https';
import { pinnedTlsOptions } from '../src/net/https.js';
import { startDaemon, writeApiPorts, type Daemon } from '../src/node/daemon.js';
import { ROUTE_ACCESS } from '../src/node/access.js';
import { runRemoteQuery } from '../src/cli/query.js';
import { publishConsent, submitDocument } from '../src/cli/governance-remote.js';
import type { LedgerEntry } from '../src/ledger/entry.js';
import { fixture, POP_SQL, signer } from './governance-fixture.js';
import { localSigners, type LocalSigners } from './identities.js';

const root = mkdtempSync(join(tmpdir(), 'mosaik-access-'));
const F = fixture();
const P: PartyId[] = [0, 1, 2];
const regs = generateRegisters({ citizens: 300, seed: 3 });
const DAY = 86_400_000;
const iso = (t: number) => new Date(t).toISOString();
let cluster: LocalCluster;
const daemons: Daemon[] = [];
let ids: LocalSigners;
const alice = signer(F.alice);
const bob = signer(F.bob);
const cpr = signer(F.cpr);
const mallory: Signer = { name: 'alice', privateKey: generateKeyPairSync('ed25519').privateKey }; // claims to be alice
let study: SignedStudy;
let job = '';
let policyDoc: unknown, approvalDoc: unknown;

before(async () => {
  const consortiumFile = join(root, 'consortium.json');
  writeFileSync(consortiumFile, JSON.stringify(F.config, null, 2));
  cluster = await createLocalCluster(join(root, 'c'));
  await writeApiPorts(cluster.dir);
  // Identities besides the consortium's members: an auditor and a citizen (identities.json).
  ids = localSigners(cluster.dir, [{ name: 'carl', role: 'citizen' }]);
  for (const p of P) daemons.push(await startDaemon({ dir: cluster.dir, party: p, consortium: consortiumFile, log: () => {} }));
  await uploadDataset({ config: cluster.config, dataset: { schema: regs.population.schema, codeLists: regs.codeLists, rows: regs.population.length, columns: regs.population.columns }, version: 'v1', signer: cpr, key: new Uint8Array(32).fill(1) });
  const cprPolicy = F.policies.find((p) => p.policy.custodian === 'cpr')!;
  await submitDocument(cluster.config, 'policy', cprPolicy, cpr);
  policyDoc = cprPolicy;
  await publishConsent({ config: cluster.config, consortium: F.consortium, events: [], changes: [], signer: signer(F.consentCustodian), version: 'consent-v1' });
  study = signStudy(F.study({ id: 'pop', datasets: [{ name: 'population', columns: ['region', 'sex'] }], queries: [{ id: 'population', sql: POP_SQL }], validFrom: iso(Date.now() - DAY), validUntil: iso(Date.now() + DAY), createdAt: iso(Date.now() - DAY) }), alice);
  await submitDocument(cluster.config, 'study', study, alice);
  const ap = approveStudy(study, F.consortium, cpr);
  await submitDocument(cluster.config, 'approval', ap, cpr);
  approvalDoc = ap;
  const r = await runRemoteQuery({ config: cluster.config, sql: POP_SQL, signer: alice, study, queryId: 'population' });
  job = r.job;
});

after(async () => {
  for (const d of daemons) await d.close();
  rmSync(root, { recursive: true, force: true });
});

type Access = 'public' | 'node' | { roles: string[] };

/** A concrete path for a documented one. */
const concrete = (path: string) => path.replace('{name}', 'population').replace('{version}', 'v1').replace('{id}', path.startsWith('/v1/studies') ? 'pop' : job);

/** The right identity, and a body that the route accepts from it, per operation. */
function rightCall(method: string, path: string): { signer: Signer; body?: unknown; node?: PartyId } {
  const key = `${method} ${path}`;
  switch (key) {
    case 'POST /v1/queries':
      return { signer: alice, body: { request: signQR() } };
    case 'POST /v1/studies':
      return { signer: alice, body: study };
    case 'POST /v1/approvals':
      return { signer: cpr, body: approvalDoc };
    case 'POST /v1/policies':
      return { signer: cpr, body: policyDoc };
    case 'POST /v1/consent/updates':
      return { signer: signer(F.consentCustodian), body: { update: { format: 'x' } } }; // shape refused (400), not access
    case 'GET /v1/usage':
      return { signer: ids.auditor };
    case 'POST /v1/citizens':
      return { signer: signer(F.consentCustodian), body: { key: { format: 'x' } } }; // shape refused (400), not access
    case 'POST /v1/grants':
      return { signer: ids.by('carl'), body: { grant: { grant: { citizen: 'carl' } } } }; // node 1: 409 (node 0 registers)
    case 'POST /v1/grants/revocations':
      return { signer: ids.by('carl'), body: { revocation: { citizen: 'carl' } } };
    case 'GET /v1/grants':
    case 'GET /v1/pro/submissions':
      return { signer: ids.by('carl') };
    case 'POST /v1/consent/changes':
      return { signer: ids.by('carl'), body: { change: { citizen: 'carl' } } };
    case 'POST /v1/pro/submissions':
      return { signer: ids.by('carl'), body: { submission: { citizen: 'carl' } } };
    case 'POST /v1/consent/inbox-key':
      return { signer: signer(F.consentCustodian), body: { key: { format: 'x' } } };
    case 'GET /v1/consent/inbox':
    case 'GET /v1/citizens/{name}':
      return { signer: signer(F.consentCustodian) };
    case 'POST /v1/records':
      return { signer: signer(F.doctor), body: {} }; // node 1: 409 (node 0 schedules)
    case 'GET /v1/records/{id}':
      return { signer: signer(F.doctor) }; // 404: no such record job
    default:
      return { signer: alice };
  }
}

/** A fresh signed request for the registered study. */
const signQR = () => signQueryRequest(study, 'population', alice, { cluster: cluster.config.cluster, resultKey: newResultKeyPair().publicKey });

/** An identity of a role the route does not allow (undefined when every role is allowed). */
function wrongRole(roles: string[]): Signer | undefined {
  const candidates: [string, Signer][] = [['citizen', ids.by('carl')], ['auditor', ids.auditor], ['researcher', alice], ['custodian', cpr]];
  return candidates.find(([r]) => !roles.includes(r))?.[1];
}

describe('access control: every route of the OpenAPI document', () => {
  it('walks each route with no identity, a wrong one and the right one (401 / 403 / success)', async () => {
    const doc = await apiRequest<{ paths: Record<string, Record<string, { 'x-mosaik-access'?: Access }>> }>(cluster.config, 1, '/v1/openapi.json');
    assert.equal(doc.status, 200);
    const seen: string[] = [];
    for (const [path, ops] of Object.entries(doc.body.paths)) {
      for (const [m, op] of Object.entries(ops)) {
        const method = m.toUpperCase();
        const access = op['x-mosaik-access'];
        assert.ok(access !== undefined, `${method} ${path} has no access rule in the OpenAPI document`);
        seen.push(`${method} ${path.replace(/\{([a-z]+)\}/g, ':$1')}`);
        const url = concrete(path);
        const nodeFor: PartyId = ['POST /v1/queries', 'POST /v1/studies', 'POST /v1/approvals', 'POST /v1/policies', 'POST /v1/consent/updates'].includes(`${method} ${path}`) ? 0 : 1;
        const call = (o: { signer?: Signer; body?: unknown }) =>
          apiRequest<{ error?: string }>(cluster.config, nodeFor, url, { method, ...(o.body !== undefined ? { body: o.body } : method === 'POST' ? { body: {} } : method === 'PUT' ? { body: Buffer.alloc(8) } : {}), ...(o.signer ? { signer: o.signer } : {}) });
        const what = `${method} ${url}`;
        if (access === 'public') {
          const r = await call({});
          assert.ok(![401, 403].includes(r.status) && r.status < 500, `${what} (public) without identity: ${r.status} ${JSON.stringify(r.body)}`);
          continue;
        }
        if (access === 'node') {
          for (const s of [undefined, alice]) {
            const r = await call(s ? { signer: s } : {});
            assert.equal(r.status, 403, `${what} (node-to-node) as ${s?.name ?? 'nobody'}: ${JSON.stringify(r.body)}`);
            assert.match(r.body.error!, /forbidden/);
          }
          continue;
        }
        const none = await call({});
        assert.equal(none.status, 401, `${what} without identity: ${JSON.stringify(none.body)}`);
        const forged = await call({ signer: mallory });
        assert.equal(forged.status, 401, `${what} with a key that is not alice's: ${JSON.stringify(forged.body)}`);
        assert.match(forged.body.error!, /not alice's registered key/);
        const wrong = wrongRole(access.roles);
        if (wrong) {
          const r = await call({ signer: wrong });
          assert.equal(r.status, 403, `${what} as ${wrong.name}: ${JSON.stringify(r.body)}`);
        }
        const right = rightCall(method, path);
        if (method === 'PUT') {
          const up = await uploadDataset({ config: cluster.config, dataset: { schema: regs.population.schema, codeLists: regs.codeLists, rows: regs.population.length, columns: regs.population.columns }, version: 'v1', signer: cpr, key: new Uint8Array(32).fill(1) });
          assert.deepEqual(up.nodes.map((n) => n.status), [200, 200, 200], `${what} as cpr`);
          continue;
        }
        const ok = await call(right);
        assert.ok(![401, 403].includes(ok.status), `${what} as ${right.signer.name}: ${ok.status} ${JSON.stringify(ok.body)}`);
        assert.ok(ok.status < 500, `${what}: ${ok.status} ${JSON.stringify(ok.body)}`);
      }
    }
    // The document lists every route the nodes serve, and the table nothing else.
    assert.deepEqual(seen.sort(), Object.keys(ROUTE_ACCESS).sort());
  });

  it("attack 1: a job id from the public log gives a stranger nothing; only the requester reads the result, sealed to its key", async () => {
    const entries = (await apiRequest<{ entries: LedgerEntry[] }>(cluster.config, 0, '/v1/ledger/entries')).body.entries;
    const ids2 = entries.filter((e) => e.kind === 'job-run').map((e) => String(e.body.job));
    assert.ok(ids2.includes(job));
    for (const p of P) {
      const anon = await apiRequest<{ error: string }>(cluster.config, p, `/v1/jobs/${job}`);
      assert.equal(anon.status, 401);
      for (const other of [bob, ids.auditor, ids.researcher]) {
        const r = await apiRequest<{ error: string; sealed?: unknown; sql?: string }>(cluster.config, p, `/v1/jobs/${job}`, { signer: other });
        assert.equal(r.status, 403, `node ${p} as ${other.name}`);
        assert.equal(r.body.sealed, undefined);
        assert.equal(r.body.sql, undefined);
      }
      // The requester gets a sealed part that only the request's private key opens.
      const mine = await apiRequest<{ sealed: Sealed }>(cluster.config, p, `/v1/jobs/${job}`, { signer: alice });
      assert.equal(mine.status, 200);
      await assert.rejects(openJson(mine.body.sealed, newResultKeyPair().privateKey, { cluster: cluster.config.cluster, job, party: p }), /does not open with this key/);
    }
  });

  it('a signed request is bound to its node, path and body, and cannot be replayed', async () => {
    const path = `/v1/jobs/${job}`;
    const header = signRequest({ method: 'GET', path, audience: `${cluster.config.cluster}/node-a` }, undefined, alice);
    // One header, sent as given (apiRequest would sign afresh).
    const send = (p: PartyId, url: string, h: string) =>
      new Promise<number>((ok, fail) => {
        const n = cluster.config.nodes[p];
        const req = request({ host: n.host, port: apiPorts(cluster.config)[p], path: url, method: 'GET', ...pinnedTlsOptions(n), agent: false, headers: { authorization: h } }, (res) => {
          res.resume();
          ok(res.statusCode ?? 0);
        });
        req.on('error', fail);
        req.end();
      });
    assert.equal(await send(0, path, header), 200);
    assert.equal(await send(0, path, header), 401, 'replayed');
    assert.equal(await send(1, path, signRequest({ method: 'GET', path, audience: `${cluster.config.cluster}/node-a` }, undefined, alice)), 401, 'signed for node-a, sent to node-b');
    assert.equal(await send(0, `/v1/privacy`, signRequest({ method: 'GET', path, audience: `${cluster.config.cluster}/node-a` }, undefined, alice)), 401, 'signed for another path');
    assert.equal(await send(0, path, `${AUTH_SCHEME} garbage`), 401);
    const stale = signRequest({ method: 'GET', path, audience: `${cluster.config.cluster}/node-a` }, undefined, alice, new Date(Date.now() - 10 * 60_000));
    assert.equal(await send(0, path, stale), 401, 'ten minutes old');
  });

  it("a study's budget before any run shows its total, all of it remaining (issue 12)", async () => {
    const fresh = signStudy(F.study({ id: 'pop-budget', datasets: [{ name: 'population', columns: ['region', 'sex'] }], queries: [{ id: 'population', sql: POP_SQL }], privacy: { epsilon: 0.5 }, validFrom: iso(Date.now() - DAY), validUntil: iso(Date.now() + DAY), createdAt: iso(Date.now() - DAY) }), alice);
    await submitDocument(cluster.config, 'study', fresh, alice);
    for (const p of P) {
      const r = await apiRequest<{ total: { epsilon: number }; remaining: { epsilon: number }; spent: { epsilon: number } }>(cluster.config, p, '/v1/studies/pop-budget/budget', { signer: alice });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.total.epsilon, 0.5);
      assert.equal(r.body.remaining.epsilon, 0.5);
      assert.equal(r.body.spent.epsilon, 0);
    }
  });
});
