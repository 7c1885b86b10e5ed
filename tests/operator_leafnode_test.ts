/**
 * Leafnodes in operator mode, side by side with nats-server 2.9.10: a hub in operator mode takes
 * a leaf's CONNECT with a user JWT and the nonce signed by the user's key (a remote's
 * `credentials`), binds it to the JWT's account, applies the user's permissions, its connection
 * types, its expiry and revocations, and the account's `leaf` limit; a leaf's remote with
 * `credentials` logs in to either hub; a leaf in operator mode binds its remote to an account
 * key. Every scenario runs in each mix of our server and nats-server (hub x leaf), and what each
 * side saw and logged must be the same.
 */

import assert from "node:assert/strict";
import { connect, credsAuthenticator, type NatsConnection } from "@nats-io/transport-node";
import { HAVE_NATS_SERVER, waitFor } from "./helpers.ts";
import { freePort } from "./process_helpers.ts";
import { type Kind, logged, type Node, start } from "./leafnode_mixed.ts";
import { Deployment, jwtjs, type KeyPair, nkeys, nowSec, UNLIMITED } from "./operator_fixture.ts";

const KINDS: Kind[] = HAVE_NATS_SERVER ? ["ours", "nats-server"] : ["ours"];
const MIXES: [Kind, Kind][] = KINDS.flatMap((h) => KINDS.map((l) => [h, l] as [Kind, Kind]));

/** An operator deployment with account A (its JWT's extra claims given) and creds files. */
async function deployment(accountNats: Record<string, unknown> = {}) {
  const d = await Deployment.create();
  const a = nkeys.createAccount();
  const aJwt = await d.account(a, { limits: { ...UNLIMITED, ...accountNats } }, "A");
  /** A creds file for a user of A with these user claims; its path. */
  const creds = async (name: string, nats: Record<string, unknown> = {}, exp = 0) => {
    const user = nkeys.createUser();
    const jwt = await jwtjs.encodeUser(name, user, a, nats, exp ? { exp } : {});
    const file = `${d.dir}/${name}.creds`;
    await Deno.writeFile(file, jwtjs.fmtCreds(jwt, user));
    return { file, user, creds: jwtjs.fmtCreds(jwt, user) };
  };
  return { d, a, aJwt, creds };
}

/** A hub in operator mode (A preloaded) with a leafnode listener, and more config. */
function hubConf(d: Deployment, a: KeyPair, aJwt: string, leafPort: number, extra = ""): string {
  return d.conf("MEMORY", [[a, aJwt]], `leafnodes { listen: "127.0.0.1:${leafPort}" }\n${extra}`);
}

/** A leaf (no auth of its own) whose remote goes to `leafPort`, with these remote settings. */
function leafConf(name: string, url: string, remote: string): string {
  const more = remote === "" ? "" : `, ${remote}`;
  return `server_name: ${name}\nleafnodes { remotes [ { url: "${url}"${more} } ] }\n`;
}

/** A server's log lines with addresses, connection ids and times taken out. */
function normalized(node: Node): string[] {
  return node.lines().map((l) =>
    l.replace(/^\[\d+\] [\d/]+ [\d:.]+ /, "")
      .replace(/127\.0\.0\.1:\d+ - lid(_ws)?:\d+ - /, "lid$1 - ")
      .replace(/ accused 0x[0-9a-f]+$/, " accused")
  );
}

/** The lines among `lines` that match one of `patterns`, deduplicated, in the patterns' order. */
function pick(lines: string[], patterns: RegExp[]): string[] {
  const out: string[] = [];
  for (const re of patterns) {
    for (const l of lines) if (re.test(l) && !out.includes(l)) out.push(l);
  }
  return out;
}

/** Publishes until `sub` receives (interest crosses the leafnode after a while). */
async function crosses(pub: NatsConnection, sub: NatsConnection, subject: string) {
  const s = sub.subscribe(subject);
  await sub.flush();
  let got = "";
  const done = (async () => {
    for await (const m of s) {
      got = m.string();
      break;
    }
  })();
  await waitFor(async () => {
    pub.publish(subject, `to ${subject}`);
    await pub.flush();
    await new Promise((r) => setTimeout(r, 50));
    return got !== "";
  }, `a message on ${subject} to cross`);
  await done;
  return got;
}

