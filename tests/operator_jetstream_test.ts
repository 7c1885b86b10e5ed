/**
 * JetStream in account JWTs, side by side with nats-server 2.9.10 (`-js` with an operator
 * config): the JWT's JetStream limits enable JetStream for the account and are enforced (streams,
 * consumers, max ack pending, stream bytes, max_bytes_required, storage), tiered limits are read
 * by tier, an account without them answers "JetStream not enabled for account", and a claims
 * update changes the limits live, enables or disables the account's JetStream. The official
 * @nats-io/jetstream client logs in with creds.
 */

import assert from "node:assert/strict";
import { jetstreamManager } from "@nats-io/jetstream";
import { HAVE_NATS_SERVER, waitFor } from "./helpers.ts";
import {
  Deployment,
  type KeyPair,
  mustLogin,
  nkeys,
  type Running,
  same,
  sideBySide,
  startOurs,
  startRef,
  UNLIMITED,
} from "./operator_fixture.ts";

const MB = 1024 * 1024;

/** A config: JetStream in a store directory of its own beside the deployment's operator setup. */
function jsConf(d: Deployment, which: string, resolver: string, preload: [KeyPair, string][]) {
  return d.conf(resolver, preload, `jetstream { store_dir: "${d.dir}/js_${which}" }\n`);
}

/** An API call's outcome: the answer's shape without times and server names, or the error. */
async function outcome<T>(f: () => Promise<T>, pick?: (v: T) => unknown): Promise<unknown> {
  try {
    const v = await f();
    return pick ? pick(v) : "ok";
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    return typeof code === "number" ? `${code} ${(e as Error).message}` : (e as Error).message;
  }
}

/** The account info as a client sees it, without what varies between runs (api counters). */
async function accountInfo(nc: Parameters<typeof jetstreamManager>[0]) {
  return await outcome(async () => {
    const jsm = await jetstreamManager(nc, { checkAPI: false });
    return await jsm.getAccountInfo();
  }, (i) => {
    const v = JSON.parse(JSON.stringify(i));
    delete v.api;
    return v;
  });
}

Deno.test("an account JWT's JetStream limits enable JetStream and are enforced", async () => {
  await using d = await Deployment.create();
  const a = nkeys.createAccount();
  const b = nkeys.createAccount();
  const aJwt = await d.account(a, {
    limits: {
      ...UNLIMITED,
      mem_storage: 4 * MB,
      disk_storage: 8 * MB,
      streams: 2,
      consumer: 2,
      max_ack_pending: 50,
      mem_max_stream_bytes: 2 * MB,
      disk_max_stream_bytes: 3 * MB,
      max_bytes_required: true,
    },
  }, "A");
  const bJwt = await d.account(b, {}, "B");
  const aCreds = await d.creds(a, nkeys.createUser());
  const bCreds = await d.creds(b, nkeys.createUser());
  const r = await sideBySide(
    d,
    (w) => jsConf(d, w, "MEMORY", [[a, aJwt], [b, bJwt]]),
    async (s: Running) => {
      const na = await mustLogin(s.port, aCreds);
      const nb = await mustLogin(s.port, bCreds);
      const jsm = await jetstreamManager(na, { checkAPI: false });
      const add = (name: string, extra: Record<string, unknown> = {}) =>
        outcome(() => jsm.streams.add({ name, subjects: [`${name}.>`], ...extra }));
      const out = {
        a: await accountInfo(na),
        b: await accountInfo(nb),
        noMaxBytes: await add("S0"),
        tooBig: await add("S0", { max_bytes: 4 * MB }),
        tooManyConsumers: await add("S0", { max_bytes: MB, max_consumers: 5 }),
        first: await add("S1", { max_bytes: MB }),
        memory: await add("S2", { max_bytes: 3 * MB, storage: "memory" }),
        memoryOk: await add("S2", { max_bytes: MB, storage: "memory" }),
        third: await add("S3", { max_bytes: MB }),
        c1: await outcome(() =>
          jsm.consumers.add("S1", { durable_name: "c1", ack_policy: "explicit" })
        ),
        ackPending: await outcome(() =>
          jsm.consumers.add("S1", {
            durable_name: "c2",
            ack_policy: "explicit",
            max_ack_pending: 100,
          })
        ),
        c2: await outcome(() =>
          jsm.consumers.add("S1", { durable_name: "c2", ack_policy: "explicit" })
        ),
        c3: await outcome(() =>
          jsm.consumers.add("S1", { durable_name: "c3", ack_policy: "explicit" })
        ),
        after: await accountInfo(na),
      };
      await Promise.all([na.close(), nb.close()]);
      return out;
    },
  );
  const limits = {
    max_memory: 4 * MB,
    max_storage: 8 * MB,
    max_streams: 2,
    max_consumers: 2,
    max_ack_pending: 50,
    memory_max_stream_bytes: 2 * MB,
    storage_max_stream_bytes: 3 * MB,
    max_bytes_required: true,
  };
  const info = (streams: number, consumers: number) => ({
    type: "io.nats.jetstream.api.v1.account_info_response",
    memory: 0,
    storage: 0,
    streams,
    consumers,
    limits,
  });
  assert.deepEqual(same(r), {
    a: info(0, 0),
    b: "JetStream not enabled for account",
    noMaxBytes: "10113 account requires a stream config to have max bytes set",
    tooBig: "10122 stream max bytes exceeds account limit max stream bytes",
    tooManyConsumers: "10026 maximum consumers limit reached",
    first: "ok",
    memory: "10122 stream max bytes exceeds account limit max stream bytes",
    memoryOk: "ok",
    third: "10027 maximum number of streams reached",
    c1: "ok",
    ackPending: "10121 consumer max ack pending exceeds system limit of 50",
    c2: "ok",
    c3: "10026 maximum consumers limit reached",
    after: info(2, 2),
  });
});

