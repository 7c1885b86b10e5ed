/**
 * /dashboard in a real headless browser (Debian's chromium driven by playwright-core): the page
 * loads with no external requests, polls the server, and its numbers and charts follow live
 * traffic. Skipped, with a message, when chromium is not installed.
 */

import assert from "node:assert/strict";
import { RawClient, REFERENCE, startServer, waitFor } from "./helpers.ts";
import { defaultLeafNodeOptions } from "../src/leafnode/options.ts";
import { defaultWebsocketOptions } from "../src/websocket/options.ts";

const CHROMIUM = "/usr/bin/chromium";
const SCREENSHOT = "/tmp/nats-dashboard.png";

function chromiumInstalled(): boolean {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
}

const haveChromium = chromiumInstalled();
if (!haveChromium && !REFERENCE) {
  console.warn(
    `dashboard_test: skipped, ${CHROMIUM} is not installed (apt-get install -y chromium)`,
  );
}

Deno.test({
  name: "the dashboard shows live connections, message and byte rates in a real browser",
  ignore: REFERENCE || !haveChromium,
  // The browser is a child process with pipes the test runner cannot account for.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    // deno-lint-ignore no-import-prefix -- the only test that needs it; no deno.json entry
    const { chromium } = await import("npm:playwright-core@1.65.1");
    await using s = await startServer({
      httpHost: "127.0.0.1",
      httpPort: -1,
      leafnode: { ...defaultLeafNodeOptions(), host: "127.0.0.1", port: -1 },
    });
    const port = s.server!.monitor!.httpPort;
    const base = `http://127.0.0.1:${port}`;

    const [sub] = await RawClient.connectInfo(s.port);
    await sub.send(
      'CONNECT {"verbose":false,"pedantic":false,"name":"dash-sub","lang":"deno","version":"1"}\r\n' +
        "SUB metrics.> 1\r\n",
    );
    await sub.roundTrip();
    const [pub] = await RawClient.connectInfo(s.port);
    await pub.send('CONNECT {"verbose":false,"pedantic":false,"name":"dash-pub"}\r\n');
    await pub.roundTrip();

    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    });
    let publishing = true;
    let published = 0;
    const publisher = (async () => {
      while (publishing) {
        await pub.send("PUB metrics.cpu 10\r\n0123456789\r\n".repeat(25));
        published += 25;
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const errors: string[] = [];
      const foreign: string[] = [];
      page.on("pageerror", (e: Error) => errors.push(e.message));
      page.on("console", (m: { type(): string; text(): string }) => {
        if (m.type() === "error") errors.push(m.text());
      });
      page.on("request", (r: { url(): string }) => {
        if (!r.url().startsWith(base + "/")) foreign.push(r.url());
      });
      await page.goto(`${base}/dashboard`);
      const text = (sel: string): Promise<string> => page.locator(sel).innerText();
      const num = async (sel: string) => Number((await text(sel)).replace(/[^\d.]/g, ""));
      // Polls the page has completed (it counts them in <body data-polls>).
      const polls = async () => Number(await page.locator("body").getAttribute("data-polls") ?? 0);

      await waitFor(async () => (await text("#status")) === "live", "the page to go live", 8000);
      assert.equal(await text("#conns"), "2");
      assert.equal(await text("#server-name"), s.server!.name);

      // Counters follow the server, rates become positive, and keep moving.
      await waitFor(async () => (await polls()) >= 3, "3 polls", 8000);
      const in1 = await num("#in-msgs");
      assert.ok(in1 > 0, `in_msgs ${in1}`);
      await waitFor(async () => (await num("#in-msgs-rate")) > 0, "a positive msgs/s rate", 8000);
      await waitFor(async () => (await num("#out-msgs-rate")) > 0, "a positive out rate", 8000);
      const done = await polls();
      await waitFor(async () => (await polls()) >= done + 2, "2 more polls", 8000);
      const in2 = await num("#in-msgs");
      assert.ok(in2 > in1, `in_msgs moved: ${in1} -> ${in2}`);
      assert.ok(in2 <= published, `${in2} <= ${published}`);
      assert.match(await text("#in-bytes-rate"), /\/s$/);

      // The charts have drawn lines.
      for (const id of ["chart-conns", "chart-msgs", "chart-bytes"]) {
        const paths = await page.locator(`#${id} path`).count();
        assert.ok(paths >= 2, `${id} has ${paths} paths`);
      }

      // The connection list shows both clients; the routes table says there are none.
      const rows = page.locator("#conn-rows tr");
      assert.equal(await rows.count(), 2);
      assert.match(await rows.nth(0).innerText(), /dash-sub/);
      assert.match(await rows.nth(1).innerText(), /dash-pub/);
      assert.equal(await text("#route-rows"), "no routes");
      assert.equal(await text("#leaf-rows"), "no leafnodes");

      // A leafnode connects: it shows in the count and the list, with its account.
      await using leaf = await startServer({
        leafnode: {
          ...defaultLeafNodeOptions(),
          remotes: [{
            urls: [`nats-leaf://127.0.0.1:${s.server!.leafnodes!.port}`],
            localAccount: "",
            credentials: "",
            tlsTimeout: 0,
            hub: false,
            denyImports: [],
            denyExports: [],
            noRandomize: true,
          }],
        },
      });
      await waitFor(async () => (await text("#leafnodes")) === "1", "1 leafnode shown", 5000);
      assert.match(await page.locator("#leaf-rows tr").nth(0).innerText(), /^\$G\s+127\.0\.0\.1:/);
      void leaf;

      // A third client appears on the next poll; closing it takes it away again.
      const [extra] = await RawClient.connectInfo(s.port);
      await extra.send('CONNECT {"verbose":false,"pedantic":false,"name":"dash-extra"}\r\n');
      await extra.roundTrip();
      await waitFor(async () => (await text("#conns")) === "3", "3 connections shown", 5000);
      await extra.close();
      await waitFor(async () => (await text("#conns")) === "2", "2 connections shown", 5000);

      await page.screenshot({ path: SCREENSHOT, fullPage: true });
      assert.deepEqual(errors, []);
      assert.deepEqual(foreign, []);
    } finally {
      publishing = false;
      await publisher;
      await browser.close();
      await sub.close();
      await pub.close();
    }
  },
});

