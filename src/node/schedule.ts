// Node 0 coordinates the three nodes (services layer, see src/node/http.ts): it offers each job
// and each governance document to nodes 1 and 2, and goes on only when all three took it.
//
// Jobs (POST /v1/queries): node 0 builds the job from the researcher's signed request
// (src/node/jobs.ts create), admits it itself, and offers it to nodes 1 and 2 even when it refused
// itself, so that every node decides on its own and records its decision; if any node refused,
// the job is called off everywhere and the answer (403) lists each node's reason. Once all three
// have queued it, node 0 logs its job-run entry in the transparency log (co-signed in the background).
//
// Documents (POST /v1/studies, /v1/approvals, /v1/policies, /v1/consent/updates): node 0 verifies
// the document, hands it to nodes 1 and 2, each of which verifies it on its own and stores it; then
// node 0 stores it and logs it (src/node/governance.ts, src/node/ledger.ts).
import type { PartyId } from '../net/channel.js';
import type { ClusterConfig } from '../net/keys.js';
import { HttpError, JobError } from './errors.js';
import { GovernanceError } from '../governance/errors.js';
import { checkRequestShape, type QueryRequest } from '../governance/study.js';
import type { Identity } from '../governance/identities.js';
import type { DocKind, NodeGovernance } from './governance.js';
import { apiRequest, type ApiResponse } from './http.js';
import type { JobRunner, JobSpec } from './jobs.js';
import type { NodeLedger, Refusal } from './ledger.js';

export const PEERS: PartyId[] = [1, 2];

/** What node 0 needs to coordinate (the API's context has it all). */
export interface ScheduleContext {
  config: ClusterConfig;
  keyPem: string;
  certPem: string;
  runner: JobRunner;
  governance: NodeGovernance;
  ledger?: NodeLedger;
  log: (msg: string) => void;
}

/** Node 0 → nodes 1 and 2: the same node-to-node call to both, each answer or failure. */
export function toPeers<T>(ctx: ScheduleContext, path: string, body: unknown, timeoutMs: number): Promise<PromiseSettledResult<ApiResponse<T>>[]> {
  return Promise.allSettled(PEERS.map((p) => apiRequest<T>(ctx.config, p, path, { body, key: ctx.keyPem, cert: ctx.certPem, timeoutMs })));
}

/** A peer's answer that is not `ok`: why (unreachable, or its error). */
export function peerProblem(ctx: Pick<ScheduleContext, 'config'>, i: number, a: PromiseSettledResult<ApiResponse<{ error?: string }>>, ok: number[], refused: string): string | null {
  const n = ctx.config.nodes[PEERS[i]!];
  if (a.status === 'rejected') return `node ${n.id} (${n.name}) is unreachable: ${(a.reason as Error).message}`;
  if (ok.includes(a.value.status)) return null;
  return `node ${n.id} (${n.name}) ${refused}: ${a.value.body?.error ?? `HTTP ${a.value.status}`}`;
}

/** Nothing runs or registers that cannot be logged. */
function assertLoggable(ctx: ScheduleContext): void {
  try {
    ctx.ledger?.assertWritable();
  } catch (e) {
    throw new JobError((e as Error).message, 503);
  }
}

/**
 * Node 0: the job for a researcher's signed request (JobRunner.create). A request node 0 refuses
 * outright (ad-hoc SQL on a governed cluster, a study not registered, a query not in the study, a
 * request in another's name) is logged as a refused attempt, as the other nodes' refusals are.
 */
export async function createJob(ctx: ScheduleContext, body: { request?: unknown; sql?: unknown }, caller: Identity): Promise<JobSpec> {
  try {
    return ctx.runner.create(body, caller);
  } catch (e) {
    const code = e instanceof GovernanceError ? e.code : e instanceof HttpError && typeof e.details?.code === 'string' ? e.details.code : undefined;
    if (code && ctx.ledger) {
      let request: QueryRequest | undefined;
      try {
        request = checkRequestShape(body.request);
      } catch {
        /* not a request: nothing to log */
      }
      if (request) await ctx.ledger.logRefusal({ request, refusals: [{ party: 0, code, error: (e as Error).message }] });
    }
    throw e;
  }
}