Deno.test("claims updates change an account's JetStream live: limits, enable, disable", async () => {
  await using d = await Deployment.create();
  const a = nkeys.createAccount();
  const b = nkeys.createAccount();
  const js = (streams: number, disk = 8 * MB) => ({
    limits: { ...UNLIMITED, mem_storage: 4 * MB, disk_storage: disk, streams, consumer: -1 },
  });
  const aJwt = await d.account(a, js(1), "A");
  const bJwt = await d.account(b, {}, "B");
  const aCreds = await d.creds(a, nkeys.createUser());
  const bCreds = await d.creds(b, nkeys.createUser());
  const updates = {
    aTwo: await d.account(a, js(2), "A"),
    bOn: await d.account(b, js(1), "B"),
    aOff: await d.account(a, {}, "A"),
    aOn: await d.account(a, js(2), "A"),
    aHuge: await d.account(a, js(2, 200 * MB), "A"),
  };
  const r = await sideBySide(
    d,
    (w) =>
      d.conf(
        "MEMORY",
        [[a, aJwt], [b, bJwt]],
        `jetstream { store_dir: "${d.dir}/js_${w}", max_file_store: 100MB, max_mem_store: 50MB }\n`,
      ),
    async (s: Running) => {
      const sys = await mustLogin(s.port, d.sysCreds);
      const na = await mustLogin(s.port, aCreds);
      const nb = await mustLogin(s.port, bCreds);
      const push = async (acc: KeyPair, jwt: string) => {
        const m = await sys.request(`$SYS.REQ.ACCOUNT.${acc.getPublicKey()}.CLAIMS.UPDATE`, jwt);
        return (JSON.parse(m.string()) as { data?: { message?: string } }).data?.message;
      };
      const jsm = await jetstreamManager(na, { checkAPI: false });
      const add = (name: string) =>
        outcome(() => jsm.streams.add({ name, subjects: [`${name}.>`] }));
      const streamMsgs = (name: string) =>
        outcome(() => jsm.streams.info(name), (i) => i.state.messages);
      const maxStreams = async () =>
        ((await accountInfo(na)) as { limits?: { max_streams?: number } }).limits?.max_streams ??
          "none";
      const out: Record<string, unknown> = {};
      out.s1 = await add("S1");
      for (let i = 0; i < 3; i++) await na.request("S1.x", `m${i}`);
      out.s2 = await add("S2");
      out.bBefore = await accountInfo(nb);
      out.pushTwo = await push(a, updates.aTwo);
      out.limitsTwo = await maxStreams();
      out.s2Again = await add("S2");
      out.pushB = await push(b, updates.bOn);
      out.bAfter = await accountInfo(nb);
      out.pushOff = await push(a, updates.aOff);
      out.aOff = await accountInfo(na);
      out.pushOn = await push(a, updates.aOn);
      out.s1Back = await streamMsgs("S1");
      out.s2Back = await streamMsgs("S2");
      out.pushHuge = await push(a, updates.aHuge);
      out.limitsAfterHuge = await maxStreams();
      out.hugeLogged = await waitFor(
        () =>
          /Error configuring jetstream for account \[A[A-Z0-9]+\/A\]: insufficient storage/.test(
            s.logs(),
          ),
        "the refused update to be logged",
      ).then(() => true);
      await Promise.all([sys.close(), na.close(), nb.close()]);
      return out;
    },
  );
  assert.deepEqual(same(r), {
    s1: "ok",
    s2: "10027 maximum number of streams reached",
    bBefore: "JetStream not enabled for account",
    pushTwo: "jwt updated",
    limitsTwo: 2,
    s2Again: "ok",
    pushB: "jwt updated",
    bAfter: {
      type: "io.nats.jetstream.api.v1.account_info_response",
      memory: 0,
      storage: 0,
      streams: 0,
      consumers: 0,
      limits: {
        max_memory: 4 * MB,
        max_storage: 8 * MB,
        max_streams: 1,
        max_consumers: -1,
        max_ack_pending: -1,
        memory_max_stream_bytes: -1,
        storage_max_stream_bytes: -1,
        max_bytes_required: false,
      },
    },
    pushOff: "jwt updated",
    aOff: "JetStream not enabled for account",
    pushOn: "jwt updated",
    s1Back: 3,
    s2Back: 0,
    pushHuge: "jwt updated",
    limitsAfterHuge: 2,
    hugeLogged: true,
  });
});

