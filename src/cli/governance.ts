// `mosaik identity | consortium | policy | study | consent | usage`: the governance commands
// (src/governance). Every command works on files on disk and checks signatures for real.
//
//   mosaik identity keygen --name <n> --role researcher|custodian|node [--out <dir>] [--consortium <file> [--datasets a,b]] [--force]
//   mosaik consortium init [--out consortium.json] [--name <consortium>]
//   mosaik consortium show [--consortium consortium.json]
//   mosaik policy sign <policy.json> --key <key.pem> --consortium <file> [--out <file>]
//   mosaik study create --out <study.json> (--spec <spec.json> | --id --title --researcher --purpose
//                       --dataset <name:col,col>… --query <id=SQL>… [--statistic <id=call>…]
//                       --valid-from <t> --valid-until <t> [--min-cell-size n] [--epsilon e --query-epsilon e])
//   mosaik study sign <study.json> --key <key.pem> [--consortium <file>] [--out <file>]
//   mosaik study approve <study.json> --key <key.pem> --consortium <file> --out <approval.json> [--terms <licence terms>]
//                        [--policy <policy.json>… [--schema <file>]] [--reject --reason <text>]
//   mosaik study check <study.json> --consortium <file> [--approvals <a.json>…] [--policies <p.json>…]
//                      [--query-id <id> | --sql <sql>] [--min-cell-size n] [--at <time>] [--json]
//   mosaik consent set --person <id> --purpose <code> (--granted | --withdrawn) --consortium <file> [--register consent.csv] [--at <time>]
//   mosaik consent studies --person <id> --consortium <file> --register consent.csv --studies <file|dir>… [--at <time>] [--json]
//   mosaik consent schema --consortium <file> [--out <dir>]
//   mosaik consent generate --consortium <file> [--citizens N] [--seed S] [--out consent.csv]
//   mosaik usage --dir <nodeDir> [--custodian <name>] [--study <id>] [--json]
//
// With the nodes (src/cli/governance-remote.ts; --dir is then the cluster directory):
//   mosaik study submit <study.json | approval.json>… --dir <cluster>   register at every node (each verifies)
//   mosaik study list --dir <cluster> [--json]                           studies and custodians' decisions
//   mosaik policy submit <policy.json>… --dir <cluster>
//   mosaik consent set … --dir <cluster> --key <consent custodian key> [--version v]
//                      the consent custodian also shares and uploads the new register version
//                      (the upload signed with the same key, as governed nodes require) and
//                      posts its signed update (logged as counts and commitments)
//   mosaik consent studies --person <id> … --dir <cluster>               the studies registered at the nodes
//   mosaik usage --cluster <cluster> [--node i]                          usage recorded by a node
//
// Exit code 0 on success; 1 with `mosaik: <message>` on stderr for any refusal (the message names
// the failing check, e.g. "study 't2d' lacks the approval of custodian 'cpr' (population)").
import type { Command } from 'commander';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { demoCodeLists } from '../demo/codelists.js';
import { demoSchemas } from '../demo/schemas.js';
import { consentChange, consentReceipt, consentSchema, CONSENT_DATASET, purposeCodeList, readConsentChanges, readConsentFile, studiesForCitizen, writeConsentFile } from '../governance/consent.js';
import { demoPersonIds, generateConsentEvents } from '../demo/consent-events.js';
import { addMember, Consortium, readConfigFile } from '../governance/consortium.js';
import { GovernanceError } from '../governance/errors.js';
import { keyId, loadPrivateKey, writeIdentity, type MemberRole, type Signer } from '../governance/identity.js';
import { queryUseOfJoinPlan, queryUseOfPlan } from '../governance/plan-uses.js';
import { approvalWarnings, authorize, checkPolicyShape, parseSignedPolicy, policyTemplate, POLICY_FORMAT, signPolicy, type CustodianPolicy, type QueryUse, type SignedPolicy } from '../governance/policy.js';
import {
  approveStudy, checkStudy, createStudy, parseApproval, parseSignedStudy, signStudy, studyHash, verifyStudySignature, type Approval, type NewStudy, type SignedStudy, type StudyQuery,
} from '../governance/study.js';
import { UsageLog, type UsageSummary } from '../governance/usage.js';
import { cliSigner } from './identity-defaults.js';
import { addIdentity } from '../governance/identities.js';
import { clusterConfig, documentKind, fetchSchemas, fetchStudies, fetchUsage, fetchUsageAll, listStudies, newConsortiumConfig, publishConsent, submitDocument } from './governance-remote.js';
import type { CodeList, DatasetSchema } from '../ingest/schema.js';
import { planSql } from '../query/plan.js';
import { parseQuery, planAnyQuery, tablesOf } from '../query/index.js';

function readJson(path: string, what: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new GovernanceError('malformed', `cannot read ${what} ${path}: ${(e as Error).message}`);
  }
}

