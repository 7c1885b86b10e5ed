/**
 * Leafnode connections over websocket: `ws://` and `wss://` remotes (the upgrade on /leafnode,
 * masked frames, compression, no-masking) and the websocket port accepting them, between our
 * server and nats-server 2.9.10 both ways, with exact bytes where the wire is the point.
 */

import assert from "node:assert/strict";
import { connect, headers } from "@nats-io/transport-node";
import { HAVE_NATS_SERVER, waitFor } from "./helpers.ts";
import { freePort } from "./process_helpers.ts";
import { type Kind, logged, type Node, start } from "./leafnode_mixed.ts";
import { solicitWebsocket, upgradeRequest } from "../src/leafnode/websocket.ts";

const CERTS = new URL("../configs/certs/", import.meta.url).pathname;
const WSS_TLS = `tls { cert_file: "${CERTS}server-cert.pem", key_file: "${CERTS}server-key.pem" }`;

interface Variant {
  name: string;
  /** The hub's websocket block body (after the listen). */
  hubWs: string;
  /** The remote's extra settings. */
  remote: string;
  scheme: "ws" | "wss";
  /** Host in the remote URL (a name for TLS). */
  host: string;
  /** What each side logs it negotiated (nats-server's debug lines). */
  negotiated: { hub: string; leaf: string };
  /** The hub's leafnode authorization user (lu/lp), given in the remote URL. */
  auth?: boolean;
}

const VARIANTS: Variant[] = [
  {
    name: "ws",
    hubWs: "no_tls: true",
    remote: "",
    scheme: "ws",
    host: "127.0.0.1",
    negotiated: { hub: "compression=false", leaf: "compression=false masking=true" },
  },
  {
    name: "ws with compression and no masking",
    hubWs: "no_tls: true, compression: true",
    remote: "ws_compression: true, ws_no_masking: true",
    scheme: "ws",
    host: "127.0.0.1",
    negotiated: { hub: "compression=true", leaf: "compression=true masking=false" },
  },
  {
    name: "wss",
    hubWs: WSS_TLS,
    remote: `tls { ca_file: "${CERTS}ca.pem" }`,
    scheme: "wss",
    host: "localhost",
    negotiated: { hub: "compression=false", leaf: "compression=false masking=true" },
  },
  {
    name: "ws with user and password",
    hubWs: "no_tls: true",
    remote: "",
    scheme: "ws",
    host: "127.0.0.1",
    negotiated: { hub: "compression=false", leaf: "compression=false masking=true" },
    auth: true,
  },
];

/** A hub with a websocket listener and a leafnode port, and a leaf dialing its websocket port. */
async function wsTopology(hubKind: Kind, leafKind: Kind, v: Variant) {
  const wsPort = freePort();
  const hub = await start(
    hubKind,
    `server_name: HUB\nwebsocket { listen: "127.0.0.1:${wsPort}", ${v.hubWs} }\n` +
      `leafnodes { listen: "127.0.0.1:${freePort()}"` +
      `${v.auth ? ", authorization { user: lu, password: lp }" : ""} }`,
  );
  try {
    const url = `${v.scheme}://${v.auth ? "lu:lp@" : ""}${v.host}:${wsPort}`;
    const sep = v.remote === "" ? "" : ", ";
    const leaf = await start(
      leafKind,
      `server_name: LEAF\nleafnodes { remotes [ { url: "${url}"${sep}${v.remote} } ] }`,
    );
    try {
      await logged(hub, /lid_ws:\d+ - .*deny/);
      await logged(leaf, /lid_ws:\d+ - .*deny/);
      return { hub, leaf };
    } catch (e) {
      await leaf[Symbol.asyncDispose]();
      throw e;
    }
  } catch (e) {
    await hub[Symbol.asyncDispose]();
    throw e;
  }
}

/** Requests, headers and a large message cross between clients of `a` and `b`, both ways. */
async function exchange(a: Node, b: Node): Promise<void> {
  const na = await connect({ servers: `127.0.0.1:${a.port}` });
  const nb = await connect({ servers: `127.0.0.1:${b.port}` });
  try {
    na.subscribe("svc.a", {
      callback: (_e, m) => void m.respond(`a:${m.string()}:${m.headers?.get("X-K") ?? ""}`),
    });
    nb.subscribe("svc.b", { callback: (_e, m) => void m.respond(m.data) });
    await na.flush();
    await nb.flush();
    const h = headers();
    h.set("X-K", "v");
    const viaB = await waitFor(async () => {
      try {
        const r = await nb.request("svc.a", "hi", { timeout: 500, headers: h });
        return r.string() === "a:hi:v";
      } catch {
        return false;
      }
    }, "a request from the leaf side to the hub side");
    void viaB;
    // 300 KB of compressible text and 64 KB of random bytes (frames above 64 KiB, and not).
    const big = new TextEncoder().encode("leafnode over websocket ".repeat(12500));
    const noise = crypto.getRandomValues(new Uint8Array(65536));
    await waitFor(async () => {
      try {
        await na.request("svc.b", "x", { timeout: 500 });
        return true;
      } catch {
        return false;
      }
    }, "a request from the hub side to the leaf side");
    for (const payload of [big, noise]) {
      const r = await na.request("svc.b", payload, { timeout: 2000 });
      assert.deepEqual(r.data, payload);
    }
  } finally {
    await na.close();
    await nb.close();
  }
}

