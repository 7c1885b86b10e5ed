/**
 * Operator mode end to end: deployments made with the official JS tooling (@nats-io/jwt,
 * @nats-io/nkeys: an operator, a system account and user, accounts, users, creds files), the
 * same config file given to this server and to nats-server 2.9.10, the official client
 * (credsAuthenticator) or raw protocol connections, and the outcomes compared: start-up errors,
 * logins and refusals, claim pushes and what they do to connected clients, account limits,
 * exports and imports with activation tokens, expiry, deletes, URL resolvers, monitoring. A
 * two-server cluster of ours shares a full resolver.
 */

import assert from "node:assert/strict";
import { credsAuthenticator, type NatsConnection } from "@nats-io/transport-node";
import { loadConfig, parseConfigString } from "../src/config.ts";
import { defaultOptions, mergeOptions } from "../src/options.ts";
import { Server } from "../src/server.ts";
import { HAVE_NATS_SERVER, jsonShape, MemoryLogger, waitFor } from "./helpers.ts";
import { freePort, ServerProcess } from "./process_helpers.ts";
import {
  ask,
  b64url,
  closedWith,
  Deployment,
  ignoreConnReset,
  jwtjs,
  type KeyPair,
  login,
  mustLogin,
  nkeys,
  nowSec,
  rawLogin,
  type Running,
  same,
  sideBySide,
  signJwt,
  startOurs,
  startRef,
  UNLIMITED,
} from "./operator_fixture.ts";

const dec = new TextDecoder();

// Start-up -----------------------------------------------------------------------------------------

/** How a config fails to start: our error text, and nats-server's (without "nats-server: "). */
async function startError(file: string): Promise<{ ours: string; ref: string | null }> {
  let ours = "started";
  try {
    const opts = mergeOptions(defaultOptions(), loadConfig(file).options);
    const s = await Server.create(opts, new MemoryLogger());
    s.operator?.stop();
  } catch (e) {
    ours = (e as Error).message;
  }
  let ref: string | null = null;
  if (HAVE_NATS_SERVER) {
    const out = await new Deno.Command("nats-server", {
      args: ["-c", file, "-p", String(freePort())],
      stdout: "null",
      stderr: "piped",
    }).output();
    ref = dec.decode(out.stderr).trim().replace(/^nats-server: /, "");
  }
  return { ours, ref };
}

Deno.test("operator-mode configs are refused as nats-server refuses them", async () => {
  await using d = await Deployment.create();
  const file = `${d.dir}/bad.conf`;
  const dirFile = `${d.dir}/a_file`;
  await Deno.writeTextFile(dirFile, "x");
  const other = nkeys.createAccount();
  const preload = `resolver_preload: { ${d.sys.getPublicKey()}: ${d.sysJwt} }\n`;
  const op = `operator: "${d.dir}/op.jwt"\n`;
  const noSysOp = await jwtjs.encodeOperator("OP2", nkeys.createOperator(), {});
  const closed = freePort();
  await Deno.writeTextFile(`${d.dir}/nosys.jwt`, noSysOp);
  const cases: [string, string][] = [
    [
      op + "resolver: MEMORY\n" + preload + "accounts { A {} }\n",
      "operators do not allow Accounts to be configured directly",
    ],
    [
      op + "resolver: MEMORY\n" + preload + "authorization { users: [{user: a, password: b}] }\n",
      "operators do not allow users to be configured directly",
    ],
    [
      op + "resolver: FOO\n",
      `${file}:2:1: error parsing account resolver, should be MEM or  URL("url") or a map ` +
      "containing dir and type state=[FULL|CACHE])",
    ],
    [
      op + `resolver { type: cache, dir: "${d.dir}/c", allow_delete: true }\n`,
      `${file}:2:1: CACHE does not accept allow_delete`,
    ],
    [
      op + "resolver { type: full }\n",
      `${file}:2:1: dir has no value and needs to point to a directory`,
    ],
    [
      op + `resolver { type: full, dir: "${dirFile}" }\n`,
      `${file}:2:1: dir needs to point to an accessible directory`,
    ],
    [
      op + `resolver { type: full, dir: "${d.dir}/t", timeout: "0s" }\n`,
      `${file}:2:1: Fetch timeout 0s is too smal`,
    ],
    [
      op + `system_account: ${other.getPublicKey()}\nresolver: MEMORY\n`,
      "system_account in config and operator JWT must be identical",
    ],
    [
      `operator: "${d.dir}/nosys.jwt"\nresolver { type: full, dir: "${d.dir}/f" }\n`,
      "using nats based account resolver - the system account needs to be specified in " +
      "configuration or the operator jwt",
    ],
    [op + "resolver: MEMORY\n", "error resolving system account: account missing"],
    [
      op + "resolver: MEMORY\nresolver_preload: { A: notajwt }\n",
      `${file}:3:21: invalid account JWT`,
    ],
    [
      op + "resolver: URL(http://127.0.0.1:1/accounts/)\n" + preload,
      "resolver preloads only available for writeable resolver types MEM/DIR/CACHE_DIR",
    ],
    [
      op + `resolver: URL(http://127.0.0.1:${closed}/jwt/v1/accounts/)\n`,
      `could not fetch <"http://127.0.0.1:${closed}/jwt/v1/accounts/">: Get ` +
      `"http://127.0.0.1:${closed}/jwt/v1/accounts/": dial tcp 127.0.0.1:${closed}: connect: ` +
      "connection refused",
    ],
    [
      `operator: "${d.dir}/missing.jwt"\nresolver: MEMORY\n`,
      `${file}:1:0: error parsing operator JWT: open ${d.dir}/missing.jwt: no such file or directory`,
    ],
    [
      `trusted_keys: ["OABC"]\n`,
      `${file}:1:16: trust key "OABC" required to be a valid public operator nkey`,
    ],
  ];
  for (const [conf, want] of cases) {
    await Deno.writeTextFile(file, conf);
    const { ours, ref } = await startError(file);
    assert.equal(ours, want, conf);
    if (ref !== null) assert.equal(ref, want, `nats-server: ${conf}`);
  }
});

