// `mosaik demo --governed`: the step-by-step walkthrough of the whole governed flow on the demo
// registers, every step for real, each shown with the command that does the same by hand (README,
// "Governance"). The plain `mosaik demo` (./studies-demo.ts) is governed too, without the commands.
//
//  1. a local cluster with one identity per actor: the epidemiologist (researcher), the three
//     register custodians, the consent register's custodian and an auditor;
//  2. the consortium configuration from the cluster (members and node keys; consent register named);
//  3. three node daemons started governed (--consortium);
//  4. the custodians upload their registers, each upload signed with its custodian's key;
//  5. each custodian's policy, made from its registers' schemas (the health data authority forbids
//     the hospital column), signed and registered at every node;
//  6. the consent register: the citizens' opt-outs and opt-ins, published as one version;
//  7. the researcher's study (the main job's questions, each with the epsilon it spends), signed;
//     every custodian whose data it reads approves it — with the warnings of its own policy;
//  8. the study's queries run in MPC with the consent filter inside MPC and noise on every cell;
//     a query the health data authority's policy forbids is refused at every node, and logged;
//  9. usage per custodian as all three nodes recorded it (the consent register's reads included),
//     cross-checked; the transparency log verified end to end (refused attempts counted).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLocalCluster, loadClusterConfig } from '../net/keys.js';
import { writeApiPorts } from '../node/daemon.js';
import { generateRegisters } from '../demo/registers.js';
import { generateConsentEvents } from '../demo/consent-events.js';
import { STUDIES } from '../demo/studies.js';
import { Consortium } from '../governance/consortium.js';
import { ensureLocalIdentities, LOCAL_IDENTITIES } from '../governance/identities.js';
import { queryUseOfJoinPlan, queryUseOfPlan } from '../governance/plan-uses.js';
import { policyTemplate, POLICY_FORMAT, signPolicy, type CustodianPolicy } from '../governance/policy.js';
import { approveStudy, createStudy, signStudy, type StudyQuery } from '../governance/study.js';
import { cliSigner } from './identity-defaults.js';
import { fetchUsageAll, newConsortiumConfig, publishConsent, submitDocument } from './governance-remote.js';
import { formatTable, QueryFailed, runRemoteQuery } from './query.js';
import { auditVerify } from './audit.js';
import { CONSENT_CUSTODIAN, CONSENT_DATASET } from '../demo/governance.js';
import { DEMO_CUSTODIANS, fmtInt, freshNodes, ingestRegisters, planOf, progressLine, secs, startNodes, stopNodes, type StudiesDemoOptions } from './studies-demo.js';

/** The custodians of the registers (the consent register's custodian publishes consent, step 6). */
const REGISTER_CUSTODIANS = DEMO_CUSTODIANS.filter((c) => c.name !== CONSENT_CUSTODIAN);
const STUDY_ID = 'demo-governed';