Deno.test("tiered JetStream limits in an account JWT", async () => {
  await using d = await Deployment.create();
  const t = nkeys.createAccount();
  const u = nkeys.createAccount();
  const tier = (disk: number, streams: number) => ({
    mem_storage: MB,
    disk_storage: disk,
    streams,
    consumer: -1,
  });
  const tJwt = await d.account(t, {
    limits: { ...UNLIMITED, tiered_limits: { R1: tier(8 * MB, 1), R3: tier(4 * MB, 5) } },
  }, "T");
  const uJwt = await d.account(u, {
    limits: { ...UNLIMITED, tiered_limits: { R3: tier(4 * MB, 5) } },
  }, "U");
  const tCreds = await d.creds(t, nkeys.createUser());
  const uCreds = await d.creds(u, nkeys.createUser());
  const r = await sideBySide(
    d,
    (w) => jsConf(d, w, "MEMORY", [[t, tJwt], [u, uJwt]]),
    async (s: Running) => {
      const nt = await mustLogin(s.port, tCreds);
      const nu = await mustLogin(s.port, uCreds);
      const jt = await jetstreamManager(nt, { checkAPI: false });
      const ju = await jetstreamManager(nu, { checkAPI: false });
      const out = {
        before: await accountInfo(nt),
        noReplicas: await outcome(() => jt.streams.add({ name: "S0", subjects: ["s0"] })),
        r1: await outcome(() => jt.streams.add({ name: "S1", subjects: ["s1"], num_replicas: 1 })),
        r1Again: await outcome(() =>
          jt.streams.add({ name: "S2", subjects: ["s2"], num_replicas: 1 })
        ),
        after: await accountInfo(nt),
        noR1: await outcome(() =>
          ju.streams.add({ name: "S1", subjects: ["s1"], num_replicas: 1 })
        ),
        u: await accountInfo(nu),
      };
      await Promise.all([nt.close(), nu.close()]);
      return out;
    },
  );
  const o = same(r) as Record<string, Record<string, unknown>>;
  // A request without num_replicas names tier "R0" (nats-server reads the request as sent).
  assert.equal(o.noReplicas, "10120 no JetStream default or applicable tiered limit present");
  assert.equal(o.r1, "ok");
  assert.equal(o.r1Again, "10027 maximum number of streams reached");
  assert.equal(o.noR1, "10120 no JetStream default or applicable tiered limit present");
  assert.equal((o.before.limits as Record<string, number>).max_streams, 0);
  assert.deepEqual(Object.keys(o.after.tiers as object), ["R1", "R3"]);
  assert.equal((o.after.tiers as Record<string, { streams: number }>).R1.streams, 1);
  assert.deepEqual(Object.keys(o.u.tiers as object), ["R3"]);
});

