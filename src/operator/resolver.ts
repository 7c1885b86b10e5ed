/**
 * Account resolvers: where operator mode finds an account's JWT by its public key, as
 * nats-server 2.9.10's AccountResolver implementations do. Memory and URL resolvers are here;
 * the NATS-based directory resolvers (full, cache) are in dir_resolver.ts.
 *
 * A JWT held locally is returned at once (fetchLocal), so logins and imports between locally
 * known accounts never wait; one that must be asked for elsewhere (an account server, the other
 * servers of the cluster) comes through fetch().
 */

import { AccountLookupError, AccountLookupErrors } from "../jwt/trust.ts";
import { DEFAULT_ACCOUNT_FETCH_TIMEOUT_MS } from "../conf/operator.ts";
import type { Options, ResolverOptions, TlsOptions } from "../options.ts";
import type { OperatorMode } from "./mode.ts";

export interface AccountResolver {
  readonly type: ResolverOptions["type"];
  /** Preloads and claim updates cannot be stored (the URL resolver). */
  readonly readOnly: boolean;
  /** The resolver takes the claim update subjects itself (the directory resolvers). */
  readonly tracksUpdates: boolean;
  /** The JWT held here for `name`, or null. */
  fetchLocal(name: string): string | null;
  /** The JWT for `name` from wherever this resolver finds it; rejects with nats-server's text. */
  fetch(name: string): Promise<string>;
  /** Keeps a JWT (preloads, updates, fetched JWTs); throws for a read-only resolver. */
  store(name: string, jwt: string): void;
  /** Subscriptions and timers, once the system account runs. */
  start(mode: OperatorMode): void;
  reload(): void;
  close(): void;
}

/** `resolver: MEMORY`: JWTs from resolver_preload and claim updates, kept in memory. */
export class MemoryResolver implements AccountResolver {
  readonly type = "memory";
  readonly readOnly = false;
  readonly tracksUpdates = false;
  readonly #jwts = new Map<string, string>();

  fetchLocal(name: string): string | null {
    return this.#jwts.get(name) ?? null;
  }

  fetch(name: string): Promise<string> {
    const jwt = this.#jwts.get(name);
    if (jwt === undefined) {
      return Promise.reject(new AccountLookupError(AccountLookupErrors.missing));
    }
    return Promise.resolve(jwt);
  }

  store(name: string, jwt: string): void {
    this.#jwts.set(name, jwt);
  }

  start(): void {}
  reload(): void {}
  close(): void {}
}

/**
 * `resolver: URL(...)`: each account JWT is asked for with an HTTP GET of the base URL followed
 * by the account's public key, as nats-account-server serves them.
 */
export class UrlResolver implements AccountResolver {
  readonly type = "url";
  readonly readOnly = true;
  readonly tracksUpdates = false;
  readonly url: string;
  readonly #client: Deno.HttpClient | undefined;

  constructor(url: string, tls?: TlsOptions) {
    this.url = url.endsWith("/") ? url : url + "/";
    if (tls?.caFile) {
      this.#client = Deno.createHttpClient({ caCerts: [Deno.readTextFileSync(tls.caFile)] });
    }
  }

  /** Only a JWT fetched before the server was made (see probeUrlResolver), once. */
  fetchLocal(name: string): string | null {
    const jwt = PREFETCHED.get(this.url + name);
    if (jwt === undefined) return null;
    PREFETCHED.delete(this.url + name);
    return jwt;
  }

  async fetch(name: string): Promise<string> {
    const url = this.url + name;
    const shown = `<${JSON.stringify(redactUrl(url))}>`;
    let res: Response;
    try {
      res = await fetch(url, {
        signal: AbortSignal.timeout(DEFAULT_ACCOUNT_FETCH_TIMEOUT_MS),
        ...(this.#client ? { client: this.#client } : {}),
      });
    } catch (e) {
      throw new Error(`could not fetch ${shown}: ${goHttpError(url, e)}`);
    }
    if (res.status !== 200) {
      await res.body?.cancel();
      throw new Error(`could not fetch ${shown}: ${res.status} ${res.statusText}`);
    }
    return await res.text();
  }

  store(): void {
    throw new Error("store operation not supported for URL Resolver");
  }

  start(): void {}
  reload(): void {}
  close(): void {
    this.#client?.close();
  }
}

/** JWTs fetched by probeUrlResolver, by URL, until the server's resolver takes them. */
const PREFETCHED = new Map<string, string>();

/**
 * What nats-server does with a URL resolver before it starts (it fetches synchronously, we
 * cannot): a GET of the base URL must succeed ("anyone home?", else the server does not start,
 * with the error thrown here), and the system account's JWT is fetched for the server to use.
 */
export async function probeUrlResolver(opts: Options): Promise<void> {
  const r = opts.resolver;
  if (r?.type !== "url" || (opts.trustedOperators.length === 0 && opts.trustedKeys === null)) {
    return;
  }
  // Preloads on a URL resolver are refused first, when the server is made.
  if (opts.resolverPreload.length > 0) return;
  const ur = new UrlResolver(r.url, opts.resolverTls);
  try {
    await ur.fetch("");
    const sys = opts.systemAccount;
    if (sys !== "" && opts.trustedOperators.length === 1) {
      const jwt = await ur.fetch(sys).catch(() => null);
      if (jwt !== null) PREFETCHED.set(ur.url + sys, jwt);
    }
  } finally {
    ur.close();
  }
}

/** A URL with its password hidden, as nats-server's redactURLString. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/@:]*:)[^/@]*@/, "$1xxxxx@");
}

/** A failed GET as Go's http.Client words it: `Get "url": dial tcp ...: connection refused`. */
function goHttpError(url: string, e: unknown): string {
  const cause = (e as { cause?: unknown }).cause;
  const msg = `${(e as Error).message ?? String(e)}${cause ? ` ${String(cause)}` : ""}`;
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(url)?.[1] ?? "";
  if (scheme === "" || (scheme !== "http" && scheme !== "https")) {
    return `Get ${JSON.stringify(url)}: unsupported protocol scheme ${JSON.stringify(scheme)}`;
  }
  if ((e as Error).name === "TimeoutError") {
    return `Get ${JSON.stringify(url)}: context deadline exceeded ` +
      "(Client.Timeout exceeded while awaiting headers)";
  }
  if (/refused/i.test(msg)) {
    let host = "";
    try {
      const u = new URL(url);
      host = `${u.hostname}:${u.port || (u.protocol === "https:" ? "443" : "80")}`;
    } catch {
      // left empty
    }
    return `Get ${JSON.stringify(url)}: dial tcp ${host}: connect: connection refused`;
  }
  return `Get ${JSON.stringify(url)}: ${msg}`;
}
