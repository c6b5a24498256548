// The governance commands end to end, as separate `mosaik` processes working on files: keys,
// consortium, study create/sign/approve/check (with the refusals a node would give), policies,
// consent set/studies, consent schema + `mosaik ingest --dry-run` of the register.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { Command } from 'commander';
import { registerGovernanceCommands } from '../src/cli/governance.js';
import { registerIngestCommand } from '../src/cli/ingest.js';

const MAIN = resolve('dist/src/cli/main.js');
const dir = mkdtempSync(join(tmpdir(), 'mosaik-gov-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Runs a command in this process (the commands are the same functions the binary registers; a
 * process per command would cost a second each to load): stdout captured, a refusal as exit 1.
 */
async function mosaik(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const program = new Command().exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  registerGovernanceCommands(program);
  registerIngestCommand(program);
  const lines: string[] = [];
  const log = console.log, error = console.error;
  console.log = (...a: unknown[]) => void lines.push(a.join(' '));
  console.error = () => {};
  const cwd = process.cwd();
  process.chdir(dir);
  try {
    process.exitCode = undefined;
    await program.parseAsync(['node', 'mosaik', ...args]);
    return { code: Number(process.exitCode ?? 0), out: lines.join('\n'), err: '' };
  } catch (e) {
    return { code: 1, out: lines.join('\n'), err: `mosaik: ${(e as Error).message}` };
  } finally {
    process.exitCode = undefined;
    process.chdir(cwd);
    console.log = log;
    console.error = error;
  }
}
async function ok(...args: string[]): Promise<string> {
  const r = await mosaik(...args);
  assert.equal(r.code, 0, `mosaik ${args.join(' ')} failed: ${r.err}`);
  return r.out;
}
async function fails(re: RegExp, ...args: string[]): Promise<void> {
  const r = await mosaik(...args);
  assert.equal(r.code, 1, `mosaik ${args.join(' ')} should fail; stdout: ${r.out}`);
  assert.match(r.err, re);
}

const SQL = "SELECT region, sex, COUNT(*) AS persons FROM contacts WHERE diagnosis LIKE 'E11%' AND first_in_category GROUP BY region, sex";
const C = ['--consortium', 'consortium.json'];

describe('mosaik identity / study / policy / consent', () => {
  it('runs the whole flow with real files and signatures, refusing what a node would refuse', async () => {
    await ok('consortium', 'init', '--out', 'consortium.json', '--name', 'cli-test');
    for (const [name, role, ds] of [['alice', 'researcher'], ['bob', 'researcher'], ['cpr', 'custodian', 'population'], ['sds', 'custodian', 'contacts']] as const) {
      await ok('identity', 'keygen', '--name', name, '--role', role, '--out', 'keys', ...C, ...(ds ? ['--datasets', ds] : []));
    }
    assert.equal(statSync(join(dir, 'keys', 'alice.ed25519.key.pem')).mode & 0o777, 0o600);
    assert.match(await ok('consortium', 'show', ...C), /custodian +sds .*datasets: contacts/);

    await ok('study', 'create', '--out', 'study.json', '--id', 't2d', '--title', 'T2D prevalence', '--researcher', 'alice', '--purpose', 'public-health',
      '--dataset', 'contacts:diagnosis,first_in_category,region,sex,hospital', '--dataset', 'population:region,sex', '--query', `cases=${SQL}`,
      '--valid-from', '2025-01-01', '--valid-until', '2099-01-01');
    await fails(/study 't2d' is not signed by its researcher 'alice'/, 'study', 'check', 'study.json', ...C);
    await fails(/'bob' cannot sign it/, 'study', 'sign', 'study.json', '--key', 'keys/bob.ed25519.key.pem', ...C);
    await ok('study', 'sign', 'study.json', '--key', 'keys/alice.ed25519.key.pem', ...C);
    await fails(/reads no dataset of custodian 'bob'|only custodians approve/, 'study', 'approve', 'study.json', '--key', 'keys/bob.ed25519.key.pem', ...C, '--out', 'a/bob.json');
    await ok('study', 'approve', 'study.json', '--key', 'keys/sds.ed25519.key.pem', ...C, '--out', 'a/sds.json');
    await fails(/lacks the approval of custodian 'cpr' \(population\)/, 'study', 'check', 'study.json', ...C, '--approvals', 'a/sds.json');
    await ok('study', 'approve', 'study.json', '--key', 'keys/cpr.ed25519.key.pem', ...C, '--out', 'a/cpr.json');
    const A = ['--approvals', 'a/sds.json', '--approvals', 'a/cpr.json'];
    assert.match(await ok('study', 'check', 'study.json', ...C, ...A), /study 't2d' OK .*\n.*approved by 'sds' \(contacts\)/);
    await fails(/expired at 2099-01-01/, 'study', 'check', 'study.json', ...C, ...A, '--at', '2099-06-01T00:00:00Z');

    // Tampering with the signed file is caught.
    const original = readFileSync(join(dir, 'study.json'), 'utf8');
    writeFileSync(join(dir, 'study.json'), original.replace('"public-health"', '"commercial-pharma"'));
    await fails(/researcher's signature does not verify/, 'study', 'check', 'study.json', ...C, ...A);
    writeFileSync(join(dir, 'study.json'), original);

    // Policies and a query check.
    const policy = (custodian: string, dataset: string, minCellSize: number, columns: object) =>
      writeFileSync(join(dir, `${custodian}.policy.json`), JSON.stringify({ format: 'mosaik-policy/1', custodian, issuedAt: '2025-01-01T00:00:00Z', datasets: [{ dataset, purposes: ['public-health'], minCellSize, columns }] }));
    policy('sds', 'contacts', 5, { diagnosis: { roles: ['filter'] }, first_in_category: { roles: ['filter'] }, region: { roles: ['group'] }, sex: { roles: ['group'] }, hospital: 'forbidden' });
    policy('cpr', 'population', 10, { region: { roles: ['group'] }, sex: { roles: ['group'] } });
    await ok('policy', 'sign', 'sds.policy.json', '--key', 'keys/sds.ed25519.key.pem', ...C);
    await fails(/cannot sign it/, 'policy', 'sign', 'cpr.policy.json', '--key', 'keys/sds.ed25519.key.pem', ...C);
    await ok('policy', 'sign', 'cpr.policy.json', '--key', 'keys/cpr.ed25519.key.pem', ...C);
    const P = ['--policies', 'sds.policy.json', '--policies', 'cpr.policy.json'];
    // Approving with the policy at hand warns where the policy will refuse the study (issue 12).
    assert.match(await ok('study', 'approve', 'study.json', '--key', 'keys/sds.ed25519.key.pem', ...C, '--out', 'a/sds-checked.json', '--policy', 'sds.policy.json'), /WARNING: study 't2d' declares column contacts\.hospital, which your policy does not allow/);
    assert.match(await ok('study', 'approve', 'study.json', '--key', 'keys/cpr.ed25519.key.pem', ...C, '--out', 'a/cpr-checked.json', '--policy', 'cpr.policy.json'), /your policy allows every query of the study/);
    assert.match(await ok('study', 'check', 'study.json', ...C, ...A, ...P, '--query-id', 'cases'), /query 'cases' of study 't2d' authorized.*\n.*contacts.diagnosis \(filter\).*\n.*smallest cell 5; consent filter: public-health \(opt-out\)/);
    await fails(/smallest cell of 2, below the 5/, 'study', 'check', 'study.json', ...C, ...A, ...P, '--query-id', 'cases', '--min-cell-size', '2');
    await fails(/does not allow this query/, 'study', 'check', 'study.json', ...C, ...A, ...P, '--sql', 'SELECT hospital, COUNT(*) FROM contacts GROUP BY hospital');

    // Consent: a withdrawal, then the studies the citizen's consent covers.
    await ok('consent', 'set', '--person', '0101701234', '--purpose', 'public-health', '--withdrawn', ...C, '--register', 'consent.csv', '--at', '2025-02-01T00:00:00Z');
    await fails(/pass exactly one of --granted and --withdrawn/, 'consent', 'set', '--person', '1', '--purpose', 'public-health', ...C);
    await fails(/purpose 'marketing' is not declared/, 'consent', 'set', '--person', '1', '--purpose', 'marketing', '--granted', ...C);
    assert.match(await ok('consent', 'studies', '--person', '0101701234', ...C, '--register', 'consent.csv', '--studies', '.', '--all'), /not covered +t2d .*withdrawn 2025-02-01/);
    assert.match(await ok('consent', 'studies', '--person', '0101701299', ...C, '--register', 'consent.csv', '--studies', '.'), /covered +t2d .*default for this purpose \(opt-out\)/);
    await ok('consent', 'set', '--person', '0101701234', '--purpose', 'public-health', '--granted', ...C, '--register', 'consent.csv', '--at', '2025-03-01T00:00:00Z');
    assert.match(await ok('consent', 'studies', '--person', '0101701234', ...C, '--register', 'consent.csv', '--studies', 'study.json'), /covered +t2d .*granted 2025-03-01/);
    assert.equal(readFileSync(join(dir, 'consent.csv'), 'utf8'), 'person_id,purpose,granted,time,until\n0101701234,public-health,false,1738368000,1740787200\n0101701234,public-health,true,1740787200,8589934591\n');

    // The register is a valid dataset for `mosaik ingest`.
    await ok('consent', 'schema', ...C, '--custodian', 'sds', '--out', 'schema');
    assert.match(await ok('ingest', '--dry-run', '--schema', 'schema/consent.schema.json', '--codelists', 'schema/purpose.codelists.json', 'consent.csv'), /consent.csv is valid for consent/);

    assert.match(await ok('usage', '--dir', 'node-a'), /no usage recorded/);
  });

  it('the short path (issue 12): consortium from a cluster, the consent register named at init, policy templates from the schema, many consent changes as one version', async () => {
    const { createLocalCluster } = await import('../src/net/keys.js');
    const { ensureLocalIdentities } = await import('../src/governance/identities.js');
    const lc = await createLocalCluster(join(dir, 'short'));
    ensureLocalIdentities(lc.dir);
    const out = await ok('consortium', 'init', '--cluster', lc.dir, '--consent-dataset', 'optouts');
    const file = join(lc.dir, 'consortium.json');
    assert.match(out, /members from .*identities\.json: researcher \(researcher\), custodian \(custodian\), auditor \(auditor\); nodes: node-a, node-b, node-c/);
    assert.match(out, /consent register: dataset 'optouts' \(in force once a custodian owning it is added/);
    const raw = () => JSON.parse(readFileSync(file, 'utf8')) as { consent: { dataset: string; custodian?: string }; nodes: unknown[] };
    assert.deepEqual(raw().consent, { dataset: 'optouts' });
    assert.equal(raw().nodes.length, 3);
    await ok('identity', 'keygen', '--name', 'registry', '--role', 'custodian', '--datasets', 'optouts', '--out', 'short-keys', '--consortium', file, '--cluster', lc.dir);
    assert.deepEqual(raw().consent, { dataset: 'optouts', custodian: 'registry' }, 'the custodian owning the named register completes it');
    assert.match(await ok('consortium', 'show', '--consortium', file), /consent register: dataset 'optouts' of 'registry'/);

    // A policy from the schema, signed in the same step; it is a valid policy for authorize().
    await ok('identity', 'keygen', '--name', 'cpr', '--role', 'custodian', '--datasets', 'population', '--out', 'short-keys', '--consortium', file, '--cluster', lc.dir);
    const tpl = await ok('policy', 'template', 'population', '--consortium', file, '--key', 'short-keys/cpr.ed25519.key.pem', '--out', 'short-cpr.policy.json');
    assert.match(tpl, /wrote the signed policy of 'cpr' for population .*purposes public-health, quality-improvement, academic-research; smallest cell 5/);
    assert.match(tpl, /person_id \(join-key\), .*region \(filter\/group\)/);
    const { parseSignedPolicy, verifyPolicy } = await import('../src/governance/policy.js');
    const { Consortium } = await import('../src/governance/consortium.js');
    const pol = verifyPolicy(parseSignedPolicy(JSON.parse(readFileSync(join(dir, 'short-cpr.policy.json'), 'utf8'))), Consortium.load(file));
    assert.equal(pol.datasets[0]!.columns.person_id && (pol.datasets[0]!.columns.person_id as { roles: string[] }).roles.join(), 'join-key');
    await fails(/several custodians/, 'policy', 'template', 'population', 'optouts', '--consortium', file);

    // Many consent changes from a file: one register, a receipt per change.
    writeFileSync(join(dir, 'changes.csv'), 'person_id,purpose,granted,time\n0101701234,public-health,withdrawn,2025-02-01T00:00:00Z\n0202802345,commercial-pharma,granted,\n0303903456,academic-research,false,1738368000\n');
    const set = await ok('consent', 'set', '--from', 'changes.csv', '--consortium', file, '--register', 'short-consent.csv', '--at', '2025-03-01T00:00:00Z');
    assert.match(set, /3 consent changes \(1 granted, 2 withdrawn\) for 3 persons; register short-consent\.csv: 3 rows/);
    assert.equal(readFileSync(join(dir, 'short-consent.receipts.csv'), 'utf8').trim().split('\n').length, 4);
    assert.match(readFileSync(join(dir, 'short-consent.csv'), 'utf8'), /0202802345,commercial-pharma,true,1740787200,/);
    writeFileSync(join(dir, 'bad-changes.csv'), 'person_id,purpose,granted\n12,marketing,granted\n');
    await fails(/purpose 'marketing' is not declared/, 'consent', 'set', '--from', 'bad-changes.csv', '--consortium', file, '--register', 'short-consent.csv');
  });

  it('the mosaik binary registers the commands and exits 1 with the refusal on stderr', () => {
    const run = (...args: string[]) => spawnSync(process.execPath, [MAIN, ...args], { cwd: dir, encoding: 'utf8' });
    const good = run('study', 'check', 'study.json', ...C, '--approvals', 'a/sds.json', '--approvals', 'a/cpr.json');
    assert.equal(good.status, 0, good.stderr);
    assert.match(good.stdout, /study 't2d' OK/);
    const bad = run('study', 'check', 'study.json', ...C, '--approvals', 'a/sds.json');
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /^mosaik: study 't2d' lacks the approval of custodian 'cpr' \(population\)/);
  });
});