/** Whether a message on `subject` arrives within a short wait (for denied subjects). */
async function arrives(pub: NatsConnection, sub: NatsConnection, subject: string) {
  const s = sub.subscribe(subject, { max: 1 });
  await sub.flush();
  await new Promise((r) => setTimeout(r, 300));
  pub.publish(subject, "x");
  await pub.flush();
  let got = false;
  const t = setTimeout(() => s.unsubscribe(), 500);
  for await (const _ of s) got = true;
  clearTimeout(t);
  return got;
}

async function client(port: number, creds?: Uint8Array): Promise<NatsConnection> {
  return await connect({
    port,
    reconnect: false,
    ...(creds ? { authenticator: credsAuthenticator(creds) } : {}),
  });
}

Deno.test("operator-mode hub: leafs log in with credentials; no JWT and the leaf limit are refused", async () => {
  const results: Record<string, unknown>[] = [];
  for (const [hubKind, leafKind] of MIXES) {
    const { d, a, aJwt, creds } = await deployment({ leaf: 1 });
    await using _d = d;
    const u = await creds("U");
    const leafPort = freePort();
    const url = `nats-leaf://127.0.0.1:${leafPort}`;
    await using hub = await start(hubKind, hubConf(d, a, aJwt, leafPort));
    await using leaf1 = await start(leafKind, leafConf("leaf1", url, `credentials: "${u.file}"`));
    await logged(hub, /Authenticated JWT: Leafnode/);
    const hc = await client(hub.port, u.creds);
    const lc = await client(leaf1.port);
    const toLeaf = await crosses(hc, lc, "leaf.x");
    const toHub = await crosses(lc, hc, "hub.x");
    await using leaf2 = await start(leafKind, leafConf("leaf2", url, `credentials: "${u.file}"`));
    await using leaf3 = await start(leafKind, leafConf("leaf3", url, ""));
    await logged(leaf2, /Leafnode Error 'maximum account active connections exceeded'/);
    await logged(leaf3, /Leafnode Error 'Authorization Violation'/);
    await hc.close();
    await lc.close();
    const leafLine = (n: Node) =>
      pick(normalized(n), [/Leafnode Error/, /Leafnode connection created for account/])
        .map((l) => l.replace(/^\[ERR\] lid - /, ""));
    results.push({
      messages: [toLeaf, toHub],
      hub: pick(normalized(hub), [
        /Authenticated JWT: Leafnode/,
        /Authentication requires a user JWT/,
        /authentication error/,
        /maximum account active connections exceeded/,
        /Leafnode connection closed: Authentication Failure/,
        /Leafnode connection closed: Maximum Account/,
      ]).map((l) => l.replace(/[A-Z0-9]{56}/g, (k) => k === a.getPublicKey() ? "<A>" : "<K>")),
      leaf1: leafLine(leaf1),
      leaf2: leafLine(leaf2),
      leaf3: leafLine(leaf3),
    });
  }
  for (const r of results.slice(1)) assert.deepEqual(r, results[0]);
  assert.deepEqual(results[0], {
    messages: ["to leaf.x", "to hub.x"],
    hub: [
      '[DBG] lid - Authenticated JWT: Leafnode "<K>" (claim-name: "U", claim-tags: []) signed ' +
      'with "<A>" by Account "<A>" (claim-name: "A", claim-tags: []) signed with "<K>" has ' +
      "mappings false accused",
      "[DBG] lid - Authentication requires a user JWT",
      "[ERR] lid - authentication error",
      "[ERR] lid - maximum account active connections exceeded",
      "[INF] lid - Leafnode connection closed: Authentication Failure account: ",
      "[INF] lid - Leafnode connection closed: Maximum Account Connections Exceeded account: <A>/A",
    ],
    leaf1: ["[INF] lid - Leafnode connection created for account: $G "],
    leaf2: [
      "Leafnode Error 'maximum account active connections exceeded'",
      "[INF] lid - Leafnode connection created for account: $G ",
    ],
    leaf3: [
      "Leafnode Error 'Authorization Violation'",
      "[INF] lid - Leafnode connection created for account: $G ",
    ],
  });
});

