// The consent custodian's consent-state service (issue 15: src/cli/citizen-consent-state.ts), with
// three real node daemons of a governed cluster and real signatures: a citizen asks with a request
// signed by their registered key and gets the register's state for their own person (per purpose:
// granted or withdrawn, since when, or the default), plus their changes waiting in the inbox; another
// citizen's key gets that citizen's state, never the first's. Refused: a forged signature, a key not
// registered, a time more than five minutes off, a replayed request, a malformed one. Also served by
// the web app (POST /api/citizen-consent).
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { processConsentInbox, publishInboxKey, registerCitizen } from '../src/cli/citizen.js';
import { sendConsentChange } from '../src/cli/citizen-client.js';
import { citizenConsentState, type CitizenConsentState } from '../src/cli/citizen-consent-state.js';
import { publishConsent } from '../src/cli/governance-remote.js';
import { startWebServer, type WebServer } from '../src/cli/web.js';
import { citizenName } from '../src/governance/citizens.js';
import { consentChange, writeConsentFile } from '../src/governance/consent.js';
import { CONSENT_STATE_REQUEST_FORMAT, type ConsentStateAnswer } from '../src/governance/consent-state.js';
import { GovernanceError } from '../src/governance/errors.js';
import { keyId, loadPrivateKey, signDocument, type Signer } from '../src/governance/identity.js';
import type { PartyId } from '../src/net/channel.js';
import { createLocalCluster, type LocalCluster } from '../src/net/keys.js';
import { startDaemon, writeApiPorts, type Daemon } from '../src/node/daemon.js';
import { consentCustodianFiles, fixture, signer } from './governance-fixture.js';

const root = mkdtempSync(join(tmpdir(), 'mosaik-consent-state-'));
const F = fixture();
const ANNA = 1_504_851_234;
const BO = 2_112_903_311;
const custodian = signer(F.consentCustodian);
const { table, register, inboxKey } = consentCustodianFiles(root);
const WITHDRAWN_AT = Date.parse('2026-03-01T10:00:00Z');
let cluster: LocalCluster;
const daemons: Daemon[] = [];
let web: WebServer;
let service: CitizenConsentState;
let anna: Signer;
let bo: Signer;

const citizen = (keyPath: string): Signer => {
  const privateKey = loadPrivateKey(keyPath);
  return { name: citizenName(keyId(privateKey)), privateKey };
};
const request = (s: Signer, o: { time?: Date; name?: string; nonce?: string } = {}) => {
  const body = { format: CONSENT_STATE_REQUEST_FORMAT, citizen: o.name ?? s.name, time: (o.time ?? new Date()).toISOString(), nonce: o.nonce ?? randomUUID() };
  return { request: body, signature: signDocument('consent-state-request', body, s) };
};
const purpose = (a: ConsentStateAnswer, code: string) => a.purposes.find((p) => p.purpose === code)!;
const refused = (re: RegExp) => (e: unknown) => e instanceof GovernanceError && re.test(e.message);

before(async () => {
  const consortiumFile = join(root, 'consortium.json');
  writeFileSync(consortiumFile, JSON.stringify(F.config));
  cluster = await createLocalCluster(join(root, 'c'));
  await writeApiPorts(cluster.dir);
  for (const p of [0, 1, 2] as PartyId[]) daemons.push(await startDaemon({ dir: cluster.dir, party: p, consortium: consortiumFile, log: () => {} }));
  const events = [
    consentChange(F.consortium, ANNA, 'public-health', false, new Date(WITHDRAWN_AT)),
    consentChange(F.consortium, BO, 'commercial-pharma', true, new Date(WITHDRAWN_AT + 3_600_000)),
  ];
  await publishConsent({ config: cluster.config, consortium: F.consortium, events, changes: [], signer: custodian, version: 'consent-v0' });
  writeConsentFile(register, events);
  anna = citizen((await registerCitizen({ config: cluster.config, consortium: F.consortium, signer: custodian, person: ANNA, outDir: join(root, 'anna'), table })).keyPath!);
  bo = citizen((await registerCitizen({ config: cluster.config, consortium: F.consortium, signer: custodian, person: BO, outDir: join(root, 'bo'), table })).keyPath!);
  await publishInboxKey({ config: cluster.config, signer: custodian, out: inboxKey });
  service = citizenConsentState({ config: cluster.config, consortium: F.consortium, signer: custodian, table, register, inboxKeyPem: readFileSync(inboxKey, 'utf8') });
  web = await startWebServer({ dir: cluster.dir, port: 0, log: () => {}, citizenConsentState: service });
});

after(async () => {
  await web?.close();
  for (const d of daemons) await d.close();
  rmSync(root, { recursive: true, force: true });
});