Deno.test("start-up logs the trusted operators and manages the resolver directory", async () => {
  await using d = await Deployment.create();
  const r = await sideBySide(
    d,
    (w) => d.conf(`{ type: full, dir: "${d.dir}/jwt_${w}" }`),
    (s, w) => {
      const lines = s.logs().split("\n").map((l) => l.replace(/^.*\[(INF|WRN|DBG)\] /, "[$1] "));
      const pick = (re: RegExp) => lines.filter((l) => re.test(l));
      return Promise.resolve({
        operators: pick(/Trusted Operators| {2}System {2}:| {2}Operator:| {2}Expires :/),
        issued: pick(/ {2}Issued {2}:/).length,
        managing: pick(/Managing all jwt/).map((l) => l.replace(`jwt_${w}`, "jwt_X")),
        file: Deno.readTextFileSync(`${d.dir}/jwt_${w}/${d.sys.getPublicKey()}.jwt`) === d.sysJwt,
      });
    },
  );
  assert.deepEqual(same(r), {
    operators: [
      "[INF] Trusted Operators",
      '[INF]   System  : "NATS"',
      '[INF]   Operator: "OP"',
      "[INF]   Expires : Never",
    ],
    issued: 1,
    managing: [`[INF] Managing all jwt in exclusive directory ${d.dir}/jwt_X`],
    file: true,
  });
});

// Logins -------------------------------------------------------------------------------------------

Deno.test("MEMORY resolver with preload: users log in, refusals are Authorization Violations", async () => {
  await using d = await Deployment.create();
  const acc = nkeys.createAccount();
  const revoked = nkeys.createUser();
  const accJwt = await d.account(acc, {
    revocations: { [revoked.getPublicKey()]: nowSec() + 60 },
  });
  const stranger = nkeys.createAccount();
  const ok = nkeys.createUser();
  const creds = {
    ok: await d.creds(acc, ok),
    revoked: await d.creds(acc, revoked),
    stranger: await d.creds(stranger, nkeys.createUser()),
    expired: await d.creds(acc, nkeys.createUser(), {}, { exp: nowSec() - 5 }),
    wrongSeed: jwtjs.fmtCreds(await jwtjs.encodeUser("U", nkeys.createUser(), acc), ok),
  };
  const r = await sideBySide(d, () => d.conf("MEMORY", [[acc, accJwt]]), async (s) => {
    const out: Record<string, string> = {};
    for (const [name, c] of Object.entries(creds)) {
      const nc = await login(s.port, c);
      if (typeof nc === "string") out[name] = nc;
      else {
        const sub = nc.subscribe("hello", { max: 1 });
        nc.publish("hello", "world");
        for await (const m of sub) out[name] = `ok ${m.string()}`;
        await nc.close();
      }
    }
    // What each refusal logged (nats-server's debug lines).
    await waitFor(() => s.logs().includes("Signature not verified"), "the logs");
    for (
      const line of [
        "User authentication revoked",
        `Account JWT lookup error: account missing`,
        "User JWT no longer valid: &{Issues:[claim is expired]}",
        "Signature not verified",
        "authentication error",
      ]
    ) {
      out[line] = s.logs().includes(` - ${line}\n`) || s.logs().endsWith(` - ${line}`)
        ? "logged"
        : "missing";
    }
    return out;
  });
  assert.deepEqual(same(r), {
    ok: "ok world",
    revoked: "Authorization Violation",
    stranger: "Authorization Violation",
    expired: "Authorization Violation",
    wrongSeed: "Authorization Violation",
    "User authentication revoked": "logged",
    "Account JWT lookup error: account missing": "logged",
    "User JWT no longer valid: &{Issues:[claim is expired]}": "logged",
    "Signature not verified": "logged",
    "authentication error": "logged",
  });
});

Deno.test("a user JWT's expiry closes its connection with User Authentication Expired", async () => {
  await using d = await Deployment.create();
  const acc = nkeys.createAccount();
  const accJwt = await d.account(acc);
  const user = nkeys.createUser();
  const r = await sideBySide(d, () => d.conf("MEMORY", [[acc, accJwt]]), async (s) => {
    const jwt = await jwtjs.encodeUser("U", user, acc, {}, { exp: nowSec() + 2 });
    await using c = await rawLogin(s.port, jwt, user);
    await c.send("PING\r\n");
    await c.expect("PONG\r\n");
    await c.expect("-ERR 'User Authentication Expired'\r\n", 5000);
    return "expired";
  });
  same(r);
});

