// OpenAPI 3.1 description of a compute node's HTTPS API (src/node/api.ts), served at
// GET /v1/openapi.json. Transport: TLS 1.3 with the node's self-signed certificate; clients pin
// its SHA-256 fingerprint from cluster.json (no CA). Errors are {"error": "<message>"}.

import { ROUTE_ACCESS } from './access.js';
import { MAX_JOB_WAIT_MS } from './jobs.js';
import { DATASET_NAME_RE, VERSION_ID_RE } from '../ingest/schema.js';
import { citizenPaths } from './citizen-openapi.js';

const err = { description: 'error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
const json = (schema: object, description = 'ok') => ({ description, content: { 'application/json': { schema } } });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const hex = { type: 'string', pattern: '^[0-9a-f]{64}$' };
const qint = (name: string, description: string, required = false) => ({ name, in: 'query', required, description, schema: { type: 'integer', minimum: 0 } });

/** A governance document submission: registered at every node or refused; logged once. */
const docPost = (summary: string, schema: string, kind: string) => ({
  summary,
  description: `Node 0 verifies it, hands it to nodes 1 and 2 (each verifies it itself against its own consortium configuration), stores it and logs a '${kind}' entry in the transparency log. Submitting it again changes nothing (200). Other nodes answer 409; un-governed nodes 403.`,
  requestBody: { required: true, content: { 'application/json': { schema: ref(schema) } } },
  responses: { 201: json({ type: 'object', properties: { registered: { type: 'string' }, new: { type: 'boolean' }, ledgerSeq: { type: 'integer' }, warnings: { type: 'array', items: { type: 'string' }, description: "an approval: what the custodian's own policies will refuse at run time" } } }, 'registered at every node'), 200: json({ type: 'object' }, 'already registered'), 400: err, 403: err, 409: err, 503: err },
});

/** The document with each operation's access rule (src/node/access.ts ROUTE_ACCESS) as security and x-mosaik-access. */
export function openApiDocument(): object {
  const doc = baseDocument() as { paths: Record<string, Record<string, Record<string, unknown>>> };
  for (const [key, rule] of Object.entries(ROUTE_ACCESS)) {
    const [method, route] = key.split(' ') as [string, string];
    const op = doc.paths[route.replace(/:([A-Za-z]+)/g, '{$1}')]?.[method.toLowerCase()];
    if (!op) continue;
    op['x-mosaik-access'] = rule.kind === 'identity' ? { roles: [...rule.roles] } : rule.kind;
    op.security = rule.kind === 'identity' ? [{ signedRequest: [] }] : rule.kind === 'node' ? [{ nodeCertificate: [] }] : [];
    if (rule.kind === 'identity') (op.responses as Record<string, unknown>)[401] ??= err;
    if (rule.kind !== 'public') (op.responses as Record<string, unknown>)[403] ??= err;
  }
  return doc;
}

function baseDocument(): object {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Mosaik compute node',
      version: '1',
      description:
        'One of three MPC compute nodes. Stores secret shares (encrypted at rest, versioned) and runs queries as 3-party MPC; ' +
        'results stay secret-shared: each node returns only its share pair and the requester combines the three.',
    },
    paths: {
      ...citizenPaths(),
      '/v1/health': { get: { summary: 'Node identity', responses: { 200: json({ type: 'object', properties: { node: { type: 'string' }, party: { type: 'integer', enum: [0, 1, 2] }, cluster: { type: 'string' } } }) } } },
      '/v1/openapi.json': { get: { summary: 'This document', responses: { 200: json({ type: 'object' }) } } },
      '/v1/datasets': {
        get: {
          summary: 'Datasets stored here, latest version of each',
          responses: { 200: json({ type: 'array', items: { type: 'object', properties: { name: { type: 'string' }, custodian: { type: 'string' }, version: { type: 'string' }, rows: { type: 'integer' }, columns: { type: 'array', items: { type: 'string' } } } } }) },
        },
      },
      '/v1/datasets/{name}': {
        get: {
          summary: 'Schema, code lists and versions of a dataset (public metadata)',
          parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string' } }, { name: 'version', in: 'query', required: false, schema: { type: 'string' }, description: 'default: latest' }],
          responses: {
            200: json({ type: 'object', properties: { name: { type: 'string' }, custodian: { type: 'string' }, schema: { type: 'object', description: 'DatasetSchema (src/ingest/schema.ts)' }, codeLists: { type: 'array', items: { type: 'object' } }, version: { type: 'string' }, rows: { type: 'integer' }, versions: { type: 'array', items: { type: 'object', properties: { version: { type: 'string' }, rows: { type: 'integer' }, createdAt: { type: 'string' } } } } } }),
            404: err,
          },
        },
      },
      '/v1/datasets/{name}/versions/{version}': {
        put: {
          summary: "Upload this node's shares of a dataset version (custodian)",
          description:
            'Body: [u32 LE header length][header JSON {schema, codeLists, rows, columns, party}] then, for each column in header order, ' +
            "this node's share half a (rows × u64 LE) followed by half b. party must be this node's id, schema.name the dataset in the URL, " +
            'columns exactly the schema columns in order, lengths exact. Stored atomically and encrypted; on any error nothing is stored. ' +
            'Versions are immutable: the same content again → 200, different content → 409. ' +
            "GOVERNED nodes also require header.signature: the custodian's Ed25519 signature over {format, cluster, dataset, version, party, custodian, rows, columns, schemaSha256, codeListsSha256, sharesSha256, time} " +
            '(signer = schema.custodian, a custodian of the consortium owning the dataset; time within ±15 min; sharesSha256 = SHA-256 of the share bytes that follow); otherwise 403 and nothing is stored.',
          parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string', pattern: DATASET_NAME_RE.source } }, { name: 'version', in: 'path', required: true, schema: { type: 'string', pattern: VERSION_ID_RE.source } }],
          requestBody: { required: true, content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } },
          responses: { 201: json(ref('Stored'), 'stored'), 200: json(ref('Stored'), 'identical content already stored'), 400: err, 403: err, 409: err },
        },
      },
      '/v1/datasets/{name}/versions/{version}/sealed': {
        put: {
          summary: "Upload this node's shares sealed to its upload key (custodian, from a browser through a relay)",
          description:
            'Body: "MKSU", the byte 0x01, the 32-byte HPKE encapsulated key, then the ciphertext of exactly the body PUT /v1/datasets/{name}/versions/{version} takes ' +
            "(RFC 9180 base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM; info 'mosaik-upload-v1'; additional data 'mosaik-sealed-upload/1\\n<cluster>/<node name>/<party>/<name>/<version>'), " +
            "sealed to this node's uploadKey in cluster.json. A body that does not open (sealed for another node, dataset or version, or altered) → 400 and nothing stored; " +
            'opened, it is stored exactly as that route stores it (same checks, custodian signature, atomicity, answers). 413 above 256 MiB; 503 when this node has no upload key.',
          parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string', pattern: DATASET_NAME_RE.source } }, { name: 'version', in: 'path', required: true, schema: { type: 'string', pattern: VERSION_ID_RE.source } }],
          requestBody: { required: true, content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } },
          responses: { 201: json(ref('Stored'), 'stored'), 200: json(ref('Stored'), 'identical content already stored'), 400: err, 403: err, 409: err, 413: err, 503: err },
        },
      },
      '/v1/queries': {
        post: {
          summary: 'Submit a query (node 0, the scheduler, only)',
          description:
            "The body carries the researcher's signed request (src/governance/study.ts QueryRequest, format mosaik-query-request/2): ad-hoc SQL on un-governed clusters, a registered study's query on governed ones. " +
            'The request covers everything the researcher chooses: the SQL or study query, the register versions (omitted: the latest at every node, which each node checks), a smallest cell (may only raise the nodes\' policy), epsilon (ad hoc), ' +
            'and resultKey, the X25519 key every node seals its part of the result to. The nodes choose the rest themselves, each on its own, and compare: the consent register in force, their policies, the output protection. ' +
            'Validated here (SQL planned against the stored schema: 400 before any MPC), then offered to nodes 1 and 2, each of which admits it on its own (request signature, freshness, nonce, the job is what the request says, ' +
            'governed: a registered study, every owning custodian\'s registered approval, validity, policies, consent; output protection and the privacy budgets of the researcher and the study). ' +
            'If any node refuses, the job is failed at every node with its reason ("refused: …" in GET /v1/jobs/{id}) and the answer is 403 with each node\'s reason.',
          requestBody: {
            required: true,
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['request'],
                  properties: {
                    request: {
                      type: 'object',
                      description:
                        '{request: {format: "mosaik-query-request/2", cluster, researcher, nonce, time, resultKey, sql? | statistic? | study?, studyHash?, query?, versions?, minCellSize?, epsilon?}, signature}: signed by the researcher who sends this call (Ed25519, kind query-request); fresh (±15 min), used once. ' +
                        "statistic (ad hoc) is a statistics call as canonical JSON (src/stats/service.ts statisticText): {fn: t.test | cor | lm | chisq.test | oddsratio | quantile | median | hist | survfit | survdiff | glm | coxph, data: the analysis table (SQL without aggregation), formula: an R formula, family?: binomial | poisson, bin?, breaks?, probs?}; " +
                        "a governed study lists it as a query {id, statistic}. The job's result is then the statistic's released lanes (src/stats: what each function reveals), combined and decoded by the requester into R's table.",
                    },
                  },
                },
              },
            },
          },
          responses: {
            202: json({ type: 'object', properties: { job: { type: 'string' }, seq: { type: 'integer' }, dataset: { type: 'string' }, version: { type: 'string' }, versions: { type: 'object', additionalProperties: { type: 'string' } }, minCellSize: { type: 'integer' }, protection: ref('Protection') } }, 'accepted'),
            400: err, 404: err, 409: err, 503: err,
            403: json({ type: 'object', properties: { error: { type: 'string' }, job: { type: 'string' }, refusals: { type: 'array', items: { type: 'object', properties: { party: { type: 'integer' }, node: { type: 'string' }, error: { type: 'string' } } } } } }, 'refused by at least one node (each one\'s reason), or ad-hoc SQL on a governed cluster'),
          },
        },
      },
      '/v1/whoami': {
        get: { summary: 'The signed caller as this node knows it: name, role, key id, datasets (a custodian\'s)', responses: { 200: json({ type: 'object', properties: { node: { type: 'string' }, name: { type: 'string' }, role: { type: 'string' }, keyId: { type: 'string' }, datasets: { type: 'array', items: { type: 'string' } } } }) } },
      },
      '/v1/privacy': {
        get: {
          summary: "This node's output protection (differential privacy: default and largest epsilon per run, each researcher's total) and, for a researcher, what they have spent and have left at this node",
          responses: { 200: json({ type: 'object', properties: { node: { type: 'string' }, protection: { type: 'string', enum: ['differential-privacy', 'none'] }, defaultEpsilon: { type: 'number' }, maxEpsilon: { type: 'number' }, researcherEpsilon: { type: 'number' }, spent: { type: 'object' }, remaining: { type: 'object' }, runs: { type: 'integer' } } }) },
        },
      },
      '/v1/governance': {
        get: { summary: "This node's mode (governed or not) and its consortium configuration (public: purposes, members and their key ids, consent register)", responses: { 200: json({ type: 'object', properties: { governed: { type: 'boolean' }, node: { type: 'string' }, consortium: { type: 'string' }, purposes: { type: 'array', items: { type: 'object' } }, members: { type: 'array', items: { type: 'object' } }, consent: { type: 'object' } } }) } },
      },
      '/v1/studies': {
        get: { summary: 'Registered studies: public metadata, validity, each owning custodian\'s decision', responses: { 200: json({ type: 'array', items: ref('StudyListing') }), 403: err } },
        post: docPost('Register a researcher\'s signed study (node 0)', 'SignedStudy', 'study-submitted'),
      },
      '/v1/studies/{id}': {
        get: { summary: 'Every registered version of a study: listing, signed document and approvals', parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }], responses: { 200: json({ type: 'object', properties: { id: { type: 'string' }, versions: { type: 'array', items: { type: 'object' } } } }), 404: err } },
      },
      '/v1/studies/{id}/budget': {
        get: { summary: "The study's privacy budget at this node: total, spent, each noisy run's charge, what remains", parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }], responses: { 200: json({ type: 'object' }), 403: err } },
      },
      '/v1/policies': {
        get: { summary: "The custodians' signed policies this node holds (purposes, smallest cell, each column's roles, privacy limits), oldest first per custodian", responses: { 200: json({ type: 'array', items: ref('SignedDocument') }), 403: err } },
        post: docPost("Register a custodian's signed policy (node 0)", 'SignedDocument', 'policy-published'),
      },
      '/v1/approvals': { post: docPost("Register a custodian's signed approval or rejection of a registered study version (node 0)", 'SignedDocument', 'study-approved') },
      '/v1/consent/updates': {
        post: docPost(
          "The consent custodian's signed notice {update: {format: 'mosaik-consent-update/1', custodian, dataset, version, rows, changes: [{purpose, granted, commitment}], time}, signature} of a register version already uploaded to every node (node 0). Citizens' changes reach the nodes only this way: as shares of the new version and as commitments; never a person id in the clear",
          'SignedDocument',
          'consent-changed',
        ),
      },
      '/v1/usage': {
        get: {
          summary: 'Usage of each custodian\'s data per study recorded at this node (jobs, rows read, epsilon spent, first and last use)',
          parameters: [{ name: 'custodian', in: 'query', required: false, schema: { type: 'string' } }, { name: 'study', in: 'query', required: false, schema: { type: 'string' } }, { name: 'records', in: 'query', required: false, schema: { type: 'string' }, description: 'non-empty: also the records' }],
          responses: { 200: json({ type: 'object', properties: { node: { type: 'string' }, summary: { type: 'array', items: { type: 'object', properties: { custodian: { type: 'string' }, study: { type: 'string' }, queries: { type: 'integer' }, rowsTouched: { type: 'integer' }, datasets: { type: 'array', items: { type: 'string' } }, epsilon: { type: 'number' }, firstAt: { type: 'string' }, lastAt: { type: 'string' } } } } } }), 403: err },
        },
      },
      '/v1/internal/governance': {
        post: { summary: 'Node 0 hands a document {kind: study | approval | policy | consent-update, doc} to nodes 1 and 2, each of which verifies and stores it itself (mutual TLS: node 0\'s certificate)', responses: { 200: json({ type: 'object' }), 201: json({ type: 'object' }), 400: err, 403: err } },
      },
      '/v1/jobs/{id}': {
        get: {
          summary: "A job's status at this node and, when done, this node's part of the result sealed to the requester's key (the requester only: 403 for anyone else)",
          parameters: [
            { name: 'id', in: 'path', required: true, schema: { type: 'string' } },
            { name: 'wait', in: 'query', required: false, description: `Long poll: answer at the job's next change of status, result or release, at most this many milliseconds later (0–${MAX_JOB_WAIT_MS}); a job that has ended (failed, or done with its part readable) is answered at once`, schema: { type: 'integer', minimum: 0, maximum: MAX_JOB_WAIT_MS } },
          ],
          responses: { 200: json(ref('Job')), 400: err, 403: err, 404: err },
        },
      },
      '/v1/internal/jobs': {
        post: { summary: 'Node 0 forwards a job (mutual TLS: client certificate must be node 0\'s pinned one)', responses: { 201: json({ type: 'object' }), 400: err, 403: err, 409: err } },
      },
      '/v1/internal/jobs/{id}/cancel': {
        post: { summary: 'Node 0 cancels a queued job (mutual TLS as above)', responses: { 200: json({ type: 'object', properties: { cancelled: { type: 'boolean' } } }), 403: err } },
      },
      '/v1/internal/jobs/{id}/start': {
        post: { summary: 'Node 0 starts a queued job at this node (node 0 starts every job at all three nodes, fairly between requesters, bounded by memory and cores; mutual TLS as above)', responses: { 200: json({ type: 'object', properties: { job: { type: 'string' }, status: { type: 'string', enum: ['started', 'running', 'finished'] } } }), 403: err, 404: err } },
      },
      '/v1/ledger/head': {
        get: {
          summary: 'Latest co-signed tree head of the transparency log',
          description: 'Signed by all three nodes (Ed25519 keys pinned in cluster.json) over "mosaik-tree-head-v1\\n" + canonical JSON of {cluster, rootHash, size, timestamp}; rootHash is the RFC 9162 Merkle root of the first `size` entries.',
          responses: { 200: json(ref('SignedHead')), 404: err },
        },
      },
      '/v1/ledger/heads': {
        get: {
          summary: 'Co-signed tree heads stored by this node, oldest first',
          parameters: [qint('from', 'first index (default 0)'), qint('to', 'end index, exclusive (default: from + 5000, at most the count)')],
          responses: { 200: json({ type: 'object', properties: { count: { type: 'integer' }, from: { type: 'integer' }, to: { type: 'integer' }, heads: { type: 'array', items: ref('SignedHead') } } }), 400: err },
        },
      },
      '/v1/ledger/entries': {
        get: {
          summary: "Entries [from, to) of this node's replica of the transparency log",
          description: 'At most 5000 per call. The Merkle leaf of an entry is SHA-256(0x00 || canonical JSON of the entry) (RFC 9162 §2.1.1; keys sorted, no whitespace).',
          parameters: [qint('from', 'first seq (default 0)'), qint('to', 'end seq, exclusive (default: from + 5000, at most the size)')],
          responses: { 200: json({ type: 'object', properties: { size: { type: 'integer' }, from: { type: 'integer' }, to: { type: 'integer' }, entries: { type: 'array', items: ref('LedgerEntry') } } }), 400: err },
        },
      },
      '/v1/ledger/proof/inclusion': {
        get: {
          summary: 'Inclusion proof (audit path, RFC 9162 §2.1.3) of entry seq in the tree of `size` entries',
          parameters: [qint('seq', 'the entry', true), qint('size', 'tree size (default: the latest co-signed head)')],
          responses: { 200: json({ type: 'object', properties: { seq: { type: 'integer' }, size: { type: 'integer' }, leafHash: hex, rootHash: hex, path: { type: 'array', items: hex } } }), 400: err },
        },
      },
      '/v1/ledger/proof/consistency': {
        get: {
          summary: 'Consistency proof (RFC 9162 §2.1.4) between the trees of `from` and `to` entries',
          parameters: [qint('from', 'first tree size', true), qint('to', 'second tree size (default: the latest co-signed head)')],
          responses: { 200: json({ type: 'object', properties: { from: { type: 'integer' }, to: { type: 'integer' }, firstRoot: hex, secondRoot: hex, path: { type: 'array', items: hex } } }), 400: err },
        },
      },
      '/v1/ledger/status': {
        get: {
          summary: "This node's replica: size, heads, latest head, and any damage it found when it (re)read its files",
          responses: { 200: json({ type: 'object', properties: { node: { type: 'string' }, party: { type: 'integer' }, size: { type: 'integer' }, heads: { type: 'integer' }, latest: ref('SignedHead'), damaged: { type: 'boolean' }, problems: { type: 'array', items: { type: 'string' } }, warnings: { type: 'array', items: { type: 'string' } } } }) },
        },
      },
      '/v1/internal/ledger/entries': {
        post: { summary: 'Node 0 sends entries to append; the node checks each (kind validators) and refuses gaps (409 with its size) and forks (409)', responses: { 200: json({ type: 'object', properties: { size: { type: 'integer' }, rootHash: hex } }), 400: err, 403: err, 409: err, 503: err } },
      },
      '/v1/internal/ledger/sign': {
        post: { summary: "Node 0 proposes a tree head; the node signs it only if the root equals its own replica's at that size", responses: { 200: json({ type: 'object', properties: { signature: ref('HeadSignature') } }), 403: err, 409: err } },
      },
      '/v1/internal/ledger/heads': {
        post: { summary: 'Node 0 hands over a co-signed head; the node checks all three signatures and its own root, then stores it', responses: { 200: json({ type: 'object', properties: { stored: { type: 'boolean' } } }), 400: err, 403: err } },
      },
      '/v1/internal/ledger/submit': {
        post: { summary: 'Node 1 or 2 asks node 0 to log an event {kind, body, time?, requireCosigned?} (mutual TLS: their pinned certificates only)', responses: { 200: json({ type: 'object', properties: { entry: ref('LedgerEntry'), cosigned: { type: 'boolean' } } }), 400: err, 403: err, 409: err } },
      },
      '/v1/internal/jobs/{id}/commitment': {
        get: { summary: "Node 0 asks for the node's status of a job and, when done, its share commitment and result-metadata hash", responses: { 200: json({ type: 'object', properties: { status: { type: 'string' }, error: { type: 'string' }, resultMeta: hex, shareCommitment: hex } }), 403: err, 404: err } },
      },
    },
    components: {
      schemas: {
        Error: { type: 'object', properties: { error: { type: 'string' } }, required: ['error'] },
        LedgerEntry: {
          type: 'object',
          required: ['seq', 'time', 'kind', 'body'],
          properties: {
            seq: { type: 'integer', description: 'position in the log from 0 (the Merkle leaf index)' },
            time: { type: 'string', format: 'date-time' },
            kind: { type: 'string', enum: ['study-submitted', 'study-approved', 'policy-published', 'consent-changed', 'job-run', 'result-released', 'job-refused', 'record-accessed'] },
            body: { type: 'object', description: 'public data only: counts, public metadata, SHA-256 commitments (src/ledger/entry.ts)' },
          },
        },
        HeadSignature: { type: 'object', properties: { party: { type: 'integer', enum: [0, 1, 2] }, signature: { type: 'string', description: 'Ed25519, base64' } } },
        SignedHead: {
          type: 'object',
          properties: { cluster: { type: 'string' }, size: { type: 'integer' }, rootHash: hex, timestamp: { type: 'string', format: 'date-time' }, signatures: { type: 'array', items: ref('HeadSignature') } },
        },
        Stored: { type: 'object', properties: { name: { type: 'string' }, version: { type: 'string' }, rows: { type: 'integer' } } },
        SignedDocument: { type: 'object', description: 'a signed governance document {<kind>: body, signature: {signer, keyId, alg: "ed25519", sig}} (src/governance)' },
        SignedStudy: { type: 'object', required: ['study', 'signature'], properties: { study: { type: 'object', description: "mosaik-study/1: id, title, researcher, purpose, datasets [{name, columns}], queries [{id, sql | statistic, epsilon?}], validFrom, validUntil, minCellSize?, privacy?, createdAt" }, signature: { type: 'object' } } },
        StudyListing: {
          type: 'object',
          properties: {
            id: { type: 'string' }, hash: hex, title: { type: 'string' }, researcher: { type: 'string' }, purpose: { type: 'string' }, datasets: { type: 'array', items: { type: 'string' } }, queries: { type: 'array', items: { type: 'string' } },
            validFrom: { type: 'string' }, validUntil: { type: 'string' }, period: { type: 'string', enum: ['not yet valid', 'valid', 'expired'] }, approved: { type: 'boolean' },
            approvals: { type: 'array', items: { type: 'object', properties: { custodian: { type: 'string' }, decision: { type: 'string', enum: ['approve', 'reject', 'pending'] }, time: { type: 'string' } } } },
            privacy: { type: 'object', properties: { epsilon: { type: 'number' }, delta: { type: 'number' } } },
          },
        },
        Job: {
          type: 'object',
          properties: {
            id: { type: 'string' },
            status: { type: 'string', enum: ['queued', 'running', 'done', 'failed'] },
            progress: { type: 'string' },
            queue: { type: 'object', description: 'a queued job: its place in the order node 0 starts jobs in (fair between requesters), how many are queued and running', properties: { position: { type: 'integer' }, queued: { type: 'integer' }, running: { type: 'integer' } } },
            error: { type: 'string' },
            seq: { type: 'integer' },
            dataset: { type: 'string' },
            version: { type: 'string' },
            sql: { type: 'string' },
            statistic: { type: 'string', description: "a statistics job: the call (canonical JSON; sql is then its analysis table's)" },
            released: { type: 'integer', description: "seq of the job's result-released entry in this node's transparency log; the result is served only once it is set" },
            study: { type: 'string', description: 'governed jobs: the study' },
            query: { type: 'string', description: "governed jobs: the study's query id" },
            protection: ref('Protection'),
            request: { type: 'object', description: "the requester's signed request" },
            sealed: {
              type: 'object',
              description:
                "This node's part of the result, sealed to the request's resultKey with HPKE (RFC 9180: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM; info 'mosaik-result-v1', additional data '<cluster>/<job>/<party>'): " +
                'enc and ct in base64url. Opened, it is the JobResult (src/node/jobs.ts): public metadata (columns, cells, suppressed cells, visibleCells, outAggs, minCellSize, protection, the run\'s privacy cost), ' +
                "this node's replicated share pair (x_i, x_{i+1}) of the visible output aggregates (lane t = outAggs index × |visibleCells| + visible index; x = a_i + b_i + b_{i+1} mod 2^64, with b_i = a_{i+1} for every i), " +
                'the share commitment and its salt (src/ledger/commit.ts) and, for governed jobs, the authorization and its attestation.',
              properties: { alg: { type: 'string', enum: ['hpke-x25519-sha256-aes256gcm'] }, enc: { type: 'string' }, ct: { type: 'string' } },
            },
          },
        },
        Protection: {
          type: 'object',
          description: "a job's output protection: {kind: 'dp', mechanism: 'laplace' | 'gaussian', epsilon, delta?} (noise drawn inside MPC on every released aggregate) or {kind: 'none'} (nodes started with --exact-results)",
          properties: { kind: { type: 'string', enum: ['dp', 'none'] }, mechanism: { type: 'string' }, epsilon: { type: 'number' }, delta: { type: 'number' } },
        },
      },
      securitySchemes: {
        signedRequest: {
          type: 'http',
          scheme: 'Mosaik-Ed25519',
          description:
            'Authorization: Mosaik-Ed25519 <base64url JSON {signer, keyId, time, nonce, bodySha256, sig}>; sig = Ed25519 over "mosaik:http-request:v1\\n" + canonical JSON {method, path, audience: "<cluster>/<node name>", signer, keyId, time, nonce, bodySha256} (src/governance/request-auth.ts). ' +
            "The signer must be a known identity (the consortium's members, the cluster's identities.json) with a role the route allows (x-mosaik-access). Streamed uploads sign bodySha256 'unsigned'.",
        },
        nodeCertificate: { type: 'mutualTLS', description: "node-to-node routes: the client certificate must be a cluster node's pinned certificate" },
      },
    },
  };
}
