// The scenario list: requests as a browser or an API client sends them, with the tokens they
// carry described by their claims. generate.mjs signs the tokens, asks Clerk, and records the
// outcome. `{name}` in a header or path is replaced by the token `name` of the scenario.

import { createHash } from 'node:crypto';

export const NOW = 1_800_000_000;

const pk = (type, host) => `pk_${type}_${Buffer.from(`${host}$`).toString('base64')}`;
const suffixOf = key => createHash('sha1').update(key).digest('base64url').slice(0, 8);

const PROD_PK = pk('live', 'clerk.oracle.test');
const DEV_PK = pk('test', 'happy-oracle-1.clerk.accounts.dev');

export const INSTANCES = {
  production: {
    publishableKey: PROD_PK,
    secretKey: 'sk_live_oracle',
    issuer: 'https://clerk.oracle.test',
    app: 'https://app.oracle.test',
    suffix: suffixOf(PROD_PK),
  },
  development: {
    publishableKey: DEV_PK,
    secretKey: 'sk_test_oracle',
    issuer: 'https://happy-oracle-1.clerk.accounts.dev',
    app: 'https://app.oracle.test',
    suffix: suffixOf(DEV_PK),
  },
};

const P = INSTANCES.production;
const D = INSTANCES.development;
const S = P.suffix;
const DS = D.suffix;

/** Claims of a valid v2 session token of `user` at NOW, with `over` applied (undefined deletes). */
function claims(over = {}, iss = P.issuer, user = 'user_a') {
  const base = {
    iss,
    sub: user,
    sid: `sess_${user.slice(5)}`,
    azp: P.app,
    iat: NOW - 5,
    nbf: NOW - 15,
    exp: NOW + 55,
    v: 2,
    sts: 'active',
    fva: [1, -1],
  };
  const c = { ...base, ...over };
  for (const k of Object.keys(c)) if (c[k] === undefined) delete c[k];
  return c;
}
const tok = (over, header) => ({ claims: claims(over), header });
const tokOf = (user, over = {}) => ({ claims: claims(over, P.issuer, user) });
const devTok = (over = {}, user = 'user_a') => ({ claims: claims(over, D.issuer, user) });
const v1 = () => ({
  claims: claims({ v: undefined, sts: undefined, fva: undefined, org_id: 'org_1', org_role: 'org:admin', org_slug: 'acme' }),
});

const DOC = { host: 'app.oracle.test', 'sec-fetch-dest': 'document', accept: 'text/html' };
const FETCH = { host: 'app.oracle.test', 'sec-fetch-dest': 'empty', accept: 'application/json' };
const API = { host: 'app.oracle.test', accept: 'application/json' };
const HTML = { host: 'app.oracle.test', accept: 'text/html,application/xhtml+xml' };

const UAT = `__client_uat=${NOW - 60}`;
const cookie = (...parts) => parts.join('; ');
const fresh = (user = 'user_fresh') => tokOf(user);

export const scenarios = [];
const add = s => scenarios.push({ instance: 'production', method: 'GET', ...s });

