/**
 * WebSocket clients (`websocket {}`): the HTTP upgrade and its refusals, RFC 6455 framing as
 * nats-server does it (split and coalesced frames, control frames, close codes, masking),
 * per-message deflate, wss, origin checks, the websocket authorization override, monitoring,
 * and the official JavaScript and Go clients. Where nats-server is installed every scenario runs
 * against it too, with the same config text, and the bytes are compared.
 */

import assert from "node:assert/strict";
import { HAVE_NATS_SERVER, MemoryLogger, RawClient, waitFor } from "./helpers.ts";
import { Server } from "../src/server.ts";
import {
  bothServers,
  CERTS,
  closeOf,
  concat,
  deflate,
  frame,
  startOurs,
  WsRaw,
  type WsServer,
} from "./ws_helpers.ts";
import { parseConfigString } from "../src/config.ts";
import { WsClient } from "../src/websocket/client.ts";
import { closePayload, unmask, writeHeader } from "../src/websocket/frames.ts";
import { defaultOptions, mergeOptions, validateOptions } from "../src/options.ts";

const NO_TLS = `websocket {
  host: 127.0.0.1
  port: -1 #WS
  no_tls: true
}`;

const enc = new TextEncoder();

/** Runs `fn` against ours and (when installed) nats-server with the same config. */
async function onBoth(
  conf: string,
  fn: (s: WsServer) => Promise<void>,
  http = false,
): Promise<void> {
  const servers = await bothServers(conf, HAVE_NATS_SERVER, http);
  try {
    for (const s of servers) {
      try {
        await fn(s);
      } catch (e) {
        (e as Error).message = `[${s.name}] ${(e as Error).message}`;
        throw e;
      }
    }
  } finally {
    for (const s of servers) await s[Symbol.asyncDispose]();
  }
}

/** A response head with its Date header normalised (it is the only part that varies). */
function normalize(response: string): string {
  return response.replace(/^Date: .*\r\n/m, "Date: X\r\n");
}

// ---- Configuration ----

function configError(text: string): string {
  try {
    const o = mergeOptions(defaultOptions(), parseConfigString(text, "ws.conf"));
    validateOptions(o);
  } catch (e) {
    return (e as Error).message;
  }
  return "";
}

Deno.test("the websocket block maps every nats-server key", () => {
  const o = parseConfigString(
    `websocket {
      listen: "127.0.0.1:8080"
      advertise: "ws.example.com:443"
      no_tls: true
      same_origin: true
      allowed_origins: ["http://a.example.com", "https://b.example.com:8443"]
      compression: true
      handshake_timeout: "3s"
      jwt_cookie: "jwt"
      no_auth_user: "bob"
      authorization { user: u, password: p, timeout: 1.5 }
    }`,
    "ws.conf",
  ).websocket!;
  assert.deepEqual(o, {
    host: "127.0.0.1",
    port: 8080,
    advertise: "ws.example.com:443",
    noAuthUser: "bob",
    jwtCookie: "jwt",
    username: "u",
    password: "p",
    token: "",
    authTimeout: 1.5,
    noTls: true,
    sameOrigin: true,
    allowedOrigins: ["http://a.example.com", "https://b.example.com:8443"],
    compression: true,
    handshakeTimeoutMs: 3000,
  });
  const aliases = parseConfigString(
    `ws { host: h, port: 1, compress: true, origin: "http://x", handshake_timeout: 2,
      authentication { token: t } }`,
  ).websocket!;
  assert.equal(aliases.host, "h");
  assert.equal(aliases.port, 1);
  assert.equal(aliases.compression, true);
  assert.deepEqual(aliases.allowedOrigins, ["http://x"]);
  assert.equal(aliases.handshakeTimeoutMs, 2000);
  assert.equal(aliases.token, "t");
});

Deno.test("websocket config errors read as nats-server's", () => {
  // Texts recorded from nats-server 2.9.10 with the same files.
  assert.equal(configError("websocket { port: 1 }"), "websocket requires TLS configuration");
  assert.equal(
    configError("websocket { port: 1, no_tls: true, no_auth_user: bob }"),
    'no_auth_user: "bob" present, but users are not defined',
  );
  assert.equal(
    configError(
      "authorization { users: [{user: a, password: b}] }\n" +
        "websocket { port: 1, no_tls: true, no_auth_user: bob }",
    ),
    'no_auth_user: "bob" not present as user in authorization block or account configuration',
  );
  assert.equal(
    configError(
      "authorization { users: [{user: a, password: b}] }\n" +
        "websocket { port: 1, no_tls: true, authorization { user: x, password: y } }",
    ),
    "websocket authentication username not compatible with presence of users/nkeys",
  );
  assert.equal(
    configError(
      "authorization { users: [{user: a, password: b}] }\n" +
        "websocket { port: 1, no_tls: true, authorization { token: x } }",
    ),
    "websocket authentication token not compatible with presence of users/nkeys",
  );
  assert.equal(
    configError('websocket { port: 1, no_tls: true, allowed_origins: ["http://[::1"] }'),
    `unable to parse allowed origin: parse "http://[::1": missing ']' in host`,
  );
  assert.equal(
    configError('websocket { port: 1, no_tls: true, allowed_origins: ["http://a:b"] }'),
    `unable to parse allowed origin: parse "http://a:b": invalid port ":b" after host`,
  );
  assert.equal(
    configError('websocket { port: 1, no_tls: true, jwt_cookie: "jwtc" }'),
    "trusted operators or trusted keys configuration is required for JWT authentication via " +
      'cookie "jwtc"',
  );
  assert.equal(
    configError("websocket { port: 1, no_tls: true, handshake_timeout: 1.5, compression: 1 }"),
    "ws.conf:1:35: error parsing handshake timeout: unsupported type float64\n" +
      "ws.conf:1:59: interface conversion: interface {} is int64, not bool",
  );
  assert.equal(
    configError(
      'websocket { port: 1, no_tls: true, allowed_origins: [1, "x"], authorization { users: [] } }',
    ),
    "ws.conf:1:53: error parsing allowed origins: unsupported type in array int64\n" +
      'ws.conf:1:78: unknown field "users"',
  );
  assert.equal(
    configError('websocket { port: 1, no_tls: true, handshake_timeout: "3x" }'),
    'ws.conf:1:35: time: unknown unit "x" in duration "3x"',
  );
  assert.equal(
    configError("websocket { port: 1, no_tls: true, allowed_origins: true }"),
    "ws.conf:1:35: error parsing allowed origins: unsupported type bool",
  );
  assert.equal(
    configError("websocket: 5"),
    "ws.conf:1:0: Expected websocket to be a map, got int64",
  );
  // A tls block alone is enough; its files are checked when the listener starts.
  assert.equal(
    configError(
      `websocket { port: 1, tls { cert_file: "${CERTS}server-cert.pem", key_file: "${CERTS}server-key.pem" } }`,
    ),
    "",
  );
});

