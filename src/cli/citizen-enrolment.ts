// The consent custodian's enrolment service for e-ID logins (issue 15): what a citizen's browser
// sends after an OpenID Connect login at the identity broker ({id_token, public key}) is checked
// with enrolFromIdToken (src/governance/citizen-oidc.ts: the broker's signature from its published
// JWKS, issuer, audience, expiry, nonce = the key's hash) and the key registered as any citizen key
// (./citizen.ts registerCitizen). It runs on the custodian's side, never at a compute node: it
// sees the person id (the custodian keeps the key→person table). The nodes see the key under its
// pseudonymous name; the browser gets that name back (it read the person id from its own token).
// Nothing is registered when a check fails. A person may enrol several keys (one per device or
// browser): each login adds a key and a row of the key→person table; none replaces another.
//
// Configuration (the custodian's, e.g. citizen-login.json; a real broker plugs in here):
//   { "issuer": "https://broker.example", "clientId": "mosaik-consent-register",
//     "claim": "dk:gov:saml:attribute:CprNumberIdentifier" }   // claim optional: the Danish CPR claim
// The broker's endpoints and keys come from its discovery document ({issuer}/.well-known/openid-configuration).
import { readFileSync } from 'node:fs';
import { CPR_CLAIM, enrolFromIdToken, type IdTokenCheck } from '../governance/citizen-oidc.js';
import type { Consortium } from '../governance/consortium.js';
import { GovernanceError } from '../governance/errors.js';
import type { Signer } from '../governance/identity.js';
import type { ClusterConfig } from '../net/keys.js';
import { registerCitizen } from './citizen.js';

/** Where citizens log in: what the browser needs to start the flow (public). */
export interface CitizenLoginConfig {
  issuer: string;
  clientId: string;
  /** The claim carrying the person id (default: the Danish broker's CPR claim). */
  claim?: string;
  /** Shown on the sign-in button, e.g. "MitID" or "the demo's stand-in e-ID broker". */
  label?: string;
}

export function readCitizenLoginConfig(path: string): CitizenLoginConfig {
  const c = JSON.parse(readFileSync(path, 'utf8')) as Partial<CitizenLoginConfig>;
  if (typeof c.issuer !== 'string' || !/^https?:\/\//.test(c.issuer)) throw new GovernanceError('malformed', `${path}: issuer must be the broker's issuer URL`);
  if (typeof c.clientId !== 'string' || !c.clientId) throw new GovernanceError('malformed', `${path}: clientId must be your client id at the broker`);
  return { issuer: c.issuer, clientId: c.clientId, ...(c.claim ? { claim: c.claim } : {}), ...(c.label ? { label: c.label } : {}) };
}

export interface CitizenEnrolment {
  /** What GET /api/citizen-login advertises to browsers. */
  login: CitizenLoginConfig & { claim: string };
  /** Checks the login and registers the key; refuses (GovernanceError) with what is wrong. */
  enrol(idToken: unknown, publicKeyPem: unknown): Promise<{ name: string; ref: number }>;
}

/** The broker's published keys, from its discovery document. */
async function fetchJwks(issuer: string): Promise<IdTokenCheck['jwks']> {
  const get = async (url: string): Promise<Record<string, unknown>> => {
    const r = await fetch(url, { headers: { accept: 'application/json' } });
    if (!r.ok) throw new GovernanceError('malformed', `the identity broker answered HTTP ${r.status} at ${url}`);
    return (await r.json()) as Record<string, unknown>;
  };
  const meta = await get(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`);
  if (meta.issuer !== issuer) throw new GovernanceError('malformed', `the broker's discovery document names issuer ${JSON.stringify(meta.issuer)}, not ${issuer}`);
  return (await get(String(meta.jwks_uri))) as IdTokenCheck['jwks'];
}

export function citizenEnrolment(o: { config: ClusterConfig; consortium: Consortium; signer: Signer; table: string; login: CitizenLoginConfig; log?: (l: string) => void }): CitizenEnrolment {
  const login = { ...o.login, claim: o.login.claim ?? CPR_CLAIM };
  let queue: Promise<unknown> = Promise.resolve(); // one registration at a time: each writes the table
  return {
    login,
    enrol: async (idToken, publicKeyPem) => {
      if (typeof idToken !== 'string' || typeof publicKeyPem !== 'string') throw new GovernanceError('malformed', 'send {"idToken": "<the broker\'s ID token>", "publicKey": "<SPKI PEM>"}');
      // The keys are fetched for each enrolment: a broker rotates them, and enrolments are rare.
      const { person } = enrolFromIdToken(idToken, publicKeyPem, { issuer: login.issuer, audience: login.clientId, jwks: await fetchJwks(login.issuer), claim: login.claim });
      const run = queue.then(() => registerCitizen({ config: o.config, consortium: o.consortium, signer: o.signer, person, publicKeyPem, table: o.table }));
      queue = run.catch(() => {});
      const r = await run;
      o.log?.(`• e-ID enrolment: a citizen's key registered as ${r.name} (ref ${r.ref})`);
      return { name: r.name, ref: r.ref };
    },
  };
}