Deno.test("account limits: payload, subscriptions and connections", async () => {
  await using d = await Deployment.create();
  const acc = nkeys.createAccount();
  const accJwt = await d.account(acc, { limits: { ...UNLIMITED, payload: 10, subs: 2, conn: 1 } });
  const user = nkeys.createUser();
  const jwt = await jwtjs.encodeUser("U", user, acc);
  const r = await sideBySide(d, () => d.conf("MEMORY", [[acc, accJwt]]), async (s) => {
    const out: unknown[] = [];
    await using c = await rawLogin(s.port, jwt, user);
    // The first PONG is followed by an INFO with the account's lower max_payload.
    await c.send("PING\r\n");
    await c.waitText((t) => /^PONG\r\nINFO \{.*\} \r\n$/.test(t), "PONG and INFO");
    out.push(JSON.parse(c.text.slice(11, -3)).max_payload);
    c.clear();
    await c.send("SUB a 1\r\nSUB b 2\r\nSUB c 3\r\n");
    out.push(await c.roundTrip());
    await using second = await rawLogin(s.port, jwt, user);
    await second.waitClosed();
    out.push(second.text);
    await c.send("PUB a 11\r\n01234567890\r\n");
    await c.waitClosed();
    out.push(c.text);
    return out;
  });
  assert.deepEqual(same(r), [
    10,
    "-ERR 'maximum subscriptions exceeded'\r\n",
    "-ERR 'maximum account active connections exceeded'\r\n",
    "-ERR 'Maximum Payload Violation'\r\n",
  ]);
});

Deno.test("exports and imports between JWT accounts, with activation tokens", async () => {
  await using d = await Deployment.create();
  const exporter = nkeys.createAccount();
  const importer = nkeys.createAccount();
  const outsider = nkeys.createAccount();
  const exporterJwt = await d.account(exporter, {
    exports: [
      { name: "svc", subject: "svc.>", type: "service", token_req: true },
      { name: "feed", subject: "feed.>", type: "stream" },
    ],
  }, "EXPORTER");
  const activation = await jwtjs.encodeActivation("act", importer, exporter, "service", {
    subject: "svc.>",
  });
  const importerJwt = await d.account(importer, {
    imports: [
      {
        name: "svc",
        subject: "svc.>",
        account: exporter.getPublicKey(),
        type: "service",
        token: activation,
      },
      { name: "feed", subject: "feed.>", account: exporter.getPublicKey(), type: "stream" },
    ],
  }, "IMPORTER");
  // No token: the service import is not authorized.
  const outsiderJwt = await d.account(outsider, {
    imports: [{ name: "svc", subject: "svc.>", account: exporter.getPublicKey(), type: "service" }],
  }, "OUTSIDER");
  const preload: [KeyPair, string][] = [
    [exporter, exporterJwt],
    [importer, importerJwt],
    [outsider, outsiderJwt],
  ];
  const r = await sideBySide(d, () => d.conf("MEMORY", preload), async (s) => {
    const svc = await mustLogin(s.port, await d.creds(exporter, nkeys.createUser()));
    const client = await mustLogin(s.port, await d.creds(importer, nkeys.createUser()));
    const stranger = await mustLogin(s.port, await d.creds(outsider, nkeys.createUser()));
    const responder = svc.subscribe("svc.>");
    (async () => {
      for await (const m of responder) m.respond(`re:${m.subject}`);
    })();
    await svc.flush();
    const feed = client.subscribe("feed.>", { max: 1 });
    await client.flush();
    svc.publish("feed.news", "extra");
    let got = "";
    for await (const m of feed) got = `${m.subject} ${m.string()}`;
    const answer = (await client.request("svc.time", "", { timeout: 2000 })).string();
    const refused = await stranger.request("svc.time", "", { timeout: 1000 })
      .then(() => "answered", (e: Error) => e.message);
    for (const nc of [svc, client, stranger]) await nc.close();
    return { got, answer, refused };
  });
  assert.deepEqual(same(r), {
    got: "feed.news extra",
    answer: "re:svc.time",
    refused: "no responders: 'svc.time'",
  });
});

Deno.test("MEMORY resolver: updates reach accounts in use, expired accounts lose their clients", async () => {
  await using d = await Deployment.create();
  const acc = nkeys.createAccount();
  const idle = nkeys.createAccount();
  const accJwt = await d.account(acc);
  const idleJwt = await d.account(idle, {}, "IDLE");
  const pinnedOut = nkeys.createAccount();
  const pinnedOutJwt = await d.account(pinnedOut, {}, "NOTPINNED");
  const r = await sideBySide(
    d,
    () =>
      d.conf("MEMORY", [[acc, accJwt], [idle, idleJwt], [pinnedOut, pinnedOutJwt]]) +
      `resolver_pinned_accounts: [${acc.getPublicKey()}]\n`,
    async (s) => {
      const out: Record<string, unknown> = {};
      const sys = await mustLogin(s.port, d.sysCreds);
      out.notPinned = await login(s.port, await d.creds(pinnedOut, nkeys.createUser()));
      const nc = await mustLogin(s.port, await d.creds(acc, nkeys.createUser()));
      await nc.flush();
      out.idle = await ask(
        sys,
        `$SYS.REQ.ACCOUNT.${idle.getPublicKey()}.CLAIMS.UPDATE`,
        await d.account(idle, {}, "IDLE2"),
      );
      out.empty = await ask(sys, `$SYS.REQ.ACCOUNT.${acc.getPublicKey()}.CLAIMS.UPDATE`, "");
      // The account now expires in two seconds: its clients are closed then.
      out.update = await ask(
        sys,
        `$SYS.ACCOUNT.${acc.getPublicKey()}.CLAIMS.UPDATE`,
        await jwtjs.encodeAccount("ACC", acc, { limits: UNLIMITED }, {
          signer: d.op,
          exp: nowSec() + 2,
        }),
      );
      out.expired = await closedWith(nc);
      await sys.close();
      return out;
    },
  );
  const a = acc.getPublicKey();
  assert.deepEqual(same(r), {
    notPinned: "Authorization Violation",
    idle: { data: { account: idle.getPublicKey(), code: 200, message: "jwt update skipped" } },
    empty: {
      error: { account: a, code: 500, description: "jwt update error - request body is empty" },
    },
    update: { data: { account: a, code: 200, message: "jwt updated" } },
    expired: "Account Authentication Expired",
  });
});

