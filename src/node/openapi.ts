// OpenAPI 3.1 description of a compute node's HTTPS API (src/node/api.ts), served at
// GET /v1/openapi.json. Transport: TLS 1.3 with the node's self-signed certificate; clients pin
// its SHA-256 fingerprint from cluster.json (no CA). Errors are {"error": "<message>"}.

const err = { description: 'error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
const json = (schema: object, description = 'ok') => ({ description, content: { 'application/json': { schema } } });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

export function openApiDocument(): object {
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
            'Versions are immutable: the same content again → 200, different content → 409.',
          parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string' } }, { name: 'version', in: 'path', required: true, schema: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$' } }],
          requestBody: { required: true, content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } },
          responses: { 201: json(ref('Stored'), 'stored'), 200: json(ref('Stored'), 'identical content already stored'), 400: err, 409: err },
        },
      },
      '/v1/queries': {
        post: {
          summary: 'Submit a query (node 0, the scheduler, only)',
          description: 'Validated here (SQL planned against the stored schema: 400 before any MPC), forwarded to nodes 1 and 2, which validate it again. Jobs run one at a time in node 0\'s order.',
          requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['sql', 'dataset'], properties: { sql: { type: 'string' }, dataset: { type: 'string' }, version: { type: 'string', description: 'default: latest at node 0' }, minCellSize: { type: 'integer', description: "cells counting fewer rows are suppressed; not below a node's policy (default 5)" } } } } } },
          responses: { 202: json({ type: 'object', properties: { job: { type: 'string' }, seq: { type: 'integer' }, dataset: { type: 'string' }, version: { type: 'string' } } }, 'accepted'), 400: err, 404: err, 409: err, 503: err },
        },
      },
      '/v1/jobs/{id}': {
        get: {
          summary: "A job's status at this node and, when done, this node's result share pair",
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
          responses: { 200: json(ref('Job')), 404: err },
        },
      },
      '/v1/internal/jobs': {
        post: { summary: 'Node 0 forwards a job (mutual TLS: client certificate must be node 0\'s pinned one)', responses: { 201: json({ type: 'object' }), 400: err, 403: err, 409: err } },
      },
      '/v1/internal/jobs/{id}/cancel': {
        post: { summary: 'Node 0 cancels a queued job (mutual TLS as above)', responses: { 200: json({ type: 'object', properties: { cancelled: { type: 'boolean' } } }), 403: err } },
      },
    },
    components: {
      schemas: {
        Error: { type: 'object', properties: { error: { type: 'string' } }, required: ['error'] },
        Stored: { type: 'object', properties: { name: { type: 'string' }, version: { type: 'string' }, rows: { type: 'integer' } } },
        Job: {
          type: 'object',
          properties: {
            id: { type: 'string' },
            status: { type: 'string', enum: ['queued', 'running', 'done', 'failed'] },
            progress: { type: 'string' },
            error: { type: 'string' },
            seq: { type: 'integer' },
            dataset: { type: 'string' },
            version: { type: 'string' },
            sql: { type: 'string' },
            result: {
              type: 'object',
              description:
                "Public metadata plus this node's replicated share pair (x_i, x_{i+1}) of the visible output aggregates. Lane t = outAggs index × |visibleCells| + visible index. " +
                'The requester combines nodes i and i+1: x = a_i + b_i + b_{i+1} (mod 2^64), checking b_i = a_{i+1} for every i.',
              properties: {
                party: { type: 'integer' },
                columns: { type: 'array', items: { type: 'string' } },
                datasetRows: { type: 'integer' },
                cells: { type: 'integer' },
                suppressed: { type: 'array', items: { type: 'object' }, description: 'group-key values of cells suppressed by the small-cell rule' },
                suppressedCount: { type: 'integer' },
                havingHidden: { type: 'integer' },
                minCellSize: { type: 'integer' },
                visibleCells: { type: 'array', items: { type: 'integer' } },
                outAggs: { type: 'array', items: { type: 'integer' } },
                shares: { type: 'object', properties: { a: { type: 'array', items: { type: 'string', description: 'u64 decimal' } }, b: { type: 'array', items: { type: 'string' } } } },
              },
            },
          },
        },
      },
    },
  };
}