// ---- The upgrade ----

Deno.test("the upgrade answers 101 with the accept key; INFO is the client listener's", async () => {
  await onBoth(NO_TLS, async (s) => {
    const [c, info] = await WsRaw.open(s.wsPort, {
      headers: { "Sec-WebSocket-Protocol": "nats, chat" },
    });
    // No subprotocol and no extension are answered.
    assert.equal(
      c.response,
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
    );
    assert.deepEqual(Object.keys(info), [
      "server_id",
      "server_name",
      "version",
      "proto",
      "go",
      "host",
      "port",
      "headers",
      "max_payload",
      "client_id",
      "client_ip",
    ]);
    assert.equal(info.port, s.port);
    assert.equal(info.host, "127.0.0.1");
    assert.equal(info.client_ip, "127.0.0.1");
    // Server frames are binary, final, unmasked.
    await c.sendText('CONNECT {"verbose":false}\r\nSUB foo 1\r\nPUB foo 5\r\nhello\r\n');
    assert.equal(await c.roundTrip(), "MSG foo 1 5\r\nhello\r\n");
    await c.close();
  });
});

Deno.test("bad upgrade requests get nats-server's HTTP status, headers and body", async () => {
  const key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
  const cases: [string, string, string][] = [
    ["POST / HTTP/1.1\r\nHost: x\r\n\r\n", "405 Method Not Allowed", "request method must be GET"],
    ["GET / HTTP/1.1\r\nHost: x\r\n\r\n", "400 Bad Request", "invalid value for header 'Upgrade'"],
    [
      "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n",
      "400 Bad Request",
      "invalid value for header 'Connection'",
    ],
    [
      "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      "Sec-WebSocket-Version: 13\r\n\r\n",
      "400 Bad Request",
      "key missing",
    ],
    [
      `GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n${key}` +
      "Sec-WebSocket-Version: 12\r\n\r\n",
      "400 Bad Request",
      "invalid version",
    ],
    [
      "GET / HTTP/1.0\r\nUpgrade: websocket\r\n\r\n",
      "400 Bad Request",
      "'Host' missing in request",
    ],
  ];
  await onBoth(NO_TLS, async (s) => {
    for (const [request, status, reason] of cases) {
      const c = await WsRaw.connect(s.wsPort, { request });
      await waitFor(() => c.response !== "", `a response to ${JSON.stringify(request)}`);
      const text = status.slice(4);
      const version = request.includes("HTTP/1.0") ? "1.0" : "1.1";
      assert.equal(
        normalize(c.response),
        `HTTP/${version} ${status}\r\nContent-Type: text/plain; charset=utf-8\r\n` +
          "Sec-Websocket-Version: 13\r\nX-Content-Type-Options: nosniff\r\nDate: X\r\n" +
          `Content-Length: ${text.length + 1}\r\n\r\n`,
      );
      await waitFor(
        () => new TextDecoder().decode(c.raw).endsWith(`\r\n\r\n${text}\n`),
        "the body",
      );
      await waitFor(
        () => s.logText().includes(`websocket handshake error: ${reason}`),
        `the log line for ${reason}`,
      );
      await c.close();
    }
    // What Go's HTTP server itself answers to requests it cannot take.
    for (
      const [request, answer] of [
        ["garbage\r\n\r\n", "400 Bad Request"],
        [
          "GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n",
          "400 Bad Request: missing required Host header",
        ],
      ]
    ) {
      const c = await WsRaw.connect(s.wsPort, { request });
      await c.waitClosed();
      assert.equal(
        new TextDecoder().decode(c.raw),
        `HTTP/1.1 ${answer}\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n${answer}`,
      );
      await c.close();
    }
    // Data sent before the 101 arrives: the connection is dropped without an answer.
    const early = await WsRaw.connect(s.wsPort, {
      request: `GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n${key}` +
        "Sec-WebSocket-Version: 13\r\n\r\nPING\r\n",
    });
    await early.waitClosed();
    assert.equal(early.raw.length, 0);
    await waitFor(
      () => s.logText().includes("client sent data before handshake is complete"),
      "the log line",
    );
    await early.close();
  });
});

Deno.test("header names and tokens are case-insensitive; the path and query are ignored", async () => {
  await onBoth(NO_TLS, async (s) => {
    const c = await WsRaw.connect(s.wsPort, {
      request: "GET /some/path?x=1 HTTP/1.1\r\nhost: x\r\nupgrade: WebSocket\r\n" +
        "connection: keep-alive, upgrade\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
        "sec-websocket-version: 13\r\n\r\n",
    });
    await c.waitFrames(1, "INFO");
    assert.match(c.response, /^HTTP\/1\.1 101 Switching Protocols\r\n/);
    await c.close();
  });
});

Deno.test("a client that never finishes its upgrade is dropped after handshake_timeout", async () => {
  await onBoth(
    `websocket {
      host: 127.0.0.1
      port: -1 #WS
      no_tls: true
      handshake_timeout: "300ms"
    }`,
    async (s) => {
      const c = await WsRaw.connect(s.wsPort, { request: "GET / HTTP/1.1\r\nHost: x\r\n" });
      const t0 = Date.now();
      await c.waitClosed(3000);
      assert.ok(Date.now() - t0 >= 250, `closed after ${Date.now() - t0} ms`);
      assert.equal(c.raw.length, 0);
      await c.close();
    },
  );
});

// ---- Framing ----

const CONNECT = 'CONNECT {"verbose":false}\r\n';

