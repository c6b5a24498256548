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
    '/v1/internal/citizens': {
      post: { summary: "Node 0 hands a citizen document {kind, doc} to nodes 1 and 2, each of which verifies and stores it itself (mutual TLS: node 0's certificate)", responses: { 200: json({ type: 'object' }), 201: json({ type: 'object' }), 400: err, 403: err } },
    },
  };
}
