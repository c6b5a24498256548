// A STAND-IN for the national e-ID broker (MitID through a broker in Denmark), for the demo and
// tests only: an OpenID Connect provider (the `oidc-provider` package) on a local port whose
// accounts are the demo's citizens; its login page asks for a CPR number and no password, and says
// that it is a stand-in. It issues ID tokens (RS256, its own key, published at its jwks_uri) with
// the person id in the Danish broker's CPR claim, to one public client: the citizen portal, which
// must use the authorization code flow with PKCE. What it learns is what a real broker learns: who
// logged in, when, and the nonce (a hash of the citizen's new public key). A real broker replaces
// it by configuration only (src/cli/citizen-enrolment.ts: issuer, client id, claim).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { Configuration, KoaContextWithOIDC } from 'oidc-provider';
import { CPR_CLAIM } from '../governance/citizen-oidc.js';

export const STAND_IN_CLIENT_ID = 'mosaik-citizen-portal';

export interface StandInBroker {
  issuer: string;
  clientId: string;
  close(): Promise<void>;
}

const cpr = (person: number) => String(person).padStart(10, '0');
const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${esc(title)}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:26rem;margin:2rem auto;padding:0 1rem}.stand-in{background:#fff3cd;border:1px solid #c9a227;padding:.6rem;border-radius:6px}
label{display:block;margin:1rem 0}input{display:block;width:100%;font-size:1.1rem;padding:.4rem;box-sizing:border-box}button{font-size:1.1rem;padding:.5rem 1.2rem}.error{color:#a00}</style></head>
<body><h1>${esc(title)}</h1><p class="stand-in" role="note"><strong>Stand-in e-ID broker for the Mosaik demo.</strong> Not MitID: no password, and it knows only the demo's citizens.</p>${body}</body></html>`;
}

function loginForm(uid: string, error?: string): string {
  return page('Log in with e-ID', `<form method="post" action="/interaction/${esc(uid)}/login" autocomplete="off">
<label>CPR number<input name="cpr" inputmode="numeric" required autofocus placeholder="0101901234"></label>
${error ? `<p class="error" role="alert">${esc(error)}</p>` : ''}<button type="submit">Log in</button></form>`);
}

async function formBody(req: IncomingMessage): Promise<URLSearchParams> {
  const parts: Buffer[] = [];
  for await (const c of req) parts.push(c as Buffer);
  return new URLSearchParams(Buffer.concat(parts).toString('utf8'));
}

/**
 * Starts the stand-in broker on 127.0.0.1:`port` (0: any free port) for these persons; the portal
 * at `redirectUris` (its return address, e.g. http://127.0.0.1:8080/citizen/signin) is its one client.
 */
export async function startStandInBroker(o: { persons: Iterable<number>; redirectUris: string[]; port?: number; log?: (l: string) => void }): Promise<StandInBroker> {
  const accounts = new Map([...o.persons].map((p) => [cpr(p), p]));
  const server: Server = createServer();
  await new Promise<void>((ok) => server.listen(o.port ?? 0, '127.0.0.1', ok));
  const addr = server.address();
  const issuer = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : o.port}`;
  const signingKey = { ...generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }), kid: 'stand-in-1', alg: 'RS256', use: 'sig' };
  const origins = new Set(o.redirectUris.map((u) => new URL(u).origin));
  const config: Configuration = {
    clients: [{ client_id: STAND_IN_CLIENT_ID, redirect_uris: o.redirectUris, response_types: ['code'], grant_types: ['authorization_code'], token_endpoint_auth_method: 'none' }],
    jwks: { keys: [signingKey as never] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    // The person id goes in the ID token itself (as the Danish broker puts it), not only at userinfo.
    claims: { openid: ['sub', CPR_CLAIM] },
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: false } },
    pkce: { required: () => true },
    clientBasedCORS: (_ctx, origin) => origins.has(origin),
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    findAccount: (_ctx, sub) => (accounts.has(sub) ? { accountId: sub, claims: () => ({ sub, [CPR_CLAIM]: sub }) } : undefined),
    // The portal is the consortium's own client: no consent screen, the login is the whole interaction.
    loadExistingGrant: async (ctx: KoaContextWithOIDC) => {
      const { Grant } = ctx.oidc.provider;
      const id = ctx.oidc.result?.consent?.grantId ?? ctx.oidc.session!.grantIdFor(ctx.oidc.client!.clientId);
      if (id) return Grant.find(id);
      const grant = new Grant({ clientId: ctx.oidc.client!.clientId, accountId: ctx.oidc.session!.accountId! });
      grant.addOIDCScope('openid');
      grant.addOIDCClaims(['sub', CPR_CLAIM]);
      await grant.save();
      return grant;
    },
    ttl: { AuthorizationCode: 60, IdToken: 300, AccessToken: 300, Interaction: 600, Session: 600, Grant: 600 },
  };
  // Loaded only when a broker starts (the package warns at load on Node 20; other commands never load it).
  const { default: Provider } = await import('oidc-provider');
  const provider = new Provider(issuer, config);
  const oidc = provider.callback();
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', issuer).pathname;
    if (path === '/favicon.ico') return void res.writeHead(204).end(); // browsers ask; no 404 in their console
    const m = /^\/interaction\/([\w-]+)(\/login)?$/.exec(path);
    if (!m) return oidc(req, res);
    const details = await provider.interactionDetails(req, res);
    if (req.method === 'POST' && m[2]) {
      const who = (await formBody(req)).get('cpr')?.replace(/[\s-]/g, '') ?? '';
      if (!accounts.has(who)) {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(loginForm(details.uid, `No demo citizen has CPR number ${who}.`));
        return;
      }
      o.log?.('• stand-in e-ID broker: a demo citizen logged in');
      return provider.interactionFinished(req, res, { login: { accountId: who } }, { mergeWithLastSubmission: false });
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(loginForm(details.uid));
  };
  server.on('request', (req, res) => {
    handle(req, res).catch((e: Error) => {
      if (!res.headersSent) res.writeHead(400, { 'content-type': 'text/html; charset=utf-8' }).end(page('Login failed', `<p class="error">${esc(e.message)}</p>`));
    });
  });
  return {
    issuer,
    clientId: STAND_IN_CLIENT_ID,
    close: () => new Promise<void>((ok) => { server.closeAllConnections(); server.close(() => ok()); }),
  };
}
