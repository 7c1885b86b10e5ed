/**
 * TLS as NATS does it: INFO in clear with tls_required, then a real handshake on the same
 * socket; client certificates checked against the CA by us (Deno does not).
 */

import assert from "node:assert/strict";
import * as tls from "node:tls";
import * as net from "node:net";
import { connect } from "@nats-io/transport-node";
import { defaultTlsOptions, type TlsOptions } from "../src/options.ts";
import { RawClient, startServer, type TestServer, waitFor } from "./helpers.ts";
import { loadTlsContext } from "../src/tls.ts";

const CERTS = new URL("../configs/certs/", import.meta.url).pathname;
const read = (f: string) => Deno.readTextFileSync(CERTS + f);

function tlsConfig(extra: Partial<TlsOptions> = {}): TlsOptions {
  return {
    ...defaultTlsOptions(),
    certFile: CERTS + "server-cert.pem",
    keyFile: CERTS + "server-key.pem",
    ...extra,
  };
}

interface Outcome {
  info: Record<string, unknown>;
  ok: boolean;
  /** What the server sent after the handshake (for a PING). */
  reply: string;
  error: string;
}

/**
 * Connects like a NATS client: read the clear INFO, then upgrade with node:tls and PING.
 */
function tlsClient(
  port: number,
  opts: {
    cert?: string;
    key?: string;
    minVersion?: tls.SecureVersion;
    maxVersion?: tls.SecureVersion;
  },
): Promise<Outcome> {
  return new Promise((resolve) => {
    const sock = net.connect(port, "127.0.0.1");
    let infoLine = "";
    const done = (o: Partial<Outcome>) => {
      sock.destroy();
      resolve({ info: {}, ok: false, reply: "", error: "", ...o });
    };
    sock.once("error", (e) => done({ error: e.message }));
    sock.on("data", function onData(d: Uint8Array) {
      infoLine += new TextDecoder().decode(d);
      if (!infoLine.includes("\r\n")) return;
      sock.removeListener("data", onData);
      const info = JSON.parse(infoLine.slice(5, infoLine.indexOf("\r\n")));
      const t = tls.connect({
        socket: sock,
        ca: read("ca.pem"),
        servername: "localhost",
        cert: opts.cert ? read(opts.cert) : undefined,
        key: opts.key ? read(opts.key) : undefined,
        minVersion: opts.minVersion,
        maxVersion: opts.maxVersion,
      });
      let reply = "";
      const finish = (o: Partial<Outcome>) => {
        t.destroy();
        done({ info, reply, ...o });
      };
      t.once("error", (e) => finish({ error: e.message }));
      t.once("secureConnect", () => t.write(`CONNECT {"verbose":false}\r\nPING\r\n`));
      t.on("data", (x: Uint8Array) => {
        reply += new TextDecoder().decode(x);
        if (reply.includes("PONG\r\n")) finish({ ok: true });
      });
      t.once("close", () => finish({ error: reply === "" ? "closed" : "" }));
    });
  });
}

Deno.test("TLS: INFO in clear says tls_required, then a real handshake carries the protocol", async () => {
  await using s = await startServer({ tls: true, tlsConfig: tlsConfig() });
  const r = await tlsClient(s.port, {});
  assert.equal(r.info.tls_required, true);
  assert.equal(r.info.tls_verify, undefined);
  assert.equal(r.ok, true, r.error);
  assert.equal(r.reply, "PONG\r\n");
});

Deno.test("TLS: TLS 1.1 is refused (1.2 is the minimum)", async () => {
  await using s = await startServer({ tls: true, tlsConfig: tlsConfig() });
  const r = await tlsClient(s.port, { minVersion: "TLSv1", maxVersion: "TLSv1.1" });
  assert.equal(r.ok, false);
});

Deno.test("TLS: a plain client against a TLS server gets nowhere", async () => {
  await using s = await startServer({ tls: true, tlsConfig: tlsConfig({ timeout: 0.5 }) });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: s.port });
  const buf = new Uint8Array(4096);
  await conn.read(buf);
  await conn.write(new TextEncoder().encode("CONNECT {}\r\nPING\r\n"));
  let got = "";
  while (true) {
    const n = await conn.read(buf).catch(() => null);
    if (n === null) break;
    got += new TextDecoder().decode(buf.subarray(0, n));
  }
  conn.close();
  assert.ok(!got.includes("PONG"), got);
  await waitFor(() => s.log.lines.some((l) => l.includes("TLS handshake error")), "logged error");
});

async function verifyServer(): Promise<TestServer> {
  return await startServer({
    tls: true,
    tlsConfig: tlsConfig({ caFile: CERTS + "ca.pem", verify: true }),
  });
}

Deno.test("TLS verify: a client certificate signed by the CA is accepted", async () => {
  await using s = await verifyServer();
  const r = await tlsClient(s.port, { cert: "client-cert.pem", key: "client-key.pem" });
  assert.equal(r.info.tls_verify, true);
  assert.equal(r.ok, true, r.error);
});

