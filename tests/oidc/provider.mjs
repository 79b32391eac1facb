// A real OpenID provider for the gateway's OAuth tests: the certified `oidc-provider`
// package (installed by scripts/test-deps into .mcp-test/node_modules), configured with
//
// - `gw-service` / `gw-service-secret`: a confidential client for the client credentials
//   grant; `gw-admin-service` / `gw-admin-secret`: the same, whose tokens carry
//   `groups: ["gateway-admins"]`;
// - `gw-public`: a public native client (PKCE, loopback redirects on any port, refresh
//   tokens, the device authorization grant);
// - dynamic client registration (for SDK clients that register themselves);
// - resource indicators (RFC 8707): any loopback `resource` gets an RS256 JWT access token
//   whose `aud` is that resource, with the scopes mcp:read, mcp:call, gateway:read,
//   gateway:write and admin;
// - the development login and consent pages (any login name and password);
// - RFC 8693 token exchange (a custom grant type) for the confidential client
//   `gw-exchange` / `gw-exchange-secret`: a valid access token of this provider as
//   `subject_token` gets an RS256 JWT for the requested `audience` with the subject's
//   `sub` (and `act: {sub: "gw-exchange"}`), valid `EXCHANGE_TTL` seconds.
//
// Users whose login starts with `admin` get `groups: ["gateway-admins"]`; users whose
// login contains `limited` get `templates: ["alpha"]`.
//
// Test hooks under /__test/ (this is a test fixture, not a provider feature):
//   POST /__test/rotate {"mode": "add"}  new RSA signing key first, old keys still published
//   POST /__test/rotate {"mode": "drop"} publish only the current signing key
//   GET  /__test/exchanges  {"count": N, "last": {"sub", "audience", "scope"}} of the
//        token exchanges granted so far
//   POST /__test/sign {"claims": {...}, "header": {...}, "key": "rsa"|"ec"|"foreign"}
//        signs arbitrary claims with the provider's current RSA key, its ES256 key, or a
//        key it does not publish (default header: alg for the key, kid of the current
//        RSA key, typ at+jwt)
//
// Usage: node tests/oidc/provider.mjs --deps .mcp-test/node_modules [--port 0]
// Prints `oidc-provider listening on http://127.0.0.1:PORT` once ready.

import * as crypto from 'node:crypto';
import * as http from 'node:http';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const deps = path.resolve(arg('--deps', '.mcp-test/node_modules'));
const { default: Provider, errors } = await import(
  pathToFileURL(path.join(deps, 'oidc-provider/lib/index.js')).href
);

const SCOPES = ['mcp:read', 'mcp:call', 'gateway:read', 'gateway:write', 'admin'];
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
const EXCHANGE_TTL = 300;
const exchanges = { count: 0, last: null };

let serial = 0;
function newKey(type) {
  serial += 1;
  const kid = `${type}-${serial}-${crypto.randomBytes(4).toString('hex')}`;
  const { privateKey } = type === 'rsa'
    ? crypto.generateKeyPairSync('rsa', { modulusLength: 2048 })
    : crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = privateKey.export({ format: 'jwk' });
  return {
    kid,
    alg: type === 'rsa' ? 'RS256' : 'ES256',
    privateKey,
    jwk: { ...jwk, kid, alg: type === 'rsa' ? 'RS256' : 'ES256', use: 'sig' },
  };
}

// keys[0] is the current RSA signing key; `ec` is published for ES256 test tokens.
let rsaKeys = [newKey('rsa')];
const ecKey = newKey('ec');
const foreignKey = newKey('rsa');

function isLoopback(resource) {
  try {
    const url = new URL(resource);
    return url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  } catch {
    return false;
  }
}

function makeProvider(issuer) {
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: 'gw-service',
        client_secret: 'gw-service-secret',
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        scope: SCOPES.join(' '),
      },
      {
        client_id: 'gw-admin-service',
        client_secret: 'gw-admin-secret',
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        scope: SCOPES.join(' '),
      },
      {
        client_id: 'gw-exchange',
        client_secret: 'gw-exchange-secret',
        grant_types: [TOKEN_EXCHANGE],
        response_types: [],
        redirect_uris: [],
        scope: SCOPES.join(' '),
      },
      {
        client_id: 'gw-public',
        application_type: 'native',
        token_endpoint_auth_method: 'none',
        grant_types: [
          'authorization_code',
          'refresh_token',
          'urn:ietf:params:oauth:grant-type:device_code',
        ],
        response_types: ['code'],
        redirect_uris: ['http://127.0.0.1/callback', 'http://localhost/callback'],
        scope: ['openid', 'offline_access', ...SCOPES].join(' '),
      },
    ],
    jwks: { keys: [...rsaKeys.map((k) => k.jwk), ecKey.jwk] },
    scopes: ['openid', 'offline_access', ...SCOPES],
    cookies: { keys: ['oidc-test-cookie-key'] },
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: true },
      clientCredentials: { enabled: true },
      deviceFlow: { enabled: true },
      registration: { enabled: true },
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => undefined,
        useGrantedResource: () => true,
        getResourceServerInfo(ctx, resourceIndicator) {
          if (!isLoopback(resourceIndicator)) {
            throw new errors.InvalidTarget();
          }
          return {
            scope: SCOPES.join(' '),
            audience: resourceIndicator,
            accessTokenTTL: 300,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256', kid: rsaKeys[0].kid } },
          };
        },
      },
    },
    async findAccount(ctx, sub) {
      return { accountId: sub, async claims() { return { sub }; } };
    },
    async extraTokenClaims(ctx, token) {
      const claims = {};
      if (token.clientId === 'gw-admin-service' || token.accountId?.startsWith('admin')) {
        claims.groups = ['gateway-admins'];
      }
      if (token.accountId?.includes('limited')) {
        claims.templates = ['alpha'];
      }
      return claims;
    },
    ttl: {
      AccessToken: 300,
      ClientCredentials: 300,
      RefreshToken: 3600,
      Grant: 3600,
      Interaction: 600,
      Session: 3600,
      DeviceCode: 600,
    },
    // Browser-based clients (none in the tests) may call the token endpoint.
    clientBasedCORS: () => true,
  });
  provider.registerGrantType(TOKEN_EXCHANGE, tokenExchange, [
    'subject_token',
    'subject_token_type',
    'requested_token_type',
    'audience',
    'scope',
  ]);
  return provider;
}