Deno.test("a protocol stream split across frames, and several ops in one frame, parse the same", async () => {
  await onBoth(NO_TLS, async (s) => {
    const [c] = await WsRaw.open(s.wsPort);
    const ops = CONNECT + "SUB foo 1\r\nPUB foo 5\r\nhello\r\nPING\r\n";
    // One message in three frames: first, continuation, final continuation.
    await c.send(concat(
      frame(2, ops.slice(0, 10), { fin: false }),
      frame(0, ops.slice(10, 33), { fin: false }),
      frame(0, ops.slice(33)),
    ));
    assert.equal(await c.textUntil("PONG\r\n"), "MSG foo 1 5\r\nhello\r\nPONG\r\n");
    // Frames cut at every byte boundary of the stream, sent one TCP write each.
    const bytes = frame(2, "PUB foo 3\r\nabc\r\nPUB foo 3\r\ndef\r\n");
    for (let i = 0; i < bytes.length; i += 3) await c.send(bytes.subarray(i, i + 3));
    // Text frames are accepted as binary ones.
    await c.send(frame(1, "PING\r\n"));
    assert.equal(
      await c.textUntil("PONG\r\n"),
      "MSG foo 1 3\r\nabc\r\nMSG foo 1 3\r\ndef\r\nPONG\r\n",
    );
    // Many frames in one write, each carrying whole and partial ops.
    const many: Uint8Array[] = [];
    const stream = "PUB foo 2\r\nxy\r\n".repeat(50) + "PING\r\n";
    for (let i = 0; i < stream.length; i += 7) many.push(frame(2, stream.slice(i, i + 7)));
    await c.send(concat(...many));
    assert.equal(await c.textUntil("PONG\r\n"), "MSG foo 1 2\r\nxy\r\n".repeat(50) + "PONG\r\n");
    // A 200 KB message in 16-bit and 64-bit length frames.
    const big = "z".repeat(200_000);
    await c.send(frame(2, `PUB foo ${big.length}\r\n${big.slice(0, 60_000)}`, { fin: false }));
    await c.send(frame(0, `${big.slice(60_000)}\r\nPING\r\n`));
    assert.equal(await c.textUntil("PONG\r\n"), `MSG foo 1 200000\r\n${big}\r\nPONG\r\n`);
    await c.close();
  });
});

Deno.test("ping frames are answered with a pong carrying the same payload; pongs are ignored", async () => {
  await onBoth(NO_TLS, async (s) => {
    const [c] = await WsRaw.open(s.wsPort);
    await c.send(concat(frame(9, "hello"), frame(10, "ignored"), frame(9, "")));
    await c.waitFrames(2, "two pongs");
    assert.deepEqual(
      c.frames.map((f) => [f.opcode, f.fin, new TextDecoder().decode(f.payload)]),
      [[10, true, "hello"], [10, true, ""]],
    );
    c.frames = [];
    // A ping between the frames of a message does not disturb it.
    await c.send(concat(
      frame(2, CONNECT + "PI", { fin: false }),
      frame(9, "mid"),
      frame(0, "NG\r\n"),
    ));
    await c.waitFrames(2, "pong and PONG");
    assert.equal(c.frames[0].opcode, 10);
    assert.equal(await c.textUntil("PONG\r\n"), "PONG\r\n");
    await c.close();
  });
});

Deno.test("a close frame is echoed (1005 when empty, 1007 for a bad reason) and ends the connection", async () => {
  const cases: [Uint8Array, number, string][] = [
    [concat(new Uint8Array([0x03, 0xe8]), enc.encode("bye")), 1000, "bye"],
    [new Uint8Array(0), 1005, ""],
    [new Uint8Array([0x0f, 0xa0]), 4000, ""],
    [new Uint8Array([0x03, 0xe8, 0xff, 0xfe]), 1007, "invalid utf8 body in close frame"],
  ];
  await onBoth(NO_TLS, async (s) => {
    for (const [payload, code, reason] of cases) {
      const [c] = await WsRaw.open(s.wsPort);
      await c.send(frame(8, payload));
      assert.deepEqual(await c.closeFrame(), { code, reason });
      await c.waitClosed();
      await c.close();
    }
    if (s.server) {
      await waitFor(() => s.server!.closedClients.length === cases.length, "closed clients");
      assert.ok(s.server.closedClients.every((c) => c.closeReason === "Client Closed"));
    }
  });
});

/**
 * Frames that break the protocol: ours always sends the close frame with the reason; nats-server
 * queues the same frame but races it against closing the socket, so it may not arrive.
 */
Deno.test("frames that break RFC 6455 close the connection with 1002 and the reason", async () => {
  const cases: [string, Uint8Array, string][] = [
    ["unmasked", frame(2, "PING\r\n", { mask: false }), "mask bit missing"],
    ["bad opcode", frame(3, "PING\r\n"), "unknown opcode 3"],
    ["reserved control opcode", frame(11, "x"), "unknown opcode 11"],
    [
      "big control frame",
      frame(9, new Uint8Array(126)),
      "control frame length bigger than maximum allowed of 125 bytes",
    ],
    [
      "fragmented control frame",
      frame(9, "x", { fin: false }),
      "control frame does not have final bit set",
    ],
    [
      "new message inside a message",
      concat(frame(2, "PI", { fin: false }), frame(2, "NG\r\n")),
      "new message started before final frame for previous message was received",
    ],
    ["continuation without a message", frame(0, "PING\r\n"), "invalid continuation frame"],
    [
      "compressed continuation",
      concat(frame(2, "PI", { fin: false }), frame(0, "NG\r\n", { rsv1: true })),
      "invalid continuation frame",
    ],
  ];
  await onBoth(NO_TLS, async (s) => {
    for (const [what, bytes, reason] of cases) {
      const [c] = await WsRaw.open(s.wsPort);
      await c.send(bytes);
      await c.waitClosed();
      const close = c.frames.find((f) => f.opcode === 8);
      if (s.server || close) {
        assert.ok(close, `${what}: a close frame`);
        assert.deepEqual(closeOf(close), { code: 1002, reason }, what);
      }
      assert.equal(c.takeText(), "", what);
      await c.close();
    }
    if (s.server) {
      assert.match(
        s.logText(),
        /\[ERR\] 127\.0\.0\.1:\d+ - wid:\d+ - read error: mask bit missing/,
      );
      await waitFor(() => s.server!.closedClients.length === cases.length, "closed clients");
      assert.ok(s.server.closedClients.every((c) => c.closeReason === "Read Error"));
    }
  });
});

Deno.test("the reserved bits RSV2/RSV3 are ignored, as nats-server does", async () => {
  await onBoth(NO_TLS, async (s) => {
    const [c] = await WsRaw.open(s.wsPort);
    await c.send(frame(2, "PING\r\n", { rsv2: true }));
    assert.equal(await c.textUntil("PONG\r\n"), "PONG\r\n");
    await c.close();
  });
});

Deno.test("protocol errors are NATS -ERRs, then a close frame coded for the reason", async () => {
  await onBoth(
    `max_payload: 100
    websocket {
      host: 127.0.0.1
      port: -1 #WS
      no_tls: true
    }`,
    async (s) => {
      const cases: [string, string, number, string][] = [
        [
          CONNECT + "PUB foo 200\r\n" + "x".repeat(200) + "\r\n",
          "-ERR 'Maximum Payload Violation'\r\n",
          1009,
          "Maximum Message Payload Exceeded",
        ],
        ["FOO\r\n", "-ERR 'Unknown Protocol Operation'\r\n", 1002, "Protocol Violation"],
      ];
      for (const [ops, err, code, reason] of cases) {
        const [c] = await WsRaw.open(s.wsPort);
        await c.sendText(ops);
        assert.deepEqual(await c.closeFrame(), { code, reason });
        assert.equal(c.takeText(), err);
        await c.waitClosed();
        await c.close();
      }
    },
  );
});

