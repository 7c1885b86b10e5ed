/**
 * TLS the way NATS does it: the INFO goes out in clear, then the server side of a TLS handshake
 * runs on the same connection. Deno's own TLS API cannot be the server in that upgrade, so the
 * accepted Deno connection is wrapped in a small node `Duplex` and handed to node:tls's
 * `TLSSocket({isServer: true})` (DENO-NET.md §5). Deno's node:tls does not check a client
 * certificate against the CA, so `verify` is enforced here, with node:crypto's X509Certificate.
 */

import type * as stream from "node:stream";
import type * as tls from "node:tls";
import type * as crypto from "node:crypto";
import { nodeBuiltin } from "./node_builtin.ts";
import type { TlsOptions } from "./options.ts";
import type { Transport } from "./transport.ts";

export class TlsError extends Error {
  override name = "TlsError";
}

/** Loaded certificates and the node secure context built from them, shared by all handshakes. */
export interface TlsContext {
  context: tls.SecureContext;
  verify: boolean;
  /** verify_and_map: the client certificate names the user. */
  verifyAndMap: boolean;
  /** CA certificates client certificates must chain to (verify mode). */
  cas: crypto.X509Certificate[];
  timeoutMs: number;
  cert: string;
  key: string;
}

function readFile(path: string, what: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch (e) {
    throw new TlsError(
      `error parsing X509 certificate/key pair: open ${path}: ${
        e instanceof Deno.errors.NotFound ? "no such file or directory" : (e as Error).message
      } (${what})`,
    );
  }
}

/** Splits a PEM bundle into its certificates. */
export function parsePemBundle(pem: string): crypto.X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  const { X509Certificate } = nodeBuiltin<typeof crypto>("node:crypto");
  return blocks.map((b) => new X509Certificate(b));
}

/** node:tls, loaded on first use (a server without TLS never loads it; see node_builtin.ts). */
function nodeTls(): typeof tls {
  return nodeBuiltin<typeof tls>("node:tls");
}

/** nats-server's (Go's) cipher suite names, and OpenSSL's names for the same suites. */
export const CIPHER_SUITE_NAMES: Readonly<Record<string, string>> = {
  TLS_RSA_WITH_RC4_128_SHA: "RC4-SHA",
  TLS_RSA_WITH_3DES_EDE_CBC_SHA: "DES-CBC3-SHA",
  TLS_RSA_WITH_AES_128_CBC_SHA: "AES128-SHA",
  TLS_RSA_WITH_AES_128_CBC_SHA256: "AES128-SHA256",
  TLS_RSA_WITH_AES_256_CBC_SHA: "AES256-SHA",
  TLS_RSA_WITH_AES_256_GCM_SHA384: "AES256-GCM-SHA384",
  TLS_ECDHE_ECDSA_WITH_RC4_128_SHA: "ECDHE-ECDSA-RC4-SHA",
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: "ECDHE-ECDSA-AES128-SHA",
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: "ECDHE-ECDSA-AES256-SHA",
  TLS_ECDHE_RSA_WITH_RC4_128_SHA: "ECDHE-RSA-RC4-SHA",
  TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA: "ECDHE-RSA-DES-CBC3-SHA",
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: "ECDHE-RSA-AES128-SHA",
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256: "ECDHE-RSA-AES128-SHA256",
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256: "ECDHE-ECDSA-AES128-SHA256",
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: "ECDHE-RSA-AES256-SHA",
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: "ECDHE-RSA-AES128-GCM-SHA256",
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: "ECDHE-ECDSA-AES128-GCM-SHA256",
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: "ECDHE-RSA-AES256-GCM-SHA384",
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: "ECDHE-ECDSA-AES256-GCM-SHA384",
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305: "ECDHE-RSA-CHACHA20-POLY1305",
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305: "ECDHE-ECDSA-CHACHA20-POLY1305",
  TLS_AES_128_GCM_SHA256: "TLS_AES_128_GCM_SHA256",
  TLS_AES_256_GCM_SHA384: "TLS_AES_256_GCM_SHA384",
  TLS_CHACHA20_POLY1305_SHA256: "TLS_CHACHA20_POLY1305_SHA256",
};
export const CIPHER_SUITES: readonly string[] = Object.keys(CIPHER_SUITE_NAMES);

/** Go's curve names and OpenSSL's. */
export const CURVE_NAMES: Readonly<Record<string, string>> = {
  X25519: "X25519",
  CurveP256: "P-256",
  CurveP384: "P-384",
  CurveP521: "P-521",
};
export const CURVE_PREFERENCES: readonly string[] = Object.keys(CURVE_NAMES);

/**
 * Checks configured suite and curve names. Deno's node:tls (rustls underneath) ignores cipher
 * and curve settings and always negotiates its own modern AEAD suites with ECDHE, so the names
 * are validated and the caller warns that the list is not enforced.
 */
