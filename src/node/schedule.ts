// Scheduling a job (node 0, POST /v1/queries): node 0 builds the job from the researcher's signed
// request (src/node/jobs.ts create), admits it itself, and offers it to nodes 1 and 2 even when it
// refused itself, so that every node decides on its own and records its decision; if any node
// refused, the job is called off everywhere and the answer (403) lists each node's reason. Once all
// three have queued it, node 0 logs its job-run entry in the transparency log.
import type { PartyId } from '../net/channel.js';
import { apiRequest, type ApiContext } from './api.js';
import { JobError, type JobSpec } from './jobs.js';

const PEERS: PartyId[] = [1, 2];

/** Offers a job node 0 created to every node; returns it queued, or throws with every node's reason. */
export async function scheduleJob(ctx: ApiContext, spec: JobSpec): Promise<JobSpec> {
  const { runner, config } = ctx;
  const mine = runner.preadmit(spec);
  const answers = await Promise.allSettled(PEERS.map((p) => apiRequest<{ error?: string; refused?: boolean }>(config, p, '/v1/internal/jobs', { body: spec, key: ctx.keyPem, cert: ctx.certPem, timeoutMs: 10_000 })));
  const refusals: { party: PartyId; node: string; error: string }[] = mine ? [{ party: 0, node: config.nodes[0].name, error: mine }] : [];
  const problems: string[] = [];
  answers.forEach((a, i) => {
    const n = config.nodes[PEERS[i]!];
    if (a.status === 'rejected') problems.push(`node ${n.id} (${n.name}) is unreachable: ${(a.reason as Error).message}`);
    else if (a.value.status === 403 && a.value.body?.refused) refusals.push({ party: n.id, node: n.name, error: String(a.value.body.error).replace(/^refused: /, '') });
    else if (a.value.status !== 201) problems.push(`node ${n.id} (${n.name}) refused the job: ${a.value.body?.error ?? `HTTP ${a.value.status}`}`);
  });
  if (!refusals.length && !problems.length) {
    runner.enqueue(spec);
    const g = spec.governance;
    ctx.log(`job ${spec.id} scheduled for '${spec.request.request.researcher}'${g ? ` (study '${g.study.study.id}' query '${spec.request.request.query}')` : ''}: ${spec.sql}`);
    await ctx.ledger?.logJobRun(spec).catch((e: Error) => ctx.log(`WARNING: job ${spec.id} not logged as run: ${e.message}`));
    return spec;
  }
  const why = [...refusals.map((r) => `node ${r.party} (${r.node}): ${r.error}`), ...problems].join('; ');
  runner.refuse(spec, mine ? `refused: ${mine}` : `cancelled: ${why}`);
  await Promise.allSettled(
    answers.map((a, i) =>
      a.status === 'fulfilled' && a.value.status === 201
        ? apiRequest(config, PEERS[i]!, `/v1/internal/jobs/${spec.id}/cancel`, { body: { reason: why }, key: ctx.keyPem, cert: ctx.certPem, timeoutMs: 5000 })
        : Promise.resolve(),
    ),
  );
  ctx.log(`job ${spec.id} not scheduled: ${why}`);
  const status = refusals.length ? 403 : answers.some((a) => a.status === 'rejected') ? 503 : 409;
  throw new JobError(refusals.length ? `job ${spec.id} refused: ${why}` : `job not scheduled: ${why}`, status, { job: spec.id, refusals });
}
