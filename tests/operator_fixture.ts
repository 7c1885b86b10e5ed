/**
 * Operator-mode deployments for tests, made with the official JS tooling (@nats-io/jwt,
 * @nats-io/nkeys): an operator, its system account and user, accounts, users and creds files;
 * servers of ours and nats-server 2.9.10 started from the same config text; logins with the
 * official client; side-by-side runs of one scenario on both servers.
 */

import assert from "node:assert/strict";
import { connect, credsAuthenticator, type NatsConnection } from "@nats-io/transport-node";
// deno-lint-ignore no-import-prefix -- test-only reference tooling; no deno.json entry
import * as jwtjs from "npm:@nats-io/jwt@0.0.11";
// deno-lint-ignore no-import-prefix -- test-only reference tooling; no deno.json entry
import * as nkeys from "npm:@nats-io/nkeys@2.0.3";
import { loadConfig } from "../src/config.ts";
import { HAVE_NATS_SERVER, RawClient, startServer, type TestServer } from "./helpers.ts";
import { freePort, ServerProcess } from "./process_helpers.ts";

export { jwtjs, nkeys };

export type KeyPair = nkeys.KeyPair;
const enc = new TextEncoder();
export const nowSec = () => Math.floor(Date.now() / 1000);

/** Account limits that let everything through (absent limits mean zero in a v2 account JWT). */
export const UNLIMITED = {
  subs: -1,
  data: -1,
  payload: -1,
  imports: -1,
  exports: -1,
  wildcards: true,
  conn: -1,
  leaf: -1,
};