export function checkCipherNames(o: TlsOptions): void {
  for (const n of o.ciphers) {
    if (!CIPHER_SUITE_NAMES[n]) throw new TlsError(`unrecognized cipher ${n}`);
  }
  for (const c of o.curvePreferences) {
    if (!CURVE_NAMES[c]) throw new TlsError(`unrecognized curve preference ${c}`);
  }
}

export function loadTlsContext(o: TlsOptions): TlsContext {
  if (o.certFile === "" || o.keyFile === "") {
    throw new TlsError("missing 'cert_file' or 'key_file' in TLS configuration");
  }
  const cert = readFile(o.certFile, "cert_file");
  const key = readFile(o.keyFile, "key_file");
  let ca: string | undefined;
  let cas: crypto.X509Certificate[] = [];
  if (o.caFile !== "") {
    ca = readFile(o.caFile, "ca_file");
    cas = parsePemBundle(ca);
    if (cas.length === 0) throw new TlsError(`failed to parse root ca certificate (${o.caFile})`);
  }
  let context: tls.SecureContext;
  try {
    checkCipherNames(o);
    context = nodeTls().createSecureContext({ cert, key, ca, minVersion: "TLSv1.2" });
  } catch (e) {
    if (e instanceof TlsError) throw e;
    throw new TlsError(`error parsing X509 certificate/key pair: ${(e as Error).message}`);
  }
  return {
    context,
    verify: o.verify || o.verifyAndMap,
    verifyAndMap: o.verifyAndMap,
    cas,
    timeoutMs: Math.max(1, o.timeout * 1000),
    cert,
    key,
  };
}

/**
 * Reads start this small and double while they fill the buffer, up to 64 KiB; a pending read
 * pins its buffer, so an idle TLS connection holds only the small one (DENO-NET.md §4), while a
 * busy one hands TLS several records per read and so the client one large chunk per parse.
 */
const MIN_READ = 4 * 1024;
const MAX_READ = 64 * 1024;
/** The most handed to TLS in one write (see TlsTransport.write). */
const WRITE_CHUNK = 256 * 1024;

/** What tls.ts needs of its Duplex over a Deno connection (see makeDuplexClass). */
interface DenoConnDuplex extends stream.Duplex {
  hold(): void;
  release(): void;
  flushed(): Promise<void>;
}

let duplexClass: (new (conn: Deno.Conn, initial?: Uint8Array) => DenoConnDuplex) | null = null;

/** A node Duplex over a Deno connection, so node:tls can run on top of it. */
function newDuplex(conn: Deno.Conn, initial?: Uint8Array): DenoConnDuplex {
  duplexClass ??= makeDuplexClass(nodeBuiltin<typeof stream>("node:stream").Duplex);
  return new duplexClass(conn, initial);
}