Deno.test("Nats-No-Masking: true lets a client send unmasked frames", async () => {
  await onBoth(NO_TLS, async (s) => {
    const [c] = await WsRaw.open(s.wsPort, { headers: { "Nats-No-Masking": "true" } });
    assert.match(c.response, /\r\nNats-No-Masking: true\r\n\r\n$/);
    await c.send(frame(2, CONNECT + "PING\r\n", { mask: false }));
    assert.equal(await c.textUntil("PONG\r\n"), "PONG\r\n");
    await c.close();
  });
});

Deno.test("the server closes a websocket with 1001 when it shuts down", async () => {
  const s = await startOurs(NO_TLS);
  const [c] = await WsRaw.open(s.wsPort);
  await c.sendText(CONNECT + "PING\r\n");
  await c.textUntil("PONG\r\n");
  await s[Symbol.asyncDispose]();
  assert.deepEqual(await c.closeFrame(), { code: 1001, reason: "Server Shutdown" });
  await c.waitClosed();
  await c.close();
});

// ---- Compression ----

const COMPRESSED = `websocket {
  host: 127.0.0.1
  port: -1 #WS
  no_tls: true
  compression: true
}`;
const OFFER = { "Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits" };

Deno.test("per-message deflate is used when both sides ask, with no context takeover", async () => {
  await onBoth(COMPRESSED, async (s) => {
    const [c] = await WsRaw.open(s.wsPort, { headers: OFFER });
    assert.match(
      c.response,
      /\r\nSec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover\r\n\r\n$/,
    );
    // Compressed in one frame, and in fragments (RSV1 on the first frame only).
    const payload = "0123456789".repeat(30);
    await c.send(frame(2, deflate(CONNECT + `SUB foo 1\r\nPUB foo 300\r\n${payload}\r\n`), {
      rsv1: true,
    }));
    const z = deflate(`PUB foo 300\r\n${payload}\r\nPING\r\n`);
    await c.send(concat(
      frame(2, z.subarray(0, 5), { rsv1: true, fin: false }),
      frame(0, z.subarray(5, 9), { fin: false }),
      frame(0, z.subarray(9)),
    ));
    assert.equal(
      await c.textUntil("PONG\r\n"),
      `MSG foo 1 300\r\n${payload}\r\n`.repeat(2) + "PONG\r\n",
    );
    // What comes back big is compressed (and smaller on the wire than inflated).
    const big = "abc".repeat(1000);
    await c.sendText(`PUB foo ${big.length}\r\n${big}\r\nPING\r\n`);
    await c.waitFrames(1, "MSG");
    const f = c.frames[0];
    assert.equal(f.rsv1, true);
    assert.ok(f.wireLength < 200, `${f.wireLength} bytes on the wire`);
    assert.equal(await c.textUntil("PONG\r\n"), `MSG foo 1 3000\r\n${big}\r\nPONG\r\n`);
    // Uncompressed frames are still fine on a compressing connection.
    assert.equal(await c.roundTrip(), "");
    await c.close();
  });
});

Deno.test("without compression in the config, or without the client's offer, frames stay plain", async () => {
  await onBoth(NO_TLS, async (s) => {
    const [c] = await WsRaw.open(s.wsPort, { headers: OFFER });
    assert.doesNotMatch(c.response, /Extensions/);
    await c.sendText(CONNECT + `SUB foo 1\r\nPUB foo 300\r\n${"x".repeat(300)}\r\nPING\r\n`);
    await c.textUntil("PONG\r\n");
    await c.close();
    // nats-server inflates a compressed frame even when compression was not negotiated.
    const [d] = await WsRaw.open(s.wsPort);
    await d.send(frame(2, deflate(CONNECT + "PING\r\n"), { rsv1: true }));
    assert.equal(await d.textUntil("PONG\r\n"), "PONG\r\n");
    assert.ok(d.frames.every((f) => !f.rsv1));
    await d.close();
  });
  await onBoth(COMPRESSED, async (s) => {
    const [c] = await WsRaw.open(s.wsPort);
    assert.doesNotMatch(c.response, /Extensions/);
    await c.sendText(CONNECT + `SUB foo 1\r\nPUB foo 300\r\n${"x".repeat(300)}\r\nPING\r\n`);
    await c.waitFrames(1, "MSG");
    assert.equal(c.frames[0].rsv1, false);
    await c.textUntil("PONG\r\n");
    await c.close();
  });
});

Deno.test("browsers get output in frames of at most 4 KiB", async () => {
  await onBoth(NO_TLS, async (s) => {
    const [c] = await WsRaw.open(s.wsPort, { headers: { "User-Agent": "Mozilla/5.0 (X11)" } });
    const body = "q".repeat(20_000);
    await c.sendText(CONNECT + `SUB foo 1\r\nPUB foo ${body.length}\r\n${body}\r\nPING\r\n`);
    await waitFor(
      () => c.frames.some((f) => new TextDecoder().decode(f.payload).endsWith("PONG\r\n")),
      "PONG",
    );
    assert.ok(c.frames.every((f) => f.wireLength <= 4096 && f.fin && f.opcode === 2));
    assert.equal(c.takeText(), `MSG foo 1 20000\r\n${body}\r\nPONG\r\n`);
    await c.close();
  });
});

// ---- Origins ----

