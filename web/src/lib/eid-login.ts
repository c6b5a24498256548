// Signing in as a citizen with the national e-ID (issue 15; the server side is
// src/governance/citizen-oidc.ts and src/cli/citizen-enrolment.ts). This browser makes the
// citizen's Ed25519 key (non-extractable: ./keys.ts newIdentity) and starts the OpenID Connect
// authorization code flow with PKCE (S256) at the identity broker the web server advertises, with
// nonce = keyBindingNonce(the new public key) (src/governance/key-binding.ts, shared with the
// custodian), so the broker's ID token vouches for this key. Back from the broker it checks the
// state, exchanges the code at the broker's token endpoint (oauth4webapi), and sends {ID token,
// public key} to the consent custodian's enrolment service, which registers the key at every node.
// The person id comes from the ID token's claim and stays in this browser, as with a key file.
// What leaves this browser: to the broker the nonce (a hash of the public key) and the PKCE
// challenge; to the custodian's service the ID token and the public key. Never the private key.
import { del, get, set } from 'idb-keyval';
import * as oauth from 'oauth4webapi';
import { keyBindingNonceOfRaw } from '../../../src/governance/key-binding.js';
import { fromBase64 } from './bytes.js';
import { newIdentity, type BrowserIdentity } from './keys.js';

/** What the web server advertises (GET /api/citizen-login) when citizens can log in with an e-ID. */
export interface CitizenLogin {
  issuer: string;
  clientId: string;
  claim: string;
  label?: string;
}

/** A login started here, kept in IndexedDB across the trip to the broker (the key stays a CryptoKey). */
interface PendingLogin {
  login: CitizenLogin;
  identity: BrowserIdentity & { publicKeyPem: string };
  state: string;
  nonce: string;
  codeVerifier: string;
}

const PENDING_KEY = 'mosaik-eid-login';
const redirectUri = () => `${location.origin}/citizen/signin`;
/** Plain http only for a broker on this machine (the demo's stand-in); a real broker is https. */
const local = (issuer: string) => ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(issuer).hostname);
const options = (issuer: string) => (local(issuer) ? { [oauth.allowInsecureRequests]: true } : {});

/** The identity broker of this deployment, or undefined when there is none (key files only). */
export async function citizenLogin(): Promise<CitizenLogin | undefined> {
  const r = await fetch('/api/citizen-login');
  const login = r.ok ? ((await r.json()) as Partial<CitizenLogin>) : {};
  return login.issuer ? (login as CitizenLogin) : undefined;
}

async function discover(login: CitizenLogin): Promise<oauth.AuthorizationServer> {
  const issuer = new URL(login.issuer);
  try {
    return await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, options(login.issuer)));
  } catch (e) {
    throw new Error(`The e-ID broker ${login.issuer} cannot be reached (${(e as Error).message}). Try again later, or sign in with a key file.`);
  }
}

/** Makes the key, remembers the login, and sends this browser to the broker's login page. */
export async function startEidLogin(login: CitizenLogin): Promise<void> {
  const as = await discover(login);
  if (!as.authorization_endpoint) throw new Error(`The e-ID broker ${login.issuer} publishes no authorization endpoint.`);
  const identity = await newIdentity('');
  const pending: PendingLogin = { login, identity, state: oauth.generateRandomState(), nonce: keyBindingNonceOfRaw(fromBase64(identity.publicKey)), codeVerifier: oauth.generateRandomCodeVerifier() };
  await set(PENDING_KEY, pending);
  const url = new URL(as.authorization_endpoint);
  url.search = new URLSearchParams({
    client_id: login.clientId, redirect_uri: redirectUri(), response_type: 'code', scope: 'openid', state: pending.state, nonce: pending.nonce,
    code_challenge: await oauth.calculatePKCECodeChallenge(pending.codeVerifier), code_challenge_method: 'S256',
  }).toString();
  location.assign(url.href);
}

/** Whether this address is the broker sending the browser back (…/citizen/signin?code=…&state=… or ?error=…). */
export const isEidReturn = (url: URL) => url.searchParams.has('state') && (url.searchParams.has('code') || url.searchParams.has('error'));

function explain(e: unknown): Error {
  if (e instanceof oauth.AuthorizationResponseError) return new Error(`The e-ID broker did not log you in: ${e.error_description ?? e.error}. Nothing was registered.`);
  if (e instanceof oauth.ResponseBodyError) return new Error(`The e-ID broker refused the login: ${e.error_description ?? e.error}. Nothing was registered; start again.`);
  const m = (e as Error).message ?? String(e);
  if (/"iss"/.test(m)) return new Error('This answer does not come from the e-ID broker this browser went to (its issuer is missing or another). Nothing was registered; start again.');
  if (/state/.test(m)) return new Error('This answer from the e-ID broker is not for a login this browser started (its state does not match). Nothing was registered; start again.');
  if (/nonce/.test(m)) return new Error('The e-ID broker\'s token is not bound to the key this browser made (its nonce does not match). Nothing was registered; start again.');
  return e instanceof Error ? e : new Error(m);
}

/**
 * Completes a login the broker sent this browser back from: the state, the code exchanged (with the
 * PKCE verifier), the ID token's nonce, then the custodian's enrolment. Returns the identity (named
 * as the nodes know it) and the person id from the token, for the caller to sign in with.
 */
export async function finishEidLogin(current: URL): Promise<{ identity: BrowserIdentity; person: string }> {
  const pending = (await get(PENDING_KEY)) as PendingLogin | undefined;
  await del(PENDING_KEY); // one answer per login, whatever it holds
  if (!pending) throw new Error('This browser started no e-ID login (or it was already completed). Nothing was registered; start again.');
  const { login, identity } = pending;
  const client: oauth.Client = { client_id: login.clientId };
  let idToken: string, claims: oauth.IDToken;
  try {
    const as = await discover(login);
    const params = oauth.validateAuthResponse(as, client, current, pending.state);
    const response = await oauth.authorizationCodeGrantRequest(as, client, oauth.None(), params, redirectUri(), pending.codeVerifier, options(login.issuer));
    const result = await oauth.processAuthorizationCodeResponse(as, client, response, { expectedNonce: pending.nonce, requireIdToken: true });
    idToken = result.id_token!;
    claims = oauth.getValidatedIdTokenClaims(result)!;
  } catch (e) {
    throw explain(e);
  }
  const r = await fetch('/api/citizen-enrol', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ idToken, publicKey: identity.publicKeyPem }) });
  const body = (await r.json().catch(() => ({}))) as { name?: string; error?: string };
  if (!r.ok || !body.name) throw new Error(`The consent register did not enrol your key: ${body.error ?? `HTTP ${r.status}`}`);
  const { publicKeyPem: _pem, ...id } = identity;
  return { identity: { ...id, name: body.name }, person: String(claims[login.claim] ?? '') };
}
