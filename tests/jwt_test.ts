/**
 * Operator-mode groundwork (src/jwt/): JWTs and creds made by the official JS tooling
 * (@nats-io/jwt, @nats-io/nkeys) or signed by hand for shapes the tooling will not write, decoded,
 * validated and authenticated with nats-io/jwt's and nats-server's texts (pinned from the Go
 * library and nats-server 2.9.10); then a table of logins decided by the real nats-server in
 * operator mode and by authenticateJwtUser, which must agree, down to the log line.
 */

import assert from "node:assert/strict";
import { connect, credsAuthenticator } from "@nats-io/transport-node";
// deno-lint-ignore no-import-prefix -- test-only reference tooling; no deno.json entry
import * as jwtjs from "npm:@nats-io/jwt@0.0.11";
// deno-lint-ignore no-import-prefix -- test-only reference tooling; no deno.json entry
import * as nkeys from "npm:@nats-io/nkeys@2.0.3";
import {
  decodeAccountClaims,
  decodeJwt,
  decodeOperatorClaims,
  decodeUserClaims,
  JwtError,
  operatorDidSign,
  parseDecoratedJwt,
  signingKeyScope,
} from "../src/jwt/claims.ts";
import { cidrContains, parseCIDR, parseIP } from "../src/jwt/cidr.ts";
import {
  CredsError,
  formatUserCreds,
  parseCreds,
  parseDecoratedNkey,
  parseDecoratedUserNkey,
  signNonce,
} from "../src/jwt/creds.ts";
import { expandPermissionTemplate, TemplateError } from "../src/jwt/permission_template.ts";
import { checkTimeWindows, loadLocationError, parseClock } from "../src/jwt/time_window.ts";
import {
  AccountLookupError,
  operatorVersionError,
  readOperatorJwt,
  type Trust,
  trustFromOperators,
  verifyAccountJwt,
} from "../src/jwt/trust.ts";
import type { AccountClaims, UserPermissionLimits } from "../src/jwt/types.ts";
import {
  authenticatedJwtLog,
  authenticateJwtUser,
  effectiveClientLimits,
  type JwtAuthAccepted,
  type JwtAuthRequest,
  type JwtAuthResult,
  permissionsFromJwt,
} from "../src/jwt/user_auth.ts";
import { validateAccount, validateOperator, validateUser } from "../src/jwt/validate.ts";
import {
  fromPublicKeyError,
  newNonce,
  NkeyPair,
  NkeyPrefix,
  verifyNonceSignature,
} from "../src/nkeys.ts";
import { compilePermissions } from "../src/permissions.ts";
import { HAVE_NATS_SERVER, RawClient, waitFor } from "./helpers.ts";
import { freePort, ServerProcess } from "./process_helpers.ts";

type KeyPair = nkeys.KeyPair;
const enc = new TextEncoder();
const dec = new TextDecoder();

// Fixtures --------------------------------------------------------------------------------------