Deno.test("a leaf's user JWT: permissions, connection types, expiry and revocation", async () => {
  const results: Record<string, unknown>[] = [];
  for (const [hubKind, leafKind] of MIXES) {
    const { d, a, aJwt, creds } = await deployment();
    await using _d = d;
    const perm = await creds("P", { pub: { allow: ["up.>"] }, sub: { allow: ["down.>"] } });
    const standard = await creds("S", { allowed_connection_types: ["STANDARD"] });
    const expiring = await creds("E", {}, nowSec() + 3);
    const revoked = await creds("R", { allowed_connection_types: ["LEAFNODE"] });
    const hubUser = await creds("H");
    const leafPort = freePort();
    const url = `nats-leaf://127.0.0.1:${leafPort}`;
    await using hub = await start(hubKind, hubConf(d, a, aJwt, leafPort));
    const leaf = (name: string, c: { file: string }) =>
      start(leafKind, leafConf(name, url, `credentials: "${c.file}"`));
    await using lp = await leaf("lp", perm);
    await using ls = await leaf("ls", standard);
    await using le = await leaf("le", expiring);
    await using lr = await leaf("lr", revoked);
    await logged(ls, /Leafnode Error 'Authorization Violation'/);
    await waitFor(
      () => normalized(hub).filter((l) => /Authenticated JWT: Leafnode/.test(l)).length >= 3,
      "three leafs logged in",
    );
    const hc = await client(hub.port, hubUser.creds);
    const lc = await client(lp.port);
    const crossed = {
      up: await crosses(lc, hc, "up.1"),
      down: await crosses(hc, lc, "down.1"),
      upDenied: await arrives(lc, hc, "side.1"),
      downDenied: await arrives(hc, lc, "side.2"),
    };
    // The expiring leaf is closed by the hub; the revoked one once the account says so.
    await logged(le, /Leafnode Error 'User Authentication Expired'/);
    const sys = await client(hub.port, d.sysCreds);
    const update = await d.account(a, {
      limits: UNLIMITED,
      revocations: { [revoked.user.getPublicKey()]: nowSec() },
    }, "A");
    const answer = await sys.request(`$SYS.REQ.ACCOUNT.${a.getPublicKey()}.CLAIMS.UPDATE`, update);
    await logged(lr, /Leafnode Error 'User Authentication Revoked'/);
    await Promise.all([hc.close(), lc.close(), sys.close()]);
    results.push({
      crossed,
      update: (JSON.parse(answer.string()) as { data?: { message?: string } }).data?.message,
      hub: pick(normalized(hub), [/Connection type not allowed/, /Leafnode connection closed/])
        .map((l) => l.replace(a.getPublicKey(), "<A>")),
    });
  }
  for (const r of results.slice(1)) assert.deepEqual(r, results[0]);
  assert.deepEqual(results[0], {
    crossed: { up: "to up.1", down: "to down.1", upDenied: false, downDenied: false },
    update: "jwt updated",
    hub: [
      "[DBG] lid - Connection type not allowed",
      "[INF] lid - Leafnode connection closed: Authentication Failure account: ",
      "[INF] lid - Leafnode connection closed: Authentication Expired account: <A>/A",
      "[INF] lid - Leafnode connection closed: Credentials Revoked account: <A>/A",
    ],
  });
});