// --- A. Header tokens: scheme, precedence, verification ------------------------------------
add({ name: 'header bearer valid', headers: { ...API, authorization: 'Bearer {t}' }, tokens: { t: tok() } });
add({ name: 'header bare token without scheme', headers: { ...API, authorization: '{t}' }, tokens: { t: tok() } });
add({ name: 'header lowercase bearer', headers: { ...API, authorization: 'bearer {t}' }, tokens: { t: tok() } });
add({ name: 'header uppercase BEARER', headers: { ...API, authorization: 'BEARER {t}' }, tokens: { t: tok() } });
add({ name: 'header Bearer alone', headers: { ...API, authorization: 'Bearer' } });
add({ name: 'header basic falls back to the cookie', headers: { ...DOC, authorization: 'Basic dXNlcjpwYXNz', cookie: cookie('__session={c}', UAT) }, tokens: { c: tok() } });
add({ name: 'header basic without cookie is signed out', headers: { ...API, authorization: 'Basic dXNlcjpwYXNz' } });
add({ name: 'header basic with expired cookie on a document', headers: { ...DOC, authorization: 'Basic dXNlcjpwYXNz', cookie: cookie('__session={c}', UAT) }, tokens: { c: tok({ exp: NOW - 30, iat: NOW - 90 }) } });
add({ name: 'header wins over cookie of another user', headers: { ...API, authorization: 'Bearer {t}', cookie: cookie('__session={c}', UAT) }, tokens: { t: tok(), c: tokOf('user_b') } });
add({ name: 'header invalid does not fall back to a valid cookie', headers: { ...API, authorization: 'Bearer {t}', cookie: cookie('__session={c}', UAT) }, tokens: { t: { ...tok(), tamper: true }, c: tokOf('user_b') } });
add({ name: 'header expired on a fetch', headers: { ...FETCH, authorization: 'Bearer {t}' }, tokens: { t: tok({ exp: NOW - 30, iat: NOW - 90 }) } });
add({ name: 'header expired on a document', headers: { ...DOC, authorization: 'Bearer {t}' }, tokens: { t: tok({ exp: NOW - 30, iat: NOW - 90 }) } });
add({ name: 'header bad signature', headers: { ...API, authorization: 'Bearer {t}' }, tokens: { t: { ...tok(), tamper: true } } });
add({ name: 'header malformed', headers: { ...API, authorization: 'Bearer not.a.jwt' } });
add({ name: 'header azp mismatch', headers: { ...API, authorization: 'Bearer {t}' }, tokens: { t: tok({ azp: 'https://evil.example' }) } });
add({ name: 'header azp absent', headers: { ...API, authorization: 'Bearer {t}' }, tokens: { t: tok({ azp: undefined }) } });
add({ name: 'header pending session', headers: { ...API, authorization: 'Bearer {t}' }, tokens: { t: tok({ sts: 'pending' }) } });
add({ name: 'header v1 token', headers: { ...API, authorization: 'Bearer {t}' }, tokens: { t: v1() } });
add({ name: 'header jwt template category', headers: { ...API, authorization: 'Bearer {t}' }, tokens: { t: tok({}, { cat: 'cl_B7d4PD222AAA' }) } });
add({ name: 'header session category', headers: { ...API, authorization: 'Bearer {t}' }, tokens: { t: tok({}, { cat: 'cl_B7d4PD111AAA' }) } });
add({ name: 'header machine subject', headers: { ...API, authorization: 'Bearer {t}' }, tokens: { t: tok({ sub: 'mch_1', sid: undefined }) } });
add({ name: 'header without sid', headers: { ...API, authorization: 'Bearer {t}' }, tokens: { t: tok({ sid: undefined }) } });
add({ name: 'header issuer with http scheme', headers: { ...API, authorization: 'Bearer {t}' }, tokens: { t: tok({ iss: 'http://clerk.oracle.test' }) } });
add({ name: 'header exp at the skew boundary is expired', headers: { ...API, authorization: 'Bearer {t}' }, tokens: { t: tok({ exp: NOW - 5, iat: NOW - 65 }) } });
add({ name: 'header exp one second inside the skew', headers: { ...API, authorization: 'Bearer {t}' }, tokens: { t: tok({ exp: NOW - 4, iat: NOW - 64 }) } });
add({ name: 'header nbf at the skew boundary', headers: { ...API, authorization: 'Bearer {t}' }, tokens: { t: tok({ nbf: NOW + 5 }) } });
add({ name: 'header nbf past the skew', headers: { ...API, authorization: 'Bearer {t}' }, tokens: { t: tok({ nbf: NOW + 6 }) } });
add({ name: 'header iat at the skew boundary', headers: { ...API, authorization: 'Bearer {t}' }, tokens: { t: tok({ iat: NOW + 5 }) } });
add({ name: 'header iat past the skew', headers: { ...API, authorization: 'Bearer {t}' }, tokens: { t: tok({ iat: NOW + 6 }) } });