Deno.test("same_origin and allowed_origins refuse other origins with 403", async () => {
  const conf = `websocket {
    host: 127.0.0.1
    port: -1 #WS
    no_tls: true
    same_origin: true
    allowed_origins: ["http://127.0.0.1", "https://example.com"]
  }`;
  await onBoth(conf, async (s) => {
    const host = `127.0.0.1:${s.wsPort}`;
    const cases: [Record<string, string>, string | null][] = [
      [{}, null], // no Origin: not a browser, accepted
      [{ Origin: `http://${host}` }, "not in the allowed list"], // same origin, but port 80 listed
      [{ Origin: "http://127.0.0.1" }, "not same origin"],
      [{ Origin: "https://example.com" }, "not same origin"],
      [{ Origin: "garbage" }, 'parse "garbage": invalid URI for request'],
      [{ Origin: "http://[::1" }, `parse "http://[::1": missing ']' in host`],
      [{ "Sec-WebSocket-Origin": "http://evil.com" }, "not same origin"],
    ];
    for (const [headers, problem] of cases) {
      const c = await WsRaw.connect(s.wsPort, { headers });
      await waitFor(() => c.response !== "", "a response");
      if (problem === null) {
        assert.match(c.response, /^HTTP\/1\.1 101 /);
      } else {
        assert.match(c.response, /^HTTP\/1\.1 403 Forbidden\r\n/, JSON.stringify(headers));
        assert.match(c.response, /\r\nContent-Length: 10\r\n/);
        await waitFor(
          () => s.logText().includes(`websocket handshake error: origin not allowed: ${problem}`),
          `the log line for ${problem}`,
        );
      }
      await c.close();
    }
  });
  // The list alone: scheme, host and port must match an entry.
  await onBoth(
    `websocket {
      host: 127.0.0.1
      port: -1 #WS
      no_tls: true
      allowed_origins: ["http://app.example.com:8080", "https://secure.example.com"]
    }`,
    async (s) => {
      const cases: [string, boolean][] = [
        ["http://app.example.com:8080", true],
        ["http://APP.example.com:8080", true],
        ["http://app.example.com", false],
        ["https://app.example.com:8080", false],
        ["https://secure.example.com", true],
        ["https://secure.example.com:443", true],
        ["http://secure.example.com", false],
        ["http://other.example.com:8080", false],
      ];
      for (const [origin, ok] of cases) {
        const c = await WsRaw.connect(s.wsPort, { headers: { Origin: origin } });
        await waitFor(() => c.response !== "", "a response");
        assert.match(c.response, ok ? /^HTTP\/1\.1 101 / : /^HTTP\/1\.1 403 /, origin);
        await c.close();
      }
    },
  );
});

// ---- Authentication ----

Deno.test("the websocket authorization block overrides the server's for websocket clients", async () => {
  const conf = `websocket {
    host: 127.0.0.1
    port: -1 #WS
    no_tls: true
    authorization { token: "s3cr3t", timeout: 0.5 }
  }`;
  await onBoth(conf, async (s) => {
    // Plain clients need nothing; websocket clients are told auth is required.
    const [tcp, tinfo] = await RawClient.connectInfo(s.port);
    assert.equal(tinfo.auth_required, undefined);
    await tcp.close();
    const [c, info] = await WsRaw.open(s.wsPort);
    assert.equal(info.auth_required, true);
    assert.deepEqual(Object.keys(info).slice(6, 10), [
      "port",
      "headers",
      "auth_required",
      "max_payload",
    ]);
    await c.sendText('CONNECT {"verbose":false,"auth_token":"s3cr3t"}\r\nPING\r\n');
    assert.equal(await c.textUntil("PONG\r\n"), "PONG\r\n");
    await c.close();
    const [bad] = await WsRaw.open(s.wsPort);
    await bad.sendText('CONNECT {"verbose":false,"auth_token":"nope"}\r\nPING\r\n');
    assert.deepEqual(await bad.closeFrame(), { code: 1008, reason: "Authentication Failure" });
    assert.equal(bad.takeText(), "-ERR 'Authorization Violation'\r\n");
    await bad.close();
    // The block's timeout applies to websocket clients.
    const [slow] = await WsRaw.open(s.wsPort);
    const t0 = Date.now();
    assert.deepEqual(await slow.closeFrame(), { code: 1008, reason: "Authentication Timeout" });
    assert.ok(Date.now() - t0 < 1900, `timed out after ${Date.now() - t0} ms`);
    assert.equal(slow.takeText(), "-ERR 'Authentication Timeout'\r\n");
    await slow.close();
  });
});

Deno.test("websocket user/password and no_auth_user overrides; users still log in as themselves", async () => {
  await onBoth(
    `websocket {
      host: 127.0.0.1
      port: -1 #WS
      no_tls: true
      authorization { user: wsuser, password: wspass }
    }`,
    async (s) => {
      const [c] = await WsRaw.open(s.wsPort);
      await c.sendText('CONNECT {"verbose":false,"user":"wsuser","pass":"wspass"}\r\nPING\r\n');
      assert.equal(await c.textUntil("PONG\r\n"), "PONG\r\n");
      await c.close();
      const [bad] = await WsRaw.open(s.wsPort);
      await bad.sendText('CONNECT {"verbose":false,"user":"wsuser","pass":"x"}\r\nPING\r\n');
      assert.deepEqual(await bad.closeFrame(), { code: 1008, reason: "Authentication Failure" });
      await bad.close();
    },
  );
  await onBoth(
    `authorization {
      users: [
        { user: alice, password: apass, permissions: { publish: "alice.>" } }
        { user: guest, password: gpass, permissions: { publish: "public.>", subscribe: "public.>" } }
      ]
    }
    websocket {
      host: 127.0.0.1
      port: -1 #WS
      no_tls: true
      no_auth_user: guest
    }`,
    async (s) => {
      // No credentials over websocket: the guest, with the guest's permissions.
      const [c, info] = await WsRaw.open(s.wsPort);
      assert.equal(info.auth_required, true);
      await c.sendText(
        CONNECT + "PUB alice.x 1\r\nx\r\nSUB public.a 1\r\nPUB public.a 1\r\ny\r\nPING\r\n",
      );
      assert.equal(
        await c.textUntil("PONG\r\n"),
        `-ERR 'Permissions Violation for Publish to "alice.x"'\r\nMSG public.a 1 1\r\ny\r\nPONG\r\n`,
      );
      await c.close();
      // A configured user logs in as itself.
      const [a] = await WsRaw.open(s.wsPort);
      await a.sendText(
        'CONNECT {"verbose":false,"user":"alice","pass":"apass"}\r\nPUB alice.x 1\r\nx\r\nPING\r\n',
      );
      assert.equal(await a.textUntil("PONG\r\n"), "PONG\r\n");
      await a.close();
      // Plain clients get no such default.
      const [tcp] = await RawClient.connectInfo(s.port);
      await tcp.send(CONNECT + "PING\r\n");
      await tcp.waitText((t) => t.includes("Authorization Violation"), "the violation");
      await tcp.close();
    },
  );
});

// ---- wss ----

const WSS = `websocket {
  host: 127.0.0.1
  port: -1 #WS
  tls {
    cert_file: "${CERTS}server-cert.pem"
    key_file: "${CERTS}server-key.pem"
  }
}`;

Deno.test("wss: TLS first, then the same upgrade and protocol", async () => {
  await onBoth(WSS, async (s) => {
    const [c, info] = await WsRaw.open(s.wsPort, { tls: true });
    // The INFO is the client listener's: that one has no TLS here.
    assert.equal(info.tls_required, undefined);
    await c.sendText(CONNECT + "SUB foo 1\r\nPUB foo 2\r\nhi\r\n");
    assert.equal(await c.roundTrip(), "MSG foo 1 2\r\nhi\r\n");
    const connz = await (await fetch(`http://127.0.0.1:${s.httpPort}/connz`)).json();
    const conn = connz.connections[0];
    assert.equal(conn.type, "websocket");
    // nats-server shows no TLS details for websocket clients.
    assert.equal(conn.tls_version, undefined);
    await c.close();
    // A plain connection to a wss listener fails its TLS handshake and is dropped.
    const plain = await WsRaw.connect(s.wsPort);
    await plain.waitClosed(5000);
    await plain.close();
  }, true);
});