/** The class is made on first use: it extends node:stream's Duplex, loaded only then. */
function makeDuplexClass(Duplex: typeof stream.Duplex) {
  return class extends Duplex implements DenoConnDuplex {
    #conn: Deno.Conn;
    #reading = false;
    #buf = new Uint8Array(MIN_READ);
    #shortReads = 0;

    /** `initial`: bytes already read from the connection, handed to TLS first. */
    constructor(conn: Deno.Conn, initial?: Uint8Array) {
      super();
      this.#conn = conn;
      if (initial && initial.length > 0) this.push(initial.slice());
    }

    override _read(): void {
      if (this.#reading) return;
      this.#reading = true;
      this.#pump();
    }

    /**
     * Stops reading from the connection until release(): node's TLS keeps pulling from its
     * stream even when its own reader is paused, so without this a fast publisher would be read
     * (and decrypted into memory) as fast as it can send, whatever the client does with it.
     */
    hold(): void {
      this.#held ??= Promise.withResolvers<void>();
    }

    release(): void {
      const h = this.#held;
      this.#held = null;
      h?.resolve();
    }

    #held: PromiseWithResolvers<void> | null = null;

    async #pump(): Promise<void> {
      try {
        while (true) {
          while (this.#held !== null) await this.#held.promise;
          const buf = this.#buf;
          const n = await this.#conn.read(buf);
          if (n === null) {
            this.push(null);
            return;
          }
          // push() copies nothing, so hand over a fresh copy of the bytes read.
          const chunk = buf.slice(0, n);
          if (n === buf.length && n < MAX_READ) {
            this.#buf = new Uint8Array(n * 2);
            this.#shortReads = 0;
          } else if (n < buf.length / 4 && buf.length > MIN_READ && ++this.#shortReads > 2) {
            this.#buf = new Uint8Array(buf.length / 2);
            this.#shortReads = 0;
          }
          if (!this.push(chunk)) break;
        }
      } catch {
        this.push(null);
        return;
      } finally {
        this.#reading = false;
      }
    }

    override _write(chunk: Uint8Array, _enc: string, cb: (e?: Error | null) => void): void {
      this.#writeAll(chunk).then(() => cb(), (e) => cb(e));
    }

    /**
     * Records TLS produced while a write was in flight go out together, in one write: a flush of
     * the client's output is usually several records.
     */
    override _writev(
      chunks: { chunk: Uint8Array; encoding: string }[],
      cb: (e?: Error | null) => void,
    ): void {
      let size = 0;
      for (const c of chunks) size += c.chunk.length;
      const all = new Uint8Array(size);
      let off = 0;
      for (const c of chunks) {
        all.set(c.chunk, off);
        off += c.chunk.length;
      }
      this.#writeAll(all).then(() => cb(), (e) => cb(e));
    }

    /** Resolves once every byte handed to this stream has been written to the connection. */
    flushed(): Promise<void> {
      if (this.#writing === 0) return Promise.resolve();
      return new Promise((r) => this.#flushWaiters.push(r));
    }

    #writing = 0;
    #flushWaiters: (() => void)[] = [];

    async #writeAll(buf: Uint8Array): Promise<void> {
      this.#writing++;
      try {
        await this.#writeOut(buf);
      } finally {
        if (--this.#writing === 0) {
          const ws = this.#flushWaiters;
          this.#flushWaiters = [];
          for (const w of ws) w();
        }
      }
    }

    async #writeOut(buf: Uint8Array): Promise<void> {
      let off = 0;
      while (off < buf.length) off += await this.#conn.write(off === 0 ? buf : buf.subarray(off));
    }

    override _destroy(err: Error | null, cb: (e: Error | null) => void): void {
      try {
        this.#conn.close();
      } catch {
        // already closed
      }
      cb(err);
    }
  };
}

/** Our Transport over a node TLSSocket: reads from a queue of decrypted chunks. */
export class TlsTransport implements Transport {
  readonly socket: tls.TLSSocket;
  /** The connection under TLS: writes wait for it, see write(). */
  readonly #under: DenoConnDuplex;
  #chunks: Uint8Array[] = [];
  #ended = false;
  #error: Error | null = null;
  #waiter: (() => void) | null = null;

  constructor(socket: tls.TLSSocket, under: DenoConnDuplex) {
    this.socket = socket;
    this.#under = under;
    socket.on("data", (d: Uint8Array) => {
      this.#chunks.push(d);
      if (this.#chunks.length > 8) {
        socket.pause();
        under.hold();
      }
      this.#wake();
    });
    socket.on("end", () => {
      this.#ended = true;
      this.#wake();
    });
    socket.on("close", () => {
      this.#ended = true;
      this.#wake();
    });
    socket.on("error", (e: Error) => {
      this.#error = e;
      this.#wake();
    });
  }

  #wake(): void {
    const w = this.#waiter;
    this.#waiter = null;
    w?.();
  }

  /** Fills buf with as many of the decrypted chunks waiting as fit (one parse for them all). */
  async read(buf: Uint8Array): Promise<number | null> {
    while (this.#chunks.length === 0) {
      if (this.#error) throw this.#error;
      if (this.#ended) return null;
      await new Promise<void>((r) => (this.#waiter = r));
    }
    const chunks = this.#chunks;
    let n = 0;
    while (chunks.length > 0 && n < buf.length) {
      const c = chunks[0];
      const k = Math.min(c.length, buf.length - n);
      buf.set(k === c.length ? c : c.subarray(0, k), n);
      n += k;
      if (k === c.length) chunks.shift();
      else chunks[0] = c.subarray(k);
    }
    if (chunks.length <= 2 && this.socket.isPaused()) {
      this.socket.resume();
      this.#under.release();
    }
    return n;
  }

  /**
   * Resolves once the bytes are encrypted and written to the connection, not merely handed to
   * node's streams (which buffer without limit): the client's outbound counts them as pending
   * until then, so max_pending and the stall that protects it hold over TLS as over plain TCP.
   */
  write(buf: Uint8Array): Promise<number> {
    if (this.#error) return Promise.reject(this.#error);
    // At most WRITE_CHUNK per call (the caller loops on what was written): TLS copies what it
    // is given into records, and the connection write joins them, so a backlog of tens of MB
    // handed over at once would be held three times.
    const part = buf.length > WRITE_CHUNK ? buf.subarray(0, WRITE_CHUNK) : buf;
    // node keeps a reference until the callback, after which the caller may reuse buf.
    return new Promise((resolve, reject) => {
      this.socket.write(part, (e) => {
        if (e) reject(e);
        else this.#under.flushed().then(() => resolve(part.length));
      });
    });
  }

  close(): void {
    this.socket.destroy();
  }

  get protocol(): string {
    return this.socket.getProtocol() ?? "";
  }

  get cipher(): string {
    return this.socket.getCipher()?.standardName ?? "";
  }
}

/**
 * Runs the server side of the handshake on an accepted connection (after the clear-text INFO).
 * Rejects on timeout, handshake failure, or (verify mode) a missing or untrusted client
 * certificate.
 */
export function serverHandshake(
  conn: Deno.Conn,
  ctx: TlsContext,
  initial?: Uint8Array,
): Promise<TlsTransport> {
  const duplex = newDuplex(conn, initial);
  const socket = new (nodeTls().TLSSocket)(duplex as unknown as import("node:net").Socket, {
    isServer: true,
    secureContext: ctx.context,
    requestCert: ctx.verify,
    rejectUnauthorized: false,
  });
  return settle(socket, duplex, "secure", ctx, ctx.verify, "client didn't provide a certificate");
}

/**
 * Resolves once the handshake is done (and, when `checkPeer`, the peer's chain verified),
 * rejects on error or after the TLS timeout; the socket is destroyed on any failure.
 */
function settle(
  socket: tls.TLSSocket,
  under: DenoConnDuplex,
  ready: "secure" | "secureConnect",
  ctx: TlsContext,
  checkPeer: boolean,
  missing: string,
): Promise<TlsTransport> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new TlsError("TLS handshake timeout")), ctx.timeoutMs);
    const fail = (e: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(e);
    };
    socket.once("error", (e: Error) => fail(e));
    socket.once(ready, () => {
      clearTimeout(timer);
      if (checkPeer) {
        const peer = socket.getPeerX509Certificate();
        const problem = peer ? verifyChain(peer, ctx.cas) : missing;
        if (problem !== null) {
          fail(new TlsError(problem));
          return;
        }
      }
      socket.removeAllListeners("error");
      resolve(new TlsTransport(socket, under));
    });
  });
}