// --- B. Cookie tokens and __client_uat ----------------------------------------------------
for (const [kind, headers] of [['document', DOC], ['fetch', FETCH]]) {
  add({ name: `${kind}: cookie valid, uat older than iat`, headers: { ...headers, cookie: cookie('__session={c}', UAT) }, tokens: { c: tok() } });
  add({ name: `${kind}: cookie valid, uat equal to iat`, headers: { ...headers, cookie: cookie('__session={c}', `__client_uat=${NOW - 5}`) }, tokens: { c: tok() } });
  add({ name: `${kind}: cookie valid, uat newer than iat`, headers: { ...headers, cookie: cookie('__session={c}', `__client_uat=${NOW - 4}`) }, tokens: { c: tok() } });
  add({ name: `${kind}: cookie valid, uat 0 (signed out)`, headers: { ...headers, cookie: cookie('__session={c}', '__client_uat=0') }, tokens: { c: tok() } });
  add({ name: `${kind}: cookie valid, uat absent`, headers: { ...headers, cookie: cookie('__session={c}') }, tokens: { c: tok() } });
  add({ name: `${kind}: cookie valid, uat not a number`, headers: { ...headers, cookie: cookie('__session={c}', '__client_uat=abc') }, tokens: { c: tok() } });
  add({ name: `${kind}: cookie valid, uat with trailing garbage`, headers: { ...headers, cookie: cookie('__session={c}', `__client_uat=${NOW - 60}x`) }, tokens: { c: tok() } });
  add({ name: `${kind}: no cookie token, uat set`, headers: { ...headers, cookie: UAT } });
  add({ name: `${kind}: no cookie token, no uat`, headers: { ...headers } });
  add({ name: `${kind}: cookie expired`, headers: { ...headers, cookie: cookie('__session={c}', `__client_uat=${NOW - 100}`) }, tokens: { c: tok({ exp: NOW - 30, iat: NOW - 90 }) } });
  add({ name: `${kind}: cookie not yet valid`, headers: { ...headers, cookie: cookie('__session={c}', UAT) }, tokens: { c: tok({ nbf: NOW + 30 }) } });
  add({ name: `${kind}: cookie issued in the future`, headers: { ...headers, cookie: cookie('__session={c}', UAT) }, tokens: { c: tok({ iat: NOW + 30 }) } });
  add({ name: `${kind}: cookie malformed`, headers: { ...headers, cookie: cookie('__session=garbage', UAT) } });
  add({ name: `${kind}: cookie bad signature`, headers: { ...headers, cookie: cookie('__session={c}', UAT) }, tokens: { c: { ...tok(), tamper: true } } });
  add({ name: `${kind}: cookie pending session`, headers: { ...headers, cookie: cookie('__session={c}', UAT) }, tokens: { c: tok({ sts: 'pending' }) } });
  add({ name: `${kind}: cookie v1 token`, headers: { ...headers, cookie: cookie('__session={c}', UAT) }, tokens: { c: v1() } });
  add({ name: `${kind}: cookie azp mismatch`, headers: { ...headers, cookie: cookie('__session={c}', UAT) }, tokens: { c: tok({ azp: 'https://evil.example' }) } });
  add({ name: `${kind}: cookie jwt template category`, headers: { ...headers, cookie: cookie('__session={c}', UAT) }, tokens: { c: tok({}, { cat: 'cl_B7d4PD222AAA' }) } });
}
add({ name: 'document: jwt template cookie older than uat is signed out, not synced', headers: { ...DOC, cookie: cookie('__session={c}', `__client_uat=${NOW}`) }, tokens: { c: tok({ iat: NOW - 30 }, { cat: 'cl_B7d4PD222AAA' }) } });
add({ name: 'document: machine subject cookie older than uat', headers: { ...DOC, cookie: cookie('__session={c}', `__client_uat=${NOW}`) }, tokens: { c: tok({ iat: NOW - 30, sub: 'mch_1', sid: undefined }) } });
add({ name: 'document: cookie v1 token older than uat', headers: { ...DOC, cookie: cookie('__session={c}', `__client_uat=${NOW}`) }, tokens: { c: v1() } });
add({ name: 'fetch: cookie azp absent', headers: { ...FETCH, cookie: cookie('__session={c}', UAT) }, tokens: { c: tok({ azp: undefined }) } });
add({ name: 'fetch: cookie exp at the skew boundary', headers: { ...FETCH, cookie: cookie('__session={c}', `__client_uat=${NOW - 100}`) }, tokens: { c: tok({ exp: NOW - 5, iat: NOW - 65 }) } });
add({ name: 'document: cookie exp one second inside the skew', headers: { ...DOC, cookie: cookie('__session={c}', `__client_uat=${NOW - 100}`) }, tokens: { c: tok({ exp: NOW - 4, iat: NOW - 64 }) } });
add({ name: 'repeated session cookie: the first wins', headers: { ...FETCH, cookie: cookie('__session={a}', '__session={b}', UAT) }, tokens: { a: tokOf('user_a'), b: tokOf('user_b') } });
add({ name: 'document HEAD with an expired cookie', method: 'HEAD', headers: { ...DOC, cookie: cookie('__session={c}', UAT) }, tokens: { c: tok({ exp: NOW - 30, iat: NOW - 90 }) } });
add({ name: 'document POST with an expired cookie', method: 'POST', headers: { ...DOC, cookie: cookie('__session={c}', UAT) }, tokens: { c: tok({ exp: NOW - 30, iat: NOW - 90 }) } });
add({ name: 'iframe with an expired cookie', headers: { ...DOC, 'sec-fetch-dest': 'iframe', cookie: cookie('__session={c}', UAT) }, tokens: { c: tok({ exp: NOW - 30, iat: NOW - 90 }) } });
add({ name: 'accept text/html without sec-fetch-dest, expired cookie', headers: { ...HTML, cookie: cookie('__session={c}', UAT) }, tokens: { c: tok({ exp: NOW - 30, iat: NOW - 90 }) } });
add({ name: 'accept text/html with sec-fetch-dest empty, expired cookie', headers: { ...HTML, 'sec-fetch-dest': 'empty', cookie: cookie('__session={c}', UAT) }, tokens: { c: tok({ exp: NOW - 30, iat: NOW - 90 }) } });
add({ name: 'document with a query keeps it in redirect_url', path: '/orders/7?tab=a%20b&x=1', headers: { ...DOC, cookie: cookie('__session={c}', UAT) }, tokens: { c: tok({ exp: NOW - 30, iat: NOW - 90 }) } });