// The subject token's claims if it is a valid, unexpired JWT access token signed by one
// of this provider's published RSA keys.
function verifiedClaims(token) {
  const parts = String(token ?? '').split('.');
  if (parts.length !== 3) return null;
  let header;
  let claims;
  try {
    header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
    claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  const key = rsaKeys.find((k) => k.kid === header.kid);
  if (!key || header.alg !== 'RS256') return null;
  const ok = crypto.verify(
    'sha256',
    Buffer.from(`${parts[0]}.${parts[1]}`),
    crypto.createPublicKey(key.privateKey),
    Buffer.from(parts[2], 'base64url'),
  );
  if (!ok || claims.iss !== issuer || !(claims.exp > Date.now() / 1000)) return null;
  return claims;
}

async function tokenExchange(ctx) {
  const { params, client } = ctx.oidc;
  if (params.subject_token_type !== ACCESS_TOKEN_TYPE) {
    throw new errors.InvalidRequest('subject_token_type must be an access token');
  }
  if (!params.audience) {
    throw new errors.InvalidTarget('audience is required');
  }
  const subject = verifiedClaims(params.subject_token);
  if (!subject || !subject.sub) {
    throw new errors.InvalidGrant('subject_token is not a valid access token of this issuer');
  }
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    iss: issuer,
    sub: subject.sub,
    aud: params.audience,
    iat: now,
    exp: now + EXCHANGE_TTL,
    jti: crypto.randomBytes(8).toString('hex'),
    client_id: client.clientId,
    act: { sub: client.clientId },
  };
  if (params.scope) claims.scope = params.scope;
  const header = { alg: 'RS256', kid: rsaKeys[0].kid, typ: 'at+jwt' };
  exchanges.count += 1;
  exchanges.last = { sub: subject.sub, audience: params.audience, scope: params.scope ?? null };
  ctx.body = {
    access_token: sign(header, claims, rsaKeys[0]),
    issued_token_type: ACCESS_TOKEN_TYPE,
    token_type: 'Bearer',
    expires_in: EXCHANGE_TTL,
  };
}

function b64url(data) {
  return Buffer.from(data).toString('base64url');
}

function sign(header, claims, key) {
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  let signature;
  if (key.alg === 'RS256') {
    signature = crypto.sign('sha256', Buffer.from(input), key.privateKey);
  } else {
    signature = crypto.sign('sha256', Buffer.from(input), {
      key: key.privateKey,
      dsaEncoding: 'ieee-p1363',
    });
  }
  return `${input}.${b64url(signature)}`;
}

async function readJson(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : {};
}

function reply(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

let handler = () => {};
let issuer;

async function testHook(req, res) {
  const body = await readJson(req);
  if (req.url === '/__test/exchanges' && req.method === 'GET') {
    return reply(res, 200, exchanges);
  }
  if (req.url === '/__test/rotate' && req.method === 'POST') {
    if (body.mode === 'add') {
      rsaKeys = [newKey('rsa'), ...rsaKeys];
    } else if (body.mode === 'drop') {
      rsaKeys = [rsaKeys[0]];
    } else {
      return reply(res, 400, { error: 'mode must be add or drop' });
    }
    handler = makeProvider(issuer).callback();
    return reply(res, 200, { current: rsaKeys[0].kid, published: rsaKeys.map((k) => k.kid) });
  }
  if (req.url === '/__test/sign' && req.method === 'POST') {
    const key = { rsa: rsaKeys[0], ec: ecKey, foreign: foreignKey }[body.key ?? 'rsa'];
    if (!key) return reply(res, 400, { error: 'key must be rsa, ec or foreign' });
    const header = { alg: key.alg, kid: key === ecKey ? ecKey.kid : rsaKeys[0].kid, typ: 'at+jwt', ...(body.header ?? {}) };
    return reply(res, 200, { token: sign(header, body.claims ?? {}, key) });
  }
  return reply(res, 404, { error: 'unknown test hook' });
}

const server = http.createServer((req, res) => {
  if (req.url.startsWith('/__test/')) {
    testHook(req, res).catch((e) => reply(res, 500, { error: String(e) }));
    return;
  }
  handler(req, res);
});

server.listen(Number(arg('--port', '0')), '127.0.0.1', () => {
  const { port } = server.address();
  issuer = `http://127.0.0.1:${port}`;
  handler = makeProvider(issuer).callback();
  process.stdout.write(`oidc-provider listening on ${issuer}\n`);
});

process.on('SIGTERM', () => server.close(() => process.exit(0)));