/** Null when `cert` is currently valid and issued (and signed) by one of `cas`. */
export function verifyChain(
  cert: crypto.X509Certificate,
  cas: crypto.X509Certificate[],
): string | null {
  const now = Date.now();
  if (Date.parse(cert.validFrom) > now) return "x509: certificate is not yet valid";
  if (Date.parse(cert.validTo) < now) return "x509: certificate has expired or is not yet valid";
  for (const ca of cas) {
    if (cert.checkIssued(ca) && cert.verify(ca.publicKey)) {
      if (Date.parse(ca.validTo) < now) return "x509: certificate signed by expired authority";
      return null;
    }
  }
  return "x509: certificate signed by unknown authority";
}

/**
 * The client side of a handshake, for routes we dial: present our certificate and, when a CA is
 * configured, check the server's chain against it ourselves.
 */
export function clientHandshake(
  conn: Deno.Conn,
  ctx: TlsContext,
  servername: string,
): Promise<TlsTransport> {
  const duplex = newDuplex(conn);
  const socket = nodeTls().connect({
    socket: duplex as unknown as import("node:net").Socket,
    secureContext: ctx.context,
    servername: /^[\d.]+$|:/.test(servername) ? undefined : servername,
    rejectUnauthorized: false,
  });
  return settle(
    socket,
    duplex,
    "secureConnect",
    ctx,
    ctx.cas.length > 0,
    "server didn't provide a certificate",
  );
}

/**
 * The names a client certificate offers for verify_and_map, in nats-server's order: e-mail
 * addresses, DNS names and URIs from the SAN, then the subject as an RFC 2253 string
 * ("CN=...,O=...,C=..."; the certificate lists RDNs in the opposite order).
 */
export function certIdentities(cert: crypto.X509Certificate): string[] {
  const out: string[] = [];
  const san = cert.subjectAltName ?? "";
  for (const kind of ["email:", "DNS:", "URI:"]) {
    for (const part of san.split(/,\s*/)) {
      if (part.startsWith(kind)) out.push(part.slice(kind.length));
    }
  }
  const rdns = cert.subject.split("\n").filter((l) => l !== "");
  if (rdns.length > 0) out.push(rdns.reverse().join(","));
  return out;
}

/**
 * Distinguished names compared as nats-server does when a user name is a DN: the same
 * attributes with the same values, whatever their order or the spaces around separators.
 */
export function sameDN(a: string, b: string): boolean {
  const parse = (dn: string) =>
    dn.split(/(?<!\\),/).map((rdn) => {
      const eq = rdn.indexOf("=");
      return eq < 0
        ? rdn.trim()
        : `${rdn.slice(0, eq).trim().toUpperCase()}=${rdn.slice(eq + 1).trim()}`;
    }).sort().join(",");
  return parse(a) === parse(b);
}
