/**
 * /dashboard in a real headless browser (Debian's chromium driven by playwright-core): the page
 * loads with no external requests, polls the server, and its numbers and charts follow live
 * traffic. Skipped, with a message, when chromium is not installed.
 */

import assert from "node:assert/strict";
import { RawClient, REFERENCE, startServer, waitFor } from "./helpers.ts";
import { defaultLeafNodeOptions } from "../src/leafnode/options.ts";

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