// ---- Monitoring ----

Deno.test("/connz lists websocket clients with type websocket; /varz has the websocket block", async () => {
  const conf = `websocket {
    host: 127.0.0.1
    port: -1 #WS
    no_tls: true
    compression: true
    same_origin: true
    allowed_origins: ["http://a.example.com"]
    handshake_timeout: "2s"
    authorization { token: t, timeout: 3 }
  }`;
  const seen: Record<string, unknown>[] = [];
  await onBoth(conf, async (s) => {
    const [c] = await WsRaw.open(s.wsPort);
    await c.sendText(
      'CONNECT {"verbose":false,"auth_token":"t","name":"wsc","lang":"raw"}\r\nSUB a 1\r\n',
    );
    await c.roundTrip();
    const connz = await (await fetch(`http://127.0.0.1:${s.httpPort}/connz?subs=1`)).json();
    const ci = connz.connections[0];
    assert.equal(ci.kind, "Client");
    assert.equal(ci.type, "websocket");
    assert.equal(ci.name, "wsc");
    assert.deepEqual(ci.subscriptions_list, ["a"]);
    const varz = await (await fetch(`http://127.0.0.1:${s.httpPort}/varz`)).json();
    seen.push({ keys: Object.keys(ci), websocket: { ...varz.websocket, port: 0 } });
    assert.equal(varz.websocket.port, s.wsPort);
    await c.close();
  }, true);
  assert.deepEqual(seen[0].websocket, {
    host: "127.0.0.1",
    port: 0,
    handshake_timeout: 2_000_000_000,
    auth_timeout: 3,
    no_tls: true,
    same_origin: true,
    allowed_origins: ["http://a.example.com"],
    compression: true,
  });
  if (seen.length === 2) assert.deepEqual(seen[0], seen[1]);
});

// ---- Official clients ----

Deno.test({
  name: "the JavaScript client's wsconnect: pub/sub, queues, headers, requests, big messages",
  // The client's timers outlive close() by a tick.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { wsconnect, headers } = await import("@nats-io/nats-core");
    const results: string[][] = [];
    await onBoth(NO_TLS, async (s) => {
      const nc = await wsconnect({ servers: `ws://127.0.0.1:${s.wsPort}`, name: "js-ws" });
      const out: string[] = [];
      const got: string[] = [];
      const all = nc.subscribe("js.>", {
        callback: (_e, m) => {
          got.push(`${m.subject} ${m.data.length} ${m.headers?.get("X-Id") ?? ""}`);
        },
      });
      const q1: string[] = [];
      const q2: string[] = [];
      nc.subscribe("work", { queue: "w", callback: (_e, m) => void q1.push(m.string()) });
      nc.subscribe("work", { queue: "w", callback: (_e, m) => void q2.push(m.string()) });
      nc.subscribe("svc.echo", { callback: (_e, m) => void m.respond(`echo ${m.string()}`) });
      await nc.flush();
      nc.publish("js.a", "hello");
      const h = headers();
      h.set("X-Id", "42");
      nc.publish("js.b.c", "with headers", { headers: h });
      const big = new Uint8Array(500_000).map((_, i) => i & 0xff);
      nc.publish("js.big", big);
      for (let i = 0; i < 20; i++) nc.publish("work", String(i));
      await nc.flush();
      await waitFor(() => got.length === 3 && q1.length + q2.length === 20, "deliveries");
      out.push(...got, `queue ${q1.length + q2.length}`);
      out.push((await nc.request("svc.echo", "hi")).string());
      try {
        await nc.request("nobody.home", "", { timeout: 2000 });
      } catch (e) {
        out.push(`no responders: ${(e as Error).message}`);
      }
      out.push(`info ${nc.info?.proto} ${nc.info?.headers} ${nc.info?.max_payload}`);
      all.unsubscribe();
      await nc.close();
      results.push(out);
    });
    assert.deepEqual(results[0], [
      "js.a 5 ",
      "js.b.c 12 42",
      "js.big 500000 ",
      "queue 20",
      "echo hi",
      "no responders: no responders: 'nobody.home'",
      "info 1 true 1048576",
    ]);
    if (results.length === 2) assert.deepEqual(results[0], results[1]);
  },
});

Deno.test({
  name: "wsconnect with a token the websocket block requires; a wrong one is refused",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { wsconnect } = await import("@nats-io/nats-core");
    await onBoth(
      `websocket {
        host: 127.0.0.1
        port: -1 #WS
        no_tls: true
        authorization { token: "tok" }
      }`,
      async (s) => {
        const nc = await wsconnect({ servers: `ws://127.0.0.1:${s.wsPort}`, token: "tok" });
        await nc.flush();
        await nc.close();
        await assert.rejects(
          wsconnect({
            servers: `ws://127.0.0.1:${s.wsPort}`,
            token: "bad",
            maxReconnectAttempts: 0,
          }),
          /Authorization Violation/,
        );
      },
    );
  },
});

