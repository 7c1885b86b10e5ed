/**
 * The original gnatsd README's "Securing NATS" section, as written there: its config files
 * (configs/tls.conf, tlsverify.conf, cluster-tls.conf), its command lines, its bcrypt hash.
 */

import assert from "node:assert/strict";
import { connect } from "@nats-io/transport-node";
import { RawClient, waitFor } from "./helpers.ts";
import { freePort, ROOT, ServerProcess } from "./process_helpers.ts";

const CERTS = `${ROOT}configs/certs/`;

async function started(args: string[]): Promise<ServerProcess> {
  const port = freePort();
  const p = new ServerProcess(["-a", "127.0.0.1", "-p", `${port}`, ...args], port);
  await p.waitStderr(/Server is ready/);
  return p;
}

Deno.test("README tls.conf: TLS plus the bcrypt user derek / T0pS3cr3t", async () => {
  await using p = await started(["-c", "configs/tls.conf"]);
  assert.match(p.stderr, /\[INF\] TLS required for client connections/);
  const nc = await connect({
    servers: `tls://localhost:${p.port}`,
    tls: { caFile: CERTS + "ca.pem" },
    user: "derek",
    pass: "T0pS3cr3t",
  });
  const sub = nc.subscribe("secure.hello", { max: 1 });
  nc.publish("secure.hello", "over TLS");
  for await (const m of sub) assert.equal(m.string(), "over TLS");
  await nc.close();
});

Deno.test("README tlsverify.conf: a client certificate is required and checked", async () => {
  await using p = await started(["-c", "configs/tlsverify.conf"]);
  const nc = await connect({
    servers: `tls://localhost:${p.port}`,
    tls: {
      caFile: CERTS + "ca.pem",
      certFile: CERTS + "client-cert.pem",
      keyFile: CERTS + "client-key.pem",
    },
  });
  await nc.flush();
  await nc.close();
  await assert.rejects(() =>
    connect({
      servers: `tls://localhost:${p.port}`,
      tls: { caFile: CERTS + "ca.pem" },
      reconnect: false,
    })
  );
});

Deno.test("README command line: --tlsverify --tlscert --tlskey --tlscacert", async () => {
  await using p = await started([
    "--tlsverify",
    `--tlscert=${CERTS}server-cert.pem`,
    `--tlskey=${CERTS}server-key.pem`,
    `--tlscacert=${CERTS}ca.pem`,
  ]);
  const [c, info] = await RawClient.connectInfo(p.port);
  await c.close();
  assert.equal(info.tls_required, true);
  assert.equal(info.tls_verify, true);
});

Deno.test("README cluster-tls.conf: two servers route over TLS", async () => {
  const [ca, cb] = [freePort(), freePort()];
  const member = (mine: number, other: number) =>
    started([
      "-c",
      "configs/cluster-tls.conf",
      "--cluster",
      `nats://127.0.0.1:${mine}`,
      "--routes",
      `nats://localhost:${other}`,
    ]);
  await using a = await member(ca, cb);
  await using b = await member(cb, ca);
  const [sub] = await RawClient.connectInfo(a.port);
  const [pub] = await RawClient.connectInfo(b.port);
  await using _s = sub;
  await using _p = pub;
  await sub.send('CONNECT {"verbose":false}\r\nSUB over.routes 1\r\n');
  await sub.roundTrip();
  await waitFor(async () => {
    await pub.send('CONNECT {"verbose":false}\r\nPUB over.routes 2\r\nok\r\n');
    await new Promise((r) => setTimeout(r, 20));
    return sub.text.includes("MSG over.routes 1 2\r\nok\r\n");
  }, "a message across the TLS route");
});