// --- Redirect counter ----------------------------------------------------------------------
for (const count of ['1', '2', '3', '4', 'x']) {
  add({ name: `redirect count ${count} with an expired cookie`, headers: { ...DOC, cookie: cookie('__session={c}', UAT, `__clerk_redirect_count=${count}`) }, tokens: { c: tok({ exp: NOW - 30, iat: NOW - 90 }) } });
}

// --- Cross-origin referrers ----------------------------------------------------------------
const ref = (name, referer, extra = {}, instance = 'production') =>
  add({
    name: `referer ${name}`,
    instance,
    headers: { ...DOC, ...extra, referer, cookie: cookie('__session={c}', UAT, ...(instance === 'development' ? ['__clerk_db_jwt=dvb_1'] : [])) },
    tokens: { c: instance === 'development' ? devTok() : tok() },
  });
ref('from another site', 'https://elsewhere.example/page');
ref('from the same origin', 'https://app.oracle.test/other');
ref('from another scheme of the same host', 'http://app.oracle.test/other');
ref('from the Frontend API', 'https://clerk.oracle.test/v1/client');
ref('from the account portal', 'https://accounts.oracle.test/sign-in');
ref('from a lookalike account portal', 'https://accounts.oracle.test.evil.example/sign-in');
ref('from a dev account portal on production', 'https://happy-oracle-1.accounts.dev/sign-in');
ref('that is not a URL', 'not a url');
ref('on an iframe', 'https://elsewhere.example/', { 'sec-fetch-dest': 'iframe' });
ref('on a document without sec-fetch-dest', 'https://elsewhere.example/', { 'sec-fetch-dest': undefined });
ref('with a redirect in progress', 'https://elsewhere.example/', { cookie: undefined });
scenarios[scenarios.length - 1].headers.cookie = cookie('__session={c}', UAT, '__clerk_redirect_count=1');
ref('from a dev account portal on development', 'https://happy-oracle-1.accounts.dev/sign-in', {}, 'development');
ref('from another site on development', 'https://elsewhere.example/', {}, 'development');
for (const s of scenarios) for (const k of Object.keys(s.headers ?? {})) if (s.headers[k] === undefined) delete s.headers[k];