/** Builds tests/go/wsclient with Debian's Go and nats.go packages, once; null if unavailable. */
async function buildGoClient(): Promise<string | null> {
  const gopath = "/usr/share/gocode";
  try {
    Deno.statSync(`${gopath}/src/github.com/nats-io/nats.go/ws.go`);
  } catch {
    return null;
  }
  const out = await Deno.makeTempDir();
  const bin = `${out}/wsclient`;
  const src = new URL("./go/wsclient/main.go", import.meta.url).pathname;
  try {
    const r = await new Deno.Command("go", {
      args: ["build", "-o", bin, src],
      env: {
        GOPATH: gopath,
        GO111MODULE: "off",
        GOFLAGS: "",
        HOME: Deno.env.get("HOME") ?? "/tmp",
      },
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!r.success) {
      console.warn(`websocket_test: Go client not built: ${new TextDecoder().decode(r.stderr)}`);
      return null;
    }
  } catch {
    return null;
  }
  return bin;
}

const GO_CLIENT = await buildGoClient();
if (!GO_CLIENT) {
  console.warn("websocket_test: Go client scenarios skipped (apt-get install -y golang-go)");
}

async function runGo(args: string[]): Promise<string> {
  const r = await new Deno.Command(GO_CLIENT!, { args, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(r.stdout);
  assert.ok(r.success, `Go client failed: ${text}${new TextDecoder().decode(r.stderr)}`);
  return text;
}

const GO_EXPECTED = [
  "msg go.a 5  true",
  "msg go.big 300000  true",
  "msg go.h 3 1 true",
  "reply pong:ping",
  "no responders: nats: no responders available for request",
  "queue 10",
  "server true true",
  "",
].join("\n");

Deno.test({
  name: "the Go client over ws://, with and without compression, and over wss://",
  ignore: GO_CLIENT === null,
  async fn() {
    await onBoth(COMPRESSED, async (s) => {
      const url = `ws://127.0.0.1:${s.wsPort}`;
      assert.equal(await runGo([url]), GO_EXPECTED);
      for (let i = 0; i < 3; i++) assert.equal(await runGo([url, "compress"]), GO_EXPECTED);
    });
    await onBoth(WSS, async (s) => {
      const url = `wss://127.0.0.1:${s.wsPort}`;
      assert.equal(await runGo([url, "", `${CERTS}ca.pem`]), GO_EXPECTED);
    });
  },
});

// ---- Clusters ----

Deno.test("in a cluster, websocket clients get the websocket URLs of every server", async () => {
  const conf = (advertise: string, routes: string) =>
    `cluster {
      name: c
      listen: "127.0.0.1:-1"
      ${routes}
    }
    websocket {
      host: 127.0.0.1
      port: -1
      no_tls: true
      ${advertise}
    }`;
  await using a = await startOurs(conf("", ""));
  const routeUrl = `nats://127.0.0.1:${a.server!.cluster!.port}`;
  await using b = await startOurs(
    conf('advertise: "ws.example.com:443"', `routes: ["${routeUrl}"]`),
  );
  await waitFor(
    () => a.server!.cluster!.remoteWsUrls.size === 1 && b.server!.cluster!.remoteWsUrls.size === 1,
    "the servers to learn each other's websocket URLs",
  );
  const [ca, ia] = await WsRaw.open(a.wsPort);
  assert.deepEqual(ia.connect_urls, [`127.0.0.1:${a.wsPort}`, "ws.example.com:443"]);
  const [cb, ib] = await WsRaw.open(b.wsPort);
  assert.deepEqual(ib.connect_urls, ["ws.example.com:443", `127.0.0.1:${a.wsPort}`]);
  // Plain clients keep getting client URLs.
  const [tcp, it] = await RawClient.connectInfo(a.port);
  assert.ok((it.connect_urls as string[]).includes(`127.0.0.1:${a.port}`));
  // Messages cross the route between websocket clients of both servers.
  await cb.sendText(CONNECT + "SUB x 1\r\n");
  await cb.roundTrip();
  await waitFor(async () => {
    await ca.sendText(CONNECT + "PUB x 2\r\nok\r\n");
    await new Promise((r) => setTimeout(r, 20));
    return cb.takeText().includes("MSG x 1 2\r\nok\r\n");
  }, "a message across the route");
  await ca.close();
  await cb.close();
  await tcp.close();
});

// ---- A real browser ----

const CHROMIUM = "/usr/bin/chromium";
const HAVE_CHROMIUM = (() => {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
})();
if (!HAVE_CHROMIUM) {
  console.warn(`websocket_test: browser test skipped, ${CHROMIUM} is not installed`);
}

/** The official client (npm @nats-io/nats-core) bundled for the browser with `deno bundle`. */
async function bundleNatsCore(): Promise<string> {
  const dir = await Deno.makeTempDir();
  const entry = `${dir}/entry.ts`;
  await Deno.writeTextFile(
    entry,
    'export { headers, wsconnect } from "npm:@nats-io/nats-core@3.4.0";\n',
  );
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["bundle", "--quiet", "--platform", "browser", "-o", `${dir}/nats.js`, entry],
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  const js = await Deno.readTextFile(`${dir}/nats.js`);
  await Deno.remove(dir, { recursive: true });
  return js;
}

/** A browser app as one would write it for nats-server: the official client, wsconnect. */
const APP = `<!doctype html><meta charset="utf-8"><title>nats app</title>
<pre id="out"></pre>
<script type="module">
import { wsconnect, headers } from "/nats.js";
const q = new URLSearchParams(location.search);
const out = [];
const log = (s) => { out.push(s); document.getElementById("out").textContent = out.join("\\n"); };
try {
  const nc = await wsconnect({ servers: q.get("url"), name: "browser-app" });
  log("connected " + nc.info.proto);
  const got = [];
  nc.subscribe("tcp.>", { callback: (_e, m) => got.push(m.subject + "=" + m.string()) });
  await nc.flush();
  document.title = "subscribed";
  const h = headers(); h.set("X-From", "browser");
  nc.publish("browser.hello", "hi from the browser", { headers: h });
  nc.publish("browser.big", new Uint8Array(100000).fill(66));
  const r = await nc.request("svc.time", "what time is it?", { timeout: 5000 });
  log("reply " + r.string());
  while (got.length < 3) await new Promise((res) => setTimeout(res, 10));
  log("got " + got.join(","));
  await nc.close();
  log("closed");
} catch (e) {
  log("error " + e.message);
}
document.title = "done";
</script>`;

Deno.test({
  name: "a browser app using the official client publishes and subscribes over websocket",
  ignore: !HAVE_CHROMIUM,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const bundle = await bundleNatsCore();
    const http = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
      const path = new URL(req.url).pathname;
      if (path === "/nats.js") {
        return new Response(bundle, { headers: { "content-type": "text/javascript" } });
      }
      return new Response(APP, { headers: { "content-type": "text/html; charset=utf-8" } });
    });
    const origin = `http://127.0.0.1:${http.addr.port}`;
    // deno-lint-ignore no-import-prefix -- the browser tests' only dependency; no deno.json entry
    const { chromium } = await import("npm:playwright-core@1.65.1");
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
    });
    try {
      // Compression on: chromium offers permessage-deflate, so both directions are compressed.
      await onBoth(
        `websocket {
          host: 127.0.0.1
          port: -1 #WS
          no_tls: true
          compression: true
          allowed_origins: ["${origin}"]
        }`,
        async (s) => {
          const [tcp] = await RawClient.connectInfo(s.port);
          await tcp.send(
            'CONNECT {"verbose":false,"headers":true}\r\nSUB browser.> 1\r\nSUB svc.time 2\r\n',
          );
          await tcp.roundTrip();
          const page = await browser.newPage();
          const errors: string[] = [];
          page.on("pageerror", (e: Error) => errors.push(e.message));
          await page.goto(`${origin}/?url=ws://127.0.0.1:${s.wsPort}`);
          await waitFor(
            async () => (await page.title()) !== "nats app",
            "the app to subscribe",
            10_000,
          );
          // The browser's connection, kept while it is open: closed connections are kept for
          // /connz only as records of what it shows.
          const wsClient = [...(s.server?.clients.values() ?? [])].find((c) =>
            c instanceof WsClient
          ) as WsClient | undefined;
          // The browser's messages reach the TCP client, headers and all.
          await tcp.waitText(
            (t) => t.includes("PUB svc.time") || t.includes("MSG svc.time"),
            "the request",
            10_000,
          );
          const text = tcp.text;
          assert.match(
            text,
            /HMSG browser\.hello 1 \d+ \d+\r\nNATS\/1\.0\r\nX-From: browser\r\n\r\nhi from the browser\r\n/,
          );
          assert.ok(text.includes(`MSG browser.big 1 100000\r\n${"B".repeat(100000)}\r\n`));
          const reply = /MSG svc\.time 2 (\S+) 16\r\n/.exec(text)![1];
          await tcp.send(`PUB ${reply} 4\r\nnoon\r\n`);
          for (let i = 1; i <= 3; i++) await tcp.send(`PUB tcp.n${i} 1\r\n${i}\r\n`);
          await waitFor(async () => (await page.title()) === "done", "the app to finish", 10_000);
          assert.equal(
            await page.locator("#out").innerText(),
            "connected 1\nreply noon\ngot tcp.n1=1,tcp.n2=2,tcp.n3=3\nclosed",
          );
          assert.deepEqual(errors, []);
          if (s.server) {
            // Chromium asked for compression, and got it; it was recognised as a browser.
            assert.ok(wsClient !== undefined, "the browser's connection");
            await waitFor(
              () => s.server!.closedClients.some((c) => c.cid === wsClient.cid),
              "close",
            );
            assert.equal(
              s.server.closedClients.find((c) => c.cid === wsClient.cid)!.clientType,
              "websocket",
            );
            const up = wsClient.ws.upgrade;
            assert.equal(up.compress, true);
            assert.equal(up.browser, true);
          }
          // The same app served from another origin is refused by allowed_origins.
          const other = await browser.newPage();
          await other.goto(`http://localhost:${http.addr.port}/?url=ws://127.0.0.1:${s.wsPort}`);
          await waitFor(async () => (await other.title()) === "done", "the refused app", 10_000);
          assert.match(await other.locator("#out").innerText(), /^error /);
          await page.close();
          await other.close();
          await tcp.close();
        },
      );
    } finally {
      await browser.close();
      await http.shutdown();
    }
  },
});

