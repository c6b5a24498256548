// The OpenAPI paths of the citizens' and doctors' routes (issue 15), merged into the node's document
// (src/node/openapi.ts); their access rules are in src/node/access.ts like every route's.
const err = { description: 'error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
const json = (schema: object, description = 'ok') => ({ description, content: { 'application/json': { schema } } });
const obj = (description: string) => ({ type: 'object', description });
const body = (description: string) => ({ required: true, content: { 'application/json': { schema: obj(description) } } });
const registered = { 201: json({ type: 'object', properties: { registered: { type: 'string' }, new: { type: 'boolean' } } }, 'registered at every node'), 200: json({ type: 'object' }, 'already registered'), 400: err, 403: err, 409: err, 503: err };

export function citizenPaths(): Record<string, object> {
  return {
    '/v1/citizens': {
      post: {
        summary: 'Register a citizen key (the custodian of citizen_keys): its pseudonymous name and ref at every node; the key→person link is the secret-shared dataset citizen_keys',
        requestBody: body('{key: {format: "mosaik-citizen-key/1", custodian, name, ref, publicKey, registeredAt}, signature} (src/governance/citizens.ts)'),
        responses: registered,
      },
    },
    '/v1/grants': {
      post: {
        summary: "A citizen registers a signed grant of access to their own record for a named doctor, with the salt its accesses are logged under (only the grant's citizen)",
        requestBody: body('{grant: {grant: {format: "mosaik-grant/1", id, consortium, citizen, citizenKeyId, doctor, doctorKeyId, validFrom, validUntil, createdAt, saltSha256}, signature}, salt} (src/governance/grant-format.ts)'),
        responses: registered,
      },
      get: { summary: "The caller's grants: a citizen's own (with salts and revocations), a doctor's received (without salts)", responses: { 200: json({ type: 'array', items: obj('{grant, salt?, revoked?}') }) } },
    },
    '/v1/grants/revocations': {
      post: { summary: "A citizen revokes one of their grants (signed); every node refuses the grant from the revocation's time on", requestBody: body('{revocation: {format: "mosaik-grant-revocation/1", grant, citizen, time}, signature}'), responses: registered },
    },
    '/v1/records': {
      post: {
        summary: "A doctor asks for a patient's record under the citizen's grant (node 0). Every node checks the request and the grant on its own; the person id travels as one sealed share per node; inside MPC the nodes check it is the grant's citizen and select the person's rows obliviously",
        requestBody: body('{request: {request: {format: "mosaik-record-request/1", cluster, doctor, grant, registers, resultKey, person: [sealed x3], time, nonce}, signature}} (src/governance/record-format.ts)'),
        responses: { 202: json({ type: 'object', properties: { job: { type: 'string' } } }, 'admitted at every node; the access is logged'), 400: err, 403: json({ type: 'object', properties: { error: { type: 'string' }, job: { type: 'string' }, refusals: { type: 'array', items: obj('{party, node, error, code}') } } }, "refused: each node's reason"), 404: err, 409: err, 503: err },
      },
    },
    '/v1/records/{id}': {
      get: {
        summary: "The record job, for the doctor who asked: status, and this node's part sealed to the request's key once the access is in this node's log",
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        responses: { 200: json(obj('{id, status, error?, progress?, sealed?}')), 404: err },
      },
    },
    '/v1/internal/records': { post: { summary: 'Node 0 offers a record job to nodes 1 and 2; each admits (201) or refuses (403 {refused, error, code}) it on its own', responses: { 201: json({ type: 'object' }), 403: err } } },
    '/v1/internal/records/{id}/start': { post: { summary: 'Node 0 starts a record job at nodes 1 and 2 (after logging the access)', parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }], responses: { 200: json({ type: 'object' }), 404: err, 409: err } } },
    '/v1/internal/records/{id}/cancel': { post: { summary: 'Node 0 calls a record job off at nodes 1 and 2 (another node refused it)', parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }], responses: { 200: json({ type: 'object' }) } } },
    '/v1/citizens/{name}': {
      get: { summary: 'A registered citizen key and its pseudonymous ref (the registering custodian only: it checks citizens\' signatures on sealed consent changes itself)', parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string' } }], responses: { 200: json(obj('{name, ref, publicKey, registeredAt}')), 404: err } },
    },
    '/v1/consent/inbox-key': {
      post: { summary: "The consent custodian publishes its X25519 key for citizens' sealed consent changes (signed; its custodianKey hashes to the custodian's key id)", requestBody: body('{key: {format: "mosaik-inbox-key/1", custodian, publicKey, custodianKey, time}, signature}'), responses: registered },
      get: { summary: "The consent custodian's latest inbox key (public: a browser checks its signature itself)", responses: { 200: json(obj('{key, signature}')), 404: err } },
    },
    '/v1/consent/changes': {
      post: { summary: "A citizen's consent change, sealed to the consent custodian's inbox key: every node checks the citizen's signature over the envelope and keeps it; no node can open it", requestBody: body('{change: {format: "mosaik-consent-change/1", citizen, nonce, time, sealedSha256}, signature, sealed} (src/governance/citizen-docs.ts)'), responses: registered },
    },
    '/v1/consent/inbox': {
      get: { summary: 'The sealed consent changes (the consent custodian only), oldest first', responses: { 200: json({ type: 'array', items: obj('{change, signature, sealed}') }) } },
    },
    '/v1/pro/submissions': {
      post: {
        summary: "A citizen's questionnaire: the row's share pairs sealed per node; registered at every node, then appended to patient_reported in one MPC session once the person id is checked to be the citizen's (201 added, 403 rejected)",
        requestBody: body('{submission: {format: "mosaik-pro-submission/1", citizen, nonce, time, dataset, sealedSha256: [h0, h1, h2]}, signature, sealed: [s0, s1, s2]}'),
        responses: { 201: json(obj('{nonce, status: "added", version}')), 400: err, 403: err, 409: err, 503: err },
      },
      get: { summary: "The caller's questionnaires and what became of each (pending, added with the version, rejected)", responses: { 200: json({ type: 'array', items: obj('{nonce, time, dataset, status, version?, error?}') }) } },
    },
    '/v1/internal/pro/appends': { post: { summary: 'Node 0 asks nodes 1 and 2 to append a registered questionnaire (202: the MPC session starts)', responses: { 202: json({ type: 'object' }), 409: err } } },
    '/v1/internal/pro/appends/status': { post: { summary: 'Node 0 asks nodes 1 and 2 how their append of a questionnaire ended (answered once it has)', responses: { 200: json({ type: 'object' }), 404: err } } },
    '/v1/internal/citizens': {
      post: { summary: "Node 0 hands a citizen document {kind, doc} to nodes 1 and 2, each of which verifies and stores it itself (mutual TLS: node 0's certificate)", responses: { 200: json({ type: 'object' }), 201: json({ type: 'object' }), 400: err, 403: err } },
    },
  };
}
