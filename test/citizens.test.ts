// Citizen identities (issue 15, step 1), with three real node daemons of a governed cluster: the
// custodian of citizen_keys registers a citizen (a key pair for the citizen, one more row of the
// secret-shared key→person table, the signed key at every node); every node then knows the
// citizen by a pseudonymous name and signs them in with role citizen. Attack: no node's files
// hold the person id (the link is only in shares), and only the registering custodian's signature
// registers a key. Inside MPC the stored table answers "does this person id own this key?". The
// OpenID Connect seam: an ID token of a stand-in e-ID broker, bound to the key by its nonce.
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CITIZEN_KEY_FORMAT, CITIZEN_KEYS_DATASET, citizenName, citizenRegistrar, signCitizenKey } from '../src/governance/citizens.js';
import { CPR_CLAIM, enrolFromIdToken, keyBindingNonce } from '../src/governance/citizen-oidc.js';
import { generateKeyPair, keyId, loadPrivateKey, publicKeyFromPem, publicKeyPem, type Signer } from '../src/governance/identity.js';
import type { PartyId } from '../src/net/channel.js';
import { createLocalCluster, type LocalCluster } from '../src/net/keys.js';
import { apiRequest } from '../src/node/http.js';
import { startDaemon, writeApiPorts, type Daemon } from '../src/node/daemon.js';
import { registerCitizen } from '../src/cli/citizen.js';
import { selectRecord } from '../src/mpc/select.js';
import { combineShares, splitShares } from '../src/mpc/share.js';
import { fixture, signer } from './governance-fixture.js';
import { run3 } from './harness.js';

const root = mkdtempSync(join(tmpdir(), 'mosaik-citizens-'));
const F = fixture();
const P: PartyId[] = [0, 1, 2];
const PERSON = 1_504_851_234; // a CPR-like number
const OTHER = 2_112_903_311;
let cluster: LocalCluster;
const daemons: Daemon[] = [];
const table = join(root, 'citizen-keys.csv');
const registrar = signer(F.consentCustodian);

before(async () => {
  const consortiumFile = join(root, 'consortium.json');
  writeFileSync(consortiumFile, JSON.stringify(F.config, null, 2));
  cluster = await createLocalCluster(join(root, 'c'));
  await writeApiPorts(cluster.dir);
  for (const p of P) daemons.push(await startDaemon({ dir: cluster.dir, party: p, consortium: consortiumFile, log: () => {} }));
});

after(async () => {
  for (const d of daemons) await d.close();
  rmSync(root, { recursive: true, force: true });
});

/** Every file under a directory. */
function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