// ---- Limits and reload ----

Deno.test("max_connections counts websocket clients; the refused one gets -ERR and 1008", async () => {
  await onBoth(`max_connections: 1\n${NO_TLS}`, async (s) => {
    const [a] = await WsRaw.open(s.wsPort);
    await a.sendText(CONNECT + "PING\r\n");
    await a.textUntil("PONG\r\n");
    const [b] = await WsRaw.open(s.wsPort);
    assert.deepEqual(await b.closeFrame(), { code: 1008, reason: "Maximum Connections Exceeded" });
    assert.equal(b.takeText(), "-ERR 'maximum connections exceeded'\r\n");
    await b.close();
    await a.close();
  });
});

Deno.test("a reload cannot change the websocket block", async () => {
  await using s = await startOurs(NO_TLS);
  const srv = s.server!;
  const next = mergeOptions(defaultOptions(), {
    ...srv.opts,
    websocket: { ...srv.opts.websocket, compression: true },
  });
  assert.throws(() => srv.reload(next), /config reload not supported for Websocket/);
  assert.equal(srv.opts.websocket.compression, false);
});

// ---- Frame helpers ----

Deno.test("unmasking gives the same bytes at every alignment, length and key phase", () => {
  const key = 0x37fa213d;
  const keyBytes = [0x37, 0xfa, 0x21, 0x3d];
  for (let offset = 0; offset < 8; offset++) {
    for (const len of [0, 1, 3, 4, 5, 15, 16, 17, 64, 1000]) {
      for (let phase = 0; phase < 4; phase++) {
        const backing = new Uint8Array(offset + len + 8);
        const data = backing.subarray(offset, offset + len);
        for (let i = 0; i < len; i++) data[i] = (i * 31 + 7) & 0xff;
        const expected = data.map((b, i) => b ^ keyBytes[(phase + i) & 3]);
        const end = unmask(data, 0, len, key, phase);
        assert.deepEqual(data, expected, `offset ${offset} len ${len} phase ${phase}`);
        assert.equal(end, (phase + len) & 3);
      }
    }
  }
});

Deno.test("frame headers use 7, 16 and 64-bit lengths at the RFC's boundaries", () => {
  const head = (len: number) => {
    const out = new Uint8Array(14);
    return [...out.subarray(0, writeHeader(out, 0, 2, len, true, false))];
  };
  assert.deepEqual(head(125), [0x82, 125]);
  assert.deepEqual(head(126), [0x82, 126, 0, 126]);
  assert.deepEqual(head(65535), [0x82, 126, 0xff, 0xff]);
  assert.deepEqual(head(65536), [0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0]);
  const cont = new Uint8Array(2);
  writeHeader(cont, 0, 0, 5, false, true);
  assert.deepEqual([...cont], [0x40, 5]);
  // A close reason longer than a control frame allows is cut, with "..." (nats-server's way).
  const p = closePayload(1002, "x".repeat(200));
  assert.equal(p.length, 125);
  assert.equal(new TextDecoder().decode(p.subarray(2)), "x".repeat(120) + "...");
});

Deno.test("log lines name websocket clients wid:N, after the X-Forwarded-For address", async () => {
  await onBoth(NO_TLS, async (s) => {
    const [c] = await WsRaw.open(s.wsPort, { headers: { "X-Forwarded-For": "10.1.2.3" } });
    await c.send(frame(2, "PING\r\n", { mask: false }));
    await c.waitClosed();
    await waitFor(
      () =>
        /10\.1\.2\.3\/127\.0\.0\.1:\d+ - wid:\d+ - read error: mask bit missing/.test(s.logText()),
      "the log line",
    );
    await c.close();
  });
});

Deno.test("a websocket port in use stops the start with nats-server's message", async () => {
  const busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (busy.addr as Deno.NetAddr).port;
  try {
    const opts = mergeOptions(
      defaultOptions(),
      parseConfigString(
        `listen: "127.0.0.1:-1"\nwebsocket { host: 127.0.0.1, port: ${port}, no_tls: true }`,
      ),
    );
    const s = new Server(opts, new MemoryLogger());
    await assert.rejects(
      () => s.start(),
      new RegExp(
        `^StartError: Unable to listen for websocket connections: listen tcp 127\\.0\\.0\\.1:${port}: bind: address already in use$`,
      ),
    );
  } finally {
    busy.close();
  }
});