Deno.test({
  name: "the dashboard's live view subscribes over websocket and shows what a TCP client sends",
  ignore: REFERENCE || !haveChromium,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    // deno-lint-ignore no-import-prefix -- the only test that needs it; no deno.json entry
    const { chromium } = await import("npm:playwright-core@1.65.1");
    await using s = await startServer({
      httpHost: "127.0.0.1",
      httpPort: -1,
      users: [
        {
          username: "viewer",
          password: "pw",
          permissions: { publish: { deny: [">"] }, subscribe: { allow: ["orders.>"] } },
        },
        { username: "pub", password: "pw" },
      ],
      websocket: {
        ...defaultWebsocketOptions(),
        host: "127.0.0.1",
        port: -1,
        noTls: true,
        compression: true,
      },
    });
    const srv = s.server!;
    const base = `http://127.0.0.1:${srv.monitor!.httpPort}`;
    const [pub] = await RawClient.connectInfo(s.port);
    await pub.send(
      'CONNECT {"verbose":false,"pedantic":false,"user":"pub","pass":"pw","headers":true}\r\n',
    );
    await pub.roundTrip();

    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const errors: string[] = [];
      page.on("pageerror", (e: Error) => errors.push(e.message));
      page.on("console", (m: { type(): string; text(): string }) => {
        if (m.type() === "error") errors.push(m.text());
      });
      const csp = (await page.goto(`${base}/dashboard`))!.headers()["content-security-policy"];
      assert.match(csp, new RegExp(`connect-src 'self' ws://\\*:${srv.websocket!.port};`));
      const live = page.locator("#live");
      assert.equal(
        await page.locator("#live-url").inputValue(),
        `ws://127.0.0.1:${srv.websocket!.port}`,
      );

      // Wrong password: the server's refusal shows.
      await page.fill("#live-subject", "orders.*");
      await page.fill("#live-user", "viewer");
      await page.fill("#live-pass", "nope");
      await page.click("#live-connect");
      await waitFor(
        async () => /Authorization Violation/.test(await page.locator("#live-status").innerText()),
        "the violation shown",
      );

      // The viewer's credentials and a wildcard subject.
      await page.fill("#live-pass", "pw");
      await page.click("#live-connect");
      await waitFor(
        async () => (await live.getAttribute("data-state")) === "subscribed",
        "the view to subscribe",
      );
      const order = '{"id":1,"q":2}';
      await pub.send(`PUB orders.new ${order.length}\r\n${order}\r\n`);
      await pub.send("HPUB orders.paid reply.1 25 29\r\nNATS/1.0\r\nOrder-Id: 7\r\n\r\nabcd\r\n");
      await pub.send("PUB orders.eu.new 2\r\nno\r\n"); // two tokens: not orders.*
      await pub.send("PUB other 2\r\nno\r\n");
      const bin = new Uint8Array([1, 2, 3, 0x68, 0x69]);
      await pub.send(new TextEncoder().encode("PUB orders.bin 5\r\n"));
      await pub.send(bin);
      await pub.send("\r\n");
      await pub.roundTrip();
      await waitFor(async () => (await live.getAttribute("data-received")) === "3", "3 messages");
      const rows = page.locator("#live-rows tr");
      await waitFor(async () => (await rows.count()) === 3, "3 rows");
      const cells = async (i: number) => (await rows.nth(i).locator("td").allInnerTexts()).slice(1);
      // Newest first: subject, reply, size, headers, payload preview.
      assert.deepEqual(await cells(0), ["orders.bin", "", "5", "", "\u00b7\u00b7\u00b7hi"]);
      assert.deepEqual(await cells(1), ["orders.paid", "reply.1", "4", "Order-Id: 7", "abcd"]);
      assert.deepEqual(await cells(2), ["orders.new", "", "14", "", order]);
      // The view is a client like any other: it shows in /connz as a websocket client.
      const connz = await (await fetch(`${base}/connz?auth=1`)).json();
      const viewer = connz.connections.find((c: { name?: string }) =>
        c.name === "dashboard live view"
      );
      assert.equal(viewer.type, "websocket");
      assert.equal(viewer.authorized_user, "viewer");

      // Bounded: a burst keeps at most 200 rows, while the count goes on.
      let burst = "";
      for (let i = 0; i < 500; i++) {
        burst += `PUB orders.burst 3\r\n${String(i).padStart(3, "0")}\r\n`;
      }
      await pub.send(burst);
      await pub.roundTrip();
      await waitFor(async () => (await live.getAttribute("data-received")) === "503", "503");
      await waitFor(async () => (await rows.count()) === 200, "200 rows");
      assert.equal(await rows.nth(0).locator("td").nth(5).innerText(), "499");
      assert.match(await page.locator("#live-count").innerText(), /^503 received, 200 shown$/);

      // A subject outside the user's permissions: the server's -ERR is shown.
      await page.fill("#live-subject", "secrets.>");
      await page.click("#live-connect");
      await waitFor(
        async () =>
          /Permissions Violation for Subscription to "secrets\.>"/.test(
            await page.locator("#live-status").innerText(),
          ),
        "the permission error",
      );
      await page.click("#live-stop");
      await page.locator("#live").screenshot({ path: "/tmp/nats-dashboard-live.png" });
      assert.deepEqual(errors.filter((e) => !/WebSocket/.test(e)), []);
    } finally {
      await browser.close();
      await pub.close();
    }
  },
});

Deno.test("without a websocket listener the live view explains how to get one", async () => {
  await using s = await startServer({ httpHost: "127.0.0.1", httpPort: -1 });
  const r = await fetch(`http://127.0.0.1:${s.server!.monitor!.httpPort}/dashboard`);
  assert.equal(
    r.headers.get("content-security-policy"),
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; " +
      "connect-src 'self'; img-src data:",
  );
  const html = await r.text();
  assert.match(html, /No websocket listener: add <code>websocket \{ port: 8080, no_tls: true \}/);
  assert.doesNotMatch(html, /id="live-form"/);
});