Deno.test("users of a signing key that an update removes are disconnected", async () => {
  await using d = await Deployment.create();
  const acc = nkeys.createAccount();
  const sk = nkeys.createAccount();
  const scoped = nkeys.createAccount();
  const accJwt = await d.account(acc, {
    signing_keys: [
      sk.getPublicKey(),
      jwtjs.newScopedSigner(scoped, "r", { sub: { allow: ["{{name()}}.>"] } }),
    ],
  });
  const r = await sideBySide(d, () => d.conf("MEMORY", [[acc, accJwt]]), async (s) => {
    const sys = await mustLogin(s.port, d.sysCreds);
    const byKey = await mustLogin(
      s.port,
      await d.creds(acc, nkeys.createUser(), {}, { signer: sk }),
    );
    const byScope = await mustLogin(
      s.port,
      await d.creds(acc, nkeys.createUser(), {}, { signer: scoped, scopedUser: true }),
    );
    const byAccount = await mustLogin(s.port, await d.creds(acc, nkeys.createUser()));
    for (const nc of [byKey, byScope, byAccount]) await nc.flush();
    // The plain key goes; the scoped key stays, with another template.
    await ask(
      sys,
      `$SYS.REQ.ACCOUNT.${acc.getPublicKey()}.CLAIMS.UPDATE`,
      await d.account(acc, {
        signing_keys: [jwtjs.newScopedSigner(scoped, "r", { sub: { allow: ["x.>"] } })],
      }),
    );
    const out = {
      byKey: await closedWith(byKey, 2000),
      byScope: await closedWith(byScope, 2000),
      byAccount: await closedWith(byAccount, 500),
    };
    await byAccount.close();
    await sys.close();
    return out;
  });
  assert.deepEqual(same(r), { byKey: "closed", byScope: "closed", byAccount: "still open" });
});

Deno.test("cache resolver: only accounts in use are updated", async () => {
  await using d = await Deployment.create();
  const used = nkeys.createAccount();
  const other = nkeys.createAccount();
  const usedJwt = await d.account(used, {}, "USED");
  const r = await sideBySide(
    d,
    (w) => d.conf(`{ type: cache, dir: "${d.dir}/cache_${w}" }`, [[used, usedJwt]]),
    async (s, w) => {
      const out: Record<string, unknown> = {};
      const sys = await mustLogin(s.port, d.sysCreds);
      const nc = await mustLogin(s.port, await d.creds(used, nkeys.createUser()));
      await nc.flush();
      out.other = await ask(sys, "$SYS.REQ.CLAIMS.UPDATE", await d.account(other, {}, "OTHER"));
      out.used = await ask(sys, "$SYS.REQ.CLAIMS.UPDATE", await d.account(used, {}, "USED2"));
      out.files = [...Deno.readDirSync(`${d.dir}/cache_${w}`)].map((e) => e.name).sort();
      await nc.close();
      await sys.close();
      return out;
    },
  );
  assert.deepEqual(same(r), {
    other: {
      data: { account: other.getPublicKey(), code: 200, message: "jwt update cache skipped" },
    },
    used: { data: { account: used.getPublicKey(), code: 200, message: "jwt updated cache" } },
    files: [`${d.sys.getPublicKey()}.jwt`, `${used.getPublicKey()}.jwt`].sort(),
  });
});

Deno.test("a reload keeps JWT users connected and takes new preloads", async () => {
  await using d = await Deployment.create();
  const acc = nkeys.createAccount();
  const later = nkeys.createAccount();
  const accJwt = await d.account(acc);
  const file = `${d.dir}/reload.conf`;
  await using s = await startOurs(d.conf("MEMORY", [[acc, accJwt]]), file);
  const nc = await mustLogin(s.port, await d.creds(acc, nkeys.createUser()));
  await nc.flush();
  assert.equal(
    await login(s.port, await d.creds(later, nkeys.createUser())),
    "Authorization Violation",
  );
  await Deno.writeTextFile(
    file,
    d.conf("MEMORY", [[acc, accJwt], [later, await d.account(later, {}, "LATER")]]),
  );
  const server = s.ts.server!;
  server.reload(mergeOptions(server.opts, loadConfig(file).options));
  const nc2 = await mustLogin(s.port, await d.creds(later, nkeys.createUser()));
  const sub = nc.subscribe("still", { max: 1 });
  await nc.flush();
  nc.publish("still", "here");
  for await (const m of sub) assert.equal(m.string(), "here");
  assert.ok(s.logs().includes("Reloaded server configuration"));
  await nc.close();
  await nc2.close();
});