/** Offers a job node 0 created to every node; returns it queued, or throws with every node's reason. */
export async function scheduleJob(ctx: ScheduleContext, spec: JobSpec): Promise<JobSpec> {
  const { runner, config } = ctx;
  assertLoggable(ctx);
  const mine = runner.preadmit(spec);
  const answers = await toPeers<{ error?: string; refused?: boolean; code?: string }>(ctx, '/v1/internal/jobs', spec, 10_000);
  const refusals: (Refusal & { node: string })[] = mine ? [{ party: 0, node: config.nodes[0].name, ...mine }] : [];
  const problems: string[] = [];
  answers.forEach((a, i) => {
    const n = config.nodes[PEERS[i]!];
    if (a.status === 'fulfilled' && a.value.status === 403 && a.value.body?.refused) refusals.push({ party: n.id, node: n.name, code: String(a.value.body.code ?? 'refused'), error: String(a.value.body.error).replace(/^refused: /, '') });
    else {
      const p = peerProblem(ctx, i, a, [201], 'refused the job');
      if (p) problems.push(p);
    }
  });
  if (!refusals.length && !problems.length) {
    runner.enqueue(spec);
    const g = spec.governance;
    ctx.log(`job ${spec.id} scheduled for '${spec.request.request.researcher}'${g ? ` (study '${g.study.study.id}' query '${spec.request.request.query}')` : ''}: ${spec.sql}`);
    // The entry is appended to node 0's replica now (synchronously); replicating and co-signing it
    // go on in the background, so that submissions, which node 0 takes one at a time, do not wait
    // for the other nodes' signatures (20 researchers at once waited 30 s and more for that).
    void ctx.ledger?.logJobRun(spec).catch((e: Error) => ctx.log(`WARNING: job ${spec.id} not logged as run: ${e.message}`));
    return spec;
  }
  const why = [...refusals.map((r) => `node ${r.party} (${r.node}): ${r.error}`), ...problems].join('; ');
  runner.refuse(spec, mine ? `refused: ${mine.error}` : `cancelled: ${why}`);
  await Promise.allSettled(
    answers.map((a, i) =>
      a.status === 'fulfilled' && a.value.status === 201
        ? apiRequest(config, PEERS[i]!, `/v1/internal/jobs/${spec.id}/cancel`, { body: { reason: why }, key: ctx.keyPem, cert: ctx.certPem, timeoutMs: 5000 })
        : Promise.resolve(),
    ),
  );
  ctx.log(`job ${spec.id} not scheduled: ${why}`);
  // A refused attempt is logged (who tried what, which nodes refused and why), not only printed.
  if (refusals.length) await ctx.ledger?.logRefusal({ job: spec.id, request: spec.request, sql: spec.sql, refusals });
  const status = refusals.length ? 403 : answers.some((a) => a.status === 'rejected') ? 503 : 409;
  throw new JobError(refusals.length ? `job ${spec.id} refused: ${why}` : `job not scheduled: ${why}`, status, { job: spec.id, refusals });
}

/**
 * Node 0 starts a job (src/node/jobs.ts, fair order, bounded by memory and cores): nodes 1 and 2
 * start it when told, so the three run the same jobs at the same time and none waits on a peer
 * that is busy with another job. Throws when a node did not take the start (its job then fails
 * at the channel setup, at every node).
 */
export async function startJobOnPeers(ctx: Pick<ScheduleContext, 'config' | 'keyPem' | 'certPem'>, id: string): Promise<void> {
  const answers = await Promise.allSettled(PEERS.map((p) => apiRequest<{ error?: string }>(ctx.config, p, `/v1/internal/jobs/${id}/start`, { body: {}, key: ctx.keyPem, cert: ctx.certPem, timeoutMs: 10_000 })));
  const problems = answers.map((a, i) => peerProblem(ctx, i, a, [200], 'did not start it')).filter((p): p is string => p !== null);
  if (problems.length) throw new JobError(`job ${id}: ${problems.join('; ')}`, 503);
}

/** Node 0: verify a governance document, hand it to nodes 1 and 2, store, log. Returns the summary and whether it is new. */
export async function distributeDocument(ctx: ScheduleContext, kind: DocKind, doc: unknown): Promise<{ summary: string; isNew: boolean; seq?: number }> {
  const gov = ctx.governance;
  assertLoggable(ctx);
  gov.check(kind, doc); // refuse here first, with this node's reason
  const answers = await toPeers<{ error?: string }>(ctx, '/v1/internal/governance', { kind, doc }, 10_000);
  const problems = answers.map((a, i) => peerProblem(ctx, i, a, [200, 201], 'refused it')).filter((p): p is string => p !== null);
  if (problems.length) throw new JobError(`${kind} not registered: ${problems.join('; ')}`, answers.some((a) => a.status === 'rejected') ? 503 : 409);
  const r = gov.accept(kind, doc);
  if (!r.isNew || !ctx.ledger) return { summary: r.summary, isNew: r.isNew };
  try {
    const { entry } = await ctx.ledger.append(r.ledgerKind, r.ledgerBody);
    return { summary: r.summary, isNew: true, seq: entry.seq };
  } catch (e) {
    ctx.log(`WARNING: ${r.summary} registered but not logged: ${(e as Error).message}`);
    return { summary: r.summary, isNew: true };
  }
}