describe('the consent custodian’s consent-state service', () => {
  it('answers a citizen their own state per purpose: their withdrawal with its time, the defaults elsewhere', async () => {
    const a = await service.answer(request(anna));
    assert.deepEqual(a.purposes.map((p) => p.purpose), F.consortium.purposes.map((p) => p.code));
    assert.deepEqual(purpose(a, 'public-health'), { purpose: 'public-health', label: 'public-health research', default: 'opt-out', granted: false, basis: 'withdrawn', since: new Date(WITHDRAWN_AT).toISOString() });
    assert.deepEqual(purpose(a, 'commercial-pharma'), { purpose: 'commercial-pharma', label: 'commercial pharma research', default: 'opt-in', granted: false, basis: 'default' });
    assert.equal(purpose(a, 'academic-research').granted, true);
    assert.deepEqual(a.pending, []);
  });

  it("another citizen's key gets that citizen's state, not the first's", async () => {
    const b = await service.answer(request(bo));
    assert.equal(purpose(b, 'public-health').basis, 'default');
    assert.equal(purpose(b, 'public-health').granted, true);
    assert.deepEqual({ ...purpose(b, 'commercial-pharma') }, { purpose: 'commercial-pharma', label: 'commercial pharma research', default: 'opt-in', granted: true, basis: 'granted', since: new Date(WITHDRAWN_AT + 3_600_000).toISOString() });
  });

  it("refuses a forged signature: another key signing as a citizen, or a citizen's request altered", async () => {
    const mallory = { name: anna.name, privateKey: generateKeyPairSync('ed25519').privateKey };
    await assert.rejects(service.answer(request(mallory)), refused(/not signed with the registered key/));
    const r = request(bo, { name: anna.name }); // Bo's signature on a request naming Anna
    await assert.rejects(service.answer(r), refused(/not signed with the registered key/));
    const altered = request(anna);
    altered.request.nonce = randomUUID();
    await assert.rejects(service.answer(altered), refused(/not signed with the registered key/));
  });

  it('refuses a key not registered with the consent register', async () => {
    const stranger = generateKeyPairSync('ed25519').privateKey;
    await assert.rejects(service.answer(request({ name: citizenName(keyId(stranger)), privateKey: stranger })), refused(/is not a citizen key registered with the consent register/));
  });

  it('refuses a time more than five minutes off, and the same request a second time', async () => {
    await assert.rejects(service.answer(request(anna, { time: new Date(Date.now() - 6 * 60_000) })), refused(/more than 5 minutes from the consent register's clock/));
    await assert.rejects(service.answer(request(anna, { time: new Date(Date.now() + 6 * 60_000) })), refused(/more than 5 minutes/));
    const once = request(anna);
    await service.answer(once);
    await assert.rejects(service.answer(once), refused(/already answered/));
    await assert.rejects(service.answer({ request: { citizen: anna.name } }), refused(/send \{"request"/));
  });

  it('lists the citizen’s changes waiting in the inbox (from any of their keys), then the published state', async () => {
    const sent = await sendConsentChange({ config: cluster.config, signer: anna, purpose: 'public-health', granted: true });
    const waiting = await service.answer(request(anna));
    assert.deepEqual(waiting.pending, [{ purpose: 'public-health', granted: true, time: sent.time }]);
    assert.equal(purpose(waiting, 'public-health').granted, false, 'not in force before it is published');
    assert.deepEqual((await service.answer(request(bo))).pending, [], "Bo does not see Anna's change");
    await processConsentInbox({ config: cluster.config, consortium: F.consortium, signer: custodian, inboxKeyPem: readFileSync(inboxKey, 'utf8'), table, register });
    const published = await service.answer(request(anna));
    assert.deepEqual(published.pending, []);
    assert.equal(purpose(published, 'public-health').basis, 'granted');
    assert.equal(purpose(published, 'public-health').since, new Date(Math.floor(Date.parse(sent.time) / 1000) * 1000).toISOString());
  });

  it('is served by the web app: POST /api/citizen-consent (refusals as HTTP 400 with the reason)', async () => {
    const post = (body: unknown) => fetch(new URL('/api/citizen-consent', web.url), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const ok = await post(request(bo));
    assert.equal(ok.status, 200);
    assert.equal(purpose((await ok.json()) as ConsentStateAnswer, 'commercial-pharma').basis, 'granted');
    const bad = await post(request(anna, { time: new Date(Date.now() - 3_600_000) }));
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: string }).error, /more than 5 minutes/);
    web.setCitizenConsentState(undefined);
    assert.equal((await post(request(bo))).status, 404);
    web.setCitizenConsentState(service);
  });
});