Deno.test("an import stops when its activation token expires", async () => {
  await using d = await Deployment.create();
  const exporter = nkeys.createAccount();
  const importer = nkeys.createAccount();
  const exporterJwt = await d.account(exporter, {
    exports: [{ subject: "svc", type: "service", token_req: true }],
  }, "EXPORTER");
  // The token lives two seconds from when the server starts; the importer's JWT expires in
  // years: its timer outlives what one timer can hold.
  const importerJwt = async () =>
    await jwtjs.encodeAccount("IMPORTER", importer, {
      limits: UNLIMITED,
      imports: [{
        name: "svc",
        subject: "svc",
        account: exporter.getPublicKey(),
        type: "service",
        token: await jwtjs.encodeActivation("act", importer, exporter, "service", {
          subject: "svc",
        }, { exp: nowSec() + 2 }),
      }],
    }, { signer: d.op, exp: nowSec() + 10 * 365 * 86400 });
  const r = await sideBySide(
    d,
    async () => d.conf("MEMORY", [[exporter, exporterJwt], [importer, await importerJwt()]]),
    async (s) => {
      const svc = await mustLogin(s.port, await d.creds(exporter, nkeys.createUser()));
      const client = await mustLogin(s.port, await d.creds(importer, nkeys.createUser()));
      const responder = svc.subscribe("svc");
      (async () => {
        for await (const m of responder) m.respond("yes");
      })();
      await svc.flush();
      const before = (await client.request("svc", "", { timeout: 2000 })).string();
      await new Promise((res) => setTimeout(res, 2500));
      const after = await client.request("svc", "", { timeout: 1000 })
        .then((m) => m.string(), (e: Error) => e.message);
      await svc.close();
      await client.close();
      return { before, after };
    },
  );
  assert.deepEqual(same(r), { before: "yes", after: "timeout" });
});

// Full resolver --------------------------------------------------------------------------------------

Deno.test("full resolver: claims pushed by a system user are stored and applied to connected clients", async () => {
  await using d = await Deployment.create();
  const acc = nkeys.createAccount();
  const accJwt = await d.account(acc, {}, "PUSHED");
  const user = nkeys.createUser();
  const doomed = nkeys.createUser();
  const r = await sideBySide(
    d,
    (w) => d.conf(`{ type: full, dir: "${d.dir}/jwt_${w}", allow_delete: true }`),
    async (s, w) => {
      const out: Record<string, unknown> = {};
      const sys = await mustLogin(s.port, d.sysCreds);
      out.unknown = await login(s.port, await d.creds(acc, user));
      out.push = await ask(sys, "$SYS.REQ.CLAIMS.UPDATE", accJwt);
      out.file = Deno.readTextFileSync(`${d.dir}/jwt_${w}/${acc.getPublicKey()}.jwt`) === accJwt;
      out.again = await ask(sys, `$SYS.REQ.ACCOUNT.${acc.getPublicKey()}.CLAIMS.UPDATE`, accJwt);
      out.garbage = await ask(sys, "$SYS.REQ.CLAIMS.UPDATE", "garbage");
      out.mismatch = await ask(
        sys,
        `$SYS.REQ.ACCOUNT.${d.sys.getPublicKey()}.CLAIMS.UPDATE`,
        accJwt,
      );
      out.lookup = (await ask(sys, `$SYS.REQ.ACCOUNT.${acc.getPublicKey()}.CLAIMS.LOOKUP`)) ===
        accJwt;
      const list = await ask(sys, "$SYS.REQ.CLAIMS.LIST");
      out.list = [...list.data].sort();
      // A connected user: lowering the subscription limit below what it holds closes it.
      const nc = await mustLogin(s.port, await d.creds(acc, user));
      nc.subscribe("a");
      nc.subscribe("b");
      await nc.flush();
      out.limit = await ask(
        sys,
        "$SYS.REQ.CLAIMS.UPDATE",
        await d.account(acc, { limits: { ...UNLIMITED, subs: 1 } }, "PUSHED"),
      );
      out.limited = await closedWith(nc);
      // Revoking a connected user disconnects it, and it cannot come back.
      const doomedCreds = await d.creds(acc, doomed);
      const nc2 = await mustLogin(s.port, doomedCreds);
      await nc2.flush();
      out.revoke = await ask(
        sys,
        "$SYS.REQ.CLAIMS.UPDATE",
        await d.account(acc, { revocations: { [doomed.getPublicKey()]: nowSec() + 5 } }, "PUSHED"),
      );
      out.revoked = await closedWith(nc2);
      out.back = await login(s.port, doomedCreds);
      // A delete request signed by the operator: the account's clients go, the file is renamed.
      const nc3 = await mustLogin(s.port, await d.creds(acc, user));
      await nc3.flush();
      const del = signJwt({
        jti: "D",
        iat: nowSec(),
        iss: d.op.getPublicKey(),
        sub: d.op.getPublicKey(),
        nats: { accounts: [acc.getPublicKey()] },
      }, d.op);
      out.notSelf = await ask(
        sys,
        "$SYS.REQ.CLAIMS.DELETE",
        signJwt({ iss: d.op.getPublicKey(), sub: "x", nats: { accounts: [] } }, d.op),
      );
      out.delete = await ask(sys, "$SYS.REQ.CLAIMS.DELETE", del);
      out.deleted = await closedWith(nc3);
      out.renamed = [...Deno.readDirSync(`${d.dir}/jwt_${w}`)].map((e) => e.name)
        .filter((n) => n.startsWith(acc.getPublicKey()));
      await sys.close();
      return out;
    },
  );
  const a = acc.getPublicKey();
  assert.deepEqual(same(r), {
    unknown: "Authorization Violation",
    push: { data: { account: a, code: 200, message: "jwt updated" } },
    file: true,
    again: { data: { account: a, code: 200, message: "jwt updated" } },
    garbage: {
      error: {
        account: "n/a",
        code: 500,
        description: "jwt update resulted in error - expected 3 chunks",
      },
    },
    mismatch: {
      error: {
        account: d.sys.getPublicKey(),
        code: 500,
        description: "jwt update resulted in error - subject does not match jwt content",
      },
    },
    lookup: true,
    list: [a, d.sys.getPublicKey()].sort(),
    limit: { data: { account: a, code: 200, message: "jwt updated" } },
    limited: "maximum subscriptions exceeded",
    revoke: { data: { account: a, code: 200, message: "jwt updated" } },
    revoked: "User Authentication Revoked",
    back: "Authorization Violation",
    notSelf: {
      error: { code: 500, description: "delete accounts request by x failed - not self signed" },
    },
    delete: { data: { code: 200, message: "deleted 1 accounts" } },
    deleted: "Account Authentication Expired",
    renamed: [`${a}.jwt.deleted`],
  });
});

