// Fastify without its JSON-schema compilers, for the node's API (./api.ts) and the web app's server
// (src/cli/web.ts): no route there declares a schema for validation or serialisation (bodies are
// checked by hand, answers are plain JSON), so Ajv and fast-json-stringify need not be loaded at all
// (≈ 40 ms of CPU at every start of a daemon). A route that did declare one fails when the server is
// made ready, with the message below, instead of being checked by a compiler nobody loaded.
import type { FastifyServerOptions } from 'fastify';

const refuse = (what: string) => () => () => {
  throw new Error(`this server compiles no JSON schemas: a route declares a ${what} schema (src/node/fastify-options.ts)`);
};

/** Fastify's schemaController option: no validator or serializer compiler is loaded. */
export const NO_SCHEMA_COMPILERS: NonNullable<FastifyServerOptions['schemaController']> = {
  compilersFactory: { buildValidator: refuse('validation'), buildSerializer: refuse('response') },
};
