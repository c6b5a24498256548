// What the routes of a node's API are given (src/node/api.ts builds it, the route modules read it):
// the cluster, this node's TLS key, and its services. Routes layer (see src/node/http.ts).
import type { PartyId } from '../net/channel.js';
import type { ClusterConfig } from '../net/keys.js';
import type { NodeAccess } from './access.js';
import type { NodeGovernance } from './governance.js';
import type { JobRunner } from './jobs.js';
import type { NodeLedger } from './ledger.js';
import type { NodeUploadKey } from './sealed-upload.js';
import type { ShareStore } from './store.js';
import type { CitizenRegistry } from './citizens.js';
import type { RecordService } from './records.js';
import type { ProService } from './pro.js';

export interface ApiContext {
  config: ClusterConfig;
  me: PartyId;
  keyPem: string;
  certPem: string;
  store: ShareStore;
  runner: JobRunner;
  log: (msg: string) => void;
  /** The transparency log; with it, results are served only after their release is logged. */
  ledger?: NodeLedger;
  /** Governance state (governed mode when it holds a consortium configuration). */
  governance: NodeGovernance;
  /** Who may call what (src/node/access.ts). */
  access: NodeAccess;
  /** This node's X25519 upload key for sealed uploads from browsers (src/node/sealed-upload.ts). */
  uploadKey?: NodeUploadKey;
  /** A connection silent for this long is closed (default 60 000 ms): a stalled upload cannot hold it or its temporary files. */
  idleTimeoutMs?: number;
  /** Citizens' keys and documents (issue 15: src/node/citizens.ts); governed nodes. */
  citizens?: CitizenRegistry;
  /** Doctors' reads of a patient's record (issue 15: src/node/records.ts). */
  records?: RecordService;
  /** Citizens' questionnaires (issue 15: src/node/pro.ts). */
  pro?: ProService;
}