Deno.test("a two-server cluster of ours shares a full resolver", async () => {
  await using d = await Deployment.create();
  const clusterPort = freePort();
  const node = (n: number, routes: string) =>
    d.conf(
      `{ type: full, dir: "${d.dir}/jwt_${n}", interval: "500ms" }`,
      [],
      `cluster { name: c, listen: "127.0.0.1:${n === 1 ? clusterPort : freePort()}"${routes} }\n`,
    );
  await using one = await startOurs(node(1, ""), `${d.dir}/one.conf`);
  const early = nkeys.createAccount();
  const earlyJwt = await d.account(early, {}, "EARLY");
  const sys = await mustLogin(one.port, d.sysCreds);
  assert.equal((await ask(sys, "$SYS.REQ.CLAIMS.UPDATE", earlyJwt)).data.code, 200);
  await using two = await startOurs(
    node(2, `, routes: ["nats-route://127.0.0.1:${clusterPort}"]`),
    `${d.dir}/two.conf`,
  );
  await waitFor(
    () =>
      (one.ts.server?.cluster?.routes.size ?? 0) > 0 &&
      (two.ts.server?.cluster?.routes.size ?? 0) > 0,
    "the route",
  );
  // Pushed to one while the other was away: the periodic pack brings it over.
  await waitFor(
    () => exists(`${d.dir}/jwt_2/${early.getPublicKey()}.jwt`),
    "the early account on the second server",
  );
  // Pushed to one now: the update reaches both, and its users log in on the other.
  const acc = nkeys.createAccount();
  const accJwt = await d.account(acc, {}, "SHARED");
  const answers = await sys.requestMany("$SYS.REQ.CLAIMS.UPDATE", accJwt, {
    maxMessages: 2,
    maxWait: 3000,
  });
  let ok = 0;
  for await (const m of answers) if (JSON.parse(m.string()).data?.code === 200) ok++;
  assert.equal(ok, 2);
  const there = await mustLogin(two.port, await d.creds(acc, nkeys.createUser()));
  const here = await mustLogin(one.port, await d.creds(acc, nkeys.createUser()));
  const sub = there.subscribe("across", { max: 1 });
  await there.flush();
  await waitFor(
    () => (one.ts.server?.accounts.get(acc.getPublicKey())?.sublist.count ?? 0) > 0,
    "interest across the route",
  );
  here.publish("across", "hello");
  for await (const m of sub) assert.equal(m.string(), "hello");
  // An account only the first server knows is looked up by the second when its user logs in.
  const late = nkeys.createAccount();
  const lateJwt = await d.account(late, {}, "LATE");
  await Deno.writeTextFile(`${d.dir}/jwt_1/${late.getPublicKey()}.jwt`, lateJwt);
  one.ts.server!.operator!.resolver.reload();
  const lateUser = await mustLogin(two.port, await d.creds(late, nkeys.createUser()));
  assert.equal(Deno.readTextFileSync(`${d.dir}/jwt_2/${late.getPublicKey()}.jwt`), lateJwt);
  for (const nc of [sys, there, here, lateUser]) await nc.close();
});

function exists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

// URL resolver ---------------------------------------------------------------------------------------

