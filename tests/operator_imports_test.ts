/**
 * Imports between JWT accounts that nats-server 2.9.10 refuses when it applies an account's
 * claims: a service or stream import that would close a cycle between accounts, a second service
 * import on the same local subject, a stream import with a wildcard prefix. The refused import is
 * left out (the account is incomplete in /accountz) and its debug line logged; messages never
 * loop. Side by side with nats-server.
 */

import assert from "node:assert/strict";
import {
  Deployment,
  type KeyPair,
  mustLogin,
  nkeys,
  type Running,
  same,
  sideBySide,
} from "./operator_fixture.ts";

/** A request's answer, or how it failed. */
async function answer(nc: Awaited<ReturnType<typeof mustLogin>>, subject: string) {
  return await nc.request(subject, "", { timeout: 800 }).then(
    (m) => m.string(),
    (e: Error) => e.message,
  );
}

/** The debug lines that refused imports, with keys named. */
function refusals(s: Running, names: Record<string, string>): string[] {
  const lines = s.logs().split("\n")
    .map((l) => l.replace(/^.*\[DBG\] /, ""))
    .filter((l) => /^Error adding (service|stream) import/.test(l));
  return [...new Set(lines)].map((l) => {
    for (const [k, n] of Object.entries(names)) l = l.replaceAll(k, n);
    return l;
  }).sort();
}

Deno.test("a service import that closes a cycle between JWT accounts is refused", async () => {
  await using d = await Deployment.create();
  const a = nkeys.createAccount();
  const b = nkeys.createAccount();
  const svc = (from: KeyPair) => ({
    exports: [{ name: "svc", subject: "svc.>", type: "service" }],
    imports: [{ name: "svc", subject: "svc.>", account: from.getPublicKey(), type: "service" }],
  });
  const aJwt = await d.account(a, svc(b), "A");
  const bJwt = await d.account(b, svc(a), "B");
  const names = { [a.getPublicKey()]: "<A>", [b.getPublicKey()]: "<B>" };
  const r = await sideBySide(d, () => d.conf("MEMORY", [[a, aJwt], [b, bJwt]]), async (s) => {
    // A's user logs in first: A is made, and B while A's imports are set up.
    const na = await mustLogin(s.port, await d.creds(a, nkeys.createUser()));
    const nb = await mustLogin(s.port, await d.creds(b, nkeys.createUser()));
    const responder = na.subscribe("svc.>");
    (async () => {
      for await (const m of responder) m.respond(`A answers ${m.subject}`);
    })();
    await na.flush();
    const out = {
      fromB: await answer(nb, "svc.x"),
      fromA: await answer(na, "svc.y"),
      refused: refusals(s, names),
    };
    await Promise.all([na.close(), nb.close()]);
    return out;
  });
  assert.deepEqual(same(r), {
    fromB: "A answers svc.x",
    fromA: "A answers svc.y",
    refused: ["Error adding service import to account [<A>/A]: import forms a cycle"],
  });
});

/** Whether each account is complete, as `$SYS.REQ.ACCOUNT.<acc>.INFO` tells it. */
async function complete(s: Running, d: Deployment, accounts: Record<string, KeyPair>) {
  const sys = await mustLogin(s.port, d.sysCreds);
  const out: Record<string, unknown> = {};
  for (const [name, k] of Object.entries(accounts)) {
    const m = await sys.request(`$SYS.REQ.ACCOUNT.${k.getPublicKey()}.INFO`, "");
    out[name] = (JSON.parse(m.string()) as { data?: { complete?: boolean } }).data?.complete;
  }
  await sys.close();
  return out;
}

Deno.test("three accounts in a service cycle, a stream cycle, duplicates and a wildcard prefix", async () => {
  await using d = await Deployment.create();
  const [a, b, c, e, f, g] = [1, 2, 3, 4, 5, 6].map(() => nkeys.createAccount());
  const svcExport = { name: "q", subject: "q.>", type: "service" };
  const streamExport = { name: "ev", subject: "ev.>", type: "stream" };
  const svcImport = (from: KeyPair, extra: Record<string, unknown> = {}) => ({
    name: "q",
    subject: "q.>",
    account: from.getPublicKey(),
    type: "service",
    ...extra,
  });
  const streamImport = (from: KeyPair, extra: Record<string, unknown> = {}) => ({
    name: "ev",
    subject: "ev.>",
    account: from.getPublicKey(),
    type: "stream",
    ...extra,
  });
  // a -> b -> c -> a for the service; e and f import each other's stream.
  const jwts: [KeyPair, string][] = [
    [a, await d.account(a, { exports: [svcExport], imports: [svcImport(b)] }, "A")],
    [b, await d.account(b, { exports: [svcExport], imports: [svcImport(c)] }, "B")],
    [c, await d.account(c, { exports: [svcExport], imports: [svcImport(a)] }, "C")],
    [
      e,
      await d.account(e, {
        exports: [streamExport, svcExport],
        imports: [
          streamImport(f),
          streamImport(f, { name: "again" }),
          streamImport(f, { name: "wild", subject: "ev.x", to: "p.*" }),
        ],
      }, "E"),
    ],
    [
      f,
      await d.account(f, {
        exports: [streamExport, svcExport],
        imports: [
          streamImport(e),
          svcImport(e),
        ],
      }, "F"),
    ],
    [g, await d.account(g, { imports: [streamImport(f), streamImport(f, { name: "dup" })] }, "G")],
  ];
  const names = Object.fromEntries(
    [[a, "<A>"], [b, "<B>"], [c, "<C>"], [e, "<E>"], [f, "<F>"], [g, "<G>"]].map((
      [k, n],
    ) => [(k as KeyPair).getPublicKey(), n as string]),
  );
  const r = await sideBySide(d, () => d.conf("MEMORY", jwts), async (s) => {
    // Accounts are made in this order (each with the accounts it imports from).
    for (const k of [a, e, f, g]) {
      await (await mustLogin(s.port, await d.creds(k, nkeys.createUser()))).close();
    }
    const na = await mustLogin(s.port, await d.creds(a, nkeys.createUser()));
    const ne = await mustLogin(s.port, await d.creds(e, nkeys.createUser()));
    const nf = await mustLogin(s.port, await d.creds(f, nkeys.createUser()));
    const out = {
      // Nobody answers q in any of them: the request must come back unanswered, not loop.
      fromA: await answer(na, "q.1"),
      complete: await complete(s, d, { a, b, c, e, f, g }),
      refused: refusals(s, names),
    };
    await Promise.all([na.close(), ne.close(), nf.close()]);
    return out;
  });
  assert.deepEqual(same(r), {
    fromA: "no responders: 'q.1'",
    complete: { a: false, b: true, c: true, e: false, f: true, g: false },
    refused: [
      "Error adding service import to account [<A>/A]: import forms a cycle",
      "Error adding stream import to account [<E>/E]: import forms a cycle",
      "Error adding stream import to account [<E>/E]: stream import prefix can not contain " +
      "wildcard tokens",
      "Error adding stream import to account [<G>/G]: stream import already exists",
    ],
  });
});