// --- C. Suffixed and unsuffixed cookies ----------------------------------------------------
const sfx = (name, cookies, tokens, headers = DOC) => add({ name: `suffix: ${name}`, headers: { ...headers, cookie: cookies.join('; ') }, tokens });
sfx('only the suffixed pair', [`__session_${S}={a}`, `__client_uat_${S}=${NOW - 60}`], { a: tok() });
sfx('only the suffixed pair, expired', [`__session_${S}={a}`, `__client_uat_${S}=${NOW - 60}`], { a: tok({ exp: NOW - 30, iat: NOW - 90 }) });
sfx('suffixed session without suffixed uat next to an unsuffixed pair', [`__session_${S}={a}`, '__session={b}', UAT], { a: tokOf('user_a'), b: tokOf('user_b') });
sfx('suffixed uat 0 and no unsuffixed uat', [`__session_${S}={a}`, `__client_uat_${S}=0`], { a: tok() });
sfx('suffixed uat 0, unsuffixed pair signed in', [`__session_${S}={a}`, `__client_uat_${S}=0`, '__session={b}', UAT], { a: tokOf('user_a'), b: tokOf('user_b') });
sfx('lone suffixed session, no uat at all', [`__session_${S}={a}`], { a: tok() });
sfx('unsuffixed token of another instance', ['__session={b}', UAT, `__session_${S}={a}`, `__client_uat_${S}=${NOW - 60}`], { a: tokOf('user_a'), b: { claims: claims({}, 'https://clerk.other.test', 'user_b') } });
sfx('unsuffixed issuer differs only in scheme', ['__session={b}', UAT, `__session_${S}={a}`, `__client_uat_${S}=${NOW - 60}`], { a: tokOf('user_a'), b: { claims: claims({ iat: NOW - 50 }, 'http://clerk.oracle.test', 'user_b') } });
sfx('both signed in, unsuffixed newer', ['__session={b}', UAT, `__session_${S}={a}`, `__client_uat_${S}=${NOW - 60}`], { a: tokOf('user_a', { iat: NOW - 20 }), b: tokOf('user_b', { iat: NOW - 5 }) });
sfx('both signed in, suffixed newer', ['__session={b}', UAT, `__session_${S}={a}`, `__client_uat_${S}=${NOW - 60}`], { a: tokOf('user_a', { iat: NOW - 5 }), b: tokOf('user_b', { iat: NOW - 20 }) });
sfx('both signed in, same iat', ['__session={b}', UAT, `__session_${S}={a}`, `__client_uat_${S}=${NOW - 60}`], { a: tokOf('user_a'), b: tokOf('user_b') });
sfx('unsuffixed malformed next to a suffixed pair', ['__session=garbage', UAT, `__session_${S}={a}`, `__client_uat_${S}=${NOW - 60}`], { a: tok() });
sfx('unsuffixed without iss next to a suffixed pair', ['__session={b}', UAT, `__session_${S}={a}`, `__client_uat_${S}=${NOW - 60}`], { a: tokOf('user_a'), b: tokOf('user_b', { iss: undefined }) });
sfx('suffixed signed in, unsuffixed uat 0, production', ['__client_uat=0', `__session_${S}={a}`, `__client_uat_${S}=${NOW - 60}`], { a: tok({ exp: NOW - 30, iat: NOW - 90 }) });
sfx('suffixed uat only, no session anywhere', [`__client_uat_${S}=${NOW - 60}`], {});
sfx('suffixed pair on a fetch, uat newer', [`__session_${S}={a}`, `__client_uat_${S}=${NOW}`], { a: tok() }, FETCH);
sfx('suffixed pair with an unsuffixed uat 0 only', [`__session_${S}={a}`, `__client_uat_${S}=${NOW - 60}`, '__client_uat=0'], { a: tok() });

