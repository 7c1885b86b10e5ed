/** Configuration reload on SIGHUP: allowed changes apply live, listener changes are refused. */

import assert from "node:assert/strict";
import { RawClient, waitFor } from "./helpers.ts";
import { freePort, runMain, ServerProcess } from "./process_helpers.ts";

async function login(port: number, user: string, pass: string): Promise<RawClient> {
  const [c] = await RawClient.connectInfo(port);
  await c.send(`CONNECT {"verbose":false,"user":"${user}","pass":"${pass}"}\r\nPING\r\n`);
  await c.waitText((t) => t.includes("PONG"), `${user} logged in`);
  c.clear();
  return c;
}

Deno.test("SIGHUP reload: a removed user is disconnected, a remaining one stays", async () => {
  const port = freePort();
  const conf = await Deno.makeTempFile({ suffix: ".conf" });
  const users = (list: string) =>
    `listen: 127.0.0.1:${port}\nauthorization { users: [ ${list} ] }\n`;
  await Deno.writeTextFile(
    conf,
    users("{user: alice, password: pa}, {user: bob, password: pb}"),
  );
  await using p = new ServerProcess(["-c", conf], port);
  await p.waitStderr(/Server is ready/);
  const alice = await login(port, "alice", "pa");
  const bob = await login(port, "bob", "pb");
  await using _a = alice;
  await using _b = bob;

  await Deno.writeTextFile(conf, users("{user: alice, password: pa}"));
  p.signal("SIGHUP");
  await p.waitStderr(/Reloaded server configuration/);
  await bob.waitClosed();
  // nats-server closes a removed user's connection without an -ERR.
  assert.equal(bob.text, "");
  assert.equal(await alice.roundTrip(), "");

  // A change that cannot be reloaded is refused and the running config stays.
  await Deno.writeTextFile(
    conf,
    users("{user: alice, password: pa}").replace(`:${port}`, `:${port + 1}`),
  );
  p.signal("SIGHUP");
  await p.waitStderr(/config reload not supported for Port/);
  assert.equal(await alice.roundTrip(), "");
  await Deno.remove(conf);
});

Deno.test("SIGHUP reload: limits and logging flags take effect", async () => {
  const port = freePort();
  const conf = await Deno.makeTempFile({ suffix: ".conf" });
  await Deno.writeTextFile(conf, `listen: 127.0.0.1:${port}\nmax_payload: 100\n`);
  await using p = new ServerProcess(["-c", conf], port);
  await p.waitStderr(/Server is ready/);
  const [c] = await RawClient.connectInfo(port);
  await using _c = c;
  await c.send('CONNECT {"verbose":false}\r\n');
  await Deno.writeTextFile(conf, `listen: 127.0.0.1:${port}\nmax_payload: 10\ntrace: true\n`);
  p.signal("SIGHUP");
  await p.waitStderr(/Reloaded server configuration/);
  await c.send("PUB foo 2\r\nhi\r\n");
  await waitFor(() => /<<- \[PUB foo 2\]/.test(p.stderr), "trace after reload");
  await c.send("PUB foo 11\r\n");
  await c.waitClosed();
  assert.equal(c.text, "-ERR 'Maximum Payload Violation'\r\n");
  await Deno.remove(conf);
});

Deno.test("--signal reload=<pid file> sends SIGHUP to the running server", async () => {
  const port = freePort();
  const conf = await Deno.makeTempFile({ suffix: ".conf" });
  const pidFile = await Deno.makeTempFile({ suffix: ".pid" });
  await Deno.writeTextFile(conf, `listen: 127.0.0.1:${port}\n`);
  await using p = new ServerProcess(["-c", conf, "-P", pidFile], port);
  await p.waitStderr(/Server is ready/);
  const r = await runMain(["--signal", `reload=${pidFile}`]);
  assert.equal(r.code, 0, r.stderr);
  await p.waitStderr(/Reloaded server configuration/);
  await Deno.remove(conf);
});

Deno.test("SIGHUP reload: a subscription the new permissions forbid is removed", async () => {
  const port = freePort();
  const conf = await Deno.makeTempFile({ suffix: ".conf" });
  const users = (allow: string) =>
    `listen: 127.0.0.1:${port}\nauthorization { users: [ {user: a, password: p, ` +
    `permissions: { subscribe: ${allow} }} ] }\n`;
  await Deno.writeTextFile(conf, users('[">"]'));
  await using p = new ServerProcess(["-c", conf], port);
  await p.waitStderr(/Server is ready/);
  const c = await login(port, "a", "p");
  await using _c = c;
  await c.send("SUB keep.it 1\r\nSUB drop.it 2\r\n");
  assert.equal(await c.roundTrip(), "");
  await Deno.writeTextFile(conf, users('["keep.>"]'));
  p.signal("SIGHUP");
  await c.waitText((t) => t.includes("-ERR"), "violation");
  assert.equal(c.text, `-ERR 'Permissions Violation for Subscription to "drop.it" (sid "2")'\r\n`);
  await Deno.remove(conf);
});