function b64url(data: Uint8Array | string): string {
  const b = typeof data === "string" ? enc.encode(data) : data;
  return btoa(String.fromCharCode(...b)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

const HEADER = { typ: "JWT", alg: "ed25519-nkey" };

/** A JWT with exactly this payload, signed as the Go library signs v2 (or v1) JWTs. */
function signJwt(
  payload: unknown,
  signer: KeyPair,
  opts: { header?: unknown; v1?: boolean } = {},
): string {
  const h = b64url(
    typeof opts.header === "string" ? opts.header : JSON.stringify(opts.header ?? HEADER),
  );
  const p = b64url(typeof payload === "string" ? payload : JSON.stringify(payload));
  const sig = signer.sign(enc.encode(opts.v1 ? p : `${h}.${p}`));
  return `${h}.${p}.${b64url(sig)}`;
}

const nowSec = () => Math.floor(Date.now() / 1000);
const seedOf = (kp: KeyPair) => dec.decode(kp.getSeed());

/** Account limits that let everything through (absent limits mean zero in a v2 account JWT). */
const UNLIMITED = {
  subs: -1,
  data: -1,
  payload: -1,
  imports: -1,
  exports: -1,
  wildcards: true,
  conn: -1,
  leaf: -1,
};

function userPayload(account: KeyPair, user: KeyPair, nats: object = {}, top: object = {}) {
  return {
    jti: "J",
    iat: nowSec(),
    iss: account.getPublicKey(),
    name: "u",
    sub: user.getPublicKey(),
    ...top,
    nats: { subs: -1, data: -1, payload: -1, type: "user", version: 2, ...nats },
  };
}

function accountPayload(op: KeyPair, account: KeyPair, nats: object = {}, top: object = {}) {
  return {
    jti: "J",
    iat: nowSec(),
    iss: op.getPublicKey(),
    name: "acc",
    sub: account.getPublicKey(),
    ...top,
    nats: { limits: UNLIMITED, type: "account", version: 2, ...nats },
  };
}

async function rejects(p: Promise<unknown>, message: string): Promise<void> {
  await assert.rejects(p, (e: Error) => {
    assert.equal(e.message, message);
    return true;
  });
}

// Decoding --------------------------------------------------------------------------------------

Deno.test("JWTs made by @nats-io/jwt decode with their claims and kinds", async () => {
  const op = nkeys.createOperator();
  const sk = nkeys.createOperator();
  const acc = nkeys.createAccount();
  const user = nkeys.createUser();
  const opJwt = await jwtjs.encodeOperator("OP", op, { signing_keys: [sk.getPublicKey()] });
  const accJwt = await jwtjs.encodeAccount("ACC", acc, {
    limits: UNLIMITED,
    revocations: { [user.getPublicKey()]: 5 },
    signing_keys: [nkeys.createAccount().getPublicKey()],
  }, { signer: sk });
  const userJwt = await jwtjs.encodeUser("USR", user, acc, {
    pub: { allow: ["a.>"], deny: ["a.b"] },
    sub: { allow: ["q"] },
    resp: { max: 2, ttl: 1e9 },
    src: ["127.0.0.1/32"],
    times: [{ start: "01:00:00", end: "02:00:00" }],
    bearer_token: true,
    allowed_connection_types: ["STANDARD"],
    tags: ["t:1"],
  });

  const o = await decodeOperatorClaims(opJwt);
  assert.equal(o.sub, op.getPublicKey());
  assert.equal(o.iss, op.getPublicKey());
  assert.equal(o.name, "OP");
  assert.deepEqual(o.nats.signing_keys, [sk.getPublicKey()]);
  assert.equal(o.nats.type, "operator");
  assert.equal(o.nats.version, 2);

  const a = await decodeAccountClaims(accJwt);
  assert.equal(a.iss, sk.getPublicKey());
  assert.deepEqual(a.nats.limits, UNLIMITED);
  assert.deepEqual(a.nats.revocations, { [user.getPublicKey()]: 5 });
  assert.equal(a.nats.signing_keys.length, 1);
  assert.deepEqual(a.nats.default_permissions, {});

  const u = await decodeUserClaims(userJwt);
  assert.equal(u.iss, acc.getPublicKey());
  assert.equal(u.sub, user.getPublicKey());
  assert.deepEqual(u.nats.pub, { allow: ["a.>"], deny: ["a.b"] });
  assert.deepEqual(u.nats.resp, { max: 2, ttl: 1e9 });
  assert.deepEqual(u.nats.src, ["127.0.0.1/32"]);
  assert.equal(u.nats.bearer_token, true);
  assert.deepEqual(u.nats.tags, ["t:1"]);
  assert.equal(u.nats.subs, -1);
  assert.equal((await decodeJwt(userJwt)).kind, "user");

  assert.equal(operatorDidSign(o, a), true);
  assert.equal(operatorDidSign({ ...o, nats: { ...o.nats, signing_keys: [] } }, a), false);
});

Deno.test("decode failures carry the jwt library's texts, checked in its order", async () => {
  const acc = nkeys.createAccount();
  const user = nkeys.createUser();
  const good = signJwt(userPayload(acc, user), acc);
  const [h, p, s] = good.split(".");
  await rejects(decodeJwt(`${h}.${p}`), "expected 3 chunks");
  await rejects(decodeJwt(`${h}.${p}.${s}.x`), "expected 3 chunks");
  await rejects(decodeJwt(`a$c.${p}.${s}`), "illegal base64 data at input byte 1");
  await rejects(decodeJwt(`${h}.${p}=.${s}`), `illegal base64 data at input byte ${p.length}`);
  await rejects(
    decodeJwt(`${h}.${p}.${s}AAA`),
    `illegal base64 data at input byte ${s.length + 2}`,
  );
  // One more character still decodes, to a 65-byte signature that cannot verify.
  await rejects(decodeJwt(`${h}.${p}.${s}A`), "claim failed V2 signature verification");
  const payload = userPayload(acc, user);
  const cases: [unknown, string][] = [
    [{ typ: "JWS", alg: "ed25519-nkey" }, 'not supported type "JWS"'],
    [{ typ: "jwt", alg: "ED25519-foo" }, 'unexpected "ED25519-foo" algorithm'],
    [{ typ: "JWT", alg: "RS256" }, 'unexpected "RS256" algorithm'],
    [{ typ: 5 }, "json: cannot unmarshal number into Go struct field Header.typ of type string"],
    ["[1]", "json: cannot unmarshal array into Go value of type jwt.Header"],
    ['{"typ":', "unexpected end of JSON input"],
  ];
  for (const [header, err] of cases) {
    await rejects(decodeJwt(signJwt(payload, acc, { header })), err);
  }
  // The v1 algorithm name is still accepted in the header.
  assert.equal(
    (await decodeJwt(signJwt(payload, acc, { header: { typ: "jwt", alg: "ED25519" } })))
      .kind,
    "user",
  );

  // Payload JSON: Go's scanner and type errors.
  const syntax: [string, string][] = [
    ['{"a":}', "invalid character '}' looking for beginning of value"],
    ['{"a" 1}', "invalid character '1' after object key"],
    ["[1,]", "invalid character ']' looking for beginning of value"],
    ["tru", "invalid character ' ' in literal true (expecting 'e')"],
    ['"\\x"', "invalid character 'x' in string escape code"],
    ["", "unexpected end of JSON input"],
    ['{"a":1}x', "invalid character 'x' after top-level value"],
    ["-x", "invalid character 'x' in numeric literal"],
    ["1.x", "invalid character 'x' after decimal point in numeric literal"],
    ['{"a":"\\u12g4"}', "invalid character 'g' in \\u hexadecimal character escape"],
    ["[1]", "json: cannot unmarshal array into Go value of type jwt.identifier"],
  ];
  for (const [text, err] of syntax) await rejects(decodeJwt(signJwt(text, acc)), err);
  const typed: [object, string][] = [
    [
      { iss: 5 },
      "json: cannot unmarshal number into Go struct field UserClaims.iss of type string",
    ],
    [
      { exp: 1.5 },
      "json: cannot unmarshal number 1.5 into Go struct field UserClaims.exp of type int64",
    ],
    [
      { nats: { pub: 5 } },
      "json: cannot unmarshal number into Go struct field User.nats.pub of type jwt.Permission",
    ],
    [
      { nats: { pub: { allow: "x" } } },
      "json: cannot unmarshal string into Go struct field Permission.nats.pub.allow of type jwt.StringList",
    ],
    [
      { nats: { pub: { allow: [5] } } },
      "json: cannot unmarshal number into Go struct field Permission.nats.pub.allow of type string",
    ],
    [
      { nats: { src: 5 } },
      "json: cannot unmarshal number into Go struct field User.nats.src of type string",
    ],
    [
      { nats: { src: [5] } },
      "json: cannot unmarshal array into Go struct field User.nats.src of type string",
    ],
    [
      { nats: { resp: { ttl: "1s" } } },
      "json: cannot unmarshal string into Go struct field ResponsePermission.nats.resp.ttl of type time.Duration",
    ],
    [
      { nats: { times: [5] } },
      "json: cannot unmarshal number into Go struct field User.nats.times of type jwt.TimeRange",
    ],
    [
      { nats: { times: [{ start: 1 }] } },
      "json: cannot unmarshal number into Go struct field TimeRange.nats.times.start of type string",
    ],
    [
      { nats: { tags: "x" } },
      "json: cannot unmarshal string into Go struct field GenericFields.nats.tags of type jwt.TagList",
    ],
  ];
  for (const [over, err] of typed) {
    const doc = {
      ...payload,
      ...over,
      nats: { ...payload.nats, ...(over as { nats?: object }).nats },
    };
    await rejects(decodeJwt(signJwt(doc, acc)), err);
  }
  // Numbers are read from their literal, as strconv.ParseInt does.
  const big = JSON.stringify(payload).replace('"subs":-1', '"subs":10000000000000000000000');
  await rejects(
    decodeJwt(signJwt(big, acc)),
    "json: cannot unmarshal number 10000000000000000000000 into Go struct field User.nats.subs of type int64",
  );
  const exp = JSON.stringify(payload).replace('"subs":-1', '"subs":1e3');
  await rejects(
    decodeJwt(signJwt(exp, acc)),
    "json: cannot unmarshal number 1e3 into Go struct field User.nats.subs of type int64",
  );
  const neg0 = JSON.stringify(payload).replace('"subs":-1', '"subs":-0');
  assert.equal((await decodeUserClaims(signJwt(neg0, acc))).nats.subs, 0);
  // Keys match case-insensitively, as Go's decoder does.
  const folded = JSON.stringify(payload).replace('"nats":{', '"NATS":{"Pub":{"Allow":["z"]},');
  assert.deepEqual((await decodeUserClaims(signJwt(folded, acc))).nats.pub, { allow: ["z"] });
});

Deno.test("versions, kinds and issuers are checked as the jwt library checks them", async () => {
  const op = nkeys.createOperator();
  const acc = nkeys.createAccount();
  const user = nkeys.createUser();
  const p = userPayload(acc, user);
  await rejects(
    decodeJwt(signJwt({ ...p, nats: { ...p.nats, version: 3 } }, acc)),
    "JWT was generated by a newer version ",
  );
  await rejects(
    decodeJwt(signJwt({ ...p, nats: { ...p.nats, version: 0 } }, acc)),
    "library supports version 2 or less - received 0",
  );
  await rejects(
    decodeJwt(signJwt({ ...p, nats: { ...p.nats, type: "cluster" } }, acc)),
    "ClusterClaims are not supported",
  );
  await rejects(
    decodeJwt(signJwt({ ...p, nats: { ...p.nats, type: "server" } }, acc)),
    "ServerClaims are not supported",
  );
  // Signed by another key than `iss`; signed over the wrong bytes for the version.
  await rejects(
    decodeJwt(signJwt(p, nkeys.createAccount())),
    "claim failed V2 signature verification",
  );
  await rejects(decodeJwt(signJwt(p, acc, { v1: true })), "claim failed V2 signature verification");
  const v1 = { iss: acc.getPublicKey(), sub: user.getPublicKey(), type: "user", nats: {} };
  await rejects(decodeJwt(signJwt(v1, acc)), "claim failed V1 signature verification");
  // A user JWT must be issued by an account key, an account JWT by an operator or account.
  await rejects(
    decodeJwt(signJwt({ ...p, iss: op.getPublicKey() }, op)),
    "unable to validate expected prefixes - [account]",
  );
  const ap = accountPayload(op, acc);
  await rejects(
    decodeJwt(signJwt({ ...ap, iss: user.getPublicKey() }, user)),
    "unable to validate expected prefixes - [account operator]",
  );
  await rejects(decodeAccountClaims(signJwt(p, acc)), "not account claim");
  await rejects(decodeUserClaims(signJwt(ap, op)), "not user claim");
  await rejects(decodeOperatorClaims(signJwt(ap, op)), "not operator claim");
  // Unknown kinds decode as generic claims (signed over the payload only, like v1).
  const generic = { iss: acc.getPublicKey(), sub: "x", nats: { type: "thing", n: 1.5 } };
  const g = await decodeJwt(signJwt(generic, acc, { v1: true }));
  assert.equal(g.kind, "generic");
  assert.deepEqual(g.claims.nats, { type: "thing", n: 1.5 });
});

Deno.test("v1 JWTs are migrated to the v2 shape", async () => {
  const op = nkeys.createOperator();
  const acc = nkeys.createAccount();
  const user = nkeys.createUser();
  const sk = nkeys.createAccount().getPublicKey();
  const u = await decodeUserClaims(signJwt(
    {
      iss: acc.getPublicKey(),
      sub: user.getPublicKey(),
      type: "user",
      tags: ["t"],
      issuer_account: acc.getPublicKey(),
      nats: { pub: { allow: ["a"] }, src: "1.1.1.1/32, 2.2.2.0/24", max: 5 },
    },
    acc,
    { v1: true },
  ));
  assert.deepEqual(u.nats, {
    pub: { allow: ["a"] },
    src: ["1.1.1.1/32", "2.2.2.0/24"],
    subs: -1,
    data: -1,
    payload: -1,
    type: "user",
    version: 1,
    tags: ["t"],
    issuer_account: acc.getPublicKey(),
  });
  const a = await decodeAccountClaims(signJwt(
    {
      iss: op.getPublicKey(),
      sub: acc.getPublicKey(),
      type: "account",
      nats: { signing_keys: [sk, sk], limits: { subs: 3, conn: 2 } },
    },
    op,
    { v1: true },
  ));
  assert.deepEqual(a.nats.signing_keys, [sk]);
  assert.deepEqual(a.nats.limits, { subs: 3, conn: 2 });
  assert.equal(a.nats.version, 1);
});

Deno.test("account signing keys: plain and scoped, with Go's errors for bad scopes", async () => {
  const op = nkeys.createOperator();
  const acc = nkeys.createAccount();
  const plain = nkeys.createAccount().getPublicKey();
  const scoped = nkeys.createAccount().getPublicKey();
  const a = await decodeAccountClaims(signJwt(
    accountPayload(op, acc, {
      signing_keys: [plain, 5, { kind: "user_scope", key: scoped, role: "r", template: {} }],
    }),
    op,
  ));
  assert.equal(signingKeyScope(a, plain), null);
  assert.deepEqual(signingKeyScope(a, scoped), {
    kind: "user_scope",
    key: scoped,
    role: "r",
    template: { subs: -1, data: -1, payload: -1 },
  });
  assert.equal(signingKeyScope(a, acc.getPublicKey()), undefined);
  const bad: [unknown, string][] = [
    [[{ kind: "x" }], "unknown signing key scope %!q(<nil>)"],
    [[{ kind: "x", type: 5 }], "unknown signing key scope %!q(float64=5)"],
    [
      {},
      "json: cannot unmarshal object into Go struct field Account.nats.signing_keys of type []interface {}",
    ],
    [
      [{ kind: "user_scope", key: 5 }],
      "json: cannot unmarshal number into Go struct field Account.nats.signing_keys of type string",
    ],
    [
      [{ kind: "user_scope", key: "K", template: { subs: "x" } }],
      "json: cannot unmarshal string into Go struct field Account.nats.signing_keys of type int64",
    ],
  ];
  for (const [signing_keys, err] of bad) {
    await rejects(decodeJwt(signJwt(accountPayload(op, acc, { signing_keys }), op)), err);
  }
  await rejects(
    decodeJwt(signJwt(accountPayload(op, acc, { exports: [{ type: "x" }] }), op)),
    'unknown export type "x"',
  );
  await rejects(
    decodeJwt(signJwt(accountPayload(op, acc, { exports: [{ type: null }] }), op)),
    'unknown export type ""',
  );
  await rejects(
    decodeJwt(
      signJwt(accountPayload(op, acc, { mappings: { a: [{ subject: "b", weight: 300 }] } }), op),
    ),
    "json: cannot unmarshal number 300 into Go struct field WeightedMapping.nats.mappings.weight of type uint8",
  );
});

// Validation ------------------------------------------------------------------------------------

/** Issues as "text|blocking|timeCheck", sorted (Go reports some in map order). */
function issues(vr: { issues: { description: string; blocking: boolean; timeCheck: boolean }[] }) {
  return vr.issues.map((i) => `${i.description}|${i.blocking}|${i.timeCheck}`).sort();
}

Deno.test("user validation reports what the jwt library reports", async () => {
  const acc = nkeys.createAccount();
  const u = await decodeUserClaims(signJwt(
    userPayload(acc, nkeys.createUser(), {
      pub: { allow: ["a b", "", "a b c"] },
      sub: { allow: ["x q"], deny: ["y z w"] },
      src: ["1.2.3.0/24", "bad"],
      times: [{ start: "9:00:00", end: "" }, { start: "25:00:00", end: "x" }],
      times_location: "america/new_york",
      issuer_account: "zz",
    }, { exp: 5, nbf: 99999999999 }),
    acc,
  ));
  assert.deepEqual(issues(validateUser(u)), [
    'Permission Subject "a b c" contains too many spaces|true|false',
    'Permission Subject "a b" is not allowed to contain queue|true|false',
    'Permission Subject "y z w" contains too many spaces|true|false',
    "account_id is not an account public key|true|false",
    "claim is expired|false|true",
    "claim is not yet valid|false|true",
    "could not parse iana time zone by name: unknown time zone america/new_york|true|false",
    'end in time range is invalid "x"|true|false',
    'invalid cidr "bad" in user src limits|true|false',
    'start in time range is invalid "25:00:00"|true|false',
    "subject cannot be empty|true|false",
    "time ranges end must contain an end|true|false",
  ]);
  const fine = await decodeUserClaims(signJwt(
    userPayload(acc, nkeys.createUser(), {
      times: [{ start: "9:00:00", end: "17:00:00.250" }],
      times_location: "Europe/Berlin",
      src: "10.0.0.0/8,::1/128",
    }),
    acc,
  ));
  assert.deepEqual(validateUser(fine).issues, []);
  const expired = await decodeUserClaims(signJwt(
    userPayload(acc, nkeys.createUser(), {}, {
      exp: 5,
    }),
    acc,
  ));
  const vr = validateUser(expired);
  assert.equal(vr.isBlocking(false), false);
  assert.equal(vr.isBlocking(true), true);
  assert.equal(String(vr), "&{Issues:[claim is expired]}");
});

Deno.test("account validation reports what the jwt library reports", async () => {
  const op = nkeys.createOperator();
  const acc = nkeys.createAccount();
  const other = nkeys.createAccount().getPublicKey();
  const a = await decodeAccountClaims(signJwt(
    accountPayload(op, acc, {
      limits: { exports: -1, imports: -1 },
      exports: [
        { subject: "a.*", type: "service", response_type: "Foo", account_token_position: 1 },
        {
          subject: "q",
          type: "stream",
          response_type: "Stream",
          service_latency: { sampling: 200, results: "r.*" },
          response_threshold: 5,
        },
        { subject: "a.b", type: "service" },
        null,
      ],
      imports: [
        { subject: "a.>", type: "service", account: other, to: "x" },
        { subject: "x", type: "service", account: other },
        { subject: "s.*", type: "stream", local_subject: "t.$2", share: true },
        { subject: "t", type: "stream" },
      ],
      signing_keys: ["bad", { kind: "user_scope", key: "bad2", template: {} }],
      mappings: { m: [{ subject: "b.*", weight: 60 }, { subject: "c", weight: 60 }] },
      info_url: "foo",
    }),
    op,
  ));
  assert.deepEqual(issues(await validateAccount(a)), [
    '"bad" is not a valid account signing key|true|false',
    "Account Token Position 1 matches 'a' but must match a * in: a.*|true|false",
    `Mapping "m" exceeds 100% among all of it's weighted to mappings|true|false`,
    'Reference $2 in "t.$2" reference * in "s.*" that do not exist|true|false',
    'Subject "b.*" in weighted mapping "m" is not allowed to contains wildcard|true|false',
    "account to import from is not specified|true|false",
    "account to import from is not specified|true|false",
    "bad2 is not an account public key|true|false",
    "error parsing info url: no hostname or scheme|true|false",
    'invalid response type for service: "Foo"|true|false',
    'invalid response type for stream: "Stream"|true|false',
    "latency tracking only permitted for services|true|false",
    "null export is not allowed|true|false",
    'overlapping subject namespace for ""|true|false',
    'overlapping subject namespace for "x" and "x"|true|false',
    "response threshold only valid for services|true|false",
    "results subject can not contain wildcards|true|false",
    "sampling percentage needs to be between 1-100|true|false",
    'service export subject "a.*" already exports "a.b"|true|false',
    'sharing information (for latency tracking) is only valid for services: "s.*"|true|false',
    "subject does not contain enough * or reference wildcards $[0-9]|true|false",
    "the field to has been deprecated (use LocalSubject instead)|false|false",
  ]);
  // Without limits an account may not import or export at all (zero is a limit).
  const bare = await decodeAccountClaims(signJwt(
    accountPayload(op, acc, {
      limits: undefined,
      exports: [{ subject: "a.>", type: "stream" }],
      imports: [{ subject: "i", type: "stream", account: other }],
    }),
    op,
  ));
  assert.deepEqual(issues(await validateAccount(bare)), [
    "the account contains more exports than allowed by the operator|true|false",
    "the account contains more imports than allowed by the operator|true|false",
    "the account contains wildcard exports that are not allowed by the operator|true|false",
  ]);
  const self = await decodeAccountClaims(signJwt(
    { ...accountPayload(op, acc, { limits: { subs: 5 } }), iss: acc.getPublicKey() },
    acc,
  ));
  assert.deepEqual(issues(await validateAccount(self)), [
    "self-signed account JWTs shouldn't contain operator limits|false|false",
  ]);
});

Deno.test("activation tokens of imports are decoded and matched against the import", async () => {
  const op = nkeys.createOperator();
  const exporter = nkeys.createAccount();
  const importer = nkeys.createAccount();
  const token = await jwtjs.encodeActivation("act", importer, exporter, "service", {
    subject: "svc.>",
  });
  const good = await decodeAccountClaims(signJwt(
    accountPayload(op, importer, {
      imports: [{ subject: "svc.a", type: "service", account: exporter.getPublicKey(), token }],
    }),
    op,
  ));
  assert.deepEqual(issues(await validateAccount(good)), []);
  const bad = await decodeAccountClaims(signJwt(
    accountPayload(op, importer, {
      imports: [
        { subject: "other", type: "stream", account: exporter.getPublicKey(), token },
        { subject: "x", type: "service", account: exporter.getPublicKey(), token: "nope" },
      ],
    }),
    op,
  ));
  assert.deepEqual(issues(await validateAccount(bad)), [
    'activation token import subject "svc.>" doesn\'t match import "other"|true|false',
    'import "x" contains an invalid activation token|true|false',
    "mismatch between token import type service and type of import stream|true|false",
  ]);
});

Deno.test("operator validation reports what the jwt library reports", async () => {
  const op = nkeys.createOperator();
  const acc = nkeys.createAccount().getPublicKey();
  const o = await decodeOperatorClaims(signJwt({
    iss: op.getPublicKey(),
    sub: op.getPublicKey(),
    nats: {
      type: "operator",
      version: 2,
      signing_keys: [acc],
      system_account: op.getPublicKey(),
      account_server_url: "foo",
      operator_service_urls: [
        "nats://u:p@h:4222",
        "http://h",
        "nats://h/p",
        "nats://h:x",
        "tls://h:4222",
      ],
      assert_server_version: "2.x.1",
    },
  }, op));
  assert.deepEqual(
    issues(validateOperator(o)),
    [
      `${acc} is not an operator public key|true|false`,
      `${op.getPublicKey()} is not an account public key|true|false`,
      'account server url "foo" requires a protocol|true|false',
      "assert server version error: asserted server version cant parse x to int|true|false",
      'error parsing operator service url "nats://h:x": parse "nats://h:x": invalid port ":x" after host|true|false',
      `operator service url "http://h" - protocol not supported (only 'nats' or 'tls' only)|true|false`,
      'operator service url "nats://h/p" - paths are not supported|true|false',
      'operator service url "nats://u:p@h:4222" - credentials are not supported|true|false',
    ].sort(),
  );
  const v = { ...o, nats: { ...o.nats, assert_server_version: "2.10.0" } };
  assert.equal(
    operatorVersionError(v, "2.9.10"),
    `operator ${o.sub} expected minor version 10 > server minor version 9`,
  );
  assert.equal(
    operatorVersionError({ ...v, nats: { ...v.nats, assert_server_version: "2.9.9" } }, "2.9.10"),
    null,
  );
});

// Networks, time windows, templates ------------------------------------------------------------------

Deno.test("source networks parse and match as Go's net package", () => {
  const inNet = (cidr: string, ip: string) => {
    const net = parseCIDR(cidr);
    const addr = parseIP(ip);
    assert.ok(net && addr, `${cidr} ${ip}`);
    return cidrContains(net, addr);
  };
  assert.equal(inNet("127.0.0.0/8", "127.1.2.3"), true);
  assert.equal(inNet("127.0.0.0/8", "128.0.0.1"), false);
  assert.equal(inNet("10.1.2.3/32", "10.1.2.3"), true);
  assert.equal(inNet("0.0.0.0/0", "8.8.8.8"), true);
  assert.equal(inNet("0.0.0.0/0", "::1"), false);
  assert.equal(inNet("::/0", "127.0.0.1"), false);
  assert.equal(inNet("::1/128", "::1"), true);
  assert.equal(inNet("2001:db8::/32", "2001:db8:1::5"), true);
  assert.equal(inNet("2001:db8::/32", "2001:db9::5"), false);
  // An IPv4-mapped network is an IPv4 network; a mapped client address is an IPv4 address.
  assert.equal(inNet("::ffff:10.0.0.0/104", "10.9.9.9"), true);
  assert.equal(inNet("10.0.0.0/8", "::ffff:10.1.1.1"), true);
  for (
    const bad of [
      "bad",
      "10.0.0.0",
      "010.0.0.0/8",
      "10.0.0.0/33",
      "::/129",
      "1.2.3.4/x",
      "fe80::1%eth0/64",
      "1:2:3:4:5:6:7:8:9/64",
      "1::2::3/64",
    ]
  ) {
    assert.equal(parseCIDR(bad), null, bad);
  }
  assert.deepEqual(parseIP("1.2.3.4")?.subarray(12), new Uint8Array([1, 2, 3, 4]));
  assert.equal(parseIP("1.2.3"), null);
  assert.equal(parseIP("localhost"), null);
  assert.ok(parseIP("::ffff:1.2.3.4"));
});

Deno.test("connect-time windows follow nats-server's validateTimes, overnight quirk included", () => {
  const at = (iso: string) => new Date(iso);
  const w = (start: string, end: string) => [{ start, end }];
  assert.deepEqual(checkTimeWindows(undefined, undefined, at("2024-01-01T12:00:00Z")), {
    allowed: true,
    validForMs: 0,
  });
  assert.deepEqual(checkTimeWindows(w("09:00:00", "17:00:00"), "UTC", at("2024-01-01T12:00:00Z")), {
    allowed: true,
    validForMs: 5 * 3600_000,
  });
  assert.equal(
    checkTimeWindows(w("09:00:00", "17:00:00"), "UTC", at("2024-01-01T18:00:00Z")).allowed,
    false,
  );
  // In the zone given: 12:00 UTC is 07:00 in New York (winter).
  assert.equal(
    checkTimeWindows(w("09:00:00", "17:00:00"), "America/New_York", at("2024-01-01T12:00:00Z"))
      .allowed,
    false,
  );
  assert.deepEqual(
    checkTimeWindows(w("06:30:00", "08:00:00"), "America/New_York", at("2024-01-01T12:00:00Z")),
    { allowed: true, validForMs: 3600_000 },
  );
  // An overnight window counts from its start until tomorrow's end...
  assert.deepEqual(checkTimeWindows(w("22:00:00", "06:00:00"), "UTC", at("2024-01-01T23:00:00Z")), {
    allowed: true,
    validForMs: 7 * 3600_000,
  });
  // ...but not after midnight: today's start is still ahead (as in nats-server).
  assert.equal(
    checkTimeWindows(w("22:00:00", "06:00:00"), "UTC", at("2024-01-02T02:00:00Z")).allowed,
    false,
  );
  // Any window may match; unparsable values refuse.
  assert.equal(
    checkTimeWindows(
      [...w("01:00:00", "02:00:00"), ...w("11:00:00", "13:00:00")],
      "UTC",
      at("2024-01-01T12:00:00Z"),
    ).allowed,
    true,
  );
  assert.equal(
    checkTimeWindows(w("xx", "13:00:00"), "UTC", at("2024-01-01T12:00:00Z")).allowed,
    false,
  );
  assert.equal(
    checkTimeWindows(w("11:00:00", "13:00:00"), "Nowhere/Zone", at("2024-01-01T12:00:00Z")).allowed,
    false,
  );
  assert.equal(parseClock("9:05:00"), (9 * 3600 + 5 * 60) * 1000);
  assert.equal(parseClock("09:05:00.5"), (9 * 3600 + 5 * 60) * 1000 + 500);
  for (const bad of ["24:00:00", "09:5:00", "09:05", "09:60:00", "109:00:00", " 9:00:00"]) {
    assert.equal(parseClock(bad), null, bad);
  }
  assert.equal(loadLocationError(""), null);
  assert.equal(loadLocationError("Local"), null);
  assert.equal(loadLocationError("Asia/Tokyo"), null);
  assert.equal(loadLocationError("asia/tokyo"), "unknown time zone asia/tokyo");
  assert.equal(loadLocationError("../etc/passwd"), "time: invalid location name");
});

function template(t: Partial<UserPermissionLimits>, tags: string[] = []) {
  return expandPermissionTemplate(t, {
    userName: "alice",
    userKey: "UKEY",
    userTags: tags,
    accountName: "acme",
    accountKey: "AKEY",
    accountTags: ["region:eu"],
  });
}

Deno.test("scoped signing key templates expand as in nats-server 2.9.10", () => {
  assert.deepEqual(
    template({
      pub: {
        allow: ["{{name()}}.>", "x.{{subject()}}", "{{account-name()}}.{{account-subject()}}"],
      },
      sub: { allow: ["plain"], deny: ["{{account-tag(region)}}.secret"] },
    }),
    {
      pub: { allow: ["alice.>", "x.UKEY", "acme.AKEY"] },
      sub: { allow: ["plain"], deny: ["eu.secret"] },
    },
  );
  // Several tag values: one subject per combination; the function name is case-insensitive.
  assert.deepEqual(
    template({ pub: { allow: ["d.{{Tag(dept)}}.{{tag(site)}}"] } }, [
      "dept:eng",
      "dept:ops",
      "site:a",
    ])
      .pub,
    { allow: ["d.eng.a", "d.ops.a"] },
  );
  // Unknown functions and missing tags give invalid subjects: dropped from allow lists (an emptied
  // allow list becomes deny >), fatal in deny lists.
  assert.deepEqual(template({ pub: { allow: ["{{nope()}}", "t.{{tag(none)}}"] } }).pub, {
    allow: [],
    deny: [">"],
  });
  assert.throws(() => template({ sub: { deny: ["t.{{tag(none)}}"] } }), TemplateError);
  // Lists without templates are left as they are.
  assert.deepEqual(template({ pub: { allow: ["a b c"] }, subs: 3 }), {
    pub: { allow: ["a b c"] },
    sub: {},
    subs: 3,
  });
});

// Creds and keys --------------------------------------------------------------------------------

Deno.test("creds files from @nats-io/jwt and from the Go format parse; the seed signs nonces", async () => {
  const acc = nkeys.createAccount();
  const user = nkeys.createUser();
  const userJwt = await jwtjs.encodeUser("u", user, acc);
  const jsCreds = dec.decode(jwtjs.fmtCreds(userJwt, user));
  const goCreds = await formatUserCreds(userJwt, seedOf(user));
  assert.equal(
    goCreds,
    `-----BEGIN NATS USER JWT-----\n${userJwt}\n------END NATS USER JWT------\n\n` +
      "************************* IMPORTANT *************************\n" +
      "NKEY Seed printed below can be used to sign and prove identity.\n" +
      "NKEYs are sensitive and should be treated as secrets.\n\n" +
      `-----BEGIN USER NKEY SEED-----\n${seedOf(user)}\n------END USER NKEY SEED------\n\n` +
      "*************************************************************\n",
  );
  for (const text of [jsCreds, goCreds, goCreds.replace(/\n/g, "\r\n")]) {
    assert.equal(parseDecoratedJwt(text), userJwt);
    assert.equal((await parseDecoratedUserNkey(text)).publicKey, user.getPublicKey());
  }
  for (const text of [jsCreds, goCreds]) {
    const creds = await parseCreds(text);
    assert.equal(creds.jwt, userJwt);
    assert.equal(creds.key.publicKey, user.getPublicKey());
    const nonce = newNonce();
    const sig = await creds.key.signNonce(nonce);
    assert.equal(await verifyNonceSignature(user.getPublicKey(), nonce, sig), true);
    assert.equal(
      user.verify(enc.encode(nonce), creds.key && (await creds.key.sign(enc.encode(nonce)))),
      true,
    );
  }
  assert.equal(
    await verifyNonceSignature(user.getPublicKey(), "abc", await signNonce(seedOf(user), "abc")),
    true,
  );
  // A bare JWT is its own "decorated" form; a bare seed line is found without decoration.
  assert.equal(parseDecoratedJwt(userJwt), userJwt);
  assert.equal((await parseDecoratedNkey(`junk\n${seedOf(acc)}\n`)).publicKey, acc.getPublicKey());
  // As in Go, an indented seed line is found but then refused.
  await rejects(parseDecoratedNkey(`junk\n  ${seedOf(acc)}\n`), "doesn't contain a seed nkey");
});

Deno.test("bad creds get the texts of nats-server and the jwt library", async () => {
  const acc = nkeys.createAccount();
  const user = nkeys.createUser();
  const userJwt = await jwtjs.encodeUser("u", user, acc);
  const accJwt = await jwtjs.encodeAccount("a", acc);
  await rejects(parseCreds(""), "Credentials file malformed");
  await rejects(
    parseCreds(`-----BEGIN X-----\n${userJwt}\n------END X------\n`),
    "Credentials file malformed",
  );
  const badSeed =
    `-----BEGIN A-----\n${userJwt}\n------END A------\n-----BEGIN B-----\nSUNOPE\n------END B------\n`;
  await rejects(parseCreds(badSeed), "Credentials file has malformed seed");
  await rejects(parseDecoratedNkey("nothing here"), "no nkey seed found");
  await rejects(parseDecoratedNkey(" SUNOPE"), "doesn't contain a seed nkey");
  await rejects(parseDecoratedNkey("SUNOPE"), "nkeys: invalid encoded key");
  await rejects(parseDecoratedUserNkey(seedOf(acc)), "doesn't contain an user seed nkey");
  await rejects(
    formatUserCreds(accJwt, seedOf(user)),
    '"account" cannot be serialized as a user config',
  );
  await rejects(formatUserCreds(userJwt, seedOf(acc)), "nkey seed is not an user seed");
  assert.ok((await rejectsWith(formatUserCreds("x", seedOf(user)))) instanceof JwtError);
  assert.ok((await rejectsWith(parseCreds(""))) instanceof CredsError);
});

async function rejectsWith(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error("did not reject");
}

Deno.test("NkeyPair: seeds from @nats-io/nkeys load, sign and verify both ways", async () => {
  for (const kp of [nkeys.createUser(), nkeys.createAccount(), nkeys.createOperator()]) {
    const ours = await NkeyPair.fromSeed(seedOf(kp));
    assert.equal(ours.publicKey, kp.getPublicKey());
    const data = enc.encode("payload");
    assert.equal(kp.verify(data, await ours.sign(data)), true);
  }
  const fresh = await NkeyPair.create(NkeyPrefix.Account);
  assert.match(fresh.publicKey, /^A[A-Z2-7]{55}$/);
  const pub = nkeys.fromPublic(fresh.publicKey);
  assert.equal(pub.verify(enc.encode("x"), await fresh.sign(enc.encode("x"))), true);
  await rejects(NkeyPair.fromSeed("SUAAAA"), "nkeys: invalid encoded key");
  await rejects(NkeyPair.fromSeed("SUAAAAAA"), "nkeys: invalid checksum");
  assert.equal(fromPublicKeyError("UNOTAKEY"), "nkeys: invalid checksum");
  assert.equal(fromPublicKeyError("U1"), "illegal base32 data at input byte 1");
  assert.equal(fromPublicKeyError("UAAA"), "nkeys: invalid encoded key");
  assert.equal(fromPublicKeyError(nkeys.createUser().getPublicKey()), null);
  await rejects(NkeyPair.fromSeed(nkeys.createUser().getPublicKey()), "nkeys: invalid seed");
});

Deno.test("operator JWTs are read from files (plain or decorated) or inline", async () => {
  const op = nkeys.createOperator();
  const opJwt = await jwtjs.encodeOperator("O", op);
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/op.jwt`, opJwt);
    await Deno.writeTextFile(
      `${dir}/op_decorated.jwt`,
      `-----BEGIN NATS OPERATOR JWT-----\n${opJwt}\n------END NATS OPERATOR JWT------\n`,
    );
    for (const source of [`${dir}/op.jwt`, `${dir}/op_decorated.jwt`, opJwt]) {
      const { jwt, claims } = await readOperatorJwt(source);
      assert.equal(jwt, opJwt);
      assert.equal(claims.sub, op.getPublicKey());
    }
    await rejects(
      readOperatorJwt(`${dir}/missing.jwt`),
      `open ${dir}/missing.jwt: no such file or directory`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// Authentication decisions ----------------------------------------------------------------------

/** An operator (with a signing key), trust for it, and accounts a lookup serves by key. */
class World {
  readonly op = nkeys.createOperator();
  readonly opSigner = nkeys.createOperator();
  readonly strictOp = nkeys.createOperator();
  readonly strictSigner = nkeys.createOperator();
  readonly accounts = new Map<string, string>();
  trust!: Trust;

  static async create(): Promise<World> {
    const w = new World();
    const op = await decodeOperatorClaims(
      await jwtjs.encodeOperator("O", w.op, { signing_keys: [w.opSigner.getPublicKey()] }),
    );
    const strict = await decodeOperatorClaims(signJwt({
      iss: w.strictOp.getPublicKey(),
      sub: w.strictOp.getPublicKey(),
      nats: {
        type: "operator",
        version: 2,
        signing_keys: [w.strictSigner.getPublicKey()],
        strict_signing_key_usage: true,
      },
    }, w.strictOp));
    w.trust = trustFromOperators([op, strict]);
    return w;
  }

  /** An account JWT signed by `signer` (the operator by default), served by the lookup. */
  account(acc: KeyPair, nats: object = {}, top: object = {}, signer = this.op): string {
    const jwt = signJwt(accountPayload(signer, acc, nats, top), signer);
    this.accounts.set(acc.getPublicKey(), jwt);
    return jwt;
  }

  lookup = async (key: string): Promise<AccountClaims> => {
    const jwt = this.accounts.get(key);
    if (jwt === undefined) throw new AccountLookupError("account missing");
    return await verifyAccountJwt(jwt, this.trust, key);
  };

  /** Logs `userJwt` in, the nonce signed with `signer` (the user's own key normally). */
  async login(
    userJwt: string | undefined,
    signer: KeyPair | null,
    req: Partial<JwtAuthRequest> = {},
    config: { lookup?: (k: string) => Promise<AccountClaims>; pinned?: Set<string> } = {},
  ): Promise<JwtAuthResult> {
    const nonce = newNonce();
    return await authenticateJwtUser({
      jwt: userJwt,
      nonce,
      sig: signer ? b64url(signer.sign(enc.encode(nonce))) : undefined,
      connectionType: "STANDARD",
      clientIp: "127.0.0.1",
      ...req,
    }, {
      trust: this.trust,
      lookupAccount: config.lookup ?? this.lookup,
      pinnedAccounts: config.pinned,
    });
  }
}

function refused(r: JwtAuthResult): string {
  assert.equal(r.ok, false, "expected a refusal");
  return r.ok ? "" : `${r.reason}: ${r.log}`;
}

function accepted(r: JwtAuthResult): JwtAuthAccepted {
  if (!r.ok) assert.fail(`refused: ${r.reason}: ${r.log}`);
  return r;
}

Deno.test("auth: the JWT must be there, decode and validate", async () => {
  const w = await World.create();
  const acc = nkeys.createAccount();
  w.account(acc);
  const user = nkeys.createUser();
  assert.equal(
    refused(await w.login(undefined, user)),
    "jwt_required: Authentication requires a user JWT",
  );
  assert.equal(
    refused(await w.login("garbage", user)),
    "jwt_invalid: User JWT not valid: expected 3 chunks",
  );
  assert.equal(
    refused(await w.login(await jwtjs.encodeAccount("x", acc), user)),
    "jwt_invalid: User JWT not valid: not user claim",
  );
  const expired = signJwt(userPayload(acc, user, {}, { exp: nowSec() - 10 }), acc);
  assert.equal(
    refused(await w.login(expired, user)),
    "jwt_no_longer_valid: User JWT no longer valid: &{Issues:[claim is expired]}",
  );
  const early = signJwt(userPayload(acc, user, { src: ["bad"] }, { nbf: nowSec() + 100 }), acc);
  assert.equal(
    refused(await w.login(early, user)),
    'jwt_no_longer_valid: User JWT no longer valid: &{Issues:[claim is not yet valid invalid cidr "bad" in user src limits]}',
  );
  const ok = accepted(await w.login(await jwtjs.encodeUser("u", user, acc), user));
  assert.equal(ok.accountKey, acc.getPublicKey());
  assert.equal(ok.signingKey, null);
  assert.equal(ok.scope, null);
  assert.equal(ok.permissions, null);
  assert.deepEqual(ok.limits, { subs: -1, payload: -1, data: -1 });
  assert.equal(ok.expiresInMs, null);
  assert.equal(ok.bearer, false);
  assert.deepEqual(ok.debug, []);
});

Deno.test("auth: allowed connection types", async () => {
  const w = await World.create();
  const acc = nkeys.createAccount();
  w.account(acc);
  const user = nkeys.createUser();
  const types = (t: string[]) =>
    signJwt(userPayload(acc, user, { allowed_connection_types: t }), acc);
  assert.equal(
    refused(await w.login(types(["WEBSOCKET"]), user)),
    "connection_type: Connection type not allowed",
  );
  accepted(await w.login(types(["websocket"]), user, { connectionType: "WEBSOCKET" }));
  accepted(await w.login(types(["LEAFNODE", "STANDARD"]), user));
  assert.equal(
    refused(await w.login(types(["FOO", "bar"]), user)),
    'connection_type_unknown: invalid connection types ["FOO" "BAR"]',
  );
  // Unknown types next to known ones are logged and ignored.
  assert.deepEqual(accepted(await w.login(types(["FOO", "STANDARD"]), user)).debug, [
    'invalid connection types ["FOO"]',
  ]);
  assert.deepEqual([
    ...accepted(await w.login(types(["mqtt", "STANDARD"]), user)).allowedConnectionTypes,
  ], [
    "MQTT",
    "STANDARD",
  ]);
});

Deno.test("auth: account lookup, trust and pinning", async () => {
  const w = await World.create();
  const acc = nkeys.createAccount();
  w.account(acc);
  const user = nkeys.createUser();
  const userJwt = await jwtjs.encodeUser("u", user, acc);
  assert.equal(
    refused(await w.login(userJwt, user, {}, { pinned: new Set(["AOTHER"]) })),
    `account_not_pinned: Account ${acc.getPublicKey()} not listed as operator pinned account`,
  );
  accepted(await w.login(userJwt, user, {}, { pinned: new Set([acc.getPublicKey()]) }));
  const stranger = nkeys.createAccount();
  assert.equal(
    refused(await w.login(await jwtjs.encodeUser("u", user, stranger), user)),
    "account_lookup: Account JWT lookup error: account missing",
  );
  // Signed by an operator we do not trust: the lookup refuses it...
  const rogue = nkeys.createOperator();
  const rogueAcc = nkeys.createAccount();
  w.account(rogueAcc, {}, {}, rogue);
  assert.equal(
    refused(await w.login(await jwtjs.encodeUser("u", user, rogueAcc), user)),
    "account_lookup: Account JWT lookup error: account validation failed",
  );
  // ...and an account that got past a lookup is still checked against the trusted keys.
  const trusting = async (k: string) => await decodeAccountClaims(w.accounts.get(k)!);
  assert.equal(
    refused(
      await w.login(await jwtjs.encodeUser("u", user, rogueAcc), user, {}, { lookup: trusting }),
    ),
    "account_untrusted: Account JWT not signed by trusted operator",
  );
  // Accounts signed with the operator's signing key are trusted; expired ones are not valid.
  const viaSigner = nkeys.createAccount();
  w.account(viaSigner, {}, {}, w.opSigner);
  accepted(await w.login(await jwtjs.encodeUser("u", user, viaSigner), user));
  const old = nkeys.createAccount();
  w.account(old, {}, { exp: nowSec() - 5 });
  assert.equal(
    refused(await w.login(await jwtjs.encodeUser("u", user, old), user)),
    "account_lookup: Account JWT lookup error: account validation failed",
  );
  assert.equal(
    refused(await w.login(await jwtjs.encodeUser("u", user, old), user, {}, { lookup: trusting })),
    "account_expired: Account JWT has expired",
  );
  await rejects(
    verifyAccountJwt(w.accounts.get(acc.getPublicKey())!, w.trust, "AOTHER"),
    "account validation failed",
  );
});

Deno.test("auth: issuers, signing keys, scopes and strict operators", async () => {
  const w = await World.create();
  const acc = nkeys.createAccount();
  const sk = nkeys.createAccount();
  const scopedKey = nkeys.createAccount();
  const scope = jwtjs.newScopedSigner(scopedKey, "dev", {
    pub: { allow: ["{{name()}}.>"], deny: [] },
    sub: { allow: ["_INBOX.>", "{{tag(team)}}.*"], deny: ["{{account-name()}}.secret"] },
    subs: 10,
    payload: 1024,
  });
  w.account(acc, { signing_keys: [sk.getPublicKey(), scope] }, { name: "acme" });
  const user = nkeys.createUser();

  const bySk = await jwtjs.encodeUser("u", user, acc, { pub: { allow: ["x"] } }, { signer: sk });
  const r = accepted(await w.login(bySk, user));
  assert.equal(r.signingKey, sk.getPublicKey());
  assert.equal(r.accountKey, acc.getPublicKey());
  assert.deepEqual(r.permissions, { publish: { allow: ["x"] } });

  const stray = nkeys.createAccount();
  const byStray = await jwtjs.encodeUser("u", user, acc, {}, { signer: stray });
  assert.equal(
    refused(await w.login(byStray, user)),
    "issuer_unknown: User JWT issuer is not known",
  );

  const scoped = await jwtjs.encodeUser("alice", user, acc, { tags: ["team:red", "team:blue"] }, {
    signer: scopedKey,
    scopedUser: true,
  });
  const s = accepted(await w.login(scoped, user));
  assert.equal(s.scope?.key, scopedKey.getPublicKey());
  // @nats-io/jwt templates carry `resp: {max: 0, ttl: 0}`: a response permission with defaults.
  assert.deepEqual(s.permissions, {
    publish: { allow: ["alice.>"], deny: [] },
    subscribe: { allow: ["_INBOX.>", "red.*", "blue.*"], deny: ["acme.secret"] },
    response: { maxMsgs: 1, expiresMs: 120_000 },
  });
  assert.deepEqual(s.limits, { subs: 10, payload: 1024, data: -1 });
  const withPerms = await jwtjs.encodeUser("alice", user, acc, { pub: { allow: ["x"] } }, {
    signer: scopedKey,
    scopedUser: true,
  });
  assert.equal(
    refused(await w.login(withPerms, user)),
    "scope_invalid: User JWT is not valid: scoped users require no permissions or limits set",
  );
  // Even an empty list is a setting (Go compares with reflect.DeepEqual).
  const emptyList = await jwtjs.encodeUser("alice", user, acc, { src: [] }, {
    signer: scopedKey,
    scopedUser: true,
  });
  assert.equal(refused(await w.login(emptyList, user)).split(":")[0], "scope_invalid");

  const badTemplate = nkeys.createAccount();
  const acc2 = nkeys.createAccount();
  w.account(acc2, {
    signing_keys: [jwtjs.newScopedSigner(badTemplate, "x", { sub: { deny: ["{{tag(nope)}}"] } })],
  });
  const bt = await jwtjs.encodeUser("u", user, acc2, {}, { signer: badTemplate, scopedUser: true });
  assert.equal(
    refused(await w.login(bt, user)),
    "template_invalid: User JWT generated invalid permissions",
  );

  // Under a strict operator the account key itself may not issue users, its signing keys may.
  const strictAcc = nkeys.createAccount();
  const strictSk = nkeys.createAccount();
  w.account(strictAcc, { signing_keys: [strictSk.getPublicKey()] }, {}, w.strictSigner);
  assert.equal(
    refused(await w.login(await jwtjs.encodeUser("u", user, strictAcc), user)),
    "issuer_unknown: User JWT issuer is not known",
  );
  accepted(
    await w.login(await jwtjs.encodeUser("u", user, strictAcc, {}, { signer: strictSk }), user),
  );
});

Deno.test("auth: nonce signatures and bearer tokens", async () => {
  const w = await World.create();
  const acc = nkeys.createAccount();
  const noBearer = nkeys.createAccount();
  w.account(acc);
  w.account(noBearer, { limits: { ...UNLIMITED, disallow_bearer: true } });
  const user = nkeys.createUser();
  const userJwt = await jwtjs.encodeUser("u", user, acc);
  assert.equal(refused(await w.login(userJwt, null)), "signature_missing: Signature missing");
  assert.equal(
    refused(await w.login(userJwt, null, { sig: "!!" })),
    "signature_base64: Signature not valid base64",
  );
  assert.equal(
    refused(await w.login(userJwt, nkeys.createUser())),
    "signature: Signature not verified",
  );
  // Padded standard base64, as nats.js sends it, is accepted too.
  const nonce = newNonce();
  const std = btoa(String.fromCharCode(...user.sign(enc.encode(nonce))));
  accepted(await w.login(userJwt, null, { nonce, sig: std }));

  const badSub = signJwt({ ...userPayload(acc, user), sub: "UNOTAKEY" }, acc);
  assert.equal(
    refused(await w.login(badSub, user)),
    "user_nkey_invalid: User nkey not valid: nkeys: invalid checksum",
  );

  const bearer = await jwtjs.encodeUser("u", user, acc, { bearer_token: true });
  assert.equal(accepted(await w.login(bearer, null)).bearer, true);
  accepted(await w.login(bearer, nkeys.createUser()));
  const denied = await jwtjs.encodeUser("u", user, noBearer, { bearer_token: true });
  assert.equal(
    refused(await w.login(denied, null)),
    "bearer_disallowed: Account does not allow bearer token",
  );
});

Deno.test("auth: revocations by key and by '*', compared with the JWT's issue time", async () => {
  const w = await World.create();
  const user = nkeys.createUser();
  const t = nowSec() - 100;
  const cases: [Record<string, number>, boolean][] = [
    [{ [user.getPublicKey()]: t }, true],
    [{ [user.getPublicKey()]: t - 1 }, false],
    [{ "*": t }, true],
    [{ "*": t - 1 }, false],
    [{ [user.getPublicKey()]: t - 1, "*": t + 5 }, true],
    [{ [nkeys.createUser().getPublicKey()]: t + 5 }, false],
  ];
  for (const [revocations, revoked] of cases) {
    const acc = nkeys.createAccount();
    w.account(acc, { revocations });
    const r = await w.login(signJwt(userPayload(acc, user, {}, { iat: t }), acc), user);
    if (revoked) assert.equal(refused(r), "revoked: User authentication revoked");
    else accepted(r);
  }
});

Deno.test("auth: source networks and time windows", async () => {
  const w = await World.create();
  const acc = nkeys.createAccount();
  w.account(acc);
  const user = nkeys.createUser();
  const src = (s: string[] | string) => signJwt(userPayload(acc, user, { src: s }), acc);
  accepted(await w.login(src(["10.0.0.0/8", "127.0.0.0/8"]), user));
  accepted(await w.login(src("10.0.0.0/8, 127.0.0.1/32"), user));
  const r = await w.login(src(["10.0.0.0/8"]), user);
  assert.equal(refused(r), "source_network: Bad src Ip 127.0.0.1");
  assert.equal(!r.ok && r.level, "error");
  assert.equal(
    refused(await w.login(src(["10.0.0.0/8"]), user, { clientIp: "" })),
    "source_network: Bad src Ip ",
  );
  accepted(await w.login(src(["::1/128"]), user, { clientIp: "::1" }));

  const now = Date.parse("2024-06-01T12:00:00Z");
  const times = (start: string, end: string, exp?: number) =>
    signJwt(
      userPayload(acc, user, { times: [{ start, end }], times_location: "UTC" }, {
        iat: now / 1000 - 10,
        ...(exp ? { exp } : {}),
      }),
      acc,
    );
  const outside = await w.login(times("13:00:00", "14:00:00"), user, { now });
  assert.equal(refused(outside), "time_window: Outside connect times");
  assert.equal(!outside.ok && outside.level, "error");
  // Inside a window: the connection lasts until the window closes, or the JWT expires first.
  assert.equal(
    accepted(await w.login(times("11:00:00", "12:30:00"), user, { now })).expiresInMs,
    1800_000,
  );
  assert.equal(
    accepted(await w.login(times("11:00:00", "12:30:00", now / 1000 + 60), user, { now }))
      .expiresInMs,
    60_000,
  );
});

Deno.test("auth: permissions, default permissions, response permissions and expiry", async () => {
  const w = await World.create();
  const acc = nkeys.createAccount();
  w.account(acc, { default_permissions: { sub: { deny: ["secret.>"] } } });
  const user = nkeys.createUser();
  const login = async (nats: object, top: object = {}) =>
    accepted(await w.login(signJwt(userPayload(acc, user, nats, top), acc), user));
  assert.deepEqual((await login({})).permissions, { subscribe: { deny: ["secret.>"] } });
  assert.deepEqual((await login({ pub: { allow: ["a"], deny: ["a.b"] } })).permissions, {
    publish: { allow: ["a"], deny: ["a.b"] },
  });
  // A response permission turns off the blanket publish allow; zero max/ttl get the defaults.
  assert.deepEqual((await login({ resp: { max: 0, ttl: 0 } })).permissions, {
    publish: { allow: [] },
    response: { maxMsgs: 1, expiresMs: 120_000 },
  });
  assert.deepEqual(
    (await login({ resp: { max: 5, ttl: 3e9 }, pub: { deny: ["x"] } })).permissions,
    {
      publish: { allow: [], deny: ["x"] },
      response: { maxMsgs: 5, expiresMs: 3000 },
    },
  );
  // An empty allow list alone is no permission at all (len checks, as in nats-server).
  assert.deepEqual((await login({ pub: { allow: [] } })).permissions, {
    subscribe: { deny: ["secret.>"] },
  });
  // Absent limits in a v2 JWT are zeros.
  assert.deepEqual((await login({ subs: undefined, payload: 5, data: undefined })).limits, {
    subs: 0,
    payload: 5,
    data: 0,
  });
  assert.equal((await login({}, { exp: nowSec() + 100 })).expiresInMs, 100_000);
  assert.equal(permissionsFromJwt(undefined), null);
});

Deno.test("effectiveClientLimits combines user, account and server limits as applyAccountLimits", () => {
  const unlimited = { subs: -1, payload: -1 };
  assert.deepEqual(
    effectiveClientLimits(unlimited, { subs: -1, payload: -1 }, {
      maxPayload: 1048576,
      maxSubs: 0,
    }),
    { maxPayload: 1048576, maxSubs: -1, notes: [] },
  );
  assert.deepEqual(
    effectiveClientLimits({ subs: 10, payload: 2000 }, { subs: 5, payload: -1 }, {
      maxPayload: 1000,
      maxSubs: 0,
    }),
    {
      maxPayload: 1000,
      maxSubs: 5,
      notes: ["Max Payload set to 1000 from server overrides account or user config"],
    },
  );
  // An account JWT without limits means zero.
  assert.deepEqual(effectiveClientLimits(unlimited, {}, { maxPayload: 1048576, maxSubs: 0 }), {
    maxPayload: 0,
    maxSubs: 0,
    notes: [],
  });
});

// Side by side with nats-server 2.9.10 --------------------------------------------------------------

/** A zone where it is now between 02:00 and 21:59, so a window around now stays within today. */
function daytimeZone(): { zone: string; hour: number } {
  for (const zone of ["UTC", "Asia/Tokyo", "America/New_York", "Asia/Kolkata"]) {
    const hour = Number(
      new Intl.DateTimeFormat("en-US", { timeZone: zone, hour: "numeric", hourCycle: "h23" })
        .format(new Date()),
    );
    if (hour >= 2 && hour <= 21) return { zone, hour };
  }
  throw new Error("no daytime zone");
}

const clock = (h: number) => `${String(h).padStart(2, "0")}:00:00`;

interface LoginCase {
  name: string;
  /** The user JWT in the creds file (none: the client sends no credentials). */
  jwt?: string;
  /** The seed in the creds file. */
  key: KeyPair;
  /** null: accepted; else the line both servers log for the refusal. */
  refusal: string | null;
}

/** Builds the accounts and the table of logins; `w` holds the accounts for our lookup. */
async function loginTable(w: World) {
  const now = nowSec();
  const acc = nkeys.createAccount();
  const sk = nkeys.createAccount();
  const scopedKey = nkeys.createAccount();
  const revoked = nkeys.createUser();
  const revokedAt = now - 60;
  w.account(acc, {
    signing_keys: [
      sk.getPublicKey(),
      jwtjs.newScopedSigner(scopedKey, "dev", {
        pub: { allow: ["{{name()}}.>"], deny: [] },
        sub: {
          allow: ["_INBOX.>", "{{tag(team)}}.*", "{{account-name()}}.*"],
          deny: ["{{account-name()}}.secret"],
        },
      }),
    ],
    revocations: { [revoked.getPublicKey()]: revokedAt },
    default_permissions: { pub: { deny: ["nopub.>"] } },
  }, { name: "acme" });
  const noBearer = nkeys.createAccount();
  w.account(noBearer, { limits: { ...UNLIMITED, disallow_bearer: true } });
  const rogue = nkeys.createAccount();
  w.account(rogue, {}, {}, nkeys.createOperator());
  const expiredAcc = nkeys.createAccount();
  w.account(expiredAcc, {}, { exp: now - 30 });
  const viaOpSigner = nkeys.createAccount();
  w.account(viaOpSigner, {}, {}, w.opSigner);

  const u = () => nkeys.createUser();
  const user = (key: KeyPair, nats: object = {}, top: object = {}, account = acc) =>
    signJwt(userPayload(account, key, nats, top), account);
  const { zone, hour } = daytimeZone();
  const cases: LoginCase[] = [];
  const add = (name: string, key: KeyPair, jwt: string | undefined, refusal: string | null) =>
    cases.push({ name, key, jwt, refusal });

  let k = u();
  add("a user made by @nats-io/jwt", k, await jwtjs.encodeUser("valid", k, acc), null);
  k = u();
  add("no credentials", k, undefined, "Authentication requires a user JWT");
  k = u();
  add(
    "an expired user",
    k,
    user(k, {}, { exp: now - 10 }),
    "User JWT no longer valid: &{Issues:[claim is expired]}",
  );
  k = u();
  add(
    "a user not valid yet",
    k,
    user(k, {}, { nbf: now + 300 }),
    "User JWT no longer valid: &{Issues:[claim is not yet valid]}",
  );
  k = u();
  add("a nonce signed by another key", u(), user(k), "Signature not verified");
  k = u();
  add(
    "a user of an account from an untrusted operator",
    k,
    user(k, {}, {}, rogue),
    "Account JWT lookup error: account validation failed",
  );
  k = u();
  add(
    "a user of an expired account",
    k,
    user(k, {}, {}, expiredAcc),
    "Account JWT lookup error: account validation failed",
  );
  k = u();
  add("an account issued with the operator's signing key", k, user(k, {}, {}, viaOpSigner), null);
  k = u();
  add(
    "a user issued by a key the account does not list",
    k,
    await jwtjs.encodeUser("x", k, acc, {}, { signer: nkeys.createAccount() }),
    "User JWT issuer is not known",
  );
  k = u();
  add(
    "a user issued by an account signing key",
    k,
    await jwtjs.encodeUser("x", k, acc, {}, { signer: sk }),
    null,
  );
  add(
    "a revoked user",
    revoked,
    user(revoked, {}, { iat: revokedAt }),
    "User authentication revoked",
  );
  add(
    "a user re-issued after its revocation",
    revoked,
    user(revoked, {}, { iat: revokedAt + 1 }),
    null,
  );
  k = u();
  add(
    "a websocket-only user",
    k,
    user(k, { allowed_connection_types: ["WEBSOCKET"] }),
    "Connection type not allowed",
  );
  k = u();
  add(
    "only unknown connection types",
    k,
    user(k, { allowed_connection_types: ["FOO"] }),
    'invalid connection types ["FOO"]',
  );
  k = u();
  add("a source network elsewhere", k, user(k, { src: ["10.0.0.0/8"] }), "Bad src Ip 127.0.0.1");
  k = u();
  add("a source network including us", k, user(k, { src: "10.0.0.0/8,127.0.0.0/8" }), null);
  k = u();
  add("a bearer token signed by nobody", u(), user(k, { bearer_token: true }), null);
  k = u();
  add(
    "a bearer token where the account forbids them",
    k,
    user(k, { bearer_token: true }, {}, noBearer),
    "Account does not allow bearer token",
  );
  k = u();
  add(
    "a scoped user",
    k,
    await jwtjs.encodeUser("alice", k, acc, { tags: ["team:red", "team:blue"] }, {
      signer: scopedKey,
      scopedUser: true,
    }),
    null,
  );
  k = u();
  add(
    "a scoped user with its own permissions",
    k,
    await jwtjs.encodeUser("bob", k, acc, { pub: { allow: ["x"] } }, {
      signer: scopedKey,
      scopedUser: true,
    }),
    "User JWT is not valid: scoped users require no permissions or limits set",
  );
  k = u();
  add(
    "a time window now",
    k,
    user(k, { times: [{ start: clock(hour - 1), end: clock(hour + 1) }], times_location: zone }),
    null,
  );
  k = u();
  add(
    "a time window later today",
    k,
    user(k, { times: [{ start: clock(hour + 1), end: clock(hour + 2) }], times_location: zone }),
    "Outside connect times",
  );
  return { cases, acc };
}

/**
 * nats-server resets the socket right after its -ERR, and the Node transport reports that as an
 * uncaught ECONNRESET (see auth_test.ts); while a refused login is under way, just that is ignored.
 */
function ignoreConnReset(e: ErrorEvent): void {
  if ((e.error as { code?: string } | undefined)?.code === "ECONNRESET") e.preventDefault();
}

/** What the official client gets from nats-server with these creds. */
async function officialLogin(port: number, c: LoginCase): Promise<"ok" | string> {
  globalThis.addEventListener("error", ignoreConnReset);
  try {
    const nc = await connect({
      port,
      reconnect: false,
      timeout: 5000,
      ...(c.jwt ? { authenticator: credsAuthenticator(jwtjs.fmtCreds(c.jwt, c.key)) } : {}),
    });
    await nc.flush();
    await nc.close();
    return "ok";
  } catch (e) {
    // Let the transport's reset surface (and be ignored) before the handler goes.
    await new Promise((r) => setTimeout(r, 50));
    return (e as Error).message;
  } finally {
    globalThis.removeEventListener("error", ignoreConnReset);
  }
}

/** A raw connection logged in with `jwt`, answering INFO's nonce with `key`. */
async function rawLogin(port: number, jwt: string, key: KeyPair): Promise<RawClient> {
  const [c, info] = await RawClient.connectInfo(port);
  const sig = b64url(key.sign(enc.encode(info.nonce as string)));
  await c.send(
    `CONNECT ${JSON.stringify({ verbose: false, pedantic: false, jwt, sig, protocol: 1 })}\r\n`,
  );
  assert.equal(await c.roundTrip(), "");
  return c;
}

Deno.test({
  name: "nats-server in operator mode and authenticateJwtUser decide every login alike",
  ignore: !HAVE_NATS_SERVER,
  async fn() {
    const w = await World.create();
    const { cases, acc } = await loginTable(w);
    const dir = await Deno.makeTempDir();
    const port = freePort();
    try {
      const opJwt = await jwtjs.encodeOperator("O", w.op, {
        signing_keys: [w.opSigner.getPublicKey()],
      });
      await Deno.writeTextFile(`${dir}/op.jwt`, opJwt);
      const preload = [...w.accounts].map(([k, v]) => `  ${k}: "${v}"`).join("\n");
      await Deno.writeTextFile(
        `${dir}/server.conf`,
        `listen: "127.0.0.1:${port}"\noperator: "${dir}/op.jwt"\nresolver: MEMORY\n` +
          `resolver_preload: {\n${preload}\n}\n`,
      );
      await using srv = new ServerProcess(["-c", `${dir}/server.conf`, "-D"], port, {}, true);
      await srv.waitStderr(/Server is ready/);

      for (const c of cases) {
        const logFrom = srv.stderr.length;
        const official = await officialLogin(port, c);
        const ours = await w.login(c.jwt, c.key);
        const oursText = ours.ok ? "ok" : ours.log;
        if (c.refusal === null) {
          assert.equal(official, "ok", c.name);
          assert.equal(oursText, "ok", c.name);
          const line = authenticatedJwtLog(ours as JwtAuthAccepted);
          await waitFor(
            () => srv.stderr.slice(logFrom).includes(` - ${line} accused `),
            `${c.name}: nats-server logging ${JSON.stringify(line)}; got ${
              srv.stderr.slice(logFrom)
            }`,
          );
        } else {
          assert.match(official, /Authorization Violation/i, c.name);
          assert.equal(oursText, c.refusal, c.name);
          await waitFor(
            () => srv.stderr.slice(logFrom).includes(` - ${c.refusal}\n`),
            `${c.name}: nats-server logging ${JSON.stringify(c.refusal)}; got ${
              srv.stderr.slice(logFrom)
            }`,
          );
        }
      }

      // The permissions we compute are the ones nats-server enforces: a scoped user's expanded
      // template, and a plain user's account default_permissions.
      const scoped = cases.find((c) => c.name === "a scoped user")!;
      const plain = cases.find((c) => c.name === "a user made by @nats-io/jwt")!;
      const probes = {
        pub: ["alice.x", "bob.x", "red.1", "nopub.a", "ok.a"],
        sub: [
          "red.1",
          "blue.2",
          "green.3",
          "acme.x",
          "acme.secret",
          "_INBOX.a",
          "alice.x",
          "nopub.a",
        ],
      };
      let denials = 0;
      for (const c of [scoped, plain]) {
        const ours = await w.login(c.jwt, c.key);
        assert.ok(ours.ok);
        const perms = compilePermissions(ours.permissions ?? undefined);
        await using raw = await rawLogin(port, c.jwt!, c.key);
        let sid = 0;
        for (const subject of probes.sub) {
          await raw.send(`SUB ${subject} ${++sid}\r\n`);
          const answer = await raw.roundTrip();
          const allowed = perms?.canSubscribe(subject, "") ?? true;
          if (!allowed) denials++;
          assert.equal(
            answer,
            allowed ? "" : `-ERR 'Permissions Violation for Subscription to "${subject}"'\r\n`,
            `${c.name}: SUB ${subject}`,
          );
        }
        for (const subject of probes.pub) {
          await raw.send(`PUB ${subject} 0\r\n\r\n`);
          const answer = await raw.roundTrip();
          const allowed = perms?.canPublish(subject) ?? true;
          if (!allowed) denials++;
          assert.equal(
            answer.replace(/^MSG .*\r\n\r\n/, ""),
            allowed ? "" : `-ERR 'Permissions Violation for Publish to "${subject}"'\r\n`,
            `${c.name}: PUB ${subject}`,
          );
        }
      }
      // Both kinds of answer were seen: scoped SUB/PUB denials and the default deny on nopub.>.
      assert.equal(denials, 9);
      assert.ok(w.accounts.has(acc.getPublicKey()));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