Deno.test("full resolver: JetStream follows pushed claims, warns only for accounts without it, and streams come back after a restart", async () => {
  await using d = await Deployment.create();
  const a = nkeys.createAccount();
  const b = nkeys.createAccount();
  const withJs = (name: string) =>
    d.account(a, { limits: { ...UNLIMITED, mem_storage: MB, disk_storage: 8 * MB } }, name);
  const aCreds = await d.creds(a, nkeys.createUser());
  const bCreds = await d.creds(b, nkeys.createUser());
  const pushes = {
    a1: await withJs("A"),
    a2: await withJs("A2"),
    b1: await d.account(b, {}, "B"),
    b2: await d.account(b, {}, "B2"),
  };
  const results: Record<string, unknown>[] = [];
  const kinds = HAVE_NATS_SERVER ? ["ours", "ref"] as const : ["ours"] as const;
  for (const w of kinds) {
    const conf = jsConf(d, w, `{ type: full, dir: "${d.dir}/jwt_${w}" }`, []);
    const run = (n: number) =>
      w === "ours"
        ? startOurs(conf, `${d.dir}/${w}${n}.conf`)
        : startRef(conf, `${d.dir}/${w}${n}.conf`);
    const warnings = (s: Running) =>
      (s.logs().match(/error checking for JetStream enabled error JetStream not enabled/g) ?? [])
        .length;
    const out: Record<string, unknown> = {};
    {
      await using s = await run(1);
      const sys = await mustLogin(s.port, d.sysCreds);
      const push = async (jwt: string) =>
        (JSON.parse((await sys.request("$SYS.REQ.CLAIMS.UPDATE", jwt)).string()) as {
          data?: { message?: string };
        }).data?.message;
      out.pushA = await push(pushes.a1);
      out.pushB = await push(pushes.b1);
      const na = await mustLogin(s.port, aCreds);
      const nb = await mustLogin(s.port, bCreds);
      const jsm = await jetstreamManager(na, { checkAPI: false });
      out.stream = await outcome(() => jsm.streams.add({ name: "S", subjects: ["s.>"] }));
      await na.request("s.1", "one");
      await na.request("s.2", "two");
      out.warnedBefore = warnings(s);
      out.pushA2 = await push(pushes.a2);
      out.pushB2 = await push(pushes.b2);
      await waitFor(() => warnings(s) > 0, "a warning for B");
      out.warnedAfter = warnings(s);
      await Promise.all([sys.close(), na.close(), nb.close()]);
    }
    {
      await using s = await run(2);
      // The account's stream is recovered at start, before any of its users logs in.
      out.restored = new RegExp(`Restored 2 messages for stream '${a.getPublicKey()} > S'`)
        .test(s.logs());
      const na = await mustLogin(s.port, aCreds);
      const jsm = await jetstreamManager(na, { checkAPI: false });
      out.messages = await outcome(() => jsm.streams.info("S"), (i) => i.state.messages);
      await na.close();
    }
    results.push(out);
  }
  for (const r of results.slice(1)) assert.deepEqual(r, results[0]);
  assert.deepEqual(results[0], {
    pushA: "jwt updated",
    pushB: "jwt updated",
    stream: "ok",
    warnedBefore: 0,
    pushA2: "jwt updated",
    pushB2: "jwt updated",
    warnedAfter: 1,
    restored: true,
    messages: 2,
  });
});

Deno.test("a system account JWT with JetStream limits stops the start as in nats-server", async () => {
  await using d = await Deployment.create();
  const sysJwt = await d.account(d.sys, {
    limits: { ...UNLIMITED, mem_storage: -1, disk_storage: -1 },
  }, "SYS");
  const file = `${d.dir}/sysjs.conf`;
  const conf = `operator: "${d.dir}/op.jwt"\nresolver: MEMORY\n` +
    `resolver_preload: { ${d.sys.getPublicKey()}: ${sysJwt} }\n` +
    `jetstream { store_dir: "${d.dir}/js" }\nlisten: "127.0.0.1:-1"\n`;
  await Deno.writeTextFile(file, conf);
  const { loadConfig } = await import("../src/config.ts");
  const { defaultOptions, mergeOptions } = await import("../src/options.ts");
  const { Server } = await import("../src/server.ts");
  const { MemoryLogger } = await import("./helpers.ts");
  const s = await Server.create(
    mergeOptions(defaultOptions(), loadConfig(file).options),
    new MemoryLogger(),
  );
  await assert.rejects(
    () => s.start(),
    /^StartError: Not allowed to enable JetStream on the system account$/,
  );
  await s.shutdown();
  if (HAVE_NATS_SERVER) {
    const out = await new Deno.Command("nats-server", { args: ["-c", file], stderr: "piped" })
      .output();
    assert.match(
      new TextDecoder().decode(out.stderr),
      /\[FTL\] Not allowed to enable JetStream on the system account\n$/,
    );
  }
});
