// One MPC session between the three nodes outside the query queue (issue 15: a record read, a
// questionnaire's append): its own TLS channel through the node's MPC listener, named
// '<cluster>/<channel>' so that it cannot be mixed with another job's, Party.setup, the protocol,
// then an orderly close. A failure aborts the channel, so the peers fail at once with the reason.
import { Party } from '../mpc/party.js';
import type { PartyId } from '../net/channel.js';
import type { Heartbeats } from '../net/heartbeat.js';
import type { ClusterConfig } from '../net/keys.js';
import { connectTls, type MpcListener } from '../net/tls.js';

export interface SessionOptions {
  config: ClusterConfig;
  me: PartyId;
  keyPem: string;
  certPem: string;
  listener?: MpcListener;
  heartbeats?: Heartbeats;
  recvTimeoutMs?: number;
  connectTimeoutMs?: number;
}

/** Runs `fn` on a fresh channel `channel` (e.g. 'record/<id>'); resolves with its value and the connect time. */
export async function mpcSession<T>(o: SessionOptions, channel: string, fn: (p: Party) => Promise<T>): Promise<{ value: T; connectMs: number }> {
  const t0 = performance.now();
  const net = await connectTls({
    config: { ...o.config, cluster: `${o.config.cluster}/${channel}` },
    me: o.me,
    key: o.keyPem,
    cert: o.certPem,
    recvTimeoutMs: o.recvTimeoutMs ?? 120_000,
    connectTimeoutMs: o.connectTimeoutMs ?? 30_000,
    ...(o.listener ? { listener: o.listener } : {}),
    ...(o.heartbeats ? { heartbeats: o.heartbeats } : {}),
  });
  const connectMs = performance.now() - t0;
  try {
    const value = await fn(await Party.setup(net));
    await net.close();
    return { value, connectMs };
  } catch (e) {
    net.abort(e instanceof Error ? e.message : String(e));
    await Promise.race([net.whenClosed(), new Promise((ok) => setTimeout(ok, 1000).unref())]);
    throw e;
  }
}