const MIXES: [Kind, Kind][] = [
  ["ours", "ours"],
  ["ours", "nats-server"],
  ["nats-server", "ours"],
  ["nats-server", "nats-server"],
];

for (const v of VARIANTS) {
  for (const [hubKind, leafKind] of MIXES) {
    Deno.test({
      name: `leafnode over ${v.name}: hub ${hubKind}, leaf ${leafKind}`,
      ignore: (hubKind !== "ours" || leafKind !== "ours") && !HAVE_NATS_SERVER,
      async fn() {
        const t = await wsTopology(hubKind, leafKind, v);
        await using hub = t.hub;
        await using leaf = t.leaf;
        assert.ok(
          hub.lines().some((l) =>
            l.endsWith(`Leafnode compression=${v.negotiated.hub.split("=")[1]}`)
          ),
        );
        assert.ok(leaf.lines().some((l) => l.endsWith(`Leafnode ${v.negotiated.leaf}`)));
        await exchange(hub, leaf);
      },
    });
  }
}

// ---- The upgrade request, byte for byte ----

/** The first request a remote sends to `url` (a listener that reads it and hangs up). */
async function capture(kind: Kind, remote: (port: number) => string): Promise<string> {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  await using _leaf = await start(kind, `leafnodes { remotes [ { ${remote(port)} } ] }`);
  const c = await l.accept();
  l.close();
  const buf = new Uint8Array(4096);
  let text = "";
  while (!text.endsWith("\r\n\r\n")) {
    const n = await c.read(buf);
    if (n === null) break;
    text += new TextDecoder().decode(buf.subarray(0, n));
  }
  c.close();
  return text.replace(/Sec-WebSocket-Key: [^\r]*/, "Sec-WebSocket-Key: KEY")
    .replace(`Host: 127.0.0.1:${port}`, "Host: 127.0.0.1:PORT");
}

Deno.test({
  name: "a ws remote's upgrade request is nats-server's, byte for byte",
  ignore: !HAVE_NATS_SERVER,
  async fn() {
    for (
      const remote of [
        (p: number) => `url: "ws://127.0.0.1:${p}"`,
        (p: number) =>
          `url: "ws://127.0.0.1:${p}/some/path", ws_compression: true, ws_no_masking: true`,
      ]
    ) {
      const ours = await capture("ours", remote);
      const theirs = await capture("nats-server", remote);
      assert.equal(ours, theirs);
    }
  },
});

Deno.test("the upgrade request names /leafnode, the URL's path, and what it asks for", () => {
  assert.equal(
    upgradeRequest(new URL("ws://h:1/x/y"), "K", true, true),
    "GET /leafnodex/y HTTP/1.1\r\nHost: h:1\r\nUser-Agent: Go-http-client/1.1\r\n" +
      "Connection: Upgrade\r\nNats-No-Masking: true\r\nSec-WebSocket-Key: K\r\n" +
      "Sec-WebSocket-Version: 13\r\nSec-Websocket-Extensions: permessage-deflate; " +
      "server_no_context_takeover; client_no_context_takeover\r\nUpgrade: websocket\r\n\r\n",
  );
});

// ---- The websocket port's leafnode session, beside nats-server ----

/** Placeholders for what differs per run. */
function normalize(text: string): string {
  return text
    .replace(/"server_id":"N[A-Z0-9]{55}"/g, '"server_id":"ID"')
    .replace(/"nonce":"[^"]*"/g, '"nonce":"NONCE"')
    .replace(/\$LDS\.[A-Za-z0-9]+/g, "$LDS.X")
    .replace(/"go":"[^"]*"/g, '"go":"GO"')
    .replace(/"port":\d+/g, '"port":P')
    .replace(/"ip":"[^"]*"/g, '"ip":"IP"')
    .replace(/"leafnode_urls":\["[^"]*"\]/g, '"leafnode_urls":["URL"]')
    .replace(/"client_id":\d+/g, '"client_id":N');
}

/** A leaf's session on `kind`'s websocket port, through our websocket client side. */
async function wsLeafSession(kind: Kind, wsOpts: string, compress: boolean): Promise<string[]> {
  const wsPort = freePort();
  await using _hub = await start(
    kind,
    `server_name: HUB\nno_system_account: true\n` +
      `websocket { listen: "127.0.0.1:${wsPort}", no_tls: true${wsOpts} }\n` +
      `leafnodes { listen: "127.0.0.1:${freePort()}" }`,
  );
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: wsPort });
  const { ws } = await solicitWebsocket(
    conn,
    new URL(`ws://127.0.0.1:${wsPort}`),
    { compress, noMasking: false },
    { maxInflated: 1 << 20, closeTimeoutMs: 1000, onError: () => {} },
    2000,
  );
  const buf = new Uint8Array(65536);
  let text = "";
  const until = async (end: string) => {
    while (!text.includes(end)) {
      const n = await ws.read(buf);
      if (n === null) throw new Error(`closed before ${end}: ${text}`);
      text += new TextDecoder().decode(buf.subarray(0, n));
    }
    const out = normalize(text);
    text = "";
    return out;
  };
  try {
    const out = [await until("\r\n")];
    const connect =
      `CONNECT {"version":"2.9.10","tls_required":false,"server_id":"NTEST","name":"RAW",` +
      `"headers":true}\r\nLS+ foo\r\nPING\r\n`;
    await ws.write(new TextEncoder().encode(connect));
    out.push(await until("PONG\r\n"));
    return out;
  } finally {
    ws.close();
  }
}