Deno.test("URL resolver: account JWTs fetched from an account server", async () => {
  await using d = await Deployment.create();
  const acc = nkeys.createAccount();
  const accJwt = await d.account(acc, {}, "HTTP");
  const jwts = new Map([[d.sys.getPublicKey(), d.sysJwt], [acc.getPublicKey(), accJwt]]);
  const http = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const key = new URL(req.url).pathname.replace("/jwt/v1/accounts/", "");
    if (key === "") return new Response("ok");
    const jwt = jwts.get(key);
    return jwt ? new Response(jwt) : new Response("not found", { status: 404 });
  });
  try {
    const url = `URL("http://127.0.0.1:${http.addr.port}/jwt/v1/accounts/")`;
    const conf = `operator: "${d.dir}/op.jwt"\nresolver: ${url}\n`;
    const run = async (s: Running) => {
      const user = await login(s.port, await d.creds(acc, nkeys.createUser()));
      const missing = await login(s.port, await d.creds(nkeys.createAccount(), nkeys.createUser()));
      const sys = await login(s.port, d.sysCreds);
      const out = {
        user: typeof user === "string" ? user : "ok",
        missing,
        sys: typeof sys === "string" ? sys : "ok",
        logged:
          /Account fetch failed: could not fetch <"http:\/\/127\.0\.0\.1:\d+\/jwt\/v1\/accounts\/A\w+">: 404 Not Found/
            .test(s.logs()),
      };
      if (typeof user !== "string") await user.close();
      if (typeof sys !== "string") await sys.close();
      return out;
    };
    // Ours as the command line runs it (the probe and the system account's fetch come first).
    const file = `${d.dir}/url.conf`;
    const port = freePort();
    await Deno.writeTextFile(file, `listen: "127.0.0.1:${port}"\n${conf}`);
    {
      await using p = new ServerProcess(["-c", file, "-D"], port);
      await p.waitStderr(/Server is ready/);
      const ours = await run({ port, logs: () => p.stderr, [Symbol.asyncDispose]: async () => {} });
      assert.deepEqual(ours, {
        user: "ok",
        missing: "Authorization Violation",
        sys: "ok",
        logged: true,
      });
      assert.doesNotMatch(p.stderr, /bootstrapping/);
      if (HAVE_NATS_SERVER) {
        await using ref = await startRef(conf, `${d.dir}/ref.conf`);
        assert.deepEqual(await run(ref), ours);
      }
    }
  } finally {
    await http.shutdown();
  }
});

// Monitoring -------------------------------------------------------------------------------------------

Deno.test("monitoring shows operator mode as nats-server does", async () => {
  await using d = await Deployment.create();
  const acc = nkeys.createAccount();
  const accJwt = await d.account(acc, {
    revocations: { [nkeys.createUser().getPublicKey()]: 1000 },
    exports: [{ subject: "s.>", type: "service", token_req: true }],
  }, "MON");
  const user = nkeys.createUser();
  let http = 0;
  const r = await sideBySide(
    d,
    () => d.conf("MEMORY", [[acc, accJwt]], `http: "127.0.0.1:${http = freePort()}"\n`),
    async (s) => {
      const nc = await mustLogin(s.port, await d.creds(acc, user, { tags: ["t:1"] }));
      await nc.flush();
      const port = http;
      const sys = await mustLogin(s.port, d.sysCreds);
      const info = await ask(sys, `$SYS.REQ.ACCOUNT.${acc.getPublicKey()}.INFO`);
      await sys.close();
      const out = await views(
        async (p) => await (await fetch(`http://127.0.0.1:${port}${p}`)).json(),
        acc,
      );
      await nc.close();
      return {
        ...out,
        info: jsonShape(info.data).filter((k) => !k.startsWith("imports")),
        infoClaims: info.data.decoded_jwt.nats,
      };
    },
  );
  const v = same(r);
  assert.ok(v.info.includes("decoded_jwt.nats.exports.[]token_req"), v.info.join(" "));
  assert.equal(v.system_account, d.sys.getPublicKey());
  assert.deepEqual(v.claim, {
    aud: "NATS",
    name: "OP",
    nats: { system_account: d.sys.getPublicKey(), type: "operator", version: 2 },
  });
  assert.deepEqual(v.conn, { issuer: acc.getPublicKey(), name: "U", tags: ["t:1"], jwt: true });
});

/** The operator-mode parts of /varz, /accountz and /connz, reduced to what both servers share. */
async function views(get: (path: string) => Promise<Record<string, unknown>>, acc: KeyPair) {
  const varz = await get("/varz");
  const claim = { ...(varz.trusted_operators_claim as Record<string, unknown>[])[0] };
  for (const k of ["jti", "iat", "iss", "sub"]) delete claim[k];
  const accountz = await get(`/accountz?acc=${acc.getPublicKey()}`);
  const detail = accountz.account_detail as Record<string, unknown>;
  const connz = await get("/connz?auth=1");
  const conn = (connz.connections as Record<string, unknown>[])[0];
  return {
    jwts: (varz.trusted_operators_jwt as string[]).length,
    claim,
    system_account: varz.system_account,
    accountzShape: jsonShape(detail).filter((k) => !k.startsWith("imports")),
    decoded: (detail.decoded_jwt as Record<string, unknown>).nats,
    exports: detail.exports,
    revoked: Object.keys(detail.revoked_user as object).length,
    connShape: jsonShape(conn).filter((k) => !["rtt", "last_activity"].includes(k)),
    conn: { issuer: conn.issuer_key, name: conn.name_tag, tags: conn.tags, jwt: !!conn.jwt },
  };
}

// Embedding ---------------------------------------------------------------------------------------------

