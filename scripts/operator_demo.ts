/**
 * An operator-mode deployment made with the official JS tooling (@nats-io/jwt, @nats-io/nkeys),
 * laid out as `nsc init` + `nsc generate config --nats-resolver` lay one out, and the two things
 * one then does with it, done with the official client (@nats-io/transport-node):
 *
 *   deno run -A scripts/operator_demo.ts init <dir>    operator, SYS and APP accounts, creds,
 *                                                      server.conf with a full resolver in <dir>/jwt
 *   deno run -A scripts/operator_demo.ts push <dir> [url]   sends APP's account JWT to
 *                                                      $SYS.REQ.CLAIMS.UPDATE as the system user
 *                                                      (what `nsc push` does)
 *   deno run -A scripts/operator_demo.ts try <dir> [url]    logs in with app.creds, publishes and
 *                                                      receives a message
 *   deno run -A scripts/operator_demo.ts jetstream <dir> [url]   signs APP again with JetStream
 *                                                      limits (kept in APP.jwt), pushes it, and
 *                                                      shows APP's JetStream account info
 *   deno run -A scripts/operator_demo.ts edge <dir> <hub leafnode url>   writes edge.conf: a
 *                                                      leaf server whose remote logs in to the
 *                                                      hub with app.creds
 *
 * The seeds are kept in <dir>/keys: they are what signs new accounts and users.
 */

import { connect, credsAuthenticator } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
// deno-lint-ignore no-import-prefix -- the official JWT tooling, only for this demo
import * as jwt from "npm:@nats-io/jwt@0.0.11";
// deno-lint-ignore no-import-prefix -- the official nkeys tooling, only for this demo
import * as nkeys from "npm:@nats-io/nkeys@2.0.3";

const dec = new TextDecoder();
const [command, dir, url = "nats://127.0.0.1:4222"] = Deno.args;

/** Limits that let everything through (nsc's defaults for a new account). */
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

async function init(): Promise<void> {
  await Deno.mkdir(`${dir}/keys`, { recursive: true });
  const op = nkeys.createOperator();
  const sys = nkeys.createAccount();
  const app = nkeys.createAccount();
  const sysUser = nkeys.createUser();
  const appUser = nkeys.createUser();
  const opJwt = await jwt.encodeOperator("DEMO", op, { system_account: sys.getPublicKey() });
  const sysJwt = await jwt.encodeAccount("SYS", sys, { limits: UNLIMITED }, { signer: op });
  const appJwt = await jwt.encodeAccount("APP", app, { limits: UNLIMITED }, { signer: op });
  await Deno.writeTextFile(`${dir}/operator.jwt`, opJwt);
  await Deno.writeTextFile(`${dir}/APP.jwt`, appJwt);
  await Deno.writeFile(
    `${dir}/sys.creds`,
    jwt.fmtCreds(await jwt.encodeUser("sys", sysUser, sys), sysUser),
  );
  await Deno.writeFile(
    `${dir}/app.creds`,
    jwt.fmtCreds(await jwt.encodeUser("app", appUser, app), appUser),
  );
  for (const [name, kp] of [["operator", op], ["SYS", sys], ["APP", app]] as const) {
    await Deno.writeTextFile(`${dir}/keys/${name}.nk`, dec.decode(kp.getSeed()));
  }
  await Deno.writeTextFile(
    `${dir}/server.conf`,
    `# Operator "DEMO", as nsc generate config --nats-resolver writes it
operator: ${opJwt}
system_account: ${sys.getPublicKey()}
resolver {
  type: full
  dir: "${dir}/jwt"
  allow_delete: false
  interval: "2m"
  timeout: "1.9s"
}
resolver_preload: {
  ${sys.getPublicKey()}: ${sysJwt}
}
`,
  );
  console.log(`operator DEMO  ${op.getPublicKey()}`);
  console.log(`account  SYS   ${sys.getPublicKey()}`);
  console.log(`account  APP   ${app.getPublicKey()}`);
  for (const e of [...Deno.readDirSync(dir)].map((e) => e.name).sort()) console.log(`${dir}/${e}`);
}

async function push(): Promise<void> {
  const nc = await connect({
    servers: url,
    authenticator: credsAuthenticator(await Deno.readFile(`${dir}/sys.creds`)),
  });
  const m = await nc.request("$SYS.REQ.CLAIMS.UPDATE", await Deno.readTextFile(`${dir}/APP.jwt`));
  const answer = JSON.parse(m.string());
  console.log(JSON.stringify(answer.data ?? answer.error));
  await nc.close();
}

async function tryApp(): Promise<void> {
  // The server resets the connection right after a refusal; the client's error says why.
  globalThis.addEventListener("error", (e) => e.preventDefault());
  let nc;
  try {
    nc = await connect({
      servers: url,
      authenticator: credsAuthenticator(await Deno.readFile(`${dir}/app.creds`)),
    });
  } catch (e) {
    console.log(`login refused: ${(e as Error).message}`);
    return;
  }
  const sub = nc.subscribe("greeting", { max: 1 });
  nc.publish("greeting", "hello from APP");
  for await (const m of sub) console.log(`received on ${m.subject}: ${m.string()}`);
  await nc.close();
}

/** APP with JetStream limits: 256 MiB memory, 1 GiB disk, 10 streams, unlimited consumers. */
async function jetstream(): Promise<void> {
  const seed = async (name: string) =>
    nkeys.fromSeed(new TextEncoder().encode(await Deno.readTextFile(`${dir}/keys/${name}.nk`)));
  const app = await seed("APP");
  const appJwt = await jwt.encodeAccount("APP", app, {
    limits: {
      ...UNLIMITED,
      mem_storage: 256 * 1024 * 1024,
      disk_storage: 1024 * 1024 * 1024,
      streams: 10,
      consumer: -1,
    },
  }, { signer: await seed("operator") });
  await Deno.writeTextFile(`${dir}/APP.jwt`, appJwt);
  await push();
  const nc = await connect({
    servers: url,
    authenticator: credsAuthenticator(await Deno.readFile(`${dir}/app.creds`)),
  });
  const info = await (await jetstreamManager(nc)).getAccountInfo();
  console.log(JSON.stringify(info.limits));
  await nc.close();
}

async function edge(): Promise<void> {
  await Deno.writeTextFile(
    `${dir}/edge.conf`,
    `# A leaf server: its clients (no auth) reach APP on the hub
port: 4223
server_name: edge
leafnodes {
  remotes [ { url: "${url}", credentials: "${dir}/app.creds" } ]
}
`,
  );
  console.log(`${dir}/edge.conf`);
}

switch (command) {
  case "init":
    await init();
    break;
  case "push":
    await push();
    break;
  case "try":
    await tryApp();
    break;
  case "jetstream":
    await jetstream();
    break;
  case "edge":
    await edge();
    break;
  default:
    console.error("usage: operator_demo.ts init|push|try|jetstream|edge <dir> [url]");
    Deno.exit(2);
}