Deno.test({
  name: "a leaf on the websocket port sees the INFO, answer and interest of nats-server",
  ignore: !HAVE_NATS_SERVER,
  async fn() {
    for (const [opts, compress] of [["", false], [", compression: true", true]] as const) {
      const ours = await wsLeafSession("ours", opts, compress);
      const theirs = await wsLeafSession("nats-server", opts, compress);
      assert.deepEqual(ours, theirs);
      assert.match(ours[1], /"connect_info":true.*\r\nLS\+ \$LDS\.X\r\nPONG\r\n$/);
    }
  },
});

Deno.test({
  name: "a websocket port without a leafnode listener refuses leafnodes, as nats-server",
  ignore: !HAVE_NATS_SERVER,
  async fn() {
    const seen: Record<string, string[]> = {};
    for (const kind of ["ours", "nats-server"] as const) {
      const wsPort = freePort();
      await using hub = await start(
        kind,
        `websocket { listen: "127.0.0.1:${wsPort}", no_tls: true }`,
      );
      await using leaf = await start(
        kind,
        `leafnodes { reconnect: 1, remotes [ { url: "ws://127.0.0.1:${wsPort}" } ] }`,
      );
      await logged(leaf, /lid_ws:\d+ - Leafnode connection closed/);
      await logged(hub, /Not configured to accept leaf node connections/);
      seen[kind] = leaf.lines()
        .filter((l) => l.includes("lid_ws"))
        .map((l) => l.replace(/:\d+ - lid_ws:\d+/, ":P - lid_ws:N"))
        .slice(0, 3);
    }
    assert.deepEqual(seen.ours, seen["nats-server"]);
  },
});

Deno.test({
  name: "remotes that mix websocket and other URLs are refused at start, as by nats-server",
  ignore: !HAVE_NATS_SERVER,
  async fn() {
    const conf =
      `leafnodes { remotes [ { urls: ["ws://u:p@127.0.0.1:1", "nats://127.0.0.1:2"] } ] }`;
    const file = await Deno.makeTempFile({ suffix: ".conf" });
    await Deno.writeTextFile(file, conf);
    try {
      const run = async (cmd: string, args: string[]) => {
        const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" })
          .output();
        return new TextDecoder().decode(out.stderr).trim().split("\n").at(-1);
      };
      const theirs = await run("nats-server", ["-c", file]);
      const ours = await run(Deno.execPath(), ["run", "-A", "main.ts", "-c", file]);
      assert.equal(ours, theirs);
      assert.match(
        ours!,
        /cannot have a mix of websocket and non-websocket urls: \["ws:\/\/u:xxxxx@/,
      );
    } finally {
      await Deno.remove(file);
    }
  },
});

for (const leafKind of ["ours", "nats-server"] as const) {
  Deno.test({
    name: `${leafKind === "ours" ? "our" : "a nats-server"} leaf over ws reconnects when our hub ` +
      "restarts, and traffic resumes",
    ignore: leafKind !== "ours" && !HAVE_NATS_SERVER,
    async fn() {
      const wsPort = freePort();
      const conf = `server_name: HUB\nwebsocket { listen: "127.0.0.1:${wsPort}", no_tls: true }\n` +
        `leafnodes { listen: "127.0.0.1:${freePort()}" }`;
      const first = await start("ours", conf);
      let firstDisposed = false;
      try {
        await using leaf = await start(
          leafKind,
          `server_name: LEAF\nleafnodes { reconnect: 1, remotes [ { url: "ws://127.0.0.1:${wsPort}" } ] }`,
        );
        await logged(first, /lid_ws:\d+ - .*deny/);
        await first[Symbol.asyncDispose]();
        firstDisposed = true;
        await logged(leaf, /lid_ws:\d+ - Leafnode connection closed/);
        await using second = await start("ours", conf);
        await logged(second, /lid_ws:\d+ - .*deny/);
        await exchange(second, leaf);
      } finally {
        if (!firstDisposed) await first[Symbol.asyncDispose]();
      }
    },
  });
}
