// A real OpenID Connect provider for newborn-ledger's tests (npm `oidc-provider`), never for
// production: one confidential client (the ledger), accounts with known passwords, a plain
// login form, PKCE required, a fresh RSA signing key (and key id) per start.
//
// Configured by the environment (tests/oidc/provider.py starts it):
//   OIDC_PORT            the port on 127.0.0.1; the issuer is http://127.0.0.1:PORT
//   OIDC_CLIENT_ID       the ledger's client id
//   OIDC_CLIENT_SECRET   its secret (client_secret_basic at the token endpoint)
//   OIDC_REDIRECT_URI    the ledger's /sign-in/oidc/callback
//   OIDC_ACCOUNTS        JSON: [{"login": "...", "password": "...", "sub": "..."}]
// Prints "ready <issuer>" on stdout once it listens.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import http from 'node:http';

import Provider from 'oidc-provider';

const port = Number(process.env.OIDC_PORT);
const issuer = `http://127.0.0.1:${port}`;
const accounts = JSON.parse(process.env.OIDC_ACCOUNTS || '[]');
const bySub = new Map(accounts.map((a) => [a.sub, a]));
const byLogin = new Map(accounts.map((a) => [a.login, a]));

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
// A new key id per start: a restart is a key rotation, as a client sees it.
const kid = `test-${randomBytes(6).toString('hex')}`;
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'RS256' };

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: process.env.OIDC_CLIENT_ID,
      client_secret: process.env.OIDC_CLIENT_SECRET,
      redirect_uris: [process.env.OIDC_REDIRECT_URI],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  pkce: { required: () => true },
  features: { devInteractions: { enabled: false } },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  claims: { openid: ['sub'] },
  findAccount: async (_ctx, sub) =>
    bySub.has(sub) ? { accountId: sub, claims: async () => ({ sub }) } : undefined,
  // A first-party client: no consent screen, the grant is made on the first sign-in.
  loadExistingGrant: async (ctx) => {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid');
    await grant.save();
    return grant;
  },
});

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function loginPage(uid, message) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Test provider sign-in</title></head>
<body><h1>Test identity provider</h1>${message ? `<p id="error">${escape(message)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}/login">
<label>Login <input id="login" name="login" autocomplete="username"></label>
<label>Password <input id="password" name="password" type="password"></label>
<button id="submit" type="submit">Sign in</button></form>
<form method="post" action="/interaction/${escape(uid)}/abort"><button id="abort" type="submit">Cancel</button></form>
</body></html>`;
}

async function formBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

async function interaction(req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new Error('interaction mismatch');
  if (req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    return res.end(loginPage(uid, ''));
  }
  if (action === 'abort') {
    const result = { error: 'access_denied', error_description: 'The user cancelled the sign-in' };
    return provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
  }
  const form = await formBody(req);
  const account = byLogin.get(form.get('login'));
  if (!account || account.password !== form.get('password')) {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    return res.end(loginPage(uid, 'Wrong login or password'));
  }
  const result = { login: { accountId: account.sub } };
  return provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
}

const callback = provider.callback();
const INTERACTION = /^\/interaction\/([\w-]+)(?:\/(login|abort))?$/;

http
  .createServer((req, res) => {
    const found = INTERACTION.exec(new URL(req.url, issuer).pathname);
    if (!found) return callback(req, res);
    interaction(req, res, found[1], found[2]).catch((err) => {
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.end(`interaction failed: ${err.message}`);
    });
    return undefined;
  })
  .listen(port, '127.0.0.1', () => console.log(`ready ${issuer}`));