describe('citizen identities', () => {
  let citizen: Signer;

  it('the custodian issues a citizen identity; every node signs the citizen in by a pseudonymous name', async () => {
    const r = await registerCitizen({ config: cluster.config, consortium: F.consortium, signer: registrar, person: PERSON, outDir: join(root, 'wallet'), table });
    assert.match(r.name, /^citizen-[0-9a-f]{16}$/);
    citizen = { name: r.name, privateKey: loadPrivateKey(r.keyPath!) };
    assert.deepEqual(JSON.parse(readFileSync(r.cardPath!, 'utf8')), { format: 'mosaik-citizen-card/1', name: r.name, person: PERSON });
    assert.equal(statSync(r.keyPath!).mode & 0o777, 0o600);
    for (const p of P) {
      const who = await apiRequest<{ name: string; role: string }>(cluster.config, p, '/v1/whoami', { signer: citizen });
      assert.equal(who.status, 200, JSON.stringify(who.body));
      assert.deepEqual([who.body.name, who.body.role], [r.name, 'citizen'], `node ${p}`);
      assert.equal(daemons[p]!.store.get(CITIZEN_KEYS_DATASET).rows, 1);
    }
    // A second citizen: the table grows by one row, a new version at every node.
    await registerCitizen({ config: cluster.config, consortium: F.consortium, signer: registrar, person: OTHER, outDir: join(root, 'wallet'), table });
    for (const d of daemons) assert.equal(d.store.get(CITIZEN_KEYS_DATASET).rows, 2);
  });

  it('only the registering custodian\'s signature registers a key (another custodian, a tampered document: refused)', async () => {
    const pub = generateKeyPair().publicKeyPem;
    const body = { format: CITIZEN_KEY_FORMAT, custodian: citizenRegistrar(F.consortium), name: citizenName(keyId(publicKeyFromPem(pub))), ref: 12345, publicKey: pub, registeredAt: new Date().toISOString() } as const;
    const byCpr = await apiRequest<{ error: string }>(cluster.config, 0, '/v1/citizens', { body: signCitizenKey(body, signer(F.cpr)), signer: signer(F.cpr) });
    assert.equal(byCpr.status, 403);
    assert.match(byCpr.body.error, /citizens are registered by 'consent-register'/);
    const forged = signCitizenKey(body, { name: 'consent-register', privateKey: generateKeyPairSync('ed25519').privateKey });
    const r1 = await apiRequest<{ error: string }>(cluster.config, 0, '/v1/citizens', { body: forged, signer: registrar });
    assert.equal(r1.status, 403);
    assert.match(r1.body.error, /not signed with the registered key of 'consent-register'/);
    const signed = signCitizenKey(body, registrar);
    const tampered = { ...signed, key: { ...signed.key, ref: 54321 } };
    const r2 = await apiRequest<{ error: string }>(cluster.config, 0, '/v1/citizens', { body: tampered, signer: registrar });
    assert.equal(r2.status, 403);
    assert.match(r2.body.error, /signature does not verify/);
  });

  it('attack: no node\'s files hold the person id; the link is only in shares, checked inside MPC', async () => {
    const needles = [String(PERSON), String(OTHER), String(PERSON).padStart(10, '0'), String(OTHER).padStart(10, '0')].map((s) => Buffer.from(s));
    const le = (n: number) => Buffer.from(new BigUint64Array([BigInt(n)]).buffer);
    needles.push(le(PERSON), le(OTHER));
    for (const d of cluster.nodeDirs) for (const f of files(d)) {
      const bytes = readFileSync(f);
      for (const n of needles) assert.equal(bytes.indexOf(n), -1, `${f} holds a person id`);
    }
    // Each node's own share pair of the person column is random-looking, not the ids.
    const stored = daemons.map((d) => d.store.load(CITIZEN_KEYS_DATASET, d.store.get(CITIZEN_KEYS_DATASET).version));
    for (const s of stored) for (const half of [s.get('person_id')!.a, s.get('person_id')!.b]) assert.ok(!half.includes(BigInt(PERSON)) && !half.includes(BigInt(OTHER)));
    // The stored table, combined (as only two colluding nodes could), is the custodian's.
    const refs = readFileSync(table, 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
    assert.deepEqual(Array.from(combineShares(stored[0]!.get('key_ref')!, stored[1]!.get('key_ref')!), Number).sort(), refs.map((r) => Number(r[0])).sort());
    // Inside MPC the stored table answers whether a shared person id owns the citizen's key.
    const mine = Number(refs.find((r) => r[2] === citizen.name)![0]);
    const checkWith = async (person: number, ref: number) => {
      const sh = splitShares(BigUint64Array.of(BigInt(person)));
      return (await run3(async (p) => (await selectRecord(p, { person: sh[p.id]!, tables: [], key: { table: { ref: stored[p.id]!.get('key_ref')!, person: stored[p.id]!.get('person_id')! }, ref: BigInt(ref) } })).match))[0];
    };
    assert.equal(await checkWith(PERSON, mine), 1, 'the citizen owns the key');
    assert.equal(await checkWith(OTHER, mine), 0, 'another person does not');
  });
});

describe('the OpenID Connect seam (a stand-in e-ID broker)', () => {
  const issuer = 'https://broker.example.dk';
  const audience = 'mosaik-consent-register';
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwks = { keys: [{ ...rsa.publicKey.export({ format: 'jwk' }), kid: 'rsa1', alg: 'RS256' }, { ...ec.publicKey.export({ format: 'jwk' }), kid: 'ec1', alg: 'ES256' }] };
  const citizenKey = generateKeyPair().publicKeyPem;
  const now = Math.floor(Date.now() / 1000);
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  function token(claims: Record<string, unknown>, o: { kid?: string; key?: KeyObject; alg?: string } = {}): string {
    const alg = o.alg ?? 'RS256';
    const head = b64({ alg, typ: 'JWT', kid: o.kid ?? 'rsa1' });
    const body = b64({ iss: issuer, aud: audience, sub: 'pairwise-subject-1', iat: now, exp: now + 300, nonce: keyBindingNonce(citizenKey), [CPR_CLAIM]: '150485-1234', ...claims });
    const data = Buffer.from(`${head}.${body}`);
    const sig = alg === 'ES256' ? sign('sha256', data, { key: o.key ?? ec.privateKey, dsaEncoding: 'ieee-p1363' }) : sign('sha256', data, o.key ?? rsa.privateKey);
    return `${head}.${body}.${sig.toString('base64url')}`;
  }
  const check = { issuer, audience, jwks } as const;

  it('turns a verified ID token bound to the key into the person to register (RS256 and ES256)', () => {
    assert.deepEqual(enrolFromIdToken(token({}), citizenKey, check), { person: 1_504_851_234, subject: 'pairwise-subject-1' });
    assert.equal(enrolFromIdToken(token({}, { alg: 'ES256', kid: 'ec1' }), citizenKey, check).person, 1_504_851_234);
  });

  it('refuses a token for another key, another client or issuer, expired, or not signed by the broker', () => {
    const other = publicKeyPem(generateKeyPairSync('ed25519').publicKey);
    assert.throws(() => enrolFromIdToken(token({}), other, check), /nonce does not bind it to this public key/);
    assert.throws(() => enrolFromIdToken(token({ aud: 'someone-else' }), citizenKey, check), /not for mosaik-consent-register/);
    assert.throws(() => enrolFromIdToken(token({ iss: 'https://evil.example' }), citizenKey, check), /issuer/);
    assert.throws(() => enrolFromIdToken(token({ exp: now - 1 }), citizenKey, check), /expired/);
    assert.throws(() => enrolFromIdToken(token({}, { key: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey }), citizenKey, check), /signature does not verify/);
    const t = token({}).split('.');
    const changed = `${t[0]}.${b64({ ...JSON.parse(Buffer.from(t[1]!, 'base64url').toString()), [CPR_CLAIM]: '0101011111' })}.${t[2]}`;
    assert.throws(() => enrolFromIdToken(changed, citizenKey, check), /signature does not verify/);
    assert.throws(() => enrolFromIdToken(token({}, { alg: 'none' }).replace(/\.[^.]*$/, '.'), citizenKey, check), /not accepted/);
  });
});