// --- D. Development instances --------------------------------------------------------------
const dev = (name, s) => add({ instance: 'development', name: `dev: ${name}`, ...s });
dev('valid cookie with the dev browser cookie', { headers: { ...DOC, cookie: cookie('__session={c}', UAT, '__clerk_db_jwt=dvb_1') }, tokens: { c: devTok() } });
dev('valid cookie without the dev browser token, document', { headers: { ...DOC, cookie: cookie('__session={c}', UAT) }, tokens: { c: devTok() } });
dev('valid cookie without the dev browser token, fetch', { headers: { ...FETCH, cookie: cookie('__session={c}', UAT) }, tokens: { c: devTok() } });
dev('no cookies at all, document', { headers: { ...DOC } });
dev('no cookies at all, fetch', { headers: { ...FETCH } });
dev('dev browser token in the query', { path: '/welcome?__clerk_db_jwt=dvb_q&x=1', headers: { ...DOC, cookie: cookie('__session={c}', UAT) }, tokens: { c: devTok() } });
dev('dev browser token in the query on a fetch', { path: '/api/x?__clerk_db_jwt=dvb_q', headers: { ...FETCH, cookie: cookie('__session={c}', UAT) }, tokens: { c: devTok() } });
dev('legacy dev session in the query is dropped from redirect_url', { path: '/p?__dev_session=old&y=2', headers: { ...DOC, cookie: cookie('__session={c}', UAT, '__clerk_db_jwt=dvb_1') }, tokens: { c: devTok({ exp: NOW - 30, iat: NOW - 90 }) } });
dev('expired cookie with the dev browser cookie', { headers: { ...DOC, cookie: cookie('__session={c}', UAT, '__clerk_db_jwt=dvb_1') }, tokens: { c: devTok({ exp: NOW - 30, iat: NOW - 90 }) } });
dev('suffixed dev browser cookie with suffixed pair', { headers: { ...DOC, cookie: cookie(`__session_${DS}={c}`, `__client_uat_${DS}=${NOW - 60}`, `__clerk_db_jwt_${DS}=dvb_s`) }, tokens: { c: devTok() } });
dev('suffixed pair, unsuffixed dev browser only', { headers: { ...DOC, cookie: cookie(`__session_${DS}={c}`, `__client_uat_${DS}=${NOW - 60}`, '__clerk_db_jwt=dvb_u') }, tokens: { c: devTok({ exp: NOW - 30, iat: NOW - 90 }) } });
dev('suffixed signed in and expired, unsuffixed uat 0', { headers: { ...DOC, cookie: cookie('__client_uat=0', `__session_${DS}={c}`, `__client_uat_${DS}=${NOW - 60}`, '__clerk_db_jwt=dvb_1') }, tokens: { c: devTok({ exp: NOW - 30, iat: NOW - 90 }) } });
dev('suffixed signed in and valid, unsuffixed uat 0', { headers: { ...DOC, cookie: cookie('__client_uat=0', `__session_${DS}={c}`, `__client_uat_${DS}=${NOW - 60}`, `__clerk_db_jwt_${DS}=dvb_1`) }, tokens: { c: devTok() } });
dev('uat 0 with the dev browser cookie', { headers: { ...DOC, cookie: cookie('__session={c}', '__client_uat=0', '__clerk_db_jwt=dvb_1') }, tokens: { c: devTok() } });
dev('header token needs no dev browser', { headers: { ...API, authorization: 'Bearer {c}' }, tokens: { c: devTok() } });
dev('handshake nonce in the query', { path: '/back?__clerk_handshake_nonce=n_dev&__clerk_db_jwt=dvb_q', headers: { ...DOC, cookie: '__clerk_db_jwt=dvb_1' }, tokens: { f: devTok({}, 'user_fresh') }, nonces: { n_dev: ['__session={f}; Path=/; SameSite=Lax', `__client_uat=${NOW}; Path=/; Max-Age=315360000`] } });

// --- E. Handshake nonces -------------------------------------------------------------------
const nonce = (name, s) => add({ name: `nonce: ${name}`, ...s });
const directives = [`__session={f}; Path=/; Secure; SameSite=Lax`, `__client_uat=${NOW}; Path=/; Secure; Max-Age=315360000`];
nonce('known, in a cookie', { headers: { ...DOC, cookie: cookie('__clerk_handshake_nonce=n_1', '__session={old}', UAT) }, tokens: { f: fresh(), old: tok({ exp: NOW - 30, iat: NOW - 90 }) }, nonces: { n_1: directives } });
nonce('known, in the query', { path: '/dash?__clerk_handshake_nonce=n_2', headers: { ...DOC }, tokens: { f: fresh() }, nonces: { n_2: directives } });
nonce('known, on a fetch request', { headers: { ...FETCH, cookie: '__clerk_handshake_nonce=n_3' }, tokens: { f: fresh() }, nonces: { n_3: directives } });
nonce('unknown to the Backend API, valid old cookie', { headers: { ...DOC, cookie: cookie('__clerk_handshake_nonce=n_gone', '__session={old}', UAT) }, tokens: { old: tok() } });
nonce('payload without a session cookie', { headers: { ...DOC, cookie: '__clerk_handshake_nonce=n_4' }, nonces: { n_4: [`__client_uat=0; Path=/; Max-Age=315360000`] } });
nonce('payload with an expired token falls back to the cookies', { headers: { ...DOC, cookie: cookie('__clerk_handshake_nonce=n_5', '__session={old}', UAT) }, tokens: { f: fresh('user_fresh'), old: tok() }, nonces: { n_5: directives } });
scenarios[scenarios.length - 1].tokens.f = tokOf('user_fresh', { exp: NOW - 30, iat: NOW - 90 });
nonce('payload with a suffixed session cookie', { headers: { ...DOC, cookie: '__clerk_handshake_nonce=n_6' }, tokens: { f: fresh() }, nonces: { n_6: [`__session_${S}={f}; Path=/`, `__client_uat_${S}=${NOW}; Path=/`] } });
nonce('with a header token, the header wins', { headers: { ...DOC, authorization: 'Bearer {t}', cookie: '__clerk_handshake_nonce=n_7' }, tokens: { t: tok(), f: fresh() }, nonces: { n_7: directives } });