export async function runGovernedDemo(o: StudiesDemoOptions): Promise<boolean> {
  const t0 = performance.now();
  const step = (what: string, cmd: string) => {
    o.log('');
    o.log(`▸ ${what}`);
    o.log(`  $ ${cmd}`);
  };
  o.log('mosaik demo --governed: studies, approvals, policies and consent, checked by every node on its own');
  const { dir, nodeDirs } = await createLocalCluster(o.dir);
  await writeApiPorts(dir);
  await freshNodes(nodeDirs);

  // 1. Identities.
  const actors = [...LOCAL_IDENTITIES, ...DEMO_CUSTODIANS, { name: 'epidemiologist', role: 'researcher' as const }];
  const keys = ensureLocalIdentities(dir, actors);
  const signerOf = (name: string, role: 'researcher' | 'custodian' | 'auditor') => cliSigner({ dir, key: keys.get(name)!, role });
  const researcher = signerOf('epidemiologist', 'researcher');
  step('identities: one key pair per actor, registered with the cluster', `mosaik local-cluster ${dir}; mosaik identity keygen --name <n> --role <role> --cluster ${dir} [--datasets …]`);
  o.log(`  ${actors.map((a) => `${a.name} (${a.role}${a.datasets ? `: ${a.datasets.join(', ')}` : ''})`).join(', ')}`);

  // 2. The consortium, from the cluster.
  const config = loadClusterConfig(join(dir, 'cluster.json'));
  const consortiumFile = join(dir, 'consortium.json');
  const cc = newConsortiumConfig({ name: config.cluster, consentDataset: CONSENT_DATASET, cluster: config });
  writeFileSync(consortiumFile, JSON.stringify(cc, null, 2) + '\n');
  const consortium = Consortium.load(consortiumFile);
  step('the consortium configuration, from the cluster (members, node keys, consent register)', `mosaik consortium init --cluster ${dir} --consent-dataset ${CONSENT_DATASET}`);
  o.log(`  ${consortium.members.size} members, ${consortium.nodes.size} nodes; purposes ${consortium.purposes.map((p) => `${p.code} (${p.consent})`).join(', ')}; consent register '${consortium.consent!.dataset}' of '${consortium.consent!.custodian}'`);

  const { kids, waitUntilUp } = startNodes(dir, config, o, ['--consortium', consortiumFile]);
  try {
    // 3 and 4. Nodes and registers.
    step('three node daemons, governed; the custodians upload their registers, each upload signed', `mosaik node --dir ${dir} --party 0 --consortium ${consortiumFile}   (and parties 1, 2); mosaik ingest --dir ${dir} --schema demo:population --sign-key <cpr's key> population.csv`);
    const regs = generateRegisters({ citizens: o.citizens, seed: o.seed });
    o.log(`• generated synthetic registers for ${fmtInt(o.citizens)} citizens (${regs.all.map((r) => `${r.schema.name} ${fmtInt(r.length)}`).join(', ')} rows)`);
    const version = `demo-${o.citizens}-${o.seed}`;
    const keyOf = (register: string) => keys.get(REGISTER_CUSTODIANS.find((c) => c.datasets!.includes(register))!.name)!;
    await (await ingestRegisters(dir, regs, version, keyOf, waitUntilUp, o)).done;

    // 5. Policies from the schemas.
    step('each custodian\'s policy, from its registers\' schemas, signed and registered at every node', `mosaik policy template <its datasets> --consortium ${consortiumFile} --key <its key>; mosaik policy submit <custodian>.policy.json --dir ${dir}`);
    const schemas = new Map(regs.all.map((r) => [r.schema.name, r.schema]));
    for (const c of REGISTER_CUSTODIANS) {
      const p: CustodianPolicy = { format: POLICY_FORMAT, custodian: c.name, issuedAt: new Date(Date.now() - 60_000).toISOString(), datasets: c.datasets!.map((d) => policyTemplate(schemas.get(d)!, consortium.purposes)) };
      // The health data authority keeps the hospital out of studies (small hospitals single out patients).
      for (const d of p.datasets) if (d.columns.hospital) d.columns.hospital = 'forbidden';
      const signer = signerOf(c.name, 'custodian');
      const r = await submitDocument(config, 'policy', signPolicy(p, consortium, signer), signer);
      mkdirSync(join(dir, 'custodians', c.name), { recursive: true });
      writeFileSync(join(dir, 'custodians', c.name, `${c.name}.policy.json`), JSON.stringify(p, null, 2) + '\n');
      o.log(`• ${r.registered} (log entry ${r.ledgerSeq ?? '–'}): purposes ${p.datasets[0]!.purposes.join(', ')}; smallest cell ${p.datasets[0]!.minCellSize}${p.datasets.some((d) => d.columns.hospital === 'forbidden') ? '; hospital forbidden' : ''}`);
    }

    // 6. Consent.
    step('the consent register: citizens\' opt-outs and opt-ins, one version, published by its custodian', `mosaik consent set --from changes.csv --consortium ${consortiumFile} --dir ${dir} --key <${CONSENT_CUSTODIAN}'s key>`);
    const ids = regs.people.id.slice(0, regs.people.count);
    const events = generateConsentEvents(ids, consortium.purposes, { seed: o.seed });
    const pub = await publishConsent({ config, consortium, events, changes: events, signer: signerOf(CONSENT_CUSTODIAN, 'custodian'), version: `consent-${o.seed}` });
    const withdrawn = new Set(events.filter((e) => !e.granted && e.purpose === 'public-health').map((e) => e.person)).size;
    o.log(`• ${fmtInt(events.length)} changes of ${fmtInt(new Set(events.map((e) => e.person)).size)} citizens (${fmtInt(withdrawn)} withdrew from public-health research at some point) → register version ${pub.version}, ${fmtInt(pub.rows)} rows, at every node; logged as counts and commitments (entry ${pub.ledgerSeq ?? '–'})`);

    // 7. The study, its approvals (with the custodians' own policies' warnings).
    const queries: StudyQuery[] = [];
    const declared = new Map<string, Set<string>>();
    const addQuery = (id: string, sql: string, epsilon: number) => {
      queries.push({ id, sql, epsilon });
      const planned = planOf(sql, schemas, regs.codeLists);
      const use = planned.join ? queryUseOfJoinPlan(planned.join) : queryUseOfPlan(planned.plan);
      for (const d of use.datasets) declared.set(d, declared.get(d) ?? new Set());
      for (const u of use.uses) declared.get(u.dataset)!.add(u.column);
    };
    for (const s of STUDIES) {
      addQuery(s.id, s.sql, s.epsilon);
      if (s.denominator) addQuery(`${s.id}-denominator`, s.denominator.sql, s.denominator.epsilon);
    }
    // A question the health data authority's policy does not allow: its approval warns, every node refuses it.
    addQuery('contacts-by-hospital', 'SELECT hospital, COUNT(*) AS contacts FROM contacts GROUP BY hospital', 0.05);
    const epsilon = Number(queries.reduce((a, q) => a + q.epsilon!, 0).toPrecision(6));
    const now = Date.now();
    const study = signStudy(createStudy({
      id: STUDY_ID, title: 'Diabetes, statins and income: the main job\'s questions, governed', researcher: 'epidemiologist', purpose: 'public-health',
      datasets: [...declared].map(([name, cols]) => ({ name, columns: [...cols].sort() })), queries,
      validFrom: new Date(now - 3_600_000).toISOString(), validUntil: new Date(now + 30 * 86_400_000).toISOString(), createdAt: new Date(now - 60_000).toISOString(),
      privacy: { epsilon, mechanism: 'laplace' },
    }), researcher);
    writeFileSync(join(dir, 'study.json'), JSON.stringify(study, null, 2) + '\n');
    step('the researcher\'s study (purpose, registers and columns, queries with their epsilon, budget), signed; each custodian approves it', `mosaik study create --out study.json …; mosaik study sign study.json --key <epidemiologist's key>; mosaik study approve study.json --key <custodian key> --consortium ${consortiumFile} --out <custodian>.approval.json; mosaik study submit study.json *.approval.json --dir ${dir}`);
    await submitDocument(config, 'study', study, researcher);
    o.log(`• study '${STUDY_ID}': ${queries.length} queries over ${[...declared.keys()].join(', ')}; budget epsilon ${epsilon}; registered at every node`);
    const custodians = [...new Set([...declared.keys()].map((d) => consortium.custodianOf(d)!))];
    for (const c of custodians) {
      const signer = signerOf(c, 'custodian');
      const r = await submitDocument(config, 'approval', approveStudy(study, consortium, signer), signer);
      o.log(`• ${r.registered}${r.warnings.length ? '' : ' — its policy allows every query'}`);
      for (const w of r.warnings) o.log(`    WARNING: ${w}`);
    }

    // 8. The runs.
    step('the study\'s queries: consent filter and noise inside MPC; each node checks study, approvals, policies, consent and budget itself', `mosaik query --dir ${dir} --study study.json --key <epidemiologist's key> --query-id <id>`);
    let ran = 0, refused = 0;
    for (const q of queries) {
      const t = performance.now();
      try {
        const r = await runRemoteQuery({ config, sql: q.sql!, signer: researcher, study, queryId: q.id, onNodes: progressLine(o) });
        ran++;
        o.log('');
        o.log(`  ${q.id} (epsilon ${q.epsilon}; consent register ${r.governance?.consent.register ?? 'none'}; ${secs(performance.now() - t)})`);
        for (const l of formatTable(r).split('\n')) o.log(`    ${l}`);
      } catch (e) {
        if (!(e instanceof QueryFailed)) throw e;
        refused++;
        o.log('');
        o.log(`  ${q.id}: REFUSED — ${e.message}`);
      }
    }

    // 9. Usage and the log.
    step('usage per custodian, as each of the three nodes recorded it, cross-checked', `mosaik usage --cluster ${dir}`);
    const usage = await fetchUsageAll(config, { study: STUDY_ID }, signerOf('auditor', 'auditor'));
    for (const u of usage.summary) o.log(`  ${u.custodian.padEnd(24)} ${String(u.queries).padStart(3)} queries ${fmtInt(u.rowsTouched).padStart(12)} rows read  ${u.datasets.join(', ')}`);
    o.log(`  ${usage.differences.length ? `THE NODES DISAGREE: ${usage.differences.join('; ')}` : 'the three nodes agree'}`);
    step('the transparency log, verified end to end', `mosaik audit verify --dir ${dir}`);
    const audit = await auditVerify({ dir });
    for (const l of audit.lines) o.log(`  ${l}`);

    const ok = ran === queries.length - 1 && refused === 1 && !usage.differences.length && audit.ok;
    o.log('');
    o.log(`${ok ? '✔' : '✘'} governed flow: ${ran} queries run, ${refused} refused by the custodian's policy (and logged), usage ${usage.differences.length ? 'DISAGREES' : 'agrees'} at the three nodes, transparency log ${audit.ok ? 'verified' : 'NOT verified'}; total ${secs(performance.now() - t0)}`);
    o.log(`  files: ${join(dir, 'consortium.json')}, ${join(dir, 'study.json')}, the policies under ${join(dir, 'custodians')}/`);
    return ok;
  } finally {
    await stopNodes(kids);
  }
}