export function b64url(data: Uint8Array): string {
  return btoa(String.fromCharCode(...data)).replace(/\+/g, "-").replace(/\//g, "_")
    .replace(/=+$/, "");
}

/** A JWT with exactly this payload, signed as the Go library signs v2 JWTs. */
export function signJwt(payload: unknown, signer: KeyPair): string {
  const h = b64url(enc.encode(JSON.stringify({ typ: "JWT", alg: "ed25519-nkey" })));
  const p = b64url(enc.encode(JSON.stringify(payload)));
  return `${h}.${p}.${b64url(signer.sign(enc.encode(`${h}.${p}`)))}`;
}

/** An operator, its system account and a system user: what `nsc init` makes. */
export class Deployment {
  readonly op = nkeys.createOperator();
  readonly sys = nkeys.createAccount();
  readonly sysUser = nkeys.createUser();
  opJwt = "";
  sysJwt = "";
  sysCreds: Uint8Array = new Uint8Array();
  dir = "";

  static async create(): Promise<Deployment> {
    const d = new Deployment();
    d.dir = await Deno.makeTempDir({ prefix: "operator_test" });
    d.opJwt = await jwtjs.encodeOperator("OP", d.op, { system_account: d.sys.getPublicKey() });
    await Deno.writeTextFile(`${d.dir}/op.jwt`, d.opJwt);
    d.sysJwt = await d.account(d.sys, {}, "SYS");
    d.sysCreds = await d.creds(d.sys, d.sysUser);
    return d;
  }

  /** An account JWT signed by the operator; limits unlimited unless given. */
  account(acc: KeyPair, nats: Record<string, unknown> = {}, name = "ACC"): Promise<string> {
    return jwtjs.encodeAccount(name, acc, { limits: UNLIMITED, ...nats }, { signer: this.op });
  }

  /** A creds file for a user of `acc`. */
  async creds(
    acc: KeyPair,
    user: KeyPair,
    nats: Record<string, unknown> = {},
    opts: Record<string, unknown> = {},
  ): Promise<Uint8Array> {
    return jwtjs.fmtCreds(await jwtjs.encodeUser("U", user, acc, nats, opts), user);
  }

  /** A config: the operator file, the system account preloaded, and this resolver. */
  conf(resolver: string, preload: [KeyPair, string][] = [], extra = ""): string {
    const entries = [[this.sys, this.sysJwt] as [KeyPair, string], ...preload]
      .map(([k, j]) => `  ${k.getPublicKey()}: ${j}`).join("\n");
    return `operator: "${this.dir}/op.jwt"\nresolver: ${resolver}\n` +
      `resolver_preload: {\n${entries}\n}\n${extra}`;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await Deno.remove(this.dir, { recursive: true });
  }
}

/** One running server, ours or nats-server, behind the same small interface. */
export interface Running {
  port: number;
  /** Everything logged so far (debug included). */
  logs(): string;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Ours, in process, from this config text (its file written beside the deployment's). */
export async function startOurs(conf: string, file: string): Promise<Running & { ts: TestServer }> {
  await Deno.writeTextFile(file, conf);
  const ts = await startServer(loadConfig(file).options, { debug: true });
  return {
    ts,
    port: ts.port,
    logs: () => ts.log.lines.join("\n"),
    [Symbol.asyncDispose]: () => ts[Symbol.asyncDispose](),
  };
}

/** nats-server 2.9.10 with the same config text and a listen line. */
export async function startRef(conf: string, file: string, http = 0): Promise<Running> {
  const port = freePort();
  const listen = `listen: "127.0.0.1:${port}"\n` + (http ? `http: "127.0.0.1:${http}"\n` : "");
  await Deno.writeTextFile(file, listen + conf);
  const p = new ServerProcess(["-c", file, "-D"], port, {}, true);
  await p.waitStderr(/Server is ready/);
  return { port, logs: () => p.stderr, [Symbol.asyncDispose]: () => p[Symbol.asyncDispose]() };
}

/**
 * nats-server resets the socket right after its -ERR, and the Node transport reports that as an
 * uncaught ECONNRESET (see auth_test.ts); while a refused login is under way, just that is ignored.
 */
export function ignoreConnReset(e: ErrorEvent): void {
  if ((e.error as { code?: string } | undefined)?.code === "ECONNRESET") e.preventDefault();
}

/** The official client logged in with creds: the connection, or the error text it failed with. */
export async function login(port: number, creds: Uint8Array): Promise<NatsConnection | string> {
  globalThis.addEventListener("error", ignoreConnReset);
  try {
    return await connect({
      port,
      reconnect: false,
      timeout: 5000,
      authenticator: credsAuthenticator(creds),
    });
  } catch (e) {
    await new Promise((r) => setTimeout(r, 50));
    return (e as Error).message;
  } finally {
    globalThis.removeEventListener("error", ignoreConnReset);
  }
}

export async function mustLogin(port: number, creds: Uint8Array): Promise<NatsConnection> {
  const nc = await login(port, creds);
  if (typeof nc === "string") throw new Error(`login failed: ${nc}`);
  return nc;
}

/** What closed a connection (its error text), within `ms`. */
export async function closedWith(nc: NatsConnection, ms = 5000): Promise<string> {
  globalThis.addEventListener("error", ignoreConnReset);
  try {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const r = await Promise.race([
      nc.closed(),
      new Promise<string>((res) => (timer = setTimeout(() => res("still open"), ms))),
    ]);
    clearTimeout(timer);
    return r instanceof Error ? r.message : String(r ?? "closed");
  } finally {
    globalThis.removeEventListener("error", ignoreConnReset);
  }
}

/** A request's answer with the server block left out (it names the server). */
export async function ask(nc: NatsConnection, subject: string, body: string | Uint8Array = "") {
  const m = await nc.request(subject, body, { timeout: 3000 });
  const text = m.string();
  try {
    const v = JSON.parse(text);
    if (v && typeof v === "object") delete v.server;
    return v;
  } catch {
    return text;
  }
}

/** A raw connection logged in with a user JWT, the nonce signed with `key`. */
export async function rawLogin(port: number, jwt: string, key: KeyPair): Promise<RawClient> {
  const [c, info] = await RawClient.connectInfo(port);
  assert.equal(typeof info.nonce, "string");
  assert.equal(info.auth_required, true);
  const sig = b64url(key.sign(enc.encode(info.nonce as string)));
  await c.send(
    `CONNECT ${JSON.stringify({ verbose: false, pedantic: false, jwt, sig, protocol: 1 })}\r\n`,
  );
  return c;
}

/** Runs `scenario` on ours and, where installed, on nats-server; returns both results. */
export async function sideBySide<T>(
  d: Deployment,
  conf: (which: "ours" | "ref") => string | Promise<string>,
  scenario: (s: Running, which: "ours" | "ref") => Promise<T>,
): Promise<{ ours: T; ref: T | null }> {
  let ours: T;
  {
    await using s = await startOurs(await conf("ours"), `${d.dir}/ours.conf`);
    ours = await scenario(s, "ours");
  }
  let ref: T | null = null;
  if (HAVE_NATS_SERVER) {
    await using s = await startRef(await conf("ref"), `${d.dir}/ref.conf`);
    ref = await scenario(s, "ref");
  }
  return { ours, ref };
}

export function same<T>(r: { ours: T; ref: T | null }): T {
  if (r.ref !== null) assert.deepEqual(r.ours, r.ref);
  return r.ours;
}