Deno.test("a leaf over websocket is a LEAFNODE_WS connection for allowed_connection_types", async () => {
  const results: Record<string, unknown>[] = [];
  for (const [hubKind, leafKind] of MIXES) {
    const { d, a, aJwt, creds } = await deployment();
    await using _d = d;
    const tcpOnly = await creds("T", { allowed_connection_types: ["LEAFNODE"] });
    const wsOnly = await creds("W", { allowed_connection_types: ["LEAFNODE_WS"] });
    const leafPort = freePort();
    const wsPort = freePort();
    const ws = `websocket { listen: "127.0.0.1:${wsPort}", no_tls: true }\n`;
    await using hub = await start(hubKind, hubConf(d, a, aJwt, leafPort, ws));
    const leaf = (name: string, url: string, c: { file: string }) =>
      start(leafKind, leafConf(name, url, `credentials: "${c.file}"`));
    const wsUrl = `ws://127.0.0.1:${wsPort}`;
    const tcpUrl = `nats-leaf://127.0.0.1:${leafPort}`;
    await using wsOk = await leaf("ws_ok", wsUrl, wsOnly);
    await using wsBad = await leaf("ws_bad", wsUrl, tcpOnly);
    await using tcpBad = await leaf("tcp_bad", tcpUrl, wsOnly);
    await using tcpOk = await leaf("tcp_ok", tcpUrl, tcpOnly);
    await logged(wsBad, /Leafnode Error 'Authorization Violation'/);
    await logged(tcpBad, /Leafnode Error 'Authorization Violation'/);
    await waitFor(
      () => normalized(hub).filter((l) => /Authenticated JWT: Leafnode/.test(l)).length >= 2,
      "two leafs logged in",
    );
    results.push({
      hub: [
        ...new Set(
          pick(normalized(hub), [/Authenticated JWT: Leafnode/, /Connection type not allowed/])
            .map((l) => l.replace(/ \(claim-name.*$/, "").replace(/"U[A-Z0-9]{55}"/, "<U>")),
        ),
      ].sort(),
      ok: [wsOk, tcpOk].map((n) => pick(normalized(n), [/Leafnode Error/]).length),
    });
  }
  for (const r of results.slice(1)) assert.deepEqual(r, results[0]);
  assert.deepEqual(results[0].ok, [0, 0]);
  assert.deepEqual(results[0].hub, [
    "[DBG] lid - Authenticated JWT: Leafnode <U>",
    "[DBG] lid - Connection type not allowed",
    "[DBG] lid_ws - Authenticated JWT: Leafnode <U>",
    "[DBG] lid_ws - Connection type not allowed",
  ]);
});

Deno.test("a leaf in operator mode binds its remote to an account key", async () => {
  const results: Record<string, unknown>[] = [];
  for (const [hubKind, leafKind] of MIXES) {
    const { d, a, aJwt, creds } = await deployment();
    await using _d = d;
    const remoteUser = await creds("L");
    const user = await creds("U");
    const missing = nkeys.createAccount().getPublicKey();
    const leafPort = freePort();
    const url = `nats-leaf://127.0.0.1:${leafPort}`;
    await using hub = await start(hubKind, hubConf(d, a, aJwt, leafPort));
    const remotes = `leafnodes { remotes [\n` +
      `  { url: "${url}", account: ${a.getPublicKey()}, credentials: "${remoteUser.file}" }\n` +
      `  { url: "${url}", account: ${missing}, credentials: "${remoteUser.file}" }\n]}\n`;
    await using leaf = await start(
      leafKind,
      `server_name: opleaf\n${d.conf("MEMORY", [[a, aJwt]], remotes)}`,
    );
    await logged(leaf, /Unable to lookup account/);
    await logged(hub, /Authenticated JWT: Leafnode/);
    const hc = await client(hub.port, user.creds);
    const lc = await client(leaf.port, user.creds);
    const crossed = [await crosses(hc, lc, "to.leaf"), await crosses(lc, hc, "to.hub")];
    await Promise.all([hc.close(), lc.close()]);
    results.push({
      crossed,
      leaf: pick(normalized(leaf), [/Leafnode connection created for account/, /Unable to lookup/])
        .map((l) => l.replace(a.getPublicKey(), "<A>").replace(missing, "<M>")),
    });
  }
  for (const r of results.slice(1)) assert.deepEqual(r, results[0]);
  assert.deepEqual(results[0], {
    crossed: ["to to.leaf", "to to.hub"],
    leaf: [
      "[INF] lid - Leafnode connection created for account: <A>/A ",
      "[ERR] Unable to lookup account <M> for solicited leafnode connection: account missing",
    ],
  });
});

Deno.test("leafnode settings in operator mode are refused as nats-server refuses them", async () => {
  await using d = await Deployment.create();
  const acc = nkeys.createAccount().getPublicKey();
  const cases: [string, string][] = [
    [
      `leafnodes { remotes [ { url: "nats-leaf://127.0.0.1:1" } ] }`,
      "operator mode requires account nkeys in remotes. Please add an `account` key to each " +
      "remote in your `leafnodes` section, to assign it to an account. Each account value " +
      "should be a 56 character public key, starting with the letter 'A'",
    ],
    [
      `leafnodes { listen: "127.0.0.1:-1", authorization { account: APP } }`,
      "operator mode and non account nkeys are incompatible",
    ],
    [
      `leafnodes { listen: "127.0.0.1:-1", authorization { users [ {user: a, password: b} ] } }`,
      "operator mode does not allow specifying user in leafnode config",
    ],
    [`leafnodes { listen: "127.0.0.1:-1", authorization { account: ${acc} } }`, "started"],
  ];
  for (const [extra, want] of cases) {
    const file = `${d.dir}/bad.conf`;
    await Deno.writeTextFile(file, d.conf("MEMORY", [], extra));
    assert.equal(await ourStartError(file), want, extra);
    if (HAVE_NATS_SERVER && want !== "started") {
      const out = await new Deno.Command("nats-server", {
        args: ["-c", file, "-p", String(freePort())],
        stdout: "null",
        stderr: "piped",
      }).output();
      const ref = new TextDecoder().decode(out.stderr).trim().replace(/^nats-server: /, "");
      assert.equal(ref, want, `nats-server: ${extra}`);
    }
  }
});

async function ourStartError(file: string): Promise<string> {
  const { loadConfig } = await import("../src/config.ts");
  const { defaultOptions, mergeOptions } = await import("../src/options.ts");
  const { Server } = await import("../src/server.ts");
  const { MemoryLogger } = await import("./helpers.ts");
  try {
    const s = await Server.create(
      mergeOptions(defaultOptions(), loadConfig(file).options),
      new MemoryLogger(),
    );
    s.operator?.stop();
    return "started";
  } catch (e) {
    return (e as Error).message;
  }
}

Deno.test("a JWT user whose deny lists cover JetStream gets nats-server's notice", async () => {
  const results: string[][] = [];
  for (
    const [hubKind, leafKind] of MIXES.filter(([, l]) => l === "nats-server" || !HAVE_NATS_SERVER)
  ) {
    const { d, a, aJwt, creds } = await deployment();
    await using _d = d;
    const deny = { pub: { deny: ["$JS.API.>", "$KV.*"] }, sub: { deny: [">"] } };
    const leafUser = await creds("L", deny);
    const clientUser = await creds("C", { pub: { deny: ["$JS.>"] } });
    const leafPort = freePort();
    await using hub = await start(hubKind, hubConf(d, a, aJwt, leafPort));
    await using _leaf = await start(
      leafKind,
      leafConf("l", `nats-leaf://127.0.0.1:${leafPort}`, `credentials: "${leafUser.file}"`),
    );
    await logged(hub, /Connected Leafnode has JetStream denied/);
    const nc = await client(hub.port, clientUser.creds);
    await logged(hub, /Connected Client has JetStream denied/);
    await nc.close();
    results.push(
      pick(normalized(hub), [/Connected (Leafnode|Client) has JetStream denied/])
        // (nats-server names the client's library after its address; we do not.)
        .map((l) => l.replace(/127\.0\.0\.1:\d+ - cid:\d+ - ("[^"]*" - )?/, "cid - ")),
    );
  }
  for (const r of results.slice(1)) assert.deepEqual(r, results[0]);
  assert.deepEqual(results[0], [
    "[INF] lid - Connected Leafnode has JetStream denied on pub: [$JS.API.> $KV.>] " +
    "sub: [$JSC.> $NRG.> $JS.API.> $KV.> $OBJ.>]",
    "[INF] cid - Connected Client has JetStream denied on pub: [$JS.API.>] sub: []",
  ]);
});

Deno.test("operator-mode hub: a leafnode authorization user binds the account key it names", async () => {
  const results: unknown[] = [];
  for (const [hubKind, leafKind] of MIXES) {
    const { d, a, aJwt, creds } = await deployment();
    await using _d = d;
    const user = await creds("U");
    const leafPort = freePort();
    const auth = `leafnodes { listen: "127.0.0.1:${leafPort}", ` +
      `authorization { user: lu, password: lp, account: ${a.getPublicKey()} } }\n`;
    await using hub = await start(hubKind, d.conf("MEMORY", [[a, aJwt]], auth));
    await using leaf = await start(
      leafKind,
      leafConf("l", `nats-leaf://lu:lp@127.0.0.1:${leafPort}`, ""),
    );
    await using bad = await start(
      leafKind,
      leafConf("b", `nats-leaf://lu:wrong@127.0.0.1:${leafPort}`, ""),
    );
    await logged(bad, /Leafnode Error 'Authorization Violation'/);
    const hc = await client(hub.port, user.creds);
    const lc = await client(leaf.port);
    results.push([await crosses(lc, hc, "up"), await crosses(hc, lc, "down")]);
    await Promise.all([hc.close(), lc.close()]);
  }
  for (const r of results) assert.deepEqual(r, ["to up", "to down"]);
});