Deno.test("config text maps onto operator options", async () => {
  await using d = await Deployment.create();
  const o = parseConfigString(
    d.conf(`{ type: cache, dir: "${d.dir}/cache", limit: 5, ttl: "1m", timeout: "3s" }`) +
      `resolver_pinned_accounts: [${d.sys.getPublicKey()}]\n`,
  );
  assert.equal(o.trustedOperators?.[0].jwt, d.opJwt);
  assert.equal(o.systemAccount, d.sys.getPublicKey());
  assert.deepEqual(o.resolver, {
    type: "cache",
    dir: `${d.dir}/cache`,
    limit: 5,
    ttlMs: 60_000,
    intervalMs: 0,
    allowDelete: false,
    timeoutMs: 3000,
  });
  assert.deepEqual(o.resolverPinnedAccounts, [d.sys.getPublicKey()]);
  assert.equal(o.resolverPreload?.[0][1], d.sysJwt);
  assert.ok(Deno.statSync(`${d.dir}/cache`).isDirectory);
});

Deno.test("operator mode: allowed_connection_types tells WebSocket logins from TCP ones", async () => {
  await using d = await Deployment.create();
  const acc = nkeys.createAccount();
  const accJwt = await d.account(acc);
  const wsOnly = await d.creds(acc, nkeys.createUser(), {
    allowed_connection_types: ["WEBSOCKET"],
  });
  const tcpOnly = await d.creds(acc, nkeys.createUser(), {
    allowed_connection_types: ["STANDARD"],
  });
  const { wsconnect } = await import("@nats-io/nats-core");
  const wsLogin = async (port: number, creds: Uint8Array): Promise<string> => {
    globalThis.addEventListener("error", ignoreConnReset);
    try {
      const nc = await wsconnect({
        servers: `ws://127.0.0.1:${port}`,
        reconnect: false,
        timeout: 5000,
        authenticator: credsAuthenticator(creds),
      });
      await nc.close();
      return "ok";
    } catch (e) {
      return (e as Error).message;
    } finally {
      globalThis.removeEventListener("error", ignoreConnReset);
    }
  };
  const result = same(
    await sideBySide(d, () => {
      const ws = freePort();
      return d.conf(
        "MEMORY",
        [[acc, accJwt]],
        `websocket { listen: "127.0.0.1:${ws}", no_tls: true }`,
      );
    }, async (s, which) => {
      const wsPort = Number(
        (await Deno.readTextFile(`${d.dir}/${which}.conf`))
          .match(/websocket \{ listen: "127\.0\.0\.1:(\d+)"/)![1],
      );
      const tcp = (c: NatsConnection | string) => typeof c === "string" ? c : (c.close(), "ok");
      return {
        wsOnlyOverWs: await wsLogin(wsPort, wsOnly),
        tcpOnlyOverWs: await wsLogin(wsPort, tcpOnly),
        wsOnlyOverTcp: tcp(await login(s.port, wsOnly)),
        tcpOnlyOverTcp: tcp(await login(s.port, tcpOnly)),
      };
    }),
  );
  assert.equal(result.wsOnlyOverWs, "ok");
  assert.equal(result.tcpOnlyOverTcp, "ok");
  assert.notEqual(result.tcpOnlyOverWs, "ok");
  assert.notEqual(result.wsOnlyOverTcp, "ok");
});

Deno.test("operator mode: a websocket client's JWT may come in the jwt_cookie", async () => {
  await using d = await Deployment.create();
  const acc = nkeys.createAccount();
  const accJwt = await d.account(acc);
  const user = nkeys.createUser();
  const userJwt = await jwtjs.encodeUser("U", user, acc);
  const other = nkeys.createUser();
  const otherJwt = await jwtjs.encodeUser("O", other, acc);
  const { WsRaw } = await import("./ws_helpers.ts");
  const result = same(
    await sideBySide(d, () => {
      const ws = freePort();
      return d.conf(
        "MEMORY",
        [[acc, accJwt]],
        `websocket { listen: "127.0.0.1:${ws}", no_tls: true, jwt_cookie: "jwt" }`,
      );
    }, async (_s, which) => {
      const wsPort = Number(
        (await Deno.readTextFile(`${d.dir}/${which}.conf`))
          .match(/websocket \{ listen: "127\.0\.0\.1:(\d+)"/)![1],
      );
      /** A websocket login: the cookie, and the CONNECT's jwt and signature (by `key`). */
      const attempt = async (cookie: string, jwt: string, key: KeyPair) => {
        const headers: Record<string, string> = cookie ? { Cookie: `jwt=${cookie}` } : {};
        const [c, info] = await WsRaw.open(wsPort, { headers });
        const sig = b64url(key.sign(new TextEncoder().encode(info.nonce as string)));
        const connect = { verbose: false, pedantic: false, sig, ...(jwt ? { jwt } : {}) };
        await c.sendText(`CONNECT ${JSON.stringify(connect)}\r\nPING\r\n`);
        const got = await c.textUntil("\r\n");
        await c.close();
        return got.trim();
      };
      return {
        cookie: await attempt(userJwt, "", user),
        none: await attempt("", "", user),
        connectWins: await attempt(userJwt, otherJwt, other),
        wrongKey: await attempt(userJwt, "", other),
      };
    }),
  );
  assert.deepEqual(result, {
    cookie: "PONG",
    none: "-ERR 'Authorization Violation'",
    connectWins: "PONG",
    wrongKey: "-ERR 'Authorization Violation'",
  });
});