for (
  const [name, cert] of [
    ["no certificate", ""],
    ["a self-signed certificate", "client-selfsigned"],
    ["a certificate from another CA", "client-otherca"],
    ["an expired certificate", "client-expired"],
  ]
) {
  Deno.test(`TLS verify: ${name} is refused`, async () => {
    await using s = await verifyServer();
    const r = await tlsClient(
      s.port,
      cert ? { cert: `${cert}-cert.pem`, key: `${cert}-key.pem` } : {},
    );
    assert.equal(r.ok, false, `should be refused, got ${JSON.stringify(r.reply)}`);
    await waitFor(() => s.log.lines.some((l) => l.includes("TLS handshake error")), "logged");
  });
}

Deno.test("TLS with the official client: tls options, publish and subscribe", async () => {
  await using s = await startServer({ tls: true, tlsConfig: tlsConfig() });
  const nc = await connect({
    servers: `tls://localhost:${s.port}`,
    tls: { caFile: CERTS + "ca.pem" },
  });
  const sub = nc.subscribe("secure");
  nc.publish("secure", "hi");
  for await (const m of sub) {
    assert.equal(m.string(), "hi");
    break;
  }
  await nc.close();
});

Deno.test("routes over TLS", async () => {
  const routeTls = {
    ...defaultTlsOptions(),
    certFile: CERTS + "route-cert.pem",
    keyFile: CERTS + "route-key.pem",
    caFile: CERTS + "ca.pem",
    verify: true,
  };
  await using a = await startServer({ cluster: { host: "127.0.0.1", port: -1, tls: routeTls } });
  await using b = await startServer({
    cluster: { host: "127.0.0.1", port: -1, tls: routeTls },
    routes: [`nats://localhost:${a.server!.cluster!.port}`],
  });
  await waitFor(
    () => a.server!.cluster!.byId.size === 1 && b.server!.cluster!.byId.size === 1,
    "TLS route",
  );
});

Deno.test("TLS: only modern AEAD suites are negotiated; cipher_suites is validated", async () => {
  await using s = await startServer({
    tls: true,
    tlsConfig: tlsConfig({ ciphers: ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"] }),
  });
  const r = await tlsClient(s.port, { maxVersion: "TLSv1.2" });
  assert.equal(r.ok, true, r.error);
  const c = [...s.server!.clients.values()][0] ?? s.server!.closedClients.at(-1);
  assert.match(c?.tlsInfo?.cipher ?? "", /^TLS_ECDHE_RSA_WITH_(AES_\d+_GCM_SHA\d+|CHACHA20)/);
  assert.ok(s.log.lines.some((l) => l.includes("accepted but not enforced")));
  assert.throws(
    () => loadTlsContext(tlsConfig({ ciphers: ["TLS_NOPE"] })),
    /unrecognized cipher TLS_NOPE/,
  );
});

Deno.test("TLS verify_and_map: the client certificate names the user", async () => {
  const dn = "CN=NATS Test Client,O=NATS Test,L=San Francisco,ST=California,C=US";
  const cases: [string, boolean][] = [
    ["client@nats.test", true], // e-mail SAN
    [dn, true], // subject, RFC 2253
    ["C=US, ST=California, L=San Francisco, O=NATS Test, CN=NATS Test Client", true], // reordered
    ["someone-else", false],
  ];
  for (const [user, ok] of cases) {
    await using s = await startServer({
      tls: true,
      tlsConfig: tlsConfig({ caFile: CERTS + "ca.pem", verify: true, verifyAndMap: true }),
      users: [{ username: user, password: "" }],
    });
    const r = await tlsClient(s.port, { cert: "client-cert.pem", key: "client-key.pem" });
    if (ok) {
      assert.equal(r.reply, "PONG\r\n", user);
      const c = [...s.server!.clients.values()][0] ?? s.server!.closedClients.at(-1);
      assert.equal(c?.user, user);
    } else {
      assert.equal(r.reply, "-ERR 'Authorization Violation'\r\n", user);
    }
  }
});

Deno.test("allow_non_tls: TLS offered (tls_available), plain and TLS clients both served", async () => {
  await using s = await startServer({ tls: true, tlsConfig: tlsConfig(), allowNonTls: true });
  const tlsOutcome = await tlsClient(s.port, {});
  assert.equal(tlsOutcome.info.tls_available, true);
  assert.equal(tlsOutcome.info.tls_required, undefined);
  assert.equal(tlsOutcome.reply, "PONG\r\n");
  const [plain] = await RawClient.connectInfo(s.port);
  await using _p = plain;
  await plain.send("CONNECT {}\r\nSUB x 1\r\nPUB x 2\r\nok\r\n");
  assert.equal(await plain.roundTrip(), "+OK\r\n+OK\r\n+OK\r\nMSG x 1 2\r\nok\r\n");
});