function writeJson(path: string, v: unknown): void {
  mkdirSync(dirname(resolve(path)), { recursive: true });
  writeFileSync(path, JSON.stringify(v, null, 2) + '\n');
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

/** The signer of a private key file: --as, else the consortium member with that key, else the file's <name>.ed25519.key.pem. */
function signerFrom(keyPath: string, consortium: Consortium | null, as?: string): Signer {
  const privateKey = loadPrivateKey(keyPath);
  if (as) return { name: as, privateKey };
  if (consortium) {
    const m = consortium.memberByKeyId(keyId(privateKey));
    if (!m) throw new GovernanceError('unknown-member', `the key ${keyPath} belongs to no member of consortium '${consortium.name}'`);
    return { name: m.name, privateKey };
  }
  const m = /^(.+)\.ed25519\.key\.pem$/.exec(basename(keyPath));
  if (!m) throw new GovernanceError('malformed', `cannot tell whose key ${keyPath} is: pass --as <name> or --consortium <file>`);
  return { name: m[1]!, privateKey };
}

function loadStudyFiles(args: string[]): SignedStudy[] {
  const files: string[] = [];
  for (const a of args) {
    if (existsSync(a) && statSync(a).isDirectory()) {
      for (const f of readdirSync(a).sort()) if (f.endsWith('.json')) files.push(join(a, f));
    } else files.push(a);
  }
  const out: SignedStudy[] = [];
  for (const f of files) {
    const j = readJson(f, 'study') as { study?: unknown; format?: unknown };
    if (j && typeof j === 'object' && ('study' in j || j.format === 'mosaik-study/1')) out.push(parseSignedStudy(j));
  }
  return out;
}

/** Schema and code lists for planning a study query: the demo registers (the CLI has no node store). */
function schemaFor(dataset: string, schemaPath?: string): { schema: DatasetSchema; codeLists: Map<string, CodeList> } {
  const codeLists = demoCodeLists();
  if (schemaPath) {
    const raw = readJson(schemaPath, 'schema') as { schema?: DatasetSchema; codeLists?: CodeList[] } & DatasetSchema;
    const schema = (raw.schema ?? raw) as DatasetSchema;
    for (const l of raw.codeLists ?? []) codeLists.set(l.name, l);
    return { schema, codeLists };
  }
  const s = demoSchemas().find((d) => d.name === dataset);
  if (!s) throw new GovernanceError('unknown-dataset', `no schema for dataset '${dataset}': pass --schema <file> (demo registers: ${demoSchemas().map((d) => d.name).join(', ')})`);
  return { schema: s, codeLists };
}

/** A study query's column uses, planned on the demo registers' schemas (or `schemaPath` for its dataset); null when it cannot be planned here. */
function studyQueryUse(sql: string, schemaPath?: string): QueryUse | null {
  try {
    const parsed = parseQuery(sql);
    const own = schemaPath ? schemaFor('', schemaPath) : undefined;
    const tables = new Map(tablesOf(parsed).map((n): [string, { schema: DatasetSchema; codeLists: CodeList[] }] => {
      const { schema, codeLists } = own?.schema.name === n ? own : schemaFor(n);
      return [n, { schema, codeLists: [...codeLists.values()] }];
    }));
    const planned = planAnyQuery(parsed, tables);
    return planned.join ? queryUseOfJoinPlan(planned.join) : queryUseOfPlan(planned.plan);
  } catch {
    return null;
  }
}

const parsePair = (s: string, what: string): [string, string] => {
  const i = s.indexOf('=');
  if (i < 1) throw new GovernanceError('malformed', `${what} must look like <id>=<text>, got '${s}'`);
  return [s.slice(0, i).trim(), s.slice(i + 1).trim()];
};

export function registerGovernanceCommands(program: Command): void {
  // ------------------------------------------------------------------ identity
  const identity = program.command('identity').description('Ed25519 identities of researchers, custodians and nodes');
  identity
    .command('keygen')
    .description('create an Ed25519 key pair: <name>.ed25519.key.pem (mode 0600), <name>.ed25519.pub.pem, <name>.member.json')
    .requiredOption('--name <name>', 'member name (as in the consortium configuration)')
    .requiredOption('--role <role>', 'researcher, custodian, auditor, citizen, doctor or node')
    .option('--out <dir>', 'directory for the key files', '.')
    .option('--consortium <file>', 'also add the member to this consortium configuration (created if absent)')
    .option('--cluster <dir>', "also register the identity with a cluster's nodes: its identities.json (the nodes re-read it; no restart)")
    .option('--datasets <list>', 'custodian: comma-separated datasets it owns (with --consortium or --cluster)')
    .option('--force', 'replace existing key files')
    .action((o: { name: string; role: string; out: string; consortium?: string; cluster?: string; datasets?: string; force?: boolean }) => {
      const id = writeIdentity(resolve(o.out), o.name, o.role as MemberRole | 'node', { overwrite: !!o.force });
      console.log(`private key: ${id.keyPath}  (mode 0600; keep it secret)`);
      console.log(`public key:  ${id.publicKeyPath}`);
      console.log(`key id:      ${id.keyId}`);
      if (o.consortium) {
        const path = resolve(o.consortium);
        if (o.role === 'node') {
          const c = readConfigFile(path);
          c.nodes = [...(c.nodes ?? []).filter((n) => n.name !== o.name), { name: o.name, publicKey: id.publicKeyPem }];
          Consortium.fromConfig(c, dirname(path));
          writeJson(path, c);
        } else {
          const datasets = o.datasets ? o.datasets.split(',').map((d) => d.trim()).filter(Boolean) : undefined;
          addMember(path, { name: o.name, role: o.role as MemberRole, publicKey: id.publicKeyPem, ...(datasets ? { datasets } : {}) }, { replace: !!o.force });
        }
        console.log(`added ${o.role} '${o.name}' to ${path}`);
      }
      if (o.cluster && o.role !== 'node') {
        const datasets = o.datasets ? o.datasets.split(',').map((d) => d.trim()).filter(Boolean) : undefined;
        addIdentity(resolve(o.cluster), { name: o.name, role: o.role as MemberRole, publicKey: id.publicKeyPem, ...(datasets ? { datasets } : {}) }, { replace: !!o.force });
        console.log(`registered ${o.role} '${o.name}' in ${join(resolve(o.cluster), 'identities.json')}`);
      }
      if (!o.consortium && !o.cluster) console.log(`member entry for the consortium configuration (or a cluster's identities.json): ${id.memberPath}`);
    });

  // ------------------------------------------------------------------ consortium
  const consortium = program.command('consortium').description('the consortium configuration (members, keys, datasets, purposes)');
  consortium
    .command('init')
    .description('write a new consortium configuration with the default purposes (with --cluster: its identities and nodes as members)')
    .option('--out <file>', 'configuration file (default consortium.json; with --cluster, <cluster>/consortium.json)')
    .option('--name <name>', 'consortium name (default: mosaik, or the cluster\'s name)')
    .option('--consent-dataset <name>', 'dataset name of the consent register (its custodian is the member owning it, now or when added)', CONSENT_DATASET)
    .option('--cluster <dir>', 'take the members from the cluster\'s identities.json and the nodes\' attestation keys from its cluster.json')
    .action((o: { out?: string; name?: string; consentDataset: string; cluster?: string }) => {
      const cluster = o.cluster ? clusterConfig(o.cluster) : undefined;
      const out = o.out ?? (cluster ? join(cluster.dir, 'consortium.json') : 'consortium.json');
      if (existsSync(out)) throw new GovernanceError('malformed', `${out} exists`);
      const config = newConsortiumConfig({ name: o.name ?? cluster?.cluster ?? 'mosaik', consentDataset: o.consentDataset, ...(cluster ? { cluster } : {}) });
      Consortium.fromConfig(config, dirname(resolve(out)));
      writeJson(out, config);
      console.log(`wrote ${out}: purposes ${config.purposes.map((p) => `${p.code} (${p.consent})`).join(', ')}`);
      if (config.members.length) console.log(`  members from ${join(cluster!.dir, 'identities.json')}: ${config.members.map((m) => `${m.name} (${m.role})`).join(', ')}; nodes: ${(config.nodes ?? []).map((n) => n.name).join(', ')}`);
      console.log(`  consent register: dataset '${o.consentDataset}'${config.consent?.custodian ? ` of '${config.consent.custodian}'` : ` (in force once a custodian owning it is added: mosaik identity keygen --role custodian --datasets ${o.consentDataset} --consortium ${out})`}`);
      console.log(`add members with: mosaik identity keygen --name <n> --role <role> --consortium ${out}${cluster ? ` --cluster ${o.cluster}` : ''}`);
    });
  consortium
    .command('show')
    .description('validate and print a consortium configuration')
    .option('--consortium <file>', 'configuration file', 'consortium.json')
    .action((o: { consortium: string }) => {
      const c = Consortium.load(o.consortium);
      console.log(`consortium ${c.name}`);
      for (const p of c.purposes) console.log(`  purpose ${p.code.padEnd(22)} ${p.consent.padEnd(8)} ${p.label}`);
      for (const m of c.members.values()) console.log(`  ${m.role.padEnd(10)} ${m.name.padEnd(24)} ${m.keyId.slice(0, 16)}…${m.datasets.length ? `  datasets: ${m.datasets.join(', ')}` : ''}`);
      for (const n of c.nodes.values()) console.log(`  node       ${n.name.padEnd(24)} ${n.keyId.slice(0, 16)}…`);
      if (c.consent) console.log(`  consent register: dataset '${c.consent.dataset}' of '${c.consent.custodian}'`);
    });

  // ------------------------------------------------------------------ policy
  const policy = program.command('policy').description('custodian policies (column roles, purposes, smallest cell, differential privacy)');
  policy
    .command('sign')
    .description('sign a custodian policy (JSON: {format, custodian, issuedAt, datasets}) with the custodian key')
    .argument('<policy>', 'policy file')
    .requiredOption('--key <file>', 'the custodian\'s private key')
    .requiredOption('--consortium <file>', 'consortium configuration')
    .option('--out <file>', 'signed policy file (default: replace the input)')
    .action((file: string, o: { key: string; consortium: string; out?: string }) => {
      const c = Consortium.load(o.consortium);
      const raw = readJson(file, 'policy') as { policy?: unknown };
      const p = checkPolicyShape(raw && typeof raw === 'object' && 'policy' in raw ? raw.policy : raw);
      const signed = signPolicy(p, c, signerFrom(o.key, c));
      writeJson(o.out ?? file, signed);
      console.log(`signed the policy of '${p.custodian}' for ${p.datasets.map((d) => d.dataset).join(', ')} → ${o.out ?? file}`);
    });

  policy
    .command('template')
    .description('write a starting policy for a custodian\'s datasets from their schemas (every column with the roles its type suits); with --key, signed')
    .argument('<datasets...>', 'dataset names (demo registers, or the schemas of --schema, or datasets stored at --dir\'s nodes)')
    .requiredOption('--consortium <file>', 'consortium configuration (the datasets\' custodian, the purposes)')
    .option('--schema <file>', 'a dataset schema file (repeatable)', collect)
    .option('--dir <clusterDir>', 'read the schemas of the datasets stored at the nodes (node 0)')
    .option('--as <key>', 'with --dir: the identity that asks (default: the cluster\'s local custodian identity)')
    .option('--key <file>', 'the custodian\'s private key: sign the policy too')
    .option('--out <file>', 'policy file (default <custodian>.policy.json)')
    .action(async (datasets: string[], o: { consortium: string; schema?: string[]; dir?: string; as?: string; key?: string; out?: string }) => {
      const c = Consortium.load(o.consortium);
      const owners = [...new Set(datasets.map((d) => c.custodianOf(d) ?? ''))];
      if (owners.includes('')) throw new GovernanceError('unknown-dataset', `no custodian of consortium '${c.name}' owns ${datasets.filter((d) => !c.custodianOf(d)).join(', ')}`);
      if (owners.length > 1) throw new GovernanceError('malformed', `the datasets belong to several custodians (${owners.join(', ')}): one policy per custodian`);
      const files = (o.schema ?? []).map((f) => schemaFor('', f).schema);
      const remote = o.dir ? await fetchSchemas(clusterConfig(o.dir), datasets.filter((d) => !files.some((f) => f.name === d)), cliSigner({ dir: clusterConfig(o.dir).dir, ...(o.as ? { key: resolve(o.as) } : {}), role: 'custodian' })) : [];
      const schemas = datasets.map((d) => files.find((f) => f.name === d) ?? remote.find((f) => f.name === d) ?? schemaFor(d).schema);
      const p: CustodianPolicy = { format: POLICY_FORMAT, custodian: owners[0]!, issuedAt: new Date().toISOString(), datasets: schemas.map((sc) => policyTemplate(sc, c.purposes)) };
      const out = o.out ?? `${p.custodian}.policy.json`;
      writeJson(out, o.key ? signPolicy(p, c, signerFrom(o.key, c)) : { policy: p });
      console.log(`wrote ${o.key ? 'the signed' : 'a'} policy of '${p.custodian}' for ${datasets.join(', ')} → ${out}: purposes ${p.datasets[0]!.purposes.join(', ')}; smallest cell 5; study budgets up to epsilon 1; MIN and MAX not allowed`);
      for (const d of p.datasets) console.log(`  ${d.dataset}: ${Object.entries(d.columns).map(([col, r]) => `${col} (${r === 'forbidden' ? 'forbidden' : r.roles.join('/')})`).join(', ')}`);
      console.log(o.key ? `next: mosaik policy submit ${out} --dir <cluster>` : `edit it if you want, then: mosaik policy sign ${out} --key <custodian key> --consortium ${o.consortium}`);
    });

  policy
    .command('submit')
    .description('register signed policies at the nodes (node 0 has every node verify and store them; logged)')
    .argument('<files...>', 'signed policy files')
    .requiredOption('--dir <clusterDir>', 'cluster directory with cluster.json')
    .option('--as <key>', 'the identity that submits (default: the cluster\'s local custodian identity)')
    .action(async (files: string[], o: { dir: string; as?: string }) => {
      const config = clusterConfig(o.dir);
      const who = cliSigner({ dir: config.dir, ...(o.as ? { key: resolve(o.as) } : {}), role: 'custodian' });
      for (const f of files) {
        const doc = parseSignedPolicy(readJson(f, 'policy'));
        const r = await submitDocument(config, 'policy', doc, who);
        console.log(`${r.new ? 'registered' : 'already registered'}: ${r.registered}${r.ledgerSeq !== undefined ? ` (transparency log entry ${r.ledgerSeq})` : ''}`);
      }
    });

  // ------------------------------------------------------------------ study
  const study = program.command('study').description('studies: create, sign (researcher), approve (custodians), check (what a node checks)');
  study
    .command('create')
    .description('write a new, unsigned study document')
    .requiredOption('--out <file>', 'study file')
    .option('--spec <file>', 'the study as JSON (fields of the study document); the other options are then ignored')
    .option('--id <id>', 'study id')
    .option('--title <text>', 'title')
    .option('--researcher <name>', 'the researcher (consortium member)')
    .option('--purpose <code>', 'purpose code (declared by the consortium)')
    .option('--description <text>', 'description')
    .option('--dataset <name:columns>', 'a dataset and the columns read, e.g. contacts:diagnosis,region (repeatable)', collect)
    .option('--query <id=sql>', 'an allowed query (repeatable)', collect)
    .option('--statistic <id=call>', 'an allowed statistic (repeatable)', collect)
    .option('--valid-from <time>', 'start of validity (ISO 8601)', new Date().toISOString().slice(0, 10))
    .option('--valid-until <time>', 'end of validity, exclusive (ISO 8601)')
    .option('--min-cell-size <n>', 'smallest released cell asked for')
    .option('--epsilon <e>', 'total differential-privacy budget of the study')
    .option('--delta <d>', 'total delta of the study')
    .option('--mechanism <m>', 'laplace or gaussian', 'laplace')
    .option('--query-epsilon <e>', 'epsilon of each query run (with --epsilon)')
    .option('--query-delta <d>', 'delta of each query run (gaussian)')
    .action((o: Record<string, string | string[] | undefined>) => {
      let n: NewStudy;
      if (o.spec) n = readJson(o.spec as string, 'study spec') as NewStudy;
      else {
        const need = (k: string) => {
          if (!o[k]) throw new GovernanceError('malformed', `study create: --${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} is required (or pass --spec)`);
          return o[k] as string;
        };
        const datasets = ((o.dataset as string[] | undefined) ?? []).map((d) => {
          const [name, cols] = d.split(':');
          return { name: name!.trim(), columns: (cols ?? '').split(',').map((c) => c.trim()).filter(Boolean) };
        });
        const qe = o.queryEpsilon ? Number(o.queryEpsilon) : undefined;
        const qd = o.queryDelta ? Number(o.queryDelta) : undefined;
        const extra = { ...(qe !== undefined ? { epsilon: qe } : {}), ...(qd !== undefined ? { delta: qd } : {}) };
        const queries: StudyQuery[] = [
          ...((o.query as string[] | undefined) ?? []).map((q) => {
            const [id, sql] = parsePair(q, '--query');
            return { id, sql, ...extra };
          }),
          ...((o.statistic as string[] | undefined) ?? []).map((q) => {
            const [id, statistic] = parsePair(q, '--statistic');
            return { id, statistic, ...extra };
          }),
        ];
        n = {
          id: need('id'),
          title: need('title'),
          researcher: need('researcher'),
          purpose: need('purpose'),
          ...(o.description ? { description: o.description as string } : {}),
          datasets,
          queries,
          validFrom: o.validFrom as string,
          validUntil: need('validUntil'),
          ...(o.minCellSize ? { minCellSize: Number(o.minCellSize) } : {}),
          ...(o.epsilon ? { privacy: { epsilon: Number(o.epsilon), ...(o.delta ? { delta: Number(o.delta) } : {}), mechanism: o.mechanism as 'laplace' | 'gaussian' } } : {}),
        };
      }
      const s = createStudy(n);
      writeJson(o.out as string, { study: s });
      console.log(`wrote study '${s.id}' (unsigned) → ${o.out}; hash ${studyHash(s)}`);
      console.log(`next: mosaik study sign ${o.out} --key <researcher key>`);
    });

  study
    .command('sign')
    .description('the researcher signs the study')
    .argument('<study>', 'study file')
    .requiredOption('--key <file>', 'the researcher\'s private key')
    .option('--consortium <file>', 'consortium configuration (to find the signer and verify the result)')
    .option('--as <name>', 'signer name (default: from the consortium or the key file name)')
    .option('--out <file>', 'signed study file (default: replace the input)')
    .action((file: string, o: { key: string; consortium?: string; as?: string; out?: string }) => {
      const c = o.consortium ? Consortium.load(o.consortium) : null;
      const ss = parseSignedStudy(readJson(file, 'study'));
      const signed = signStudy(ss.study, signerFrom(o.key, c, o.as));
      if (c) verifyStudySignature(signed, c);
      writeJson(o.out ?? file, signed);
      console.log(`signed study '${ss.study.id}' as '${signed.signature!.signer}' → ${o.out ?? file}; hash ${studyHash(ss.study)}`);
    });

  study
    .command('approve')
    .description('a custodian approves (or rejects) this exact version of a signed study')
    .argument('<study>', 'signed study file')
    .requiredOption('--key <file>', 'the custodian\'s private key')
    .requiredOption('--consortium <file>', 'consortium configuration')
    .requiredOption('--out <file>', 'approval file')
    .option('--reject', 'reject instead of approving')
    .option('--reason <text>', 'reason (for a rejection)')
    .option('--terms <text>', 'licence terms attached to the approval (plain text, signed with it; the transparency log records their SHA-256)')
    .option('--policy <file>', 'your signed policy (repeatable): warn where it will refuse the study at run time (the nodes warn too, at submission)', collect)
    .option('--schema <file>', 'with --policy: schema of a dataset that is not a demo register, to plan the queries')
    .action((file: string, o: { key: string; consortium: string; out: string; reject?: boolean; reason?: string; terms?: string; policy?: string[]; schema?: string }) => {
      const c = Consortium.load(o.consortium);
      const ss = parseSignedStudy(readJson(file, 'study'));
      const ap = approveStudy(ss, c, signerFrom(o.key, c), { decision: o.reject ? 'reject' : 'approve', ...(o.reason ? { reason: o.reason } : {}), ...(o.terms !== undefined ? { terms: o.terms } : {}) });
      writeJson(o.out, ap);
      console.log(`${o.reject ? 'rejected' : 'approved'} study '${ss.study.id}' (hash ${ap.approval.studyHash.slice(0, 16)}…) as custodian '${ap.approval.custodian}' for ${ap.approval.datasets.join(', ')}${ap.approval.terms ? ' with licence terms' : ''} → ${o.out}`);
      if (o.policy && !o.reject) {
        const policies = o.policy.map((f) => parseSignedPolicy(readJson(f, 'policy')));
        const uses = new Map(ss.study.queries.flatMap((q) => (q.sql === undefined ? [] : [[q.id, studyQueryUse(q.sql, o.schema)] as const])));
        const warnings = approvalWarnings({ study: ss.study, custodian: ap.approval.custodian, policies, consortium: c, now: new Date(), uses });
        for (const w of warnings) console.log(`  WARNING: ${w}`);
        if (!warnings.length) console.log('  your policy allows every query of the study');
      }
    });

  study
    .command('check')
    .description('run the checks a node runs before it takes part: signatures, approvals, validity; with a query also policies and column uses')
    .argument('<study>', 'signed study file')
    .requiredOption('--consortium <file>', 'consortium configuration')
    .option('--approvals <file>', 'approval file (repeatable)', collect)
    .option('--policies <file>', 'signed policy file (repeatable)', collect)
    .option('--query-id <id>', 'check this query of the study (planned against its dataset\'s schema)')
    .option('--sql <sql>', 'check this SQL (must be one of the study\'s queries)')
    .option('--schema <file>', 'dataset schema for planning (default: the demo registers)')
    .option('--min-cell-size <n>', 'smallest cell the job asks for')
    .option('--at <time>', 'check at this time (default: now)')
    .option('--json', 'print the result as JSON')
    .action((file: string, o: { consortium: string; approvals?: string[]; policies?: string[]; queryId?: string; sql?: string; schema?: string; minCellSize?: string; at?: string; json?: boolean }) => {
      const c = Consortium.load(o.consortium);
      const ss = parseSignedStudy(readJson(file, 'study'));
      const approvals: Approval[] = (o.approvals ?? []).map((f) => parseApproval(readJson(f, 'approval')));
      const now = o.at ?? new Date().toISOString();
      if (!o.queryId && !o.sql) {
        const chk = checkStudy(ss, approvals, c, now);
        if (o.json) console.log(JSON.stringify({ ok: true, study: chk.study.id, hash: chk.hash, custodians: chk.custodians }, null, 2));
        else {
          console.log(`study '${chk.study.id}' OK at ${now}: signed by '${chk.study.researcher}', purpose '${chk.study.purpose}', valid ${chk.study.validFrom} – ${chk.study.validUntil}`);
          for (const cu of chk.custodians) console.log(`  approved by '${cu.name}' (${cu.datasets.join(', ')}) at ${cu.approvedAt}`);
        }
        return;
      }
      let sql = o.sql;
      if (o.queryId) {
        const q = ss.study.queries.find((x) => x.id === o.queryId);
        if (!q) throw new GovernanceError('query-not-allowed', `study '${ss.study.id}' has no query '${o.queryId}' (it has ${ss.study.queries.map((x) => x.id).join(', ')})`);
        if (q.sql === undefined) throw new GovernanceError('malformed', `query '${q.id}' is a statistic; the CLI checks SQL queries only`);
        sql = q.sql;
      }
      const table = /\bfrom\s+([a-z][a-z0-9_]*)/i.exec(sql!)?.[1]?.toLowerCase();
      if (!table) throw new GovernanceError('malformed', 'cannot find the FROM table of the query');
      const { schema, codeLists } = schemaFor(table, o.schema);
      const plan = planSql(sql!, schema, codeLists);
      const policies: SignedPolicy[] = (o.policies ?? []).map((f) => parseSignedPolicy(readJson(f, 'policy')));
      const a = authorize({ study: ss, approvals, consortium: c, policies, now, query: queryUseOfPlan(plan, o.minCellSize ? Number(o.minCellSize) : undefined) });
      if (o.json) console.log(JSON.stringify({ ok: true, authorization: a }, null, 2));
      else {
        console.log(`query '${a.query.id}' of study '${a.study}' authorized at ${a.checkedAt}`);
        console.log(`  reads ${a.read.join(', ')}; uses ${a.uses.map((u) => `${u.dataset}.${u.column} (${u.role}${u.aggregate ? ` ${u.aggregate}` : ''})`).join(', ') || 'no column'}`);
        console.log(`  smallest cell ${a.minCellSize}; consent filter: ${a.consent.purpose} (${a.consent.default})${a.dp ? `; noise ${a.dp.mechanism}, epsilon ${a.dp.epsilon}` : ''}`);
      }
    });

  study
    .command('submit')
    .description('register signed studies and custodians\' approvals at the nodes (node 0 has every node verify and store them; logged)')
    .argument('<files...>', 'signed study and approval files (studies first)')
    .requiredOption('--dir <clusterDir>', 'cluster directory with cluster.json')
    .option('--as <key>', 'the identity that submits (default: the cluster\'s local researcher identity; every document is checked by its own signature)')
    .action(async (files: string[], o: { dir: string; as?: string }) => {
      const config = clusterConfig(o.dir);
      const who = cliSigner({ dir: config.dir, ...(o.as ? { key: resolve(o.as) } : {}), role: 'researcher' });
      const docs = files.map((f) => ({ f, doc: readJson(f, 'document') })).map((x) => ({ ...x, kind: documentKind(x.doc) }));
      // Studies before the approvals that refer to them.
      for (const { kind, doc } of [...docs.filter((d) => d.kind === 'study'), ...docs.filter((d) => d.kind !== 'study')]) {
        const r = await submitDocument(config, kind, doc, who);
        console.log(`${r.new ? 'registered' : 'already registered'}: ${r.registered}${r.ledgerSeq !== undefined ? ` (transparency log entry ${r.ledgerSeq})` : ''}`);
        for (const w of r.warnings) console.log(`  WARNING: ${w}`);
      }
    });

  study
    .command('list')
    .description('the studies registered at the nodes, with each custodian\'s decision')
    .requiredOption('--dir <clusterDir>', 'cluster directory with cluster.json')
    .option('--as <key>', 'the identity that asks (default: the cluster\'s local researcher identity)')
    .option('--json', 'print JSON')
    .action(async (o: { dir: string; as?: string; json?: boolean }) => {
      const config = clusterConfig(o.dir);
      const list = await listStudies(config, cliSigner({ dir: config.dir, ...(o.as ? { key: resolve(o.as) } : {}), role: 'researcher' }));
      if (o.json) return void console.log(JSON.stringify(list, null, 2));
      if (!list.length) console.log('no study registered');
      for (const s of list) {
        console.log(`${s.id.padEnd(24)} ${s.hash.slice(0, 12)}  ${s.purpose.padEnd(20)} ${s.period.padEnd(13)} ${s.approved ? 'approved' : 'not approved'}  ${s.title}`);
        console.log(`${' '.repeat(26)}by ${s.researcher}; ${s.validFrom} – ${s.validUntil}; ${s.approvals.map((a) => `${a.custodian}: ${a.decision}`).join(', ')}`);
      }
    });

  // ------------------------------------------------------------------ consent
  const consent = program.command('consent').description('the consent register: citizens\' choices per research purpose');
  consent
    .command('set')
    .description('record citizens\' consent changes in the register file (one with --person, many with --from); with --dir the consent custodian publishes them as one register version')
    .option('--person <id>', 'the citizen\'s person id (CPR-like number)')
    .option('--purpose <code>', 'purpose code')
    .option('--granted', 'consent given')
    .option('--withdrawn', 'consent withdrawn')
    .option('--from <file>', 'many changes at once: CSV person_id,purpose,granted[,time] (granted: granted/withdrawn or true/false; time: Unix s or ISO 8601, default --at)')
    .option('--receipts <file>', 'with --from: where to write each change\'s receipt (commitment and salt, for the citizen; default <register>.receipts.csv)')
    .requiredOption('--consortium <file>', 'consortium configuration (declared purposes)')
    .option('--register <file>', 'the consent register CSV (created if absent)', 'consent.csv')
    .option('--at <time>', 'time of the change (default: now)')
    .option('--dir <clusterDir>', 'also publish: share and upload the new register version to the nodes and post the signed update (the consent custodian)')
    .option('--key <file>', 'with --dir: the consent custodian\'s Ed25519 private key (signs the upload of the register version and the update)')
    .option('--version <version>', 'with --dir: version of the register (default consent-<UTC time>; must start with a letter)')
    .action(async (o: { person?: string; purpose?: string; granted?: boolean; withdrawn?: boolean; from?: string; receipts?: string; consortium: string; register: string; at?: string; dir?: string; key?: string; version?: string }) => {
      if (!!o.from === !!(o.person || o.purpose)) throw new GovernanceError('consent', 'consent set: pass --person <id> --purpose <code> (--granted | --withdrawn), or --from <file> for many changes');
      if (!o.from && (!o.person || !o.purpose)) throw new GovernanceError('consent', 'consent set: pass --person <id> and --purpose <code>');
      if (!o.from && !!o.granted === !!o.withdrawn) throw new GovernanceError('consent', 'consent set: pass exactly one of --granted and --withdrawn');
      if (o.dir && !o.key) throw new GovernanceError('consent', 'consent set --dir: pass --key <consent custodian key> to sign the update');
      const c = Consortium.load(o.consortium);
      const changes = o.from ? readConsentChanges(o.from, c.purposes, o.at ?? new Date()) : [consentChange(c, o.person!, o.purpose!, !!o.granted, o.at ?? new Date())];
      const events = [...readConsentFile(o.register), ...changes];
      const one = changes.length === 1 && !o.from ? changes[0]! : undefined;
      const what = one ? `${one.granted ? 'granted' : 'withdrew'} consent for ${c.purpose(one.purpose)!.label} ('${one.purpose}', default ${c.purpose(one.purpose)!.consent}) at ${new Date(one.time * 1000).toISOString()}` : `${changes.length} consent changes (${changes.filter((e) => e.granted).length} granted, ${changes.filter((e) => !e.granted).length} withdrawn) for ${new Set(changes.map((e) => e.person)).size} persons`;
      let receipts: { commitment: string; salt: string }[];
      if (o.dir) {
        // Publish first: the register file changes only once the nodes have the new version.
        const pub = await publishConsent({ config: clusterConfig(o.dir), consortium: c, events, changes, signer: signerFrom(o.key!, c), ...(o.version ? { version: o.version } : {}) });
        writeConsentFile(o.register, events);
        receipts = pub.receipts;
        console.log(`${what}; register ${c.consent!.dataset} version ${pub.version} (${pub.rows} rows) at every node${pub.ledgerSeq !== undefined ? `, transparency log entry ${pub.ledgerSeq}` : ''}`);
      } else {
        const rows = writeConsentFile(o.register, events);
        receipts = changes.map((e) => {
          const r = consentReceipt(e);
          return { commitment: r.body.commitment, salt: r.salt };
        });
        console.log(`${what}; register ${o.register}: ${rows.length} rows`);
      }
      if (one) console.log(`receipt (keep it to find your change in the transparency log): commitment ${receipts[0]!.commitment} salt ${receipts[0]!.salt}`);
      else {
        const file = o.receipts ?? `${o.register.replace(/\.csv$/, '')}.receipts.csv`;
        writeFileSync(file, ['person_id,purpose,granted,time,commitment,salt', ...changes.map((e, i) => `${e.person},${e.purpose},${e.granted},${e.time},${receipts[i]!.commitment},${receipts[i]!.salt}`)].join('\n') + '\n', { mode: 0o600 });
        console.log(`receipts (one per change, for each citizen to find their change in the transparency log): ${file}`);
      }
      if (!o.dir) console.log(`next, the consent custodian publishes it: mosaik consent set … --dir <cluster> --key <custodian key> (or mosaik ingest --schema <consent.schema.json> --codelists <purpose.codelists.json> --sign-key <custodian key> ${o.register})`);
    });

  consent
    .command('studies')
    .description('the studies in force whose purpose this citizen\'s consent covers')
    .requiredOption('--person <id>', 'the citizen\'s person id')
    .requiredOption('--consortium <file>', 'consortium configuration')
    .option('--register <file>', 'the consent register CSV', 'consent.csv')
    .option('--studies <path>', 'study files or directories of them (repeatable)', collect)
    .option('--dir <clusterDir>', 'the studies registered at the nodes (instead of, or besides, --studies)')
    .option('--as <key>', 'with --dir: the identity that asks (default: the cluster\'s local researcher identity)')
    .option('--at <time>', 'as of this time (default: now)')
    .option('--all', 'also list the studies the consent does not cover')
    .option('--json', 'print JSON')
    .action(async (o: { person: string; consortium: string; register: string; studies?: string[]; dir?: string; as?: string; at?: string; all?: boolean; json?: boolean }) => {
      if (!o.studies && !o.dir) throw new GovernanceError('malformed', 'consent studies: pass --studies <files> or --dir <cluster>');
      const c = Consortium.load(o.consortium);
      const person = consentChange(c, o.person, c.purposes[0]!.code, true).person; // parses and validates the id
      const events = readConsentFile(o.register);
      const all = [...loadStudyFiles(o.studies ?? []), ...(o.dir ? await fetchStudies(clusterConfig(o.dir), cliSigner({ dir: clusterConfig(o.dir).dir, ...(o.as ? { key: resolve(o.as) } : {}), role: 'researcher' })) : [])];
      const list = studiesForCitizen(c, events, person, all, o.at ?? new Date(), (s) => verifyStudySignature(s, c));
      const shown = o.all ? list : list.filter((s) => s.covered);
      if (o.json) {
        console.log(JSON.stringify(shown, null, 2));
        return;
      }
      if (!shown.length) console.log(`no study in force ${o.all ? '' : 'that your consent covers '}(person ${o.person})`);
      for (const s of shown) {
        const why = s.basis === 'default' ? `default for this purpose (${c.purpose(s.purpose)!.consent})` : `${s.basis} ${new Date(s.since! * 1000).toISOString()}`;
        console.log(`${s.covered ? 'covered    ' : 'not covered'}  ${s.study.padEnd(24)} ${s.purposeLabel}  (until ${s.validUntil}; ${why})  ${s.title}`);
      }
    });

  consent
    .command('schema')
    .description('write the consent register\'s dataset schema and purpose code list, for `mosaik ingest`')
    .requiredOption('--consortium <file>', 'consortium configuration')
    .option('--custodian <name>', 'the consent custodian (default: the consortium\'s "consent" entry)')
    .option('--out <dir>', 'output directory', '.')
    .action((o: { consortium: string; custodian?: string; out: string }) => {
      const c = Consortium.load(o.consortium);
      const custodian = o.custodian ?? c.consent?.custodian;
      if (!custodian) throw new GovernanceError('malformed', `consortium '${c.name}' names no consent register ("consent": {"dataset", "custodian"}); pass --custodian`);
      mkdirSync(o.out, { recursive: true });
      const schemaPath = join(o.out, 'consent.schema.json'), listsPath = join(o.out, 'purpose.codelists.json');
      writeJson(schemaPath, consentSchema(custodian, c.consent?.dataset ?? CONSENT_DATASET));
      writeJson(listsPath, [purposeCodeList(c.purposes)]);
      console.log(`wrote ${schemaPath} and ${listsPath}`);
    });

  consent
    .command('generate')
    .description('synthetic consent events for the demo population (same person ids as `mosaik demo`)')
    .requiredOption('--consortium <file>', 'consortium configuration (purposes and their defaults)')
    .option('--citizens <n>', 'demo population size', '100000')
    .option('--seed <n>', 'seed of the demo registers (person ids)', '1')
    .option('--consent-seed <n>', 'seed of the consent events', '1')
    .option('--out <file>', 'register CSV', 'consent.csv')
    .action((o: { consortium: string; citizens: string; seed: string; consentSeed: string; out: string }) => {
      const c = Consortium.load(o.consortium);
      const ids = demoPersonIds({ citizens: Number(o.citizens), seed: Number(o.seed) });
      const events = generateConsentEvents(ids, c.purposes, { seed: Number(o.consentSeed) });
      const rows = writeConsentFile(o.out, events);
      console.log(`wrote ${rows.length} consent events for ${ids.length} persons → ${o.out}`);
    });

  // ------------------------------------------------------------------ usage
  program
    .command('usage')
    .description('usage of each custodian\'s data per study, as recorded by a node (licensing)')
    .option('--dir <nodeDir>', 'the node\'s directory (holds governance/usage.json)')
    .option('--cluster <clusterDir>', 'ask a node over its API instead (cluster directory with cluster.json)')
    .option('--node <i>', 'with --cluster: only this node (0, 1 or 2); default: all three, cross-checked')
    .option('--custodian <name>', 'only this custodian')
    .option('--study <id>', 'only this study')
    .option('--as <key>', 'with --cluster: the identity that asks (a custodian sees its own usage, an auditor everyone\'s; default: the cluster\'s local auditor identity)')
    .option('--json', 'print JSON')
    .action(async (o: { dir?: string; cluster?: string; node?: string; custodian?: string; study?: string; as?: string; json?: boolean }) => {
      if (!o.dir === !o.cluster) throw new GovernanceError('malformed', 'usage: pass --dir <nodeDir> or --cluster <clusterDir>');
      const filter = { ...(o.custodian ? { custodian: o.custodian } : {}), ...(o.study ? { study: o.study } : {}) };
      let s: UsageSummary[];
      let differences: string[] = [];
      if (o.cluster) {
        const config = clusterConfig(o.cluster);
        const who = cliSigner({ dir: config.dir, ...(o.as ? { key: resolve(o.as) } : {}), role: 'auditor' });
        if (o.node !== undefined) s = (await fetchUsage(config, Number(o.node) as 0 | 1 | 2, filter, who)).summary;
        else ({ summary: s, differences } = await fetchUsageAll(config, filter, who)); // every node records usage on its own
      } else s = UsageLog.open(resolve(o.dir!)).summary(filter);
      if (differences.length) process.exitCode = 1;
      if (o.json) return void console.log(JSON.stringify(o.cluster && o.node === undefined ? { summary: s, nodesAgree: !differences.length, differences } : s, null, 2));
      if (o.cluster && o.node === undefined) console.log(differences.length ? `THE NODES DISAGREE (node 0's record below):\n${differences.map((d) => `  ${d}`).join('\n')}` : 'the three nodes agree');
      if (!s.length) console.log('no usage recorded');
      for (const u of s) console.log(`${u.custodian.padEnd(24)} ${u.study.padEnd(24)} ${String(u.queries).padStart(6)} queries ${String(u.rowsTouched).padStart(12)} rows  ε ${u.epsilon}  ${u.datasets.join(', ')}  ${u.firstAt} – ${u.lastAt}`);
    });
}

